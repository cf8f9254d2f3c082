//! When file states are created (size fetched), revalidated, kept and dropped.
//!
//! A state exists while the file has cached pages; the file of the current operation is
//! pinned so it survives while it briefly has none. A file without pages whose writes reached
//! the backend but were not fsynced is kept as *idle* so that `sync_all` fsyncs it; beyond
//! `max_idle_files` idle files, the surplus is fsynced and dropped at the end of an operation.

use alloc::string::String;
use alloc::vec::Vec;

use crate::backend::{Backend, FileKey, PAGE_U64};
use crate::slots::{NIL, State};
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
            if self.files.get(id).stale {
                self.revalidate(b, id)?;
            }
            self.pinned = id;
            return Ok(id);
        }
        self.stats.size_requests += 1;
        let size = b.size(f).map_err(Error::Backend)?.min(MAX_FILE_SIZE);
        let id = self.files.insert(f, size);
        self.pinned = id;
        Ok(id)
    }

    /// After `drop_all`: fetches the backend's size again. The file's size becomes the larger
    /// of it and the end of the kept dirty pages (cut at the old size).
    fn revalidate<B: Backend>(&mut self, b: &mut B, id: u32) -> Result<(), Error<B::Error>> {
        self.stats.size_requests += 1;
        let disk = b
            .size(self.files.key(id))
            .map_err(Error::Backend)?
            .min(MAX_FILE_SIZE);
        let st = self.files.get(id);
        let dirty_end = self
            .slots
            .file_slots(st.head)
            .map(|s| (self.slots.page(s) + 1) * PAGE_U64)
            .max()
            .unwrap_or(0)
            .min(st.size);
        let st = self.files.get_mut(id);
        st.disk_size = disk;
        st.size = disk.max(dirty_end);
        st.stale = false;
        Ok(())
    }

    /// Drops file `id`'s state if it has no pages and nothing to fsync, or marks it idle if it
    /// has no pages but unsynced writes.
    pub(crate) fn release_file(&mut self, id: u32) {
        let st = self.files.get(id);
        if st.pages > 0 {
            return;
        }
        if st.unsynced {
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

    /// Best effort: fsyncs and drops idle files beyond `max_idle_files` (down to half of it).
    pub(crate) fn trim_idle<B: Backend>(&mut self, b: &mut B) {
        let max = self.config.max_idle_files as usize;
        if self.files.idle() <= max {
            return;
        }
        let idle: alloc::vec::Vec<u32> = self
            .files
            .ids()
            .filter(|&id| self.files.get(id).idle)
            .collect();
        for id in idle {
            if self.files.idle() <= max / 2 {
                break;
            }
            if self.backend_fsync(b, id).is_err() {
                // The storage component is probably down; keep them for later.
                break;
            }
        }
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
        if writeback {
            self.flush_file(b, id, false)?;
            if self.files.get(id).unsynced {
                self.pinned = id;
                self.backend_fsync(b, id)?;
            }
        }
        let st = self.files.get_mut(id);
        while st.head != NIL {
            let s = st.head;
            self.slots.remove(s, &mut st.head);
            self.slots.release(s);
        }
        st.pages = 0;
        self.files.remove(id);
        Ok(())
    }

    /// `drop_all`: drops clean pages, then files with nothing left; the rest become stale.
    pub(crate) fn drop_clean(&mut self) {
        let ids: alloc::vec::Vec<u32> = self.files.ids().collect();
        for id in ids {
            let st = self.files.get_mut(id);
            let mut s = st.head;
            while s != NIL {
                let next = self.slots.next_in_file(s);
                if self.slots.state(s) == State::Clean {
                    self.slots.remove(s, &mut st.head);
                    self.slots.release(s);
                    st.pages -= 1;
                }
                s = next;
            }
            st.ra.reset();
            st.stale = true;
            self.release_file(id);
        }
    }

    /// `f` and every cached file whose path lies below it, forgotten one by one.
    pub(crate) fn forget_below<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        writeback: bool,
    ) -> Result<(), Error<B::Error>> {
        self.forget_file(b, f, writeback)?;
        let mut prefix = String::from(f.path);
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        let below: Vec<String> = self
            .files
            .ids()
            .map(|id| self.files.key(id))
            .filter(|k| k.vnode == f.vnode && k.path.starts_with(prefix.as_str()))
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
