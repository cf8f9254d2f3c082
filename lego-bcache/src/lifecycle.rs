//! When file states are created (size fetched), revalidated, kept and dropped.
//!
//! A state exists while the file has cached pages; the file of the current operation is
//! pinned so it survives while it briefly has none. A file without pages is kept as *idle*
//! while its writes reached the backend but were not fsynced (so that `sync_all` fsyncs it)
//! or while it has a write-back error to report. Beyond `max_idle_files` idle files, the
//! surplus of unsynced ones is fsynced and dropped at the end of an operation; beyond
//! `max_error_files` more, the oldest errors are forgotten.

use alloc::string::String;
use alloc::vec::Vec;

use crate::backend::{Backend, FileKey, PAGE_U64};
use crate::file::{Fault, below};
use crate::slots::State;
use crate::{Cache, Error, MAX_FILE_SIZE};

impl Cache {
    /// The id of `f`'s state, created with the backend's size if needed, and pinned for the
    /// current operation.
    pub(crate) fn state_for<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
    ) -> Result<u32, Error<B::Error>> {
        if let Some(id) = self.files.find(f) {
            self.pinned = id;
            if self.files.get(id).stale {
                self.revalidate(b, id)?;
            }
            return Ok(id);
        }
        let store = self.store_for(b, f.vnode)?;
        self.stats.size_requests += 1;
        let size = b.size(f).map_err(Error::Backend)?.min(MAX_FILE_SIZE);
        let id = self.files.insert(f, store, size);
        self.pinned = id;
        Ok(id)
    }

    /// After a restart or `drop_all`: fetches the backend's size again. The file's size
    /// becomes the larger of it and the end of the kept dirty pages (cut at the old size). A
    /// file that is gone for good at the backend loses its dirty pages, with the error
    /// recorded (they can never be written back).
    fn revalidate<B: Backend>(&mut self, b: &mut B, id: u32) -> Result<(), Error<B::Error>> {
        self.stats.size_requests += 1;
        let disk = match b.size(self.files.key(id)) {
            Ok(d) => d.min(MAX_FILE_SIZE),
            Err(e) => {
                if !b.transient(&e) && self.files.get(id).dirty > 0 {
                    self.drop_dirty(b, id, &e);
                }
                return Err(Error::Backend(e));
            }
        };
        let st = self.files.get(id);
        let dirty_end = self
            .slots
            .file_slots(st.head)
            .filter(|&s| self.slots.state(s) == State::Dirty)
            .map(|s| (self.slots.page(s) + 1) * PAGE_U64)
            .max()
            .unwrap_or(0)
            .min(st.size);
        let size = disk.max(dirty_end);
        // Clean pages hold what the backend had; any now past its end are stale.
        let past: Vec<u32> = self
            .slots
            .file_slots(st.head)
            .filter(|&s| {
                self.slots.state(s) == State::Clean && self.slots.page(s) * PAGE_U64 >= size
            })
            .collect();
        for s in past {
            self.unmap(id, s);
        }
        let st = self.files.get_mut(id);
        st.disk_size = disk;
        st.size = size;
        st.stale = false;
        Ok(())
    }

    /// Drops every dirty page of file `id` (their write-back failed, or can never succeed,
    /// with `e`), recording the error on the file.
    pub(crate) fn drop_dirty<B: Backend>(&mut self, b: &B, id: u32, e: &B::Error) {
        let dirty: Vec<u32> = self
            .slots
            .file_slots(self.files.get(id).head)
            .filter(|&s| self.slots.state(s) == State::Dirty)
            .collect();
        self.stats.dropped_pages += dirty.len() as u64;
        for s in dirty {
            self.unmap(id, s);
        }
        self.record(id, Fault::Backend(b.error_code(e)));
    }

    /// Records a write-back error on file `id` (the first one stands until reported); its
    /// size is fetched again before next use.
    pub(crate) fn record(&mut self, id: u32, fault: Fault) {
        let f = self.files.get_mut(id);
        f.stale = true;
        f.ra.reset();
        if f.fault.is_none() {
            f.fault = Some(fault);
            f.fault_seq = self.stats.file_errors as u32;
            self.stats.file_errors += 1;
        }
        if id != self.pinned {
            self.release_file(id);
        }
    }

    /// Takes file `id`'s recorded error, as the caller's error.
    pub(crate) fn take_fault<B: Backend>(&mut self, b: &B, id: u32) -> Result<(), Error<B::Error>> {
        match self.files.get_mut(id).fault.take() {
            None => Ok(()),
            Some(Fault::Lost) => Err(Error::Lost),
            Some(Fault::Backend(code)) => Err(Error::Backend(b.error_from_code(code))),
        }
    }

    /// Drops file `id`'s state if it has no pages and nothing to fsync or report, or marks it
    /// idle if it has no pages but unsynced writes or an error.
    pub(crate) fn release_file(&mut self, id: u32) {
        let st = self.files.get(id);
        if st.pages > 0 {
            return;
        }
        if st.unsynced || st.fault.is_some() {
            self.files.set_idle(id, true);
        } else {
            self.files.remove(id);
        }
    }

    /// Counts a page added to file `id`.
    pub(crate) fn add_page(&mut self, id: u32) {
        self.files.get_mut(id).pages += 1;
        self.files.set_idle(id, false);
    }

    /// Best effort: fsyncs and drops unsynced idle files beyond `max_idle_files` (down to half
    /// of it), then forgets the errors of idle files beyond `max_error_files` more.
    pub(crate) fn trim_idle<B: Backend>(&mut self, b: &mut B) {
        let max = self.config.max_idle_files as usize;
        if self.files.idle() <= max.max(self.idle_floor) {
            return;
        }
        let idle: Vec<u32> = self
            .files
            .ids()
            .filter(|&id| self.files.get(id).idle)
            .collect();
        let mut errors = Vec::new();
        for id in idle {
            if !self.files.is_live(id) {
                continue;
            }
            if !self.files.get(id).unsynced {
                errors.push(id);
                continue;
            }
            if self.files.idle() <= max / 2 {
                continue;
            }
            match self.backend_fsync(b, id) {
                Ok(()) => {}
                // A file gone for good: its error is kept (it is idle with it).
                Err(_) if self.files.is_live(id) && !self.files.get(id).unsynced => {}
                // The storage component is probably down; keep them for later.
                Err(_) => break,
            }
        }
        let keep = self.config.max_error_files as usize;
        let surplus = errors.len().saturating_sub(keep);
        errors.sort_unstable_by_key(|&id| self.files.get(id).fault_seq);
        for &id in errors.iter().take(surplus) {
            if self.files.is_live(id) && self.files.get(id).idle && !self.files.get(id).unsynced {
                self.stats.forgotten_errors += 1;
                self.files.remove(id);
            }
        }
        // Rescan only when more than this piles up (errors kept, unreachable storage).
        self.idle_floor = self.files.idle() + max / 2;
    }

    /// Drops every cached page and the state of `f`, writing back and fsyncing first if asked.
    pub(crate) fn forget_file<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        writeback: bool,
    ) -> Result<(), Error<B::Error>> {
        let Some(id) = self.files.find(f) else {
            return Ok(());
        };
        self.pinned = id;
        let mut report = Ok(());
        if writeback {
            self.flush_file(b, id, false)?;
            // Failed for good: the error is on the file and reported below.
            if self.files.get(id).unsynced
                && let Err(e) = self.backend_fsync(b, id)
                && self.files.get(id).unsynced
            {
                return Err(e);
            }
            report = self.take_fault(b, id);
        }
        self.unmap_all(id);
        self.files.remove(id);
        self.pinned = crate::slots::NIL;
        report
    }

    /// Drops clean pages (of the files of storage `only`, or of all) and makes those files
    /// stale; files left with nothing are dropped by the caller (`sweep_files`).
    pub(crate) fn drop_clean(&mut self, only: Option<u16>) {
        let ids: Vec<u32> = self
            .files
            .ids()
            .filter(|&id| only.is_none_or(|st| self.files.get(id).store == st))
            .collect();
        for id in ids {
            let clean: Vec<u32> = self
                .slots
                .file_slots(self.files.get(id).head)
                .filter(|&s| self.slots.state(s) == State::Clean)
                .collect();
            for s in clean {
                self.unmap(id, s);
            }
            let st = self.files.get_mut(id);
            st.ra.reset();
            st.stale = true;
        }
    }

    /// `f` and every cached file whose path lies below it, forgotten one by one.
    pub(crate) fn forget_below<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        writeback: bool,
    ) -> Result<(), Error<B::Error>> {
        let below: Vec<String> = self
            .files
            .ids()
            .map(|id| self.files.key(id))
            .filter(|k| below(*k, f))
            .map(|k| String::from(k.path))
            .collect();
        for path in below {
            let k = FileKey {
                vnode: f.vnode,
                path: &path,
            };
            self.forget_file(b, k, writeback)?;
        }
        Ok(())
    }
}
