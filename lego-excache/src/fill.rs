//! The fault path: looking a line up, allocating a slot for a miss, completing the fill,
//! and what the glue observes of the program's use of a line (touch, write upgrade).

use crate::config::Policy;
use crate::slots::St;
use crate::{Cache, Error, Filled, Key, Lookup, Slot, Source};

impl Cache {
    /// The fault path's lookup of the line containing `key` (counts a hit, rescue, busy or
    /// miss). A picked victim not yet in a flush batch is taken back ([`Lookup::Rescued`]).
    pub fn lookup(&mut self, key: Key) -> Lookup {
        let Some(s) = self.slots.find(key.asid, key.va >> self.shift) else {
            self.stats.misses += 1;
            return Lookup::Miss;
        };
        match self.slots.st(s) {
            St::Valid => {
                self.stats.hits += 1;
                Lookup::Hit(Slot(s))
            }
            St::Evicting => {
                self.slots.rescue(s);
                self.stats.rescues += 1;
                Lookup::Rescued(Slot(s))
            }
            St::Filling | St::Flushing | St::Free => {
                self.stats.busy += 1;
                Lookup::Busy(Slot(s))
            }
        }
    }

    /// Takes a free slot of the key's set for a miss on it: the slot is `Filling` and the key
    /// indexed. [`Error::Full`] if the set has no free slot; [`Error::Present`] if the line is
    /// already in the cache (look it up first).
    pub fn alloc(&mut self, key: Key) -> Result<Slot, Error> {
        let line = key.va >> self.shift;
        if let Some(s) = self.slots.find(key.asid, line) {
            return Err(Error::Present {
                slot: Slot(s),
                state: self.state_of(s),
            });
        }
        let set = self.set_of(key);
        self.slots
            .take_free(set, key.asid, line)
            .map(Slot)
            .ok_or(Error::Full { set })
    }

    /// The data of a `Filling` slot is in its frame (from `source`); `dirty` if the fault was
    /// a write (the glue maps it writable). The line becomes valid, newest of its set; or, if
    /// it was invalidated meanwhile, the slot is freed ([`Filled::Discarded`]: it was never
    /// mapped, so no TLB flush is needed).
    pub fn filled(&mut self, slot: Slot, source: Source, dirty: bool) -> Result<Filled, Error> {
        let s = self.check(slot)?;
        if self.slots.st(s) != St::Filling {
            return Err(self.wrong_state(s));
        }
        if self.slots.gone(s) {
            self.slots.release(s);
            self.stats.discarded_fills += 1;
            return Ok(Filled::Discarded);
        }
        self.slots.make_valid(s, dirty);
        self.stats.fills += 1;
        if source == Source::Zeroed {
            self.stats.plocal_fills += 1;
        }
        Ok(Filled::Map)
    }

    /// The fill of a `Filling` slot failed (its owner did not answer): the slot is free again
    /// and the line not cached.
    pub fn fill_failed(&mut self, slot: Slot) -> Result<(), Error> {
        let s = self.check(slot)?;
        if self.slots.st(s) != St::Filling {
            return Err(self.wrong_state(s));
        }
        self.slots.release(s);
        self.stats.failed_fills += 1;
        Ok(())
    }

    /// A valid line was written (a write fault upgraded its PTE): it must be written back
    /// when it leaves. Idempotent. Does not count as a use: call [`Cache::touch`] too.
    pub fn mark_dirty(&mut self, slot: Slot) -> Result<(), Error> {
        let s = self.check(slot)?;
        if self.slots.st(s) != St::Valid {
            return Err(self.wrong_state(s));
        }
        self.slots.set_dirty(s);
        Ok(())
    }

    /// The glue observed a use of a valid line (a hit on the fault path, a write upgrade).
    /// Under LRU the line becomes the newest of its set (O(1)); FIFO and Random ignore it.
    pub fn touch(&mut self, slot: Slot) -> Result<(), Error> {
        let s = self.check(slot)?;
        if self.slots.st(s) != St::Valid {
            return Err(self.wrong_state(s));
        }
        if self.config.policy == Policy::Lru {
            self.slots.move_to_tail(s);
        }
        Ok(())
    }
}
