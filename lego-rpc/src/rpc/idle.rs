//! What a waiting CPU does between polls: spin (busy), spin then sleep (adaptive), or sleep
//! (interrupt). Sleeping is safe against lost wake-ups: the sleeping flag goes up in every QPCB,
//! then the rings are checked once more, and senders check the flag after publishing.
//!
//! Adaptive idling stops polling where it does not pay: each idle gap (from the last event to
//! the next, when the component had nothing else to do in between) longer than the budget
//! lowers a small score, each shorter one raises it, and at zero an idle component sleeps at
//! once. A component whose requests come further apart than its budget (an sComponent serving
//! one fsync every few hundred µs) then leaves its core to those that have work (on two cores,
//! the spinning took the core the waking client needed); one short gap brings the polling back.

use virtio_rdma::abi::PollMode;

use crate::env::Env;

/// Idle policy state.
#[derive(Debug)]
pub struct Idle {
    pub mode: PollMode,
    spin_ns: u64,
    last_event: u64,
    /// Whether the component idled (nothing to do) since `last_event`.
    idled: bool,
    /// Recent idle gaps: up for one within the budget, down for one beyond it.
    score: u8,
    /// Times the CPU slept.
    pub sleeps: u64,
}

/// The score's ceiling: so many long gaps in a row stop the idle polling.
const SCORE_MAX: u8 = 8;

impl Idle {
    pub fn new(mode: PollMode, spin_ns: u64, now_ns: u64) -> Idle {
        Idle {
            mode,
            spin_ns,
            last_event: now_ns,
            idled: false,
            score: SCORE_MAX,
            sleeps: 0,
        }
    }

    /// Something happened at `now_ns`: restart the spin budget, and score the idle gap that
    /// ended, if there was one.
    pub fn event(&mut self, now_ns: u64) {
        if self.idled {
            self.idled = false;
            let gap = now_ns.saturating_sub(self.last_event);
            self.score = if gap <= self.spin_ns {
                (self.score + 1).min(SCORE_MAX)
            } else {
                self.score.saturating_sub(1)
            };
        }
        self.last_event = now_ns;
    }

    /// The component has nothing to do: the budget to poll for before sleeping (0 once idle
    /// gaps have been longer than the budget [`SCORE_MAX`] times more than shorter).
    pub fn idle_spin_ns(&mut self) -> u64 {
        self.idled = true;
        if self.score == 0 { 0 } else { self.spin_ns }
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
        assert!(!i.should_sleep(1040, 50));
        assert!(i.should_sleep(1060, 50));
        // A caller waiting for a reply may poll longer than the idle budget.
        assert!(!i.should_sleep(1060, 400));
        assert!(i.should_sleep(1401, 400));
        i.event(1401);
        assert!(!i.should_sleep(1440, 50));
    }

    #[test]
    fn idle_polling_stops_after_long_gaps_and_returns_after_a_short_one() {
        let mut i = Idle::new(PollMode::Adaptive, 50, 0);
        let mut now = 0;
        // Requests 300 apart, idle in between: the budget holds for SCORE_MAX gaps, then goes.
        for k in 0..SCORE_MAX {
            assert_eq!(i.idle_spin_ns(), 50, "gap {k}");
            now += 300;
            i.event(now);
        }
        assert_eq!(i.idle_spin_ns(), 0);
        assert!(i.should_sleep(now + 1, 0));
        // Once a gap has ended, events while busy (no idling in between) do not count.
        i.event(now + 1000);
        i.event(now + 2000);
        now += 2000;
        assert_eq!(i.idle_spin_ns(), 0);
        // One idle gap within the budget brings polling back.
        now += 20;
        i.event(now);
        assert_eq!(i.idle_spin_ns(), 50);
        now += 30;
        i.event(now);
        assert_eq!(i.score, 2);
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
