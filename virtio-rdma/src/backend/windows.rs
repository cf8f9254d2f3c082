//! Allocation of window addresses: where in this guest's physical address space a peer's MR is
//! mapped. One range per peer ([`crate::abi::window_range`]); MRs of 2 MiB or more are placed
//! 2 MiB aligned so the guest can map them with large pages.

use crate::abi::window_range;

const LARGE: u64 = 2 << 20;
const PAGE: u64 = 4096;

/// Free ranges of one peer's window space.
#[derive(Clone, Debug)]
pub struct WindowSpace {
    free: Vec<(u64, u64)>,
}

impl WindowSpace {
    /// The whole window space of `peer`.
    pub fn new(peer: u32) -> WindowSpace {
        WindowSpace {
            free: vec![window_range(peer)],
        }
    }

    /// Takes room for `len` bytes (rounded up to pages).
    pub fn alloc(&mut self, len: u64) -> Option<u64> {
        let len = len.checked_next_multiple_of(PAGE)?;
        let align = if len >= LARGE { LARGE } else { PAGE };
        for i in 0..self.free.len() {
            let (s, e) = self.free[i];
            let at = s.checked_next_multiple_of(align)?;
            let Some(end) = at.checked_add(len) else {
                continue;
            };
            if end > e {
                continue;
            }
            let mut replacement = Vec::with_capacity(2);
            if at > s {
                replacement.push((s, at));
            }
            if end < e {
                replacement.push((end, e));
            }
            self.free.splice(i..=i, replacement);
            return Some(at);
        }
        None
    }

    /// Gives back `[at, at + len)`.
    pub fn free(&mut self, at: u64, len: u64) {
        let Some(len) = len.checked_next_multiple_of(PAGE) else {
            return;
        };
        let pos = self.free.partition_point(|&(s, _)| s < at);
        self.free.insert(pos, (at, at + len));
        // Coalesce neighbours.
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.free.len());
        for &(s, e) in &self.free {
            match merged.last_mut() {
                Some(last) if last.1 == s => last.1 = e,
                _ => merged.push((s, e)),
            }
        }
        self.free = merged;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_regions_are_2mib_aligned_and_space_is_reused() {
        let mut w = WindowSpace::new(3);
        let (base, end) = window_range(3);
        let a = w.alloc(4096).unwrap();
        assert_eq!(a, base);
        let b = w.alloc(4 << 20).unwrap();
        assert_eq!(b % LARGE, 0);
        assert!(b >= a + 4096 && b + (4 << 20) <= end);
        w.free(a, 4096);
        w.free(b, 4 << 20);
        assert_eq!(w.free, vec![(base, end)]);
    }

    #[test]
    fn exhaustion_is_none() {
        let mut w = WindowSpace::new(0);
        assert!(w.alloc(crate::abi::WINDOW_STRIDE + 1).is_none());
        assert!(w.alloc(crate::abi::WINDOW_STRIDE).is_some());
        assert!(w.alloc(1).is_none());
    }
}
