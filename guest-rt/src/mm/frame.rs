//! The page-frame allocator: a sorted, coalesced list of free physical ranges with first-fit
//! allocation. Fixed capacity, so it works before (and without) the heap.

/// Bytes per frame.
pub const FRAME_SIZE: u64 = 4096;
/// Most disjoint free ranges tracked.
pub const MAX_RANGES: usize = 128;

/// A half-open range of physical bytes `[start, end)`, frame aligned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl FrameRange {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Why a range could not be given back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Part of the range is already free (double free, or overlapping regions).
    Overlap,
    /// The range list is full.
    Full,
    /// Not frame aligned or empty.
    BadRange,
}

/// The allocator.
#[derive(Debug)]
pub struct FrameAllocator {
    ranges: [FrameRange; MAX_RANGES],
    len: usize,
    free: u64,
}

impl Default for FrameAllocator {
    fn default() -> Self {
        Self::new()
    }
}

const fn align_up(v: u64, a: u64) -> u64 {
    (v + a - 1) & !(a - 1)
}

impl FrameAllocator {
    /// An allocator with nothing free.
    pub const fn new() -> FrameAllocator {
        FrameAllocator {
            ranges: [FrameRange { start: 0, end: 0 }; MAX_RANGES],
            len: 0,
            free: 0,
        }
    }

    /// Free bytes.
    pub fn free_bytes(&self) -> u64 {
        self.free
    }

    /// The free ranges, sorted.
    pub fn ranges(&self) -> &[FrameRange] {
        &self.ranges[..self.len]
    }

    /// Adds `[start, end)`, shrunk inwards to frame boundaries, to the free list.
    pub fn add(&mut self, start: u64, end: u64) -> Result<(), FrameError> {
        let start = align_up(start, FRAME_SIZE);
        let end = end & !(FRAME_SIZE - 1);
        if end <= start {
            return Err(FrameError::BadRange);
        }
        self.insert(FrameRange { start, end })
    }

    /// Returns `pages` frames at `start` to the free list.
    pub fn free(&mut self, start: u64, pages: u64) -> Result<(), FrameError> {
        if !start.is_multiple_of(FRAME_SIZE) || pages == 0 {
            return Err(FrameError::BadRange);
        }
        let end = pages
            .checked_mul(FRAME_SIZE)
            .and_then(|b| start.checked_add(b))
            .ok_or(FrameError::BadRange)?;
        self.insert(FrameRange { start, end })
    }

    /// Allocates `pages` contiguous frames aligned to `align_pages` frames (a power of two).
    pub fn alloc(&mut self, pages: u64, align_pages: u64) -> Option<u64> {
        if pages == 0 || !align_pages.is_power_of_two() {
            return None;
        }
        let size = pages.checked_mul(FRAME_SIZE)?;
        let align = align_pages.checked_mul(FRAME_SIZE)?;
        for i in 0..self.len {
            let r = self.ranges[i];
            let at = align_up(r.start, align);
            let Some(stop) = at.checked_add(size) else {
                continue;
            };
            if stop > r.end {
                continue;
            }
            let left = FrameRange {
                start: r.start,
                end: at,
            };
            let right = FrameRange {
                start: stop,
                end: r.end,
            };
            match (left.is_empty(), right.is_empty()) {
                (true, true) => self.remove_at(i),
                (false, true) => self.ranges[i] = left,
                (true, false) => self.ranges[i] = right,
                (false, false) => {
                    if self.len == MAX_RANGES {
                        continue;
                    }
                    self.ranges[i] = left;
                    self.insert_at(i + 1, right);
                }
            }
            self.free -= size;
            return Some(at);
        }
        None
    }

    fn insert(&mut self, r: FrameRange) -> Result<(), FrameError> {
        // First range that starts at or after r.start.
        let pos = self.ranges[..self.len].partition_point(|x| x.start < r.start);
        if pos > 0 && self.ranges[pos - 1].end > r.start {
            return Err(FrameError::Overlap);
        }
        if pos < self.len && self.ranges[pos].start < r.end {
            return Err(FrameError::Overlap);
        }
        let merge_left = pos > 0 && self.ranges[pos - 1].end == r.start;
        let merge_right = pos < self.len && self.ranges[pos].start == r.end;
        match (merge_left, merge_right) {
            (true, true) => {
                self.ranges[pos - 1].end = self.ranges[pos].end;
                self.remove_at(pos);
            }
            (true, false) => self.ranges[pos - 1].end = r.end,
            (false, true) => self.ranges[pos].start = r.start,
            (false, false) => {
                if self.len == MAX_RANGES {
                    return Err(FrameError::Full);
                }
                self.insert_at(pos, r);
            }
        }
        self.free += r.len();
        Ok(())
    }

    fn insert_at(&mut self, pos: usize, r: FrameRange) {
        self.ranges.copy_within(pos..self.len, pos + 1);
        self.ranges[pos] = r;
        self.len += 1;
    }

    fn remove_at(&mut self, pos: usize) {
        self.ranges.copy_within(pos + 1..self.len, pos);
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_invariants(a: &FrameAllocator) {
        let r = a.ranges();
        let mut sum = 0;
        for (i, x) in r.iter().enumerate() {
            assert!(x.start < x.end);
            assert_eq!(x.start % FRAME_SIZE, 0);
            assert_eq!(x.end % FRAME_SIZE, 0);
            if i > 0 {
                // Sorted, disjoint and coalesced.
                assert!(r[i - 1].end < x.start);
            }
            sum += x.len();
        }
        assert_eq!(sum, a.free_bytes());
    }

    #[test]
    fn alloc_and_free_coalesce() {
        let mut a = FrameAllocator::new();
        a.add(0x10_0000, 0x20_0000).unwrap();
        let x = a.alloc(1, 1).unwrap();
        let y = a.alloc(4, 4).unwrap();
        assert_eq!(x, 0x10_0000);
        assert_eq!(y % (4 * FRAME_SIZE), 0);
        a.free(x, 1).unwrap();
        a.free(y, 4).unwrap();
        assert_eq!(
            a.ranges(),
            &[FrameRange {
                start: 0x10_0000,
                end: 0x20_0000
            }]
        );
        check_invariants(&a);
    }

    #[test]
    fn double_free_is_refused() {
        let mut a = FrameAllocator::new();
        a.add(0, 0x10000).unwrap();
        let x = a.alloc(2, 1).unwrap();
        a.free(x, 2).unwrap();
        assert_eq!(a.free(x, 1), Err(FrameError::Overlap));
        assert_eq!(a.add(0x8000, 0x20000), Err(FrameError::Overlap));
        check_invariants(&a);
    }

    #[test]
    fn unaligned_regions_shrink_inwards() {
        let mut a = FrameAllocator::new();
        a.add(0x1001, 0x5fff).unwrap();
        assert_eq!(
            a.ranges(),
            &[FrameRange {
                start: 0x2000,
                end: 0x5000
            }]
        );
        assert_eq!(a.add(0x7001, 0x7fff), Err(FrameError::BadRange));
    }

    #[test]
    fn exhaustion_returns_none() {
        let mut a = FrameAllocator::new();
        a.add(0, 4 * FRAME_SIZE).unwrap();
        assert!(a.alloc(5, 1).is_none());
        assert!(a.alloc(4, 1).is_some());
        assert!(a.alloc(1, 1).is_none());
        assert!(a.alloc(1, 3).is_none(), "alignment must be a power of two");
    }

    proptest! {
        #[test]
        fn random_alloc_free_keeps_invariants(ops in proptest::collection::vec((0u8..3, 1u64..40, 0u32..4), 1..300)) {
            let mut a = FrameAllocator::new();
            a.add(0, 1024 * FRAME_SIZE).unwrap();
            let total = a.free_bytes();
            let mut live: Vec<(u64, u64)> = Vec::new();
            for (op, pages, align_log) in ops {
                if op < 2 {
                    if let Some(at) = a.alloc(pages, 1 << align_log) {
                        prop_assert_eq!(at % ((1u64 << align_log) * FRAME_SIZE), 0);
                        for &(s, p) in &live {
                            let disjoint = at + pages * FRAME_SIZE <= s || s + p * FRAME_SIZE <= at;
                            prop_assert!(disjoint, "allocation overlaps a live one");
                        }
                        live.push((at, pages));
                    }
                } else if !live.is_empty() {
                    let (s, p) = live.remove((pages as usize) % live.len());
                    a.free(s, p).unwrap();
                }
                check_invariants(&a);
                let used: u64 = live.iter().map(|&(_, p)| p * FRAME_SIZE).sum();
                prop_assert_eq!(used + a.free_bytes(), total);
            }
        }
    }
}
