//! The virtio-blk device: the storage component's disk, backed by a host file
//! (`crate::disk`). The ABI is the standard one (`lego_abi::virtio_blk`).
//!
//! Requests are served synchronously on the notifying vCPU's exit, in available-ring order: a
//! driver places a batch of requests, notifies once, and finds them all completed in the used
//! ring when the exit returns (no interrupt). Reads and writes go straight between the file and
//! guest memory (`pread`/`pwrite` on the host address of the guest's buffers); with `O_DIRECT`
//! a buffer that is not 4 KiB aligned goes through an aligned bounce buffer instead.
//!
//! Every request is validated: the layout (device-readable header first, then data, then the
//! device-writable part ending in the status byte; data direction matching the type), lengths
//! (whole 512-byte sectors, 4 KiB with `O_DIRECT`), the sector range, the guest addresses. A bad
//! request, or a host I/O error, completes with IOERR (UNSUPP for unknown types); a chain with no
//! writable byte for the status is returned unused. Nothing the guest or the file does panics.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use lego_abi::virtio_blk::{
    BlkConfig, HEADER_BYTES, ID_BYTES, QUEUE_SIZE, ReqHeader, SECTOR_SHIFT, SECTOR_SIZE, VENDOR_ID,
    features, req, status,
};
use lego_abi::virtio_mmio::F_VERSION_1;
use virtio_queue::desc::split::Descriptor;
use virtio_queue::{Queue, QueueT};
use vm_memory::bitmap::BitmapSlice;
use vm_memory::{Address, Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, VolatileSlice};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::polled_io::{PolledIo, ReadSeg};
use super::virtio_mmio::VirtioDevice;
use crate::disk::Disk;

/// Alignment `O_DIRECT` needs of buffers, offsets and lengths (the largest logical block size
/// in use; 4 KiB is our block size anyway).
const DIRECT_ALIGN: u64 = 4096;
/// Size of the bounce buffer (allocated on first use; requests are bounced in chunks of this).
const BOUNCE_BYTES: usize = 1 << 20;

/// A 4 KiB-aligned page of the bounce buffer.
#[repr(C, align(4096))]
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
struct Page([u8; 4096]);

/// A piece of a request: guest-physical address, length.
type Seg = (GuestAddress, u32);

/// Counters, for tests and debugging.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlkStats {
    /// Requests completed (any status).
    pub requests: u64,
    /// Requests that completed with IOERR or UNSUPP, or could not be completed at all.
    pub errors: u64,
    /// Bytes read from the file into the guest.
    pub bytes_read: u64,
    /// Bytes written from the guest to the file.
    pub bytes_written: u64,
    /// FLUSH requests served.
    pub flushes: u64,
    /// Requests that went through the bounce buffer.
    pub bounced: u64,
    /// Direct reads whose host I/O completed while the thread polled for it (see
    /// [`super::polled_io`]).
    pub reads_polled: u64,
    /// Direct reads that outlasted the polling limit and were waited for asleep.
    pub reads_slept: u64,
}

/// Why a request failed: the status byte, and a reason for the debug log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reject {
    status: u8,
    why: &'static str,
}

const fn ioerr(why: &'static str) -> Reject {
    Reject {
        status: status::IOERR,
        why,
    }
}

/// The device.
pub struct BlkDevice {
    file: File,
    /// Writes go here when set (see `crate::disk::Disk::writer`).
    writer: Option<File>,
    /// Size in sectors.
    capacity: u64,
    direct: bool,
    id: [u8; ID_BYTES],
    bounce: Vec<Page>,
    stats: BlkStats,
    /// Polled reads of an `O_DIRECT` image; `None` in buffered mode or without host AIO.
    aio: Option<PolledIo>,
}

impl std::fmt::Debug for BlkDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlkDevice")
            .field("capacity", &self.capacity)
            .field("direct", &self.direct)
            .field("stats", &self.stats)
            .finish()
    }
}

/// Which way data moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    /// File to guest (IN).
    FileToGuest,
    /// Guest to file (OUT).
    GuestToFile,
}

impl BlkDevice {
    /// A device over an opened image (see [`crate::disk::open`]).
    pub fn new(disk: Disk) -> BlkDevice {
        let mut d = BlkDevice::from_file(disk.file, disk.size, disk.direct, disk.id);
        d.writer = disk.writer;
        d
    }

    /// A device over `file`, of `size` bytes (whole sectors are used), opened with `O_DIRECT`
    /// if `direct`.
    pub fn from_file(file: File, size: u64, direct: bool, id: [u8; ID_BYTES]) -> BlkDevice {
        BlkDevice {
            file,
            writer: None,
            capacity: size >> SECTOR_SHIFT,
            direct,
            id,
            bounce: Vec::new(),
            stats: BlkStats::default(),
            aio: if direct {
                PolledIo::new()
                    .inspect_err(|e| {
                        tracing::warn!("virtio-blk: no host AIO ({e}); reads will sleep in pread")
                    })
                    .ok()
            } else {
                None
            },
        }
    }

    /// Size in 512-byte sectors.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The counters.
    pub fn stats(&self) -> BlkStats {
        let polled = self.aio.as_ref().map(PolledIo::stats).unwrap_or_default();
        BlkStats {
            reads_polled: polled.polled,
            reads_slept: polled.slept,
            ..self.stats
        }
    }

    fn config(&self) -> BlkConfig {
        BlkConfig {
            capacity: self.capacity,
            size_max: 0,
            seg_max: u32::from(QUEUE_SIZE - 2),
            cylinders: 0,
            heads: 0,
            sectors: 0,
            blk_size: DIRECT_ALIGN as u32,
        }
    }

    fn serve(&mut self, mem: &GuestMemoryMmap, queue: &mut Queue) {
        while let Some(chain) = queue.pop_descriptor_chain(mem) {
            let head = chain.head_index();
            let used = self.handle(mem, chain);
            if queue.add_used(mem, head, used).is_err() {
                tracing::debug!("virtio-blk: used ring unusable; stopping");
                return;
            }
        }
    }

    /// Runs one request; returns the bytes written into the guest's writable buffers (data and
    /// status), the used length.
    fn handle(&mut self, mem: &GuestMemoryMmap, chain: impl Iterator<Item = Descriptor>) -> u32 {
        self.stats.requests += 1;
        let mut readable: Vec<Seg> = Vec::new();
        let mut writable: Vec<Seg> = Vec::new();
        let mut misordered = false;
        for d in chain {
            if d.len() == 0 {
                continue;
            }
            if d.is_write_only() {
                writable.push((d.addr(), d.len()));
            } else {
                misordered |= !writable.is_empty();
                readable.push((d.addr(), d.len()));
            }
        }
        // The status byte is the last byte of the device-writable part.
        let status_at = match writable.last_mut() {
            Some((addr, len)) => {
                *len -= 1;
                addr.checked_add(u64::from(*len))
            }
            None => None,
        };
        let Some(status_at) = status_at else {
            tracing::debug!("virtio-blk: request without a writable status byte dropped");
            self.stats.errors += 1;
            return 0;
        };
        if writable.last().is_some_and(|&(_, len)| len == 0) {
            writable.pop();
        }
        let result = if misordered {
            Err(ioerr("device-readable buffer after a device-writable one"))
        } else {
            self.execute(mem, &readable, &writable)
        };
        let (st, written) = match result {
            Ok(n) => (status::OK, n),
            Err(r) => {
                tracing::debug!("virtio-blk: request failed: {}", r.why);
                self.stats.errors += 1;
                (r.status, 0)
            }
        };
        if mem.write_slice(&[st], status_at).is_err() {
            tracing::debug!("virtio-blk: status byte outside guest memory");
            self.stats.errors += 1;
            return 0;
        }
        written.saturating_add(1)
    }

    /// Decodes and performs a request whose status byte was split off `writable`. Returns the
    /// data bytes written to the guest.
    fn execute(
        &mut self,
        mem: &GuestMemoryMmap,
        readable: &[Seg],
        writable: &[Seg],
    ) -> Result<u32, Reject> {
        let (header, data_out) = take_header(mem, readable)?;
        match header.type_ {
            req::IN => {
                if !data_out.is_empty() {
                    return Err(ioerr("IN request with device-readable data"));
                }
                let len = total(writable);
                let offset = self.check_range(header.sector, len)?;
                self.transfer(mem, writable, offset, Dir::FileToGuest)?;
                self.stats.bytes_read += len;
                u32::try_from(len).map_err(|_| ioerr("IN request over 4 GiB"))
            }
            req::OUT => {
                if !writable.is_empty() {
                    return Err(ioerr("OUT request with device-writable data"));
                }
                let len = total(&data_out);
                let offset = self.check_range(header.sector, len)?;
                self.transfer(mem, &data_out, offset, Dir::GuestToFile)?;
                self.stats.bytes_written += len;
                Ok(0)
            }
            req::FLUSH => {
                if !data_out.is_empty() || !writable.is_empty() {
                    return Err(ioerr("FLUSH request with data"));
                }
                self.stats.flushes += 1;
                self.file.sync_data().map_err(|e| {
                    tracing::warn!("virtio-blk: fdatasync of the disk image failed: {e}");
                    ioerr("fdatasync failed")
                })?;
                Ok(0)
            }
            req::GET_ID => {
                if !data_out.is_empty() || writable.is_empty() {
                    return Err(ioerr("GET_ID request without a writable buffer"));
                }
                let mut at = 0usize;
                for &(addr, len) in writable {
                    let n = (len as usize).min(ID_BYTES - at);
                    if n == 0 {
                        break;
                    }
                    mem.write_slice(&self.id[at..at + n], addr)
                        .map_err(|_| ioerr("GET_ID buffer outside guest memory"))?;
                    at += n;
                }
                Ok(at as u32)
            }
            _ => Err(Reject {
                status: status::UNSUPP,
                why: "unknown request type",
            }),
        }
    }

    /// Checks `len` bytes at `sector` are whole sectors inside the disk (and 4 KiB aligned with
    /// `O_DIRECT`); returns the byte offset.
    fn check_range(&self, sector: u64, len: u64) -> Result<u64, Reject> {
        if !len.is_multiple_of(SECTOR_SIZE) {
            return Err(ioerr("length is not a whole number of sectors"));
        }
        let end = sector
            .checked_add(len >> SECTOR_SHIFT)
            .ok_or(ioerr("sector range overflows"))?;
        if end > self.capacity {
            return Err(ioerr("sector range beyond the end of the disk"));
        }
        let offset = sector << SECTOR_SHIFT;
        if self.direct
            && (!offset.is_multiple_of(DIRECT_ALIGN) || !len.is_multiple_of(DIRECT_ALIGN))
        {
            return Err(ioerr("O_DIRECT disk: offset or length not 4 KiB aligned"));
        }
        Ok(offset)
    }

    /// Moves the data of `segs` to or from the file at `offset`.
    fn transfer(
        &mut self,
        mem: &GuestMemoryMmap,
        segs: &[Seg],
        offset: u64,
        dir: Dir,
    ) -> Result<(), Reject> {
        let mut slices = Vec::with_capacity(segs.len());
        for &(addr, len) in segs {
            let s = mem
                .get_slice(addr, len as usize)
                .map_err(|_| ioerr("data buffer outside guest memory"))?;
            slices.push(s);
        }
        let aligned = |s: &VolatileSlice<'_, _>| {
            (s.ptr_guard().as_ptr() as u64).is_multiple_of(DIRECT_ALIGN)
                && (s.len() as u64).is_multiple_of(DIRECT_ALIGN)
        };
        if dir == Dir::GuestToFile
            && let Some(w) = &self.writer
        {
            return zero_copy(w.as_raw_fd(), &slices, offset, dir).map_err(|e| {
                tracing::warn!("virtio-blk: write at offset {offset} failed: {e}");
                ioerr("host I/O error")
            });
        }
        let fd = self.file.as_raw_fd();
        let all_aligned = slices.iter().all(aligned);
        let polled = self
            .aio
            .as_mut()
            .filter(|_| all_aligned && dir == Dir::FileToGuest);
        let result = if let Some(aio) = polled {
            // The guards live until the reads are done.
            let guards: Vec<_> = slices.iter().map(|s| s.ptr_guard_mut()).collect();
            let mut at = offset;
            let segs: Vec<ReadSeg> = guards
                .iter()
                .map(|g| {
                    let seg = ReadSeg {
                        ptr: g.as_ptr(),
                        len: g.len(),
                        offset: at,
                    };
                    at += g.len() as u64;
                    seg
                })
                .collect();
            aio.read_all(fd, &segs)
        } else if !self.direct || all_aligned {
            zero_copy(fd, &slices, offset, dir)
        } else {
            self.stats.bounced += 1;
            self.bounced(fd, &slices, offset, total(segs), dir)
        };
        result.map_err(|e| {
            tracing::warn!(
                "virtio-blk: {} at offset {offset} failed: {e}",
                match dir {
                    Dir::FileToGuest => "read",
                    Dir::GuestToFile => "write",
                }
            );
            ioerr("host I/O error")
        })
    }

    /// Moves `total` bytes through the aligned bounce buffer, a chunk at a time.
    fn bounced<B: BitmapSlice>(
        &mut self,
        fd: RawFd,
        slices: &[VolatileSlice<'_, B>],
        offset: u64,
        total: u64,
        dir: Dir,
    ) -> io::Result<()> {
        if self.bounce.is_empty() {
            self.bounce = vec![Page([0; 4096]); BOUNCE_BYTES / 4096];
        }
        let buf = self.bounce.as_mut_bytes();
        let mut cursor = Cursor::default();
        let mut done = 0u64;
        while done < total {
            let n = (total - done).min(BOUNCE_BYTES as u64) as usize;
            let chunk = &mut buf[..n];
            match dir {
                Dir::FileToGuest => {
                    let seg = ReadSeg {
                        ptr: chunk.as_mut_ptr(),
                        len: n,
                        offset: offset + done,
                    };
                    match self.aio.as_mut() {
                        Some(aio) => aio.read_all(fd, &[seg])?,
                        None => rw_full(fd, seg.ptr, n, seg.offset, dir)?,
                    }
                    cursor.scatter(slices, chunk)?;
                }
                Dir::GuestToFile => {
                    cursor.gather(slices, chunk)?;
                    rw_full(fd, chunk.as_mut_ptr(), n, offset + done, dir)?;
                }
            }
            done += n as u64;
        }
        Ok(())
    }
}

/// A position in a list of slices.
#[derive(Default)]
struct Cursor {
    index: usize,
    offset: usize,
}

impl Cursor {
    /// Copies `buf` into the slices from the cursor on.
    fn scatter<B: BitmapSlice>(
        &mut self,
        slices: &[VolatileSlice<'_, B>],
        buf: &[u8],
    ) -> io::Result<()> {
        let mut at = 0;
        while at < buf.len() {
            let s = self.piece(slices, buf.len() - at)?;
            s.copy_from(&buf[at..at + s.len()]);
            at += s.len();
        }
        Ok(())
    }

    /// Fills `buf` from the slices from the cursor on.
    fn gather<B: BitmapSlice>(
        &mut self,
        slices: &[VolatileSlice<'_, B>],
        buf: &mut [u8],
    ) -> io::Result<()> {
        let mut at = 0;
        while at < buf.len() {
            let want = buf.len() - at;
            let s = self.piece(slices, want)?;
            let n = s.len();
            s.copy_to(&mut buf[at..at + n]);
            at += n;
        }
        Ok(())
    }

    /// The next piece of at most `max` bytes; advances past it.
    fn piece<'a, B: BitmapSlice>(
        &mut self,
        slices: &[VolatileSlice<'a, B>],
        max: usize,
    ) -> io::Result<VolatileSlice<'a, B>> {
        loop {
            let s = slices
                .get(self.index)
                .ok_or_else(|| io::Error::other("bounce cursor past the request's buffers"))?;
            let left = s.len() - self.offset;
            if left == 0 {
                self.index += 1;
                self.offset = 0;
                continue;
            }
            let n = left.min(max);
            let piece = s
                .subslice(self.offset, n)
                .map_err(|e| io::Error::other(e.to_string()))?;
            self.offset += n;
            return Ok(piece);
        }
    }
}

/// Splits the 16-byte header off the device-readable buffers (it may span several); returns it
/// and the rest (the OUT data).
fn take_header(mem: &GuestMemoryMmap, readable: &[Seg]) -> Result<(ReqHeader, Vec<Seg>), Reject> {
    let mut bytes = [0u8; HEADER_BYTES];
    let mut got = 0;
    let mut rest = Vec::new();
    for &(addr, len) in readable {
        if got == HEADER_BYTES {
            rest.push((addr, len));
            continue;
        }
        let n = (len as usize).min(HEADER_BYTES - got);
        mem.read_slice(&mut bytes[got..got + n], addr)
            .map_err(|_| ioerr("header outside guest memory"))?;
        got += n;
        if n < len as usize {
            let tail = addr
                .checked_add(n as u64)
                .ok_or(ioerr("buffer address overflows"))?;
            rest.push((tail, len - n as u32));
        }
    }
    if got < HEADER_BYTES {
        return Err(ioerr("no device-readable request header"));
    }
    let header = ReqHeader::read_from_bytes(&bytes).map_err(|_| ioerr("bad header"))?;
    Ok((header, rest))
}

fn total(segs: &[Seg]) -> u64 {
    segs.iter().map(|&(_, l)| u64::from(l)).sum()
}

/// Reads or writes each slice in turn, straight between the file and guest memory.
fn zero_copy<B: BitmapSlice>(
    fd: RawFd,
    slices: &[VolatileSlice<'_, B>],
    mut offset: u64,
    dir: Dir,
) -> io::Result<()> {
    for s in slices {
        let guard = s.ptr_guard_mut();
        rw_full(fd, guard.as_ptr(), s.len(), offset, dir)?;
        offset += s.len() as u64;
    }
    Ok(())
}

/// `pread` of exactly `len` bytes into `ptr` (see [`rw_full`]).
pub(super) fn pread_full(fd: RawFd, ptr: *mut u8, len: usize, offset: u64) -> io::Result<()> {
    rw_full(fd, ptr, len, offset, Dir::FileToGuest)
}

/// `pread`/`pwrite` of exactly `len` bytes at `ptr`, retrying short transfers and EINTR; the end
/// of the file is an error (the image shrank under us).
fn rw_full(fd: RawFd, ptr: *mut u8, len: usize, mut offset: u64, dir: Dir) -> io::Result<()> {
    let mut done = 0usize;
    while done < len {
        let off = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset overflows"))?;
        // SAFETY: `ptr` points at `len` bytes the caller may read and write (a guest-memory
        // slice checked by vm-memory, or our bounce buffer), alive for this call; `done < len`
        // keeps the range inside it.
        let n = unsafe {
            let p = ptr.add(done);
            match dir {
                Dir::FileToGuest => libc::pread(fd, p.cast(), len - done, off),
                Dir::GuestToFile => libc::pwrite(fd, p.cast_const().cast(), len - done, off),
            }
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "disk image ended early (truncated?)",
            ));
        }
        done += n as usize;
        offset += n as u64;
    }
    Ok(())
}

impl VirtioDevice for BlkDevice {
    fn device_id(&self) -> u32 {
        lego_abi::virtio_blk::DEVICE_ID
    }

    fn vendor_id(&self) -> u32 {
        VENDOR_ID
    }

    fn device_features(&self) -> u64 {
        F_VERSION_1 | features::FLUSH | features::BLK_SIZE | features::SEG_MAX
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[QUEUE_SIZE]
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        let cfg = self.config();
        let bytes = cfg.as_bytes();
        for (i, b) in data.iter_mut().enumerate() {
            *b = usize::try_from(offset)
                .ok()
                .and_then(|o| o.checked_add(i))
                .and_then(|o| bytes.get(o).copied())
                .unwrap_or(0);
        }
    }

    fn process_queue(&mut self, mem: &GuestMemoryMmap, _index: u16, queue: &mut Queue) {
        self.serve(mem, queue);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::testutil::TempPath;
    use lego_abi::virtio_blk::fill_pattern;
    use lego_abi::virtio_mmio::desc::{NEXT, WRITE};
    use std::os::unix::fs::OpenOptionsExt;

    const QSIZE: u16 = 16;
    const MEM_BYTES: u64 = 0x40_0000;
    const DESC: u64 = 0x0;
    const AVAIL: u64 = 0x1000;
    const USED: u64 = 0x2000;
    const HDR: u64 = 0x10_0000;
    const STATUS: u64 = 0x10_1000;
    const DATA: u64 = 0x20_0000;
    /// Disk size in the tests: 64 KiB = 128 sectors.
    const DISK: u64 = 64 << 10;
    const SECTORS: u64 = DISK / SECTOR_SIZE;

    /// A device, guest memory with one queue, and a little driver that runs one chain at a time.
    struct Rig {
        mem: GuestMemoryMmap,
        dev: BlkDevice,
        queue: Queue,
        avail_idx: u16,
        path: TempPath,
    }

    /// A descriptor: address, length, device-writable.
    type D = (u64, u32, bool);

    fn r(addr: u64, len: u32) -> D {
        (addr, len, false)
    }
    fn w(addr: u64, len: u32) -> D {
        (addr, len, true)
    }
    const ST: D = (STATUS, 1, true);

    impl Rig {
        fn with(direct: bool, stated_size: Option<u64>) -> Option<Rig> {
            let path = TempPath::new("blkdev");
            let mut img = vec![0u8; DISK as usize];
            for (b, chunk) in img.chunks_mut(4096).enumerate() {
                fill_pattern(99, b as u64, chunk);
            }
            std::fs::write(&path.0, &img).unwrap();
            let mut o = std::fs::OpenOptions::new();
            o.read(true).write(true);
            if direct {
                o.custom_flags(libc::O_DIRECT);
            }
            let file = match o.open(&path.0) {
                Ok(f) => f,
                Err(e) if direct && e.raw_os_error() == Some(libc::EINVAL) => {
                    eprintln!("O_DIRECT unsupported in the temporary directory; skipped");
                    return None;
                }
                Err(e) => panic!("{e}"),
            };
            let mut id = [0u8; ID_BYTES];
            id[..9].copy_from_slice(b"test-disk");
            let dev = BlkDevice::from_file(file, stated_size.unwrap_or(DISK), direct, id);
            let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), MEM_BYTES as usize)])
                .unwrap();
            let mut queue = Queue::new(QSIZE).unwrap();
            queue.set_size(QSIZE);
            queue.set_desc_table_address(Some(DESC as u32), Some(0));
            queue.set_avail_ring_address(Some(AVAIL as u32), Some(0));
            queue.set_used_ring_address(Some(USED as u32), Some(0));
            queue.set_ready(true);
            assert!(queue.is_valid(&mem));
            Some(Rig {
                mem,
                dev,
                queue,
                avail_idx: 0,
                path,
            })
        }

        fn new() -> Rig {
            Rig::with(false, None).unwrap()
        }

        fn header(&self, type_: u32, sector: u64) -> D {
            self.mem
                .write_slice(ReqHeader::new(type_, sector).as_bytes(), GuestAddress(HDR))
                .unwrap();
            r(HDR, 16)
        }

        /// Places `chain` at descriptor 0.., notifies; returns the used length and the status.
        fn run(&mut self, chain: &[D]) -> (u32, u8) {
            for (i, &(addr, len, writable)) in chain.iter().enumerate() {
                let mut flags = if writable { WRITE } else { 0 };
                if i + 1 < chain.len() {
                    flags |= NEXT;
                }
                self.put_desc(i as u16, addr, len, flags, i as u16 + 1);
            }
            self.publish(0)
        }

        fn put_desc(&self, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
            let at = GuestAddress(DESC + 16 * u64::from(i));
            let mut raw = [0u8; 16];
            raw[..8].copy_from_slice(&addr.to_le_bytes());
            raw[8..12].copy_from_slice(&len.to_le_bytes());
            raw[12..14].copy_from_slice(&flags.to_le_bytes());
            raw[14..].copy_from_slice(&next.to_le_bytes());
            self.mem.write_slice(&raw, at).unwrap();
        }

        /// Makes head `head` available, notifies, returns (used len, status).
        fn publish(&mut self, head: u16) -> (u32, u8) {
            self.mem.write_obj(0xffu8, GuestAddress(STATUS)).unwrap();
            let slot = u64::from(self.avail_idx % QSIZE);
            self.mem
                .write_obj(head, GuestAddress(AVAIL + 4 + 2 * slot))
                .unwrap();
            self.avail_idx = self.avail_idx.wrapping_add(1);
            self.mem
                .write_obj(self.avail_idx, GuestAddress(AVAIL + 2))
                .unwrap();
            self.dev.process_queue(&self.mem, 0, &mut self.queue);
            let used_idx: u16 = self.mem.read_obj(GuestAddress(USED + 2)).unwrap();
            assert_eq!(used_idx, self.avail_idx, "every request is completed");
            let id: u32 = self
                .mem
                .read_obj(GuestAddress(USED + 4 + 8 * slot))
                .unwrap();
            assert_eq!(id, u32::from(head));
            let len: u32 = self
                .mem
                .read_obj(GuestAddress(USED + 8 + 8 * slot))
                .unwrap();
            (len, self.mem.read_obj(GuestAddress(STATUS)).unwrap())
        }

        fn fill(&self, addr: u64, seed: u64, blocks: u64) -> Vec<u8> {
            let mut v = vec![0u8; (blocks * 4096) as usize];
            for (b, c) in v.chunks_mut(4096).enumerate() {
                fill_pattern(seed, b as u64, c);
            }
            self.mem.write_slice(&v, GuestAddress(addr)).unwrap();
            v
        }

        fn guest(&self, addr: u64, len: usize) -> Vec<u8> {
            let mut v = vec![0u8; len];
            self.mem.read_slice(&mut v, GuestAddress(addr)).unwrap();
            v
        }

        fn file(&self) -> Vec<u8> {
            std::fs::read(&self.path.0).unwrap()
        }
    }

    const OK: (u32, u8) = (1, status::OK);
    const IOERR: (u32, u8) = (1, status::IOERR);

    #[test]
    fn write_then_read_round_trips_zero_copy() {
        let mut g = Rig::new();
        let data = g.fill(DATA, 5, 2);
        let h = g.header(req::OUT, 8);
        assert_eq!(g.run(&[h, r(DATA, 8192), ST]), OK);
        assert_eq!(&g.file()[4096..12288], &data[..]);
        let h = g.header(req::IN, 8);
        assert_eq!(g.run(&[h, w(DATA + 0x10000, 8192), ST]), (8193, status::OK));
        assert_eq!(g.guest(DATA + 0x10000, 8192), data);
        // Data written before this test's image content is untouched around it.
        let mut b0 = [0u8; 4096];
        fill_pattern(99, 0, &mut b0);
        assert_eq!(&g.file()[..4096], &b0[..]);
        let s = g.dev.stats();
        assert_eq!(
            (s.bytes_written, s.bytes_read, s.bounced, s.errors),
            (8192, 8192, 0, 0)
        );
    }

    #[test]
    fn out_of_range_sectors_and_partial_sectors_are_ioerr() {
        let mut g = Rig::new();
        assert_eq!(g.dev.capacity(), SECTORS);
        for (sector, len) in [
            (SECTORS, 512),
            (SECTORS - 1, 1024),
            (u64::MAX, 512),
            (u64::MAX - 1, 4096),
            (0, 100),
            (0, 513),
        ] {
            let h = g.header(req::IN, sector);
            assert_eq!(g.run(&[h, w(DATA, len), ST]), IOERR, "IN {sector} {len}");
            let h = g.header(req::OUT, sector);
            assert_eq!(g.run(&[h, r(DATA, len), ST]), IOERR, "OUT {sector} {len}");
        }
        let before = g.file();
        let h = g.header(req::IN, SECTORS - 1);
        assert_eq!(g.run(&[h, w(DATA, 512), ST]), (513, status::OK));
        let h = g.header(req::OUT, SECTORS - 1);
        assert_eq!(g.run(&[h, r(DATA, 512), ST]), OK);
        assert_eq!(g.file(), before, "wrote back what was read");
    }

    #[test]
    fn wrong_descriptor_directions_are_ioerr() {
        let mut g = Rig::new();
        let before = g.file();
        g.fill(DATA, 1, 1);
        // OUT whose data the device would write.
        let h = g.header(req::OUT, 0);
        assert_eq!(g.run(&[h, w(DATA, 4096), ST]), IOERR);
        // IN whose data the device would read.
        let h = g.header(req::IN, 0);
        assert_eq!(g.run(&[h, r(DATA, 4096), ST]), IOERR);
        // A device-writable header.
        g.header(req::OUT, 0);
        assert_eq!(g.run(&[w(HDR, 16), r(DATA, 4096), ST]), IOERR);
        assert_eq!(g.run(&[w(HDR, 16), ST]), IOERR);
        // A readable buffer after a writable one.
        let h = g.header(req::OUT, 0);
        assert_eq!(g.run(&[h, w(DATA + 8192, 512), r(DATA, 4096), ST]), IOERR);
        // A header too short.
        g.header(req::FLUSH, 0);
        assert_eq!(g.run(&[r(HDR, 8), ST]), IOERR);
        assert_eq!(g.file(), before, "nothing was written");
        assert_eq!(g.dev.stats().bytes_written, 0);
    }

    #[test]
    fn missing_status_byte_is_returned_unused_and_harmless() {
        let mut g = Rig::new();
        let before = g.file();
        let h = g.header(req::OUT, 0);
        assert_eq!(g.run(&[h, r(DATA, 4096)]), (0, 0xff));
        let h = g.header(req::FLUSH, 0);
        assert_eq!(g.run(&[h]), (0, 0xff));
        assert_eq!(g.file(), before);
        // Zero-length writable descriptors do not count as a status byte either.
        let h = g.header(req::FLUSH, 0);
        assert_eq!(g.run(&[h, w(STATUS, 0)]), (0, 0xff));
        // The device keeps working.
        let h = g.header(req::IN, 0);
        assert_eq!(g.run(&[h, w(DATA, 4096), ST]), (4097, status::OK));
    }

    #[test]
    fn flush_get_id_and_unknown_types() {
        let mut g = Rig::new();
        let h = g.header(req::FLUSH, 0);
        assert_eq!(g.run(&[h, ST]), OK);
        assert_eq!(g.dev.stats().flushes, 1);
        let h = g.header(req::FLUSH, 0);
        assert_eq!(g.run(&[h, r(DATA, 512), ST]), IOERR, "FLUSH with data");
        let h = g.header(req::FLUSH, 0);
        assert_eq!(g.run(&[h, w(DATA, 512), ST]), IOERR, "FLUSH with data");

        let h = g.header(req::GET_ID, 0);
        assert_eq!(g.run(&[h, w(DATA, 20), ST]), (21, status::OK));
        let mut want = [0u8; 20];
        want[..9].copy_from_slice(b"test-disk");
        assert_eq!(g.guest(DATA, 20), want);
        let h = g.header(req::GET_ID, 0);
        g.mem.write_slice(&[0xee; 64], GuestAddress(DATA)).unwrap();
        assert_eq!(g.run(&[h, w(DATA, 4), ST]), (5, status::OK));
        assert_eq!(g.guest(DATA, 5), b"test\xee");
        let h = g.header(req::GET_ID, 0);
        assert_eq!(g.run(&[h, ST]), IOERR, "GET_ID without a buffer");

        for t in [2, 3, 11, 0xffff_ffff] {
            let h = g.header(t, 0);
            assert_eq!(g.run(&[h, ST]), (1, status::UNSUPP), "type {t}");
        }
    }

    #[test]
    fn any_framing_of_header_data_and_status_is_accepted() {
        let mut g = Rig::new();
        // Header split over two descriptors.
        let data = g.fill(DATA, 3, 1);
        g.header(req::OUT, 16);
        assert_eq!(g.run(&[r(HDR, 8), r(HDR + 8, 8), r(DATA, 4096), ST]), OK);
        assert_eq!(&g.file()[8192..12288], &data[..]);
        // Header and data in one descriptor.
        let data = g.fill(DATA + 16, 4, 1);
        g.mem
            .write_slice(ReqHeader::new(req::OUT, 24).as_bytes(), GuestAddress(DATA))
            .unwrap();
        assert_eq!(g.run(&[r(DATA, 16 + 4096), ST]), OK);
        assert_eq!(&g.file()[12288..16384], &data[..]);
        // Data and status in one descriptor, data split over two.
        let h = g.header(req::IN, 24);
        let out = DATA + 0x10000;
        g.mem.write_obj(0xffu8, GuestAddress(out + 4096)).unwrap();
        assert_eq!(
            g.run(&[h, w(out, 1024), w(out + 1024, 3072 + 1)]),
            (4097, 0xff)
        );
        assert_eq!(g.guest(out, 4096), data);
        assert_eq!(g.guest(out + 4096, 1), [status::OK]);
    }

    #[test]
    fn buffers_outside_guest_memory_are_ioerr() {
        let mut g = Rig::new();
        let h = g.header(req::IN, 0);
        assert_eq!(g.run(&[h, w(MEM_BYTES - 512, 4096), ST]), IOERR);
        let h = g.header(req::OUT, 0);
        assert_eq!(g.run(&[h, r(MEM_BYTES + 0x1000, 4096), ST]), IOERR);
        let h = g.header(req::OUT, 0);
        assert_eq!(g.run(&[h, r(u64::MAX - 100, 512), ST]), IOERR);
        g.header(req::IN, 0);
        assert_eq!(g.run(&[r(MEM_BYTES, 16), ST]), IOERR, "header outside");
        let h = g.header(req::FLUSH, 0);
        assert_eq!(
            g.run(&[h, w(MEM_BYTES + 5, 1)]),
            (0, 0xff),
            "status outside"
        );
        let h = g.header(req::IN, 0);
        assert_eq!(g.run(&[h, w(DATA, 512), ST]), (513, status::OK));
    }

    #[test]
    fn host_io_errors_become_ioerr() {
        // The device believes the image is larger than it is: reads past its end fail.
        let mut g = Rig::with(false, Some(2 * DISK)).unwrap();
        let h = g.header(req::IN, SECTORS);
        assert_eq!(g.run(&[h, w(DATA, 4096), ST]), IOERR);
        // A read-only descriptor: every write fails with EBADF.
        let file = std::fs::File::open(&g.path.0).unwrap();
        g.dev = BlkDevice::from_file(file, DISK, false, [0; ID_BYTES]);
        let h = g.header(req::OUT, 0);
        assert_eq!(g.run(&[h, r(DATA, 4096), ST]), IOERR);
        let h = g.header(req::IN, 0);
        assert_eq!(g.run(&[h, w(DATA, 4096), ST]), (4097, status::OK));
    }

    #[test]
    fn looping_and_dangling_chains_end() {
        let mut g = Rig::new();
        g.header(req::IN, 0);
        // A descriptor that chains to itself.
        g.put_desc(0, HDR, 16, NEXT, 0);
        let (_, st) = g.publish(0);
        assert_eq!(st, 0xff, "no status byte: nothing written");
        // A next index beyond the table.
        g.put_desc(0, HDR, 16, NEXT, 1000);
        let _ = g.publish(0);
        let h = g.header(req::IN, 0);
        assert_eq!(g.run(&[h, w(DATA, 512), ST]), (513, status::OK));
    }

    #[test]
    fn direct_mode_zero_copy_bounce_and_alignment() {
        let Some(mut g) = Rig::with(true, None) else {
            return;
        };
        let data = g.fill(DATA, 8, 2);
        let h = g.header(req::OUT, 8);
        assert_eq!(g.run(&[h, r(DATA, 8192), ST]), OK);
        assert_eq!(g.dev.stats().bounced, 0);
        assert_eq!(&g.file()[4096..12288], &data[..]);
        // Buffers not page aligned go through the bounce buffer.
        let data = g.fill(DATA + 0x10000 + 512, 9, 2);
        let h = g.header(req::OUT, 16);
        assert_eq!(
            g.run(&[
                h,
                r(DATA + 0x10000 + 512, 1536),
                r(DATA + 0x10000 + 2048, 6656),
                ST
            ]),
            OK
        );
        assert_eq!(g.dev.stats().bounced, 1);
        assert_eq!(&g.file()[8192..16384], &data[..]);
        let h = g.header(req::IN, 16);
        let out = DATA + 0x20000 + 100;
        assert_eq!(g.run(&[h, w(out, 8192), ST]), (8193, status::OK));
        assert_eq!(g.dev.stats().bounced, 2);
        assert_eq!(g.guest(out, 8192), data);
        // Reads are polled (the bounced one above too); aligned ones go straight into guest
        // memory, split buffers too.
        let h = g.header(req::IN, 16);
        assert_eq!(
            g.run(&[h, w(DATA + 0x30000, 4096), w(DATA + 0x40000, 4096), ST]),
            (8193, status::OK)
        );
        let s = g.dev.stats();
        assert_eq!((s.bounced, s.reads_polled + s.reads_slept), (2, 2));
        assert_eq!(g.guest(DATA + 0x30000, 4096), data[..4096]);
        assert_eq!(g.guest(DATA + 0x40000, 4096), data[4096..]);
        // Offsets and lengths must be whole 4 KiB blocks.
        let h = g.header(req::IN, 1);
        assert_eq!(g.run(&[h, w(DATA, 4096), ST]), IOERR);
        let h = g.header(req::IN, 0);
        assert_eq!(g.run(&[h, w(DATA, 512), ST]), IOERR);
        let h = g.header(req::FLUSH, 0);
        assert_eq!(g.run(&[h, ST]), OK);
    }

    #[test]
    fn config_space_through_the_transport() {
        use crate::devices::virtio_mmio::MmioTransport;
        use lego_abi::virtio_mmio::reg;
        let g = Rig::new();
        let mut t = MmioTransport::new(g.dev, g.mem.clone());
        let mut b8 = [0u8; 8];
        t.read(reg::CONFIG, &mut b8);
        assert_eq!(u64::from_le_bytes(b8), SECTORS);
        let mut b4 = [0u8; 4];
        t.read(
            reg::CONFIG + lego_abi::virtio_blk::config::BLK_SIZE,
            &mut b4,
        );
        assert_eq!(u32::from_le_bytes(b4), 4096);
        t.read(reg::CONFIG + 0x200, &mut b4);
        assert_eq!(b4, [0; 4]);
        t.read(reg::DEVICE_ID, &mut b4);
        assert_eq!(u32::from_le_bytes(b4), 2);
        t.read(reg::DEVICE_FEATURES, &mut b4);
        assert_eq!(
            u64::from(u32::from_le_bytes(b4)),
            features::FLUSH | features::BLK_SIZE | features::SEG_MAX
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        #[test]
        fn arbitrary_requests_never_panic(
            type_ in proptest::prop_oneof![0u32..=1, proptest::strategy::Just(4u32), proptest::strategy::Just(8u32), proptest::num::u32::ANY],
            sector in proptest::prop_oneof![0u64..SECTORS + 4, proptest::num::u64::ANY],
            descs in proptest::collection::vec(
                (0u64..MEM_BYTES + 0x2000, 0u32..0x4000, proptest::bool::ANY), 0..6),
        ) {
            let mut g = Rig::new();
            let h = g.header(type_, sector);
            let mut chain = vec![h];
            chain.extend(descs.iter().map(|&(a, l, wr)| (a.max(0x3000), l, wr)));
            let _ = g.run(&chain);
            // Still serves a good request afterwards.
            let h = g.header(req::IN, 0);
            proptest::prop_assert_eq!(g.run(&[h, w(DATA, 512), ST]), (513, status::OK));
        }
    }
}
