//! Finding a free range: Linux's `get_unmapped_area` for x86-64 (`arch_get_unmapped_area_topdown`
//! with its bottom-up fallback). The rules are in the "Placement" section of [`crate::vma`].

use super::{Vma, VmaTree};
use crate::{Error, PAGE_SIZE};

impl VmaTree {
    /// A free range of `len` bytes aligned to `align` (a power of two, at least a page) with no
    /// hint: where a static PIE's image goes (see [`crate::layout`]). [`Error::NoSpace`] if
    /// none, [`Error::InvalidFlags`] if `align` is not a power of two, [`Error::ZeroLength`]
    /// for `len == 0`; `len` is rounded up to pages.
    pub fn unmapped_area(&self, len: u64, align: u64) -> Result<u64, Error> {
        if !align.is_power_of_two() {
            return Err(Error::InvalidFlags);
        }
        if len == 0 {
            return Err(Error::ZeroLength);
        }
        let len = crate::page_up(len).ok_or(Error::NoSpace)?;
        self.find_free(0, len, align.max(PAGE_SIZE))
            .ok_or(Error::NoSpace)
    }

    /// Steps 1-3 of the module documentation; `hint` 0 means none, `len` is page-aligned.
    pub(super) fn find_free(&self, hint: u64, len: u64, align: u64) -> Option<u64> {
        let l = &self.layout;
        if len == 0 || len > l.task_size {
            return None;
        }
        if hint != 0 && hint <= l.task_size - len && self.hint_fits(hint, len) {
            return Some(hint);
        }
        let low = l.min_addr.max(PAGE_SIZE);
        self.search_down(len, align, low, l.mmap_base)
            .or_else(|| self.search_up(len, align, l.legacy_base.max(low), l.task_size))
    }

    /// Whether `[addr, addr + len)` maps nothing and stays below the start gap of the vma
    /// above (Linux's hint test).
    fn hint_fits(&self, addr: u64, len: u64) -> bool {
        match self.find_from(addr) {
            None => true,
            Some(next) => addr + len <= next.start_gap(self.layout.guard_gap),
        }
    }

    /// The top of the gap below `next` (the task size if there is no vma above).
    fn gap_top(&self, next: Option<&Vma>) -> u64 {
        next.map_or(self.layout.task_size, |v| {
            v.start_gap(self.layout.guard_gap)
        })
    }

    /// The highest aligned `len`-byte range inside `[low, high)` that fits a gap.
    fn search_down(&self, len: u64, align: u64, low: u64, high: u64) -> Option<u64> {
        if high < low || high - low < len {
            return None;
        }
        let mut next = self.vmas.range(high..).next().map(|(_, v)| v);
        for (_, prev) in self.vmas.range(..high).rev() {
            let top = self.gap_top(next).min(high);
            if let Some(a) = fit_down(prev.end.max(low), top, len, align) {
                return Some(a);
            }
            if prev.end <= low {
                return None;
            }
            next = Some(prev);
        }
        fit_down(low, self.gap_top(next).min(high), len, align)
    }

    /// The lowest aligned `len`-byte range inside `[low, high)` that fits a gap.
    fn search_up(&self, len: u64, align: u64, low: u64, high: u64) -> Option<u64> {
        if high < low || high - low < len {
            return None;
        }
        let mut prev = self.vmas.range(..low).next_back().map(|(_, v)| v);
        for (_, next) in self.vmas.range(low..) {
            let bottom = prev.map_or(low, |p| p.end.max(low));
            if let Some(a) = fit_up(bottom, self.gap_top(Some(next)).min(high), len, align) {
                return Some(a);
            }
            if next.start >= high {
                return None;
            }
            prev = Some(next);
        }
        let bottom = prev.map_or(low, |p| p.end.max(low));
        fit_up(bottom, high, len, align)
    }
}

/// The highest `align`-aligned start of a `len`-byte range inside `[lo, hi)`.
fn fit_down(lo: u64, hi: u64, len: u64, align: u64) -> Option<u64> {
    let a = hi.checked_sub(len)? & !(align - 1);
    (hi >= lo && a >= lo).then_some(a)
}

/// The lowest `align`-aligned start of a `len`-byte range inside `[lo, hi)`.
fn fit_up(lo: u64, hi: u64, len: u64, align: u64) -> Option<u64> {
    let a = lo.checked_add(align - 1)? & !(align - 1);
    (a.checked_add(len)? <= hi).then_some(a)
}
