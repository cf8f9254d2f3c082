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
