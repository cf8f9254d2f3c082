//! Running out of data blocks or metadata space, and large files.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use lego_fs::testdev::MemDisk;
use lego_fs::{FormatOptions, Fs, FsError};

fn small_disk() -> Fs<MemDisk> {
    // 1 + 2*8 + 8 = 25 metadata blocks, 75 data blocks.
    Fs::format(
        MemDisk::new(100),
        FormatOptions {
            max_file_size: 1 << 30,
            checkpoint_blocks: Some(8),
            log_blocks: Some(8),
        },
    )
    .unwrap()
}

fn read_all(fs: &mut Fs<MemDisk>, p: &str) -> Vec<u8> {
    let size = fs.stat(1, p).unwrap().size as usize;
    let mut buf = vec![0; size];
    assert_eq!(fs.read(1, p, 0, &mut buf).unwrap(), size);
    buf
}

#[test]
fn disk_full_fails_cleanly_and_recovers_after_delete() {
    let mut fs = small_disk();
    assert_eq!(fs.statfs().data_blocks, 75);
    fs.create(1, "/small", 0).unwrap();
    fs.write(1, "/small", 0, &[1; 5 * 4096]).unwrap();
    fs.create(1, "/big", 0).unwrap();
    let chunk = [2u8; 4096];
    let mut written = 0u64;
    let err = loop {
        match fs.write(1, "/big", written, &chunk) {
            Ok(_) => written += 4096,
            Err(e) => break e,
        }
        assert!(written < 1 << 20, "never filled up");
    };
    assert_eq!(err, FsError::NoSpace);
    assert_eq!(written, 70 * 4096, "every data block used");
    assert_eq!(fs.statfs().free_blocks, 0);
    // The failed write changed nothing; a multi-block write that does not fit neither.
    assert_eq!(fs.stat(1, "/big").unwrap().size, written);
    assert_eq!(
        fs.write(1, "/small", 0, &[3; 3 * 4096]),
        Err(FsError::NoSpace)
    );
    assert_eq!(read_all(&mut fs, "/small"), vec![1; 5 * 4096]);
    // Metadata-only operations still work.
    fs.create(1, "/empty", 0).unwrap();
    fs.truncate(1, "/empty", 1 << 20).unwrap();
    // Deleting a file makes room (after the commit the allocator triggers itself).
    fs.unlink(1, "/small").unwrap();
    fs.write(1, "/big", written, &[4; 5 * 4096]).unwrap();
    assert_eq!(
        fs.write(1, "/big", 0, b"x"),
        Err(FsError::NoSpace),
        "copy-on-write needs a block"
    );
    fs.sync().unwrap();
    let mut fs = Fs::mount(fs.unmount().unwrap()).unwrap();
    let big = read_all(&mut fs, "/big");
    assert_eq!(big.len() as u64, written + 5 * 4096);
    assert!(big[..written as usize].iter().all(|&b| b == 2));
    assert!(big[written as usize..].iter().all(|&b| b == 4));
    assert_eq!(fs.stat(1, "/small"), Err(FsError::NotFound));
    assert_eq!(fs.statfs().free_blocks, 0);
    // Shrinking frees blocks for reuse.
    fs.truncate(1, "/big", 4096).unwrap();
    fs.create(1, "/again", 0).unwrap();
    fs.write(1, "/again", 0, &vec![5; 60 * 4096]).unwrap();
    let mut fs = Fs::mount(fs.unmount().unwrap()).unwrap();
    assert_eq!(read_all(&mut fs, "/again"), vec![5; 60 * 4096]);
}

#[test]
fn overwrites_on_a_full_disk_reuse_their_own_blocks_after_commit() {
    let mut fs = small_disk();
    fs.create(1, "/f", 0).unwrap();
    fs.write(1, "/f", 0, &vec![1; 75 * 4096]).unwrap();
    assert_eq!(fs.statfs().free_blocks, 0);
    // Truncating to zero defers the frees to the next commit, which the next write triggers.
    fs.truncate(1, "/f", 0).unwrap();
    fs.write(1, "/f", 0, &vec![2; 75 * 4096]).unwrap();
    let mut fs = Fs::mount(fs.unmount().unwrap()).unwrap();
    assert_eq!(read_all(&mut fs, "/f"), vec![2; 75 * 4096]);
}

#[test]
fn metadata_full_is_no_space_and_consistent() {
    let mut fs = Fs::format(
        MemDisk::new(200),
        FormatOptions {
            max_file_size: 1 << 30,
            checkpoint_blocks: Some(3), // one payload block: 4096 bytes of metadata
            log_blocks: Some(4),
        },
    )
    .unwrap();
    let name = |i: usize| format!("/{}{i:03}", "x".repeat(100));
    let mut n = 0;
    let err = loop {
        match fs.create(1, &name(n), 0) {
            Ok(()) => n += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, FsError::NoSpace);
    assert!(n > 10 && n < 40, "{n}");
    assert!(fs.statfs().metadata_bytes <= fs.statfs().metadata_capacity);
    // Data writes need metadata too (4 bytes per block): they fail cleanly.
    let before = fs.statfs();
    let r = fs.write(1, &name(0), 0, &vec![1; 100 * 4096]);
    assert_eq!(r, Err(FsError::NoSpace));
    assert_eq!(
        fs.statfs().free_blocks,
        before.free_blocks,
        "blocks given back"
    );
    assert_eq!(fs.stat(1, &name(0)).unwrap().size, 0);
    // Removing a file makes room again.
    fs.unlink(1, &name(0)).unwrap();
    fs.create(1, "/short", 0).unwrap();
    let fs = Fs::mount(fs.unmount().unwrap()).unwrap();
    for i in 1..n {
        fs.stat(1, &name(i)).unwrap();
    }
    fs.stat(1, "/short").unwrap();
}

/// 64 MiB written and read back in 1 MiB calls, and 8 MiB in 4 KiB calls (the buffer cache's
/// pattern), across a remount. Sequential writes must stay a handful of extents, so the
/// metadata stays small.
#[test]
fn large_files() {
    let blocks = 64 * 256 + 12 * 256 + 2000;
    let mut fs = Fs::format(MemDisk::new(blocks), FormatOptions::default()).unwrap();
    fs.create(1, "/big", 0).unwrap();
    let mib: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    for i in 0..64u64 {
        fs.write(1, "/big", i << 20, &mib).unwrap();
    }
    fs.create(1, "/paged", 0).unwrap();
    for i in 0..2048u64 {
        fs.write(1, "/paged", i * 4096, &mib[..4096]).unwrap();
    }
    fs.sync().unwrap();
    let meta = fs.statfs().metadata_bytes;
    assert!(meta < 80 * 1024, "checksums plus a few extents, got {meta}");
    let mut fs = Fs::mount(fs.unmount().unwrap()).unwrap();
    assert_eq!(fs.stat(1, "/big").unwrap().size, 64 << 20);
    let mut buf = vec![0; 1 << 20];
    for i in 0..64u64 {
        assert_eq!(fs.read(1, "/big", i << 20, &mut buf).unwrap(), 1 << 20);
        assert!(buf == mib, "MiB {i}");
    }
    let mut page = [0u8; 4096];
    for i in 0..2048u64 {
        fs.read(1, "/paged", i * 4096, &mut page).unwrap();
        assert!(page[..] == mib[..4096]);
    }
}

/// Disks up to 16 TiB format, serve and mount with a few MiB of memory: the allocator holds
/// free extents, not a bitmap, and free space is reported as far as the metadata can describe
/// it.
#[test]
fn huge_disks_format_and_mount_in_little_memory() {
    use lego_fs::MountOptions;
    use lego_fs::testdev::SparseDisk;
    let mem = MountOptions {
        mem_budget: 8 << 20,
    };
    for blocks in [500u64 << 18, 1 << 32] {
        let mut fs =
            Fs::format_with(SparseDisk::new(blocks), FormatOptions::default(), mem).unwrap();
        let l = fs.layout();
        assert_eq!(l.data.end, blocks);
        assert!(fs.mem_used() < 64 << 10, "{}", fs.mem_used());
        fs.mkdir(1, "/d", 0o755).unwrap();
        fs.create(1, "/d/f", 0o644).unwrap();
        let data: Vec<u8> = (0..3 << 20).map(|i| (i * 7 % 251) as u8).collect();
        fs.write(1, "/d/f", 0, &data).unwrap();
        // A write near the end of a 1 TiB file.
        fs.write(1, "/d/f", (1 << 40) - 4096, b"far").unwrap();
        let s = fs.statfs();
        assert_eq!(s.data_blocks, l.data.end - l.data.start);
        // 8 MiB of memory cannot describe 500 GiB of data: the free space says so.
        assert!(s.free_blocks < s.data_blocks / 16, "{s:?}");
        assert!(s.free_blocks > 100_000, "{s:?}");
        let mut fs = Fs::mount_with(fs.unmount().unwrap(), mem).unwrap();
        let mut back = vec![0u8; data.len()];
        assert_eq!(fs.read(1, "/d/f", 0, &mut back).unwrap(), data.len());
        assert!(back == data);
        let mut far = [0u8; 3];
        fs.read(1, "/d/f", (1 << 40) - 4096, &mut far).unwrap();
        assert_eq!(&far, b"far");
        assert!(fs.mem_used() < 128 << 10, "{}", fs.mem_used());
    }
}
