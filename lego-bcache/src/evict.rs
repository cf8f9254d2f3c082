//! Finding a frame for a new page: a free one, else the coldest clean page, else write back
//! the coldest dirty run and take the coldest of its pages.

use crate::backend::Backend;
use crate::slots::State;
use crate::{Cache, Error};

impl Cache {
    /// A `Held` slot for a new page. Fails only if a needed write-back fails (the dirty pages
    /// stay dirty) or the arena is empty.
    pub(crate) fn alloc<B: Backend>(&mut self, b: &mut B) -> Result<u32, Error<B::Error>> {
        if let Some(s) = self.slots.take_free() {
            return Ok(s);
        }
        if self.slots.count(State::Clean) == 0
            && let Some(d) = self.slots.coldest(State::Dirty)
        {
            self.write_back_around(b, d)?;
        }
        let s = self.slots.coldest(State::Clean).ok_or(Error::NoCapacity)?;
        self.evict(s);
        Ok(s)
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

    /// Writes back the run of contiguous dirty pages of one file around the dirty page in slot
    /// `d`, at most one backend request long.
    fn write_back_around<B: Backend>(&mut self, b: &mut B, d: u32) -> Result<(), Error<B::Error>> {
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
        self.write_run(b, id, start, end, false).map(|_| ())
    }
}
