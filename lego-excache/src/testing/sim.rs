//! [`Sim`]: the reference glue over a simulated machine.
//!
//! The machine: a page table and a TLB per line ((process, line address) -> slot, writable),
//! where a cleared PTE leaves the TLB entry in place until a TLB flush, as on real hardware;
//! frames (one word per page); memory components holding written-back pages. The program's
//! accesses go through the TLB, then the page table, then fault into the glue. The glue
//! follows the crate documentation's miss path: clean lines are mapped read-only so that the
//! first write faults and marks them dirty; victims are picked ahead of demand, unmapped at
//! once and flushed in batches with one TLB flush; dirty write-backs ride on the miss request
//! when the owner is the same ([`crate::piggyback::Plan`]).
//!
//! Every access checks that the frame reached holds the accessed line, and every read that it
//! returns what the program last wrote (zero if never): a frame reused before the flush that
//! covers it, a lost write-back or a line fetched while its dirty copy was still here shows up
//! as an error.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use crate::piggyback::Plan;
use crate::{Cache, Config, Error, Filled, Key, Lookup, Slot, Source, State, Victim};

const PAGE: u64 = 4096;

/// Shape of the simulated cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// The cache.
    pub cache: Config,
    /// Memory components: a line's owner is `(va >> 30 + asid) % owners` (1 GiB vRegions).
    pub owners: u32,
    /// Write-backs that may ride on one miss request.
    pub max_riders: usize,
    /// Lines per flush message.
    pub per_message: usize,
}

/// What the simulated glue did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Faults taken by the program.
    pub faults: u64,
    /// Lines fetched from an owner.
    pub fetches: u64,
    /// TLB flushes.
    pub tlb_flushes: u64,
    /// Flush messages sent (riders not included).
    pub flush_messages: u64,
    /// Write-backs that rode on a miss request.
    pub riders: u64,
    /// Write-backs sent (riders included).
    pub writebacks: u64,
}

type Line = (u32, u64);

/// The reference glue on a simulated machine (see the module documentation).
#[derive(Debug)]
pub struct Sim {
    /// The cache under test.
    pub cache: Cache,
    config: SimConfig,
    pt: BTreeMap<Line, (Slot, bool)>,
    tlb: BTreeMap<Line, (Slot, bool)>,
    /// Page words of every slot.
    frames: Vec<u64>,
    /// The line each slot's frames hold (set at fill, kept until the slot is filled again).
    frame_line: Vec<Option<Line>>,
    /// Pages the memory components hold, and the lines they know.
    mem: BTreeMap<Line, u64>,
    mem_lines: BTreeSet<Line>,
    /// What the program last wrote, per page.
    truth: BTreeMap<Line, u64>,
    plan: Plan<u32>,
    victims: Vec<Victim>,
    /// Glue counters.
    pub stats: SimStats,
}

impl Sim {
    /// A machine with an empty cache.
    pub fn new(config: SimConfig) -> Result<Sim, crate::ConfigError> {
        let cache = Cache::new(config.cache)?;
        let slots = config.cache.slots as usize;
        Ok(Sim {
            cache,
            config,
            pt: BTreeMap::new(),
            tlb: BTreeMap::new(),
            frames: alloc::vec![0; slots * config.cache.line_pages as usize],
            frame_line: alloc::vec![None; slots],
            mem: BTreeMap::new(),
            mem_lines: BTreeSet::new(),
            truth: BTreeMap::new(),
            plan: Plan::new(),
            victims: Vec::new(),
            stats: SimStats::default(),
        })
    }

    fn owner(&self, key: Key) -> u32 {
        ((key.va >> 30).wrapping_add(u64::from(key.asid)) % u64::from(self.config.owners.max(1)))
            as u32
    }

    fn word(&self, slot: Slot, va: u64) -> usize {
        let lp = u64::from(self.config.cache.line_pages);
        (u64::from(slot.0) * lp + (va / PAGE) % lp) as usize
    }

    /// The program reads (`write == None`) or writes a word of the page at `va`; returns the
    /// value read (or written).
    pub fn access(&mut self, asid: u32, va: u64, write: Option<u64>) -> Result<u64, String> {
        let key = self.cache.line_key(asid, va);
        let line = (asid, key.va);
        for _ in 0..4 {
            let entry = match self.tlb.get(&line) {
                Some(&(s, w)) if write.is_none() || w => Some(s),
                _ => match self.pt.get(&line) {
                    Some(&(s, w)) if write.is_none() || w => {
                        self.tlb.insert(line, (s, w));
                        Some(s)
                    }
                    _ => None,
                },
            };
            if let Some(slot) = entry {
                return self.use_frame(slot, line, asid, va, write);
            }
            self.fault(key, write.is_some())?;
        }
        Err(format!("{line:x?}: still faulting after 3 faults"))
    }

    fn use_frame(
        &mut self,
        slot: Slot,
        line: Line,
        asid: u32,
        va: u64,
        write: Option<u64>,
    ) -> Result<u64, String> {
        let holds = self.frame_line.get(slot.0 as usize).copied().flatten();
        if holds != Some(line) {
            return Err(format!(
                "{line:x?} reached slot {} which holds {holds:x?}: stale translation",
                slot.0
            ));
        }
        let page = (asid, va / PAGE * PAGE);
        let w = self.word(slot, va);
        match write {
            Some(v) => {
                self.frames[w] = v;
                self.truth.insert(page, v);
                Ok(v)
            }
            None => {
                let (got, want) = (self.frames[w], self.truth.get(&page).copied().unwrap_or(0));
                if got != want {
                    return Err(format!("{page:x?} read {got:#x}, last written {want:#x}"));
                }
                Ok(got)
            }
        }
    }

    fn fault(&mut self, key: Key, write: bool) -> Result<(), String> {
        self.stats.faults += 1;
        match self.cache.lookup(key) {
            Lookup::Hit(s) | Lookup::Rescued(s) => {
                self.cache.touch(s).map_err(err)?;
                if write {
                    self.cache.mark_dirty(s).map_err(err)?;
                }
                let dirty = self.cache.state(s).map_err(err)? == State::Dirty;
                self.pt.insert((key.asid, key.va), (s, dirty));
                Ok(())
            }
            Lookup::Busy(s) => Err(format!("slot {} busy in a single-threaded run", s.0)),
            Lookup::Miss => self.miss(key, write),
        }
    }

    fn miss(&mut self, key: Key, write: bool) -> Result<(), String> {
        let line = (key.asid, key.va);
        // The first touch of a line its owner never received is zero-filled here (p-local).
        let fetch = self.mem_lines.contains(&line);
        let miss_owner = fetch.then(|| self.owner(key));
        let mut rode = false;
        let slot = loop {
            match self.cache.alloc(key) {
                Ok(s) => break s,
                Err(Error::Full { set }) => {
                    let c = self.cache.set_counts(set).map_err(err)?;
                    if c.evicting == 0 {
                        let n = self.config.cache.reserve.max(1);
                        self.pick(set, n)?;
                    }
                    if !self.flush_all(miss_owner, &mut rode)? {
                        return Err(format!("set {set} has nothing to evict"));
                    }
                }
                Err(e) => return Err(err(e)),
            }
        };
        if self.cache.flush_due() {
            self.flush_all(miss_owner, &mut rode)?;
        }
        // The fetch (riders were written back by flush_all before it).
        let lp = u64::from(self.config.cache.line_pages);
        for p in 0..lp {
            let va = key.va + p * PAGE;
            let v = if fetch {
                self.mem.get(&(key.asid, va)).copied().unwrap_or(0)
            } else {
                0
            };
            let w = self.word(slot, va);
            self.frames[w] = v;
        }
        self.frame_line[slot.0 as usize] = Some(line);
        let source = if fetch {
            self.stats.fetches += 1;
            Source::Fetched
        } else {
            Source::Zeroed
        };
        match self.cache.filled(slot, source, write).map_err(err)? {
            Filled::Map => {
                self.pt.insert(line, (slot, write));
            }
            Filled::Discarded => return Err("fill discarded in a single-threaded run".into()),
        }
        let set = self.cache.set_of(key);
        let n = self.cache.needs_reclaim(set).map_err(err)?;
        if n > 0 {
            self.pick(set, n)?;
        }
        Ok(())
    }

    /// Picks victims in `set` and clears their PTEs (the TLB keeps its entries).
    fn pick(&mut self, set: u32, n: u32) -> Result<u32, String> {
        self.victims.clear();
        let k = self
            .cache
            .pick_victims(set, n, &mut self.victims)
            .map_err(err)?;
        for v in &self.victims {
            self.pt.remove(&(v.key.asid, v.key.va));
        }
        Ok(k)
    }

    /// Takes the pending victims, flushes the TLB once, writes back the dirty ones (riding on
    /// the miss request to `miss_owner` if any and not yet used), confirms. Returns whether
    /// there was anything.
    fn flush_all(&mut self, miss_owner: Option<u32>, rode: &mut bool) -> Result<bool, String> {
        self.victims.clear();
        let Some(t) = self.cache.take_flush_batch(&mut self.victims) else {
            return Ok(false);
        };
        self.tlb.clear();
        self.stats.tlb_flushes += 1;
        let dirty: Vec<Victim> = self.victims.iter().copied().filter(|v| v.dirty).collect();
        let owners: Vec<u32> = dirty.iter().map(|v| self.owner(v.key)).collect();
        let riders = if *rode { 0 } else { self.config.max_riders };
        self.plan
            .compute(&owners, miss_owner, riders, self.config.per_message);
        let n = self.plan.riders().len();
        *rode |= n > 0;
        self.stats.riders += n as u64;
        self.stats.flush_messages += self.plan.messages.len() as u64;
        self.cache.note_piggybacked(n as u64);
        for k in 0..self.plan.order.len() {
            let i = self.plan.order[k];
            self.write_back(dirty[i]);
        }
        let slots: Vec<Slot> = self.victims.iter().map(|v| v.slot).collect();
        self.cache.victims_flushed(t, slots).map_err(err)?;
        Ok(true)
    }

    fn write_back(&mut self, v: Victim) {
        self.stats.writebacks += 1;
        for p in 0..u64::from(self.config.cache.line_pages) {
            let va = v.key.va + p * PAGE;
            let w = self.word(v.slot, va);
            self.mem.insert((v.key.asid, va), self.frames[w]);
        }
        self.mem_lines.insert((v.key.asid, v.key.va));
    }

    /// munmap of the lines overlapping `va` (whole lines: the data of every page of them is
    /// dropped, and reads as zero afterwards).
    pub fn munmap(&mut self, asid: u32, va: Range<u64>) -> Result<(), String> {
        if va.start >= va.end {
            return Ok(());
        }
        let lb = self.cache.line_bytes();
        let lines = (va.start / lb * lb)..(va.end - 1) / lb * lb + lb;
        self.victims.clear();
        let t = self.cache.invalidate(asid, va, &mut self.victims);
        self.forget(|&(a, x)| a == asid && lines.contains(&x));
        if let Some(t) = t {
            let slots: Vec<Slot> = self.victims.iter().map(|v| v.slot).collect();
            self.cache.victims_flushed(t, slots).map_err(err)?;
        }
        Ok(())
    }

    /// The process exits: every line of it is dropped.
    pub fn exit(&mut self, asid: u32) -> Result<(), String> {
        self.victims.clear();
        let t = self.cache.drop_asid(asid, &mut self.victims);
        self.forget(|&(a, _)| a == asid);
        if let Some(t) = t {
            let slots: Vec<Slot> = self.victims.iter().map(|v| v.slot).collect();
            self.cache.victims_flushed(t, slots).map_err(err)?;
        }
        Ok(())
    }

    /// Clears the PTEs of the matching lines, flushes the TLB, drops their data everywhere.
    fn forget(&mut self, f: impl Fn(&Line) -> bool) {
        self.pt.retain(|l, _| !f(l));
        self.tlb.clear();
        self.stats.tlb_flushes += 1;
        let lb = self.cache.line_bytes();
        let line_of = |&(a, va): &Line| (a, va / lb * lb);
        self.mem.retain(|p, _| !f(&line_of(p)));
        self.truth.retain(|p, _| !f(&line_of(p)));
        self.mem_lines.retain(|l| !f(l));
    }

    /// The TLB loses the entry of one line (hardware capacity): `pick` chooses which.
    pub fn tlb_drop(&mut self, pick: usize) {
        if self.tlb.is_empty() {
            return;
        }
        if let Some(&k) = self.tlb.keys().nth(pick % self.tlb.len()) {
            self.tlb.remove(&k);
        }
    }

    /// Checks the cache's invariants and the glue's: every PTE maps a valid line to its own
    /// slot, writable only if dirty; every TLB entry reaches a slot that still holds its line,
    /// valid or picked but not yet flushed.
    pub fn verify(&self) -> Result<(), String> {
        self.cache.verify().map_err(String::from)?;
        for (&(asid, va), &(slot, w)) in &self.pt {
            let st = self.cache.state(slot).map_err(err)?;
            let key = self.cache.key_of(slot).map_err(err)?;
            if key != Some(Key { asid, va }) || !matches!(st, State::Clean | State::Dirty) {
                return Err(format!(
                    "PTE {asid}:{va:#x} -> slot {} in {st:?} with {key:x?}",
                    slot.0
                ));
            }
            if w && st != State::Dirty {
                return Err(format!("PTE {asid}:{va:#x} writable on a clean line"));
            }
        }
        for (&(asid, va), &(slot, _)) in &self.tlb {
            let st = self.cache.state(slot).map_err(err)?;
            let key = self.cache.key_of(slot).map_err(err)?;
            let ok = matches!(st, State::Clean | State::Dirty | State::Evicting { .. });
            if key != Some(Key { asid, va }) || !ok {
                return Err(format!(
                    "TLB {asid}:{va:#x} -> slot {} in {st:?} with {key:x?}",
                    slot.0
                ));
            }
        }
        Ok(())
    }
}

fn err(e: Error) -> String {
    format!("{e}")
}
