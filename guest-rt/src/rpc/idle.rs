//! What a waiting CPU does between polls: spin (busy), spin then sleep (adaptive), or sleep
//! (interrupt). Sleeping is safe against lost wake-ups: the sleeping flag goes up in every QPCB,
//! then the rings are checked once more, and senders check the flag after publishing.

use virtio_rdma::abi::PollMode;

use crate::arch::{pause, rdtsc};
use crate::{platform, time};

/// Idle policy state.
#[derive(Debug)]
pub struct Idle {
    pub mode: PollMode,
    spin_ticks: u64,
    last_event: u64,
    /// Times the CPU slept.
    pub sleeps: u64,
}

impl Idle {
    pub fn new(mode: PollMode, spin_ns: u64) -> Idle {
        Idle {
            mode,
            spin_ticks: time::ns_to_ticks(spin_ns),
            last_event: rdtsc(),
            sleeps: 0,
        }
    }

    /// Something happened: restart the spin budget.
    pub fn event(&mut self) {
        self.last_event = rdtsc();
    }

    /// Whether the policy wants to sleep now.
    pub fn should_sleep(&self) -> bool {
        match self.mode {
            PollMode::Busy => false,
            PollMode::Interrupt => true,
            PollMode::Adaptive => rdtsc().saturating_sub(self.last_event) > self.spin_ticks,
        }
    }

    /// Spins once.
    pub fn spin(&self) {
        for _ in 0..16 {
            pause();
        }
    }

    /// Sleeps until an interrupt (a doorbell, the timer at `deadline_tsc`, a peer-table change).
    pub fn sleep(&mut self, deadline_tsc: u64) {
        self.sleeps += 1;
        time::arm_wakeup(deadline_tsc);
        platform::halt_until_interrupt();
    }
}
