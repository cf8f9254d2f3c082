//! The write path (write-back into cached pages) and truncate.
//!
//! A page that is not cached is read first only if the backend has bytes in it that the write
//! does not cover (read-modify-write); otherwise it starts as zeros. Pages are written in
//! order, and the file's size is raised after each one, so an eviction write-back of an
//! earlier page of the same write (small arena) is cut at the right size. Every page a write
//! newly dirties needs a block reserved at the file's storage (`store.rs`): the write reserves
//! them all before it applies anything, and fails with `NoSpace` if the storage refuses (a
//! restart that drops the reservation midway can still stop it after some pages: then it
//! returns the bytes applied).

use crate::backend::{Backend, FileKey, PAGE_U64};
use crate::slots::{NIL, State};
use crate::{Cache, Error};

impl Cache {
    pub(crate) fn write_file<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        offset: u64,
        data: &[u8],
    ) -> Result<usize, Error<B::Error>> {
        let id = self.state_for(b, f)?;
        self.last_written = id;
        let end = offset + data.len() as u64;
        // Space for every page this write newly dirties, up front: a write the storage has no
        // room for changes nothing.
        let first = offset / PAGE_U64;
        let fresh = (first..end.div_ceil(PAGE_U64))
            .filter(|&p| !self.slots.is_dirty(id, p))
            .count() as u64;
        self.reserve_pages(b, self.files.get(id).store, fresh)?;
        let mut p = first;
        let mut done = 0usize;
        while p * PAGE_U64 < end {
            let start = p * PAGE_U64;
            let (a, z) = (offset.max(start), end.min(start + PAGE_U64));
            let chunk = &data[(a - offset) as usize..(z - offset) as usize];
            if let Err(e) = self.write_page(b, id, p, (a - start) as usize, chunk) {
                return if done == 0 { Err(e) } else { Ok(done) };
            }
            done += chunk.len();
            let st = self.files.get_mut(id);
            st.size = st.size.max(z);
            p += 1;
        }
        Ok(done)
    }

    /// Writes `chunk` at byte `at` of page `p` of file `id`.
    fn write_page<B: Backend>(
        &mut self,
        b: &mut B,
        id: u32,
        p: u64,
        at: usize,
        chunk: &[u8],
    ) -> Result<(), Error<B::Error>> {
        let store = self.files.get(id).store;
        if let Some(s) = self.slots.lookup(id, p) {
            if self.slots.state(s) != State::Dirty {
                self.reserve_page(b, store)?;
            }
            // The reservation may have noticed a restart, which drops clean pages.
            if let Some(s2) = self.slots.lookup(id, p).filter(|&s2| s2 == s) {
                self.arena[s2 as usize][at..at + chunk.len()].copy_from_slice(chunk);
                self.mark_dirty(id, s2);
                return Ok(());
            }
        }
        self.reserve_page(b, store)?;
        let s = self.alloc(b)?;
        // After `alloc`: its write-backs may have moved the backend's end.
        let start = p * PAGE_U64;
        let backed = self
            .files
            .get(id)
            .disk_size
            .saturating_sub(start)
            .min(PAGE_U64) as usize;
        let covered = at == 0 && chunk.len() >= backed;
        let frame = &mut self.arena[s as usize];
        if backed > 0 && !covered {
            self.stats.read_requests += 1;
            self.stats.rmw_pages += 1;
            match b.read(self.files.key(id), start, &mut frame[..backed]) {
                Ok(got) => frame[got.min(backed)..].fill(0),
                Err(e) => {
                    self.slots.release(s);
                    return Err(Error::Backend(e));
                }
            }
        } else {
            frame.fill(0);
        }
        frame[at..at + chunk.len()].copy_from_slice(chunk);
        self.slots
            .install(s, id, p, State::Dirty, &mut self.files.get_mut(id).head);
        self.add_page(id);
        self.count_dirty(id, true);
        Ok(())
    }

    pub(crate) fn truncate_file<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        size: u64,
    ) -> Result<(), Error<B::Error>> {
        b.truncate(f, size).map_err(Error::Backend)?;
        let id = match self.files.find(f) {
            Some(id) => id,
            // Remembered only so that `sync_all` fsyncs the truncate.
            None => {
                let store = self.store_for(b, f.vnode)?;
                self.files.insert(f, store, size)
            }
        };
        self.pinned = id;
        let keep = size.div_ceil(PAGE_U64);
        let mut s = self.files.get(id).head;
        while s != NIL {
            let next = self.slots.next_in_file(s);
            if self.slots.page(s) >= keep {
                self.unmap(id, s);
            }
            s = next;
        }
        let tail = (size % PAGE_U64) as usize;
        if tail != 0
            && let Some(s) = self.slots.lookup(id, size / PAGE_U64)
        {
            self.arena[s as usize][tail..].fill(0);
        }
        let st = self.files.get_mut(id);
        st.size = size;
        st.disk_size = size;
        st.stale = false;
        st.unsynced = true;
        st.ra.reset();
        Ok(())
    }
}
