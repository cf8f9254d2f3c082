//! A monitor's fabric service: after the ready report, bring up the fabric device, register the
//! standard handlers, connect to the peers named on the command line (`rpc_peers=1,2`), run a
//! self-test if asked (`selftest=...`), then serve requests forever.

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;

use lego_abi::boot::BootInfo;
use lego_rpc::rpc::Deferred;
use lego_rpc::{Env, FabricError};
use spin::Mutex;

use crate::mm::MemoryInfo;
use crate::rdma;
use crate::rpc::Rpc;
use crate::{platform, println, selftest};

mod handlers;
mod report;

use report::Reporter;
pub use report::{set_health, set_mem_free, set_threads};
pub mod regions;

/// A monitor's own part of the fabric service.
pub trait Service: Send {
    /// Registers the monitor's request handlers.
    fn install(&mut self, rpc: &mut Rpc);
    /// Answers a request one of its handlers deferred (`lego_rpc::rpc::DEFER`): handlers that
    /// must call other components do their work here, outside the dispatcher. Long work should
    /// call [`heartbeat`] now and then.
    fn deferred(&mut self, rpc: &mut Rpc, d: Deferred) {
        rpc.reply(d, Err(lego_proto::rpc::status::FAILED));
    }
    /// Called whenever the monitor has nothing to answer, before it idles: background work
    /// that should not delay a reply goes here. Returns when (`time::now_ns`) it wants to be
    /// called again even if no request comes (`u64::MAX`: not before one). Must be cheap when
    /// there is nothing to do (it runs in the polling loop).
    fn idle(&mut self) -> u64 {
        u64::MAX
    }
    /// Runs the monitor's own work that needs the fabric (a pComponent's user programs) until
    /// it must let the loop poll again. Returns when it wants to run next (`time::now_ns`; 0:
    /// at once; `u64::MAX`: not before a request comes).
    fn run(&mut self, _rpc: &mut Rpc) -> u64 {
        u64::MAX
    }
}

/// The load reporter, shared with [`heartbeat`].
static REPORTER: Mutex<Option<Reporter>> = Mutex::new(None);

/// Runs the periodic duties (reconnecting to failed peers) if due, and lets the engine send its
/// heartbeat: monitors call it during long work.
pub fn heartbeat(rpc: &mut Rpc) {
    // try_lock: a report already being sent (the call below polls, which may run deferred
    // work that calls back here) is enough.
    if let Some(mut r) = REPORTER.try_lock()
        && let Some(r) = r.as_mut()
    {
        r.tick(rpc);
    }
    rpc.poll_heartbeat();
}

/// When the next duty is due.
fn next_duty_ns(rpc: &Rpc) -> u64 {
    REPORTER
        .lock()
        .as_ref()
        .map_or(u64::MAX, |r| r.next_ns)
        .min(rpc.next_beat_ns())
}

/// How long connecting to the named peers may take.
const CONNECT_TIMEOUT_NS: u64 = 30_000_000_000;

/// Parses a comma-separated list of component ids.
fn ids(s: Option<&str>) -> Vec<u32> {
    s.map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default()
}

fn idle() -> ! {
    loop {
        platform::halt_until_interrupt();
    }
}

/// The boot CPU's life after ready.
pub fn run(bi: &'static BootInfo, memory: &MemoryInfo, mut service: Option<Box<dyn Service>>) -> ! {
    let dev = match rdma::init(bi) {
        Ok(d) => d,
        Err(FabricError::NoDevice) => idle(),
        Err(e) => {
            println!("fabric: device failed: {e:?}");
            idle()
        }
    };
    println!(
        "fabric: component {}, {} polling, spin {} us, network model {} ns / {} Mbit/s",
        dev.id(),
        dev.poll_mode().name(),
        dev.config().spin_ns / 1000,
        dev.model().latency_ns,
        dev.model().bandwidth_mbps
    );
    let mut rpc = match Rpc::new(dev) {
        Ok(r) => r,
        Err(e) => {
            println!("fabric: cannot set up RPC: {e:?}");
            idle()
        }
    };
    handlers::install(&mut rpc);
    if let Some(s) = service.as_mut() {
        s.install(&mut rpc);
    }
    if bi.cmdline_value("test_regions") == Some("1") {
        match regions::register(dev) {
            Ok(()) => println!("fabric: test regions registered"),
            Err(e) => println!("fabric: test regions failed: {e:?}"),
        }
    }
    let peers = ids(bi.cmdline_value("rpc_peers"));
    let manager = bi
        .cmdline_value("manager")
        .and_then(|s| s.parse::<u32>().ok());
    if let Some(name) = bi.cmdline_value("selftest") {
        // Self-tests start once every named peer is connected.
        match rpc.connect_all(&peers, CONNECT_TIMEOUT_NS) {
            Ok(()) => println!("fabric: connected to {peers:?}"),
            Err((p, e)) => println!("fabric: connecting to {p} failed: {e:?}"),
        }
        selftest::run(name, bi, &mut rpc);
    }
    let mut all = peers.clone();
    all.extend(manager);
    if let Err((p, e)) = rpc.connect_async(&all) {
        println!("fabric: cannot prepare a connection to {p}: {e:?}");
    }
    *REPORTER.lock() = Some(Reporter::new(&mut rpc, bi, memory, manager, all.clone()));
    // Testing aid: `debug_hang_ms=N` makes the monitor hang (interrupts off, no more reports)
    // N ms after it starts serving, to exercise the managers' hang detection.
    let hang_at = bi
        .cmdline_value("debug_hang_ms")
        .and_then(|v| v.parse::<u64>().ok())
        .map(|ms| crate::time::now_ns() + ms * 1_000_000);
    loop {
        if hang_at.is_some_and(|t| crate::time::now_ns() > t) {
            println!("debug: hanging on purpose (debug_hang_ms)");
            let _ = platform::irq_save();
            loop {
                crate::arch::pause();
            }
        }
        rpc.poll();
        while let Some(d) = rpc.take_deferred() {
            match service.as_mut() {
                Some(s) => s.deferred(&mut rpc, d),
                None => rpc.reply(d, Err(lego_proto::rpc::status::FAILED)),
            }
        }
        heartbeat(&mut rpc);
        let again = service.as_mut().map_or(u64::MAX, |s| s.run(&mut rpc));
        if !rpc.has_deferred() && again > crate::time::now_ns() {
            let wanted = service.as_mut().map_or(u64::MAX, |s| s.idle());
            rpc.idle_until(next_duty_ns(&rpc).min(wanted).min(again));
        }
    }
}
