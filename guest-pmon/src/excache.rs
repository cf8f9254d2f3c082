//! The ExCache glue: a process's lines in frames of the pComponent's reserved ExCache area,
//! kept by `lego-excache`, mapped in the process's page table, fetched from and flushed to the
//! vRegions' owners. The miss path follows PLATFORM.md's lessons: entries written with A=1
//! (and D=1 when a write caused the miss), evictions in batches with one TLB flush (a CR3
//! reload) each, a victim's frame reused only after its batch is flushed, and the first dirty
//! victim bound for the missing line's owner carried on the miss request.

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use guest_rt::mm::phys_to_virt;
use guest_rt::mm::space::{Leaf, UserSpace};
use guest_rt::rpc::{Rpc, RpcError};
use guest_rt::time;
use lego_excache::{
    Cache, Config, Error as CacheError, Filled, Key, Lookup, Policy, Slot, Source, Victim,
};
use lego_mm::TouchedPages;
use lego_proto::mem::{self as proto, PAGE};
use zerocopy::IntoBytes;

use crate::stats::Counters;

/// Victims picked ahead of demand for a set that ran out of free lines.
const PICK: u32 = 4;
const D_BIT: u64 = 1 << 6;

/// A process's ExCache.
pub struct Lines {
    cache: Cache,
    /// Physical address of slot 0's frame.
    base: u64,
    /// Slots whose PTE had the dirty bit when they were picked as victims.
    pte_dirty: Vec<bool>,
    victims: Vec<Victim>,
    batch: Vec<Victim>,
}

/// Why a line could not be brought in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineError {
    /// The owner could not be reached or refused (the process cannot go on).
    Owner(u32),
    /// The cache's bookkeeping refused (a bug, or no memory).
    Cache,
}

impl core::fmt::Debug for Lines {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lines").field("base", &self.base).finish()
    }
}

/// The owner of `va` in a process's vRegion table.
pub fn owner_of(regions: &BTreeMap<u32, u32>, va: u64) -> Option<u32> {
    regions.get(&((va / proto::VREGION) as u32)).copied()
}

fn frame_bytes(pa: u64) -> &'static mut [u8] {
    // SAFETY: `pa` is a frame of this process's ExCache area (ours for the process's life),
    // reached through the direct map; the pComponent runs one process per CPU at a time and
    // the slice lives only for one copy.
    unsafe { core::slice::from_raw_parts_mut(phys_to_virt(pa), PAGE) }
}

impl Lines {
    /// A cache of `slots` lines over the frames at `base`.
    pub fn new(base: u64, slots: u32, ways: u32, policy: Policy) -> Result<Lines, CacheError> {
        let mut cfg = Config::new(slots, ways.clamp(1, slots));
        cfg.policy = policy;
        let cache = Cache::new(cfg).map_err(|_| CacheError::Full { set: 0 })?;
        Ok(Lines {
            cache,
            base,
            pte_dirty: vec![false; slots as usize],
            victims: Vec::with_capacity(64),
            batch: Vec::with_capacity(64),
        })
    }

    /// Bytes of lines holding nothing (what `sysinfo` calls free memory).
    pub fn free_bytes(&self) -> u64 {
        u64::from(self.cache.stats().free) * PAGE as u64
    }

    fn frame(&self, s: Slot) -> u64 {
        self.base + u64::from(s.0) * PAGE as u64
    }

    fn map(&mut self, space: &mut UserSpace, va: u64, s: Slot, writable: bool, dirty: bool) {
        // Mapping can only fail for want of a table page: then the program faults again and
        // the monitor kills it as out of memory there.
        let _ = space.map(va, self.frame(s), Leaf { writable, dirty });
    }

    /// Picks victims in `set` and clears their entries (no TLB flush yet).
    fn pick(&mut self, space: &mut UserSpace, set: u32, n: u32) {
        self.victims.clear();
        if self.cache.pick_victims(set, n, &mut self.victims).is_err() {
            return;
        }
        for v in &self.victims {
            let e = space.unmap(v.key.va);
            if e & D_BIT != 0 {
                self.pte_dirty[v.slot.0 as usize] = true;
            }
        }
    }

    /// Flushes the pending victims: one TLB flush, then their write-backs. The first dirty
    /// one bound for `rider_owner` is returned (address, bytes) to ride on a miss request.
    #[allow(clippy::too_many_arguments)]
    fn flush_batch(
        &mut self,
        rpc: &mut Rpc,
        space: &UserSpace,
        pid: u32,
        regions: &BTreeMap<u32, u32>,
        touched: &mut TouchedPages,
        rider_owner: Option<u32>,
        c: &mut Counters,
    ) -> Result<Option<(u64, Vec<u8>)>, LineError> {
        self.batch.clear();
        let Some(ticket) = self.cache.take_flush_batch(&mut self.batch) else {
            return Ok(None);
        };
        space.flush_tlb();
        c.tlb_flushes += 1;
        c.evictions += self.batch.len() as u64;
        let mut rider = None;
        let mut per_owner: BTreeMap<u32, Vec<(u64, u64)>> = BTreeMap::new();
        for v in &self.batch {
            let dirty = v.dirty || self.pte_dirty[v.slot.0 as usize];
            self.pte_dirty[v.slot.0 as usize] = false;
            if !dirty {
                continue;
            }
            let Some(owner) = owner_of(regions, v.key.va) else {
                continue; // unmapped meanwhile: nothing to keep
            };
            touched.insert(v.key.va);
            let pa = self.base + u64::from(v.slot.0) * PAGE as u64;
            if rider.is_none() && Some(owner) == rider_owner {
                rider = Some((v.key.va, frame_bytes(pa).to_vec()));
                continue;
            }
            per_owner.entry(owner).or_default().push((v.key.va, pa));
        }
        // The batch is confirmed whatever the write-backs did: its frames are free either
        // way (a failed write-back loses the line, and the process with it: see the caller).
        let mut result = Ok(());
        for (owner, pages) in per_owner {
            for chunk in pages.chunks(proto::MAX_PAGES) {
                if let Err(e) = flush_pages(rpc, pid, owner, chunk, c) {
                    result = Err(e);
                }
            }
        }
        let slots: Vec<Slot> = self.batch.iter().map(|v| v.slot).collect();
        let _ = self.cache.victims_flushed(ticket, slots);
        result?;
        if rider.is_some() {
            self.cache.note_piggybacked(1);
            c.piggybacks += 1;
        }
        Ok(rider)
    }

    /// Writes back the victims waiting for a flush (before the home changes the address
    /// space under them).
    #[allow(clippy::too_many_arguments)]
    pub fn flush_pending(
        &mut self,
        rpc: &mut Rpc,
        space: &UserSpace,
        pid: u32,
        regions: &BTreeMap<u32, u32>,
        touched: &mut TouchedPages,
        c: &mut Counters,
    ) -> Result<(), LineError> {
        self.flush_batch(rpc, space, pid, regions, touched, None, c)
            .map(|_| ())
    }

    /// Brings the line of `va` in and maps it; `plocal`: anonymous memory never written back,
    /// zero-filled here without asking its owner.
    #[allow(clippy::too_many_arguments)]
    pub fn fault(
        &mut self,
        rpc: &mut Rpc,
        space: &mut UserSpace,
        pid: u32,
        regions: &BTreeMap<u32, u32>,
        touched: &mut TouchedPages,
        va: u64,
        write: bool,
        writable: bool,
        plocal: bool,
        piggyback: bool,
        c: &mut Counters,
    ) -> Result<(), LineError> {
        let key = Key { asid: pid, va };
        for _ in 0..4 {
            match self.cache.lookup(key) {
                Lookup::Hit(s) => {
                    let _ = self.cache.touch(s);
                    if write {
                        let _ = self.cache.mark_dirty(s);
                    }
                    self.map(space, va, s, writable, write);
                    c.hits += 1;
                    return Ok(());
                }
                Lookup::Rescued(s) => {
                    let was = core::mem::take(&mut self.pte_dirty[s.0 as usize]);
                    if was || write {
                        let _ = self.cache.mark_dirty(s);
                    }
                    self.map(space, va, s, writable, was || write);
                    c.hits += 1;
                    return Ok(());
                }
                Lookup::Busy(_) => {
                    self.flush_batch(rpc, space, pid, regions, touched, None, c)?;
                }
                Lookup::Miss => break,
            }
        }
        let owner = owner_of(regions, va);
        let slot = loop {
            match self.cache.alloc(key) {
                Ok(s) => break s,
                Err(CacheError::Full { set }) => {
                    let counts = self.cache.set_counts(set).map_err(|_| LineError::Cache)?;
                    if counts.evicting == 0 {
                        self.pick(space, set, PICK);
                    }
                    self.flush_batch(rpc, space, pid, regions, touched, None, c)?;
                }
                Err(_) => return Err(LineError::Cache),
            }
        };
        let rider_owner = if plocal || !piggyback { None } else { owner };
        let rider = if self.cache.flush_due() {
            self.flush_batch(rpc, space, pid, regions, touched, rider_owner, c)?
        } else {
            None
        };
        let pa = self.frame(slot);
        let source = if plocal {
            frame_bytes(pa).fill(0);
            c.plocal += 1;
            Source::Zeroed
        } else {
            let Some(owner) = owner else {
                let _ = self.cache.fill_failed(slot);
                return Err(LineError::Owner(0));
            };
            let t0 = time::now_ns();
            let mut req = Vec::with_capacity(24 + PAGE);
            req.extend_from_slice(
                proto::FetchRequest {
                    pid,
                    npages: 1,
                    va,
                    flush_va: rider.as_ref().map_or(0, |r| r.0),
                }
                .as_bytes(),
            );
            if let Some((_, data)) = &rider {
                req.extend_from_slice(data);
                c.owner(owner).1 += PAGE as u64;
                c.flushes += 1;
            }
            match rpc.call(owner, proto::FETCH, &req, frame_bytes(pa)) {
                Ok(n) if n == PAGE => {}
                _ => {
                    let _ = self.cache.fill_failed(slot);
                    return Err(LineError::Owner(owner));
                }
            }
            c.note_miss(time::now_ns() - t0);
            c.owner(owner).0 += PAGE as u64;
            Source::Fetched
        };
        match self.cache.filled(slot, source, write) {
            Ok(Filled::Map) => self.map(space, va, slot, writable, write),
            Ok(Filled::Discarded) => {}
            Err(_) => return Err(LineError::Cache),
        }
        if let Ok(set) = self.cache.slot_set(slot)
            && let Ok(n) = self.cache.needs_reclaim(set)
            && n > 0
        {
            self.pick(space, set, n.max(PICK));
        }
        Ok(())
    }

    /// Removes the lines of `[lo, hi)` (munmap, mprotect, mremap, exit): their entries are
    /// cleared and, if `keep`, dirty ones written back first; else dropped.
    #[allow(clippy::too_many_arguments)]
    pub fn invalidate(
        &mut self,
        rpc: &mut Rpc,
        space: &mut UserSpace,
        pid: u32,
        regions: &BTreeMap<u32, u32>,
        touched: &mut TouchedPages,
        lo: u64,
        hi: u64,
        keep: bool,
        c: &mut Counters,
    ) -> Result<(), LineError> {
        // Pending victims first: some may lie in the range, and their batch must complete.
        self.flush_batch(rpc, space, pid, regions, touched, None, c)?;
        self.batch.clear();
        let Some(ticket) = self.cache.invalidate(pid, lo..hi, &mut self.batch) else {
            return Ok(());
        };
        let mut dirty: Vec<(u64, u64)> = Vec::new();
        for v in &self.batch {
            let e = space.unmap(v.key.va);
            if keep && (v.dirty || e & D_BIT != 0) {
                dirty.push((v.key.va, self.frame(v.slot)));
            }
        }
        space.flush_tlb();
        c.tlb_flushes += 1;
        let mut per_owner: BTreeMap<u32, Vec<(u64, u64)>> = BTreeMap::new();
        for (va, pa) in dirty {
            if let Some(o) = owner_of(regions, va) {
                touched.insert(va);
                per_owner.entry(o).or_default().push((va, pa));
            }
        }
        let mut result = Ok(());
        for (owner, pages) in per_owner {
            for chunk in pages.chunks(proto::MAX_PAGES) {
                if let Err(e) = flush_pages(rpc, pid, owner, chunk, c) {
                    result = Err(e);
                }
            }
        }
        let slots: Vec<Slot> = self.batch.iter().map(|v| v.slot).collect();
        let _ = self.cache.victims_flushed(ticket, slots);
        result
    }
}

/// One `FLUSH` of up to `MAX_PAGES` pages (address, frame).
fn flush_pages(
    rpc: &mut Rpc,
    pid: u32,
    owner: u32,
    pages: &[(u64, u64)],
    c: &mut Counters,
) -> Result<(), LineError> {
    let mut req = Vec::with_capacity(8 + pages.len() * (8 + PAGE));
    req.extend_from_slice(
        proto::FlushRequest {
            pid,
            count: pages.len() as u32,
        }
        .as_bytes(),
    );
    for (va, _) in pages {
        req.extend_from_slice(&va.to_le_bytes());
    }
    for (_, pa) in pages {
        req.extend_from_slice(frame_bytes(*pa));
    }
    match rpc.call(owner, proto::FLUSH, &req, &mut []) {
        Ok(_) => {
            c.flushes += pages.len() as u64;
            c.owner(owner).1 += (pages.len() * PAGE) as u64;
            Ok(())
        }
        Err(RpcError::Remote(_)) | Err(_) => Err(LineError::Owner(owner)),
    }
}
