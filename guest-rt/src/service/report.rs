//! The monitor's periodic duties: its load report to the managers (also its heartbeat), and
//! reconnecting to peers that failed, once their next incarnation is up.

extern crate alloc;

use alloc::vec::Vec;

use lego_abi::boot::BootInfo;
use lego_proto::mgmt::{LoadReport, REPORT_INTERVAL_NS};

/// How often to look for the managers' connection before the first report.
const FIRST_REPORT_RETRY_NS: u64 = 1_000_000;
use lego_proto::op;
use zerocopy::IntoBytes;

use crate::mm::{FRAMES, MemoryInfo};
use crate::println;
use crate::rpc::Rpc;
use crate::time;

/// Report state.
#[derive(Debug)]
pub struct Reporter {
    manager: Option<u32>,
    /// When the next tick is due (ns).
    pub next_ns: u64,
    base: LoadReport,
    started_ns: u64,
    connected_to_manager: bool,
}

impl Reporter {
    pub fn new(bi: &BootInfo, memory: &MemoryInfo, manager: Option<u32>) -> Reporter {
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
        let now = time::now_ns();
        Reporter {
            manager,
            next_ns: now,
            base,
            started_ns: now,
            connected_to_manager: false,
        }
    }

    /// Runs the duties that are due.
    pub fn tick(&mut self, rpc: &mut Rpc, peers: &[u32]) {
        let now = time::now_ns();
        if now < self.next_ns {
            return;
        }
        self.next_ns = now + REPORT_INTERVAL_NS;
        // A peer that failed: drop the connection and wait for its next incarnation.
        let failed: Vec<u32> = rpc.failed_peers();
        for p in failed {
            rpc.disconnect(p);
            if peers.contains(&p) {
                let _ = rpc.connect_async(&[p]);
            }
        }
        let Some(m) = self.manager else { return };
        if !rpc.connected(m) {
            // The first report is what makes the component `ready`: look again soon rather
            // than a whole interval later.
            self.next_ns = now + FIRST_REPORT_RETRY_NS;
            return;
        }
        if !self.connected_to_manager {
            self.connected_to_manager = true;
            println!("fabric: reporting to the managers (component {m})");
        }
        let stats = rpc.stats();
        let mut r = self.base;
        r.mem_free = FRAMES.lock().free_bytes();
        r.served = stats.served;
        r.calls = stats.calls;
        r.uptime_ns = now - self.started_ns;
        let saved = rpc.timeout_ns;
        rpc.timeout_ns = 200_000_000;
        let _ = rpc.call(m, op::LOAD_REPORT, r.as_bytes(), &mut [0u8; 4]);
        rpc.timeout_ns = saved;
    }
}
