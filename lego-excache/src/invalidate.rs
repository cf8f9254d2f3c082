//! Lines leaving the cache because their memory went away or changed at the owner: munmap,
//! madvise(DONTNEED), mremap, exit.

use alloc::vec::Vec;
use core::ops::Range;

use crate::slots::St;
use crate::{Cache, Ticket, Victim};

impl Cache {
    /// Every line of `asid` overlapping the bytes `va` leaves the cache. Valid lines and picked
    /// victims go into a new flush batch, appended to `out` with their dirty bit (in no
    /// particular order); returns its ticket, `None` if there were none. The glue clears
    /// their PTEs, does one TLB flush, writes back the dirty ones it wants kept (mremap,
    /// msync, and the rest of a partly covered line when lines span several pages) or drops
    /// them (munmap, exit), and confirms with [`Cache::victims_flushed`].
    ///
    /// Lines being filled are discarded when their fill completes; lines already in a flush
    /// batch stay there (the glue is finishing it) but leave the index.
    pub fn invalidate(
        &mut self,
        asid: u32,
        va: Range<u64>,
        out: &mut Vec<Victim>,
    ) -> Option<Ticket> {
        if va.start >= va.end {
            return None;
        }
        let (first, last) = (va.start >> self.shift, (va.end - 1) >> self.shift);
        let mut ticket = None;
        // A short range looks its lines up; a long one scans the slots.
        if last - first < u64::from(self.slots.len() / 4) {
            let mut line = first;
            loop {
                if let Some(s) = self.slots.find(asid, line) {
                    self.invalidate_slot(s, &mut ticket, out);
                }
                if line == last {
                    break;
                }
                line += 1;
            }
        } else {
            self.invalidate_where(out, &mut ticket, |c, s| {
                c.slots.asid(s) == asid && (first..=last).contains(&c.slots.line(s))
            });
        }
        ticket.map(Ticket)
    }

    /// Every line of `asid` leaves the cache (the process exited): as [`Cache::invalidate`]
    /// over its whole address space. O(slots).
    pub fn drop_asid(&mut self, asid: u32, out: &mut Vec<Victim>) -> Option<Ticket> {
        let mut ticket = None;
        self.invalidate_where(out, &mut ticket, |c, s| c.slots.asid(s) == asid);
        ticket.map(Ticket)
    }

    fn invalidate_where(
        &mut self,
        out: &mut Vec<Victim>,
        ticket: &mut Option<u32>,
        matches: impl Fn(&Cache, u32) -> bool,
    ) {
        for s in 0..self.slots.len() {
            if self.slots.indexed(s) && matches(self, s) {
                self.invalidate_slot(s, ticket, out);
            }
        }
    }

    fn invalidate_slot(&mut self, s: u32, ticket: &mut Option<u32>, out: &mut Vec<Victim>) {
        match self.slots.st(s) {
            St::Valid | St::Evicting => {
                let t = match *ticket {
                    Some(t) => t,
                    None => *ticket.insert(self.new_ticket()),
                };
                let v = self.victim(s);
                self.slots.start_flushing(s, t);
                self.slots.set_gone(s);
                if v.dirty {
                    self.stats.invalidated_dirty += 1;
                } else {
                    self.stats.invalidated_clean += 1;
                }
                out.push(v);
            }
            St::Filling | St::Flushing => self.slots.set_gone(s),
            St::Free => {}
        }
    }
}
