//! What a waiting CPU does between polls: spin (busy), spin then sleep (adaptive), or sleep
//! (interrupt). Sleeping is safe against lost wake-ups: the sleeping flag goes up in every QPCB,
//! then the rings are checked once more, and senders check the flag after publishing.

use virtio_rdma::abi::PollMode;

use crate::env::Env;

/// Idle policy state.
#[derive(Debug)]
pub struct Idle {
    pub mode: PollMode,
    spin_ns: u64,
    last_event: u64,
    /// Times the CPU slept.
    pub sleeps: u64,
}

impl Idle {
    pub fn new(mode: PollMode, spin_ns: u64, now_ns: u64) -> Idle {
        Idle {
            mode,
            spin_ns,
            last_event: now_ns,
            sleeps: 0,
        }
    }

    /// Something happened at `now_ns`: restart the spin budget.
    pub fn event(&mut self, now_ns: u64) {
        self.last_event = now_ns;
    }

    /// Whether the policy wants to sleep at `now_ns`, polling for up to `spin_ns` after the
    /// last event (adaptive).
    pub fn should_sleep(&self, now_ns: u64, spin_ns: u64) -> bool {
        match self.mode {
            PollMode::Busy => false,
            PollMode::Interrupt => true,
            PollMode::Adaptive => now_ns.saturating_sub(self.last_event) > spin_ns,
        }
    }

    /// The idle polling budget.
    pub fn spin_ns(&self) -> u64 {
        self.spin_ns
    }

    /// Spins once.
    pub fn spin<E: Env>(&self, env: &E) {
        for _ in 0..16 {
            env.relax();
        }
    }

    /// Sleeps until a doorbell, a fabric event, or `deadline_ns`.
    pub fn sleep<E: Env>(&mut self, env: &E, deadline_ns: u64) {
        self.sleeps += 1;
        env.sleep_until(deadline_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adaptive_polls_for_the_budget_it_is_given() {
        let mut i = Idle::new(PollMode::Adaptive, 50, 1000);
        assert!(!i.should_sleep(1040, i.spin_ns()));
        assert!(i.should_sleep(1060, i.spin_ns()));
        // A caller waiting for a reply may poll longer than the idle budget.
        assert!(!i.should_sleep(1060, 400));
        assert!(i.should_sleep(1401, 400));
        i.event(1401);
        assert!(!i.should_sleep(1440, i.spin_ns()));
    }

    #[test]
    fn busy_never_sleeps_and_interrupt_always_does() {
        let b = Idle::new(PollMode::Busy, 50, 0);
        let n = Idle::new(PollMode::Interrupt, 50, 0);
        for now in [0, 49, 51, 1_000_000] {
            assert!(!b.should_sleep(now, 50));
            assert!(n.should_sleep(now, 50));
        }
    }
}
