//! Struct layouts and constants of the Linux x86-64 syscall ABI, by family.
//!
//! The process monitor reads these structs from and writes them to a program's memory, so each
//! is a `#[repr(C)]` zerocopy type (`FromBytes`, `IntoBytes`, `Immutable`, `KnownLayout`) with
//! every padding byte spelled out as a field (an `IntoBytes` type cannot have implicit padding,
//! and spelled-out padding is written as zeros rather than leaking monitor memory). Each size is
//! asserted at compile time against the kernel's; the tests also compare sizes, field offsets
//! and constants with the host C library's.
//!
//! Layouts are the kernel's, not the C library's, where they differ: `stat` is the kernel's
//! (the same on x86-64), `termios` is the kernel's 36-byte one that `TCGETS` returns (glibc's has
//! 32 control characters and two speed fields), `sigaction` is the one `rt_sigaction` takes
//! (handler, flags, restorer, mask), `sigset_t` is 64 bits. Each item names its Linux header.

pub mod dirent;
pub mod fcntl;
pub mod futex;
pub mod mman;
pub mod prctl;
pub mod resource;
pub mod sched;
pub mod sigframe;
pub mod signal;
pub mod stat;
pub mod time;
pub mod tty;
pub mod uio;
pub mod utsname;

#[cfg(test)]
mod libc_check;
