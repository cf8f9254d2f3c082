//! Raw Linux syscall arguments to the typed requests of [`crate::vma`].
//!
//! These checks are the ones Linux makes on the flag words themselves; the checks on
//! addresses, lengths and what is mapped are in the tree's operations. Linux makes some flag
//! checks after some address checks (a bad map type under `MAP_FIXED_NOREPLACE` over a
//! mapping is `EEXIST` there, `EINVAL` here); only the errno of such doubly wrong calls can
//! differ.

use crate::vma::{Kind, MapRequest, Placement, RemapFlags};
use crate::{Error, Prot, VmFlags};

/// `PROT_READ`.
pub const PROT_READ: u32 = 0x1;
/// `PROT_WRITE`.
pub const PROT_WRITE: u32 = 0x2;
/// `PROT_EXEC`.
pub const PROT_EXEC: u32 = 0x4;
/// `PROT_SEM` (accepted and ignored).
pub const PROT_SEM: u32 = 0x8;
/// `PROT_GROWSDOWN`.
pub const PROT_GROWSDOWN: u32 = 0x0100_0000;
/// `PROT_GROWSUP`.
pub const PROT_GROWSUP: u32 = 0x0200_0000;

/// `MAP_SHARED`.
pub const MAP_SHARED: u32 = 0x01;
/// `MAP_PRIVATE`.
pub const MAP_PRIVATE: u32 = 0x02;
/// `MAP_SHARED_VALIDATE`.
pub const MAP_SHARED_VALIDATE: u32 = 0x03;
/// The map-type bits.
pub const MAP_TYPE: u32 = 0x0f;
/// `MAP_FIXED`.
pub const MAP_FIXED: u32 = 0x10;
/// `MAP_ANONYMOUS`.
pub const MAP_ANONYMOUS: u32 = 0x20;
/// `MAP_32BIT` (ignored: no placement below 2 GiB).
pub const MAP_32BIT: u32 = 0x40;
/// `MAP_GROWSDOWN`.
pub const MAP_GROWSDOWN: u32 = 0x0100;
/// `MAP_DENYWRITE` (ignored, as in Linux).
pub const MAP_DENYWRITE: u32 = 0x0800;
/// `MAP_EXECUTABLE` (ignored, as in Linux).
pub const MAP_EXECUTABLE: u32 = 0x1000;
/// `MAP_LOCKED` (ignored: nothing is swapped).
pub const MAP_LOCKED: u32 = 0x2000;
/// `MAP_NORESERVE` (ignored: nothing is reserved).
pub const MAP_NORESERVE: u32 = 0x4000;
/// `MAP_POPULATE` (ignored: pages are never pre-faulted).
pub const MAP_POPULATE: u32 = 0x8000;
/// `MAP_NONBLOCK` (ignored).
pub const MAP_NONBLOCK: u32 = 0x1_0000;
/// `MAP_STACK` (ignored, as in Linux).
pub const MAP_STACK: u32 = 0x2_0000;
/// `MAP_HUGETLB`: there are no huge pages, so `ENOMEM` as Linux without reserved ones.
pub const MAP_HUGETLB: u32 = 0x4_0000;
/// `MAP_SYNC` (only with `MAP_SHARED_VALIDATE`, refused: no DAX).
pub const MAP_SYNC: u32 = 0x8_0000;
/// `MAP_FIXED_NOREPLACE`.
pub const MAP_FIXED_NOREPLACE: u32 = 0x10_0000;
/// `MAP_UNINITIALIZED` (ignored).
pub const MAP_UNINITIALIZED: u32 = 0x400_0000;
/// The flags `MAP_SHARED_VALIDATE` accepts (Linux's `LEGACY_MAP_MASK` plus the fixed ones).
const VALIDATED: u32 = MAP_TYPE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_32BIT
    | MAP_GROWSDOWN
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_FIXED_NOREPLACE;

/// `MREMAP_MAYMOVE`.
pub const MREMAP_MAYMOVE: u32 = 1;
/// `MREMAP_FIXED`.
pub const MREMAP_FIXED: u32 = 2;
/// `MREMAP_DONTUNMAP` (not supported: `EINVAL`, as kernels before 5.7).
pub const MREMAP_DONTUNMAP: u32 = 4;

/// How the file of a file mapping was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileMode {
    /// The monitor's id of the file.
    pub file: u32,
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
}

/// Decodes `mmap(addr, len, prot, flags, fd, offset)`; `file` is the descriptor's file for a
/// non-anonymous mapping (the caller answers `EBADF` when `fd` is not open). Linux's rules:
/// an unaligned offset is `EINVAL` (even for anonymous mappings); the map type must be
/// `MAP_SHARED`, `MAP_PRIVATE` or `MAP_SHARED_VALIDATE` (which refuses unknown flags with
/// `EOPNOTSUPP`); a shared mapping may become writable only if the file is open for writing
/// (else `EACCES` now if `prot` has `PROT_WRITE`, and `max_prot` without it); a file not
/// open for reading is `EACCES`; `MAP_GROWSDOWN` with a shared anonymous mapping is `EINVAL`.
/// `prot` bits other than read, write and execute are ignored, as `mmap` does.
pub fn mmap(
    addr: u64,
    len: u64,
    prot: u32,
    flags: u32,
    file: Option<FileMode>,
    offset: u64,
) -> Result<MapRequest, Error> {
    if !offset.is_multiple_of(crate::PAGE_SIZE) {
        return Err(Error::Unaligned);
    }
    let shared = match flags & MAP_TYPE {
        MAP_SHARED => true,
        MAP_PRIVATE => false,
        MAP_SHARED_VALIDATE => {
            if flags & !VALIDATED != 0 {
                return Err(Error::NotSupported);
            }
            true
        }
        _ => return Err(Error::InvalidFlags),
    };
    if flags & MAP_HUGETLB != 0 {
        return Err(Error::NoSpace);
    }
    let prot = Prot::from_bits_truncate(prot);
    let placement = if flags & MAP_FIXED_NOREPLACE != 0 {
        Placement::FixedNoReplace
    } else if flags & MAP_FIXED != 0 {
        Placement::Fixed
    } else {
        Placement::Hint
    };
    let mut vm = if shared {
        VmFlags::SHARED
    } else {
        VmFlags::PRIVATE
    };
    if flags & MAP_GROWSDOWN != 0 {
        vm = vm | VmFlags::GROWS_DOWN;
    }
    let (kind, max_prot) = match (flags & MAP_ANONYMOUS != 0, file) {
        (true, _) => {
            if shared && vm.grows_down() {
                return Err(Error::InvalidFlags);
            }
            (Kind::Anon, Prot::RWX)
        }
        (false, None) => return Err(Error::InvalidFlags),
        (false, Some(f)) => {
            if shared && !f.write && prot.contains(Prot::WRITE) {
                return Err(Error::Denied);
            }
            if !f.read {
                return Err(Error::Denied);
            }
            let max = if shared && !f.write {
                Prot::READ | Prot::EXEC
            } else {
                Prot::RWX
            };
            (
                Kind::File {
                    file: f.file,
                    offset,
                },
                max,
            )
        }
    };
    Ok(MapRequest {
        addr,
        len,
        prot,
        max_prot,
        flags: vm,
        placement,
        kind,
    })
}

/// Decodes `mprotect`'s `prot`: `PROT_SEM` is ignored; `PROT_GROWSDOWN` / `PROT_GROWSUP` and
/// unknown bits are `EINVAL` (Linux supports `PROT_GROWSDOWN` on a grows-down vma; we do not).
pub fn mprotect_prot(prot: u32) -> Result<Prot, Error> {
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
        return Err(Error::InvalidFlags);
    }
    Ok(Prot::from_bits_truncate(prot))
}

/// Decodes `mremap`'s flags: unknown bits, `MREMAP_FIXED` without `MREMAP_MAYMOVE`, and
/// `MREMAP_DONTUNMAP` (unsupported) are `EINVAL`.
pub fn mremap_flags(flags: u32) -> Result<RemapFlags, Error> {
    if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED) != 0 {
        return Err(Error::InvalidFlags);
    }
    let f = RemapFlags {
        may_move: flags & MREMAP_MAYMOVE != 0,
        fixed: flags & MREMAP_FIXED != 0,
    };
    if f.fixed && !f.may_move {
        return Err(Error::InvalidFlags);
    }
    Ok(f)
}

/// Linux's overcommit heuristic (`vm.overcommit_memory = 0`): a single request for more
/// accountable memory than the system has is refused with `ENOMEM`, whatever is free.
/// Accountable: private writable mappings and shared anonymous ones (what could need memory
/// of its own), unless `MAP_NORESERVE`. `limit` is the memory the process's vRegions can be
/// placed on.
pub fn overcommits(req: &MapRequest, mmap_flags: u32, limit: u64) -> bool {
    let accountable = if req.flags.shared() {
        matches!(req.kind, Kind::Anon)
    } else {
        req.prot.contains(Prot::WRITE)
    };
    accountable && mmap_flags & MAP_NORESERVE == 0 && req.len > limit
}

#[cfg(test)]
mod overcommit_tests {
    use super::*;

    #[test]
    fn only_accountable_requests_past_the_limit_are_refused() {
        let rw = (Prot::READ | Prot::WRITE).bits();
        let anon = MAP_PRIVATE | MAP_ANONYMOUS;
        let big = 1u64 << 40;
        let req = |len, prot, flags| mmap(0, len, prot, flags, None, 0).unwrap();
        assert!(overcommits(&req(big, rw, anon), anon, 1 << 32));
        assert!(!overcommits(&req(1 << 30, rw, anon), anon, 1 << 32));
        // Read-only private memory needs none of its own; MAP_NORESERVE opts out.
        assert!(!overcommits(
            &req(big, Prot::READ.bits(), anon),
            anon,
            1 << 32
        ));
        let nores = anon | MAP_NORESERVE;
        assert!(!overcommits(&req(big, rw, nores), nores, 1 << 32));
        // Shared anonymous memory counts even when read-only.
        let shared = MAP_SHARED | MAP_ANONYMOUS;
        assert!(overcommits(
            &req(big, Prot::READ.bits(), shared),
            shared,
            1 << 32
        ));
    }
}
