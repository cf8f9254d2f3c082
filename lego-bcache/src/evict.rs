//! Finding a frame for a new page: a free one, else the coldest clean page, else write back
//! the coldest dirty run whose storage is reachable and take the coldest of its pages (or a
//! frame its failed write-back freed).

use crate::backend::Backend;
use crate::slots::State;
use crate::writeback::Wrote;
use crate::{Cache, Error};

impl Cache {
    /// A `Held` slot for a new page. Fails only if every dirty page that could be written back
    /// belongs to a storage component that is unreachable (that transient error), or the arena
    /// is empty. A write-back that fails for good drops its pages (the error goes to their
    /// file, not to this operation) and frees their frames.
    pub(crate) fn alloc<B: Backend>(&mut self, b: &mut B) -> Result<u32, Error<B::Error>> {
        for _ in 0..self.slots.capacity() + 2 {
            if let Some(s) = self.slots.take_free() {
                return Ok(s);
            }
            if let Some(s) = self.slots.coldest(State::Clean) {
                self.evict(s);
                return Ok(s);
            }
            if self.write_back_one(b, false)?.is_none() {
                break;
            }
        }
        Err(Error::NoCapacity)
    }

    /// Drops the clean page in slot `s`, which becomes `Held`; its file's state goes too if it
    /// has nothing else cached (unless it is the file of the current operation).
    fn evict(&mut self, s: u32) {
        let id = self.slots.file(s);
        let st = self.files.get_mut(id);
        self.slots.remove(s, &mut st.head);
        st.pages -= 1;
        self.stats.evictions += 1;
        if st.pages == 0 && id != self.pinned {
            self.release_file(id);
        }
    }

    /// Writes back the coldest dirty run whose storage has not failed in this operation (for
    /// write-behind, `behind`: with an fsync when one is due). Returns its pages once one was
    /// written back (or dropped for good); `None` if no dirty page is left to try; the last
    /// transient error if every run tried failed (their storages are then passed over until
    /// the operation ends).
    pub(crate) fn write_back_one<B: Backend>(
        &mut self,
        b: &mut B,
        behind: bool,
    ) -> Result<Option<usize>, Error<B::Error>> {
        let mut d = self.slots.coldest(State::Dirty);
        let mut last = None;
        // Each step either moves on along the list or starts over after a restart, which
        // happens at most a few times: bounded all the same.
        for _ in 0..2 * self.slots.capacity() + 4 {
            let Some(x) = d else { break };
            let id = self.slots.file(x);
            if self.store_down(id) {
                d = self.slots.lru_next(x);
                continue;
            }
            match self.write_back_around(b, x, behind) {
                Ok((Wrote::Retry, _)) => d = self.slots.coldest(State::Dirty),
                Ok((_, n)) => return Ok(Some(n)),
                Err(e) => {
                    self.set_store_down(id);
                    last = Some(e);
                    d = self.slots.lru_next(x);
                }
            }
        }
        match last {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    /// Writes back the run of contiguous dirty pages of one file around the dirty page in slot
    /// `d`, at most one backend request long; with `behind`, with an fsync if one is due.
    fn write_back_around<B: Backend>(
        &mut self,
        b: &mut B,
        d: u32,
        behind: bool,
    ) -> Result<(Wrote, usize), Error<B::Error>> {
        let (id, p) = (self.slots.file(d), self.slots.page(d));
        let max = self.io_pages(b) as u64;
        let mut start = p;
        while start > 0 && p + 1 - start < max && self.slots.is_dirty(id, start - 1) {
            start -= 1;
        }
        let mut end = p + 1;
        while end - start < max && self.slots.is_dirty(id, end) {
            end += 1;
        }
        let sync = behind && self.sync_due(id, (end - start) as usize);
        self.write_run(b, id, start, end, sync)
    }
}
