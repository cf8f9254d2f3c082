//! [`TouchedPages`]: the pages of a process that have been at an owner at least once.
//!
//! The pComponent keeps one per process. A miss on an anonymous page that is not in the set
//! has never left this pComponent, so it is all zeros: the line is zero-filled locally
//! ("p-local", LegoOS §4.4.2) instead of being fetched. A page enters the set when it is
//! flushed to (or fetched from) its owner, and leaves it when `munmap`, `MADV_DONTNEED` or a
//! shrinking `mremap` drops it (the owner then reads it as zero again); `mremap` moves bits.
//!
//! The pComponent has little memory, so the set is sparse: a 512-bit bitmap per 2 MiB chunk
//! with at least one page in it, in a `BTreeMap` (about 80 to 100 bytes per chunk in use). The
//! number of chunks is bounded; when a new chunk would pass the bound the set *saturates*:
//! from then on every page counts as touched. That is always safe (a fetch of a page the
//! owner never saw returns zeros), only slower, whereas forgetting a touched page would
//! zero-fill over data.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::Range;

use crate::PAGE_SIZE;

const CHUNK_SHIFT: u32 = 21;
const CHUNK: u64 = 1 << CHUNK_SHIFT;
const WORDS: usize = 8;

/// A sparse set of pages. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TouchedPages {
    chunks: BTreeMap<u64, [u64; WORDS]>,
    max_chunks: usize,
    saturated: bool,
    pages: u64,
}

fn split(va: u64) -> (u64, usize, u64) {
    let page = (va % CHUNK) / PAGE_SIZE;
    (va >> CHUNK_SHIFT, (page / 64) as usize, 1 << (page % 64))
}

impl TouchedPages {
    /// An empty set that keeps at most `max_chunks` 2 MiB chunks before saturating.
    pub fn new(max_chunks: usize) -> TouchedPages {
        TouchedPages {
            chunks: BTreeMap::new(),
            max_chunks,
            saturated: false,
            pages: 0,
        }
    }

    /// Whether the page holding `va` counts as touched.
    pub fn contains(&self, va: u64) -> bool {
        if self.saturated {
            return true;
        }
        let (c, w, b) = split(va);
        self.chunks.get(&c).is_some_and(|m| m[w] & b != 0)
    }

    /// Marks the page holding `va`; returns whether it was not marked before (false once
    /// saturated).
    pub fn insert(&mut self, va: u64) -> bool {
        if self.saturated {
            return false;
        }
        let (c, w, b) = split(va);
        if !self.chunks.contains_key(&c) && self.chunks.len() >= self.max_chunks {
            self.saturate();
            return false;
        }
        let m = self.chunks.entry(c).or_insert([0; WORDS]);
        let new = m[w] & b == 0;
        m[w] |= b;
        self.pages += u64::from(new);
        new
    }

    /// Unmarks the pages whose first byte is in `range` (pages dropped by the owner). Does
    /// nothing once saturated.
    pub fn clear_range(&mut self, range: Range<u64>) {
        if self.saturated || range.start >= range.end {
            return;
        }
        let lo = range.start.div_ceil(PAGE_SIZE);
        let hi = range.end.div_ceil(PAGE_SIZE);
        if hi <= lo {
            return;
        }
        let per_chunk = CHUNK / PAGE_SIZE;
        let (first, last) = (lo / per_chunk, (hi - 1) / per_chunk);
        let mut emptied = Vec::new();
        for (&c, m) in self.chunks.range_mut(first..=last) {
            let base = c * per_chunk;
            let from = lo.saturating_sub(base).min(per_chunk);
            let to = (hi - base).min(per_chunk);
            for p in from..to {
                let (w, b) = ((p / 64) as usize, 1u64 << (p % 64));
                if m[w] & b != 0 {
                    m[w] &= !b;
                    self.pages -= 1;
                }
            }
            if m.iter().all(|&x| x == 0) {
                emptied.push(c);
            }
        }
        for c in emptied {
            self.chunks.remove(&c);
        }
    }

    /// Moves the marks of `[from, from + len)` to `[to, to + len)` (`mremap`): marks at the
    /// destination are replaced. Page-granular; `len` in bytes.
    pub fn move_range(&mut self, from: u64, to: u64, len: u64) {
        if self.saturated || len == 0 {
            return;
        }
        let Some(from_end) = from.checked_add(len) else {
            return;
        };
        let mut marked = Vec::new();
        for (&c, m) in self
            .chunks
            .range(from >> CHUNK_SHIFT..=(from_end - 1) >> CHUNK_SHIFT)
        {
            for (w, &word) in m.iter().enumerate() {
                let mut bits = word;
                while bits != 0 {
                    let i = u64::from(bits.trailing_zeros());
                    bits &= bits - 1;
                    let va = (c << CHUNK_SHIFT) + (w as u64 * 64 + i) * PAGE_SIZE;
                    if va >= from && va < from_end {
                        marked.push(va - from);
                    }
                }
            }
        }
        self.clear_range(from..from_end);
        if let Some(to_end) = to.checked_add(len) {
            self.clear_range(to..to_end);
        }
        for off in marked {
            if let Some(va) = to.checked_add(off) {
                self.insert(va);
            }
        }
    }

    /// Forgets everything (`execve`), leaving saturation too.
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.saturated = false;
        self.pages = 0;
    }

    /// Marked pages (0 once saturated).
    pub fn len(&self) -> u64 {
        self.pages
    }

    /// Whether no page is marked and the set is not saturated.
    pub fn is_empty(&self) -> bool {
        self.pages == 0 && !self.saturated
    }

    /// 2 MiB chunks in use.
    pub fn chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Whether every page counts as touched.
    pub fn is_saturated(&self) -> bool {
        self.saturated
    }

    fn saturate(&mut self) {
        self.chunks.clear();
        self.pages = 0;
        self.saturated = true;
    }
}
