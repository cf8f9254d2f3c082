//! `lego-excache`: the ExCache of a LegoOS processor component (pComponent).
//!
//! A program's memory lives at memory components; the pComponent keeps the lines it uses in
//! frames reserved at boot, organised as a set-associative cache of lines of the process's
//! virtual memory (paper §4.3.2, §5.3). This crate is the cache's bookkeeping, without the
//! hardware: which slot (group of frames) holds which line, in what state, which lines to
//! evict and when a TLB flush is due. The glue in the process monitor maps slots to frames,
//! edits page tables, flushes the TLB and does the RPCs, calling this crate between steps.
//!
//! # Why a batch protocol
//!
//! On our host a TLB flush inside the guest costs 17-19 µs, as much as the trap itself
//! (PLATFORM.md, "The floor of an ExCache miss here"). Evicting one line per miss with its
//! own flush adds ~20 µs to every miss; one flush per 16 evictions brought that down to ~4.
//! So victims are picked ahead of demand, their PTEs cleared, and one flush later covers many
//! of them. Until that flush, a victim's frame may still be reached through a stale TLB entry,
//! so it must not be reused; and its data must be read for the write-back only after the
//! flush, when no one can write it any more. The states below make both rules explicit.
//!
//! # A slot's states
//!
//! ```text
//!            alloc                filled
//!   Free ─────────────► Filling ─────────────► Clean ──── mark_dirty ───► Dirty
//!   ▲ ▲                  │                     │   ▲                      │
//!   │ └──────────────────┘ fill_failed;        │   │ lookup (rescue),     │
//!   │                      filled after        │   │ flush_failed         │
//!   │                      invalidate          ▼   │                      │
//!   │                                     pick_victims ◄──────────────────┘
//!   │                                          │
//!   │                                          ▼
//!   │                                      Evicting
//!   │                                          │ take_flush_batch
//!   │          victims_flushed                 ▼
//!   └───────────────────────────────────── Flushing ◄── invalidate, drop_asid
//!                                                       (from Clean, Dirty, Evicting)
//! ```
//!
//! Arrows into Clean/Dirty land on the one matching the line's dirty bit (`filled` takes it;
//! a rescued or failed victim keeps its own).
//!
//! * `Filling`: allocated for a miss in flight. Its key is in the index, so a second fault on
//!   the line sees [`Lookup::Busy`] instead of fetching it twice; it is never a victim.
//! * `Clean` / `Dirty`: valid. A valid line need not be mapped: the glue maps it on a hit.
//! * `Evicting`: picked as a victim ([`Cache::pick_victims`]); the glue clears its PTE at once.
//!   Its frame still holds the line, so a fault on it before the flush *rescues* it
//!   ([`Lookup::Rescued`]: the glue maps the same frame again; nothing is fetched). This is
//!   what makes a reserve of victims ahead of demand cheap: a victim picked too early costs a
//!   trap, not a fetch. Its key stays in the index, so the line is never fetched from its owner
//!   while its only up-to-date copy is here.
//! * `Flushing` ("awaiting TLB flush"): in a flush batch under a [`Ticket`]
//!   ([`Cache::take_flush_batch`], [`Cache::invalidate`]). The glue does ONE TLB flush for the
//!   batch, then writes the dirty ones back (one may ride on a miss request, see
//!   [`piggyback`]), then confirms with [`Cache::victims_flushed`]: only then is the frame
//!   free. A fault on the line meanwhile sees [`Lookup::Busy`]. A confirmation must carry the
//!   batch's ticket, so a late or duplicated one cannot free a slot reused since.
//!
//! Invalidated lines (munmap, madvise, exit) leave the index at once ("gone") but their frames
//! still wait for the flush of their batch; a line invalidated while `Filling` is discarded
//! when its fill completes ([`Filled::Discarded`]).
//!
//! # The glue's miss path
//!
//! ```text
//! fault(asid, va, write):
//!   match lookup(key):
//!     Hit(s) | Rescued(s) => touch(s); if write { mark_dirty(s) }; map s; return
//!     Busy(_)             => wait for the other fault or the flush batch; retry
//!     Miss                => {}
//!   s = loop { match alloc(key) {
//!         Ok(s) => break s,
//!         Err(Full { set }) => { if set_counts(set).evicting == 0 { pick_victims(set, n); clear their PTEs }
//!                                flush_all(owner of key) } } }
//!   if flush_due() { flush_all(owner of key) }           // before the fetch, so a write-back can ride on it
//!   fetch the line into frame(s) (riders attached), or zero it (p-local)
//!   filled(s, source, write) == Map => map s
//!   n = needs_reclaim(set); if n > 0 { pick_victims(set, n); clear their PTEs }
//!
//! flush_all(miss owner):
//!   t = take_flush_batch(&mut batch); ONE TLB flush; plan the dirty ones' write-backs
//!   (piggyback::Plan); send them; victims_flushed(t, batch slots)
//! ```
//!
//! [`testing::Sim`] is that glue over a simulated page table, TLB (whose entries survive a
//! cleared PTE until a flush) and memory component; the property tests run random programs
//! on it and check every read.
//!
//! # Choices, and why
//!
//! * Victims stay in the tag index until their frame is free. Unindexing them at pick time
//!   would let a fault on a dirty victim fetch the line from its owner before the write-back
//!   arrived there, and lose the program's writes; keeping them indexed costs nothing and
//!   turns such a fault into a rescue.
//! * One global pending list, not one batch per set: a set's reserve can be a single slot
//!   while a TLB flush still covers `flush_batch` victims from all sets. Per-set batches of
//!   16 would hold ~8 of a 64-way set's lines free on average (1/8 of the cache).
//! * Confirmations carry a ticket: the only protection against freeing a frame before the
//!   flush that covers it is the glue confirming the right batch, so the cache checks it.
//! * FIFO and LRU share one order list per set; FIFO ignores touches, LRU moves the line to
//!   the tail (O(1)). The glue only sees faults, so this LRU orders by faults (fills, write
//!   upgrades, rescues); an accessed-bit sweep would be the glue's addition.
//! * The glue does the I/O: the crate has no `Home` trait, because the glue must interleave
//!   PTE edits and TLB flushes between the cache's steps anyway.
//!
//! # Sets
//!
//! Slot `i` is way `i % ways` of set `i / ways`; a line's set is [`set_index`] of its process
//! id and line number (virtual address / line size): modulo within aligned blocks of `sets`
//! lines, each block rotated by a hash of the block and the process id (see `setmap.rs` for
//! why). Lines can span 1 to 512 pages; slot `i` then stands for frames
//! `i * line_pages ..` of the arena.
//!
//! # Memory
//!
//! Per slot 24 bytes of metadata plus 4 to 8 bytes of tag index (one `u32` bucket per slot,
//! rounded up to a power of two): 28-32 bytes per line, 0.7-0.8 % of a 4 KiB line. Per set 24
//! bytes. All of it is allocated by [`Cache::new`] (which reports [`ConfigError::OutOfMemory`]
//! instead of aborting); nothing is allocated afterwards, except by the caller's output
//! vectors (reserve them once).
//!
//! Limits: single-threaded (`&mut self`): the glue holds one lock around each call; per-set
//! locks are a later performance issue. At most [`MAX_SLOTS`] slots.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod config;
mod error;
mod evict;
mod fill;
mod invalidate;
pub mod piggyback;
mod policy;
mod setmap;
mod slots;
mod stats;
pub mod testing;

pub use config::{Config, ConfigError, MAX_LINE_PAGES, MAX_SLOTS, PAGE_SHIFT, Policy};
pub use error::Error;
pub use policy::{PROBES, Rng};
pub use setmap::{mix64, set_index};
pub use stats::{SetCounts, Stats};

use core::fmt;

use slots::{NIL, Slots, St};

/// A slot: a line's place in the arena (frames `i * line_pages ..`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot(pub u32);

/// A flush batch: confirmations ([`Cache::victims_flushed`]) must name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(pub u32);

/// A line of a process: its process id and virtual address. Addresses handed to the cache
/// may point anywhere in the line; addresses it returns are the line's first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// Process (address-space) id.
    pub asid: u32,
    /// Virtual address.
    pub va: u64,
}

/// A line leaving the cache: the glue clears its PTE(s) and, after the TLB flush, writes it
/// back if `dirty` (and wanted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Victim {
    /// Its slot.
    pub slot: Slot,
    /// Its line (address aligned to the line).
    pub key: Key,
    /// Whether it holds data its owner does not have.
    pub dirty: bool,
}

/// What a slot is doing (see the crate documentation for the transitions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Unused; its frame may be reused.
    Free,
    /// Allocated for a miss in flight.
    Filling,
    /// Valid, same data as its owner.
    Clean,
    /// Valid, written since it was fetched.
    Dirty,
    /// Picked as a victim, PTE cleared, waiting for a flush batch (rescuable).
    Evicting {
        /// Whether it is dirty.
        dirty: bool,
    },
    /// In a flush batch: waiting for the TLB flush and write-back confirmation.
    Flushing {
        /// Whether it is dirty.
        dirty: bool,
    },
}

/// Result of [`Cache::lookup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The line is valid in this slot: map it.
    Hit(Slot),
    /// The line was a picked victim not yet flushed: it is valid again in the same slot, map
    /// it (its frame still holds the data).
    Rescued(Slot),
    /// The line is being filled or flushed: wait for that to finish and look up again.
    Busy(Slot),
    /// Not cached.
    Miss,
}

/// Where a filled line's data came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Fetched from its owner mComponent.
    Fetched,
    /// Zero-filled locally: the first touch of anonymous memory ("p-local").
    Zeroed,
}

/// Result of [`Cache::filled`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filled {
    /// The line is valid: map it.
    Map,
    /// The line was invalidated while it was being filled: do not map it; the slot is free.
    Discarded,
}

/// The ExCache's bookkeeping. See the crate documentation.
pub struct Cache {
    config: Config,
    sets: u32,
    /// log2 of the line size in bytes.
    shift: u32,
    slots: Slots,
    rng: Rng,
    next_ticket: u32,
    stats: Stats,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// An empty cache (every slot free), after checking `config`.
    pub fn new(config: Config) -> Result<Cache, ConfigError> {
        let (sets, shift) = config.validate()?;
        let seed = match config.policy {
            Policy::Random { seed } => seed,
            Policy::Fifo | Policy::Lru => 0,
        };
        Ok(Cache {
            config,
            sets,
            shift,
            slots: Slots::new(config.slots, config.ways)?,
            rng: Rng::new(seed),
            next_ticket: 0,
            stats: Stats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Number of sets (`slots / ways`).
    pub fn sets(&self) -> u32 {
        self.sets
    }

    /// Line size in bytes.
    pub fn line_bytes(&self) -> u64 {
        1 << self.shift
    }

    /// The line containing `va` of `asid`, its address aligned to the line.
    pub fn line_key(&self, asid: u32, va: u64) -> Key {
        Key {
            asid,
            va: va >> self.shift << self.shift,
        }
    }

    /// The set of the line containing `key`.
    pub fn set_of(&self, key: Key) -> u32 {
        set_index(key.asid, key.va >> self.shift, self.sets)
    }

    /// The set a slot belongs to.
    pub fn slot_set(&self, slot: Slot) -> Result<u32, Error> {
        let s = self.check(slot)?;
        Ok(self.slots.set_of_slot(s))
    }

    /// A slot's state.
    pub fn state(&self, slot: Slot) -> Result<State, Error> {
        let s = self.check(slot)?;
        Ok(self.state_of(s))
    }

    /// The line a slot holds or is busy with; `None` if it is free or its line was
    /// invalidated.
    pub fn key_of(&self, slot: Slot) -> Result<Option<Key>, Error> {
        let s = self.check(slot)?;
        Ok(self.slots.indexed(s).then(|| self.key_at(s)))
    }

    /// The slot and state of the line containing `key`, without counting a hit or a miss or
    /// rescuing it (for the glue's bookkeeping, not for faults).
    pub fn peek(&self, key: Key) -> Option<(Slot, State)> {
        let s = self.slots.find(key.asid, key.va >> self.shift)?;
        Some((Slot(s), self.state_of(s)))
    }

    /// Occupancy of `set`.
    pub fn set_counts(&self, set: u32) -> Result<SetCounts, Error> {
        if set >= self.sets {
            return Err(Error::BadSet(set));
        }
        let sm = self.slots.set(set);
        Ok(SetCounts {
            free: sm.nfree,
            valid: sm.nvalid,
            evicting: sm.nevicting,
            busy: self.config.ways - sm.nfree - sm.nvalid - sm.nevicting,
        })
    }

    /// Counters and current occupancy.
    pub fn stats(&self) -> Stats {
        let [free, filling, clean, dirty, evicting, flushing] = self.slots.counts();
        Stats {
            free,
            filling,
            clean,
            dirty,
            evicting,
            flushing,
            ..self.stats
        }
    }

    /// Adds `n` to the piggybacked write-backs counter (the glue knows which rode on a miss).
    pub fn note_piggybacked(&mut self, n: u64) {
        self.stats.piggybacked = self.stats.piggybacked.saturating_add(n);
    }

    /// Checks every internal invariant (counts, lists, index, every live line in the set
    /// [`set_index`] gives it): O(slots), for tests and debugging.
    pub fn verify(&self) -> Result<(), &'static str> {
        self.slots.verify()?;
        for s in 0..self.slots.len() {
            if self.slots.st(s) != St::Free
                && set_index(self.slots.asid(s), self.slots.line(s), self.sets)
                    != self.slots.set_of_slot(s)
            {
                return Err("line in the wrong set");
            }
        }
        Ok(())
    }

    fn check(&self, slot: Slot) -> Result<u32, Error> {
        if slot.0 < self.slots.len() {
            Ok(slot.0)
        } else {
            Err(Error::BadSlot(slot))
        }
    }

    fn state_of(&self, s: u32) -> State {
        let dirty = self.slots.dirty(s);
        match self.slots.st(s) {
            St::Free => State::Free,
            St::Filling => State::Filling,
            St::Valid if dirty => State::Dirty,
            St::Valid => State::Clean,
            St::Evicting => State::Evicting { dirty },
            St::Flushing => State::Flushing { dirty },
        }
    }

    fn wrong_state(&self, s: u32) -> Error {
        Error::WrongState {
            slot: Slot(s),
            state: self.state_of(s),
        }
    }

    fn key_at(&self, s: u32) -> Key {
        Key {
            asid: self.slots.asid(s),
            va: self.slots.line(s) << self.shift,
        }
    }

    fn victim(&self, s: u32) -> Victim {
        Victim {
            slot: Slot(s),
            key: self.key_at(s),
            dirty: self.slots.dirty(s),
        }
    }

    fn new_ticket(&mut self) -> u32 {
        let t = self.next_ticket;
        // NIL is the "no ticket" value of a slot's link.
        self.next_ticket = match t.wrapping_add(1) {
            NIL => 0,
            n => n,
        };
        self.stats.tlb_flushes += 1;
        t
    }
}
