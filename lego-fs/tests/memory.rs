//! The memory budget, checked against the real heap: a counting global allocator measures what
//! the filesystem allocates (per thread, so tests running in parallel do not see each other).
//! Adversarial request patterns (deep paths, thousands of long paths, long names, many
//! directories and vNodes, huge renames, fragmented files) must end in clean errors with the
//! heap never past the budget; the model's estimate must bound what is allocated; and what was
//! accepted must mount again with the same budget, every synced byte intact.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;

use lego_fs::testdev::MemDisk;
use lego_fs::{Client, FileKind, FormatOptions, Fs, FsError, MAX_PATH, MountOptions};

/// The system allocator, counting this thread's live bytes and their peak.
struct Counting;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
    static ON: Cell<bool> = const { Cell::new(false) };
}

fn add(n: i64) {
    if !ON.try_with(Cell::get).unwrap_or(false) {
        return;
    }
    let _ = LIVE.try_with(|l| {
        let v = l.get() + n;
        l.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

// SAFETY: every call is forwarded to `System` with the caller's arguments; the counting only
// touches const-initialised thread-locals (no allocation, no destructor).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as i64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as i64));
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        // The old and the new block coexist for a moment.
        add(new as i64);
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new) };
        if p.is_null() {
            add(-(new as i64));
        } else {
            add(-(layout.size() as i64));
        }
        p
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Runs `f` counting its allocations: the filesystem's calls are, the test's own
/// bookkeeping is not.
fn counted<R>(f: impl FnOnce() -> R) -> R {
    ON.with(|on| on.set(true));
    let r = f();
    ON.with(|on| on.set(false));
    r
}

/// This thread's live heap bytes now.
fn live() -> i64 {
    LIVE.with(Cell::get)
}

/// Starts measuring a peak from now.
fn reset_peak() {
    PEAK.with(|p| p.set(live()));
}

fn peak() -> i64 {
    PEAK.with(Cell::get)
}

const BUDGET: u64 = 3 << 20;

/// Checkpoint slots large enough that memory, not the slot, is what runs out.
fn opts() -> FormatOptions {
    FormatOptions {
        max_file_size: 1 << 30,
        checkpoint_blocks: Some(1500),
        log_blocks: Some(256),
    }
}

fn budget(bytes: u64) -> MountOptions {
    MountOptions { mem_budget: bytes }
}

/// A filesystem under test: what it should hold, and where its heap use started.
struct Run {
    fs: Fs<MemDisk>,
    budget: u64,
    /// Live bytes before the filesystem existed (the disk's image is allocated before).
    base: i64,
    files: BTreeMap<(u32, String), Vec<u8>>,
    dirs: Vec<(u32, String)>,
    /// What the heap reached, from `base`.
    worst: i64,
}

impl Run {
    fn new(blocks: u64) -> Run {
        Self::with(blocks, opts(), BUDGET)
    }

    fn with(blocks: u64, o: FormatOptions, bytes: u64) -> Run {
        let disk = MemDisk::new(blocks);
        let base = live();
        reset_peak();
        let fs = counted(|| Fs::format_with(disk, o, budget(bytes))).unwrap();
        Run {
            fs,
            budget: bytes,
            base,
            files: BTreeMap::new(),
            dirs: Vec::new(),
            worst: 0,
        }
    }

    /// Checks the heap against the budget and the estimate after an operation.
    fn check(&mut self, what: &str) {
        let peak = peak() - self.base;
        self.worst = self.worst.max(peak);
        assert!(
            peak as u64 <= self.budget,
            "{what}: the heap reached {peak} bytes, budget {}",
            self.budget
        );
        let now = (live() - self.base) as u64;
        let est = self.fs.mem_used() + self.fs.mem_fixed();
        assert!(
            now <= est,
            "{what}: {now} bytes live, the estimate says at most {est}"
        );
        assert!(self.fs.mem_used() <= self.fs.mem_limit(), "{what}");
    }

    /// An operation that may fail only for lack of room (or a path too long); returns
    /// whether it succeeded.
    fn op(&mut self, what: &str, r: lego_fs::Result<()>) -> bool {
        reset_peak();
        self.check(what);
        match r {
            Ok(()) => true,
            Err(FsError::NoSpace | FsError::PathTooLong) => false,
            Err(e) => panic!("{what}: {e}"),
        }
    }

    fn mkdir(&mut self, v: u32, p: &str) -> bool {
        reset_peak();
        let r = counted(|| self.fs.mkdir(v, p, 0o755));
        let ok = self.op(&format!("mkdir {p}"), r);
        if ok {
            self.dirs.push((v, p.into()));
        }
        ok
    }

    fn put(&mut self, v: u32, p: &str, data: &[u8]) -> bool {
        reset_peak();
        let fs = &mut self.fs;
        let r = counted(|| {
            fs.create(v, p, 0o644).and_then(|()| {
                data.chunks(32 << 10)
                    .enumerate()
                    .try_for_each(|(i, c)| fs.write(v, p, i as u64 * (32 << 10), c).map(drop))
            })
        });
        let ok = self.op(&format!("put {p}"), r);
        match ok {
            true => {
                self.files.insert((v, p.into()), data.to_vec());
            }
            // A file whose data did not fit: remove it again, so what is left is exact.
            false => {
                if self.fs.stat(v, p).is_ok() {
                    counted(|| self.fs.unlink(v, p)).unwrap();
                }
            }
        }
        ok
    }

    /// Syncs, remounts with the same budget (measuring the mount's heap) and checks that
    /// every file and directory is there with its bytes.
    fn remount_and_verify(mut self, what: &str) -> Run {
        counted(|| self.fs.sync()).unwrap();
        let before = self.fs.inode_count();
        let disk = counted(|| self.fs.into_device());
        let base = live();
        reset_peak();
        let fs = counted(|| Fs::mount_with(disk, budget(self.budget)))
            .unwrap_or_else(|e| panic!("{what}: remount with the same budget: {e}"));
        let mount_peak = peak() - base;
        assert!(
            mount_peak as u64 <= self.budget,
            "{what}: mounting took {mount_peak} bytes of heap, budget {}",
            self.budget
        );
        let mut r = Run {
            fs,
            budget: self.budget,
            base,
            files: self.files,
            dirs: self.dirs,
            worst: mount_peak,
        };
        assert_eq!(r.fs.inode_count(), before, "{what}");
        for (v, d) in &r.dirs {
            assert_eq!(
                r.fs.stat(*v, d).map(|s| s.kind),
                Ok(FileKind::Dir),
                "{what}: {d}"
            );
        }
        for ((v, p), data) in &r.files {
            let mut buf = vec![0u8; data.len() + 1];
            let n = counted(|| r.fs.read(*v, p, 0, &mut buf)).unwrap();
            assert!(
                n == data.len() && buf[..n] == data[..],
                "{what}: {p} differs"
            );
        }
        eprintln!(
            "{what}: {} inodes, {} KiB of metadata; the heap reached {} KiB of {} KiB, \
             mount {} KiB",
            r.fs.inode_count(),
            r.fs.statfs().metadata_bytes >> 10,
            self.worst >> 10,
            self.budget >> 10,
            mount_peak >> 10
        );
        r.check(&format!("{what}: after the remount"));
        r
    }
}

/// `mkdir -p` of a path as deep as paths go: with little memory it runs out part way (4 MiB of
/// path bytes in one chain); with more, the chain ends at the longest path, and more chains
/// fill the budget. Clean errors; the same budget mounts it all again.
#[test]
fn deep_paths_hit_the_budget_and_mount_again() {
    let mkdir_p = |r: &mut Run, top: &str| -> (usize, bool) {
        let mut p = String::from(top);
        let mut depth = 0;
        loop {
            if !r.mkdir(1, &p) {
                return (depth, false);
            }
            depth += 1;
            if p.len() + 2 > MAX_PATH {
                assert_eq!(
                    counted(|| r.fs.mkdir(1, &format!("{p}/d"), 0)),
                    Err(FsError::PathTooLong)
                );
                return (depth, true);
            }
            p.push_str("/d");
        }
    };
    let mut r = Run::new(8192);
    let (depth, whole) = mkdir_p(&mut r, "/c");
    assert!(!whole && depth > 500, "{depth} levels in {BUDGET} bytes");
    let mut r = r.remount_and_verify("a deep path, 3 MiB");
    // A fresh mount's tables are tighter: a few more may fit, then the same clean error.
    let mut more = 0;
    while r.mkdir(1, &format!("/more{more}")) {
        more += 1;
        assert!(more < 200, "the remount freed {more} directories' worth");
    }
    let (_, last) = r.dirs.pop().unwrap();
    counted(|| r.fs.rmdir(1, &last)).unwrap();
    counted(|| r.fs.mkdir(1, "/x", 0)).unwrap();

    let big = FormatOptions {
        checkpoint_blocks: Some(6000),
        ..opts()
    };
    let mut r = Run::with(16384, big, 20 << 20);
    let mut chains = 0;
    loop {
        let (_, whole) = mkdir_p(&mut r, &format!("/c{chains}"));
        if !whole {
            break;
        }
        chains += 1;
    }
    assert!(chains >= 2, "{chains} whole chains in 20 MiB");
    r.remount_and_verify("deep paths, 20 MiB");
}

/// Thousands of files with 3 KB paths (long names in a few directories), some data in each.
#[test]
fn many_long_paths_hit_the_budget_and_mount_again() {
    let mut r = Run::new(8192);
    // Eleven levels of 255-byte names, then a file of a 255-byte name: 3 KB paths.
    let mut dir = String::new();
    for k in 0..11u8 {
        dir.push('/');
        dir.push_str(&char::from(b'a' + k).to_string().repeat(255));
        assert!(r.mkdir(3, &dir.clone()));
    }
    let mut made = 0;
    for i in 0.. {
        let p = format!("{dir}/{}{i:05}", "n".repeat(250));
        assert_eq!(p.len(), 3072);
        if !r.put(3, &p, &[i as u8; 100]) {
            break;
        }
        made += 1;
    }
    assert!(
        made > 100,
        "only {made} files with 3 KB paths in {BUDGET} bytes"
    );
    let mut r = r.remount_and_verify("3 KB paths");
    assert_eq!(
        r.fs.create(3, &format!("{dir}/more"), 0),
        Err(FsError::NoSpace)
    );
    // The listing pages through the directory without allocating per entry.
    let mut seen = 0;
    r.fs.readdir_from(3, &dir, 0, |_, _| {
        seen += 1;
        true
    })
    .unwrap();
    assert_eq!(seen, made);
}

/// Many small files in one directory, many directories, many vNodes.
#[test]
fn many_small_files_directories_and_vnodes() {
    let mut r = Run::new(16384);
    let mut i = 0;
    loop {
        let v = i % 50;
        let ok = if i % 3 == 0 {
            r.mkdir(v as u32, &format!("/d{i}"))
        } else {
            r.put(v as u32, &format!("/f{i}"), &[(i % 251) as u8; 10])
        };
        if !ok {
            break;
        }
        i += 1;
    }
    assert!(i > 2000, "only {i} small files in {BUDGET} bytes");
    let r = r.remount_and_verify("small files");
    eprintln!(
        "small files: {} bytes of metadata memory each (estimate), {} of the whole budget",
        r.fs.mem_used() / r.fs.inode_count(),
        BUDGET / r.fs.inode_count()
    );
}

/// A file fragmented by random single-block overwrites until the budget runs out.
#[test]
fn fragmented_files_hit_the_budget_and_mount_again() {
    let size = 40_000 * 4096;
    let mut data = vec![0u8; size];
    let mut r = Run::new(1 << 16);
    assert!(r.put(1, "/frag", &[]));
    let mut rng = 12345u64;
    let mut writes = 0;
    loop {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let blk = (rng % 40_000) as usize;
        let bytes = [(rng >> 32) as u8 | 1; 4096];
        reset_peak();
        let w = counted(|| {
            r.fs.write(1, "/frag", (blk * 4096) as u64, &bytes)
                .map(drop)
        });
        if !r.op("overwrite", w) {
            break;
        }
        data[blk * 4096..blk * 4096 + 4096].copy_from_slice(&bytes);
        writes += 1;
        if writes % 500 == 0 {
            counted(|| r.fs.sync()).unwrap();
        }
    }
    eprintln!("{writes} fragmenting writes: {:?}", r.fs);
    assert!(writes > 1000, "only {writes} fragmenting writes");
    let end = data
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i / 4096 * 4096 + 4096);
    data.truncate(end);
    r.files.insert((1, "/frag".into()), data);
    let mut r = r.remount_and_verify("fragmented file");
    // Deleting it gives everything back.
    counted(|| r.fs.unlink(1, "/frag")).unwrap();
    r.files.clear();
    counted(|| r.fs.sync()).unwrap();
    assert!(
        r.fs.mem_used() < r.fs.mem_limit() / 4,
        "{}",
        r.fs.mem_used()
    );
}

/// Renaming a directory with thousands of entries below it to a much longer name: it fits
/// or it is refused, never past the budget, and what is kept mounts again.
#[test]
fn huge_renames_fit_or_are_refused() {
    let mut r = Run::new(8192);
    assert!(r.mkdir(2, "/t"));
    let mut n = 0;
    while n < 20_000 && r.put(2, &format!("/t/file-{n:06}"), b"x") {
        n += 1;
    }
    // 250 bytes more for each of thousands of paths may not fit; 30 more must.
    let mut from = String::from("/t");
    for (to, must) in [
        (format!("/{}", "L".repeat(250)), false),
        (format!("/{}", "m".repeat(31)), true),
    ] {
        reset_peak();
        let renamed = counted(|| r.fs.rename(2, &from, &to));
        let ok = r.op("rename of a large subtree", renamed);
        assert!(
            ok || !must,
            "a rename of {n} files to {} bytes refused",
            to.len()
        );
        eprintln!(
            "rename of {n} files to a {}-byte name: {}",
            to.len(),
            if ok { "done" } else { "refused" }
        );
        if ok {
            let files = std::mem::take(&mut r.files);
            for ((v, p), d) in files {
                r.files.insert((v, p.replacen(&from, &to, 1)), d);
            }
            r.dirs = vec![(2, to.clone())];
            from = to;
        }
    }
    let mut r = r.remount_and_verify("huge rename");
    // Moving it back (shorter names) always fits.
    counted(|| r.fs.rename(2, &from, "/u")).unwrap();
    counted(|| r.fs.sync()).unwrap();
}

/// A disk filled with one budget, mounted with a smaller one: refused with how much it needs,
/// and that much is enough.
#[test]
fn a_mount_over_budget_is_refused_with_what_it_needs() {
    let mut r = Run::new(8192);
    let mut i = 0;
    while r.put(1, &format!("/{}{i}", "p".repeat(200)), &[1; 100]) {
        i += 1;
    }
    counted(|| r.fs.sync()).unwrap();
    let disk = counted(|| r.fs.into_device());
    let err = Fs::mount_with(disk.clone(), budget(BUDGET / 2)).unwrap_err();
    let FsError::MetadataTooLarge { needed, budget: b } = err else {
        panic!("{err:?}");
    };
    assert_eq!(b, BUDGET / 2);
    assert!(needed > b, "{needed}");
    assert!(err.to_string().contains("MiB"), "{err}");
    let fs = Fs::mount_with(disk, budget(needed)).unwrap();
    assert_eq!(fs.inode_count(), i);
}

/// Reservations: held per client, seen by nobody else, used by the client's own writes,
/// dropped with a new incarnation or a failure, and refused past the free space.
#[test]
fn reservations_hold_space_for_their_client_only() {
    let mut fs = Fs::format(MemDisk::new(1000), FormatOptions::default()).unwrap();
    let a = Client {
        id: 1,
        incarnation: 1,
    };
    let b = Client {
        id: 2,
        incarnation: 4,
    };
    let free = fs.statfs().free_blocks;
    fs.create(1, "/a", 0).unwrap();
    fs.create(1, "/b", 0).unwrap();
    let s = fs.reserve_space(a, free - 10).unwrap();
    assert_eq!(s.free_blocks, 10);
    assert_eq!(
        fs.reserve_space(a, free - 10).unwrap().free_blocks,
        10,
        "absolute"
    );
    // Another client gets what is left, no more; the refusal keeps the old reservation.
    assert_eq!(fs.reserve_space(b, 11), Err(FsError::NoSpace));
    fs.reserve_space(b, 5).unwrap();
    assert_eq!(fs.reserve_space(b, 20), Err(FsError::NoSpace));
    assert_eq!(fs.reserved_for(2), 5);
    assert_eq!(fs.statfs().free_blocks, 5);
    // Anonymous writes see 5 blocks; a's writes use its own and shrink it.
    assert_eq!(fs.write(1, "/b", 0, &[1; 6 * 4096]), Err(FsError::NoSpace));
    fs.write(1, "/b", 0, &[1; 5 * 4096]).unwrap();
    assert_eq!(fs.statfs().free_blocks, 0);
    fs.write_as(Some(1), 1, "/a", 0, &[2; 20 * 4096]).unwrap();
    assert_eq!(fs.reserved_for(1), free - 30);
    assert_eq!(fs.statfs().free_blocks, 0);
    // b may write its 5, not a sixth.
    assert_eq!(
        fs.write_as(Some(2), 1, "/b", 5 * 4096, &[3; 6 * 4096]),
        Err(FsError::NoSpace)
    );
    fs.write_as(Some(2), 1, "/b", 5 * 4096, &[3; 5 * 4096])
        .unwrap();
    assert_eq!(fs.reserved_for(2), 0);
    // a's next incarnation holds nothing: the space is everyone's again.
    fs.client_seen(Client {
        id: 1,
        incarnation: 2,
    });
    assert_eq!(fs.reserved_for(1), 0);
    assert_eq!(fs.statfs().free_blocks, free - 30);
    fs.reserve_space(b, 100).unwrap();
    fs.forget_client(2);
    assert_eq!(fs.statfs().free_blocks, free - 30);
    // Memory only: a remount holds none.
    fs.reserve_space(a, 50).unwrap();
    let fs = Fs::mount(fs.unmount().unwrap()).unwrap();
    assert_eq!(fs.statfs().free_blocks, free - 30);
}
