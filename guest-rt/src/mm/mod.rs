//! Guest physical memory: the page-frame allocator and the kernel heap.

pub mod frame;

#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
mod init;

#[cfg(target_os = "none")]
pub use init::{FRAMES, MemoryInfo, init, phys_to_virt};
