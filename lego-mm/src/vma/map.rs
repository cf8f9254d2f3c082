//! `mmap` and `munmap`.

use alloc::vec::Vec;

use super::{Kind, MAX_FILE_OFFSET, Prot, VmFlags, Vma, VmaTree, aligned};
use crate::{Error, PAGE_SIZE, page_down, page_up};

/// Where a new mapping may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The address is a hint (0: none): taken if free, else the search picks one.
    Hint,
    /// `MAP_FIXED`: exactly at the address, replacing what is there.
    Fixed,
    /// `MAP_FIXED_NOREPLACE`: exactly at the address, or [`Error::Exists`].
    FixedNoReplace,
}

/// An `mmap` request, decoded (see [`crate::linux::mmap`] for the raw syscall arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRequest {
    /// Address or hint.
    pub addr: u64,
    /// Length in bytes (rounded up to pages).
    pub len: u64,
    /// Protection.
    pub prot: Prot,
    /// The most the mapping may ever be granted (see [`Vma::max_prot`]); `prot` beyond it is
    /// [`Error::Denied`].
    pub max_prot: Prot,
    /// Shared or private, grows-down.
    pub flags: VmFlags,
    /// How `addr` is used.
    pub placement: Placement,
    /// Anonymous, or a file and the offset of the first byte (page-aligned).
    pub kind: Kind,
}

impl MapRequest {
    /// A private anonymous mapping of `len` bytes anywhere.
    pub fn anon(len: u64, prot: Prot) -> MapRequest {
        MapRequest {
            addr: 0,
            len,
            prot,
            max_prot: Prot::RWX,
            flags: VmFlags::PRIVATE,
            placement: Placement::Hint,
            kind: Kind::Anon,
        }
    }

    /// A private mapping of `len` bytes of `file` from `offset`, anywhere.
    pub fn file(file: u32, offset: u64, len: u64, prot: Prot) -> MapRequest {
        MapRequest {
            kind: Kind::File { file, offset },
            ..MapRequest::anon(len, prot)
        }
    }

    /// This request at `addr`, placed as `placement`.
    pub fn at(self, addr: u64, placement: Placement) -> MapRequest {
        MapRequest {
            addr,
            placement,
            ..self
        }
    }

    /// This request with `flags`.
    pub fn with_flags(self, flags: VmFlags) -> MapRequest {
        MapRequest { flags, ..self }
    }
}

/// A successful `mmap`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// The address of the new mapping.
    pub addr: u64,
    /// What `MAP_FIXED` replaced (clipped to the new range): the caller drops those pages as
    /// for `munmap`.
    pub replaced: Vec<Vma>,
}

impl VmaTree {
    /// `mmap`. Checks in Linux's order: an unaligned file offset ([`Error::Unaligned`]), a
    /// grows-down file or shared mapping ([`Error::InvalidFlags`]; Linux refuses only the
    /// shared anonymous one), length 0 ([`Error::ZeroLength`]), a length that overflows when
    /// rounded up or is larger than the user space ([`Error::NoSpace`]); then the address:
    /// fixed ones must be page-aligned ([`Error::Unaligned`]), end inside the user space
    /// ([`Error::NoSpace`]) and not start below `min_addr` ([`Error::BelowMinAddr`]); a hint is
    /// rounded down to a page (up to `min_addr` if below it) and honoured if free, else the
    /// search picks the address (see "Placement" in [`crate::vma`]; [`Error::NoSpace`] if
    /// nothing fits).
    /// Then `MAP_FIXED_NOREPLACE` over anything ([`Error::Exists`]), a file offset past the
    /// largest ([`Error::Overflow`]), a protection beyond `max_prot` ([`Error::Denied`]), and
    /// the vma count ([`Error::MapCount`]). Nothing changes on an error.
    pub fn map(&mut self, req: &MapRequest) -> Result<Mapped, Error> {
        let file_offset = match req.kind {
            Kind::Anon => None,
            Kind::File { offset, .. } => Some(offset),
        };
        if file_offset.is_some_and(|o| !aligned(o)) {
            return Err(Error::Unaligned);
        }
        if req.flags.grows_down() && (file_offset.is_some() || req.flags.shared()) {
            return Err(Error::InvalidFlags);
        }
        if req.len == 0 {
            return Err(Error::ZeroLength);
        }
        let l = self.layout;
        let fixed = req.placement != Placement::Hint;
        let len = page_up(req.len).ok_or(Error::NoSpace)?;
        if len > l.task_size {
            return Err(Error::NoSpace);
        }
        let addr = if fixed {
            req.addr
        } else {
            // Linux's round_hint_to_min().
            let hint = match page_down(req.addr) {
                h if h != 0 && h < l.min_addr => l.min_addr,
                h => h,
            };
            self.find_free(hint, len, PAGE_SIZE).ok_or(Error::NoSpace)?
        };
        if addr > l.task_size - len {
            return Err(Error::NoSpace);
        }
        if !aligned(addr) {
            return Err(Error::Unaligned);
        }
        if addr < l.min_addr {
            return Err(Error::BelowMinAddr);
        }
        let end = addr + len;
        if req.placement == Placement::FixedNoReplace
            && self.intersecting(addr, end).next().is_some()
        {
            return Err(Error::Exists);
        }
        if file_offset.is_some_and(|o| o.checked_add(len).is_none_or(|e| e > MAX_FILE_OFFSET)) {
            return Err(Error::Overflow);
        }
        if !req.max_prot.contains(req.prot) {
            return Err(Error::Denied);
        }
        let vma = Vma {
            start: addr,
            end,
            prot: req.prot,
            max_prot: req.max_prot,
            flags: req.flags,
            kind: req.kind,
        };
        let replaced = self.rewrite(addr, end, &[vma])?;
        Ok(Mapped { addr, replaced })
    }

    /// `munmap`: removes everything in `[addr, addr + len)` (`len` rounded up to pages),
    /// splitting vmas at the edges; unmapping nothing is not an error. Returns the removed
    /// pieces (with their kind and file offset) so the caller frees their pages.
    /// [`Error::Unaligned`] or [`Error::InvalidRange`] (both `EINVAL`) for an unaligned
    /// address or a range leaving the user space, [`Error::ZeroLength`] for `len == 0`,
    /// [`Error::MapCount`] if splitting a vma in two would pass the bound (Linux's `ENOMEM`).
    pub fn unmap(&mut self, addr: u64, len: u64) -> Result<Vec<Vma>, Error> {
        let top = self.layout.task_size;
        if !aligned(addr) {
            return Err(Error::Unaligned);
        }
        if addr > top || len > top - addr {
            return Err(Error::InvalidRange);
        }
        // Cannot overflow: len <= top - addr and both ends are page-aligned.
        let len = page_up(len).ok_or(Error::InvalidRange)?;
        if len == 0 {
            return Err(Error::ZeroLength);
        }
        self.rewrite(addr, addr + len, &[])
    }
}
