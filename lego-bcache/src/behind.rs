//! Write-behind and work in bounded steps.
//!
//! Requests are served one at a time, so an fsync that writes back hundreds of megabytes would
//! hold every other request for seconds. Instead, dirty data is written back while it is being
//! written (the caller runs [`Cache::write_back_some`] after its requests while
//! [`Cache::writeback_wanted`] says so), and what is left for a long fsync or rename is
//! written back in steps ([`Cache::flush_some`]) between which the caller serves others.

use alloc::vec::Vec;

use crate::backend::{Backend, FileKey};
use crate::file::below;
use crate::slots::State;
use crate::{Cache, Error};

impl Cache {
    pub(crate) fn behind_wanted(&self) -> bool {
        let dirty = self.slots.count(State::Dirty);
        if dirty == 0 {
            return false;
        }
        let pct = self.config.writeback_percent as usize;
        if pct > 0 && pct < 100 && dirty * 100 > self.slots.capacity() * pct {
            return true;
        }
        let per_file = self.config.writeback_file_pages;
        per_file > 0
            && self.files.is_live(self.last_written)
            && self.files.get(self.last_written).dirty > per_file
    }

    /// Whether write-behind should fsync file `id` with a run of `n` more pages.
    pub(crate) fn sync_due(&self, id: u32, n: usize) -> bool {
        let every = self.config.writeback_sync_pages as usize;
        every > 0 && self.files.get(id).since_sync as usize + n >= every
    }

    /// Up to about `max` pages of the coldest dirty runs, written back (or dropped for good).
    pub(crate) fn write_back_coldest<B: Backend>(
        &mut self,
        b: &mut B,
        max: usize,
    ) -> Result<usize, Error<B::Error>> {
        let mut done = 0;
        while done < max {
            match self.write_back_one(b, true) {
                Ok(Some(n)) => {
                    done += n.max(1);
                    self.stats.write_behind_pages += n as u64;
                }
                Ok(None) => break,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    /// Up to about `max` of the lowest dirty pages of `f` (and of the files below it with
    /// `tree`), written back without fsync.
    pub(crate) fn flush_part<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        tree: bool,
        max: usize,
    ) -> Result<usize, Error<B::Error>> {
        let ids: Vec<u32> = if tree {
            self.files
                .ids()
                .filter(|&id| self.files.get(id).dirty > 0 && below(self.files.key(id), f))
                .collect()
        } else {
            self.files.find(f).into_iter().collect()
        };
        let mut done = 0;
        for id in ids {
            if done >= max {
                break;
            }
            if !self.files.is_live(id) || self.files.get(id).dirty == 0 {
                continue;
            }
            match self.flush_lowest(b, id, max - done) {
                Ok(n) => done += n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }
}
