//! The monitor's periodic duties: its load report to the managers (also its heartbeat), sent
//! by the RPC engine itself so it keeps going while the monitor waits on a slow peer; and
//! reconnecting to peers that failed, once their next incarnation is up.

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use lego_abi::boot::BootInfo;
use lego_proto::mgmt::{LoadReport, REPORT_INTERVAL_NS};
use lego_proto::op;
use zerocopy::IntoBytes;

use crate::mm::{FRAMES, MemoryInfo};
use crate::println;
use crate::rpc::Rpc;
use crate::time;

/// Report state.
#[derive(Debug)]
pub struct Reporter {
    /// When the next tick is due (ns).
    pub next_ns: u64,
    /// The peers to reconnect to after they fail.
    peers: Vec<u32>,
}

/// What the next reports say of the monitor's health (`lego_proto::mgmt::health`).
static HEALTH: AtomicU32 = AtomicU32::new(lego_proto::mgmt::health::OK);
/// Free memory the next reports give, if the monitor keeps its own pool (mComponents: the
/// frames for vRegions); `u64::MAX`: the runtime's free frames.
static MEM_FREE: AtomicU64 = AtomicU64::new(u64::MAX);
/// User threads the next reports count (pComponents).
static THREADS: AtomicU32 = AtomicU32::new(0);

/// Sets what the load reports say of the monitor's health (`lego_proto::mgmt::health`).
pub fn set_health(h: u32) {
    HEALTH.store(h, Ordering::Relaxed);
}

/// Sets the free memory the load reports give (a monitor with a pool of its own).
pub fn set_mem_free(bytes: u64) {
    MEM_FREE.store(bytes, Ordering::Relaxed);
}

/// Sets how many user threads the load reports count.
pub fn set_threads(n: u32) {
    THREADS.store(n, Ordering::Relaxed);
}

impl Reporter {
    /// Starts the load reports to `manager` (if any) on `rpc`'s heartbeat.
    pub fn new(
        rpc: &mut Rpc,
        bi: &BootInfo,
        memory: &MemoryInfo,
        manager: Option<u32>,
        peers: Vec<u32>,
    ) -> Reporter {
        if let Some(m) = manager {
            let base = LoadReport {
                version: lego_proto::VERSION,
                role: bi.role() as u32,
                cpus: bi.cpu_count(),
                mem_total: bi.mem_bytes(),
                mem_free: memory.free_bytes,
                incarnation: bi
                    .cmdline_value("incarnation")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
                ..Default::default()
            };
            let started = time::now_ns();
            let mut first = true;
            let build = Box::new(move |stats: &crate::rpc::RpcStats, out: &mut [u8]| {
                if first {
                    first = false;
                    println!("fabric: reporting to the managers (component {m})");
                }
                let mut r = base;
                r.mem_free = match MEM_FREE.load(Ordering::Relaxed) {
                    u64::MAX => FRAMES.lock().free_bytes(),
                    own => own,
                };
                r.health = HEALTH.load(Ordering::Relaxed);
                r.threads = THREADS.load(Ordering::Relaxed);
                r.served = stats.served;
                r.calls = stats.calls;
                r.serve_ns = stats.serve_ns;
                r.call_ns = stats.call_ns;
                r.sleeps = stats.sleeps;
                r.uptime_ns = time::now_ns() - started;
                let b = r.as_bytes();
                out[..b.len()].copy_from_slice(b);
                b.len()
            });
            if let Err(e) = rpc.set_heartbeat(m, op::LOAD_REPORT, REPORT_INTERVAL_NS, build) {
                println!("fabric: cannot report to the managers: {e:?}");
            }
        }
        Reporter {
            next_ns: time::now_ns(),
            peers,
        }
    }

    /// Runs the duties that are due.
    pub fn tick(&mut self, rpc: &mut Rpc) {
        let now = time::now_ns();
        if now < self.next_ns {
            return;
        }
        self.next_ns = now + REPORT_INTERVAL_NS;
        // A peer that failed: drop the connection and wait for its next incarnation.
        let failed: Vec<u32> = rpc.failed_peers();
        for p in failed {
            rpc.disconnect(p);
            if self.peers.contains(&p) {
                let _ = rpc.connect_async(&[p]);
            }
        }
    }
}
