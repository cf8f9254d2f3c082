//! `mmap`, `mprotect`, `mremap`, `madvise` and `msync` constants (`asm-generic/mman-common.h`,
//! `asm-generic/mman.h`, `asm/mman.h`, `linux/mman.h`).

/// No access.
pub const PROT_NONE: u32 = 0x0;
/// Readable.
pub const PROT_READ: u32 = 0x1;
/// Writable.
pub const PROT_WRITE: u32 = 0x2;
/// Executable.
pub const PROT_EXEC: u32 = 0x4;
/// Atomic operations (ignored on x86).
pub const PROT_SEM: u32 = 0x8;
/// `mprotect`: extend the change to the start of a grows-down mapping.
pub const PROT_GROWSDOWN: u32 = 0x0100_0000;
/// `mprotect`: extend the change to the end of a grows-up mapping.
pub const PROT_GROWSUP: u32 = 0x0200_0000;

/// Changes are shared.
pub const MAP_SHARED: u32 = 0x01;
/// Changes are private (copy on write).
pub const MAP_PRIVATE: u32 = 0x02;
/// `MAP_SHARED`, refusing unknown flags.
pub const MAP_SHARED_VALIDATE: u32 = 0x03;
/// Mask of the mapping type.
pub const MAP_TYPE: u32 = 0x0f;
/// Map exactly at `addr`, replacing what is there.
pub const MAP_FIXED: u32 = 0x10;
/// Not backed by a file; zero-filled.
pub const MAP_ANONYMOUS: u32 = 0x20;
/// Map in the first 2 GiB (x86-64 only).
pub const MAP_32BIT: u32 = 0x40;
/// A stack-like mapping that grows down.
pub const MAP_GROWSDOWN: u32 = 0x0100;
/// Ignored.
pub const MAP_DENYWRITE: u32 = 0x0800;
/// Ignored.
pub const MAP_EXECUTABLE: u32 = 0x1000;
/// Lock the pages.
pub const MAP_LOCKED: u32 = 0x2000;
/// Do not reserve swap.
pub const MAP_NORESERVE: u32 = 0x4000;
/// Prefault the page tables.
pub const MAP_POPULATE: u32 = 0x00_8000;
/// With `MAP_POPULATE`: do not block on I/O.
pub const MAP_NONBLOCK: u32 = 0x01_0000;
/// An address suitable for a stack.
pub const MAP_STACK: u32 = 0x02_0000;
/// Huge pages.
pub const MAP_HUGETLB: u32 = 0x04_0000;
/// Synchronous page faults (DAX).
pub const MAP_SYNC: u32 = 0x08_0000;
/// `MAP_FIXED` that fails with `EEXIST` instead of replacing.
pub const MAP_FIXED_NOREPLACE: u32 = 0x10_0000;
/// Anonymous memory that may be uninitialized (embedded kernels only).
pub const MAP_UNINITIALIZED: u32 = 0x400_0000;

/// `mremap`: the mapping may move.
pub const MREMAP_MAYMOVE: u32 = 1;
/// `mremap`: move to exactly `new_address`.
pub const MREMAP_FIXED: u32 = 2;
/// `mremap`: leave the old range mapped (empty).
pub const MREMAP_DONTUNMAP: u32 = 4;

/// No special treatment.
pub const MADV_NORMAL: u32 = 0;
/// Expect random references.
pub const MADV_RANDOM: u32 = 1;
/// Expect sequential references.
pub const MADV_SEQUENTIAL: u32 = 2;
/// Will need these pages.
pub const MADV_WILLNEED: u32 = 3;
/// Drop these pages: private anonymous memory reads as zeros afterwards.
pub const MADV_DONTNEED: u32 = 4;
/// Free the pages lazily, under memory pressure.
pub const MADV_FREE: u32 = 8;
/// Remove the pages and their backing store.
pub const MADV_REMOVE: u32 = 9;
/// Do not inherit across `fork`.
pub const MADV_DONTFORK: u32 = 10;
/// Inherit across `fork`.
pub const MADV_DOFORK: u32 = 11;
/// KSM may merge.
pub const MADV_MERGEABLE: u32 = 12;
/// KSM may not merge.
pub const MADV_UNMERGEABLE: u32 = 13;
/// Back with huge pages.
pub const MADV_HUGEPAGE: u32 = 14;
/// Do not back with huge pages.
pub const MADV_NOHUGEPAGE: u32 = 15;
/// Leave out of core dumps.
pub const MADV_DONTDUMP: u32 = 16;
/// Undo `MADV_DONTDUMP`.
pub const MADV_DODUMP: u32 = 17;
/// Zero in the child after `fork`.
pub const MADV_WIPEONFORK: u32 = 18;
/// Undo `MADV_WIPEONFORK`.
pub const MADV_KEEPONFORK: u32 = 19;
/// Deactivate the pages.
pub const MADV_COLD: u32 = 20;
/// Reclaim the pages.
pub const MADV_PAGEOUT: u32 = 21;
/// Prefault readable.
pub const MADV_POPULATE_READ: u32 = 22;
/// Prefault writable.
pub const MADV_POPULATE_WRITE: u32 = 23;
/// `MADV_DONTNEED`, locked pages too.
pub const MADV_DONTNEED_LOCKED: u32 = 24;
/// Collapse into huge pages now.
pub const MADV_COLLAPSE: u32 = 25;
/// Poison a page (testing).
pub const MADV_HWPOISON: u32 = 100;

/// `msync`: schedule the write-back.
pub const MS_ASYNC: u32 = 1;
/// `msync`: invalidate other mappings.
pub const MS_INVALIDATE: u32 = 2;
/// `msync`: write back and wait.
pub const MS_SYNC: u32 = 4;
