//! Victim choice within a set, by [`Policy`].
//!
//! FIFO and LRU both take the head of the set's order list (O(1)): the lists differ only in
//! when a line moves to the tail (at fill and rescue for both, at every touch for LRU).
//! Random probes up to [`PROBES`] uniformly random ways and takes the first valid one; if all
//! probes miss (a set mostly busy or free) it falls back to the oldest valid line, so the
//! choice is O(1) even in a fully associative cache, where counting the valid lines to pick
//! one uniformly would be O(ways).

use crate::config::Policy;
use crate::setmap::mix64;
use crate::slots::{Slots, St};

/// Random ways probed before falling back to the oldest line.
pub const PROBES: u32 = 4;

/// The xorshift64 generator of [`Policy::Random`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value: the state is a mix of it, never 0).
    pub const fn new(seed: u64) -> Rng {
        let x = mix64(seed ^ 0x9E37_79B9_7F4A_7C15);
        Rng(if x == 0 { 0x9E37_79B9_7F4A_7C15 } else { x })
    }

    /// The next value (Marsaglia's xorshift64, shifts 13/7/17).
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// The next victim of `set` (`ways` ways), or `None` if it has no valid line.
pub(crate) fn choose(
    slots: &Slots,
    policy: Policy,
    rng: &mut Rng,
    set: u32,
    ways: u32,
) -> Option<u32> {
    if slots.set(set).nvalid == 0 {
        return None;
    }
    if let Policy::Random { .. } = policy {
        for _ in 0..PROBES {
            let s = set * ways + (rng.next_u64() % u64::from(ways)) as u32;
            if slots.st(s) == St::Valid {
                return Some(s);
            }
        }
    }
    slots.order_head(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_gives_a_live_generator() {
        for seed in [0u64, 1, u64::MAX, 0x9E37_79B9_7F4A_7C15] {
            let mut r = Rng::new(seed);
            let a = r.next_u64();
            assert_ne!(a, 0);
            assert_ne!(r.next_u64(), a);
        }
        assert_ne!(Rng::new(1), Rng::new(2));
    }
}
