//! Every operation and every error variant, one behaviour per test.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use lego_fs::testdev::{CrashDisk, MemDisk};
use lego_fs::{
    Corruption, DevError, DirEntry, FileKind, FormatOptions, Fs, FsError, MAX_NAME, MAX_PATH,
    ROOT_MODE, Stat,
};

fn fresh() -> Fs<MemDisk> {
    Fs::format(
        MemDisk::new(2048),
        FormatOptions {
            max_file_size: 1 << 20,
            ..FormatOptions::default()
        },
    )
    .unwrap()
}

fn remount(fs: Fs<MemDisk>) -> Fs<MemDisk> {
    Fs::mount(fs.unmount().unwrap()).unwrap()
}

fn read_all(fs: &mut Fs<MemDisk>, v: u32, p: &str) -> Vec<u8> {
    let size = fs.stat(v, p).unwrap().size as usize;
    let mut buf = vec![0xAA; size];
    assert_eq!(fs.read(v, p, 0, &mut buf).unwrap(), size);
    buf
}

fn names(fs: &Fs<MemDisk>, v: u32, p: &str) -> Vec<(String, FileKind)> {
    fs.readdir(v, p)
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.kind))
        .collect()
}

#[test]
fn create_stat_and_lookup() {
    let mut fs = fresh();
    fs.create(1, "/f", 0o640).unwrap();
    let st = fs.stat(1, "/f").unwrap();
    assert_eq!((st.kind, st.size, st.mode), (FileKind::File, 0, 0o640));
    assert_eq!(fs.lookup(1, "/f"), Ok(st));
    assert_eq!(fs.create(1, "/f", 0), Err(FsError::AlreadyExists));
    assert_eq!(fs.create(1, "/", 0), Err(FsError::AlreadyExists));
    assert_eq!(fs.stat(1, "/nope"), Err(FsError::NotFound));
    assert_eq!(
        fs.stat(5, "/"),
        Ok(Stat {
            kind: FileKind::Dir,
            size: 0,
            mode: ROOT_MODE,
            version: 0
        }),
        "every vNode has a root"
    );
    let fs = remount(fs);
    assert_eq!(fs.stat(1, "/f"), Ok(st));
}

#[test]
fn parents_must_exist_and_be_directories() {
    let mut fs = fresh();
    assert_eq!(fs.create(1, "/d/f", 0), Err(FsError::NotFound));
    assert_eq!(fs.mkdir(1, "/d/e", 0), Err(FsError::NotFound));
    fs.create(1, "/file", 0).unwrap();
    assert_eq!(fs.create(1, "/file/x", 0), Err(FsError::NotADirectory));
    assert_eq!(fs.mkdir(1, "/file/x", 0), Err(FsError::NotADirectory));
    // Looking below a file is ENOTDIR, however deep; below a missing directory, ENOENT.
    assert_eq!(fs.stat(1, "/file/x"), Err(FsError::NotADirectory));
    assert_eq!(fs.stat(1, "/file/x/y"), Err(FsError::NotADirectory));
    assert_eq!(fs.create(1, "/file/x/y", 0), Err(FsError::NotADirectory));
    assert_eq!(fs.unlink(1, "/file/x"), Err(FsError::NotADirectory));
    assert_eq!(fs.stat(1, "/nope/x"), Err(FsError::NotFound));
    fs.mkdir(1, "/d", 0o700).unwrap();
    fs.mkdir(1, "/d/e", 0o700).unwrap();
    fs.create(1, "/d/e/f", 0).unwrap();
    assert_eq!(fs.mkdir(1, "/d", 0), Err(FsError::AlreadyExists));
    assert_eq!(fs.mkdir(1, "/d/e/f", 0), Err(FsError::AlreadyExists));
    assert_eq!(fs.mkdir(1, "/", 0), Err(FsError::AlreadyExists));
    assert_eq!(fs.stat(1, "/d").unwrap().kind, FileKind::Dir);
}

#[test]
fn path_validation_errors() {
    let mut fs = fresh();
    let long_name = format!("/{}", "n".repeat(MAX_NAME + 1));
    let long_path: String = (0..=MAX_PATH / 8).map(|_| "/abcdefg").collect();
    let cases = [
        ("relative", FsError::NotAbsolute),
        ("", FsError::NotAbsolute),
        ("/a/../b", FsError::DotComponent),
        ("/.", FsError::DotComponent),
        ("/a//b", FsError::EmptyComponent),
        ("/a/", FsError::EmptyComponent),
        (long_name.as_str(), FsError::NameTooLong),
        (long_path.as_str(), FsError::PathTooLong),
    ];
    for (p, e) in cases {
        assert_eq!(fs.create(1, p, 0), Err(e), "create {p:?}");
        assert_eq!(fs.mkdir(1, p, 0), Err(e), "mkdir {p:?}");
        assert_eq!(fs.stat(1, p), Err(e), "stat {p:?}");
        assert_eq!(fs.read(1, p, 0, &mut [0; 4]), Err(e));
        assert_eq!(fs.write(1, p, 0, b"x"), Err(e));
        assert_eq!(fs.truncate(1, p, 0), Err(e));
        assert_eq!(fs.unlink(1, p), Err(e));
        assert_eq!(fs.rmdir(1, p), Err(e));
        assert_eq!(fs.readdir(1, p), Err(e));
        assert_eq!(fs.fsync(1, p), Err(e));
        assert_eq!(fs.rename(1, p, "/ok"), Err(e));
    }
    fs.create(1, "/ok", 0).unwrap();
    assert_eq!(fs.rename(1, "/ok", "/a/./b"), Err(FsError::DotComponent));
    // The longest legal name and path work.
    let max_name = format!("/{}", "m".repeat(MAX_NAME));
    fs.create(1, &max_name, 0).unwrap();
    let fs = remount(fs);
    fs.stat(1, &max_name).unwrap();
}

#[test]
fn write_read_and_holes() {
    let mut fs = fresh();
    fs.create(1, "/f", 0).unwrap();
    assert_eq!(fs.write(1, "/f", 0, b"hello"), Ok(5));
    assert_eq!(fs.write(1, "/f", 10_000, b"world"), Ok(5));
    assert_eq!(fs.stat(1, "/f").unwrap().size, 10_005);
    let data = read_all(&mut fs, 1, "/f");
    assert_eq!(&data[..5], b"hello");
    assert!(
        data[5..10_000].iter().all(|&b| b == 0),
        "gap reads as zeros"
    );
    assert_eq!(&data[10_000..], b"world");
    // Partial overwrite across a block boundary.
    fs.write(1, "/f", 4094, b"ABCD").unwrap();
    let mut b = [0u8; 6];
    assert_eq!(fs.read(1, "/f", 4093, &mut b), Ok(6));
    assert_eq!(&b, b"\0ABCD\0");
    // Reads stop at end of file; past it they return 0.
    let mut tail = [9u8; 10];
    assert_eq!(fs.read(1, "/f", 10_003, &mut tail), Ok(2));
    assert_eq!(&tail[..2], b"ld");
    assert_eq!(fs.read(1, "/f", 10_005, &mut tail), Ok(0));
    assert_eq!(fs.read(1, "/f", u64::MAX, &mut tail), Ok(0));
    assert_eq!(fs.write(1, "/f", 3, b""), Ok(0));
    assert_eq!(
        fs.stat(1, "/f").unwrap().size,
        10_005,
        "empty write changes nothing"
    );
    let mut fs = remount(fs);
    let again = read_all(&mut fs, 1, "/f");
    assert_eq!(&again[4094..4098], b"ABCD");
    assert_eq!(&again[..5], b"hello");
}

#[test]
fn large_aligned_and_unaligned_writes_round_trip() {
    let mut fs = fresh();
    fs.create(1, "/f", 0).unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
    fs.write(1, "/f", 0, &data).unwrap();
    fs.write(1, "/f", 12_345, &data[..50_000]).unwrap();
    let mut expect = data.clone();
    expect[12_345..62_345].copy_from_slice(&data[..50_000]);
    assert_eq!(read_all(&mut fs, 1, "/f"), expect);
    let mut fs = remount(fs);
    assert_eq!(read_all(&mut fs, 1, "/f"), expect);
    // Unaligned reads of every size around block boundaries.
    for (off, len) in [
        (0, 4096),
        (1, 4096),
        (4095, 2),
        (8191, 4097),
        (299_990, 100),
    ] {
        let mut b = vec![0; len];
        let n = fs.read(1, "/f", off, &mut b).unwrap();
        assert_eq!(&b[..n], &expect[off as usize..off as usize + n]);
    }
}

#[test]
fn truncate_shrinks_grows_and_zeroes() {
    let mut fs = fresh();
    fs.create(1, "/f", 0).unwrap();
    fs.write(1, "/f", 0, &[7; 10_000]).unwrap();
    fs.truncate(1, "/f", 5000).unwrap();
    assert_eq!(fs.stat(1, "/f").unwrap().size, 5000);
    fs.truncate(1, "/f", 12_000).unwrap();
    let data = read_all(&mut fs, 1, "/f");
    assert!(data[..5000].iter().all(|&b| b == 7));
    assert!(
        data[5000..].iter().all(|&b| b == 0),
        "old bytes must not reappear"
    );
    fs.truncate(1, "/f", 0).unwrap();
    fs.write(1, "/f", 8000, b"x").unwrap();
    let data = read_all(&mut fs, 1, "/f");
    assert!(data[..8000].iter().all(|&b| b == 0));
    let mut fs = remount(fs);
    assert_eq!(read_all(&mut fs, 1, "/f"), data);
    assert_eq!(fs.truncate(1, "/", 0), Err(FsError::IsADirectory));
    fs.mkdir(1, "/d", 0).unwrap();
    assert_eq!(fs.truncate(1, "/d", 0), Err(FsError::IsADirectory));
    assert_eq!(fs.truncate(1, "/missing", 0), Err(FsError::NotFound));
}

#[test]
fn file_too_large() {
    let mut fs = fresh();
    fs.create(1, "/f", 0).unwrap();
    let max = fs.max_file_size();
    assert_eq!(
        fs.write(1, "/f", max - 1, b"ab"),
        Err(FsError::FileTooLarge)
    );
    assert_eq!(
        fs.write(1, "/f", u64::MAX, b"a"),
        Err(FsError::FileTooLarge)
    );
    assert_eq!(fs.truncate(1, "/f", max + 1), Err(FsError::FileTooLarge));
    assert_eq!(fs.stat(1, "/f").unwrap().size, 0, "nothing changed");
    fs.write(1, "/f", max - 1, b"a").unwrap();
    fs.truncate(1, "/f", max).unwrap();
    assert_eq!(fs.stat(1, "/f").unwrap().size, max);
}

#[test]
fn kind_errors() {
    let mut fs = fresh();
    fs.mkdir(1, "/d", 0).unwrap();
    fs.create(1, "/f", 0).unwrap();
    assert_eq!(fs.write(1, "/d", 0, b"x"), Err(FsError::IsADirectory));
    assert_eq!(fs.read(1, "/d", 0, &mut [0; 1]), Err(FsError::IsADirectory));
    assert_eq!(fs.read(1, "/", 0, &mut [0; 1]), Err(FsError::IsADirectory));
    assert_eq!(fs.unlink(1, "/d"), Err(FsError::IsADirectory));
    assert_eq!(fs.unlink(1, "/"), Err(FsError::IsADirectory));
    assert_eq!(fs.rmdir(1, "/f"), Err(FsError::NotADirectory));
    assert_eq!(fs.readdir(1, "/f"), Err(FsError::NotADirectory));
    assert_eq!(fs.readdir(1, "/nope"), Err(FsError::NotFound));
    assert_eq!(fs.write(1, "/nope", 0, b"x"), Err(FsError::NotFound));
    assert_eq!(fs.read(1, "/nope", 0, &mut [0; 1]), Err(FsError::NotFound));
}

#[test]
fn unlink_frees_space() {
    let mut fs = fresh();
    let free = fs.statfs().free_blocks;
    fs.create(1, "/f", 0).unwrap();
    fs.write(1, "/f", 0, &[1; 40_000]).unwrap();
    fs.sync().unwrap();
    assert_eq!(fs.statfs().free_blocks, free - 10);
    fs.unlink(1, "/f").unwrap();
    assert_eq!(fs.stat(1, "/f"), Err(FsError::NotFound));
    assert_eq!(fs.unlink(1, "/f"), Err(FsError::NotFound));
    assert_eq!(fs.statfs().free_blocks, free);
    let fs = remount(fs);
    assert_eq!(fs.statfs().free_blocks, free);
    assert_eq!(fs.readdir(1, "/"), Ok(vec![]));
}

#[test]
fn rmdir_only_empty_directories() {
    let mut fs = fresh();
    fs.mkdir(1, "/d", 0).unwrap();
    fs.create(1, "/d/f", 0).unwrap();
    assert_eq!(fs.rmdir(1, "/d"), Err(FsError::DirectoryNotEmpty));
    assert_eq!(fs.rmdir(1, "/"), Err(FsError::RootDirectory));
    assert_eq!(fs.rmdir(1, "/x"), Err(FsError::NotFound));
    fs.unlink(1, "/d/f").unwrap();
    fs.rmdir(1, "/d").unwrap();
    assert_eq!(fs.stat(1, "/d"), Err(FsError::NotFound));
    let fs = remount(fs);
    assert_eq!(fs.readdir(1, "/"), Ok(vec![]));
}

#[test]
fn readdir_lists_children_sorted_with_kinds() {
    let mut fs = fresh();
    fs.mkdir(1, "/d", 0).unwrap();
    fs.create(1, "/d/b", 0).unwrap();
    fs.mkdir(1, "/d/a", 0).unwrap();
    fs.create(1, "/d/a/deep", 0).unwrap();
    fs.create(1, "/z", 0).unwrap();
    let want = vec![
        ("a".to_string(), FileKind::Dir),
        ("b".to_string(), FileKind::File),
    ];
    assert_eq!(names(&fs, 1, "/d"), want);
    assert_eq!(
        fs.readdir(1, "/").unwrap(),
        vec![
            DirEntry {
                name: "d".into(),
                kind: FileKind::Dir
            },
            DirEntry {
                name: "z".into(),
                kind: FileKind::File
            }
        ]
    );
    assert_eq!(fs.readdir(1, "/d/a").unwrap().len(), 1);
    let fs = remount(fs);
    assert_eq!(names(&fs, 1, "/d"), want);
}

#[test]
fn rename_files_and_directories() {
    let mut fs = fresh();
    fs.mkdir(1, "/d", 0).unwrap();
    fs.create(1, "/a", 0).unwrap();
    fs.write(1, "/a", 0, b"aaa").unwrap();
    fs.create(1, "/b", 0).unwrap();
    fs.write(1, "/b", 0, b"bbbbbb").unwrap();
    fs.rename(1, "/a", "/d/moved").unwrap();
    assert_eq!(fs.stat(1, "/a"), Err(FsError::NotFound));
    assert_eq!(read_all(&mut fs, 1, "/d/moved"), b"aaa");
    // Replacing an existing file frees the old one.
    fs.rename(1, "/b", "/d/moved").unwrap();
    assert_eq!(read_all(&mut fs, 1, "/d/moved"), b"bbbbbb");
    assert_eq!(fs.rename(1, "/d/moved", "/d/moved"), Ok(()));
    assert_eq!(fs.rename(1, "/", "/e"), Err(FsError::RootDirectory));
    assert_eq!(fs.rename(1, "/d", "/d/sub"), Err(FsError::RenameIntoItself));
    assert_eq!(fs.rename(1, "/d/moved", "/d"), Err(FsError::IsADirectory));
    assert_eq!(fs.rename(1, "/d/moved", "/"), Err(FsError::IsADirectory));
    assert_eq!(fs.rename(1, "/nope", "/x"), Err(FsError::NotFound));
    assert_eq!(fs.rename(1, "/d/moved", "/no/x"), Err(FsError::NotFound));
    fs.create(1, "/file", 0).unwrap();
    assert_eq!(
        fs.rename(1, "/d/moved", "/file/x"),
        Err(FsError::NotADirectory)
    );
    let mut fs = remount(fs);
    assert_eq!(read_all(&mut fs, 1, "/d/moved"), b"bbbbbb");
    assert_eq!(names(&fs, 1, "/d"), vec![("moved".into(), FileKind::File)]);

    // A directory moves with its whole subtree, also across a remount.
    fs.mkdir(1, "/d/sub", 0).unwrap();
    fs.create(1, "/d/sub/deep", 0).unwrap();
    fs.write(1, "/d/sub/deep", 0, b"deep").unwrap();
    fs.mkdir(1, "/t", 0).unwrap();
    fs.rename(1, "/d", "/t/d2").unwrap();
    assert_eq!(fs.stat(1, "/d"), Err(FsError::NotFound));
    assert_eq!(fs.stat(1, "/d/sub/deep"), Err(FsError::NotFound));
    assert_eq!(read_all(&mut fs, 1, "/t/d2/moved"), b"bbbbbb");
    assert_eq!(read_all(&mut fs, 1, "/t/d2/sub/deep"), b"deep");
    assert_eq!(
        names(&fs, 1, "/t/d2"),
        vec![
            ("moved".into(), FileKind::File),
            ("sub".into(), FileKind::Dir)
        ]
    );
    // Over a file: no; over a non-empty directory: no; over an empty one: replaces it.
    assert_eq!(fs.rename(1, "/t/d2", "/file"), Err(FsError::NotADirectory));
    fs.mkdir(1, "/full", 0).unwrap();
    fs.create(1, "/full/x", 0).unwrap();
    assert_eq!(
        fs.rename(1, "/t/d2", "/full"),
        Err(FsError::DirectoryNotEmpty)
    );
    fs.mkdir(1, "/empty", 0).unwrap();
    fs.rename(1, "/t/d2", "/empty").unwrap();
    assert_eq!(read_all(&mut fs, 1, "/empty/sub/deep"), b"deep");
    // The parent of a directory cannot go below it either.
    assert_eq!(
        fs.rename(1, "/empty", "/empty/sub/x"),
        Err(FsError::RenameIntoItself)
    );
    let mut fs = remount(fs);
    assert_eq!(read_all(&mut fs, 1, "/empty/sub/deep"), b"deep");
    assert_eq!(fs.stat(1, "/t/d2"), Err(FsError::NotFound));
    assert_eq!(names(&fs, 1, "/t"), vec![]);
}

#[test]
fn vnodes_are_isolated() {
    let mut fs = fresh();
    fs.create(1, "/same", 0).unwrap();
    fs.write(1, "/same", 0, b"one").unwrap();
    assert_eq!(fs.stat(2, "/same"), Err(FsError::NotFound));
    fs.create(2, "/same", 0).unwrap();
    fs.write(2, "/same", 0, b"two!").unwrap();
    fs.mkdir(3, "/d", 0).unwrap();
    assert_eq!(fs.create(1, "/d/x", 0), Err(FsError::NotFound));
    fs.unlink(1, "/same").unwrap();
    let mut fs = remount(fs);
    assert_eq!(fs.stat(1, "/same"), Err(FsError::NotFound));
    assert_eq!(read_all(&mut fs, 2, "/same"), b"two!");
    assert_eq!(names(&fs, 3, "/"), vec![("d".into(), FileKind::Dir)]);
    assert_eq!(fs.readdir(1, "/"), Ok(vec![]));
    assert_eq!(fs.readdir(u32::MAX, "/"), Ok(vec![]));
}

#[test]
fn version_counter_moves_forward_across_remounts() {
    let mut fs = fresh();
    fs.create(1, "/f", 0).unwrap();
    let v0 = fs.stat(1, "/f").unwrap().version;
    fs.write(1, "/f", 0, b"x").unwrap();
    let v1 = fs.stat(1, "/f").unwrap().version;
    fs.truncate(1, "/f", 0).unwrap();
    let v2 = fs.stat(1, "/f").unwrap().version;
    assert!(v0 < v1 && v1 < v2, "{v0} {v1} {v2}");
    let mut fs = remount(fs);
    assert_eq!(fs.stat(1, "/f").unwrap().version, v2);
    fs.create(1, "/g", 0).unwrap();
    assert!(fs.stat(1, "/g").unwrap().version > v2);
}

#[test]
fn fsync_and_sync_make_writes_durable() {
    let disk = CrashDisk::new(MemDisk::new(1024));
    let mut fs = Fs::format(disk.clone(), FormatOptions::default()).unwrap();
    fs.create(1, "/f", 0).unwrap();
    fs.write(1, "/f", 0, b"durable").unwrap();
    assert_eq!(fs.fsync(1, "/missing"), Err(FsError::NotFound));
    fs.fsync(1, "/f").unwrap();
    fs.fsync(1, "/").unwrap();
    fs.create(1, "/g", 0).unwrap();
    fs.write(1, "/g", 0, b"lost").unwrap();
    assert!(disk.unflushed_writes() > 0);
    drop(fs);
    // Power loss that keeps none of the unflushed writes.
    let img = (0..)
        .map(|s| disk.crash(s))
        .find(|img| *img == disk.durable())
        .unwrap();
    let mut fs = Fs::mount(img).unwrap();
    let mut b = [0u8; 7];
    assert_eq!(fs.read(1, "/f", 0, &mut b), Ok(7));
    assert_eq!(&b, b"durable");
    assert_eq!(fs.stat(1, "/g"), Err(FsError::NotFound));
    fs.create(1, "/h", 0).unwrap();
    fs.sync().unwrap();
    let fs = Fs::mount(fs.into_device()).unwrap();
    fs.stat(1, "/h").unwrap();
}

#[test]
fn io_errors_change_nothing_and_can_be_retried() {
    let disk = CrashDisk::new(MemDisk::new(1024));
    let mut fs = Fs::format(disk.clone(), FormatOptions::default()).unwrap();
    fs.create(1, "/f", 0).unwrap();
    fs.write(1, "/f", 0, b"before").unwrap();
    disk.fail_after(0);
    assert_eq!(
        fs.write(1, "/f", 0, b"AFTER!"),
        Err(FsError::Io(DevError::Io))
    );
    assert_eq!(fs.sync(), Err(FsError::Io(DevError::Io)));
    assert_eq!(
        fs.read(1, "/f", 0, &mut [0; 6]),
        Err(FsError::Io(DevError::Io))
    );
    disk.revive();
    let mut b = [0u8; 6];
    fs.read(1, "/f", 0, &mut b).unwrap();
    assert_eq!(&b, b"before", "the failed write had no effect");
    assert_eq!(fs.stat(1, "/f").unwrap().size, 6);
    // A commit whose journal write fails is retried by the next sync. (The data block was
    // written by `write`; the commit writes the transaction, flushes, then the confirm block.)
    fs.write(1, "/f", 0, b"second").unwrap();
    disk.fail_after(0);
    assert!(matches!(fs.sync(), Err(FsError::Io(_))));
    disk.revive();
    fs.sync().unwrap();
    let mut fs = Fs::mount(disk.durable()).unwrap();
    fs.read(1, "/f", 0, &mut b).unwrap();
    assert_eq!(&b, b"second");
    assert_eq!(
        Fs::mount(CrashDisk::new(MemDisk::new(64)))
            .map(|_| ())
            .unwrap_err(),
        FsError::Corrupted(Corruption::BadMagic)
    );
}

#[test]
fn format_rejects_bad_geometry() {
    assert_eq!(
        Fs::format(MemDisk::new(10), FormatOptions::default()).unwrap_err(),
        FsError::InvalidGeometry
    );
    let opts = FormatOptions {
        max_file_size: u64::MAX,
        ..FormatOptions::default()
    };
    assert_eq!(
        Fs::format(MemDisk::new(1000), opts).unwrap_err(),
        FsError::InvalidGeometry
    );
}

#[test]
fn reformat_forgets_the_old_filesystem() {
    let mut fs = fresh();
    fs.create(1, "/old", 0).unwrap();
    fs.sync().unwrap();
    let dev = fs.into_device();
    let fs = Fs::format(dev, FormatOptions::default()).unwrap();
    let fs = Fs::mount(fs.unmount().unwrap()).unwrap();
    assert_eq!(fs.stat(1, "/old"), Err(FsError::NotFound));
}

#[test]
fn errors_display_and_debug() {
    let all = [
        FsError::NotAbsolute,
        FsError::DotComponent,
        FsError::EmptyComponent,
        FsError::NameTooLong,
        FsError::PathTooLong,
        FsError::NotFound,
        FsError::AlreadyExists,
        FsError::NotADirectory,
        FsError::IsADirectory,
        FsError::DirectoryNotEmpty,
        FsError::RenameIntoItself,
        FsError::RootDirectory,
        FsError::FileTooLarge,
        FsError::NoSpace,
        FsError::InvalidGeometry,
        FsError::Io(DevError::OutOfRange),
        FsError::Corrupted(Corruption::Data),
    ];
    let shown: std::collections::BTreeSet<String> = all.iter().map(|e| e.to_string()).collect();
    assert_eq!(shown.len(), all.len(), "messages are distinct");
    assert!(
        FsError::Corrupted(Corruption::Journal)
            .to_string()
            .contains("journal")
    );
    let fs = fresh();
    assert!(format!("{fs:?}").contains("Fs"));
}
