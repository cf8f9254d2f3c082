//! Bringing up the other vCPUs. The VMM starts every vCPU at `_start` at once, each with its own
//! stack and index (no INIT/SIPI); the boot CPU publishes its progress in stages and the others
//! wait for the stage they need.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::arch::{pause, rdtsc};
use crate::time;

/// Boot CPU progress.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Nothing yet.
    Start = 0,
    /// The platform is detected and the #GP gate is loaded: CPUs may register their VIF.
    PlatformKnown = 1,
    /// IDT, heap and console are ready: CPUs may finish their bring-up.
    SharedReady = 2,
}

static STAGE: AtomicU32 = AtomicU32::new(Stage::Start as u32);
static ONLINE: AtomicU64 = AtomicU64::new(0);

/// Publishes a stage (boot CPU).
pub fn advance(s: Stage) {
    STAGE.store(s as u32, Ordering::Release);
}

/// Waits until the boot CPU reached `s`.
pub fn wait_for(s: Stage) {
    while STAGE.load(Ordering::Acquire) < s as u32 {
        pause();
    }
}

/// Marks `cpu` online.
pub fn mark_online(cpu: usize) {
    ONLINE.fetch_or(1 << cpu, Ordering::AcqRel);
}

/// Bit `i` set: CPU `i` is online.
pub fn online_mask() -> u64 {
    ONLINE.load(Ordering::Acquire)
}

/// Waits until `count` CPUs are online or `timeout_ns` passed; returns the online mask.
pub fn wait_all_online(count: u32, timeout_ns: u64) -> u64 {
    let want = if count >= 64 {
        u64::MAX
    } else {
        (1u64 << count) - 1
    };
    let give_up = rdtsc() + time::ns_to_ticks(timeout_ns);
    loop {
        let m = online_mask();
        if m & want == want || rdtsc() > give_up {
            return m;
        }
        pause();
    }
}
