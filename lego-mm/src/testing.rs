//! Test helpers, for this crate's tests and the monitors': [`MemPool`], an in-memory
//! [`FramePool`], and [`Model`], a page-granular model of an address space.
//!
//! The model keeps one entry per mapped page (its protection, limit, flags and backing with
//! the page's own file offset) and implements every operation of [`VmaTree`] and [`Brk`]
//! page by page from the same rules (the documentation of each operation), without vmas,
//! splitting or merging: its vmas are computed, as the maximal runs of contiguous compatible
//! pages. Property tests run the same operations on both and require equal results, errors
//! included, and equal vma lists. It is slow (per page) and meant for small mappings.
//!
//! [`VmaTree`]: crate::VmaTree
//! [`Brk`]: crate::Brk

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

use crate::vma::{Access, Fault, Hit, MAX_FILE_OFFSET};
use crate::{
    BrkOutcome, Error, FramePool, Kind, Layout, MapRequest, Mapped, Move, PAGE_SIZE, Partial,
    Placement, Prot, Remap, RemapFlags, VmFlags, Vma, page_down, page_up,
};

const P: u64 = PAGE_SIZE;

/// A frame pool of frames `0..n` with a LIFO free list, counting bad frees instead of
/// panicking.
#[derive(Clone, Debug)]
pub struct MemPool {
    free: Vec<u64>,
    used: Vec<bool>,
    /// Frees of frames that were not allocated (double or foreign frees).
    pub bad_frees: u64,
}

impl MemPool {
    /// `n` free frames.
    pub fn new(n: u64) -> MemPool {
        MemPool {
            free: (0..n).rev().collect(),
            used: vec![false; usize::try_from(n).unwrap_or(0)],
            bad_frees: 0,
        }
    }

    /// Frames allocated now.
    pub fn in_use(&self) -> usize {
        self.used.iter().filter(|&&u| u).count()
    }

    /// Free frames now.
    pub fn available(&self) -> usize {
        self.free.len()
    }
}

impl FramePool for MemPool {
    fn alloc(&mut self) -> Option<u64> {
        let f = self.free.pop()?;
        if let Some(u) = self.used.get_mut(f as usize) {
            *u = true;
        }
        Some(f)
    }

    fn free(&mut self, frame: u64) {
        match self.used.get_mut(frame as usize) {
            Some(u) if *u => {
                *u = false;
                self.free.push(frame);
            }
            _ => self.bad_frees += 1,
        }
    }
}

/// What the model knows of a mapped page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageAttr {
    /// Protection.
    pub prot: Prot,
    /// Protection limit.
    pub max_prot: Prot,
    /// Flags.
    pub flags: VmFlags,
    /// Backing; for a file, the offset of this page.
    pub kind: Kind,
}

impl PageAttr {
    /// Whether `next`, on the page after this one, belongs to the same vma.
    fn continued_by(&self, next: &PageAttr) -> bool {
        self.prot == next.prot
            && self.max_prot == next.max_prot
            && self.flags == next.flags
            && match (self.kind, next.kind) {
                (Kind::Anon, Kind::Anon) => true,
                (Kind::File { file: a, offset: o }, Kind::File { file: b, offset: q }) => {
                    a == b && o.checked_add(P) == Some(q)
                }
                _ => false,
            }
    }

    /// These attributes `n` pages further on.
    fn shifted(&self, n: u64) -> PageAttr {
        let kind = match self.kind {
            Kind::Anon => Kind::Anon,
            Kind::File { file, offset } => Kind::File {
                file,
                offset: offset.wrapping_add(n * P),
            },
        };
        PageAttr { kind, ..*self }
    }

    fn grows_down(&self) -> bool {
        self.flags.grows_down()
    }
}

/// The runs of contiguous compatible pages of `pages` (in address order), as vmas.
fn runs<'a>(pages: impl IntoIterator<Item = (&'a u64, &'a PageAttr)>) -> Vec<Vma> {
    let mut out: Vec<Vma> = Vec::new();
    let mut last: Option<PageAttr> = None;
    for (&p, a) in pages {
        if let (Some(v), Some(l)) = (out.last_mut(), last)
            && v.end == p
            && l.continued_by(a)
        {
            v.end = p + P;
            last = Some(*a);
            continue;
        }
        out.push(Vma {
            start: p,
            end: p + P,
            prot: a.prot,
            max_prot: a.max_prot,
            flags: a.flags,
            kind: a.kind,
        });
        last = Some(*a);
    }
    out
}

/// The break, as the model keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ModelBrk {
    start: u64,
    cur: u64,
    data_limit: u64,
    static_data: u64,
}

/// A page-granular address space. See the module documentation.
#[derive(Clone, Debug)]
pub struct Model {
    pages: BTreeMap<u64, PageAttr>,
    layout: Layout,
    max_count: usize,
    brk: ModelBrk,
}

impl Model {
    /// An empty space with `layout` (sanitised) and the vma bound; brk as [`crate::Brk::new`].
    pub fn new(
        layout: Layout,
        max_count: usize,
        brk_start: u64,
        data_limit: u64,
        static_data: u64,
    ) -> Model {
        Model {
            pages: BTreeMap::new(),
            layout: layout.sanitized(),
            max_count,
            brk: ModelBrk {
                start: brk_start,
                cur: brk_start,
                data_limit,
                static_data,
            },
        }
    }

    /// Mapped pages.
    pub fn pages(&self) -> &BTreeMap<u64, PageAttr> {
        &self.pages
    }

    /// The vmas: maximal runs of contiguous compatible pages.
    pub fn vmas(&self) -> Vec<Vma> {
        runs(&self.pages)
    }

    /// The current break.
    pub fn brk_current(&self) -> u64 {
        self.brk.cur
    }

    /// Sets the stack rlimit.
    pub fn set_stack_limit(&mut self, limit: u64) {
        self.layout.stack_limit = limit;
    }

    fn count(&self) -> usize {
        self.vmas().len()
    }

    /// The run containing `addr`, if mapped.
    fn run_at(&self, addr: u64) -> Option<Vma> {
        let p = page_down(addr);
        let a = *self.pages.get(&p)?;
        let mut start = p;
        let mut cur = a;
        while let Some(prev) = start.checked_sub(P).and_then(|q| self.pages.get(&q)) {
            if !prev.continued_by(&cur) {
                break;
            }
            cur = *prev;
            start -= P;
        }
        let mut end = p + P;
        let mut cur = a;
        while let Some(next) = self.pages.get(&end) {
            if !cur.continued_by(next) {
                break;
            }
            cur = *next;
            end += P;
        }
        Some(Vma {
            start,
            end,
            prot: a.prot,
            max_prot: a.max_prot,
            flags: a.flags,
            kind: self.pages.get(&start).map_or(a.kind, |s| s.kind),
        })
    }

    /// The run containing `addr` or the first one above it.
    fn run_from(&self, addr: u64) -> Option<Vma> {
        let q = *self.pages.range(page_down(addr)..).next()?.0;
        self.run_at(q)
    }

    fn start_gap(&self, v: &Vma) -> u64 {
        if v.flags.grows_down() {
            v.start.saturating_sub(self.layout.guard_gap)
        } else {
            v.start
        }
    }

    /// Whether `[a, a + len)` is free, inside the space, and below the guard gap of what is
    /// above.
    fn fits(&self, a: u64, len: u64) -> bool {
        let Some(end) = a.checked_add(len) else {
            return false;
        };
        if end > self.layout.task_size || self.pages.range(a..end).next().is_some() {
            return false;
        }
        match self.run_from(end) {
            None => true,
            Some(next) => end <= self.start_gap(&next),
        }
    }

    fn find_free(&self, hint: u64, len: u64, align: u64) -> Option<u64> {
        let l = self.layout;
        if len == 0 || len > l.task_size {
            return None;
        }
        if hint != 0 && hint <= l.task_size - len && self.fits(hint, len) {
            return Some(hint);
        }
        let low = l.min_addr.max(P);
        let vmas = self.vmas();
        // Top-down below mmap_base: the highest candidate under some gap top.
        let high = l.mmap_base;
        let down = core::iter::once(high)
            .chain(vmas.iter().map(|v| self.start_gap(v)))
            .filter_map(|t| {
                let c = t.min(high).checked_sub(len)? & !(align - 1);
                (c >= low && c + len <= high && self.fits(c, len)).then_some(c)
            })
            .max();
        if down.is_some() {
            return down;
        }
        // Bottom-up from legacy_base: the lowest candidate above some gap bottom.
        let low = l.legacy_base.max(low);
        core::iter::once(low)
            .chain(vmas.iter().map(|v| v.end))
            .filter_map(|b| {
                let c = b.max(low).checked_add(align - 1)? & !(align - 1);
                (c.checked_add(len)? <= l.task_size && self.fits(c, len)).then_some(c)
            })
            .min()
    }

    /// Removes the pages in `[lo, hi)`; returns their runs.
    fn remove_pages(&mut self, lo: u64, hi: u64) -> Vec<Vma> {
        if hi <= lo {
            return Vec::new();
        }
        let taken: Vec<(u64, PageAttr)> = self.pages.range(lo..hi).map(|(&p, &a)| (p, a)).collect();
        for (p, _) in &taken {
            self.pages.remove(p);
        }
        runs(taken.iter().map(|(p, a)| (p, a)))
    }

    /// Maps `[lo, hi)` with `first`'s attributes (file offsets continuing).
    fn fill(&mut self, lo: u64, hi: u64, first: PageAttr) {
        let mut p = lo;
        while p < hi {
            self.pages.insert(p, first.shifted((p - lo) / P));
            p += P;
        }
    }

    /// Keeps the change if the vma bound allows it, else restores `backup`.
    fn commit(&mut self, backup: BTreeMap<u64, PageAttr>) -> Result<(), Error> {
        if self.count() > self.max_count {
            self.pages = backup;
            return Err(Error::MapCount);
        }
        Ok(())
    }

    /// [`crate::VmaTree::map`].
    pub fn map(&mut self, req: &MapRequest) -> Result<Mapped, Error> {
        let l = self.layout;
        let off = match req.kind {
            Kind::Anon => None,
            Kind::File { offset, .. } => Some(offset),
        };
        if off.is_some_and(|o| !o.is_multiple_of(P)) {
            return Err(Error::Unaligned);
        }
        if req.flags.grows_down() && (off.is_some() || req.flags.shared()) {
            return Err(Error::InvalidFlags);
        }
        if req.len == 0 {
            return Err(Error::ZeroLength);
        }
        let len = page_up(req.len).ok_or(Error::NoSpace)?;
        if len > l.task_size {
            return Err(Error::NoSpace);
        }
        let addr = if req.placement == Placement::Hint {
            let mut hint = page_down(req.addr);
            if hint != 0 && hint < l.min_addr {
                hint = l.min_addr;
            }
            self.find_free(hint, len, P).ok_or(Error::NoSpace)?
        } else {
            req.addr
        };
        if addr > l.task_size - len {
            return Err(Error::NoSpace);
        }
        if !addr.is_multiple_of(P) {
            return Err(Error::Unaligned);
        }
        if addr < l.min_addr {
            return Err(Error::BelowMinAddr);
        }
        let end = addr + len;
        if req.placement == Placement::FixedNoReplace
            && self.pages.range(addr..end).next().is_some()
        {
            return Err(Error::Exists);
        }
        if off.is_some_and(|o| o.checked_add(len).is_none_or(|e| e > MAX_FILE_OFFSET)) {
            return Err(Error::Overflow);
        }
        if !req.max_prot.contains(req.prot) {
            return Err(Error::Denied);
        }
        let backup = self.pages.clone();
        let replaced = self.remove_pages(addr, end);
        let attr = PageAttr {
            prot: req.prot,
            max_prot: req.max_prot,
            flags: req.flags,
            kind: req.kind,
        };
        self.fill(addr, end, attr);
        self.commit(backup)?;
        Ok(Mapped { addr, replaced })
    }

    /// [`crate::VmaTree::unmap`].
    pub fn unmap(&mut self, addr: u64, len: u64) -> Result<Vec<Vma>, Error> {
        let top = self.layout.task_size;
        if !addr.is_multiple_of(P) {
            return Err(Error::Unaligned);
        }
        if addr > top || len > top - addr {
            return Err(Error::InvalidRange);
        }
        let len = page_up(len).ok_or(Error::InvalidRange)?;
        if len == 0 {
            return Err(Error::ZeroLength);
        }
        let backup = self.pages.clone();
        let removed = self.remove_pages(addr, addr + len);
        self.commit(backup)?;
        Ok(removed)
    }

    /// [`crate::VmaTree::protect`].
    pub fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Partial<Range<u64>>> {
        let fail = |error| Partial {
            error,
            done: addr..addr,
        };
        if !addr.is_multiple_of(P) {
            return Err(fail(Error::Unaligned));
        }
        if len == 0 {
            return Ok(());
        }
        let end = page_up(len)
            .and_then(|l| addr.checked_add(l))
            .ok_or(fail(Error::Unmapped))?;
        let mut at = addr;
        let mut error = None;
        for (&p, a) in self.pages.range(addr..end) {
            if p > at {
                error = Some(Error::Unmapped);
                break;
            }
            if !a.max_prot.contains(prot) {
                error = Some(Error::Denied);
                break;
            }
            at = p + P;
        }
        if error.is_none() && at < end {
            error = Some(Error::Unmapped);
        }
        let backup = self.pages.clone();
        for (_, a) in self.pages.range_mut(addr..at) {
            a.prot = prot;
        }
        self.commit(backup).map_err(fail)?;
        match error {
            None => Ok(()),
            Some(error) => Err(Partial {
                error,
                done: addr..at,
            }),
        }
    }

    /// [`crate::VmaTree::advise_dontneed`].
    pub fn advise_dontneed(&self, addr: u64, len: u64) -> Result<Vec<Vma>, Partial<Vec<Vma>>> {
        let fail = |error| Partial {
            error,
            done: Vec::new(),
        };
        if !addr.is_multiple_of(P) {
            return Err(fail(Error::Unaligned));
        }
        let len = page_up(len).ok_or(fail(Error::InvalidRange))?;
        let end = addr.checked_add(len).ok_or(fail(Error::InvalidRange))?;
        let mut at = addr;
        let mut hole = false;
        for (&p, _) in self.pages.range(addr..end) {
            hole |= p > at;
            at = p + P;
        }
        let dropped = runs(self.pages.range(addr..end));
        if hole || at < end {
            return Err(Partial {
                error: Error::Unmapped,
                done: dropped,
            });
        }
        Ok(dropped)
    }

    /// [`crate::VmaTree::classify`].
    pub fn classify(&mut self, addr: u64, access: Access) -> Result<Hit, Fault> {
        let l = self.layout;
        let v = self.run_from(addr).ok_or(Fault::MapErr)?;
        let mut grown = None;
        if v.start > addr {
            let start = page_down(addr);
            let top = self.pages.get(&v.start).copied().ok_or(Fault::MapErr)?;
            if !top.grows_down() || top.kind != Kind::Anon || start < l.min_addr {
                return Err(Fault::MapErr);
            }
            if v.end - start > l.stack_limit {
                return Err(Fault::MapErr);
            }
            if let Some((&q, below)) = self.pages.range(..v.start).next_back()
                && !below.grows_down()
                && !below.prot.is_none()
                && start - (q + P) < l.guard_gap
            {
                return Err(Fault::MapErr);
            }
            self.fill(start, v.start, top);
            grown = Some(start..v.start);
        }
        let vma = self.run_at(addr).ok_or(Fault::MapErr)?;
        let ok = match access {
            Access::Read => !vma.prot.is_none(),
            Access::Write => vma.prot.contains(Prot::WRITE),
            Access::Exec => vma.prot.contains(Prot::EXEC),
        };
        if !ok {
            return Err(Fault::AccErr);
        }
        Ok(Hit { vma, grown })
    }

    /// [`crate::VmaTree::remap`].
    pub fn remap(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: RemapFlags,
        new_addr: u64,
    ) -> Result<Remap, Error> {
        let l = self.layout;
        if flags.fixed && !flags.may_move {
            return Err(Error::InvalidFlags);
        }
        if !addr.is_multiple_of(P) {
            return Err(Error::Unaligned);
        }
        let old_len = page_up(old_len).unwrap_or(0);
        let new_len = page_up(new_len).unwrap_or(0);
        if new_len == 0 {
            return Err(Error::ZeroLength);
        }
        let vma = self.run_at(addr).ok_or(Error::BadAddress)?;
        if flags.fixed {
            if !new_addr.is_multiple_of(P) {
                return Err(Error::Unaligned);
            }
            if new_len > l.task_size || new_addr > l.task_size - new_len {
                return Err(Error::InvalidRange);
            }
            if addr.wrapping_add(old_len) > new_addr && new_addr + new_len > addr {
                return Err(Error::InvalidRange);
            }
            if old_len > new_len {
                let start = addr + new_len;
                if start > l.task_size || old_len - new_len > l.task_size - start {
                    return Err(Error::InvalidRange);
                }
            }
            if old_len == 0 {
                return Err(Error::InvalidRange);
            }
            let kept = old_len.min(new_len);
            self.resize_checks(&vma, addr, kept, new_len)?;
            if new_addr < l.min_addr {
                return Err(Error::BelowMinAddr);
            }
            return self.move_pages(&vma, addr, old_len, new_len, new_addr, true);
        }
        if old_len >= new_len {
            let freed = if old_len == new_len {
                Vec::new()
            } else {
                self.unmap(addr.wrapping_add(new_len), old_len - new_len)?
            };
            return Ok(Remap {
                addr,
                moved: None,
                freed,
            });
        }
        self.resize_checks(&vma, addr, old_len, new_len)?;
        if old_len == vma.end - addr
            && let Some(end) = addr.checked_add(new_len)
            && end <= l.task_size
            && self.pages.range(vma.end..end).next().is_none()
        {
            let backup = self.pages.clone();
            let last = self
                .pages
                .get(&(vma.end - P))
                .copied()
                .ok_or(Error::BadAddress)?;
            self.fill(vma.end, end, last.shifted(1));
            self.commit(backup)?;
            return Ok(Remap {
                addr,
                moved: None,
                freed: Vec::new(),
            });
        }
        if !flags.may_move {
            return Err(Error::NoSpace);
        }
        let to = self.find_free(0, new_len, P).ok_or(Error::NoSpace)?;
        self.move_pages(&vma, addr, old_len, new_len, to, false)
    }

    fn resize_checks(&self, vma: &Vma, addr: u64, old_len: u64, new_len: u64) -> Result<(), Error> {
        if old_len == 0 {
            return Err(Error::InvalidRange);
        }
        if old_len > vma.end - addr {
            return Err(Error::BadAddress);
        }
        if new_len > old_len
            && let Some(&PageAttr {
                kind: Kind::File { offset, .. },
                ..
            }) = self.pages.get(&addr)
            && offset
                .checked_add(new_len)
                .is_none_or(|e| e > MAX_FILE_OFFSET)
        {
            return Err(Error::InvalidRange);
        }
        Ok(())
    }

    fn move_pages(
        &mut self,
        vma: &Vma,
        addr: u64,
        old_len: u64,
        new_len: u64,
        to: u64,
        replace: bool,
    ) -> Result<Remap, Error> {
        let first = self.pages.get(&addr).copied().ok_or(Error::BadAddress)?;
        debug_assert!(vma.contains(addr));
        let kept = old_len.min(new_len);
        let backup = self.pages.clone();
        let mut freed = Vec::new();
        if replace {
            freed = self.remove_pages(to, to + new_len);
            if old_len > new_len {
                freed.extend(self.remove_pages(addr + new_len, addr + old_len));
            }
        }
        self.remove_pages(addr, addr + kept);
        self.fill(to, to + new_len, first);
        self.commit(backup)?;
        Ok(Remap {
            addr: to,
            moved: Some(Move {
                from: addr,
                to,
                len: kept,
            }),
            freed,
        })
    }

    /// [`crate::Brk::set`].
    pub fn brk(&mut self, request: u64) -> BrkOutcome {
        let b = self.brk;
        let refused = BrkOutcome {
            brk: b.cur,
            grown: None,
            freed: Vec::new(),
        };
        if request < b.start || (request - b.start).saturating_add(b.static_data) > b.data_limit {
            return refused;
        }
        let (Some(new), Some(old)) = (page_up(request), page_up(b.cur)) else {
            return refused;
        };
        if new == old {
            self.brk.cur = request;
            return BrkOutcome {
                brk: request,
                ..refused
            };
        }
        if request <= b.cur {
            if self.pages.range(new..old).next().is_none() {
                return refused;
            }
            return match self.unmap(new, old - new) {
                Ok(freed) => {
                    self.brk.cur = request;
                    BrkOutcome {
                        brk: request,
                        grown: None,
                        freed,
                    }
                }
                Err(_) => refused,
            };
        }
        if new > self.layout.task_size {
            return refused;
        }
        if let Some(next) = self.run_from(old)
            && new.saturating_add(P) > self.start_gap(&next)
        {
            return refused;
        }
        let req = MapRequest::anon(new - old, Prot::RW).at(old, Placement::Fixed);
        match self.map(&req) {
            Ok(_) => {
                self.brk.cur = request;
                BrkOutcome {
                    brk: request,
                    grown: Some(old..new),
                    freed: Vec::new(),
                }
            }
            Err(_) => refused,
        }
    }
}
