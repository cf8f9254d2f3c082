//! The memory protocol: a pComponent's requests to mComponents about a process's memory, and
//! the mComponents' requests to each other (LegoOS §4.3-§4.4).
//!
//! - `EXEC` (P → home M): load an ELF from a vNode, build the address space, reply with the
//!   entry point, the stack pointer, the vmas and the vRegion owners.
//! - `FETCH` / `FLUSH` (P → a vRegion's owner M): lines of memory, in and out. A fetch may carry
//!   one dirty victim's flush (piggyback). Served in the dispatcher: never behind file I/O.
//! - `MMAP` `MUNMAP` `MREMAP` `MPROTECT` `BRK` `MADVISE` (P → home M): the memory syscalls; each
//!   reply says what the vmas of the affected range are now (P keeps a copy for its faults).
//! - `EXIT` (P or the managers → home M): free everything of a process.
//! - `OWNER_*` (home M → owner M): the owners' view of a process's vmas, pages written at exec,
//!   pages freed.
//!
//! Failures are `fs::status_of(errno)` with Linux errno values, as in the file protocol.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// First memory opcode.
pub const OP_BASE: u32 = 64;
/// Load a program and build its address space ([`ExecRequest`] → [`ExecReply`]).
pub const EXEC: u32 = 64;
/// Lines from an owner ([`FetchRequest`] → the pages' bytes).
pub const FETCH: u32 = 65;
/// Dirty lines to their owner ([`FlushRequest`] + addresses + pages → empty).
pub const FLUSH: u32 = 66;
/// `mmap` ([`MmapRequest`] → [`MapReply`]).
pub const MMAP: u32 = 67;
/// `munmap` ([`RangeRequest`] → [`MapReply`]).
pub const MUNMAP: u32 = 68;
/// `mremap` ([`MremapRequest`] → [`MapReply`]).
pub const MREMAP: u32 = 69;
/// `mprotect` ([`RangeRequest`] with `arg` = prot → [`MapReply`]).
pub const MPROTECT: u32 = 70;
/// `brk` ([`RangeRequest`] with `addr` = the requested break → [`MapReply`], `result` = the
/// break).
pub const BRK: u32 = 71;
/// `madvise` ([`RangeRequest`] with `arg` = advice → [`MapReply`]).
pub const MADVISE: u32 = 72;
/// Free a process's memory everywhere ([`PidRequest`] → empty).
pub const EXIT: u32 = 73;
/// Home → owner: replace the owner's vmas of a process inside a range ([`OwnerVmas`] +
/// [`Vma`]s → empty).
pub const OWNER_VMAS: u32 = 74;
/// Home → owner: store pages of a process ([`FlushRequest`] layout → empty).
pub const OWNER_WRITE: u32 = 75;
/// Home → owner: free a process's pages in a range ([`RangeRequest`] → empty).
pub const OWNER_FREE: u32 = 76;
/// Home → owner: free everything of a process ([`PidRequest`] → empty).
pub const OWNER_EXIT: u32 = 77;
/// Home → owner: move pages of a process from one range to another ([`MoveRequest`] →
/// empty), for `mremap`.
pub const OWNER_MOVE: u32 = 78;
/// `fork`: a child gets a copy of a process's address space, its pages shared with the
/// parent's at their owners until either writes one ([`ForkRequest`] → empty).
pub const FORK: u32 = 79;
/// Home → owner: the child's vmas and pages as the parent's ([`ForkRequest`] → empty).
pub const OWNER_FORK: u32 = 80;
/// Last memory opcode.
pub const OP_LAST: u32 = 80;

/// Whether `op` is a memory opcode.
pub const fn is_mem_op(op: u32) -> bool {
    op >= OP_BASE && op <= OP_LAST
}

/// The name of a memory opcode.
pub const fn op_name(op: u32) -> &'static str {
    match op {
        EXEC => "EXEC",
        FETCH => "FETCH",
        FLUSH => "FLUSH",
        MMAP => "MMAP",
        MUNMAP => "MUNMAP",
        MREMAP => "MREMAP",
        MPROTECT => "MPROTECT",
        BRK => "BRK",
        MADVISE => "MADVISE",
        EXIT => "EXIT",
        OWNER_VMAS => "OWNER_VMAS",
        OWNER_WRITE => "OWNER_WRITE",
        OWNER_FREE => "OWNER_FREE",
        OWNER_EXIT => "OWNER_EXIT",
        OWNER_MOVE => "OWNER_MOVE",
        FORK => "FORK",
        OWNER_FORK => "OWNER_FORK",
        _ => "?",
    }
}

/// Bytes of a page.
pub const PAGE: usize = 4096;
/// Most pages one `FETCH` reply or `FLUSH` request carries (a reply holds at most
/// `rpc::MAX_PAYLOAD` bytes, a flush also its addresses).
pub const MAX_PAGES: usize = 15;
/// Bytes of a vRegion (LegoOS: 1 GiB).
pub const VREGION: u64 = 1 << 30;
/// Most mComponents an exec names as vRegion candidates.
pub const MAX_CANDIDATES: usize = 8;
/// Most bytes of path, argv and envp together in an [`ExecRequest`].
pub const MAX_EXEC_STRINGS: usize = 48 << 10;

/// vRegion placement policies (GMM).
pub mod policy {
    /// Round robin over the candidates (LegoOS's default family).
    pub const ROUND_ROBIN: u32 = 0;
    /// The candidate with the most free memory.
    pub const LEAST_LOADED: u32 = 1;
    /// Everything on the home mComponent.
    pub const HOME_ONLY: u32 = 2;
}

/// `ExecRequest`: fixed part; then `path`, `args` (NUL-terminated strings), `env` (same).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct ExecRequest {
    /// The process (cluster-wide id from the managers).
    pub pid: u32,
    /// The vNode the program file is in.
    pub vnode: u32,
    /// Its sComponent.
    pub storage: u32,
    /// The mComponent holding its buffer cache.
    pub cache: u32,
    /// vRegion placement ([`policy`]).
    pub policy: u32,
    /// Valid entries of `candidates`.
    pub ncandidates: u32,
    /// mComponents vRegions may be placed on (the home first).
    pub candidates: [u32; MAX_CANDIDATES],
    /// Seed for the address-space layout's randomness (AT_RANDOM bytes, offsets).
    pub seed: u64,
    /// Bytes of the path.
    pub path_len: u32,
    /// Bytes of the argument strings (each NUL-terminated).
    pub args_len: u32,
    /// Bytes of the environment strings (each NUL-terminated).
    pub env_len: u32,
    /// Number of argument strings.
    pub argc: u32,
    /// [`exec_flags`].
    pub flags: u32,
    /// Zero.
    pub _pad: u32,
}

/// [`ExecRequest::flags`] bits.
pub mod exec_flags {
    /// `execve`: the process has an address space here, which the new program replaces once
    /// the file proved loadable (before that, a failure leaves the old one untouched).
    pub const REPLACE: u32 = 1;
}

/// `FORK` / `OWNER_FORK`.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct ForkRequest {
    /// The process forking.
    pub parent: u32,
    /// The new process (its id from the managers).
    pub child: u32,
}

/// `ExecReply`: fixed part; then `nvmas` [`Vma`]s, `nregions` [`Region`]s, then `msg_len`
/// bytes of a one-line reason when `errno` is not 0.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct ExecReply {
    /// 0, or why the program could not be loaded (ENOEXEC, ENOENT, ENOMEM, E2BIG, ...).
    pub errno: u32,
    /// Bytes of the reason that follows.
    pub msg_len: u32,
    /// Entry point.
    pub entry: u64,
    /// Initial stack pointer (argc is there); on an `execve` failure, `u64::MAX` if the old
    /// address space is gone (the process cannot go on).
    pub sp: u64,
    /// The initial program break.
    pub brk: u64,
    /// Lowest address of the stack pages the home wrote (argv, envp, auxv): memory the owner
    /// holds, so the pComponent fetches it instead of zero-filling it.
    pub stack_written: u64,
    /// Vmas that follow.
    pub nvmas: u32,
    /// vRegion owners that follow.
    pub nregions: u32,
}

/// A vma as the pComponent sees it.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Vma {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// `PROT_*` bits (1 read, 2 write, 4 exec).
    pub prot: u32,
    /// [`vma_flags`].
    pub flags: u32,
}

/// [`Vma::flags`] bits.
pub mod vma_flags {
    /// Anonymous memory: pages never written are zero (the pComponent fills them itself the
    /// first time).
    pub const ANON: u32 = 1;
    /// A grows-down stack.
    pub const STACK: u32 = 2;
    /// The heap (brk).
    pub const HEAP: u32 = 4;
}

/// A vRegion and its owner.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct Region {
    /// vRegion index (address / [`VREGION`]).
    pub index: u32,
    /// Owner mComponent.
    pub owner: u32,
}

/// `FETCH`: `npages` lines from `va`; with `flush_va != 0`, one dirty page (4096 bytes after
/// this header) to store at `flush_va` first (the piggybacked victim, same process).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct FetchRequest {
    /// The process.
    pub pid: u32,
    /// Pages (1..=[`MAX_PAGES`]).
    pub npages: u32,
    /// First page.
    pub va: u64,
    /// A dirty page that rides along, or 0.
    pub flush_va: u64,
}

/// `FLUSH` / `OWNER_WRITE`: `count` page addresses (u64 each) then `count` pages.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct FlushRequest {
    /// The process.
    pub pid: u32,
    /// Pages (1..=[`MAX_PAGES`]).
    pub count: u32,
}

/// A process and a range (munmap, mprotect, brk, madvise, owner frees).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct RangeRequest {
    /// The process.
    pub pid: u32,
    /// prot (mprotect), advice (madvise), else 0.
    pub arg: u32,
    /// Start.
    pub addr: u64,
    /// Bytes.
    pub len: u64,
}

/// `MMAP`.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct MmapRequest {
    /// The process.
    pub pid: u32,
    /// `PROT_*`.
    pub prot: u32,
    /// `MAP_*` as the program passed them.
    pub flags: u32,
    /// File-backed: the file's vNode (0 for anonymous).
    pub vnode: u32,
    /// Hint or fixed address.
    pub addr: u64,
    /// Bytes.
    pub len: u64,
    /// File offset.
    pub offset: u64,
    /// The file's sComponent and buffer-cache mComponent.
    pub storage: u32,
    /// The mComponent holding the file's buffer cache.
    pub cache: u32,
    /// Bytes of the file's path, which follows.
    pub path_len: u32,
    /// Zero.
    pub _pad: u32,
}

/// `MREMAP`.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct MremapRequest {
    /// The process.
    pub pid: u32,
    /// `MREMAP_*`.
    pub flags: u32,
    /// Old address.
    pub old_addr: u64,
    /// Old size.
    pub old_len: u64,
    /// New size.
    pub new_len: u64,
    /// New address (`MREMAP_FIXED`).
    pub new_addr: u64,
}

/// Reply to the memory syscalls: the result, then what the vmas inside `[lo, hi)` are now
/// (`nvmas` [`Vma`]s, replacing the caller's copy of that range), the vRegion owners that
/// changed (`nregions` [`Region`]s), and the ranges whose pages the caller must drop from its
/// cache without writing them back (`ndrops` pairs of u64 start, end).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct MapReply {
    /// The syscall's return value (an address, 0, or the break).
    pub result: u64,
    /// Start of the range the vmas describe.
    pub lo: u64,
    /// End of it.
    pub hi: u64,
    /// Vmas that follow.
    pub nvmas: u32,
    /// Owners that follow.
    pub nregions: u32,
    /// Ranges to drop that follow.
    pub ndrops: u32,
    /// For `MREMAP` that moved: the pComponent moves its cached lines of `[moved_from,
    /// moved_from + moved_len)` to `result` instead of dropping them (0: nothing moved).
    pub _pad: u32,
    /// Where a moved mapping came from (0: none).
    pub moved_from: u64,
    /// Bytes moved.
    pub moved_len: u64,
}

/// Home → owner: the owner's vmas of `pid` inside `[lo, hi)` are now the `count` [`Vma`]s
/// that follow.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct OwnerVmas {
    /// The process.
    pub pid: u32,
    /// Vmas that follow.
    pub count: u32,
    /// Start of the range.
    pub lo: u64,
    /// End of it.
    pub hi: u64,
}

/// Home → owner: move `pid`'s pages of `[from, from + len)` to `to`.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct MoveRequest {
    /// The process.
    pub pid: u32,
    /// Zero.
    pub _pad: u32,
    /// Old start.
    pub from: u64,
    /// New start.
    pub to: u64,
    /// Bytes.
    pub len: u64,
}

/// A process (exit).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct PidRequest {
    /// The process.
    pub pid: u32,
    /// Zero.
    pub _pad: u32,
}

/// Splits a list of NUL-terminated strings.
pub fn strings(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .strip_suffix(&[0])
        .unwrap_or(bytes)
        .split(|&b| b == 0)
        .filter(move |_| !bytes.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_fixed() {
        assert_eq!(core::mem::size_of::<ExecRequest>(), 88);
        assert_eq!(core::mem::size_of::<ExecReply>(), 48);
        assert_eq!(core::mem::size_of::<Vma>(), 24);
        assert_eq!(core::mem::size_of::<FetchRequest>(), 24);
        assert_eq!(core::mem::size_of::<MapReply>(), 56);
        // A full fetch reply fits one RPC payload; so does a full flush with its addresses.
        const { assert!(MAX_PAGES * PAGE <= crate::rpc::MAX_PAYLOAD) };
        const {
            assert!(
                core::mem::size_of::<FlushRequest>() + MAX_PAGES * (8 + PAGE)
                    <= crate::rpc::MAX_PAYLOAD
            )
        };
        const {
            assert!(
                core::mem::size_of::<ExecRequest>() + MAX_EXEC_STRINGS <= crate::rpc::MAX_PAYLOAD
            )
        };
    }

    #[test]
    fn opcodes_do_not_overlap_the_file_protocol() {
        const { assert!(OP_BASE > crate::fs::OP_LAST + 1) };
        assert!(is_mem_op(EXEC) && is_mem_op(OWNER_MOVE) && !is_mem_op(OP_LAST + 1));
        for op in OP_BASE..=OP_LAST {
            assert_ne!(op_name(op), "?");
        }
    }

    #[test]
    fn string_lists_split() {
        let mut it = strings(b"ls\0-l\0/\0");
        assert_eq!(it.next(), Some(&b"ls"[..]));
        assert_eq!(it.next(), Some(&b"-l"[..]));
        assert_eq!(it.next(), Some(&b"/"[..]));
        assert_eq!(it.next(), None);
        assert_eq!(strings(b"").count(), 0);
        assert_eq!(strings(b"\0").count(), 1, "one empty string");
    }
}
