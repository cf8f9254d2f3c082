//! Eviction in batches: keeping a reserve of free slots per set, picking victims, handing
//! them out in flush batches and taking the glue's confirmation that a batch is flushed.

use alloc::vec::Vec;

use crate::policy::choose;
use crate::slots::St;
use crate::{Cache, Error, Slot, Ticket, Victim};

impl Cache {
    /// How many victims to pick in `set` so that it has `reserve` slots free or on their way
    /// to free (0: none needed, or nothing valid to pick). Call it after a miss in `set`.
    pub fn needs_reclaim(&self, set: u32) -> Result<u32, Error> {
        if set >= self.sets {
            return Err(Error::BadSet(set));
        }
        let sm = self.slots.set(set);
        Ok(self
            .config
            .reserve
            .saturating_sub(sm.nfree + sm.nevicting)
            .min(sm.nvalid))
    }

    /// Picks up to `n` victims of `set` by the policy, among its valid lines only (never a
    /// line being filled, evicted or flushed), and appends them to `out`; returns how many.
    /// They are `Evicting`: the glue clears their PTEs now, and the frames wait for a flush
    /// batch ([`Cache::take_flush_batch`]).
    pub fn pick_victims(&mut self, set: u32, n: u32, out: &mut Vec<Victim>) -> Result<u32, Error> {
        if set >= self.sets {
            return Err(Error::BadSet(set));
        }
        let mut k = 0;
        while k < n {
            let Some(s) = choose(
                &self.slots,
                self.config.policy,
                &mut self.rng,
                set,
                self.config.ways,
            ) else {
                break;
            };
            self.slots.start_evicting(s);
            out.push(self.victim(s));
            k += 1;
        }
        if k > 0 {
            self.stats.victim_batches += 1;
            self.stats.picked += u64::from(k);
        }
        Ok(k)
    }

    /// Picked victims waiting for a flush batch.
    pub fn pending(&self) -> u32 {
        self.slots.counts()[4]
    }

    /// Whether `flush_batch` victims are waiting: time for one TLB flush.
    pub fn flush_due(&self) -> bool {
        self.pending() >= self.config.flush_batch
    }

    /// Moves every picked victim (in pick order) into a new flush batch, appended to `out`,
    /// and returns its ticket (`None` if there was none). The glue then does ONE TLB flush,
    /// writes the dirty ones back and confirms with [`Cache::victims_flushed`].
    pub fn take_flush_batch(&mut self, out: &mut Vec<Victim>) -> Option<Ticket> {
        self.slots.pending_head()?;
        let t = self.new_ticket();
        while let Some(s) = self.slots.pending_head() {
            let v = self.victim(s);
            self.slots.start_flushing(s, t);
            if v.dirty {
                self.stats.evicted_dirty += 1;
            } else {
                self.stats.evicted_clean += 1;
            }
            out.push(v);
        }
        Some(Ticket(t))
    }

    /// The TLB flush of batch `ticket` is done and the dirty lines of `slots` written back
    /// (or dropped, for invalidated lines): their slots are free. Every slot is checked on its
    /// own (in batch `ticket`, `Flushing`); the first refused one is reported.
    pub fn victims_flushed(
        &mut self,
        ticket: Ticket,
        slots: impl IntoIterator<Item = Slot>,
    ) -> Result<(), Error> {
        let mut first = Ok(());
        for slot in slots {
            let r = self.flushing_slot(ticket, slot).map(|s| {
                if self.slots.dirty(s) && !self.slots.gone(s) {
                    self.stats.writebacks += 1;
                }
                self.slots.release(s);
            });
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// The write-back of `slot` in batch `ticket` failed (its owner did not answer): the line
    /// goes back into the cache, valid and unmapped, newest of its set, so nothing is lost; a
    /// later eviction tries again. An invalidated line is freed instead.
    pub fn flush_failed(&mut self, ticket: Ticket, slot: Slot) -> Result<(), Error> {
        let s = self.flushing_slot(ticket, slot)?;
        if self.slots.dirty(s) {
            self.stats.failed_writebacks += 1;
        }
        if self.slots.gone(s) {
            self.slots.release(s);
        } else {
            self.slots.unflush(s);
        }
        Ok(())
    }

    fn flushing_slot(&self, ticket: Ticket, slot: Slot) -> Result<u32, Error> {
        let s = self.check(slot)?;
        if self.slots.st(s) != St::Flushing {
            return Err(self.wrong_state(s));
        }
        let t = self.slots.ticket(s);
        if t != ticket.0 {
            return Err(Error::WrongTicket {
                slot,
                ticket: Ticket(t),
            });
        }
        Ok(s)
    }
}
