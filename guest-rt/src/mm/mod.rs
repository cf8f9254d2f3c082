//! Guest physical memory: the page-frame allocator and the kernel heap.

pub mod frame;
pub mod paging;

#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
mod init;
#[cfg(target_os = "none")]
mod iomap;
#[cfg(target_os = "none")]
pub mod isolation;
#[cfg(target_os = "none")]
pub mod space;

#[cfg(target_os = "none")]
pub use init::{FRAMES, MemoryInfo, alloc_zeroed, grow_heap, init, phys_to_virt, virt_to_phys};
#[cfg(target_os = "none")]
pub use iomap::{map_io, map_io_alias, unmap_io};
