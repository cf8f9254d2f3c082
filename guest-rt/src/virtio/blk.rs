//! The virtio-blk driver: the storage component's disk, in 4 KiB blocks.
//!
//! Every notification is an exit to the VMM (7-10 us on PVM, more for a VIF guest), which then
//! serves the whole available ring before returning: the driver places many requests and
//! notifies once, and finds them all completed when the exit returns.
//!
//! - Writes are batched: [`BlkDevice::write`] copies the block into a driver-owned buffer pool
//!   and places the request in the ring without notifying; consecutive blocks are merged into one
//!   request while it is still open. The device is notified when the pool or the ring is full, on
//!   [`BlkDevice::flush`], and before any read (the device serves the ring in order, so a read
//!   sees every earlier write).
//! - A write is durable only once `flush` returns Ok; `flush` returns Ok only if every write
//!   since the previous flush completed OK. A failed batched write is reported by the next
//!   `flush` (and once by the next read).
//! - Reads go straight into the caller's buffer when it is in the direct map (physically
//!   contiguous), else through the pool.
//! - Every wait has a 30 s deadline; after a timeout the device is unusable (it may still own
//!   our buffers) and every call fails with [`VirtioError::Timeout`].

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{Ordering, fence};

use lego_abi::boot::BootInfo;
use lego_abi::virtio_blk::{
    BLOCK_SIZE, DEVICE_ID, HEADER_BYTES, ID_BYTES, QUEUE_SIZE, REQUEST_QUEUE, ReqHeader,
    SECTORS_PER_BLOCK, config, features, req, status,
};
use lego_abi::virtio_mmio::MMIO_SIZE;
use zerocopy::IntoBytes;

use super::VirtioError;
use super::mmio::MmioDevice;
use super::queue::{Buf, SplitQueue};
use crate::arch::rdtsc;
use crate::mm::{alloc_zeroed, map_io, phys_to_virt, virt_to_phys};
use crate::time;

/// Bytes of a block.
pub const BLOCK: usize = BLOCK_SIZE as usize;
/// How long any wait for the device may take.
const TIMEOUT_NS: u64 = 30_000_000_000;
/// Blocks of the write-batch pool (1 MiB): the most data one notification carries.
const POOL_BLOCKS: usize = 256;
/// Most requests in one batch. Each takes 3 descriptors (header, data, status).
const MAX_SLOTS: usize = QUEUE_SIZE as usize / 3;
/// Bytes of per-request metadata: the header, then the status byte.
const SLOT_BYTES: u64 = 32;
/// The largest read request (a chain may not exceed 4 GiB).
const MAX_READ_BYTES: usize = 1 << 28;
/// What a status byte holds until the device writes it.
const NO_STATUS: u8 = 0xff;

/// What a request in flight is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Write,
    Read,
    Flush,
    GetId,
}

/// A request in the current batch.
#[derive(Clone, Copy, Debug)]
struct Slot {
    head: u16,
    kind: Kind,
    block: u64,
    /// Bytes the device should write back (data and status).
    expect: u32,
    done: Option<Result<(), VirtioError>>,
}

/// The write still being extended with consecutive blocks (not yet in the ring).
#[derive(Clone, Copy, Debug)]
struct OpenWrite {
    block: u64,
    pool_index: usize,
    count: usize,
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlkStats {
    /// Notifications (exits to the VMM).
    pub notifies: u64,
    /// Requests sent.
    pub requests: u64,
    /// Blocks written (by `write`).
    pub blocks_written: u64,
    /// Blocks read.
    pub blocks_read: u64,
    /// FLUSH requests sent.
    pub flushes: u64,
    /// Nanoseconds spent waiting for the device (from notifying to the last completion).
    pub wait_ns: u64,
}

/// A virtio-blk device.
#[derive(Debug)]
pub struct BlkDevice {
    dev: MmioDevice,
    queue: SplitQueue,
    blocks: u64,
    features: u64,
    meta_pa: u64,
    pool_pa: u64,
    /// Blocks of the pool holding data of the current batch.
    pool_used: usize,
    open: Option<OpenWrite>,
    slots: Vec<Slot>,
    /// The first batched write that failed since the last flush.
    write_error: Option<VirtioError>,
    /// `write_error` was already returned by a read.
    write_error_told_read: bool,
    /// Writes since the last successful flush.
    dirty: bool,
    /// A wait timed out: the device may still own our buffers.
    broken: bool,
    stats: BlkStats,
}

/// A compiler barrier for memory the device reads or writes behind the compiler's back (our
/// pool, the caller's read buffer): everything before stays before, nothing cached across.
fn dma_barrier() {
    fence(Ordering::SeqCst);
    // SAFETY: an empty asm block; without `nomem` the compiler must assume it reads and writes
    // any memory whose address escaped, which is the point.
    unsafe { core::arch::asm!("", options(nostack, preserves_flags)) };
}

impl BlkDevice {
    /// Brings up the block device listed in the boot info; `None` if there is none.
    pub fn open(bi: &BootInfo) -> Result<Option<BlkDevice>, VirtioError> {
        let Some(d) = bi.device(DEVICE_ID) else {
            return Ok(None);
        };
        let base = map_io(d.mmio_gpa, MMIO_SIZE, true)?;
        // SAFETY: `base` now maps the device's register page.
        let mut dev = unsafe { MmioDevice::probe(base, DEVICE_ID) }?;
        let features = dev.negotiate(features::FLUSH | features::BLK_SIZE | features::SEG_MAX)?;
        let mut cap = [0u8; 8];
        dev.read_config(config::CAPACITY, &mut cap);
        let blocks = u64::from_le_bytes(cap) / SECTORS_PER_BLOCK;
        let queue = SplitQueue::new(&mut dev, REQUEST_QUEUE, QUEUE_SIZE)?;
        if queue.size() < 3 {
            return Err(VirtioError::BadQueue);
        }
        dev.driver_ok()?;
        let meta_pages = (MAX_SLOTS as u64 * SLOT_BYTES).div_ceil(4096);
        let meta_pa = alloc_zeroed(meta_pages).ok_or(VirtioError::OutOfMemory)?;
        let pool_pa = alloc_zeroed(POOL_BLOCKS as u64).ok_or(VirtioError::OutOfMemory)?;
        Ok(Some(BlkDevice {
            dev,
            queue,
            blocks,
            features,
            meta_pa,
            pool_pa,
            pool_used: 0,
            open: None,
            slots: Vec::with_capacity(MAX_SLOTS),
            write_error: None,
            write_error_told_read: false,
            dirty: false,
            broken: false,
            stats: BlkStats::default(),
        }))
    }

    /// Blocks (4 KiB) on the device.
    pub fn block_count(&self) -> u64 {
        self.blocks
    }

    /// The counters.
    pub fn stats(&self) -> BlkStats {
        self.stats
    }

    /// Reads block `block`.
    pub fn read(&mut self, block: u64, buf: &mut [u8; BLOCK]) -> Result<(), VirtioError> {
        self.read_many(block, buf)
    }

    /// Reads `buf.len() / 4096` blocks from `first` in one request (several if the buffer is
    /// not in the direct map or is over 256 MiB).
    pub fn read_many(&mut self, first: u64, buf: &mut [u8]) -> Result<(), VirtioError> {
        let count = self.check(first, buf.len())?;
        self.read_into(first, count, buf)
    }

    /// Reads without the driver's range check (the device's own check answers): for the
    /// self-test of the VMM's validation.
    pub(crate) fn read_unchecked(
        &mut self,
        block: u64,
        buf: &mut [u8; BLOCK],
    ) -> Result<(), VirtioError> {
        self.usable()?;
        self.read_into(block, 1, buf)
    }

    /// Queues a write of block `block`; durable after the next successful [`BlkDevice::flush`].
    pub fn write(&mut self, block: u64, data: &[u8; BLOCK]) -> Result<(), VirtioError> {
        self.check(block, BLOCK)?;
        if let Some(o) = &mut self.open
            && o.block + o.count as u64 == block
            && o.pool_index + o.count == self.pool_used
            && self.pool_used < POOL_BLOCKS
        {
            o.count += 1;
        } else {
            self.seal()?;
            if self.pool_used == POOL_BLOCKS || !self.has_room(3) {
                self.kick()?;
            }
            self.open = Some(OpenWrite {
                block,
                pool_index: self.pool_used,
                count: 1,
            });
        }
        let at = phys_to_virt(self.pool_pa + (self.pool_used * BLOCK) as u64);
        // SAFETY: pool block `pool_used < POOL_BLOCKS` is ours and not in any request in flight
        // (the pool is handed out in order and reclaimed only after a batch completes).
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), at, BLOCK) };
        self.pool_used += 1;
        self.dirty = true;
        self.stats.blocks_written += 1;
        Ok(())
    }

    /// Sends every queued write and makes all of them durable. Fails if any write since the
    /// previous flush failed, or the flush itself did.
    pub fn flush(&mut self) -> Result<(), VirtioError> {
        self.usable()?;
        self.seal()?;
        if !self.dirty && self.write_error.is_none() {
            return Ok(());
        }
        if self.features & features::FLUSH != 0 {
            if !self.has_room(2) {
                self.kick()?;
            }
            self.place(Kind::Flush, 0, &[], None)?;
            self.stats.flushes += 1;
        }
        self.kick()?;
        if let Some(e) = self.write_error.take() {
            self.write_error_told_read = false;
            return Err(e);
        }
        self.dirty = false;
        Ok(())
    }

    /// Sends every queued write to the device and waits until it has taken them (for a disk
    /// image: they are in the host's file), without making them durable. Fails like `flush` if
    /// any write since the previous flush failed (the error stays for that flush too).
    pub fn submit(&mut self) -> Result<(), VirtioError> {
        self.kick()?;
        match self.write_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The device's id string (GET_ID), NUL-padded.
    pub fn id(&mut self) -> Result<[u8; ID_BYTES], VirtioError> {
        self.usable()?;
        self.seal()?;
        self.kick()?;
        self.place(Kind::GetId, 0, &[], Some((self.pool_pa, ID_BYTES as u32)))?;
        self.kick()?;
        let mut id = [0u8; ID_BYTES];
        // SAFETY: the device wrote the id into the pool's first bytes; the batch is complete.
        unsafe {
            core::ptr::copy_nonoverlapping(phys_to_virt(self.pool_pa), id.as_mut_ptr(), ID_BYTES)
        };
        Ok(id)
    }

    fn usable(&self) -> Result<(), VirtioError> {
        if self.broken {
            Err(VirtioError::Timeout)
        } else {
            Ok(())
        }
    }

    /// Checks a request of `len` bytes at `first`; returns its blocks.
    fn check(&self, first: u64, len: usize) -> Result<u64, VirtioError> {
        self.usable()?;
        if len == 0 || !len.is_multiple_of(BLOCK) {
            return Err(VirtioError::BadLength(len));
        }
        let count = (len / BLOCK) as u64;
        if first.checked_add(count).is_none_or(|end| end > self.blocks) {
            return Err(VirtioError::OutOfRange {
                block: first,
                blocks: self.blocks,
            });
        }
        Ok(count)
    }

    fn read_into(&mut self, first: u64, count: u64, buf: &mut [u8]) -> Result<(), VirtioError> {
        self.seal()?;
        let va = buf.as_mut_ptr() as u64;
        let len = buf.len();
        let contiguous = match (virt_to_phys(va), virt_to_phys(va + len as u64 - 1)) {
            (Some(a), Some(b)) => b - a == len as u64 - 1,
            _ => false,
        };
        if let (true, Some(pa)) = (contiguous, virt_to_phys(va)) {
            // Straight into the caller's buffer, behind any queued writes.
            let mut done = 0usize;
            while done < len {
                let n = (len - done).min(MAX_READ_BYTES);
                if !self.has_room(3) {
                    self.kick()?;
                }
                let block = first + (done / BLOCK) as u64;
                self.place(Kind::Read, block, &[], Some((pa + done as u64, n as u32)))?;
                done += n;
            }
            self.kick()?;
        } else {
            // Through the pool, which must be free first.
            self.kick()?;
            for (i, chunk) in buf.chunks_mut(POOL_BLOCKS * BLOCK).enumerate() {
                let block = first + (i * POOL_BLOCKS) as u64;
                self.place(
                    Kind::Read,
                    block,
                    &[],
                    Some((self.pool_pa, chunk.len() as u32)),
                )?;
                self.kick()?;
                // SAFETY: the device filled the pool's first `chunk.len()` bytes; the batch is
                // complete and the pool is ours again.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        phys_to_virt(self.pool_pa),
                        chunk.as_mut_ptr(),
                        chunk.len(),
                    )
                };
            }
        }
        self.stats.blocks_read += count;
        if let Some(e) = self.write_error
            && !self.write_error_told_read
        {
            self.write_error_told_read = true;
            return Err(e);
        }
        Ok(())
    }

    /// Whether one more request of `descs` descriptors fits in the batch.
    fn has_room(&self, descs: u16) -> bool {
        self.slots.len() < MAX_SLOTS && self.queue.free_descriptors() >= descs
    }

    /// Puts the open write (if any) in the ring. Its room was checked when it was opened, and
    /// nothing is placed while a write is open.
    fn seal(&mut self) -> Result<(), VirtioError> {
        if let Some(o) = self.open.take() {
            let data = (
                self.pool_pa + (o.pool_index * BLOCK) as u64,
                (o.count * BLOCK) as u32,
            );
            self.place(Kind::Write, o.block, &[data], None)?;
        }
        Ok(())
    }

    /// Places one request: header, `out` data, `inn` data, status. The caller checked room.
    fn place(
        &mut self,
        kind: Kind,
        block: u64,
        out: &[Buf],
        inn: Option<Buf>,
    ) -> Result<(), VirtioError> {
        let slot = self.slots.len();
        if slot >= MAX_SLOTS {
            return Err(VirtioError::QueueFull);
        }
        let type_ = match kind {
            Kind::Write => req::OUT,
            Kind::Read => req::IN,
            Kind::Flush => req::FLUSH,
            Kind::GetId => req::GET_ID,
        };
        let sector = match kind {
            Kind::Write | Kind::Read => block * SECTORS_PER_BLOCK,
            Kind::Flush | Kind::GetId => 0,
        };
        let header = ReqHeader::new(type_, sector);
        let hdr_pa = self.meta_pa + slot as u64 * SLOT_BYTES;
        let status_pa = hdr_pa + HEADER_BYTES as u64;
        // SAFETY: the metadata pages are ours; slot `slot` is not in flight (slots are reused
        // only after their batch completed).
        unsafe {
            core::ptr::copy_nonoverlapping(
                header.as_bytes().as_ptr(),
                phys_to_virt(hdr_pa),
                HEADER_BYTES,
            );
            phys_to_virt(status_pa).write_volatile(NO_STATUS);
        }
        let mut o: [Buf; 2] = [(hdr_pa, HEADER_BYTES as u32), (0, 0)];
        let nout = 1 + out.len().min(1);
        if let Some(&d) = out.first() {
            o[1] = d;
        }
        let mut w: [Buf; 2] = [(status_pa, 1), (0, 0)];
        let mut expect = 1u32;
        let nin = match inn {
            Some(d) => {
                w = [d, (status_pa, 1)];
                expect = d.1.saturating_add(1);
                2
            }
            None => 1,
        };
        dma_barrier();
        let head = self.queue.add(&o[..nout], &w[..nin])?;
        self.slots.push(Slot {
            head,
            kind,
            block,
            expect,
            done: None,
        });
        self.stats.requests += 1;
        Ok(())
    }

    /// Notifies the device (after sealing the open write), waits for every request of the
    /// batch, and frees the pool. Failed writes are recorded for the next flush; the first
    /// failure of another request is returned.
    fn kick(&mut self) -> Result<(), VirtioError> {
        self.usable()?;
        self.seal()?;
        if self.slots.is_empty() {
            return Ok(());
        }
        dma_barrier();
        let start = rdtsc();
        self.queue.notify(&self.dev);
        self.stats.notifies += 1;
        let give_up = start + time::ns_to_ticks(TIMEOUT_NS);
        while self.queue.in_flight() > 0 {
            match self.queue.pop_used() {
                Ok(Some((head, len))) => self.complete(head, len),
                Ok(None) => {
                    if rdtsc() > give_up {
                        self.broken = true;
                        return Err(VirtioError::Timeout);
                    }
                    core::hint::spin_loop();
                }
                Err(e) => {
                    self.broken = true;
                    return Err(e);
                }
            }
        }
        self.stats.wait_ns += time::ticks_to_ns(rdtsc().saturating_sub(start));
        dma_barrier();
        let mut first_error = None;
        for s in self.slots.drain(..) {
            let r = s
                .done
                .unwrap_or(Err(VirtioError::BadCompletion(u32::from(s.head))));
            if let Err(e) = r {
                if s.kind == Kind::Write {
                    if self.write_error.is_none() {
                        self.write_error = Some(e);
                        self.write_error_told_read = false;
                    }
                } else if first_error.is_none() {
                    first_error = Some(e);
                }
            }
        }
        self.pool_used = 0;
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Records the outcome of the request whose chain starts at `head`.
    fn complete(&mut self, head: u16, len: u32) {
        let meta_pa = self.meta_pa;
        let Some((i, s)) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.head == head && s.done.is_none())
        else {
            return;
        };
        let status_pa = meta_pa + i as u64 * SLOT_BYTES + HEADER_BYTES as u64;
        // SAFETY: the status byte of slot `i` in our metadata page; the device is done with it.
        let st = unsafe { phys_to_virt(status_pa).read_volatile() };
        s.done = Some(match st {
            status::OK if len >= s.expect || s.kind == Kind::GetId => Ok(()),
            status::OK | NO_STATUS => Err(VirtioError::ShortResponse(len)),
            status::UNSUPP => Err(VirtioError::Unsupported),
            _ => Err(VirtioError::Io { block: s.block }),
        });
    }
}
