//! `struct iovec` (`linux/uio.h`) for `readv`/`writev`.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Most `iovec`s one call takes (`UIO_MAXIOV`); more is `EINVAL`.
pub const UIO_MAXIOV: usize = 1024;

/// A buffer in the program's memory.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Iovec {
    /// Start address.
    pub iov_base: u64,
    /// Length in bytes.
    pub iov_len: u64,
}

const _: () = assert!(size_of::<Iovec>() == 16);
