//! The storage components behind the cache: their incarnations (a restart lost what was not
//! fsynced), the blocks reserved there for dirty pages, and which are unreachable during the
//! current operation.
//!
//! Reservations: `dirty ≤ reserved` is kept whenever the storage grants it. A page about to
//! become dirty needs `dirty + 1 ≤ reserved`; if not, the cache asks for `dirty + 1 +
//! reserve_batch` blocks, then for just `dirty + 1`, and refuses the write if both are
//! refused. The storage shrinks what it holds by the blocks each of our writes allocates, which
//! the cache mirrors when a write-back completes; pages dropped without a write-back (truncate,
//! unlink, a failed write-back) leave blocks held for nothing, given back when the surplus
//! passes two batches. A new incarnation holds nothing: the cache asks again for its dirty
//! pages plus a batch at the start of the next operation.

use crate::backend::{Backend, Reserve};
use crate::file::Fault;
use crate::slots::{NIL, State};
use crate::{Cache, Error};

/// At most this many storage components.
pub(crate) const MAX_STORES: usize = 256;

/// One storage component.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Store {
    pub(crate) id: u32,
    /// Its incarnation when last seen.
    pub(crate) inc: u32,
    /// Dirty pages of its files.
    pub(crate) dirty: u64,
    /// Blocks it holds for us, as far as we know.
    pub(crate) reserved: u64,
    /// It does not support reservations.
    pub(crate) unlimited: bool,
    /// A write-back to it failed transiently in the current operation: pass it over.
    pub(crate) down: bool,
    /// Its reservation must be sent again (it restarted).
    pub(crate) resync: bool,
}

impl Cache {
    /// The index of vNode `vnode`'s storage component, added if new.
    pub(crate) fn store_for<B: Backend>(
        &mut self,
        b: &B,
        vnode: u32,
    ) -> Result<u16, Error<B::Error>> {
        let id = b.storage(vnode);
        if let Some(i) = self.stores.iter().position(|s| s.id == id) {
            return Ok(i as u16);
        }
        if self.stores.len() >= MAX_STORES {
            return Err(Error::NoCapacity);
        }
        self.stores.push(Store {
            id,
            inc: b.incarnation(id),
            dirty: 0,
            reserved: 0,
            unlimited: false,
            down: false,
            resync: false,
        });
        Ok((self.stores.len() - 1) as u16)
    }

    /// Checks storage `st`'s incarnation; handles a restart. Returns whether it restarted.
    pub(crate) fn observe<B: Backend>(&mut self, b: &B, st: u16) -> bool {
        let Some(s) = self.stores.get(usize::from(st)) else {
            return false;
        };
        let now = b.incarnation(s.id);
        if now == s.inc {
            return false;
        }
        self.restarted(st, now);
        true
    }

    /// Storage `st` is a new incarnation `inc`: it lost what was not fsynced and holds no
    /// reservation. Its files' clean pages go (their contents may differ there now) and their
    /// sizes are fetched again; files with data written back but not fsynced get
    /// [`Fault::Lost`]. Dirty pages stay. File states are not dropped here (the operation in
    /// progress may hold ids): `finish` sweeps those left with nothing.
    fn restarted(&mut self, st: u16, inc: u32) {
        self.stats.restarts += 1;
        if let Some(s) = self.stores.get_mut(usize::from(st)) {
            s.inc = inc;
            s.reserved = 0;
            s.unlimited = false;
            s.resync = true;
        }
        self.drop_clean(Some(st));
        let ids: alloc::vec::Vec<u32> = self
            .files
            .ids()
            .filter(|&id| self.files.get(id).store == st)
            .collect();
        for id in ids {
            let f = self.files.get_mut(id);
            if f.unsynced {
                f.unsynced = false;
                if f.fault.is_none() {
                    f.fault = Some(Fault::Lost);
                    f.fault_seq = self.stats.file_errors as u32;
                    self.stats.file_errors += 1;
                }
            }
        }
        self.sweep = true;
    }

    /// Makes room in the reservation of storage `st` for one more dirty page.
    pub(crate) fn reserve_page<B: Backend>(
        &mut self,
        b: &mut B,
        st: u16,
    ) -> Result<(), Error<B::Error>> {
        self.reserve_pages(b, st, 1)
    }

    /// Makes room in the reservation of storage `st` for `n` more dirty pages.
    pub(crate) fn reserve_pages<B: Backend>(
        &mut self,
        b: &mut B,
        st: u16,
        n: u64,
    ) -> Result<(), Error<B::Error>> {
        let Some(s) = self.stores.get(usize::from(st)).copied() else {
            return Ok(());
        };
        if n == 0 || s.unlimited || s.dirty + n <= s.reserved {
            return Ok(());
        }
        let batch = u64::from(self.config.reserve_batch);
        for want in [s.dirty + n + batch, s.dirty + n] {
            if self.ask(b, st, want)? {
                return Ok(());
            }
        }
        self.stats.no_space += 1;
        Err(Error::NoSpace)
    }

    /// Asks storage `st` to hold `want` blocks; whether it does (or does not account).
    fn ask<B: Backend>(&mut self, b: &mut B, st: u16, want: u64) -> Result<bool, Error<B::Error>> {
        let id = self.stores[usize::from(st)].id;
        self.stats.reserve_requests += 1;
        let r = b.reserve(id, want).map_err(Error::Backend)?;
        // The reply may come from an incarnation we have not noticed yet: then this total is
        // what the new one holds, and the restart handling must not zero it afterwards.
        self.observe(b, st);
        let s = &mut self.stores[usize::from(st)];
        s.resync = false;
        match r {
            Reserve::Granted => {
                s.reserved = want;
                Ok(true)
            }
            Reserve::Refused => Ok(false),
            Reserve::Unsupported => {
                s.unlimited = true;
                Ok(true)
            }
        }
    }

    /// After a restart of storage `st`: reserves its dirty pages and a batch again (best
    /// effort: if that is refused, new writes are refused until space is found).
    pub(crate) fn resync<B: Backend>(&mut self, b: &mut B, st: u16) {
        let Some(s) = self.stores.get(usize::from(st)).copied() else {
            return;
        };
        if !s.resync || s.down {
            return;
        }
        let batch = u64::from(self.config.reserve_batch);
        for want in [s.dirty + batch, s.dirty] {
            match self.ask(b, st, want) {
                Ok(true) => return,
                Ok(false) => {}
                Err(_) => {
                    // Unreachable: try again at the next operation.
                    self.stores[usize::from(st)].resync = true;
                    return;
                }
            }
        }
    }

    /// Gives back most of what storage `st` holds beyond its dirty pages once that is more
    /// than two batches (best effort).
    pub(crate) fn trim_reservation<B: Backend>(&mut self, b: &mut B, st: u16) {
        let Some(s) = self.stores.get(usize::from(st)).copied() else {
            return;
        };
        let batch = u64::from(self.config.reserve_batch);
        if s.unlimited || s.down || s.resync || s.reserved <= s.dirty + 2 * batch {
            return;
        }
        let _ = self.ask(b, st, s.dirty + batch);
    }

    /// A write to storage `st` allocated `blocks`: they came out of our reservation.
    pub(crate) fn consumed(&mut self, st: u16, blocks: u64) {
        if let Some(s) = self.stores.get_mut(usize::from(st)) {
            s.reserved = s.reserved.saturating_sub(blocks);
        }
    }

    /// Page in slot `s` (of file `id`) becomes dirty: counted.
    pub(crate) fn mark_dirty(&mut self, id: u32, s: u32) {
        if self.slots.state(s) == State::Dirty {
            return;
        }
        self.slots.set_dirty(s);
        self.count_dirty(id, true);
    }

    /// One more (`up`) or one less dirty page of file `id`.
    pub(crate) fn count_dirty(&mut self, id: u32, up: bool) {
        let f = self.files.get_mut(id);
        let st = usize::from(f.store);
        if up {
            f.dirty += 1;
        } else {
            f.dirty = f.dirty.saturating_sub(1);
        }
        if let Some(s) = self.stores.get_mut(st) {
            if up {
                s.dirty += 1;
            } else {
                s.dirty = s.dirty.saturating_sub(1);
            }
        }
    }

    /// Whether file `id`'s storage is unreachable in this operation.
    pub(crate) fn store_down(&self, id: u32) -> bool {
        let st = self.files.get(id).store;
        self.stores.get(usize::from(st)).is_some_and(|s| s.down)
    }

    /// Marks file `id`'s storage unreachable for the rest of this operation.
    pub(crate) fn set_store_down(&mut self, id: u32) {
        let st = self.files.get(id).store;
        if let Some(s) = self.stores.get_mut(usize::from(st)) {
            s.down = true;
        }
    }

    /// Drops file states with no pages and nothing to fsync or report (not the pinned one).
    pub(crate) fn sweep_files(&mut self) {
        let ids: alloc::vec::Vec<u32> = self
            .files
            .ids()
            .filter(|&id| id != self.pinned && self.files.get(id).pages == 0)
            .collect();
        for id in ids {
            self.release_file(id);
        }
    }

    /// Unlinks and frees page slot `s` of file `id` (dirty data discarded).
    pub(crate) fn unmap(&mut self, id: u32, s: u32) {
        let dirty = self.slots.state(s) == State::Dirty;
        let f = self.files.get_mut(id);
        self.slots.remove(s, &mut f.head);
        self.slots.release(s);
        f.pages -= 1;
        if dirty {
            self.count_dirty(id, false);
        }
    }

    /// Every page of file `id`, unmapped.
    pub(crate) fn unmap_all(&mut self, id: u32) {
        loop {
            let s = self.files.get(id).head;
            if s == NIL {
                break;
            }
            self.unmap(id, s);
        }
    }
}
