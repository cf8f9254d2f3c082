//! What a waiting CPU does between polls: spin (busy), spin then sleep (adaptive), or sleep
//! (interrupt). Sleeping is safe against lost wake-ups: the sleeping flag goes up in every QPCB,
//! then the rings are checked once more, and senders check the flag after publishing.
//!
//! Adaptive idling stops polling where it does not pay: each idle gap (from when the component
//! ran out of work to when it next saw some) longer than the budget lowers a small score, each shorter one raises it, and at zero an idle component sleeps at
//! once. A component whose requests come further apart than its budget (an sComponent serving
//! one fsync every few hundred µs) then leaves its core to those that have work (on two cores,
//! the spinning took the core the waking client needed); one short gap brings the polling back.
//! A gap that ends in a sleep is measured up to the wake-up, which on PVM alone can exceed the
//! budget, so a sleeping component would never see a short gap again: every [`PROBE_EVERY`]th
//! idle period at score zero polls for the budget anyway, to find out.

use virtio_rdma::abi::PollMode;

use crate::env::Env;

/// Idle policy state.
#[derive(Debug)]
pub struct Idle {
    pub mode: PollMode,
    spin_ns: u64,
    last_event: u64,
    /// Whether the component idled (nothing to do) since `last_event`, and since when (the
    /// first idle call after it).
    idled: bool,
    idle_since: u64,
    /// Recent idle gaps: up for one within the budget, down for one beyond it.
    score: u8,
    /// Idle periods at score zero since the last probe.
    since_probe: u8,
    /// Times the CPU slept.
    pub sleeps: u64,
}

/// The score's ceiling: so many long gaps in a row stop the idle polling.
const SCORE_MAX: u8 = 8;

/// At score zero, one idle period in so many polls for the budget all the same.
pub const PROBE_EVERY: u8 = 8;

impl Idle {
    pub fn new(mode: PollMode, spin_ns: u64, now_ns: u64) -> Idle {
        Idle {
            mode,
            spin_ns,
            last_event: now_ns,
            idled: false,
            idle_since: now_ns,
            score: SCORE_MAX,
            since_probe: 0,
            sleeps: 0,
        }
    }

    /// Work was found at `seen_ns` and handled by `now_ns`: restart the spin budget, and score
    /// the idle gap that ended at `seen_ns`, if there was one. (The gap runs from when the
    /// component found nothing to do to when work was seen, not to when it was done: an
    /// sComponent's request takes a disk access, longer than any budget.)
    pub fn event(&mut self, seen_ns: u64, now_ns: u64) {
        if self.idled {
            self.idled = false;
            if self.since_probe >= PROBE_EVERY {
                self.since_probe = 0;
            }
            let gap = seen_ns.saturating_sub(self.idle_since);
            self.score = if gap <= self.spin_ns {
                (self.score + 1).min(SCORE_MAX)
            } else {
                self.score.saturating_sub(1)
            };
        }
        self.last_event = now_ns;
    }

    /// The component has nothing to do at `now_ns`: the budget to poll for before sleeping (0
    /// once idle gaps have been longer than the budget [`SCORE_MAX`] times more than shorter,
    /// but for one probe in [`PROBE_EVERY`]).
    pub fn idle_spin_ns(&mut self, now_ns: u64) -> u64 {
        // Called again and again while idle: the first call starts the idle period.
        if !self.idled {
            self.idled = true;
            self.idle_since = now_ns;
            if self.score == 0 {
                self.since_probe += 1;
            }
        }
        if self.score > 0 {
            return self.spin_ns;
        }
        if self.since_probe >= PROBE_EVERY {
            self.spin_ns
        } else {
            0
        }
    }

    /// Whether idle gaps matter (adaptive idling): callers need not time work otherwise.
    pub fn scores_gaps(&self) -> bool {
        self.mode == PollMode::Adaptive
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

    /// One request: seen after `gap` idle, handled in `work`. Returns the idle budget the
    /// component had before it.
    fn request(i: &mut Idle, now: &mut u64, gap: u64, work: u64) -> u64 {
        let spin = i.idle_spin_ns(*now);
        *now += gap;
        let seen = *now;
        *now += work;
        i.event(seen, *now);
        spin
    }

    #[test]
    fn adaptive_polls_for_the_budget_it_is_given() {
        let mut i = Idle::new(PollMode::Adaptive, 50, 1000);
        assert!(!i.should_sleep(1040, 50));
        assert!(i.should_sleep(1060, 50));
        // A caller waiting for a reply may poll longer than the idle budget.
        assert!(!i.should_sleep(1060, 400));
        assert!(i.should_sleep(1401, 400));
        // The budget runs from the end of the work, however long it took.
        i.event(1401, 1500);
        assert!(!i.should_sleep(1540, 50));
        assert!(i.should_sleep(1551, 50));
    }

    #[test]
    fn idle_polling_stops_after_long_gaps_and_returns_after_a_short_one() {
        let mut i = Idle::new(PollMode::Adaptive, 50, 0);
        let mut now = 0;
        // Requests 300 apart, idle in between: the budget holds for SCORE_MAX gaps, then goes.
        for k in 0..SCORE_MAX {
            assert_eq!(request(&mut i, &mut now, 300, 5), 50, "gap {k}");
        }
        assert_eq!(i.idle_spin_ns(now), 0);
        assert!(i.should_sleep(now + 1, 0));
        // Once a gap has ended, events while busy (no idling in between) do not count.
        now += 300;
        i.event(now, now + 1000);
        i.event(now + 1000, now + 2000);
        now += 2000;
        assert_eq!(i.score, 0);
        // One idle gap within the budget brings polling back.
        assert_eq!(request(&mut i, &mut now, 20, 5), 0);
        assert_eq!(request(&mut i, &mut now, 30, 5), 50);
        assert_eq!(i.score, 2);
    }

    #[test]
    fn the_work_that_ends_a_gap_is_not_part_of_it() {
        // An sComponent: each request takes 80 (a disk access), the next comes 5 later.
        let mut i = Idle::new(PollMode::Adaptive, 50, 0);
        let mut now = 0;
        for _ in 0..4 * SCORE_MAX {
            assert_eq!(request(&mut i, &mut now, 5, 80), 50);
        }
        assert_eq!(i.score, SCORE_MAX);
    }

    #[test]
    fn a_sleeping_component_probes_and_polling_returns_when_gaps_shrink() {
        let mut i = Idle::new(PollMode::Adaptive, 50, 0);
        let mut now = 0;
        for _ in 0..SCORE_MAX {
            request(&mut i, &mut now, 300, 5);
        }
        // Gaps stay long: no polling but one idle period in PROBE_EVERY, however often the
        // idle loop asks within a period.
        let mut probes = 0;
        for _ in 0..u32::from(PROBE_EVERY) * 4 {
            let spin = i.idle_spin_ns(now);
            assert_eq!(i.idle_spin_ns(now + 10), spin, "one answer per idle period");
            if spin > 0 {
                probes += 1;
            }
            request(&mut i, &mut now, 300, 5);
        }
        assert_eq!(probes, 4);
        assert_eq!(i.score, 0);
        // Requests now come 5 after the last one is done: seen 60 later by a component that
        // went to sleep at once (more than the budget: wake-ups are slow), 5 later by one that
        // polls. A probe finds the short gap, and the polling stays.
        let mut polled = 0;
        for _ in 0..PROBE_EVERY * 2 {
            let spin = i.idle_spin_ns(now);
            if spin > 0 {
                polled += 1;
            }
            request(&mut i, &mut now, if spin > 0 { 5 } else { 60 }, 5);
        }
        assert!(i.score > 1, "score {}", i.score);
        assert!(polled > PROBE_EVERY, "{polled}");
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
