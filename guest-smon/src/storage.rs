//! The storage service: file requests (`lego_proto::fs`) against the filesystem on this
//! sComponent's disk (`lego-fs`). Requests are stateless and served in the dispatcher, one at a
//! time; `lego_fs::serve` does the work. Space reservations (`RESERVE`) are kept per calling
//! component and incarnation: a request from a new incarnation drops the old one's, and so does
//! the caller's failure, noticed while idle.
//!
//! At boot the disk is mounted (recovering from a crash), or formatted if it is blank, with a
//! memory budget (see `memory`). A disk that holds anything else, fails to mount, or whose
//! metadata needs more memory than this sComponent has, is refused and never written: every
//! request is answered "storage corrupted" (or "out of memory") until someone looks at it, the
//! load reports say `STORAGE_REFUSED`, and the console says why, in one line starting
//! `smon: disk refused:`.

extern crate alloc;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use guest_rt::rdma::Device;
use guest_rt::rpc::Rpc;
use guest_rt::service::Service;
use guest_rt::virtio::blk::BlkDevice;
use guest_rt::{println, time};
use lego_fs::{Block, BlockDevice, Client, FormatOptions, Fs, FsError, MAX_CLIENTS, MountOptions};
use lego_proto::fs::{self as proto, errno, status_of};
use spin::Mutex;
use virtio_rdma::abi::peers::PeerState;

use crate::disk::Disk;
use crate::memory;

/// What the sComponent serves.
enum State {
    Mounted(Box<Fs<Disk>>),
    /// Refused (why, and the errno every request gets: `EUCLEAN`, or `ENOMEM` for metadata
    /// larger than this sComponent's memory).
    Refused(String, u32),
}

/// The service.
pub struct Storage {
    state: Arc<Mutex<State>>,
    /// When the last request came (`time::now_ns`).
    last_request_ns: Arc<AtomicU64>,
    /// The fabric device (for the peers' states), once installed.
    dev: Option<&'static Device>,
}

fn blank(dev: &mut Disk) -> Result<bool, FsError> {
    let mut b: Box<Block> = Box::new([0u8; lego_fs::BLOCK_SIZE]);
    dev.read(0, &mut b)?;
    Ok(b.iter().all(|&x| x == 0))
}

/// Why a mount or format failed, for people: what to do about too little memory.
fn refusal(e: FsError, mem: u64, budget: u64) -> String {
    match e {
        FsError::MetadataTooLarge { needed, .. } => alloc::format!(
            "metadata needs {} MiB, this sComponent has {} MiB: restart it with --smon-mem {}M \
             (it has {} MiB of memory)",
            needed.div_ceil(1 << 20),
            budget >> 20,
            memory::mem_for(needed, mem, budget),
            mem >> 20
        ),
        e => alloc::format!("{e}"),
    }
}

/// What requests to a refused disk get.
fn refused_errno(e: FsError) -> u32 {
    match e {
        FsError::MetadataTooLarge { .. } => errno::ENOMEM,
        _ => errno::EUCLEAN,
    }
}

impl Storage {
    /// Mounts (or formats, if blank) the filesystem on `blk`, within `budget` bytes of heap
    /// (`mem`: the component's memory, for the advice when that is not enough). `max_file`
    /// bounds file sizes of a new filesystem.
    pub fn open(blk: BlkDevice, max_file: Option<u64>, mem: u64, budget: u64) -> Storage {
        let mut disk = Disk(blk);
        let mib = (disk.block_count() * lego_fs::BLOCK_SIZE as u64) >> 20;
        let opts = MountOptions { mem_budget: budget };
        let state = match blank(&mut disk) {
            Ok(true) => {
                let mut f = FormatOptions::default();
                if let Some(m) = max_file {
                    f.max_file_size = m;
                }
                match Fs::format_with(disk, f, opts) {
                    Ok(fs) => {
                        println!("smon: formatted a blank {mib} MiB disk");
                        println!(
                            "smon: mounted a new filesystem (max file {} MiB, {} MiB for metadata)",
                            fs.max_file_size() >> 20,
                            budget >> 20
                        );
                        State::Mounted(Box::new(fs))
                    }
                    Err(e) => State::Refused(
                        alloc::format!("formatting failed: {}", refusal(e, mem, budget)),
                        refused_errno(e),
                    ),
                }
            }
            Ok(false) => match Fs::mount_with(disk, opts) {
                Ok(fs) => {
                    let s = fs.statfs();
                    println!(
                        "smon: mounted a {mib} MiB disk: {} of {} blocks free, {} KiB of metadata, \
                         {} inodes, {} of {} KiB of memory",
                        s.free_blocks,
                        s.data_blocks,
                        s.metadata_bytes >> 10,
                        fs.inode_count(),
                        (fs.mem_used() + fs.mem_fixed()) >> 10,
                        budget >> 10
                    );
                    State::Mounted(Box::new(fs))
                }
                Err(e) => State::Refused(refusal(e, mem, budget), refused_errno(e)),
            },
            Err(e) => State::Refused(alloc::format!("cannot read it: {e}"), errno::EUCLEAN),
        };
        if let State::Refused(why, _) = &state {
            guest_rt::service::set_health(lego_proto::mgmt::health::STORAGE_REFUSED);
            println!("smon: disk refused: {why}; it is left untouched and every request fails");
        }
        Storage {
            state: Arc::new(Mutex::new(state)),
            last_request_ns: Arc::new(AtomicU64::new(0)),
            dev: None,
        }
    }
}

/// How long the disk must have been left alone before a commit's confirm block is handed to
/// it on its own (a VM exit). In a stream of requests it goes with the next batch instead, for
/// free: it sits next to the next transaction's journal block, so the host writes both at once.
const HINT_DELAY_NS: u64 = 1_000_000;

/// Drops the reservations of clients that failed or came back as a new incarnation.
fn drop_gone_clients(fs: &mut Fs<Disk>, dev: &Device) {
    let mut gone = [0u32; MAX_CLIENTS];
    let mut n = 0;
    for c in fs.reservation_clients() {
        if dev.peer_state(c.id) == PeerState::Dead || dev.peer_incarnation(c.id) != c.incarnation {
            gone[n] = c.id;
            n += 1;
        }
    }
    for &id in &gone[..n] {
        fs.forget_client(id);
    }
}

impl Service for Storage {
    fn install(&mut self, rpc: &mut Rpc) {
        self.dev = Some(rpc.env());
        for op in proto::OP_BASE..=proto::OP_LAST {
            let state = self.state.clone();
            let last = self.last_request_ns.clone();
            rpc.handle(op, move |ctx, req, reply| {
                last.store(time::now_ns(), Ordering::Relaxed);
                let client = Client {
                    id: ctx.peer,
                    incarnation: ctx.qp.env().peer_incarnation(ctx.peer),
                };
                match &mut *state.lock() {
                    State::Mounted(fs) => {
                        lego_fs::serve::handle_client(fs, client, ctx.opcode, req, reply)
                    }
                    State::Refused(_, e) => Err(status_of(*e)),
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
        if let Some(dev) = self.dev
            && fs.reservation_clients().next().is_some()
        {
            drop_gone_clients(fs, dev);
        }
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
