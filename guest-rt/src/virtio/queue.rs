//! A split virtqueue used synchronously: the driver places one descriptor chain, notifies, and
//! polls the used ring for it. One chain in flight at a time, so descriptors are simply reused
//! from index 0.

use core::sync::atomic::{Ordering, fence};

use lego_abi::virtio_mmio::desc;

use super::VirtioError;
use super::mmio::MmioDevice;
use crate::arch::rdtsc;
use crate::mm::{alloc_zeroed, phys_to_virt};
use crate::time;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Desc {
    addr: u64,
    len: u32,
    flags: u16,
    next: u16,
}

/// A queue of `size` entries in one allocation: descriptors, then the available ring, then the
/// used ring (4-byte aligned).
#[derive(Debug)]
pub struct SplitQueue {
    index: u16,
    size: u16,
    desc: *mut Desc,
    avail: *mut u16,
    used: *mut u8,
    avail_idx: u16,
    last_used: u16,
}

// SAFETY: the rings are memory owned by this queue; users serialise access with a lock.
unsafe impl Send for SplitQueue {}

/// A buffer in a chain: guest-physical address, length.
pub type Buf = (u64, u32);

impl SplitQueue {
    /// Allocates and registers queue `index` of `dev` with up to `want` entries.
    pub fn new(dev: &mut MmioDevice, index: u16, want: u16) -> Result<SplitQueue, VirtioError> {
        let max = dev.queue_max(index);
        if max == 0 {
            return Err(VirtioError::BadQueue);
        }
        let size = want.min(max);
        if !size.is_power_of_two() {
            return Err(VirtioError::BadQueue);
        }
        let n = u64::from(size);
        let desc_bytes = 16 * n;
        let avail_bytes = 6 + 2 * n;
        let used_off = (desc_bytes + avail_bytes).next_multiple_of(4);
        let total = used_off + 6 + 8 * n;
        let pages = total.div_ceil(4096);
        let pa = alloc_zeroed(pages).ok_or(VirtioError::OutOfMemory)?;
        let va = phys_to_virt(pa);
        dev.setup_queue(index, size, pa, pa + desc_bytes, pa + used_off);
        Ok(SplitQueue {
            index,
            size,
            desc: va.cast(),
            // SAFETY: offsets inside the allocation computed above.
            avail: unsafe { va.add(desc_bytes as usize).cast() },
            // SAFETY: as above.
            used: unsafe { va.add(used_off as usize) },
            avail_idx: 0,
            last_used: 0,
        })
    }

    /// Runs one request: `out` buffers the device reads, then `inn` buffers it writes. Returns
    /// the bytes the device wrote. Waits at most `timeout_ns`.
    pub fn submit(
        &mut self,
        dev: &MmioDevice,
        out: &[Buf],
        inn: &[Buf],
        timeout_ns: u64,
    ) -> Result<u32, VirtioError> {
        let n = out.len() + inn.len();
        if n == 0 || n > usize::from(self.size) {
            return Err(VirtioError::BadQueue);
        }
        for (i, &(addr, len)) in out.iter().chain(inn.iter()).enumerate() {
            let mut flags = if i >= out.len() { desc::WRITE } else { 0 };
            if i + 1 < n {
                flags |= desc::NEXT;
            }
            // SAFETY: `i < n <= size` descriptors exist.
            unsafe {
                self.desc.add(i).write_volatile(Desc {
                    addr,
                    len,
                    flags,
                    next: (i + 1) as u16,
                })
            };
        }
        let slot = usize::from(self.avail_idx % self.size);
        // SAFETY: the available ring has `size` entries after its 2-word header.
        unsafe { self.avail.add(2 + slot).write_volatile(0) };
        fence(Ordering::SeqCst);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        // SAFETY: word 1 of the available ring is its index.
        unsafe { self.avail.add(1).write_volatile(self.avail_idx) };
        fence(Ordering::SeqCst);
        dev.notify(self.index);
        let give_up = rdtsc() + time::ns_to_ticks(timeout_ns);
        loop {
            // SAFETY: the used ring's index is the u16 at offset 2.
            let used_idx = unsafe { self.used.add(2).cast::<u16>().read_volatile() };
            if used_idx != self.last_used {
                fence(Ordering::SeqCst);
                let slot = usize::from(self.last_used % self.size);
                // SAFETY: used elements (id u32, len u32) follow the 4-byte header.
                let len = unsafe {
                    self.used
                        .add(4 + 8 * slot + 4)
                        .cast::<u32>()
                        .read_volatile()
                };
                self.last_used = self.last_used.wrapping_add(1);
                return Ok(len);
            }
            if rdtsc() > give_up {
                return Err(VirtioError::Timeout);
            }
            core::hint::spin_loop();
        }
    }
}
