//! The crate's error type and the Linux errno values it maps to.
//!
//! Variants name the cause, so tests and logs say *why*; [`Error::errno`] gives the value the
//! monitor returns to the program. Where Linux answers the same condition with different errno
//! values in different calls (a range past the user address space is `ENOMEM` for `mmap` but
//! `EINVAL` for `munmap`), each operation reports the variant whose errno Linux returns for it.

use core::fmt;
use core::ops::Range;

/// Linux errno values (x86-64), positive as in `errno`; the syscall returns their negation.
pub mod errno {
    /// Operation not permitted.
    pub const EPERM: u32 = 1;
    /// No such process.
    pub const ESRCH: u32 = 3;
    /// Try again.
    pub const EAGAIN: u32 = 11;
    /// Out of memory.
    pub const ENOMEM: u32 = 12;
    /// Permission denied.
    pub const EACCES: u32 = 13;
    /// Bad address.
    pub const EFAULT: u32 = 14;
    /// File exists.
    pub const EEXIST: u32 = 17;
    /// Invalid argument.
    pub const EINVAL: u32 = 22;
    /// Value too large for defined data type.
    pub const EOVERFLOW: u32 = 75;
    /// Operation not supported.
    pub const EOPNOTSUPP: u32 = 95;
}

/// Why a memory operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// An address (or file offset) that must be page-aligned is not. `EINVAL`.
    Unaligned,
    /// A zero length where Linux refuses one (`mmap`, `munmap`, `mremap`'s new length).
    /// `EINVAL`.
    ZeroLength,
    /// Unknown or contradictory flags or protection bits. `EINVAL`.
    InvalidFlags,
    /// A range that leaves the user address space or wraps, in a call where Linux answers
    /// `EINVAL` (`munmap`, `madvise`, `mremap`'s destination), or `mremap` source and
    /// destination that overlap, or a file offset that would pass the largest one on growth.
    InvalidRange,
    /// No free range of the requested size, a fixed range past the user address space, a
    /// length that overflows when rounded up to pages, or a growth in place that collides
    /// without `MREMAP_MAYMOVE`. `ENOMEM`.
    NoSpace,
    /// The operation would leave more vmas than `max_map_count`. `ENOMEM`.
    MapCount,
    /// Part of the range is not mapped (`mprotect`, `madvise`). `ENOMEM`.
    Unmapped,
    /// A resource limit (stack or data rlimit) would be exceeded. `ENOMEM`.
    Limit,
    /// `MAP_FIXED_NOREPLACE` over an existing mapping. `EEXIST`.
    Exists,
    /// `mremap` of an address outside any vma, or of a range that is not inside one vma.
    /// `EFAULT`.
    BadAddress,
    /// A protection the mapping may not have (a shared mapping of a file not open for
    /// writing made writable, a file not open for reading). `EACCES`.
    Denied,
    /// A fixed mapping below `mmap_min_addr`. `EPERM`.
    BelowMinAddr,
    /// A file offset plus length past the largest file offset. `EOVERFLOW`.
    Overflow,
    /// The memory component has no page frame left. `ENOMEM`.
    NoFrames,
    /// No memory component can own a new vRegion. `ENOMEM`.
    NoOwner,
    /// A process id too large for the page index. `ESRCH`.
    BadPid,
    /// A flag this implementation does not support where Linux validates flags
    /// (`MAP_SHARED_VALIDATE`). `EOPNOTSUPP`.
    NotSupported,
}

impl Error {
    /// The Linux errno value for this error (positive).
    pub fn errno(&self) -> u32 {
        use errno::*;
        match self {
            Error::Unaligned | Error::ZeroLength | Error::InvalidFlags | Error::InvalidRange => {
                EINVAL
            }
            Error::NoSpace
            | Error::MapCount
            | Error::Unmapped
            | Error::Limit
            | Error::NoFrames
            | Error::NoOwner => ENOMEM,
            Error::Exists => EEXIST,
            Error::BadAddress => EFAULT,
            Error::Denied => EACCES,
            Error::BelowMinAddr => EPERM,
            Error::Overflow => EOVERFLOW,
            Error::BadPid => ESRCH,
            Error::NotSupported => EOPNOTSUPP,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Error::Unaligned => "address or offset not page-aligned",
            Error::ZeroLength => "zero length",
            Error::InvalidFlags => "invalid flags",
            Error::InvalidRange => "invalid range",
            Error::NoSpace => "no room in the address space",
            Error::MapCount => "too many memory mappings",
            Error::Unmapped => "range not fully mapped",
            Error::Limit => "resource limit exceeded",
            Error::Exists => "range already mapped",
            Error::BadAddress => "address not in one mapping",
            Error::Denied => "protection not allowed for this mapping",
            Error::BelowMinAddr => "address below mmap_min_addr",
            Error::Overflow => "file offset overflow",
            Error::NoFrames => "no page frames left",
            Error::NoOwner => "no memory component for a new vRegion",
            Error::BadPid => "process id out of range",
            Error::NotSupported => "flag not supported",
        };
        f.write_str(s)
    }
}

impl core::error::Error for Error {}

/// The error of an operation that Linux applies in part before it fails (`mprotect` stops at
/// the first hole or refused vma with the part before it changed; `madvise` acts on every
/// mapped part and then reports the holes): `done` is what was applied anyway, which the
/// caller must act on (downgrade cached permissions, drop pages) as on success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partial<T> {
    /// Why the operation did not complete.
    pub error: Error,
    /// What was applied before (or besides) the error.
    pub done: T,
}

impl<T> Partial<T> {
    /// The Linux errno value of [`Partial::error`].
    pub fn errno(&self) -> u32 {
        self.error.errno()
    }
}

impl<T: fmt::Debug> fmt::Display for Partial<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (applied in part: {:?})", self.error, self.done)
    }
}

/// What [`Partial`] carries for `mprotect`: the range whose protection changed.
pub type Changed = Range<u64>;
