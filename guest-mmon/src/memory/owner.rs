//! The owner's side of a process's memory (LegoOS §4.4): for the vRegions this mComponent owns,
//! the vmas (as the home last sent them) and the pages (virtual to physical here, in a page
//! index over the frame arena). Pages never written are not stored: they read as zero.
//!
//! Everything here is served in the dispatcher, never deferred: a page fetch must not wait
//! behind file I/O or a home's work.

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use lego_mm::{Error as MmError, Layout, PageIndex, Prot, VmFlags, Vma, VmaTree};
use lego_proto::fs::{errno, status_of};
use lego_proto::mem::{self as proto, PAGE, vma_flags};

use super::arena::Arena;

/// Most processes an owner serves at once.
const MAX_PROCESSES: usize = 4096;
/// Most vmas an owner keeps for one process.
const MAX_VMAS: usize = 65_530;

/// The owner's state.
#[derive(Debug)]
pub struct Owner {
    arena: Arena,
    pages: PageIndex,
    vmas: BTreeMap<u32, VmaTree>,
    /// Counters.
    pub stats: OwnerStats,
}

/// What the owner did.
#[derive(Clone, Copy, Debug, Default)]
pub struct OwnerStats {
    /// Pages sent to pComponents.
    pub fetched: u64,
    /// Pages received (flushes, loads).
    pub stored: u64,
    /// Fetches of pages never written (zeros sent).
    pub zero_fetches: u64,
}

fn fail(e: u32) -> u32 {
    status_of(e)
}

/// A protocol vma as an owner vma (the owner only checks addresses and protection).
pub fn to_mm(v: &proto::Vma) -> Vma {
    let flags = if v.flags & vma_flags::STACK != 0 {
        VmFlags::PRIVATE | VmFlags::GROWS_DOWN
    } else {
        VmFlags::PRIVATE
    };
    Vma {
        start: v.start,
        end: v.end,
        prot: Prot::from_bits_truncate(v.prot),
        max_prot: Prot::RWX,
        flags,
        kind: lego_mm::Kind::Anon,
    }
}

impl Owner {
    /// An owner over `arena`; `None` without heap for the page index.
    pub fn new(arena: Arena) -> Option<Owner> {
        let pages = PageIndex::new(arena.total() as usize).ok()?;
        Some(Owner {
            arena,
            pages,
            vmas: BTreeMap::new(),
            stats: OwnerStats::default(),
        })
    }

    /// Free frames.
    pub fn free_bytes(&self) -> u64 {
        self.arena.available() * PAGE as u64
    }

    /// Whether `[va, va + len)` of `pid` lies inside the vmas the home gave us.
    fn covered(&self, pid: u32, va: u64, len: u64) -> bool {
        let Some(tree) = self.vmas.get(&pid) else {
            return false;
        };
        let end = va.saturating_add(len);
        let mut at = va;
        while at < end {
            match tree.find(at) {
                Some(v) => at = v.end,
                None => return false,
            }
        }
        true
    }

    /// `FETCH`: copies `npages` pages of `pid` from `va` into `out`.
    pub fn fetch(&mut self, pid: u32, va: u64, npages: u32, out: &mut [u8]) -> Result<usize, u32> {
        let n = npages as usize;
        if n == 0 || n > proto::MAX_PAGES || !va.is_multiple_of(PAGE as u64) {
            return Err(fail(errno::EINVAL));
        }
        let bytes = n * PAGE;
        let out = out.get_mut(..bytes).ok_or(fail(errno::EINVAL))?;
        if !self.covered(pid, va, bytes as u64) {
            return Err(fail(super::more_errno::EFAULT));
        }
        for (i, page) in out.chunks_exact_mut(PAGE).enumerate() {
            match self.pages.lookup(pid, va + (i * PAGE) as u64) {
                Some(frame) => Arena::read(frame, page),
                None => {
                    page.fill(0);
                    self.stats.zero_fetches += 1;
                }
            }
        }
        self.stats.fetched += n as u64;
        Ok(bytes)
    }

    /// Stores one page of `pid` at `va` (a flush, or a load by the home).
    pub fn store(&mut self, pid: u32, va: u64, data: &[u8]) -> Result<(), u32> {
        if !va.is_multiple_of(PAGE as u64) || data.len() != PAGE {
            return Err(fail(errno::EINVAL));
        }
        if !self.covered(pid, va, PAGE as u64) {
            return Err(fail(super::more_errno::EFAULT));
        }
        let f = self
            .pages
            .get_or_zero(pid, va, &mut self.arena)
            .map_err(|e| fail(e.errno()))?;
        Arena::write(f.frame, data);
        self.stats.stored += 1;
        Ok(())
    }

    /// `FLUSH` / `OWNER_WRITE`: `count` addresses then `count` pages.
    pub fn store_many(&mut self, req: &[u8]) -> Result<usize, u32> {
        let (h, rest) = decode::<proto::FlushRequest>(req)?;
        let n = h.count as usize;
        if n == 0 || n > proto::MAX_PAGES || rest.len() != n * (8 + PAGE) {
            return Err(fail(errno::EINVAL));
        }
        let (addrs, pages) = rest.split_at(n * 8);
        for (a, page) in addrs.chunks_exact(8).zip(pages.chunks_exact(PAGE)) {
            let va = u64::from_le_bytes(a.try_into().map_err(|_| fail(errno::EINVAL))?);
            self.store(h.pid, va, page)?;
        }
        Ok(0)
    }

    /// `OWNER_VMAS`: the home's vmas of a process inside a range.
    pub fn set_vmas(&mut self, req: &[u8]) -> Result<usize, u32> {
        let (h, rest) = decode::<proto::OwnerVmas>(req)?;
        let vmas = decode_vmas(rest, h.count)?;
        if !self.vmas.contains_key(&h.pid) && self.vmas.len() >= MAX_PROCESSES {
            return Err(fail(errno::ENOMEM));
        }
        let tree = self
            .vmas
            .entry(h.pid)
            .or_insert_with(|| VmaTree::new(Layout::linux(8 << 20, None), MAX_VMAS));
        // The owner keeps addresses and protection only: pieces the home keeps apart (two
        // files, different offsets) may be one vma here, and the tree wants them merged.
        let mut mm: Vec<Vma> = Vec::with_capacity(vmas.len());
        for v in vmas.iter().map(to_mm) {
            match mm.last_mut() {
                Some(last) if last.end == v.start && last.can_merge(&v) => last.end = v.end,
                _ => mm.push(v),
            }
        }
        tree.install(h.lo..h.hi, &mm).map_err(|e| fail(e.errno()))?;
        // Pages outside every vma of the range are gone (unmapped at the home).
        let mut at = h.lo;
        for v in &mm {
            if v.start > at {
                self.pages.remove_range(h.pid, at..v.start, &mut self.arena);
            }
            at = v.end;
        }
        if at < h.hi {
            self.pages.remove_range(h.pid, at..h.hi, &mut self.arena);
        }
        Ok(0)
    }

    /// `OWNER_FREE`: drops a process's pages in a range (they read as zero again).
    pub fn free_range(&mut self, pid: u32, lo: u64, hi: u64) {
        self.pages.remove_range(pid, lo..hi, &mut self.arena);
    }

    /// `OWNER_MOVE`: moves a process's pages to another range.
    pub fn move_range(&mut self, pid: u32, from: u64, to: u64, len: u64) -> Result<(), u32> {
        self.pages
            .move_range(pid, from, to, len, &mut self.arena)
            .map(|_| ())
            .map_err(|e: MmError| fail(e.errno()))
    }

    /// `OWNER_FORK`: the child's vmas and pages here are the parent's, the pages shared until
    /// either writes one (`PageIndex::fork`).
    pub fn fork(&mut self, parent: u32, child: u32) -> Result<(), u32> {
        if self.vmas.contains_key(&child) {
            return Err(fail(errno::EEXIST));
        }
        if self.vmas.len() >= MAX_PROCESSES {
            return Err(fail(super::more_errno::EAGAIN));
        }
        let tree = match self.vmas.get(&parent) {
            Some(t) => t.clone(),
            // The parent has no vmas here yet (a vRegion the home just placed): none to share.
            None => VmaTree::new(Layout::linux(8 << 20, None), MAX_VMAS),
        };
        self.pages
            .fork(parent, child)
            .map_err(|e: MmError| fail(e.errno()))?;
        self.vmas.insert(child, tree);
        Ok(())
    }

    /// `OWNER_EXIT`: everything of a process.
    pub fn exit(&mut self, pid: u32) -> u64 {
        self.vmas.remove(&pid);
        self.pages.remove_process(pid, &mut self.arena)
    }
}

/// Splits a fixed-layout header off `req`.
pub fn decode<T: zerocopy::FromBytes + zerocopy::KnownLayout + zerocopy::Immutable>(
    req: &[u8],
) -> Result<(T, &[u8]), u32> {
    T::read_from_prefix(req).map_err(|_| fail(errno::EINVAL))
}

/// `count` [`proto::Vma`]s from `bytes` (exactly).
pub fn decode_vmas(bytes: &[u8], count: u32) -> Result<Vec<proto::Vma>, u32> {
    use zerocopy::FromBytes;
    let n = count as usize;
    let size = core::mem::size_of::<proto::Vma>();
    if bytes.len() != n.saturating_mul(size) || n > MAX_VMAS {
        return Err(fail(errno::EINVAL));
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| fail(errno::ENOMEM))?;
    for c in bytes.chunks_exact(size) {
        let vma = proto::Vma::read_from_bytes(c).map_err(|_| fail(errno::EINVAL))?;
        if vma.start >= vma.end || vma.start % PAGE as u64 != 0 || vma.end % PAGE as u64 != 0 {
            return Err(fail(errno::EINVAL));
        }
        v.push(vma);
    }
    Ok(v)
}
