//! Power loss at any point: run random operations (with fsyncs) on a device that dies after a
//! random number of writes, keep a random subset of the unflushed writes (some torn), and
//! remount. The remounted state must equal the model's state after some completed operation
//! no earlier than the last successful fsync/sync: every fsynced byte is present and no file
//! holds a byte that was not written (or is not zero) at that point.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Model, Op, State, dump, op_strategy, prelude, run_op, small_opts};
use lego_fs::testdev::{CrashDisk, MemDisk};
use lego_fs::{Fs, FsError};
use proptest::prelude::*;

const MAX_FILE: u64 = 16_000;
/// Small enough (40 data blocks) that freed blocks get reused within a run, which is where
/// ordering mistakes between freeing and reusing show up.
const DISK_BLOCKS: u64 = 1 + 2 * 8 + 4 + 40;

/// Device operations (writes and flushes) and flushes that `workload` issues after format.
fn device_ops_of(workload: &[Op]) -> (u64, u64) {
    let disk = CrashDisk::new(MemDisk::new(DISK_BLOCKS));
    let mut fs = Some(Fs::format(disk.clone(), small_opts(MAX_FILE)).unwrap());
    let (o, f) = (disk.ops(), disk.flushes());
    for op in workload {
        let _ = run_op(&mut fs, op);
    }
    (disk.ops() - o, disk.flushes() - f)
}

/// Mounts `img`, optionally dying after `die` writes during recovery (and crashing again).
fn recover(img: MemDisk, die: Option<u64>, seed: u64) -> Fs<MemDisk> {
    let img = match die {
        None => img,
        Some(k) => {
            let d = CrashDisk::new(img);
            d.fail_after(k);
            match Fs::mount(d.clone()) {
                Ok(_) | Err(FsError::Io(_)) => d.crash(seed),
                Err(e) => panic!("recovery failed: {e}"),
            }
        }
    };
    Fs::mount(img).expect("a crashed image must mount")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn crash_anywhere_recovers_a_synced_prefix(
        ops in prop::collection::vec(op_strategy(12_000, 6_000), 1..80),
        die_at in prop::option::weighted(0.9, 0.0f64..1.0),
        at_flush in any::<bool>(),
        seed in any::<u64>(),
        die_in_recovery in prop::option::weighted(0.3, 0u64..20),
        seed2 in any::<u64>(),
    ) {
        let workload: Vec<Op> = prelude().into_iter().chain(ops).collect();
        let disk = CrashDisk::new(MemDisk::new(DISK_BLOCKS));
        let mut fs = Some(Fs::format(disk.clone(), small_opts(MAX_FILE)).unwrap());
        let mut model = Model::new(MAX_FILE);
        if let Some(frac) = die_at {
            // Die at a uniformly chosen write or flush of this workload (counted by a dry run),
            // or at a uniformly chosen flush: then everything since the previous one is in flight.
            let (ops_total, flushes_total) = device_ops_of(&workload);
            if at_flush {
                disk.fail_at_flush((frac * (flushes_total + 1) as f64) as u64);
            } else {
                disk.fail_after((frac * (ops_total + 1) as f64) as u64);
            }
        }
        // snapshots[i] is the state after the i-th completed operation.
        let mut snapshots: Vec<State> = vec![model.state.clone()];
        let mut durable = 0;
        for op in &workload {
            let got = run_op(&mut fs, op);
            if let Err(FsError::Io(_)) = got {
                break;
            }
            if got == Err(FsError::NoSpace) {
                // The model does not track space; a full disk must simply change nothing.
                snapshots.push(model.state.clone());
                continue;
            }
            let want = model.apply(op);
            prop_assert_eq!(&got, &want, "{:?}", op);
            snapshots.push(model.state.clone());
            if op.is_sync() && got.is_ok() {
                durable = snapshots.len() - 1;
            }
        }
        drop(fs);
        let mut fs = recover(disk.crash(seed), die_in_recovery, seed2);
        let state = dump(&mut fs).expect("every file readable after recovery");
        let ok = snapshots[durable..].contains(&state);
        prop_assert!(ok, "recovered state is not a state after the last sync ({} of {} ops)\n{:?}\nlast synced: {:?}",
            durable, snapshots.len() - 1, state, snapshots[durable]);

        // The recovered filesystem is fully usable and itself durable.
        fs.create(9, "/after", 0o644).unwrap();
        fs.write(9, "/after", 0, b"ok").unwrap();
        let mut fs = Fs::mount(fs.unmount().unwrap()).unwrap();
        prop_assert_eq!(dump(&mut fs).unwrap(), state);
        let mut b = [0u8; 2];
        prop_assert_eq!(fs.read(9, "/after", 0, &mut b), Ok(2));
        prop_assert_eq!(&b, b"ok");
    }
}

/// Operations for the bulk workload: many small files with long names in one vNode, so that transactions span
/// several journal blocks and the journal fills up (checkpoints) between and during crashes.
#[derive(Debug, Clone)]
enum Bulk {
    Create(u16),
    Write(u16, u64, usize, u8),
    Unlink(u16),
    Sync,
}

fn bulk_strategy() -> impl Strategy<Value = Bulk> {
    prop_oneof![
        16 => (0u16..120).prop_map(Bulk::Create),
        10 => (0u16..120, 0u64..6000, 0usize..5000, any::<u8>())
            .prop_map(|(i, o, l, s)| Bulk::Write(i, o, l, s)),
        3 => (0u16..120).prop_map(Bulk::Unlink),
        1 => Just(Bulk::Sync),
    ]
}

const BULK_DISK: u64 = 1 + 2 * 16 + 6 + 160;

fn bulk_opts() -> lego_fs::FormatOptions {
    lego_fs::FormatOptions {
        max_file_size: 1 << 20,
        checkpoint_blocks: Some(16),
        log_blocks: Some(6),
    }
}

/// Runs one bulk op on `fs` and, if it succeeded, on the model.
fn bulk_step<D: lego_fs::BlockDevice>(
    fs: &mut Fs<D>,
    model: &mut State,
    op: &Bulk,
) -> Result<(), FsError> {
    // Long names make transactions span several journal blocks.
    let key = |i: u16| (1u32, format!("/{}{i}", "n".repeat(250)));
    match *op {
        Bulk::Create(i) => {
            fs.create(1, &key(i).1, 0o644)?;
            model.insert(key(i), common::Entry::File(Vec::new()));
        }
        Bulk::Write(i, off, len, seed) => {
            let data = common::pattern(seed, off, len);
            fs.write(1, &key(i).1, off, &data)?;
            if let Some(common::Entry::File(f)) = model.get_mut(&key(i))
                && len > 0
            {
                let end = off as usize + len;
                if f.len() < end {
                    f.resize(end, 0);
                }
                f[off as usize..end].copy_from_slice(&data);
            }
        }
        Bulk::Unlink(i) => {
            fs.unlink(1, &key(i).1)?;
            model.remove(&key(i));
        }
        Bulk::Sync => fs.sync()?,
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn crash_during_large_transactions_and_checkpoints(
        ops in prop::collection::vec(bulk_strategy(), 50..300),
        die_at in 0.0f64..1.0,
        at_flush in any::<bool>(),
        seed in any::<u64>(),
        die_in_recovery in prop::option::weighted(0.3, 0u64..40),
        seed2 in any::<u64>(),
    ) {
        let (ops_total, flushes_total) = {
            let disk = CrashDisk::new(MemDisk::new(BULK_DISK));
            let mut fs = Fs::format(disk.clone(), bulk_opts()).unwrap();
            let (o, f) = (disk.ops(), disk.flushes());
            let mut m = State::new();
            for op in &ops {
                let _ = bulk_step(&mut fs, &mut m, op);
            }
            (disk.ops() - o, disk.flushes() - f)
        };
        let disk = CrashDisk::new(MemDisk::new(BULK_DISK));
        let mut fs = Fs::format(disk.clone(), bulk_opts()).unwrap();
        // Half the runs die at a flush: with everything since the previous flush in flight.
        if at_flush {
            disk.fail_at_flush((die_at * (flushes_total + 1) as f64) as u64);
        } else {
            disk.fail_after((die_at * (ops_total + 1) as f64) as u64);
        }
        let mut model = State::new();
        let mut snapshots = vec![model.clone()];
        let mut durable = 0;
        for op in &ops {
            match bulk_step(&mut fs, &mut model, op) {
                Err(FsError::Io(_)) => break,
                Ok(()) if matches!(op, Bulk::Sync) => {
                    snapshots.push(model.clone());
                    durable = snapshots.len() - 1;
                }
                Ok(()) | Err(FsError::NotFound | FsError::AlreadyExists | FsError::NoSpace) => {
                    snapshots.push(model.clone());
                }
                Err(e) => prop_assert!(false, "unexpected {e:?} for {op:?}"),
            }
        }
        drop(fs);
        let mut fs = recover(disk.crash(seed), die_in_recovery, seed2);
        let state = dump(&mut fs).expect("every file readable after recovery");
        prop_assert!(snapshots[durable..].contains(&state),
            "recovered state is not a state after the last sync ({} of {})", durable, snapshots.len() - 1);
    }
}

/// An fsync does not wait for its confirm block: it is handed to the device (no flush) by
/// `submit_hints`, once, and a crash before that still recovers the fsync'ed data (recovery
/// checks the unconfirmed last transaction against its data).
#[test]
fn confirm_blocks_are_handed_over_when_idle() {
    let disk = CrashDisk::new(MemDisk::new(DISK_BLOCKS));
    let mut fs = Fs::format(disk.clone(), small_opts(MAX_FILE)).unwrap();
    fs.create(1, "/f", 0o644).unwrap();
    fs.write(1, "/f", 0, b"synced").unwrap();
    let flushes = disk.flushes();
    fs.fsync(1, "/f").unwrap();
    assert_eq!(disk.flushes(), flushes + 1, "one flush per fsync");
    assert_eq!(disk.submits(), 0, "the fsync waited for its confirm block");
    // A crash now keeps or drops the unflushed confirm: the data is there either way.
    for seed in 0..16 {
        let mut back = Fs::mount(disk.crash(seed)).expect("mounts");
        let mut buf = [0u8; 6];
        assert_eq!(back.read(1, "/f", 0, &mut buf).unwrap(), 6);
        assert_eq!(&buf, b"synced");
    }
    assert!(fs.has_hints());
    let served = fs.io_time();
    fs.submit_hints();
    assert_eq!(disk.submits(), 1);
    assert!(!fs.has_hints());
    fs.submit_hints();
    assert_eq!(disk.submits(), 1, "nothing new to hand over");
    // The hand-over is the device's time, not any request's: what requests waited is
    // unchanged (the benchmark's breakdown takes it as the disk's share of its operations).
    assert_eq!(fs.io_time(), served);
    fs.write(1, "/f", 0, b"again!").unwrap();
    fs.fsync(1, "/f").unwrap();
    assert_eq!(fs.io_time().round_trips, served.round_trips + 1);
    assert_eq!(
        fs.io_time().wait_ns,
        served.wait_ns + CrashDisk::TRIP_NS,
        "one flush more"
    );
}
