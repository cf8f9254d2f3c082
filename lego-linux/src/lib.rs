//! `lego-linux`: the Linux x86-64 ABI as LegoOS's monitors see it.
//!
//! LegoOS runs unmodified static x86-64 Linux programs: the processor component (pComponent)
//! runs them at CPL3 and serves their syscalls, the memory components (mComponents) load their
//! ELF files and hold their memory. Both sides need the same facts about Linux, and this crate
//! holds them as plain `no_std` logic, tested on the host:
//!
//! * [`elf`]: checking a static x86-64 executable and describing what to map, from the first
//!   bytes of the file (the mComponent reads it through its buffer cache, piece by piece).
//! * [`stack`]: the initial process stack as Linux builds it (argc, argv, envp, auxv, strings).
//! * [`sysno`]: syscall numbers and names.
//! * [`errno`]: errno values, names, texts, and the `-errno` return encoding.
//! * [`signal`]: signal numbers, names, default actions and the texts a shell prints.
//! * [`children`]: `wait4`'s targets and status words, `#!` lines.
//! * [`sigstate`]: a process's signal state: actions, mask, pending set, delivery order.
//! * [`abi`]: struct layouts (`stat`, `timespec`, `termios`, ...) and flag constants, as
//!   zerocopy types checked against the real sizes.
//!
//! Nothing here panics on any input: every function that takes bytes or numbers from a program
//! or a file returns an error instead (property tests feed them random input).

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod abi;
pub mod children;
pub mod cred;
pub mod elf;
pub mod errno;
pub mod eventfd;
pub mod futex;
pub mod procfs;
pub mod rlimit;
pub mod signal;
pub mod sigstate;
pub mod stack;
pub mod support;
pub mod sysno;
