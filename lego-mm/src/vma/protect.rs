//! `mprotect`.

use alloc::vec::Vec;
use core::ops::Range;

use super::{Prot, Vma, VmaTree, aligned};
use crate::{Error, Partial, page_up};

impl VmaTree {
    /// `mprotect(addr, len, prot)`: sets the protection of `[addr, addr + len)` (`len`
    /// rounded up to pages), splitting vmas at the edges and merging what becomes compatible.
    ///
    /// As Linux: an unaligned address is [`Error::Unaligned`] (`EINVAL`); length 0 succeeds; a
    /// length that wraps is [`Error::Unmapped`] (`ENOMEM`). The vmas are then changed in
    /// address order up to the first hole ([`Error::Unmapped`]) or the first vma whose
    /// `max_prot` does not allow `prot` ([`Error::Denied`]); the part before it keeps its new
    /// protection and is reported in the [`Partial`] (the caller must downgrade cached
    /// permissions there as on success). If the change would pass the vma bound
    /// ([`Error::MapCount`]) nothing changes (Linux may already have changed the vmas before
    /// the one whose split failed).
    pub fn protect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), Partial<Range<u64>>> {
        let fail = |error| Partial {
            error,
            done: addr..addr,
        };
        if !aligned(addr) {
            return Err(fail(Error::Unaligned));
        }
        if len == 0 {
            return Ok(());
        }
        let end = page_up(len)
            .and_then(|l| addr.checked_add(l))
            .ok_or(fail(Error::Unmapped))?;
        let mut pieces: Vec<Vma> = Vec::new();
        let mut at = addr;
        let mut error = None;
        for v in self.intersecting(addr, end) {
            if v.start > at {
                error = Some(Error::Unmapped);
                break;
            }
            if !v.max_prot.contains(prot) {
                error = Some(Error::Denied);
                break;
            }
            let piece = Vma {
                prot,
                ..v.clip(addr, end)
            };
            at = piece.end;
            pieces.push(piece);
        }
        if error.is_none() && at < end {
            error = Some(Error::Unmapped);
        }
        if at > addr {
            self.rewrite(addr, at, &pieces).map_err(fail)?;
        }
        match error {
            None => Ok(()),
            Some(error) => Err(Partial {
                error,
                done: addr..at,
            }),
        }
    }
}
