//! The storage service: file requests (`lego_proto::fs`) against the filesystem on this
//! sComponent's disk (`lego-fs`). Requests are stateless and served in the dispatcher, one at a
//! time; `lego_fs::serve` does the work.
//!
//! At boot the disk is mounted (recovering from a crash), or formatted if it is blank. A disk
//! that holds anything else, or fails to mount, is refused and never written: every request is
//! answered "storage corrupted" until someone looks at it.

extern crate alloc;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use guest_rt::rpc::Rpc;
use guest_rt::service::Service;
use guest_rt::virtio::blk::BlkDevice;
use guest_rt::{println, time};
use lego_fs::{Block, BlockDevice, FormatOptions, Fs, FsError};
use lego_proto::fs::{self as proto, errno, status_of};
use spin::Mutex;

use crate::disk::Disk;

/// What the sComponent serves.
enum State {
    Mounted(Box<Fs<Disk>>),
    /// Refused (why): requests get EUCLEAN.
    Refused(String),
}

/// The service.
pub struct Storage {
    state: Arc<Mutex<State>>,
    /// When the last request came (`time::now_ns`).
    last_request_ns: Arc<AtomicU64>,
}

fn blank(dev: &mut Disk) -> Result<bool, FsError> {
    let mut b: Box<Block> = Box::new([0u8; lego_fs::BLOCK_SIZE]);
    dev.read(0, &mut b)?;
    Ok(b.iter().all(|&x| x == 0))
}

impl Storage {
    /// Mounts (or formats, if blank) the filesystem on `blk`. `max_file` bounds file sizes of
    /// a new filesystem.
    pub fn open(blk: BlkDevice, max_file: Option<u64>) -> Storage {
        let mut disk = Disk(blk);
        let mib = (disk.block_count() * lego_fs::BLOCK_SIZE as u64) >> 20;
        let state = match blank(&mut disk) {
            Ok(true) => {
                let mut opts = FormatOptions::default();
                if let Some(m) = max_file {
                    opts.max_file_size = m;
                }
                match Fs::format(disk, opts) {
                    Ok(fs) => {
                        println!("smon: formatted a blank {mib} MiB disk");
                        println!(
                            "smon: mounted a new filesystem (max file {} MiB)",
                            fs.max_file_size() >> 20
                        );
                        State::Mounted(Box::new(fs))
                    }
                    Err(e) => State::Refused(alloc::format!("formatting failed: {e}")),
                }
            }
            Ok(false) => match Fs::mount(disk) {
                Ok(fs) => {
                    let s = fs.statfs();
                    println!(
                        "smon: mounted a {mib} MiB disk: {} of {} blocks free, {} KiB of metadata",
                        s.free_blocks,
                        s.data_blocks,
                        s.metadata_bytes >> 10
                    );
                    State::Mounted(Box::new(fs))
                }
                Err(e) => State::Refused(alloc::format!("{e}")),
            },
            Err(e) => State::Refused(alloc::format!("cannot read it: {e}")),
        };
        if let State::Refused(why) = &state {
            println!("smon: disk refused: {why}; it is left untouched and every request fails");
        }
        Storage {
            state: Arc::new(Mutex::new(state)),
            last_request_ns: Arc::new(AtomicU64::new(0)),
        }
    }
}

/// How long the disk must have been left alone before a commit's confirm block is handed to
/// it on its own (a VM exit). In a stream of requests it goes with the next batch instead, for
/// free: it sits next to the next transaction's journal block, so the host writes both at once.
const HINT_DELAY_NS: u64 = 1_000_000;

impl Service for Storage {
    fn install(&mut self, rpc: &mut Rpc) {
        for op in proto::OP_BASE..=proto::OP_LAST {
            let state = self.state.clone();
            let last = self.last_request_ns.clone();
            rpc.handle(op, move |ctx, req, reply| {
                last.store(time::now_ns(), Ordering::Relaxed);
                match &mut *state.lock() {
                    State::Mounted(fs) => lego_fs::serve::handle(fs, ctx.opcode, req, reply),
                    State::Refused(_) => Err(status_of(errno::EUCLEAN)),
                }
            });
        }
    }

    fn idle(&mut self) -> u64 {
        // The lock is free here (handlers run in the dispatcher, not now); `try_lock` anyway,
        // so the polling loop can never block on it.
        let Some(mut st) = self.state.try_lock() else {
            return u64::MAX;
        };
        let State::Mounted(fs) = &mut *st else {
            return u64::MAX;
        };
        if !fs.has_hints() {
            return u64::MAX;
        }
        let due = self.last_request_ns.load(Ordering::Relaxed) + HINT_DELAY_NS;
        if time::now_ns() < due {
            return due;
        }
        fs.submit_hints();
        u64::MAX
    }
}
