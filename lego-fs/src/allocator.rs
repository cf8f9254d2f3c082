//! The data-block allocator: an in-memory bitmap over the data area, rebuilt at mount from the
//! files' extents (so it is never written to disk and can never leak blocks after a crash).
//!
//! Crash safety hinges on *when* a block may be reused. Data is copy-on-write, so a block freed
//! by an uncommitted operation may still be referenced by the last committed metadata, and
//! overwriting it before the freeing transaction is durable would let recovery see foreign
//! bytes. Such blocks wait in `pending_free` until [`Allocator::commit`]. Blocks allocated since
//! the last commit ("fresh") were never referenced by durable metadata and are reusable at once.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{BAD_META, Result};

#[derive(Debug)]
pub(crate) struct Allocator {
    base: u64,
    len: u64,
    used: Vec<u64>,
    fresh: Vec<u64>,
    fresh_list: Vec<u64>,
    pending_free: Vec<u64>,
    free: u64,
    cursor: u64,
}

impl Allocator {
    /// An allocator for blocks `base..base + len`, all free.
    pub fn new(base: u64, len: u64) -> Self {
        let words = len.div_ceil(64) as usize;
        Allocator {
            base,
            len,
            used: vec![0; words],
            fresh: vec![0; words],
            fresh_list: Vec::new(),
            pending_free: Vec::new(),
            free: len,
            cursor: 0,
        }
    }

    fn idx(&self, block: u64) -> Option<u64> {
        block.checked_sub(self.base).filter(|i| *i < self.len)
    }

    fn bit(v: &[u64], i: u64) -> bool {
        v[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    fn set(v: &mut [u64], i: u64, on: bool) {
        let w = &mut v[(i / 64) as usize];
        if on {
            *w |= 1 << (i % 64);
        } else {
            *w &= !(1 << (i % 64));
        }
    }

    /// Marks `start..start + count` as referenced by loaded metadata. A block outside the data
    /// area or owned twice means the metadata is impossible.
    pub fn mark_used(&mut self, start: u64, count: u64) -> Result<()> {
        for b in start..start.checked_add(count).ok_or(BAD_META)? {
            let i = self.idx(b).ok_or(BAD_META)?;
            if Self::bit(&self.used, i) {
                return Err(BAD_META);
            }
            Self::set(&mut self.used, i, true);
            self.free -= 1;
        }
        Ok(())
    }

    /// Free blocks available right now.
    pub fn free_blocks(&self) -> u64 {
        self.free
    }

    /// Blocks that become free at the next commit.
    pub fn pending_free_blocks(&self) -> u64 {
        self.pending_free.len() as u64
    }

    /// Allocates one block, preferring the one after the previous allocation so that
    /// sequential writes land in contiguous extents.
    pub fn alloc(&mut self) -> Option<u64> {
        if self.free == 0 {
            return None;
        }
        let words = self.used.len();
        let start_word = (self.cursor / 64) as usize % words;
        for k in 0..=words {
            let w = (start_word + k) % words;
            // On the first word, ignore bits below the cursor so allocation keeps moving forward.
            let mask = if k == 0 {
                !0u64 << (self.cursor % 64)
            } else {
                !0
            };
            let avail = !self.used[w] & mask;
            if avail == 0 {
                continue;
            }
            let i = w as u64 * 64 + u64::from(avail.trailing_zeros());
            if i >= self.len {
                continue;
            }
            Self::set(&mut self.used, i, true);
            Self::set(&mut self.fresh, i, true);
            self.fresh_list.push(i);
            self.free -= 1;
            self.cursor = if i + 1 >= self.len { 0 } else { i + 1 };
            return Some(self.base + i);
        }
        None
    }

    /// Releases blocks a file no longer references: at once if they are fresh, else at commit.
    pub fn release(&mut self, start: u64, count: u64) {
        for b in start..start.saturating_add(count) {
            let Some(i) = self.idx(b) else { continue };
            if !Self::bit(&self.used, i) {
                continue;
            }
            if Self::bit(&self.fresh, i) {
                Self::set(&mut self.fresh, i, false);
                Self::set(&mut self.used, i, false);
                self.free += 1;
            } else {
                self.pending_free.push(i);
            }
        }
    }

    /// The last transaction is durable: deferred frees become reusable and nothing is fresh.
    pub fn commit(&mut self) {
        for i in core::mem::take(&mut self.pending_free) {
            if Self::bit(&self.used, i) {
                Self::set(&mut self.used, i, false);
                self.free += 1;
            }
        }
        for i in core::mem::take(&mut self.fresh_list) {
            Self::set(&mut self.fresh, i, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_allocation_is_contiguous() {
        let mut a = Allocator::new(100, 130);
        let got: Vec<u64> = (0..130).map(|_| a.alloc().unwrap()).collect();
        assert_eq!(got, (100..230).collect::<Vec<_>>());
        assert_eq!(a.alloc(), None);
        assert_eq!(a.free_blocks(), 0);
    }

    #[test]
    fn fresh_blocks_free_at_once_committed_blocks_wait() {
        let mut a = Allocator::new(0, 10);
        let x = a.alloc().unwrap();
        a.release(x, 1);
        assert_eq!(a.free_blocks(), 10, "fresh block reusable immediately");
        let y = a.alloc().unwrap();
        a.commit();
        a.release(y, 1);
        assert_eq!(a.free_blocks(), 9, "committed block is not reusable yet");
        assert_eq!(a.pending_free_blocks(), 1);
        for _ in 0..9 {
            assert_ne!(a.alloc(), Some(y));
        }
        assert_eq!(a.alloc(), None);
        a.commit();
        assert_eq!(a.alloc(), Some(y));
    }

    #[test]
    fn wraps_around_to_find_free_blocks() {
        let mut a = Allocator::new(0, 200);
        for _ in 0..200 {
            a.alloc().unwrap();
        }
        a.commit();
        a.release(3, 1);
        a.release(150, 2);
        a.commit();
        let mut got = [a.alloc(), a.alloc(), a.alloc()];
        got.sort();
        assert_eq!(got, [Some(3), Some(150), Some(151)]);
    }

    #[test]
    fn mark_used_rejects_double_and_out_of_range() {
        let mut a = Allocator::new(10, 10);
        a.mark_used(10, 3).unwrap();
        assert_eq!(a.free_blocks(), 7);
        assert_eq!(a.mark_used(12, 1), Err(BAD_META));
        assert_eq!(a.mark_used(19, 2), Err(BAD_META));
        assert_eq!(a.mark_used(5, 1), Err(BAD_META));
        assert_eq!(a.mark_used(u64::MAX, 2), Err(BAD_META));
    }
}
