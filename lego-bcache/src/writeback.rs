//! Write-back: runs of dirty pages to the backend, fsync of a file, sync of all files.
//!
//! A run is a range of contiguous dirty pages of one file, at most one backend request long;
//! its frames are copied into the scratch buffer and written with one request, cut at the
//! file's size, so the backend never gets bytes past the end of file. Only after the backend
//! accepted the write do the pages become clean: a failed write leaves them dirty.

use alloc::vec::Vec;

use crate::backend::{Backend, FileKey, PAGE, PAGE_U64};
use crate::slots::State;
use crate::{Cache, Error};

impl Cache {
    /// Pages per backend request: the backend's limit, capped by the configuration, at
    /// least one.
    pub(crate) fn io_pages<B: Backend>(&self, b: &B) -> usize {
        (b.max_io() / PAGE).clamp(1, (self.config.max_io_pages as usize).max(1))
    }

    /// Makes the scratch buffer at least `pages` pages long.
    pub(crate) fn ensure_scratch(&mut self, pages: usize) {
        let len = pages * PAGE;
        if self.scratch.len() < len {
            self.scratch.resize(len, 0);
        }
    }

    /// Writes back the dirty pages `start..end` of file `id` with one backend write (the range
    /// must be at most `io_pages` long; it stops early at a page that is not dirty). With
    /// `sync` the write also fsyncs the file; returns whether that happened (not if the run
    /// was cut to nothing at the file's size).
    pub(crate) fn write_run<B: Backend>(
        &mut self,
        b: &mut B,
        id: u32,
        start: u64,
        end: u64,
        sync: bool,
    ) -> Result<bool, Error<B::Error>> {
        let mut run = core::mem::take(&mut self.run);
        run.clear();
        for p in start..end {
            match self.slots.lookup(id, p) {
                Some(s) if self.slots.state(s) == State::Dirty => run.push(s),
                _ => break,
            }
        }
        self.ensure_scratch(run.len());
        for (i, &s) in run.iter().enumerate() {
            self.scratch[i * PAGE..(i + 1) * PAGE].copy_from_slice(&self.arena[s as usize]);
        }
        let st = self.files.get(id);
        let offset = start * PAGE_U64;
        let len = (run.len() as u64 * PAGE_U64).min(st.size.saturating_sub(offset)) as usize;
        if len > 0 {
            let key = self.files.key(id);
            self.stats.writeback_requests += 1;
            let data = &self.scratch[..len];
            let r = if sync {
                self.stats.fsyncs += 1;
                b.write_sync(key, offset, data)
            } else {
                b.write(key, offset, data)
            };
            if let Err(e) = r {
                self.run = run;
                return Err(Error::Backend(e));
            }
        }
        // Reverse order: the run's first page ends up coldest, and is evicted first.
        for &s in run.iter().rev() {
            self.slots.set_clean_cold(s);
        }
        self.stats.writeback_pages += run.len() as u64;
        let st = self.files.get_mut(id);
        st.disk_size = st.disk_size.max(offset + len as u64);
        let synced = sync && len > 0;
        st.unsynced = (st.unsynced || len > 0) && !synced;
        self.run = run;
        Ok(synced)
    }

    /// Writes back every dirty page of file `id`, in ascending order, contiguous pages
    /// coalesced. Stops at the first error. With `sync` the last write also fsyncs the file;
    /// returns whether that happened.
    pub(crate) fn flush_file<B: Backend>(
        &mut self,
        b: &mut B,
        id: u32,
        sync: bool,
    ) -> Result<bool, Error<B::Error>> {
        let mut dirty: Vec<u64> = self
            .slots
            .file_slots(self.files.get(id).head)
            .filter(|&s| self.slots.state(s) == State::Dirty)
            .map(|s| self.slots.page(s))
            .collect();
        dirty.sort_unstable();
        let max = self.io_pages(b);
        let mut i = 0;
        let mut synced = false;
        while i < dirty.len() {
            let mut j = i + 1;
            while j < dirty.len() && j - i < max && dirty[j] == dirty[j - 1] + 1 {
                j += 1;
            }
            let last = j == dirty.len();
            synced = self.write_run(b, id, dirty[i], dirty[j - 1] + 1, sync && last)?;
            i = j;
        }
        Ok(synced)
    }

    /// Writes back file `id` and fsyncs it at the backend (with the last write-back, if
    /// there is one).
    fn sync_one<B: Backend>(&mut self, b: &mut B, id: u32) -> Result<(), Error<B::Error>> {
        if self.flush_file(b, id, true)? {
            self.synced(id);
            return Ok(());
        }
        self.backend_fsync(b, id)
    }

    /// File `id` was fsynced at the backend: it is no longer unsynced, and its state is
    /// dropped if it has no pages.
    fn synced(&mut self, id: u32) {
        self.files.get_mut(id).unsynced = false;
        if id != self.pinned {
            self.release_file(id);
        }
    }

    /// Fsyncs file `id` at the backend; on success it is no longer unsynced (and its state is
    /// dropped if it has no pages).
    pub(crate) fn backend_fsync<B: Backend>(
        &mut self,
        b: &mut B,
        id: u32,
    ) -> Result<(), Error<B::Error>> {
        self.stats.fsyncs += 1;
        b.fsync(self.files.key(id)).map_err(Error::Backend)?;
        self.synced(id);
        Ok(())
    }

    pub(crate) fn fsync_file<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
    ) -> Result<(), Error<B::Error>> {
        match self.files.find(f) {
            Some(id) => self.sync_one(b, id),
            // Nothing cached, but earlier write-backs may not be durable yet: always fsync.
            None => {
                self.stats.fsyncs += 1;
                b.fsync(f).map_err(Error::Backend)
            }
        }
    }

    pub(crate) fn sync_files<B: Backend>(&mut self, b: &mut B) -> Result<(), Error<B::Error>> {
        let ids: Vec<u32> = self.files.ids().collect();
        let mut first = Ok(());
        for id in ids {
            if !self.files.is_live(id) {
                continue;
            }
            let st = self.files.get(id);
            let dirty = self
                .slots
                .file_slots(st.head)
                .any(|s| self.slots.state(s) == State::Dirty);
            if !dirty && !st.unsynced {
                continue;
            }
            if let Err(e) = self.sync_one(b, id) {
                first = first.and(Err(e));
            }
        }
        first
    }
}
