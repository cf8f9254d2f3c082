//! One test per rule of the cache, against a backend that logs its calls.

mod common;

use common::*;
use lego_bcache::testing::{Call, MemError};
use lego_bcache::{Config, Error, FileKey, MAX_FILE_SIZE, PAGE};

// ---------------------------------------------------------------- reads

#[test]
fn read_miss_then_hit() {
    let data = pattern(3 * PAGE + 100, 1);
    let mut b = backend(16, &[(A, &data)]);
    let mut c = cache(16, no_ra());
    assert_eq!(read(&mut c, &mut b, A, 10, 100), data[10..110]);
    assert_eq!(reads(&b), [(0, PAGE)], "a whole page is fetched");
    assert_eq!(read(&mut c, &mut b, A, 200, 100), data[200..300]);
    assert_eq!(b.reads(), 1, "second read is a hit");
    let s = c.stats();
    assert_eq!((s.hits, s.misses, s.cached_pages, s.files), (1, 1, 1, 1));
    c.verify().unwrap();
}

#[test]
fn missing_pages_coalesce_into_max_io_requests() {
    let data = pattern(10 * PAGE, 2);
    let mut b = backend(4, &[(A, &data)]);
    let mut c = cache(32, no_ra());
    read(&mut c, &mut b, A, 5 * P, PAGE);
    b.clear_log();
    assert_eq!(read(&mut c, &mut b, A, 0, 10 * PAGE), data);
    assert_eq!(
        reads(&b),
        [(0, 4 * PAGE), (4 * P, PAGE), (6 * P, 4 * PAGE)],
        "runs of missing pages, split at the cached page 5 and at max_io"
    );
    let s = c.stats();
    assert_eq!((s.hits, s.misses), (1, 10));
}

#[test]
fn reads_stop_at_end_of_file() {
    let data = pattern(2 * PAGE + PAGE / 2, 3);
    let mut b = backend(16, &[(A, &data)]);
    let mut c = cache(16, no_ra());
    assert_eq!(read(&mut c, &mut b, A, P, 10 * PAGE), data[PAGE..]);
    assert_eq!(
        reads(&b),
        [(P, PAGE + PAGE / 2)],
        "nothing requested past the end of file"
    );
    assert_eq!(read(&mut c, &mut b, A, data.len() as u64, 10), []);
    assert_eq!(read(&mut c, &mut b, A, 1 << 40, 10), []);
    assert_eq!(c.size(&mut b, A).unwrap(), data.len() as u64);
    assert_eq!(b.reads(), 1);
}

#[test]
fn size_is_fetched_once_while_the_file_is_cached() {
    let data = pattern(4 * PAGE, 4);
    let mut b = backend(16, &[(A, &data)]);
    let mut c = cache(16, Config::default());
    for i in 0..4 {
        read(&mut c, &mut b, A, i * P, 100);
        c.write(&mut b, A, i * P + 7, b"xyz").unwrap();
        c.size(&mut b, A).unwrap();
    }
    c.fsync(&mut b, A).unwrap();
    assert_eq!(c.size(&mut b, A).unwrap(), 4 * P);
    assert_eq!(b.sizes(), 1);
    assert_eq!(c.stats().size_requests, 1);
}

#[test]
fn gap_after_a_write_past_eof_reads_as_zeros_without_backend_reads() {
    let data = pattern(PAGE, 5);
    let mut b = backend(16, &[(A, &data)]);
    let mut c = cache(16, Config::default());
    assert_eq!(c.write(&mut b, A, 5 * P + 10, b"tail").unwrap(), 4);
    assert_eq!(c.size(&mut b, A).unwrap(), 5 * P + 14);
    let got = read_all(&mut c, &mut b, A);
    let mut want = data.clone();
    want.resize(5 * PAGE + 10, 0);
    want.extend_from_slice(b"tail");
    assert_eq!(got, want);
    assert_eq!(reads(&b), [(0, PAGE)], "only the backend's page is read");
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), want, "the gap is a hole at the backend");
}

#[test]
fn hole_inside_the_backend_file_reads_as_zeros() {
    let mut b = backend(16, &[(A, b"")]);
    b.max_io = 16 * PAGE;
    let mut c = cache(4, no_ra());
    c.write(&mut b, A, 3 * P, &pattern(PAGE, 6)).unwrap();
    c.fsync(&mut b, A).unwrap();
    c.drop_all();
    assert_eq!(c.stats().cached_pages, 0);
    let got = read_all(&mut c, &mut b, A);
    assert!(got[..3 * PAGE].iter().all(|&x| x == 0));
    assert_eq!(got[3 * PAGE..], pattern(PAGE, 6));
}

// ---------------------------------------------------------------- readahead

#[test]
fn sequential_reads_use_one_backend_request() {
    let data = pattern(16 * PAGE, 7);
    let mut b = backend(16, &[(A, &data)]);
    let mut c = cache(
        64,
        Config {
            readahead_pages: 16,
            readahead_initial: 16,
            ..Config::default()
        },
    );
    for i in 0..16 {
        assert_eq!(
            read(&mut c, &mut b, A, i * P, PAGE),
            data[i as usize * PAGE..][..PAGE]
        );
    }
    assert_eq!(reads(&b), [(0, 16 * PAGE)]);
    let s = c.stats();
    assert_eq!((s.misses, s.readahead_pages, s.hits), (1, 15, 15));
}

#[test]
fn readahead_window_doubles_up_to_the_maximum() {
    let data = pattern(200 * PAGE, 8);
    let mut b = backend(64, &[(A, &data)]);
    let mut c = cache(256, Config::default()); // window 4, doubling up to 32
    for i in 0..200 {
        assert_eq!(
            read(&mut c, &mut b, A, i * P, PAGE),
            data[i as usize * PAGE..][..PAGE]
        );
    }
    let pages: Vec<usize> = reads(&b).iter().map(|r| r.1 / PAGE).collect();
    // The read's page plus 4, then (at half a window from the end) up to 8, 16, 32 ahead.
    assert_eq!(pages[..4], [5, 7, 13, 25]);
    assert!(pages.iter().all(|&n| n <= 33), "{pages:?}");
    assert!(pages.len() <= 16, "{pages:?}");
    let s = c.stats();
    assert_eq!(s.misses + s.readahead_pages, 200);
}

#[test]
fn readahead_never_goes_past_eof() {
    let size = 5 * PAGE + 123;
    let data = pattern(size, 9);
    let mut b = backend(64, &[(A, &data)]);
    let mut c = cache(256, Config::default());
    let mut got = Vec::new();
    for i in 0.. {
        let chunk = read(&mut c, &mut b, A, i * 1000, 1000);
        if chunk.is_empty() {
            break;
        }
        got.extend(chunk);
    }
    assert_eq!(got, data);
    for (o, l) in reads(&b) {
        assert!(o + l as u64 <= size as u64, "read {o}+{l} past {size}");
    }
}

#[test]
fn random_reads_fetch_only_what_they_ask() {
    let data = pattern(64 * PAGE, 10);
    let mut b = backend(64, &[(A, &data)]);
    let mut c = cache(256, Config::default());
    for p in [40u64, 3, 17, 60, 9] {
        assert_eq!(
            read(&mut c, &mut b, A, p * P + 5, 10),
            data[p as usize * PAGE + 5..][..10]
        );
    }
    assert_eq!(
        reads(&b),
        [40u64, 3, 17, 60, 9].map(|p| (p * P, PAGE)),
        "one page each"
    );
    assert_eq!(c.stats().readahead_pages, 0);
}

#[test]
fn readahead_failure_does_not_fail_the_read() {
    let data = pattern(16 * PAGE, 11);
    let mut b = backend(1, &[(A, &data)]);
    let mut c = cache(64, Config::default());
    // Calls: size, read of page 0, readahead of pages 1.. one request each: fail page 1.
    b.fail_call = Some(2);
    assert_eq!(read(&mut c, &mut b, A, 0, 100), data[..100]);
    b.fail_call = None;
    assert_eq!(read_all(&mut c, &mut b, A), data);
}

// ---------------------------------------------------------------- writes

#[test]
fn writes_are_write_back() {
    let mut b = backend(16, &[(A, b"")]);
    let mut c = cache(16, Config::default());
    let data = pattern(3 * PAGE, 12);
    assert_eq!(c.write(&mut b, A, 0, &data).unwrap(), data.len());
    assert_eq!(b.writes(), 0);
    assert_eq!(b.reads(), 0, "pages past the backend's end are not read");
    assert_eq!(read_all(&mut c, &mut b, A), data);
    assert_eq!(c.stats().dirty_pages, 3);
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), data);
    assert_eq!(c.stats().dirty_pages, 0);
}

#[test]
fn partial_write_of_an_uncached_page_reads_it_first() {
    let data = pattern(2 * PAGE, 13);
    let mut b = backend(16, &[(A, &data)]);
    let mut c = cache(16, no_ra());
    c.write(&mut b, A, P + 50, b"patch").unwrap();
    assert_eq!(reads(&b), [(P, PAGE)]);
    assert_eq!(c.stats().rmw_pages, 1);
    c.write(&mut b, A, P + 60, b"again").unwrap();
    assert_eq!(b.reads(), 1, "now cached");
    c.fsync(&mut b, A).unwrap();
    let mut want = data.clone();
    want[PAGE + 50..PAGE + 55].copy_from_slice(b"patch");
    want[PAGE + 60..PAGE + 65].copy_from_slice(b"again");
    assert_eq!(b.durable(1, "/a"), want);
    assert_eq!(writes(&b), [(P, PAGE)], "only the dirty page is written");
}

#[test]
fn no_read_for_pages_beyond_the_backend_or_fully_overwritten() {
    let data = pattern(PAGE + PAGE / 2, 14);
    let mut b = backend(16, &[(A, &data)]);
    let mut c = cache(16, no_ra());
    c.write(&mut b, A, 0, &pattern(PAGE, 15)).unwrap(); // whole page
    c.write(&mut b, A, 3 * P + 9, b"far").unwrap(); // beyond the backend's end
    // Covers every byte the backend has in page 1 (it ends half-way).
    c.write(&mut b, A, P, &pattern(PAGE / 2 + 10, 16)).unwrap();
    assert_eq!(b.reads(), 0);
    // A partial write into a partial backend page does read it.
    let mut b2 = backend(16, &[(A, &data)]);
    let mut c2 = cache(16, no_ra());
    c2.write(&mut b2, A, P + 10, b"x").unwrap();
    assert_eq!(
        reads(&b2),
        [(P, PAGE / 2)],
        "only the bytes the backend has"
    );
}

#[test]
fn write_past_eof_extends_the_file() {
    let mut b = backend(16, &[(A, b"abc")]);
    let mut c = cache(16, Config::default());
    c.write(&mut b, A, 10, b"xyz").unwrap();
    assert_eq!(c.size(&mut b, A).unwrap(), 13);
    assert_eq!(read_all(&mut c, &mut b, A), b"abc\0\0\0\0\0\0\0xyz");
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), b"abc\0\0\0\0\0\0\0xyz");
}

#[test]
fn write_returns_a_short_count_when_the_backend_fails_midway() {
    let mut b = backend(1, &[(A, b"")]);
    let mut c = cache(1, no_ra());
    b.fail_writes = true;
    let data = pattern(3 * PAGE, 17);
    // Page 0 takes the free frame; page 1 needs page 0 written back, which fails.
    assert_eq!(c.write(&mut b, A, 0, &data).unwrap(), PAGE);
    assert_eq!(c.size(&mut b, A).unwrap(), P);
    assert_eq!(
        c.write(&mut b, A, P, &data[PAGE..]),
        Err(Error::Backend(MemError::Injected))
    );
    assert_eq!(read_all(&mut c, &mut b, A), data[..PAGE]);
    b.fail_writes = false;
    assert_eq!(c.write(&mut b, A, P, &data[PAGE..]).unwrap(), 2 * PAGE);
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), data);
}

// ---------------------------------------------------------------- fsync

#[test]
fn fsync_coalesces_into_max_io_writes_and_cuts_the_last_page() {
    let mut b = backend(4, &[(A, b"")]);
    let mut c = cache(16, Config::default());
    let data = pattern(10 * PAGE + 100, 18);
    c.write(&mut b, A, 0, &data).unwrap();
    c.fsync(&mut b, A).unwrap();
    assert_eq!(
        writes(&b),
        [(0, 4 * PAGE), (4 * P, 4 * PAGE), (8 * P, 2 * PAGE + 100)]
    );
    assert_eq!(b.log.last(), Some(&Call::Fsync(1, "/a".into())));
    assert_eq!(b.durable(1, "/a"), data);
    let s = c.stats();
    assert_eq!(
        (s.writeback_requests, s.writeback_pages, s.fsyncs),
        (3, 11, 1)
    );
}

#[test]
fn fsync_writes_separate_runs_in_ascending_order() {
    let mut b = backend(8, &[(A, &pattern(12 * PAGE, 19))]);
    let mut c = cache(16, no_ra());
    for p in [9u64, 2, 5, 1] {
        c.write(&mut b, A, p * P, &pattern(PAGE, 20)).unwrap();
    }
    b.clear_log();
    c.fsync(&mut b, A).unwrap();
    assert_eq!(writes(&b), [(P, 2 * PAGE), (5 * P, PAGE), (9 * P, PAGE)]);
}

#[test]
fn fsync_sends_its_last_write_back_with_the_fsync() {
    let mut b = backend(8, &[(A, &pattern(4 * PAGE, 22))]);
    let mut c = cache(16, no_ra());
    for p in [3u64, 0] {
        c.write(&mut b, A, p * P, &pattern(PAGE, 23)).unwrap();
    }
    b.clear_log();
    c.fsync(&mut b, A).unwrap();
    assert_eq!(writes(&b), [(0, PAGE), (3 * P, PAGE)]);
    assert_eq!(b.write_syncs, 1, "the last run carries the fsync");
    assert_eq!(c.stats().fsyncs, 1);
    // Nothing dirty: a plain fsync.
    c.fsync(&mut b, A).unwrap();
    assert_eq!((b.write_syncs, b.fsyncs(), c.stats().fsyncs), (1, 2, 2));
}

#[test]
fn fsync_error_keeps_the_rest_dirty_and_a_retry_succeeds() {
    let mut b = backend(1, &[(A, b"")]);
    let mut c = cache(16, no_ra());
    let data = pattern(3 * PAGE, 21);
    c.write(&mut b, A, 0, &data).unwrap();
    b.clear_log();
    b.fail_call = Some(1); // the second write
    assert_eq!(c.fsync(&mut b, A), Err(Error::Backend(MemError::Injected)));
    assert_eq!(b.fsyncs(), 0);
    assert_eq!(
        c.stats().dirty_pages,
        2,
        "page 0 was written, pages 1 and 2 were not"
    );
    // The fsync fails after the last write: that write and the fsync are one request
    // (`write_sync`), so its page stays dirty and is written again by the retry.
    b.fail_call = None;
    b.clear_log();
    b.fail_call = Some(2);
    assert_eq!(c.fsync(&mut b, A), Err(Error::Backend(MemError::Injected)));
    assert_eq!(c.stats().dirty_pages, 1);
    assert_eq!(b.durable(1, "/a"), b"");
    b.fail_call = None;
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), data);
}

#[test]
fn fsync_of_an_uncached_file_still_fsyncs() {
    let mut b = backend(1, &[(A, b"x")]);
    let mut c = cache(4, no_ra());
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.log, [Call::Fsync(1, "/a".into())]);
    assert_eq!(c.stats().files, 0);
}

// ---------------------------------------------------------------- eviction

#[test]
fn eviction_drops_the_least_recently_used_clean_page() {
    let data = pattern(8 * PAGE, 22);
    let mut b = backend(16, &[(A, &data)]);
    let mut c = cache(4, no_ra());
    for p in [0u64, 1, 2, 3, 0, 4] {
        read(&mut c, &mut b, A, p * P, 1);
    }
    assert_eq!(c.stats().evictions, 1);
    b.clear_log();
    read(&mut c, &mut b, A, 0, 1);
    assert_eq!(b.reads(), 0, "page 0 was used recently: kept");
    read(&mut c, &mut b, A, P, 1);
    assert_eq!(reads(&b), [(P, PAGE)], "page 1 was the LRU page: evicted");
    assert!(c.stats().cached_pages <= 4);
}

#[test]
fn eviction_prefers_clean_pages() {
    let mut b = backend(16, &[(A, b""), (B, &pattern(8 * PAGE, 23))]);
    let mut c = cache(4, no_ra());
    c.write(&mut b, A, 0, &pattern(2 * PAGE, 24)).unwrap();
    for p in 0..6 {
        read(&mut c, &mut b, B, p * P, 1);
    }
    assert_eq!(b.writes(), 0);
    assert_eq!(c.stats().dirty_pages, 2);
}

#[test]
fn eviction_writes_back_the_coldest_dirty_run_without_fsync() {
    let mut b = backend(4, &[(A, b""), (B, b"")]);
    let mut c = cache(4, no_ra());
    let data = pattern(4 * PAGE, 25);
    c.write(&mut b, A, 0, &data).unwrap();
    c.write(&mut b, B, 0, b"b").unwrap();
    assert_eq!(writes(&b), [(0, 4 * PAGE)], "one coalesced write");
    assert_eq!(b.fsyncs(), 0);
    assert_eq!(b.data(1, "/a"), data);
    let s = c.stats();
    assert_eq!(
        (
            s.writeback_pages,
            s.evictions,
            s.dirty_pages,
            s.cached_pages
        ),
        (4, 1, 1, 4)
    );
    // The data is still readable (partly from cache, partly from the backend), and an fsync
    // of A now only fsyncs.
    assert_eq!(read_all(&mut c, &mut b, A), data);
    b.clear_log();
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.log, [Call::Fsync(1, "/a".into())]);
    assert_eq!(b.durable(1, "/a"), data);
}

#[test]
fn failed_eviction_write_back_loses_nothing() {
    let mut b = backend(4, &[(A, b""), (B, b"")]);
    let mut c = cache(2, no_ra());
    let data = pattern(2 * PAGE, 26);
    c.write(&mut b, A, 0, &data).unwrap();
    b.fail_writes = true;
    assert_eq!(
        c.write(&mut b, B, 0, b"b"),
        Err(Error::Backend(MemError::Injected))
    );
    assert_eq!(c.stats().dirty_pages, 2);
    assert_eq!(read_all(&mut c, &mut b, A), data);
    c.verify().unwrap();
    b.fail_writes = false;
    c.write(&mut b, B, 0, b"b").unwrap();
    c.sync_all(&mut b).unwrap();
    assert_eq!(b.durable(1, "/a"), data);
    assert_eq!(b.durable(1, "/b"), b"b");
}

#[test]
fn a_read_larger_than_the_cache_works() {
    let data = pattern(20 * PAGE + 5, 27);
    let mut b = backend(8, &[(A, &data)]);
    let mut c = cache(3, Config::default());
    assert_eq!(read_all(&mut c, &mut b, A), data);
    assert!(
        reads(&b).iter().all(|r| r.1 <= 3 * PAGE),
        "runs fit in the arena"
    );
    c.write(&mut b, A, 0, &pattern(20 * PAGE, 28)).unwrap();
    assert_eq!(
        read_all(&mut c, &mut b, A)[..20 * PAGE],
        pattern(20 * PAGE, 28)
    );
    c.verify().unwrap();
}

// ---------------------------------------------------------------- truncate

#[test]
fn truncate_drops_pages_zeroes_the_tail_and_forwards() {
    let data = pattern(3 * PAGE, 29);
    let mut b = backend(16, &[(A, &data)]);
    let mut c = cache(16, no_ra());
    assert_eq!(read_all(&mut c, &mut b, A), data);
    c.write(&mut b, A, 2 * P, b"dirty").unwrap();
    c.truncate(&mut b, A, 5000).unwrap();
    assert_eq!(b.log.last(), Some(&Call::Truncate(1, "/a".into(), 5000)));
    assert_eq!(c.stats().cached_pages, 2);
    assert_eq!(
        c.stats().dirty_pages,
        0,
        "the dirty page was past the new end"
    );
    assert_eq!(c.size(&mut b, A).unwrap(), 5000);
    assert_eq!(read_all(&mut c, &mut b, A), data[..5000]);
    // Grow: a zero gap, also over the cached page's old tail.
    c.truncate(&mut b, A, 12000).unwrap();
    let mut want = data[..5000].to_vec();
    want.resize(12000, 0);
    assert_eq!(read_all(&mut c, &mut b, A), want);
    c.write(&mut b, A, 11000, b"end").unwrap();
    want[11000..11003].copy_from_slice(b"end");
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), want);
    c.verify().unwrap();
}

#[test]
fn truncate_to_zero_of_a_dirty_file() {
    let mut b = backend(16, &[(A, b"")]);
    let mut c = cache(16, no_ra());
    c.write(&mut b, A, 0, &pattern(5 * PAGE, 30)).unwrap();
    c.truncate(&mut b, A, 0).unwrap();
    assert_eq!(c.stats().cached_pages, 0);
    assert_eq!(read_all(&mut c, &mut b, A), b"");
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.writes(), 0);
    assert_eq!(b.durable(1, "/a"), b"");
}

#[test]
fn failed_truncate_changes_nothing() {
    let data = pattern(2 * PAGE, 31);
    let mut b = backend(16, &[(A, &data)]);
    let mut c = cache(16, no_ra());
    c.write(&mut b, A, 0, b"new").unwrap();
    b.fail_next = 1;
    assert_eq!(
        c.truncate(&mut b, A, 1),
        Err(Error::Backend(MemError::Injected))
    );
    let mut want = data.clone();
    want[..3].copy_from_slice(b"new");
    assert_eq!(read_all(&mut c, &mut b, A), want);
}

// ---------------------------------------------------------------- file states

#[test]
fn files_without_pages_are_dropped() {
    let mut b = backend(16, &[(A, b"aaaa"), (B, b"bbbb"), (C, b"cccc"), (A2, b"")]);
    let mut c = cache(2, no_ra());
    read(&mut c, &mut b, A, 0, 1);
    read(&mut c, &mut b, B, 0, 1);
    assert_eq!(c.stats().files, 2);
    read(&mut c, &mut b, C, 0, 1);
    assert_eq!(c.stats().files, 2, "A lost its only page, and its state");
    read(&mut c, &mut b, A2, 0, 1);
    c.size(&mut b, A2).unwrap();
    assert_eq!(c.stats().files, 2, "an empty file has nothing cached");
    c.verify().unwrap();
}

#[test]
fn same_path_in_two_vnodes_are_different_files() {
    let mut b = backend(16, &[(A, b"one"), (A2, b"two")]);
    let mut c = cache(16, Config::default());
    assert_eq!(read_all(&mut c, &mut b, A), b"one");
    assert_eq!(read_all(&mut c, &mut b, A2), b"two");
    c.write(&mut b, A2, 0, b"TWO!").unwrap();
    assert_eq!(read_all(&mut c, &mut b, A), b"one");
    c.fsync(&mut b, A2).unwrap();
    assert_eq!(b.durable(2, "/a"), b"TWO!");
    assert_eq!(b.durable(1, "/a"), b"one");
    assert_eq!(c.stats().files, 2);
}

#[test]
fn missing_file_is_a_backend_error() {
    let mut b = backend(16, &[]);
    let mut c = cache(4, Config::default());
    assert_eq!(
        c.read(&mut b, A, 0, &mut [0; 4]),
        Err(Error::Backend(MemError::NotFound))
    );
    assert_eq!(
        c.write(&mut b, A, 0, b"x"),
        Err(Error::Backend(MemError::NotFound))
    );
    assert_eq!(c.stats().files, 0);
}

// ---------------------------------------------------------------- limits

#[test]
fn offsets_too_large_are_errors() {
    let mut b = backend(16, &[(A, b"abc")]);
    let mut c = cache(
        4,
        Config {
            max_file_size: 1 << 20,
            ..Config::default()
        },
    );
    let mut buf = [0u8; 8];
    assert_eq!(c.read(&mut b, A, u64::MAX, &mut buf), Err(Error::TooLarge));
    assert_eq!(
        c.write(&mut b, A, u64::MAX - 1, b"xyz"),
        Err(Error::TooLarge)
    );
    assert_eq!(
        c.write(&mut b, A, (1 << 20) - 2, b"xyz"),
        Err(Error::TooLarge)
    );
    assert_eq!(c.truncate(&mut b, A, u64::MAX), Err(Error::TooLarge));
    assert!(b.log.is_empty());
    assert_eq!(c.read(&mut b, A, 1 << 20, &mut buf), Ok(0));
    assert_eq!(c.write(&mut b, A, (1 << 20) - 3, b"xyz"), Ok(3));
    assert_eq!(c.size(&mut b, A).unwrap(), 1 << 20);
    // The limit can not be raised past MAX_FILE_SIZE.
    let c2 = cache(
        1,
        Config {
            max_file_size: u64::MAX,
            ..Config::default()
        },
    );
    assert_eq!(c2.config().max_file_size, MAX_FILE_SIZE);
}

#[test]
fn huge_offsets_within_the_limit_work() {
    let mut b = backend(16, &[(A, b"abc")]);
    let mut c = cache(4, Config::default());
    let off = MAX_FILE_SIZE - 5;
    assert_eq!(c.write(&mut b, A, off, b"12345"), Ok(5));
    assert_eq!(c.size(&mut b, A).unwrap(), MAX_FILE_SIZE);
    assert_eq!(
        read(&mut c, &mut b, A, off - 2, 100),
        [&[0, 0][..], b"12345"].concat()
    );
    assert_eq!(read(&mut c, &mut b, A, 0, 5), b"abc\0\0");
    // The backend refuses such a file for good: the page's data is dropped and this fsync
    // reports it, once; the size is the backend's again.
    assert_eq!(c.fsync(&mut b, A), Err(Error::Backend(MemError::TooBig)));
    assert_eq!(c.stats().dirty_pages, 0);
    assert_eq!(c.size(&mut b, A).unwrap(), 3);
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), b"abc");
    c.verify().unwrap();
}

#[test]
fn an_empty_arena_serves_only_what_needs_no_frame() {
    let mut b = backend(16, &[(A, b"abc")]);
    let mut c = cache(0, Config::default());
    assert_eq!(c.size(&mut b, A), Ok(3));
    assert_eq!(c.write(&mut b, A, 0, b"x"), Err(Error::NoCapacity));
    assert_eq!(c.read(&mut b, A, 0, &mut [0; 3]), Err(Error::NoCapacity));
    c.fsync(&mut b, A).unwrap();
    c.verify().unwrap();
}

// ---------------------------------------------------------------- forget, sync, drop

#[test]
fn forget_with_writeback_writes_fsyncs_and_drops() {
    let mut b = backend(16, &[(A, b"")]);
    let mut c = cache(16, Config::default());
    c.write(&mut b, A, 0, b"keep me").unwrap();
    c.forget(&mut b, A, true).unwrap();
    assert_eq!(b.durable(1, "/a"), b"keep me");
    assert_eq!((c.stats().files, c.stats().cached_pages), (0, 0));
    // Renamed at the storage: the new name reads the data from there.
    let moved = b.files.remove(&(1, "/a".into())).unwrap();
    b.files.insert((1, "/b".into()), moved);
    assert_eq!(read_all(&mut c, &mut b, B), b"keep me");
}

#[test]
fn forget_tree_writes_back_and_drops_everything_below_a_directory() {
    let (da, deep, dx) = (
        FileKey {
            vnode: 1,
            path: "/d/a",
        },
        FileKey {
            vnode: 1,
            path: "/d/e/f",
        },
        FileKey {
            vnode: 1,
            path: "/dx",
        },
    );
    let mut b = backend(8, &[(da, b""), (deep, b""), (dx, b""), (A2, b"")]);
    let mut c = cache(16, no_ra());
    for (i, f) in [da, deep, dx].into_iter().enumerate() {
        c.write(&mut b, f, 0, &pattern(PAGE, i as u8)).unwrap();
    }
    let d = FileKey {
        vnode: 1,
        path: "/d",
    };
    c.forget_tree(&mut b, d, true).unwrap();
    assert_eq!(
        b.durable(1, "/d/a"),
        pattern(PAGE, 0),
        "written back and fsynced"
    );
    assert_eq!(b.durable(1, "/d/e/f"), pattern(PAGE, 1));
    assert_eq!(
        b.durable(1, "/dx"),
        b"",
        "a sibling with the same prefix is not below /d"
    );
    let s = c.stats();
    assert_eq!((s.files, s.dirty_pages), (1, 1), "only /dx is left");
    c.verify().unwrap();
}

#[test]
fn forget_with_writeback_failure_drops_nothing() {
    let mut b = backend(16, &[(A, b"")]);
    let mut c = cache(16, Config::default());
    c.write(&mut b, A, 0, b"keep me").unwrap();
    b.fail_next = 1;
    assert!(c.forget(&mut b, A, true).is_err());
    assert_eq!(c.stats().dirty_pages, 1);
    b.fail_call = Some(b.log.len() + 1); // the fsync after the write
    assert!(c.forget(&mut b, A, true).is_err());
    assert_eq!(c.stats().files, 1, "unsynced: kept");
    b.fail_call = None;
    c.forget(&mut b, A, true).unwrap();
    assert_eq!(b.durable(1, "/a"), b"keep me");
}

#[test]
fn forget_without_writeback_discards() {
    let mut b = backend(16, &[(A, b"old")]);
    let mut c = cache(16, Config::default());
    c.write(&mut b, A, 0, b"new").unwrap();
    b.clear_log();
    c.forget(&mut b, A, false).unwrap();
    assert!(b.log.is_empty());
    assert_eq!((c.stats().files, c.stats().cached_pages), (0, 0));
    assert_eq!(read_all(&mut c, &mut b, A), b"old");
}

#[test]
fn sync_all_writes_back_and_fsyncs_every_dirty_file() {
    let mut b = backend(16, &[(A, b""), (B, b""), (C, b"c")]);
    let mut c = cache(16, Config::default());
    c.write(&mut b, A, 0, b"a").unwrap();
    c.write(&mut b, B, 0, b"b").unwrap();
    read_all(&mut c, &mut b, C);
    b.clear_log();
    c.sync_all(&mut b).unwrap();
    assert_eq!((b.writes(), b.fsyncs()), (2, 2), "C is clean: not fsynced");
    assert_eq!(b.durable(1, "/a"), b"a");
    assert_eq!(b.durable(1, "/b"), b"b");
}

#[test]
fn sync_all_goes_on_after_a_failing_file() {
    let mut b = backend(16, &[(A, b""), (B, b"")]);
    let mut c = cache(16, Config::default());
    c.write(&mut b, A, 0, b"a").unwrap();
    c.write(&mut b, B, 0, b"b").unwrap();
    b.clear_log();
    b.fail_next = 1;
    assert_eq!(c.sync_all(&mut b), Err(Error::Backend(MemError::Injected)));
    assert_eq!(c.stats().dirty_pages, 1);
    c.sync_all(&mut b).unwrap();
    assert_eq!(b.durable(1, "/a"), b"a");
    assert_eq!(b.durable(1, "/b"), b"b");
}

#[test]
fn sync_all_fsyncs_files_whose_pages_were_evicted() {
    let mut b = backend(16, &[(A, b""), (B, b"")]);
    let mut c = cache(1, Config::default());
    c.write(&mut b, A, 0, b"a").unwrap();
    c.write(&mut b, B, 0, b"b").unwrap(); // evicts A's page after writing it back
    assert_eq!(b.data(1, "/a"), b"a");
    assert_eq!(b.durable(1, "/a"), b"");
    assert_eq!(c.stats().files, 2, "A is idle: kept to be fsynced");
    c.sync_all(&mut b).unwrap();
    assert_eq!(b.durable(1, "/a"), b"a");
    assert_eq!(b.durable(1, "/b"), b"b");
    assert_eq!(c.stats().files, 1, "A is forgotten once fsynced");
    c.verify().unwrap();
}

#[test]
fn idle_files_are_bounded() {
    let names: Vec<String> = (0..20).map(|i| format!("/f{i}")).collect();
    let files: Vec<_> = names
        .iter()
        .map(|n| (lego_bcache::FileKey { vnode: 1, path: n }, &b""[..]))
        .collect();
    let mut b = backend(16, &files);
    let mut c = cache(
        1,
        Config {
            max_idle_files: 4,
            ..Config::default()
        },
    );
    for (f, _) in &files {
        c.write(&mut b, *f, 0, f.path.as_bytes()).unwrap();
        assert!(c.stats().files <= 1 + 4, "{:?}", c.stats());
        c.verify().unwrap();
    }
    c.sync_all(&mut b).unwrap();
    for (f, _) in &files {
        assert_eq!(b.durable(1, f.path), f.path.as_bytes());
    }
}

#[test]
fn drop_all_keeps_dirty_pages_and_refetches_sizes() {
    let data = pattern(2 * PAGE, 32);
    let mut b = backend(16, &[(A, &data), (B, &pattern(PAGE, 33))]);
    let mut c = cache(16, no_ra());
    read(&mut c, &mut b, A, 0, 10);
    read(&mut c, &mut b, B, 0, 10);
    c.write(&mut b, A, P + 1, b"dirty").unwrap();
    c.write(&mut b, A, 2 * P, b"grown").unwrap();
    // The storage component restarts: A's unsynced state is gone (it had none) and B changed.
    b.restart();
    b.create(1, "/b", b"changed");
    c.drop_all();
    let s = c.stats();
    assert_eq!((s.cached_pages, s.dirty_pages, s.files), (2, 2, 1));
    b.clear_log();
    assert_eq!(
        read_all(&mut c, &mut b, B),
        b"changed",
        "clean pages and sizes were dropped"
    );
    let mut want = data.clone();
    want[PAGE + 1..PAGE + 6].copy_from_slice(b"dirty");
    want.extend_from_slice(b"grown");
    assert_eq!(read_all(&mut c, &mut b, A), want);
    let a_sizes = b
        .log
        .iter()
        .filter(|c| matches!(c, Call::Size(1, p, ) if p == "/a"))
        .count();
    assert_eq!(a_sizes, 1, "A's size was fetched again");
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), want);
}

#[test]
fn a_restart_that_lost_unsynced_write_backs_fails_the_next_fsync() {
    let mut b = backend(16, &[(A, b""), (B, b"")]);
    let mut c = cache(1, no_ra());
    c.write(&mut b, A, 0, &pattern(PAGE, 34)).unwrap();
    c.write(&mut b, A, P, b"x").unwrap(); // page 0 written back (not fsynced), evicted
    b.restart(); // loses page 0; the cache notices the new incarnation by itself
    // The cache reports what the storage has plus what it still holds.
    assert_eq!(c.size(&mut b, A).unwrap(), P + 1);
    let got = read_all(&mut c, &mut b, A);
    assert!(got[..PAGE].iter().all(|&x| x == 0));
    assert_eq!(got[PAGE..], *b"x");
    // Never a success for data that is gone: the next fsync says so, once.
    assert_eq!(c.fsync(&mut b, A), Err(Error::Lost));
    assert_eq!(
        b.durable(1, "/a"),
        got,
        "what is left was written and fsynced"
    );
    c.fsync(&mut b, A).unwrap();
    // B wrote nothing back: nothing to report.
    c.fsync(&mut b, B).unwrap();
    assert_eq!(c.stats().restarts, 1);
    c.verify().unwrap();
}

#[test]
fn stats_and_debug() {
    let mut b = backend(16, &[(A, &pattern(PAGE, 35))]);
    let mut c = cache(8, Config::default());
    read_all(&mut c, &mut b, A);
    let s = c.stats();
    assert_eq!(
        (s.capacity, s.cached_pages, s.files, s.read_requests),
        (8, 1, 1, 1)
    );
    assert!(format!("{c:?}").contains("cached_pages: 1"));
    assert_eq!(
        Error::<MemError>::TooLarge.to_string(),
        "offset or size too large"
    );
}

// ---------------------------------------------------------------- write-back errors

/// A file on another vNode, stored on storage component 2 (`on_two`).
const D2: FileKey<'static> = FileKey {
    vnode: 7,
    path: "/d",
};
const E2: FileKey<'static> = FileKey {
    vnode: 7,
    path: "/e",
};

fn on_two(b: &mut lego_bcache::testing::MemBackend) {
    b.routes.insert(7, 2);
}

#[test]
fn a_write_back_that_fails_for_good_drops_the_pages_and_fsync_reports_it_once() {
    let old = pattern(2 * PAGE, 40);
    let mut b = backend(16, &[(A, &old)]);
    let mut c = cache(16, no_ra());
    c.write(&mut b, A, 0, &pattern(3 * PAGE, 41)).unwrap();
    b.nospace_per_mille = 1000;
    assert_eq!(c.fsync(&mut b, A), Err(Error::Backend(MemError::NoSpace)));
    let s = c.stats();
    assert_eq!((s.dirty_pages, s.dropped_pages, s.file_errors), (0, 3, 1));
    b.nospace_per_mille = 0;
    // Reported once; what reads back is what the backend has (the write never got there).
    c.fsync(&mut b, A).unwrap();
    assert_eq!(read_all(&mut c, &mut b, A), old);
    assert_eq!(b.durable(1, "/a"), old);
    c.verify().unwrap();
}

#[test]
fn a_failed_eviction_fails_only_its_own_file() {
    // The bug-2/bug-3 shape: a cache full of dirty pages that can never be written back (the
    // disk is full, or the file is gone) must not fail reads and writes of other files.
    let data_b = pattern(4 * PAGE, 42);
    let mut b = backend(16, &[(A, b""), (B, &data_b), (C, b"")]);
    let mut c = cache(4, no_ra());
    c.write(&mut b, A, 0, &pattern(4 * PAGE, 43)).unwrap();
    b.remove(1, "/a"); // gone at the storage
    for p in 0..4 {
        assert_eq!(
            read(&mut c, &mut b, B, p * P, PAGE),
            data_b[p as usize * PAGE..][..PAGE]
        );
    }
    c.write(&mut b, C, 0, b"c is fine").unwrap();
    c.fsync(&mut b, C).unwrap();
    c.fsync(&mut b, B).unwrap();
    assert_eq!(b.durable(1, "/c"), b"c is fine");
    // A's error went to A alone, and A's fsync reports it, once.
    assert_eq!(c.fsync(&mut b, A), Err(Error::Backend(MemError::NotFound)));
    assert_eq!(c.stats().dirty_pages, 0);
    // Gone at the storage: the next fsync says so too (but not from the cache's record).
    assert_eq!(c.fsync(&mut b, A), Err(Error::Backend(MemError::NotFound)));
    c.verify().unwrap();
}

#[test]
fn transient_failures_keep_the_pages_and_eviction_picks_other_victims() {
    let mut b = backend(16, &[(A, b""), (D2, b""), (E2, &pattern(2 * PAGE, 44))]);
    on_two(&mut b);
    let mut c = cache(4, no_ra());
    // The coldest dirty pages are A's (storage 0), then D2's (storage 2).
    c.write(&mut b, A, 0, &pattern(2 * PAGE, 45)).unwrap();
    c.write(&mut b, D2, 0, &pattern(2 * PAGE, 46)).unwrap();
    b.disk(0).down = true;
    b.clear_log();
    // Reading E2 needs frames: A's write-back fails once, D2's run is written instead.
    assert_eq!(read_all(&mut c, &mut b, E2), pattern(2 * PAGE, 44));
    let a_writes = writes_of(&b, 1).len();
    assert_eq!(
        a_writes, 1,
        "storage 0 is tried once per operation, then passed over"
    );
    assert_eq!(b.data(7, "/d"), pattern(2 * PAGE, 46));
    assert_eq!(c.stats().dirty_pages, 2, "A's pages are still dirty");
    b.disk(0).down = false;
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), pattern(2 * PAGE, 45));
    c.verify().unwrap();
}

/// The (offset, len) of the logged writes of vNode `vnode`.
fn writes_of(b: &lego_bcache::testing::MemBackend, vnode: u32) -> Vec<(u64, usize)> {
    b.log
        .iter()
        .filter_map(|c| match c {
            Call::Write(v, _, o, l) if *v == vnode => Some((*o, *l)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_unreachable_storage_is_reported_as_such_never_as_no_space() {
    let mut b = backend(16, &[(A, b""), (B, &pattern(PAGE, 47))]);
    let mut c = cache(2, no_ra());
    c.write(&mut b, A, 0, &pattern(2 * PAGE, 48)).unwrap();
    // Another vNode on the same (down) storage has nothing cached: only A's pages could go.
    b.disk(0).down = true;
    let mut buf = [0u8; 16];
    assert_eq!(
        c.read(&mut b, A2, 0, &mut buf),
        Err(Error::Backend(MemError::Down))
    );
    b.disk(0).down = false;
    b.create(2, "/a", b"x");
    // Back: the same read works, A's data is intact.
    assert_eq!(read(&mut c, &mut b, A2, 0, 1), b"x");
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), pattern(2 * PAGE, 48));
    c.verify().unwrap();
}

#[test]
fn forget_with_write_back_reports_a_recorded_error_once() {
    let mut b = backend(16, &[(A, b""), (B, b"")]);
    let mut c = cache(1, no_ra());
    c.write(&mut b, A, 0, b"a").unwrap();
    b.nospace_per_mille = 1000;
    c.write(&mut b, B, 0, b"b").unwrap(); // evicts A: its write-back fails for good
    b.nospace_per_mille = 0;
    assert_eq!(c.stats().file_errors, 1);
    assert_eq!(
        c.forget(&mut b, A, true),
        Err(Error::Backend(MemError::NoSpace))
    );
    assert_eq!(
        c.forget(&mut b, A, true),
        Ok(()),
        "forgotten, with its error"
    );
    c.fsync(&mut b, B).unwrap();
    c.verify().unwrap();
}

#[test]
fn sync_all_reports_errors_without_taking_them_from_their_files() {
    let mut b = backend(16, &[(A, b""), (B, b"")]);
    let mut c = cache(16, no_ra());
    c.write(&mut b, A, 0, b"a").unwrap();
    c.write(&mut b, B, 0, b"b").unwrap();
    b.remove(1, "/a");
    assert_eq!(c.sync_all(&mut b), Err(Error::Backend(MemError::NotFound)));
    assert_eq!(b.durable(1, "/b"), b"b", "B was synced all the same");
    assert_eq!(c.fsync(&mut b, A), Err(Error::Backend(MemError::NotFound)));
    c.verify().unwrap();
}

#[test]
fn unreported_errors_of_files_without_pages_are_bounded() {
    let names: Vec<String> = (0..12).map(|i| format!("/f{i}")).collect();
    let files: Vec<_> = names
        .iter()
        .map(|n| (FileKey { vnode: 1, path: n }, &b""[..]))
        .collect();
    let mut b = backend(16, &files);
    let mut c = cache(
        1,
        Config {
            max_idle_files: 2,
            max_error_files: 3,
            ..Config::default()
        },
    );
    b.nospace_per_mille = 1000;
    for (f, _) in &files {
        c.write(&mut b, *f, 0, b"x").unwrap();
        c.verify().unwrap();
    }
    let s = c.stats();
    assert_eq!(s.file_errors, 11, "every file but the last was evicted");
    assert!(s.files <= 1 + 2 + 3 + 2, "{s:?}");
    assert!(s.forgotten_errors >= 4, "{s:?}");
    // The most recent errors are still reported.
    assert_eq!(
        c.fsync(&mut b, files[10].0),
        Err(Error::Backend(MemError::NoSpace))
    );
}

// ---------------------------------------------------------------- storage restarts

#[test]
fn files_lost_in_a_restart_fail_alone_and_every_other_file_stays_readable() {
    // Bug 3's mechanism: files created but not yet durable when the storage restarted are
    // gone there; their dirty pages filled the cache and every eviction failed with ENOENT,
    // so reads of every other file did too.
    let kept: Vec<String> = (0..6).map(|i| format!("/kept{i}")).collect();
    let lost: Vec<String> = (0..6).map(|i| format!("/lost{i}")).collect();
    let mut b = backend(4, &[]);
    let mut c = cache(8, no_ra());
    for (i, p) in kept.iter().enumerate() {
        let f = FileKey { vnode: 1, path: p };
        b.create_unsynced(1, p);
        c.write(&mut b, f, 0, &pattern(2 * PAGE, i as u8)).unwrap();
        c.fsync(&mut b, f).unwrap();
    }
    for (i, p) in lost.iter().enumerate() {
        let f = FileKey { vnode: 1, path: p };
        b.create_unsynced(1, p);
        c.write(&mut b, f, 0, &pattern(2 * PAGE, 50 + i as u8))
            .unwrap();
    }
    b.restart(); // the lost files' creation was never durable
    for (i, p) in kept.iter().enumerate() {
        let f = FileKey { vnode: 1, path: p };
        assert_eq!(
            read_all(&mut c, &mut b, f),
            pattern(2 * PAGE, i as u8),
            "{p}"
        );
    }
    for p in &lost {
        let f = FileKey { vnode: 1, path: p };
        assert_eq!(
            c.fsync(&mut b, f),
            Err(Error::Backend(MemError::NotFound)),
            "{p}"
        );
    }
    assert_eq!(c.stats().dirty_pages, 0);
    c.verify().unwrap();
}

#[test]
fn a_restart_during_a_write_back_keeps_its_pages_dirty() {
    let mut b = backend(1, &[(A, b""), (B, b"")]);
    let mut c = cache(1, no_ra());
    c.write(&mut b, A, 0, &pattern(PAGE, 60)).unwrap();
    b.clear_log();
    // Writing B evicts A: size of B, then A's write-back, then the storage restarts.
    b.restart_after_call = Some(1);
    c.write(&mut b, B, 0, b"b").unwrap();
    b.restart_after_call = None;
    // A's page was kept dirty and written again, to the new incarnation.
    assert_eq!(writes(&b), [(0, PAGE), (0, PAGE)]);
    assert_eq!(b.data(1, "/a"), pattern(PAGE, 60));
    // Nothing was lost, so nothing is reported.
    c.fsync(&mut b, A).unwrap();
    c.fsync(&mut b, B).unwrap();
    assert_eq!(b.durable(1, "/a"), pattern(PAGE, 60));
    assert_eq!(b.durable(1, "/b"), b"b");
    c.verify().unwrap();
}

#[test]
fn an_fsync_answered_by_a_new_incarnation_is_not_trusted() {
    let mut b = backend(1, &[(A, b"")]);
    let mut c = cache(2, no_ra());
    c.write(&mut b, A, 0, &pattern(3 * PAGE, 61)).unwrap(); // page 0 written back
    b.clear_log();
    // fsync: writes page 1, then page 2 with the fsync; restart after the page-1 write.
    b.restart_after_call = Some(0);
    assert_eq!(c.fsync(&mut b, A), Err(Error::Lost));
    b.restart_after_call = None;
    c.fsync(&mut b, A).unwrap();
    let d = b.durable(1, "/a");
    assert_eq!(d.len(), 3 * PAGE);
    assert!(d[..PAGE].iter().all(|&x| x == 0), "page 0 was lost");
    assert_eq!(d[PAGE..], pattern(3 * PAGE, 61)[PAGE..]);
    c.verify().unwrap();
}

// ---------------------------------------------------------------- reservations

#[test]
fn every_dirty_page_is_covered_by_a_reservation_asked_for_in_batches() {
    let mut b = backend(16, &[(A, b"")]);
    b.limit(0, 10_000);
    let mut c = cache(
        1024,
        Config {
            reserve_batch: 100,
            writeback_percent: 0,
            writeback_file_pages: 0,
            ..Config::default()
        },
    );
    for i in 0..300u64 {
        c.write(&mut b, A, i * P, &pattern(PAGE, 62)).unwrap();
        let (held, dirty) = c.reservation(0).unwrap();
        assert!(held.unwrap() >= dirty, "{held:?} < {dirty}");
        assert_eq!(b.disks[&0].reserved, held.unwrap());
    }
    assert_eq!(b.reserves(), 3, "one request per 100 pages");
    c.fsync(&mut b, A).unwrap();
    // The writes used the blocks up; what is left is under two batches.
    let (held, dirty) = c.reservation(0).unwrap();
    assert_eq!(dirty, 0);
    assert_eq!(held, Some(b.disks[&0].reserved));
    assert!(held.unwrap() <= 200, "{held:?}");
}

#[test]
fn a_full_disk_refuses_writes_at_write_time_all_or_nothing() {
    let mut b = backend(16, &[(A, b""), (B, b"")]);
    b.limit(0, 20);
    let mut c = cache(64, Config::default());
    let data = pattern(30 * PAGE, 63);
    // 30 pages do not fit: nothing is applied.
    assert_eq!(c.write(&mut b, A, 0, &data), Err(Error::NoSpace));
    assert_eq!(c.stats().dirty_pages, 0);
    assert_eq!(c.size(&mut b, A), Ok(0));
    assert_eq!(c.write(&mut b, A, 0, &data[..20 * PAGE]), Ok(20 * PAGE));
    assert_eq!(
        c.write(&mut b, A, 20 * P, &data[20 * PAGE..]),
        Err(Error::NoSpace)
    );
    assert_eq!(c.write(&mut b, B, 0, b"b"), Err(Error::NoSpace));
    assert_eq!(c.stats().no_space, 3);
    // Overwriting a dirty page needs no new block.
    assert_eq!(c.write(&mut b, A, 0, b"again"), Ok(5));
    c.fsync(&mut b, A).unwrap();
    let mut want = data[..20 * PAGE].to_vec();
    want[..5].copy_from_slice(b"again");
    assert_eq!(b.durable(1, "/a"), want);
    assert!(b.permanent_failures.is_empty(), "no write-back ever failed");
    c.verify().unwrap();
}

#[test]
fn dirtying_a_clean_page_needs_a_block_too() {
    // Copy-on-write at the storage: an overwrite needs a free block until the next commit.
    let old = pattern(4 * PAGE, 64);
    let mut b = backend(16, &[(A, &old)]);
    b.limit(0, 6);
    let mut c = cache(16, no_ra());
    read_all(&mut c, &mut b, A);
    for p in 0..2 {
        assert_eq!(c.write(&mut b, A, p * P, b"x"), Ok(1));
    }
    assert_eq!(c.write(&mut b, A, 2 * P, b"x"), Err(Error::NoSpace));
    c.fsync(&mut b, A).unwrap();
    // The fsync committed: the replaced blocks are free again.
    assert_eq!(c.write(&mut b, A, 2 * P, b"x"), Ok(1));
    c.verify().unwrap();
}

#[test]
fn other_clients_reservations_count() {
    let mut b = backend(16, &[(A, b"")]);
    b.limit(0, 100);
    b.disk(0).others = 90;
    let mut c = cache(64, Config::default());
    assert_eq!(
        c.write(&mut b, A, 0, &pattern(20 * PAGE, 65)),
        Err(Error::NoSpace)
    );
    assert_eq!(
        c.write(&mut b, A, 0, &pattern(10 * PAGE, 65)),
        Ok(10 * PAGE)
    );
}

#[test]
fn pages_dropped_without_write_back_give_their_blocks_back() {
    let mut b = backend(16, &[(A, b"")]);
    b.limit(0, 100_000);
    let mut c = cache(
        2048,
        Config {
            reserve_batch: 10,
            writeback_percent: 0,
            writeback_file_pages: 0,
            ..Config::default()
        },
    );
    c.write(&mut b, A, 0, &pattern(1000 * PAGE, 66)).unwrap();
    assert!(b.disks[&0].reserved >= 1000);
    c.truncate(&mut b, A, 0).unwrap();
    assert!(b.disks[&0].reserved <= 20, "{}", b.disks[&0].reserved);
    c.verify().unwrap();
}

#[test]
fn a_new_incarnation_is_asked_again_for_the_dirty_pages() {
    let mut b = backend(16, &[(A, b"")]);
    b.limit(0, 1000);
    let mut c = cache(64, Config::default());
    c.write(&mut b, A, 0, &pattern(10 * PAGE, 67)).unwrap();
    c.fsync(&mut b, A).unwrap();
    c.write(&mut b, A, 0, &pattern(10 * PAGE, 68)).unwrap();
    b.restart();
    assert_eq!(b.disks[&0].reserved, 0);
    read(&mut c, &mut b, A, 0, 1);
    let (held, dirty) = c.reservation(0).unwrap();
    assert_eq!(dirty, 10);
    assert!(held.unwrap() >= 10);
    assert_eq!(b.disks[&0].reserved, held.unwrap());
}

#[test]
fn a_storage_without_reservations_is_asked_once() {
    let mut b = backend(16, &[(A, b"")]);
    let mut c = cache(64, Config::default());
    c.write(&mut b, A, 0, &pattern(40 * PAGE, 69)).unwrap();
    c.write(&mut b, A, 0, &pattern(40 * PAGE, 70)).unwrap();
    assert_eq!(b.reserves(), 1);
    assert_eq!(c.reservation(0), Some((None, 40)));
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), pattern(40 * PAGE, 70));
}

// ---------------------------------------------------------------- write-behind, steps

#[test]
fn write_behind_starts_past_the_per_file_limit_and_goes_in_bounded_steps() {
    let mut b = backend(4, &[(A, b"")]);
    let mut c = cache(
        256,
        Config {
            writeback_file_pages: 16,
            writeback_percent: 0,
            ..Config::default()
        },
    );
    c.write(&mut b, A, 0, &pattern(16 * PAGE, 71)).unwrap();
    assert!(!c.writeback_wanted());
    c.write(&mut b, A, 16 * P, &pattern(32 * PAGE, 72)).unwrap();
    assert!(c.writeback_wanted());
    let mut steps = 0;
    while c.writeback_wanted() {
        b.clear_log();
        let n = c.write_back_some(&mut b, 8).unwrap();
        assert!((1..=8 + 4).contains(&n), "{n}");
        assert!(b.writes() <= 3 && b.fsyncs() == 0);
        steps += 1;
    }
    assert!(steps >= 3, "{steps}");
    assert!(c.stats().dirty_pages <= 16);
    // Coldest first: the start of the file went first.
    assert!(b.data(1, "/a").len() >= 32 * PAGE);
    assert!(c.stats().write_behind_pages >= 32);
    c.verify().unwrap();
}

#[test]
fn write_behind_fsyncs_as_it_goes_so_the_final_fsync_has_little_to_flush() {
    let mut b = backend(4, &[(A, b"")]);
    let mut c = cache(
        256,
        Config {
            writeback_file_pages: 8,
            writeback_percent: 0,
            writeback_sync_pages: 16,
            ..Config::default()
        },
    );
    let data = pattern(64 * PAGE, 78);
    for i in 0..8 {
        c.write(
            &mut b,
            A,
            i * 8 * P,
            &data[i as usize * 8 * PAGE..][..8 * PAGE],
        )
        .unwrap();
        while c.writeback_wanted() {
            c.write_back_some(&mut b, 4).unwrap();
        }
    }
    // 56 pages written behind: an fsync with every 16 of them.
    assert_eq!(b.write_syncs, 3);
    assert!(b.durable(1, "/a").len() >= 48 * PAGE);
    c.fsync(&mut b, A).unwrap();
    assert_eq!(b.durable(1, "/a"), data);
    c.verify().unwrap();
}

#[test]
fn write_behind_starts_past_the_share_of_dirty_pages() {
    let mut b = backend(4, &[(A, b""), (B, b"")]);
    let mut c = cache(
        100,
        Config {
            writeback_file_pages: 0,
            writeback_percent: 10,
            ..Config::default()
        },
    );
    c.write(&mut b, A, 0, &pattern(6 * PAGE, 73)).unwrap();
    c.write(&mut b, B, 0, &pattern(4 * PAGE, 74)).unwrap();
    assert!(!c.writeback_wanted(), "10 of 100");
    c.write(&mut b, B, 4 * P, b"x").unwrap();
    assert!(c.writeback_wanted());
    c.write_back_some(&mut b, 4).unwrap();
    assert!(!c.writeback_wanted());
    assert_eq!(
        b.data(1, "/a").len(),
        4 * PAGE,
        "A's pages were the coldest"
    );
}

#[test]
fn write_back_some_passes_over_an_unreachable_storage() {
    let mut b = backend(4, &[(A, b""), (D2, b"")]);
    on_two(&mut b);
    let mut c = cache(64, Config::default());
    c.write(&mut b, A, 0, &pattern(4 * PAGE, 75)).unwrap();
    c.write(&mut b, D2, 0, &pattern(4 * PAGE, 76)).unwrap();
    b.disk(0).down = true;
    assert_eq!(c.write_back_some(&mut b, 100), Ok(4));
    assert_eq!(b.data(7, "/d"), pattern(4 * PAGE, 76));
    assert_eq!(
        c.write_back_some(&mut b, 100),
        Err(Error::Backend(MemError::Down))
    );
    c.verify().unwrap();
}

#[test]
fn flush_some_writes_the_lowest_pages_first_then_fsync_finishes() {
    let mut b = backend(4, &[(A, b"")]);
    let mut c = cache(64, no_ra());
    for p in [9u64, 3, 0, 12, 1, 7] {
        c.write(&mut b, A, p * P, &pattern(PAGE, p as u8)).unwrap();
    }
    assert_eq!(c.dirty_pages_of(A, false), 6);
    assert_eq!(c.flush_some(&mut b, A, false, 3), Ok(3));
    assert_eq!(writes(&b), [(0, 2 * PAGE), (3 * P, PAGE)]);
    assert_eq!(c.dirty_pages_of(A, false), 3);
    b.clear_log();
    c.fsync(&mut b, A).unwrap();
    assert_eq!(writes(&b), [(7 * P, PAGE), (9 * P, PAGE), (12 * P, PAGE)]);
    assert_eq!(b.fsyncs(), 1);
}

#[test]
fn flush_some_of_a_tree_covers_the_files_below_it_only() {
    let (da, deep, dx) = (
        FileKey {
            vnode: 1,
            path: "/d/a",
        },
        FileKey {
            vnode: 1,
            path: "/d/e/f",
        },
        FileKey {
            vnode: 1,
            path: "/dx",
        },
    );
    let d = FileKey {
        vnode: 1,
        path: "/d",
    };
    let mut b = backend(4, &[(da, b""), (deep, b""), (dx, b"")]);
    let mut c = cache(64, no_ra());
    for f in [da, deep, dx] {
        c.write(&mut b, f, 0, &pattern(2 * PAGE, 77)).unwrap();
    }
    assert_eq!(c.dirty_pages_of(d, true), 4);
    while c.dirty_pages_of(d, true) > 0 {
        assert!(c.flush_some(&mut b, d, true, 1).unwrap() >= 1);
    }
    assert_eq!(
        c.dirty_pages_of(dx, false),
        2,
        "a sibling with the same prefix"
    );
    assert_eq!(b.data(1, "/d/e/f"), pattern(2 * PAGE, 77));
}
