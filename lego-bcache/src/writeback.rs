//! Write-back: runs of dirty pages to the backend, fsync of a file, sync of all files.
//!
//! A run is a range of contiguous dirty pages of one file, at most one backend request long;
//! its frames are copied into the scratch buffer and written with one request, cut at the
//! file's size, so the backend never gets bytes past the end of file. Only after the backend
//! accepted the write do the pages become clean. A write that fails transiently leaves them
//! dirty; one that fails for good drops them and records the error on the file. A write
//! during which the storage restarted may have reached either incarnation: its pages stay
//! dirty and are written again.

use alloc::vec::Vec;

use crate::backend::{Backend, FileKey, PAGE, PAGE_U64};
use crate::file::Fault;
use crate::slots::State;
use crate::{Cache, Error};

/// What became of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wrote {
    /// Written back: the pages are clean.
    Clean,
    /// Written back and the file fsynced with it.
    Synced,
    /// Failed for good: the pages are gone, the error is on the file.
    Dropped,
    /// The storage restarted meanwhile: the pages are still dirty.
    Retry,
}

/// How many times an fsync starts over after its storage restarted under it.
const RESTART_RETRIES: usize = 3;

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
    /// `sync` the write also fsyncs the file. Returns what became of the run and its length in
    /// pages; an error only if the backend failed transiently.
    pub(crate) fn write_run<B: Backend>(
        &mut self,
        b: &mut B,
        id: u32,
        start: u64,
        end: u64,
        sync: bool,
    ) -> Result<(Wrote, usize), Error<B::Error>> {
        let store = self.files.get(id).store;
        // A restart noticed now is handled before anything goes to the new incarnation.
        self.observe(b, store);
        let mut run = core::mem::take(&mut self.run);
        run.clear();
        for p in start..end {
            match self.slots.lookup(id, p) {
                Some(s) if self.slots.state(s) == State::Dirty => run.push(s),
                _ => break,
            }
        }
        let n = run.len();
        self.ensure_scratch(n);
        for (i, &s) in run.iter().enumerate() {
            self.scratch[i * PAGE..(i + 1) * PAGE].copy_from_slice(&self.arena[s as usize]);
        }
        let st = self.files.get(id);
        let offset = start * PAGE_U64;
        let len = (n as u64 * PAGE_U64).min(st.size.saturating_sub(offset)) as usize;
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
                if b.transient(&e) {
                    self.run = run;
                    return Err(Error::Backend(e));
                }
                self.stats.dropped_pages += n as u64;
                for &s in &run {
                    self.unmap(id, s);
                }
                self.run = run;
                self.record(id, Fault::Backend(b.error_code(&e)));
                return Ok((Wrote::Dropped, n));
            }
            if self.observe(b, store) {
                self.run = run;
                return Ok((Wrote::Retry, n));
            }
            self.consumed(store, len.div_ceil(PAGE) as u64);
        }
        // Reverse order: the run's first page ends up coldest, and is evicted first.
        for &s in run.iter().rev() {
            self.slots.set_clean_cold(s);
            self.count_dirty(id, false);
        }
        self.stats.writeback_pages += n as u64;
        let st = self.files.get_mut(id);
        st.disk_size = st.disk_size.max(offset + len as u64);
        let synced = sync && len > 0;
        st.unsynced = (st.unsynced || len > 0) && !synced;
        st.since_sync = if synced {
            0
        } else {
            st.since_sync.saturating_add(n as u32)
        };
        self.run = run;
        Ok((if synced { Wrote::Synced } else { Wrote::Clean }, n))
    }

    /// The dirty pages of file `id`, ascending; only the lowest `max` of them if given.
    fn dirty_pages(&self, id: u32, max: Option<usize>) -> Vec<u64> {
        let mut dirty: Vec<u64> = self
            .slots
            .file_slots(self.files.get(id).head)
            .filter(|&s| self.slots.state(s) == State::Dirty)
            .map(|s| self.slots.page(s))
            .collect();
        if let Some(m) = max
            && dirty.len() > m
        {
            if m == 0 {
                dirty.clear();
            } else {
                dirty.select_nth_unstable(m - 1);
                dirty.truncate(m);
            }
        }
        dirty.sort_unstable();
        dirty
    }

    /// Writes back the given dirty pages (ascending) of file `id`, contiguous pages coalesced.
    /// With `sync` the last write also fsyncs the file. Stops at a transient error, and at a
    /// restart of the storage (returning `Retry`). Returns what became of the last run (`Clean`
    /// if there was none) and the pages handled.
    fn write_pages<B: Backend>(
        &mut self,
        b: &mut B,
        id: u32,
        dirty: &[u64],
        sync: bool,
        behind: bool,
    ) -> Result<(Wrote, usize), Error<B::Error>> {
        let max = self.io_pages(b);
        let mut i = 0;
        let mut last = Wrote::Clean;
        let mut done = 0;
        while i < dirty.len() {
            let mut j = i + 1;
            while j < dirty.len() && j - i < max && dirty[j] == dirty[j - 1] + 1 {
                j += 1;
            }
            let is_last = j == dirty.len();
            let sync = (sync && is_last) || (behind && self.sync_due(id, j - i));
            let (w, n) = self.write_run(b, id, dirty[i], dirty[j - 1] + 1, sync)?;
            done += n;
            last = w;
            if w == Wrote::Retry {
                break;
            }
            i = j;
        }
        Ok((last, done))
    }

    /// Writes back every dirty page of file `id`, in ascending order, contiguous pages
    /// coalesced (pages whose write-back fails for good are dropped, the error recorded). With
    /// `sync` the last write also fsyncs the file; returns whether that happened. Starts over
    /// if the storage restarted meanwhile; a transient error stops it.
    pub(crate) fn flush_file<B: Backend>(
        &mut self,
        b: &mut B,
        id: u32,
        sync: bool,
    ) -> Result<bool, Error<B::Error>> {
        for _ in 0..RESTART_RETRIES {
            if !self.files.is_live(id) {
                break;
            }
            let dirty = self.dirty_pages(id, None);
            let (last, _) = self.write_pages(b, id, &dirty, sync, false)?;
            match last {
                Wrote::Retry => continue,
                w => return Ok(w == Wrote::Synced),
            }
        }
        Ok(false)
    }

    /// Up to `max` of the lowest dirty pages of file `id`, written back without fsync.
    pub(crate) fn flush_lowest<B: Backend>(
        &mut self,
        b: &mut B,
        id: u32,
        max: usize,
    ) -> Result<usize, Error<B::Error>> {
        let dirty = self.dirty_pages(id, Some(max));
        self.write_pages(b, id, &dirty, false, true).map(|(_, n)| n)
    }

    /// Writes back file `id` and fsyncs it at the backend (with the last write-back, if
    /// there is one). Errors of data that was unsynced are recorded on the file rather than
    /// returned, unless transient.
    fn sync_one<B: Backend>(&mut self, b: &mut B, id: u32) -> Result<(), Error<B::Error>> {
        if self.flush_file(b, id, true)? {
            self.synced(id);
            return Ok(());
        }
        if self.files.get(id).dirty > 0 {
            // The storage kept restarting under the fsync.
            return Err(Error::Lost);
        }
        let unsynced = self.files.get(id).unsynced;
        match self.backend_fsync(b, id) {
            Err(Error::Backend(e)) if unsynced && !b.transient(&e) => Ok(()),
            r => r,
        }
    }

    /// File `id` was fsynced at the backend: it is no longer unsynced, and its state is
    /// dropped if it has no pages.
    fn synced(&mut self, id: u32) {
        self.files.get_mut(id).unsynced = false;
        self.files.get_mut(id).since_sync = 0;
        if id != self.pinned {
            self.release_file(id);
        }
    }

    /// Fsyncs file `id` at the backend; on success it is no longer unsynced (and its state is
    /// dropped if it has no pages). A failure for good is also recorded on the file. If the
    /// storage restarted under it, what it had written back is lost: recorded as such.
    pub(crate) fn backend_fsync<B: Backend>(
        &mut self,
        b: &mut B,
        id: u32,
    ) -> Result<(), Error<B::Error>> {
        let store = self.files.get(id).store;
        self.observe(b, store);
        self.stats.fsyncs += 1;
        if let Err(e) = b.fsync(self.files.key(id)) {
            if !b.transient(&e) && self.files.get(id).unsynced {
                self.files.get_mut(id).unsynced = false;
                self.record(id, Fault::Backend(b.error_code(&e)));
            }
            return Err(Error::Backend(e));
        }
        // A restart noticed now marks the file lost if it had unsynced data.
        self.observe(b, store);
        self.synced(id);
        Ok(())
    }

    pub(crate) fn fsync_file<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
    ) -> Result<(), Error<B::Error>> {
        match self.files.find(f) {
            Some(id) => {
                self.pinned = id;
                self.sync_one(b, id)?;
                self.take_fault(b, id)
            }
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
            if st.dirty == 0 && !st.unsynced {
                continue;
            }
            let r = match self.sync_one(b, id) {
                Err(e) => Err(e),
                // Not made durable: report it here too, and leave it for the file's fsync.
                Ok(()) => match self.files.is_live(id).then(|| self.files.get(id).fault) {
                    Some(Some(Fault::Lost)) => Err(Error::Lost),
                    Some(Some(Fault::Backend(c))) => Err(Error::Backend(b.error_from_code(c))),
                    _ => Ok(()),
                },
            };
            if let Err(e) = r {
                first = first.and(Err(e));
            }
        }
        first
    }
}
