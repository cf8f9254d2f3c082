//! `madvise(MADV_DONTNEED)`: which pages to drop.

use alloc::vec::Vec;

use super::{Vma, VmaTree, aligned};
use crate::{Error, Partial, page_up};

impl VmaTree {
    /// `madvise(addr, len, MADV_DONTNEED)` (and `MADV_FREE`, which may drop the same pages
    /// lazily): the mapped pieces of `[addr, addr + len)`, clipped, whose pages the caller
    /// drops. Afterwards a private page reads as zero (anonymous) or as the file again (file);
    /// a shared file page keeps the file's contents, so for those only cached copies go.
    /// The tree itself does not change.
    ///
    /// As Linux: an unaligned address, or a length that wraps, is [`Error::Unaligned`] or
    /// [`Error::InvalidRange`] (`EINVAL`) with nothing dropped; length 0 succeeds; holes in
    /// the range do not stop the walk: every mapped piece is returned, in a [`Partial`] with
    /// [`Error::Unmapped`] (`ENOMEM`) if there was any hole.
    pub fn advise_dontneed(&self, addr: u64, len: u64) -> Result<Vec<Vma>, Partial<Vec<Vma>>> {
        let fail = |error| Partial {
            error,
            done: Vec::new(),
        };
        if !aligned(addr) {
            return Err(fail(Error::Unaligned));
        }
        let len = page_up(len).ok_or(fail(Error::InvalidRange))?;
        let end = addr.checked_add(len).ok_or(fail(Error::InvalidRange))?;
        let mut dropped = Vec::new();
        let mut at = addr;
        let mut hole = false;
        for v in self.intersecting(addr, end) {
            hole |= v.start > at;
            let piece = v.clip(addr, end);
            at = piece.end;
            dropped.push(piece);
        }
        if hole || at < end {
            return Err(Partial {
                error: Error::Unmapped,
                done: dropped,
            });
        }
        Ok(dropped)
    }
}
