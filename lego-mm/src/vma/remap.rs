//! `mremap`.

use alloc::vec::Vec;

use super::{MAX_FILE_OFFSET, Txn, Vma, VmaTree, aligned};
use crate::{Error, PAGE_SIZE, page_up};

/// `mremap` flags (see [`crate::linux::mremap_flags`] for the raw ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RemapFlags {
    /// `MREMAP_MAYMOVE`: the mapping may move if it cannot grow in place.
    pub may_move: bool,
    /// `MREMAP_FIXED`: move to the given address (needs `may_move`).
    pub fixed: bool,
}

/// Pages that moved: the caller moves its page entries (frames, touched bits, cached lines)
/// from `[from, from + len)` to `[to, to + len)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    /// Old address.
    pub from: u64,
    /// New address.
    pub to: u64,
    /// Bytes moved.
    pub len: u64,
}

/// A successful `mremap`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remap {
    /// The mapping's address now (the syscall's return value).
    pub addr: u64,
    /// The pages that moved, if the mapping moved.
    pub moved: Option<Move>,
    /// What was unmapped (a shrunk tail, what `MREMAP_FIXED` replaced): free as for
    /// `munmap`, before applying `moved`.
    pub freed: Vec<Vma>,
}

impl VmaTree {
    /// `mremap(addr, old_len, new_len, flags, new_addr)`, for every kind of vma.
    ///
    /// As Linux 6.x, in its order: `MREMAP_FIXED` without `MREMAP_MAYMOVE`
    /// ([`Error::InvalidFlags`]); unaligned `addr` ([`Error::Unaligned`]); lengths rounded up to
    /// pages (one that overflows becomes 0), new length 0 ([`Error::ZeroLength`]); `addr` in no
    /// vma ([`Error::BadAddress`], `EFAULT`). Then:
    ///
    /// * `MREMAP_FIXED`: `new_addr` must be aligned, the new range inside the user space and
    ///   not overlapping the old one (`EINVAL`); what is at the new range is unmapped, a
    ///   shrink unmaps the old tail first, and the rest moves there (growth of the moved
    ///   mapping as below).
    /// * Shrink (`new_len <= old_len`): unmaps `[addr + new_len, addr + old_len)` as `munmap`
    ///   would (whatever is there), returns `addr`.
    /// * Grow: the old range must lie in one vma ([`Error::BadAddress`]; `old_len == 0` is
    ///   [`Error::InvalidRange`]: we do not duplicate shared mappings), a file vma must not
    ///   pass the largest offset ([`Error::InvalidRange`]); it grows in place if it reaches the
    ///   end of its vma and the pages after it are free and inside the user space; else it
    ///   moves to a range found like an `mmap` without hint if `MREMAP_MAYMOVE`
    ///   ([`Error::NoSpace`] if none), else [`Error::NoSpace`].
    ///
    /// All or nothing: where Linux unmaps the destination before a later check fails, nothing
    /// changes here. The vma bound is checked on the final state ([`Error::MapCount`]), not
    /// with Linux's margin of 3.
    pub fn remap(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: RemapFlags,
        new_addr: u64,
    ) -> Result<Remap, Error> {
        if flags.fixed && !flags.may_move {
            return Err(Error::InvalidFlags);
        }
        if !aligned(addr) {
            return Err(Error::Unaligned);
        }
        // C's PAGE_ALIGN wraps to 0.
        let old_len = page_up(old_len).unwrap_or(0);
        let new_len = page_up(new_len).unwrap_or(0);
        if new_len == 0 {
            return Err(Error::ZeroLength);
        }
        let vma = *self.find(addr).ok_or(Error::BadAddress)?;
        if flags.fixed {
            return self.remap_to(vma, addr, old_len, new_len, new_addr);
        }
        if old_len >= new_len {
            let freed = if old_len == new_len {
                Vec::new()
            } else {
                // Linux computes addr + new_len in wrapping arithmetic; munmap validates it.
                self.unmap(addr.wrapping_add(new_len), old_len - new_len)?
            };
            return Ok(Remap {
                addr,
                moved: None,
                freed,
            });
        }
        check_resize(&vma, addr, old_len, new_len)?;
        if old_len == vma.end - addr
            && let Some(end) = addr.checked_add(new_len)
            && end <= self.layout.task_size
            && self.intersecting(vma.end, end).next().is_none()
        {
            let piece = Vma {
                start: vma.end,
                end,
                kind: vma.kind_at(vma.end),
                ..vma
            };
            self.rewrite(vma.end, end, &[piece])?;
            return Ok(Remap {
                addr,
                moved: None,
                freed: Vec::new(),
            });
        }
        if !flags.may_move {
            return Err(Error::NoSpace);
        }
        let to = self
            .find_free(0, new_len, PAGE_SIZE)
            .ok_or(Error::NoSpace)?;
        self.move_range(vma, addr, old_len, new_len, to, false)
    }

    /// The `MREMAP_FIXED` case (Linux's `mremap_to`).
    fn remap_to(
        &mut self,
        vma: Vma,
        addr: u64,
        old_len: u64,
        new_len: u64,
        new_addr: u64,
    ) -> Result<Remap, Error> {
        let l = self.layout;
        if !aligned(new_addr) {
            return Err(Error::Unaligned);
        }
        if new_len > l.task_size || new_addr > l.task_size - new_len {
            return Err(Error::InvalidRange);
        }
        // Linux's overlap test, in its wrapping arithmetic.
        if addr.wrapping_add(old_len) > new_addr && new_addr + new_len > addr {
            return Err(Error::InvalidRange);
        }
        let kept = old_len.min(new_len);
        if old_len > new_len {
            // The tail munmap's own checks.
            let start = addr + new_len;
            if start > l.task_size || old_len - new_len > l.task_size - start {
                return Err(Error::InvalidRange);
            }
        }
        if old_len == 0 {
            return Err(Error::InvalidRange);
        }
        // The destination cannot cut the old range (they do not overlap), and the tail
        // munmap leaves the vma up to addr + new_len.
        if kept > vma.end - addr {
            return Err(Error::BadAddress);
        }
        check_resize(&vma, addr, kept, new_len)?;
        if new_addr < l.min_addr {
            return Err(Error::BelowMinAddr);
        }
        self.move_range(vma, addr, old_len, new_len, new_addr, true)
    }

    /// Moves `[addr, addr + min(old_len, new_len))` of `vma` to a new vma of `new_len` bytes
    /// at `to`; with `replace`, unmaps what is at the destination and (on a shrink) the old
    /// tail first. Checked beforehand except for the vma count.
    fn move_range(
        &mut self,
        vma: Vma,
        addr: u64,
        old_len: u64,
        new_len: u64,
        to: u64,
        replace: bool,
    ) -> Result<Remap, Error> {
        let kept = old_len.min(new_len);
        let mut txn = Txn::new(self);
        let mut freed = Vec::new();
        if replace {
            freed = txn.rewrite(to, to + new_len, &[]);
            if old_len > new_len {
                freed.extend(txn.rewrite(addr + new_len, addr + old_len, &[]));
            }
        }
        txn.rewrite(addr, addr + kept, &[]);
        let moved = Vma {
            start: to,
            end: to + new_len,
            kind: vma.kind_at(addr),
            ..vma
        };
        txn.rewrite(to, to + new_len, &[moved]);
        txn.commit()?;
        Ok(Remap {
            addr: to,
            moved: Some(Move {
                from: addr,
                to,
                len: kept,
            }),
            freed,
        })
    }
}

/// Linux's `vma_to_resize` checks for `[addr, addr + old_len)` in `vma` growing to `new_len`.
fn check_resize(vma: &Vma, addr: u64, old_len: u64, new_len: u64) -> Result<(), Error> {
    if old_len == 0 {
        return Err(Error::InvalidRange);
    }
    if old_len > vma.end - addr {
        return Err(Error::BadAddress);
    }
    if new_len > old_len
        && vma
            .offset_at(addr)
            .is_some_and(|o| o.checked_add(new_len).is_none_or(|e| e > MAX_FILE_OFFSET))
    {
        return Err(Error::InvalidRange);
    }
    Ok(())
}
