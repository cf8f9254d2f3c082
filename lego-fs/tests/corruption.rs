//! Damaged images: flipped bytes in metadata must be reported as corruption (at mount or by
//! the operation that reads the damaged block), never cause a panic or wrong contents.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::OnceLock;

use common::{Entry, State, dump, pattern};
use lego_fs::testdev::MemDisk;
use lego_fs::{BLOCK_SIZE, BlockDevice, Corruption, FileKind, FormatOptions, Fs, FsError, Layout};
use proptest::prelude::*;

const BS: usize = BLOCK_SIZE;

fn opts() -> FormatOptions {
    FormatOptions {
        max_file_size: 1 << 20,
        checkpoint_blocks: Some(8),
        log_blocks: Some(16),
    }
}

/// Creates the same small tree in every vNode; `round` varies the contents.
fn populate<D: BlockDevice>(fs: &mut Fs<D>, round: u8) {
    for v in common::VNODES {
        if round == 0 {
            fs.mkdir(v, "/d", 0o755).unwrap();
            fs.mkdir(v, "/d/e", 0o755).unwrap();
            fs.create(v, "/a", 0o644).unwrap();
            fs.create(v, "/d/f", 0o644).unwrap();
            fs.create(v, "/d/e/g", 0o644).unwrap();
            fs.create(v, "/empty", 0o644).unwrap();
        }
        let n = 3000 + usize::from(round) * 1000 + v as usize;
        fs.write(v, "/a", 0, &pattern(round, 0, n)).unwrap();
        fs.write(v, "/d/f", 100, &pattern(round ^ 0x55, 100, 9000))
            .unwrap();
        fs.write(v, "/d/e/g", 5000, &pattern(round, 5000, 10))
            .unwrap();
    }
}

struct Image {
    disk: MemDisk,
    layout: Layout,
    /// States after each sync, oldest first.
    synced: Vec<State>,
}

/// An image whose live metadata is only the superblock and a checkpoint (remounted after the
/// work, so the journal is empty).
fn clean_image() -> &'static Image {
    static IMG: OnceLock<Image> = OnceLock::new();
    IMG.get_or_init(|| {
        let mut fs = Fs::format(MemDisk::new(300), opts()).unwrap();
        populate(&mut fs, 0);
        let mut fs = Fs::mount(fs.unmount().unwrap()).unwrap();
        let state = dump(&mut fs).unwrap();
        let layout = fs.layout();
        Image {
            disk: fs.unmount().unwrap(),
            layout,
            synced: vec![state],
        }
    })
}

/// An image with several committed journal transactions (one per sync) after its checkpoint.
fn journal_image() -> &'static Image {
    static IMG: OnceLock<Image> = OnceLock::new();
    IMG.get_or_init(|| {
        let mut fs = Fs::format(MemDisk::new(300), opts()).unwrap();
        let mut synced = Vec::new();
        for round in 0..6 {
            populate(&mut fs, round);
            fs.sync().unwrap();
            synced.push(dump(&mut fs).unwrap());
        }
        let layout = fs.layout();
        Image {
            disk: fs.into_device(),
            layout,
            synced,
        }
    })
}

/// Checks a mounted, possibly damaged filesystem: the tree must be exactly `want`, and each
/// file must read back exactly or fail with a data-corruption error.
fn check_tree<D: BlockDevice>(fs: &mut Fs<D>, want: &State) -> Result<(), TestCaseError> {
    let mut seen = State::new();
    for v in common::VNODES {
        let mut dirs = vec!["/".to_string()];
        while let Some(dir) = dirs.pop() {
            for e in fs.readdir(v, &dir).unwrap() {
                let p = if dir == "/" {
                    format!("/{}", e.name)
                } else {
                    format!("{dir}/{}", e.name)
                };
                if e.kind == FileKind::Dir {
                    dirs.push(p.clone());
                    seen.insert((v, p), Entry::Dir);
                    continue;
                }
                let Some(Entry::File(expect)) = want.get(&(v, p.clone())) else {
                    return Err(TestCaseError::fail(format!("unexpected file {v}:{p}")));
                };
                prop_assert_eq!(fs.stat(v, &p).unwrap().size, expect.len() as u64);
                let mut buf = vec![0; expect.len()];
                match fs.read(v, &p, 0, &mut buf) {
                    Ok(n) => {
                        prop_assert_eq!(n, expect.len());
                        prop_assert!(buf == *expect, "wrong bytes in {}:{}", v, p);
                    }
                    Err(FsError::Corrupted(Corruption::Data)) => {}
                    Err(e) => return Err(TestCaseError::fail(format!("{p}: {e}"))),
                }
                seen.insert((v, p), Entry::File(expect.clone()));
            }
        }
    }
    let want_names: Vec<_> = want.keys().collect();
    let seen_names: Vec<_> = seen.keys().collect();
    prop_assert_eq!(seen_names, want_names);
    Ok(())
}

fn flip(disk: &mut MemDisk, block: u64, byte: usize, xor: u8) {
    disk.bytes_mut()[block as usize * BS + byte] ^= xor;
}

/// A block chosen by `sel` among the metadata blocks or the first (used) data blocks.
fn pick(layout: &Layout, sel: f64, data: bool) -> u64 {
    if data {
        layout.data.start + (sel * 40.0) as u64
    } else {
        (sel * layout.data.start as f64) as u64
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn flips_in_a_clean_image_are_detected_or_harmless(
        flips in prop::collection::vec((0.0f64..1.0, any::<bool>(), 0..BS, 1u8..=255), 1..4)
    ) {
        let img = clean_image();
        let mut disk = img.disk.clone();
        for &(sel, data, byte, xor) in &flips {
            flip(&mut disk, pick(&img.layout, sel, data), byte, xor);
        }
        match Fs::mount(disk) {
            Err(FsError::Corrupted(_)) => {}
            Err(e) => prop_assert!(false, "mount failed with {e}"),
            Ok(mut fs) => check_tree(&mut fs, &img.synced[0])?,
        }
    }

    #[test]
    fn flips_in_the_journal_are_detected_or_lose_only_damaged_tail_commits(
        flips in prop::collection::vec((0.0f64..1.0, 0..BS, 1u8..=255), 1..3)
    ) {
        let img = journal_image();
        let mut disk = img.disk.clone();
        let mut journal_blocks = std::collections::BTreeSet::new();
        for &(sel, byte, xor) in &flips {
            // Checkpoint slots and the journal.
            let block = 1 + (sel * (img.layout.data.start - 1) as f64) as u64;
            flip(&mut disk, block, byte, xor);
            if img.layout.log.contains(&block) {
                journal_blocks.insert(block);
            }
        }
        // Damage to the newest k commits with nothing valid after them looks exactly like a
        // torn commit: they may be dropped (the documented limit), nothing else may change.
        let n = img.synced.len();
        let oldest_allowed = n - 1 - journal_blocks.len();
        match Fs::mount(disk) {
            Err(FsError::Corrupted(_)) => {}
            Err(e) => prop_assert!(false, "mount failed with {e}"),
            Ok(mut fs) => {
                let state = dump(&mut fs).expect("metadata damage never reaches data reads");
                prop_assert!(img.synced[oldest_allowed..].contains(&state),
                    "state is not one of the last {} commits", journal_blocks.len() + 1);
            }
        }
    }

    #[test]
    fn random_blocks_never_panic(
        blocks in prop::collection::vec((0u64..300, any::<u64>()), 1..8)
    ) {
        // Overwrite whole blocks (possibly the superblock) with noise or with copies of other
        // blocks of the image (valid checksums in the wrong place).
        let img = journal_image();
        let mut disk = img.disk.clone();
        for &(b, r) in &blocks {
            let src = (r % 300) as usize * BS;
            let copy: Vec<u8> = if r & 1 == 0 {
                img.disk.bytes()[src..src + BS].to_vec()
            } else {
                (0..BS as u64).map(|i| (r.wrapping_mul(i + 1) >> 32) as u8).collect()
            };
            disk.bytes_mut()[b as usize * BS..(b as usize + 1) * BS].copy_from_slice(&copy);
        }
        if let Ok(mut fs) = Fs::mount(disk) {
            // Whatever mounted must be self-consistent enough to walk and read.
            let _ = dump(&mut fs);
        }
    }
}

#[test]
fn zeroed_or_foreign_device_is_bad_magic() {
    assert_eq!(
        Fs::mount(MemDisk::new(300)).unwrap_err(),
        FsError::Corrupted(Corruption::BadMagic)
    );
}

#[test]
fn superblock_damage_is_reported() {
    let mut disk = clean_image().disk.clone();
    flip(&mut disk, 0, 30, 4);
    assert_eq!(
        Fs::mount(disk).unwrap_err(),
        FsError::Corrupted(Corruption::Superblock)
    );
}

#[test]
fn data_damage_fails_the_read_not_the_mount() {
    let img = clean_image();
    // Find a data block of vNode 1's /d/f by flipping each used data block in turn.
    let mut found = false;
    for b in img.layout.data.clone().take(60) {
        let mut disk = img.disk.clone();
        flip(&mut disk, b, 77, 0x10);
        let mut fs = Fs::mount(disk).unwrap();
        let mut buf = vec![0; 9100];
        if fs.read(1, "/d/f", 0, &mut buf) != Err(FsError::Corrupted(Corruption::Data)) {
            continue;
        }
        found = true;
        // Other files are unaffected.
        assert_eq!(fs.read(2, "/d/f", 0, &mut buf), Ok(9100));
        let bad = (0..3u64)
            .find(|blk| {
                let mut one = vec![0; BS];
                fs.read(1, "/d/f", blk * BS as u64, &mut one).is_err()
            })
            .unwrap();
        // A partial write must merge with the damaged block: refused. A whole-block write
        // replaces it and repairs the file.
        assert_eq!(
            fs.write(1, "/d/f", bad * BS as u64 + 1, b"x"),
            Err(FsError::Corrupted(Corruption::Data))
        );
        fs.write(1, "/d/f", bad * BS as u64, &[9; BS]).unwrap();
        assert_eq!(fs.read(1, "/d/f", 0, &mut buf), Ok(9100));
        break;
    }
    assert!(found);
}

#[test]
fn damaged_checkpoint_payload_is_reported() {
    let img = clean_image();
    let mut disk = img.disk.clone();
    // Damage the first payload block of both slots (one holds the newest checkpoint).
    for slot in &img.layout.checkpoint {
        flip(&mut disk, slot.start + 2, 5, 1);
    }
    assert_eq!(
        Fs::mount(disk).unwrap_err(),
        FsError::Corrupted(Corruption::Checkpoint)
    );
}

#[test]
fn one_damaged_header_copy_is_survived() {
    let img = clean_image();
    for slot in &img.layout.checkpoint {
        for copy in 0..2 {
            let mut disk = img.disk.clone();
            flip(&mut disk, slot.start + copy, 9, 1);
            let mut fs = Fs::mount(disk).unwrap();
            assert_eq!(dump(&mut fs).unwrap(), img.synced[0]);
        }
    }
}

#[test]
fn damage_to_an_earlier_journal_transaction_is_reported() {
    let img = journal_image();
    let log = img.layout.log.clone();
    // One single-block transaction per sync, from the start of the journal.
    let txs = img.synced.len() as u64;
    let mut b = [0u8; 4];
    let raw = img.disk.bytes();
    for pos in 0..=txs {
        let at = (log.start + pos) as usize * BS;
        b.copy_from_slice(&raw[at..at + 4]);
        assert_eq!(
            &b == b"LGJL",
            pos < txs,
            "journal layout assumed by this test"
        );
    }
    for pos in 0..txs {
        let mut disk = img.disk.clone();
        flip(&mut disk, log.start + pos, 200, 0x80);
        let r = Fs::mount(disk);
        if pos + 1 < txs {
            assert_eq!(
                r.map(|_| ()).unwrap_err(),
                FsError::Corrupted(Corruption::Journal),
                "tx {pos}"
            );
        } else {
            // The last transaction is indistinguishable from a torn commit: it is dropped.
            let mut fs = r.unwrap();
            assert_eq!(dump(&mut fs).unwrap(), img.synced[txs as usize - 2]);
        }
    }
}

#[test]
fn destroyed_newest_checkpoint_with_newer_journal_is_reported() {
    let mut fs = Fs::format(MemDisk::new(300), opts()).unwrap();
    populate(&mut fs, 0);
    // Remounting writes checkpoint generation 2 (slot 1); then commit on top of it.
    let mut fs = Fs::mount(fs.unmount().unwrap()).unwrap();
    populate(&mut fs, 1);
    fs.sync().unwrap();
    let layout = fs.layout();
    let disk = fs.into_device();
    // Both header copies garbled: no crash leaves a slot so, refused as it is.
    let mut garbled = disk.clone();
    for copy in 0..2 {
        flip(&mut garbled, layout.checkpoint[1].start + copy, 0, 0xff);
    }
    assert_eq!(
        Fs::mount(garbled).unwrap_err(),
        FsError::Corrupted(Corruption::Checkpoint)
    );
    // Both wiped (blank, like a slot never written): the journal, newer than the checkpoint
    // mount falls back to, gives it away.
    let mut wiped = disk;
    for copy in 0..2 {
        let at = (layout.checkpoint[1].start + copy) as usize * BS;
        wiped.bytes_mut()[at..at + BS].fill(0);
    }
    assert_eq!(
        Fs::mount(wiped).unwrap_err(),
        FsError::Corrupted(Corruption::Journal)
    );
}

/// The last transaction, fsync'ed and then damaged in its data: its confirm block proves it
/// was committed, so the damage is reported when the file is read, not taken for a torn commit
/// (which would silently drop the fsync'ed file).
#[test]
fn damaged_data_of_the_last_fsync_is_reported_not_dropped() {
    let mut fs = Fs::format(MemDisk::new(64), opts()).unwrap();
    fs.create(1, "/f", 0o644).unwrap();
    fs.write(1, "/f", 0, &[7u8; BS]).unwrap();
    fs.fsync(1, "/f").unwrap();
    let layout = fs.layout();
    let mut disk = fs.into_device();
    let data = layout
        .data
        .clone()
        .find(|&b| disk.bytes()[b as usize * BS..][..BS] == [7u8; BS])
        .unwrap();
    flip(&mut disk, data, 5, 0x01);
    let mut fs = Fs::mount(disk).unwrap();
    assert_eq!(fs.stat(1, "/f").map(|s| s.size), Ok(BS as u64));
    let mut buf = vec![0; BS];
    assert_eq!(
        fs.read(1, "/f", 0, &mut buf),
        Err(FsError::Corrupted(Corruption::Data))
    );
}

/// A crash after the journal blocks landed but before all the data did (and so before the
/// flush returned and the confirm block was written): the transaction is torn and dropped.
#[test]
fn a_last_transaction_without_its_data_is_dropped_as_torn() {
    let mut fs = Fs::format(MemDisk::new(64), opts()).unwrap();
    fs.create(1, "/kept", 0o644).unwrap();
    fs.fsync(1, "/kept").unwrap();
    fs.create(1, "/f", 0o644).unwrap();
    fs.write(1, "/f", 0, &[7u8; BS]).unwrap();
    fs.fsync(1, "/f").unwrap();
    let layout = fs.layout();
    let mut disk = fs.into_device();
    // Undo the confirm block (found by its magic) and the data block (by its contents).
    let confirm = layout
        .log
        .clone()
        .rev()
        .find(|&b| disk.bytes()[b as usize * BS..][..4] == *b"LGJC")
        .unwrap();
    disk.bytes_mut()[confirm as usize * BS..][..BS].fill(0);
    let data = layout
        .data
        .clone()
        .find(|&b| disk.bytes()[b as usize * BS..][..BS] == [7u8; BS])
        .unwrap();
    disk.bytes_mut()[data as usize * BS..][..BS].fill(0);
    let fs = Fs::mount(disk).unwrap();
    assert_eq!(fs.stat(1, "/f"), Err(FsError::NotFound));
    fs.stat(1, "/kept").expect("/kept was committed before");
}
