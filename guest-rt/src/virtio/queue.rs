//! A split virtqueue, driver side. Descriptors come from a free list kept in driver memory (the
//! device cannot corrupt it), so several chains can be in flight: [`SplitQueue::add`] places a
//! chain in the available ring without notifying, [`SplitQueue::notify`] rings the doorbell
//! once for a batch, [`SplitQueue::pop_used`] collects completions. [`SplitQueue::submit`] runs
//! one request synchronously (add, notify, wait for it): the control queues use that.

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;
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

/// End of the free list.
const NONE: u16 = u16::MAX;

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
    /// First free descriptor ([`NONE`]: none).
    free_head: u16,
    /// Free-list links, and the links of in-flight chains (a chain is a run of the free list).
    next: Vec<u16>,
    /// Per head descriptor: descriptors in its chain; 0 if it is not the head of a chain in
    /// flight.
    chain_len: Vec<u16>,
    num_free: u16,
    in_flight: u16,
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
        if !size.is_power_of_two() || size == NONE {
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
        let mut next: Vec<u16> = (1..=size).collect();
        next[usize::from(size) - 1] = NONE;
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
            free_head: 0,
            next,
            chain_len: vec![0; usize::from(size)],
            num_free: size,
            in_flight: 0,
        })
    }

    /// Entries of the queue.
    pub fn size(&self) -> u16 {
        self.size
    }

    /// Descriptors not in any chain in flight.
    pub fn free_descriptors(&self) -> u16 {
        self.num_free
    }

    /// Chains placed and not yet collected with [`SplitQueue::pop_used`].
    pub fn in_flight(&self) -> u16 {
        self.in_flight
    }

    /// Places one chain, `out` buffers the device reads then `inn` buffers it writes, in the
    /// available ring, without notifying the device. Returns the chain's head descriptor, which
    /// [`SplitQueue::pop_used`] reports when the device is done with it.
    pub fn add(&mut self, out: &[Buf], inn: &[Buf]) -> Result<u16, VirtioError> {
        let n = out.len() + inn.len();
        if n == 0 || n > usize::from(self.size) {
            return Err(VirtioError::BadQueue);
        }
        if n > usize::from(self.num_free) {
            return Err(VirtioError::QueueFull);
        }
        let head = self.free_head;
        let mut i = head;
        for (k, &(addr, len)) in out.iter().chain(inn.iter()).enumerate() {
            let link = self.next[usize::from(i)];
            let mut flags = if k >= out.len() { desc::WRITE } else { 0 };
            if k + 1 < n {
                flags |= desc::NEXT;
            }
            // SAFETY: `i` came from the free list, so `i < size` and the descriptor exists.
            unsafe {
                self.desc.add(usize::from(i)).write_volatile(Desc {
                    addr,
                    len,
                    flags,
                    next: if k + 1 < n { link } else { 0 },
                })
            };
            i = link;
        }
        self.free_head = i;
        self.num_free -= n as u16;
        self.chain_len[usize::from(head)] = n as u16;
        self.in_flight += 1;
        let slot = usize::from(self.avail_idx % self.size);
        // SAFETY: the available ring has `size` entries after its 2-word header.
        unsafe { self.avail.add(2 + slot).write_volatile(head) };
        fence(Ordering::SeqCst);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        // SAFETY: word 1 of the available ring is its index.
        unsafe { self.avail.add(1).write_volatile(self.avail_idx) };
        fence(Ordering::SeqCst);
        Ok(head)
    }

    /// Tells the device the queue has new chains (one exit to the VMM).
    pub fn notify(&self, dev: &MmioDevice) {
        fence(Ordering::SeqCst);
        dev.notify(self.index);
    }

    /// The next completed chain, `(head, bytes the device wrote)`, if there is one; its
    /// descriptors are free again. A completion for a chain that is not in flight is a device
    /// bug: [`VirtioError::BadCompletion`].
    pub fn pop_used(&mut self) -> Result<Option<(u16, u32)>, VirtioError> {
        // SAFETY: the used ring's index is the u16 at offset 2.
        let used_idx = unsafe { self.used.add(2).cast::<u16>().read_volatile() };
        if used_idx == self.last_used {
            return Ok(None);
        }
        fence(Ordering::SeqCst);
        let slot = usize::from(self.last_used % self.size);
        // SAFETY: used elements (id u32, len u32) follow the 4-byte header; `slot < size`.
        let (id, len) = unsafe {
            let e = self.used.add(4 + 8 * slot);
            (
                e.cast::<u32>().read_volatile(),
                e.add(4).cast::<u32>().read_volatile(),
            )
        };
        self.last_used = self.last_used.wrapping_add(1);
        let head = match u16::try_from(id) {
            Ok(h) if h < self.size && self.chain_len[usize::from(h)] != 0 => h,
            _ => return Err(VirtioError::BadCompletion(id)),
        };
        let n = self.chain_len[usize::from(head)];
        self.chain_len[usize::from(head)] = 0;
        let mut last = head;
        for _ in 1..n {
            last = self.next[usize::from(last)];
        }
        self.next[usize::from(last)] = self.free_head;
        self.free_head = head;
        self.num_free += n;
        self.in_flight -= 1;
        Ok(Some((head, len)))
    }

    /// Runs one request: `out` buffers the device reads, then `inn` buffers it writes. Returns
    /// the bytes the device wrote. Waits at most `timeout_ns`. Completions of other chains seen
    /// meanwhile (ones an earlier call gave up on) are dropped: do not mix with batches.
    pub fn submit(
        &mut self,
        dev: &MmioDevice,
        out: &[Buf],
        inn: &[Buf],
        timeout_ns: u64,
    ) -> Result<u32, VirtioError> {
        // Reclaim chains of earlier calls that timed out and have completed since.
        while self.pop_used()?.is_some() {}
        let head = self.add(out, inn)?;
        self.notify(dev);
        let give_up = rdtsc() + time::ns_to_ticks(timeout_ns);
        loop {
            match self.pop_used()? {
                Some((h, len)) if h == head => return Ok(len),
                Some(_) => continue,
                None => {}
            }
            if rdtsc() > give_up {
                return Err(VirtioError::Timeout);
            }
            core::hint::spin_loop();
        }
    }
}
