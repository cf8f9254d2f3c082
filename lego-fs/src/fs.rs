//! The filesystem: stateless operations on top of the in-memory metadata, the allocator, the
//! journal and the checkpoints. Every mutating operation first validates everything it can
//! (so a failed operation changes nothing), then applies its records to memory and appends them
//! to the pending transaction, which [`Fs::fsync`]/[`Fs::sync`] (or a full pending buffer, or an
//! allocation that needs deferred frees) commit.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::allocator::Allocator;
use crate::checkpoint;
use crate::codec::Reader;
use crate::device::{BLOCK_SIZE, Block, BlockDevice, crc32, zeroed_block};
use crate::error::{BAD_META, Corruption, FsError, Result};
use crate::extent::{ExtentMap, Freed};
use crate::inode::{DirEntry, FileKind, Stat};
use crate::journal::{self, Journal, PAYLOAD_PER_BLOCK};
use crate::meta::Meta;
use crate::path;
use crate::record::{CREATE_FIXED, MAP_FIXED, Record, SET_SIZE_LEN};
use crate::superblock::{CKPT_HEADERS, FormatOptions, Layout, Superblock};

const BS: u64 = BLOCK_SIZE as u64;
/// Mode reported for every vNode's root directory (which has no inode).
pub const ROOT_MODE: u32 = 0o755;
/// Upper bound on the uncommitted record buffer before an operation commits it first.
const MAX_PENDING: u64 = 1 << 20;

/// Space accounting, for the storage monitor's `statfs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFs {
    /// Bytes per block.
    pub block_size: u32,
    /// Blocks in the data area.
    pub data_blocks: u64,
    /// Data blocks free now or at the next commit.
    pub free_blocks: u64,
    /// Bytes of metadata (the size a checkpoint would have now).
    pub metadata_bytes: u64,
    /// Bytes of metadata a checkpoint slot can hold.
    pub metadata_capacity: u64,
}

/// A mounted filesystem on device `D`, holding one namespace per vNode.
pub struct Fs<D: BlockDevice> {
    dev: D,
    sb: Superblock,
    meta: Meta,
    alloc: Allocator,
    journal: Journal,
    buf: Box<Block>,
    /// A confirm block was written and not yet handed to the device (see [`Fs::submit_hints`]).
    unsubmitted: bool,
    /// Device time spent handing hints over while idle ([`Fs::submit_hints`]): not part of
    /// any request's time.
    idle_io: crate::IoTime,
}

impl<D: BlockDevice> fmt::Debug for Fs<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fs")
            .field("layout", &self.sb.layout())
            .field("generation", &self.journal.generation)
            .field("journal_head", &self.journal.head)
            .field("pending_bytes", &self.journal.pending.len())
            .field("free_blocks", &self.alloc.free_blocks())
            .finish_non_exhaustive()
    }
}

/// Reads file block `fblk` of a file with map `ext` into `buf`, verifying its checksum; holes
/// read as zeros.
fn read_block<D: BlockDevice>(
    dev: &mut D,
    ext: &ExtentMap,
    fblk: u64,
    buf: &mut Block,
) -> Result<()> {
    match ext.get(fblk) {
        None => buf.fill(0),
        Some((disk, crc)) => {
            dev.read(disk, buf)?;
            if crc32(buf) != crc {
                return Err(FsError::Corrupted(Corruption::Data));
            }
        }
    }
    Ok(())
}

/// How many of the (at most `max`) file blocks from `fblk` are mapped to consecutive disk
/// blocks.
fn contiguous_run(ext: &ExtentMap, fblk: u64, max: usize) -> usize {
    let Some((first, _)) = ext.get(fblk) else {
        return 0;
    };
    let mut n = 1;
    while n < max && ext.get(fblk + n as u64).map(|(d, _)| d) == Some(first + n as u64) {
        n += 1;
    }
    n
}

/// Reads file blocks `fblk..` (mapped to consecutive disk blocks) into `out` in one request,
/// verifying each checksum.
fn read_run<D: BlockDevice>(
    dev: &mut D,
    ext: &ExtentMap,
    fblk: u64,
    out: &mut [Block],
) -> Result<()> {
    let Some((first, _)) = ext.get(fblk) else {
        return Err(BAD_META);
    };
    dev.read_many(first, out)?;
    for (i, b) in out.iter().enumerate() {
        let (_, crc) = ext.get(fblk + i as u64).ok_or(BAD_META)?;
        if crc32(b) != crc {
            return Err(FsError::Corrupted(Corruption::Data));
        }
    }
    Ok(())
}

/// Whether every data block a transaction's records map holds what the records' checksums say:
/// otherwise the transaction was torn by a crash before its flush (see `journal`).
fn data_landed<D: BlockDevice>(dev: &mut D, tx: &[u8]) -> Result<bool> {
    let mut r = Reader::new(tx);
    let mut b = zeroed_block();
    while !r.is_empty() {
        if let Record::Map { disk, crcs, .. } = Record::decode(&mut r)? {
            for (i, &crc) in crcs.iter().enumerate() {
                let block = disk.checked_add(i as u64).ok_or(BAD_META)?;
                if block >= dev.block_count() {
                    return Err(BAD_META);
                }
                dev.read(block, &mut b)?;
                if crc32(&b[..]) != crc {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// Bound on the version and inode counters of a mounted filesystem (see `mount`).
const COUNTER_LIMIT: u64 = 1 << 62;

/// A run of newly written blocks: file block, first disk block, checksums.
type Run = (u64, u64, Vec<u32>);

impl<D: BlockDevice> Fs<D> {
    /// Creates an empty filesystem on `dev` (every vNode starts with an empty root directory).
    pub fn format(mut dev: D, opts: FormatOptions) -> Result<Self> {
        let sb = Superblock::new(dev.block_count(), &opts)?;
        let mut buf = zeroed_block();
        // Headers and journal blocks of an earlier filesystem must not pass for ours.
        for slot in 0..2 {
            for copy in 0..CKPT_HEADERS {
                dev.write(sb.ckpt_start(slot) + copy, &buf)?;
            }
        }
        for b in sb.log_start()..sb.data_start() {
            dev.write(b, &buf)?;
        }
        checkpoint::store(&mut dev, &sb, 0, 1, 1, 0, &[], &mut buf)?;
        sb.write(&mut dev)?;
        dev.flush()?;
        Ok(Fs {
            meta: Meta::new(sb.max_file_size, sb.data_start()..sb.total_blocks),
            alloc: Allocator::new(sb.data_start(), sb.total_blocks - sb.data_start()),
            journal: Journal {
                generation: 1,
                slot: 0,
                head: 0,
                pending: Vec::new(),
            },
            dev,
            sb,
            buf,
            unsubmitted: false,
            idle_io: crate::IoTime::default(),
        })
    }

    /// Mounts the filesystem on `dev`, recovering from a crash if needed: loads the newest
    /// checkpoint, replays the committed journal transactions, validates the result and, if the
    /// journal was not empty, writes a fresh checkpoint so the journal starts over.
    pub fn mount(mut dev: D) -> Result<Self> {
        let sb = Superblock::read(&mut dev)?;
        let mut buf = zeroed_block();
        let ck = checkpoint::load(&mut dev, &sb, &mut buf)?;
        let mut meta = Meta::new(sb.max_file_size, sb.data_start()..sb.total_blocks);
        meta.apply_stream(&ck.payload)?;
        meta.next_ino = meta.next_ino.max(ck.header.next_ino);
        meta.version = meta.version.max(ck.header.version);
        let replayed = journal::replay(
            &mut dev,
            &sb,
            ck.header.generation,
            &mut buf,
            |tx| meta.apply_stream(tx),
            data_landed,
        )?;
        meta.validate()?;
        // Counters that only ever grow by one per operation: values near the top of their
        // range can only come from damage (and would overflow).
        if meta.version >= COUNTER_LIMIT
            || meta.next_ino >= COUNTER_LIMIT
            || ck.header.generation >= COUNTER_LIMIT
        {
            return Err(BAD_META);
        }
        let mut alloc = Allocator::new(sb.data_start(), sb.total_blocks - sb.data_start());
        for (_, inode) in meta.inodes() {
            for (_, e) in inode.extents.iter() {
                alloc.mark_used(e.disk, e.len())?;
            }
        }
        let mut fs = Fs {
            dev,
            sb,
            meta,
            alloc,
            journal: Journal {
                generation: ck.header.generation,
                slot: ck.slot,
                head: replayed.head,
                pending: Vec::new(),
            },
            buf,
            unsubmitted: false,
            idle_io: crate::IoTime::default(),
        };
        if replayed.dirty {
            // Start a new generation so no stale block of this one can ever be mistaken for a
            // later transaction (see `journal`).
            fs.checkpoint()?;
        }
        Ok(fs)
    }

    /// Commits everything and returns the device.
    pub fn unmount(mut self) -> Result<D> {
        self.sync()?;
        Ok(self.dev)
    }

    /// Time spent waiting for the device so far ([`BlockDevice::io_time`]), but for the
    /// hand-over of hints while idle ([`Fs::submit_hints`]): what requests waited.
    pub fn io_time(&self) -> crate::IoTime {
        self.dev.io_time().minus(self.idle_io)
    }

    /// Returns the device without committing anything: what power loss would leave behind
    /// (flushed data survives, the rest is up to the device). For tests.
    pub fn into_device(self) -> D {
        self.dev
    }

    /// Where the on-disk regions are.
    pub fn layout(&self) -> Layout {
        self.sb.layout()
    }

    /// The configured maximum file size.
    pub fn max_file_size(&self) -> u64 {
        self.sb.max_file_size
    }

    /// Space accounting.
    pub fn statfs(&self) -> StatFs {
        StatFs {
            block_size: BLOCK_SIZE as u32,
            data_blocks: self.sb.total_blocks - self.sb.data_start(),
            free_blocks: self.alloc.free_blocks() + self.alloc.pending_free_blocks(),
            metadata_bytes: self.meta.ckpt_bytes(),
            metadata_capacity: self.sb.ckpt_capacity(),
        }
    }

    // ---- commit machinery ----

    /// Makes every completed operation durable.
    fn commit(&mut self) -> Result<()> {
        if self.journal.pending.is_empty() {
            return Ok(());
        }
        let n = journal::blocks_for(self.journal.pending.len());
        if self.journal.head + n > self.sb.log_blocks {
            // Journal full: a checkpoint commits everything and empties it.
            return self.checkpoint();
        }
        // Data and journal together, one flush: recovery drops a last transaction whose data
        // did not all land (see `journal`).
        journal::write_tx(
            &mut self.dev,
            &self.sb,
            self.journal.generation,
            self.journal.head,
            &self.journal.pending,
            &mut self.buf,
        )?;
        self.dev.flush()?;
        let start = self.journal.head;
        self.journal.head += n;
        self.journal.pending.clear();
        self.alloc.commit();
        // The confirm block: a hint for recovery (see `journal`), so its failure does not fail
        // the commit, which is durable already.
        if self.journal.head < self.sb.log_blocks {
            let confirmed = journal::write_confirm(
                &mut self.dev,
                &self.sb,
                self.journal.generation,
                self.journal.head,
                start,
                &mut self.buf,
            );
            // Handed to the device later, off the fsync's path: `submit_hints`, or the next
            // request to the device, whichever comes first.
            self.unsubmitted = confirmed.is_ok();
        }
        Ok(())
    }

    /// Hands writes that need no flush (a commit's confirm block) to the device. The server
    /// calls it once it has been idle for a moment ([`Fs::has_hints`] says whether there is
    /// anything); until then the confirm goes with the next batch of writes, and the fsync it
    /// follows is acknowledged without waiting for it (see `journal`).
    pub fn submit_hints(&mut self) {
        if core::mem::take(&mut self.unsubmitted) {
            let before = self.dev.io_time();
            let _ = self.dev.submit();
            self.idle_io.add(self.dev.io_time().minus(before));
        }
    }

    /// Whether there are writes for [`Fs::submit_hints`] to hand over.
    pub fn has_hints(&self) -> bool {
        self.unsubmitted
    }

    /// Writes the whole metadata as a new checkpoint generation and empties the journal.
    fn checkpoint(&mut self) -> Result<()> {
        let mut payload = Vec::with_capacity(self.meta.ckpt_bytes() as usize);
        self.meta.encode_checkpoint(&mut payload);
        debug_assert_eq!(payload.len() as u64, self.meta.ckpt_bytes());
        let slot = 1 - self.journal.slot;
        let generation = self.journal.generation + 1;
        // `store` flushes before writing the header, which also orders earlier data writes.
        checkpoint::store(
            &mut self.dev,
            &self.sb,
            slot,
            generation,
            self.meta.next_ino,
            self.meta.version,
            &payload,
            &mut self.buf,
        )?;
        self.journal.generation = generation;
        self.journal.slot = slot;
        self.journal.head = 0;
        self.journal.pending.clear();
        self.alloc.commit();
        Ok(())
    }

    /// Called by mutating operations after validation, before any change: commits a large
    /// pending transaction so the record buffer stays bounded.
    fn begin(&mut self) -> Result<()> {
        let limit = (self.sb.log_blocks * PAYLOAD_PER_BLOCK as u64 / 2).min(MAX_PENDING);
        if self.journal.pending.len() as u64 >= limit {
            self.commit()?;
        }
        Ok(())
    }

    /// Applies a record to memory and appends it to the pending transaction.
    fn log(&mut self, rec: Record) -> Result<()> {
        let mut freed = Freed::new();
        self.meta.apply(&rec, &mut freed)?;
        rec.encode(&mut self.journal.pending);
        for (start, n) in freed {
            self.alloc.release(start, n);
        }
        Ok(())
    }

    /// Fails with `NoSpace` unless `extra` more bytes of metadata fit in a checkpoint.
    fn meta_room(&self, extra: u64) -> Result<()> {
        if self.meta.ckpt_bytes() + extra > self.sb.ckpt_capacity() {
            Err(FsError::NoSpace)
        } else {
            Ok(())
        }
    }

    /// Makes sure `n` blocks can be allocated, committing to release deferred frees if needed.
    fn reserve(&mut self, n: u64) -> Result<()> {
        if self.alloc.free_blocks() < n && self.alloc.pending_free_blocks() > 0 {
            self.commit()?;
        }
        if self.alloc.free_blocks() < n {
            Err(FsError::NoSpace)
        } else {
            Ok(())
        }
    }

    fn next_version(&self) -> u64 {
        self.meta.version + 1
    }

    // ---- lookups ----

    /// The inode number of the existing regular file `path`.
    fn file(&self, vnode: u32, path: &str) -> Result<u64> {
        path::validate(path)?;
        if path::is_root(path) {
            return Err(FsError::IsADirectory);
        }
        let (ino, inode) = self.meta.lookup(vnode, path).ok_or(FsError::NotFound)?;
        if inode.kind == FileKind::Dir {
            return Err(FsError::IsADirectory);
        }
        Ok(ino)
    }

    /// Checks that the parent of the validated, non-root `path` is an existing directory.
    fn check_parent(&self, vnode: u32, path: &str) -> Result<()> {
        let (parent, _) = path::split(path);
        if path::is_root(parent) {
            return Ok(());
        }
        match self.meta.lookup(vnode, parent) {
            None => Err(FsError::NotFound),
            Some((_, p)) if p.kind == FileKind::Dir => Ok(()),
            Some(_) => Err(FsError::NotADirectory),
        }
    }

    // ---- operations ----

    /// Looks `path` up in `vnode`'s namespace (same as [`Fs::stat`]).
    pub fn lookup(&self, vnode: u32, path: &str) -> Result<Stat> {
        self.stat(vnode, path)
    }

    /// Kind, size, mode and modification counter of `path`.
    pub fn stat(&self, vnode: u32, path: &str) -> Result<Stat> {
        path::validate(path)?;
        if path::is_root(path) {
            return Ok(Stat {
                kind: FileKind::Dir,
                size: 0,
                mode: ROOT_MODE,
                version: 0,
            });
        }
        let (_, inode) = self.meta.lookup(vnode, path).ok_or(FsError::NotFound)?;
        Ok(inode.stat())
    }

    /// Creates an empty regular file. The parent directory must exist.
    pub fn create(&mut self, vnode: u32, path: &str, mode: u32) -> Result<()> {
        self.make(vnode, path, mode, FileKind::File)
    }

    /// Creates a directory. The parent directory must exist.
    pub fn mkdir(&mut self, vnode: u32, path: &str, mode: u32) -> Result<()> {
        self.make(vnode, path, mode, FileKind::Dir)
    }

    fn make(&mut self, vnode: u32, path: &str, mode: u32, kind: FileKind) -> Result<()> {
        path::validate(path)?;
        if path::is_root(path) {
            return Err(FsError::AlreadyExists);
        }
        self.check_parent(vnode, path)?;
        if self.meta.lookup(vnode, path).is_some() {
            return Err(FsError::AlreadyExists);
        }
        let extra = CREATE_FIXED + path.len() as u64 + SET_SIZE_LEN;
        self.meta_room(extra)?;
        self.begin()?;
        let rec = Record::Create {
            ino: self.meta.next_ino,
            vnode,
            path: String::from(path),
            kind,
            mode,
            version: self.next_version(),
        };
        self.log(rec)
    }

    /// Reads from `offset` into `buf`; returns the bytes read (0 at or past end of file).
    /// Holes read as zeros; a block whose checksum fails is an error, never returned.
    pub fn read(&mut self, vnode: u32, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let ino = self.file(vnode, path)?;
        let inode = self.meta.inode(ino).ok_or(BAD_META)?;
        if offset >= inode.size {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(inode.size - offset) as usize;
        let mut done = 0;
        while done < n {
            let pos = offset + done as u64;
            let (fblk, within) = (pos / BS, (pos % BS) as usize);
            let take = (BLOCK_SIZE - within).min(n - done);
            // Whole blocks that lie one after the other on disk: one device request.
            let run = if within == 0 {
                contiguous_run(&inode.extents, fblk, (n - done) / BLOCK_SIZE)
            } else {
                0
            };
            if run > 1 {
                let bytes = &mut buf[done..done + run * BLOCK_SIZE];
                let (blocks, _) = bytes.as_chunks_mut::<BLOCK_SIZE>();
                read_run(&mut self.dev, &inode.extents, fblk, blocks)?;
                done += run * BLOCK_SIZE;
                continue;
            }
            let out = &mut buf[done..done + take];
            if let Ok(whole) = <&mut Block>::try_from(&mut *out) {
                // Aligned full block: read straight into the caller's buffer.
                read_block(&mut self.dev, &inode.extents, fblk, whole)?;
            } else {
                read_block(&mut self.dev, &inode.extents, fblk, &mut self.buf)?;
                out.copy_from_slice(&self.buf[within..within + take]);
            }
            done += take;
        }
        Ok(n)
    }

    /// Writes `data` at `offset`, extending the file if needed (a gap reads as zeros); returns
    /// `data.len()`. Data is copy-on-write: new blocks are written first and the file only
    /// points at them once the operation's records commit, so an overwrite needs free space
    /// for the blocks it replaces until the next commit.
    pub fn write(&mut self, vnode: u32, path: &str, offset: u64, data: &[u8]) -> Result<usize> {
        let ino = self.file(vnode, path)?;
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|e| *e <= self.sb.max_file_size)
            .ok_or(FsError::FileTooLarge)?;
        if data.is_empty() {
            return Ok(0);
        }
        self.begin()?;
        let nblocks = (end - 1) / BS - offset / BS + 1;
        self.reserve(nblocks)?;
        let mut runs: Vec<Run> = Vec::new();
        let written = self
            .write_blocks(ino, offset, data, &mut runs)
            .and_then(|()| {
                // Each run may add an extent, plus one if an existing extent is split.
                let extra = (runs.len() as u64 + 1) * MAP_FIXED + nblocks * 4;
                self.meta_room(extra)
            });
        if let Err(e) = written {
            for (_, disk, crcs) in &runs {
                self.alloc.release(*disk, crcs.len() as u64);
            }
            return Err(e);
        }
        let version = self.next_version();
        let size = self.meta.inode(ino).ok_or(BAD_META)?.size.max(end);
        for (fblk, disk, crcs) in runs {
            self.log(Record::Map {
                ino,
                fblk,
                disk,
                crcs,
            })?;
        }
        self.log(Record::SetSize { ino, size, version })?;
        Ok(data.len())
    }

    /// Writes the blocks of `data` at `offset` to freshly allocated blocks, recording them in
    /// `runs` (even when the write then fails, so the caller can release them).
    fn write_blocks(
        &mut self,
        ino: u64,
        offset: u64,
        data: &[u8],
        runs: &mut Vec<Run>,
    ) -> Result<()> {
        let end = offset + data.len() as u64;
        for fblk in offset / BS..=(end - 1) / BS {
            let bstart = fblk * BS;
            let lo = offset.max(bstart) - bstart;
            let hi = end.min(bstart + BS) - bstart;
            let src = &data[(bstart + lo - offset) as usize..(bstart + hi - offset) as usize];
            let disk = self.alloc.alloc().ok_or(FsError::NoSpace)?;
            match runs.last_mut() {
                Some((_, d, crcs)) if *d + crcs.len() as u64 == disk => crcs.push(0),
                _ => runs.push((fblk, disk, vec![0])),
            }
            let crc = if let Ok(whole) = <&Block>::try_from(src) {
                self.dev.write(disk, whole)?;
                crc32(whole)
            } else {
                // Partial block: merge with the current contents (zeros past EOF or in a hole).
                let inode = self.meta.inode(ino).ok_or(BAD_META)?;
                read_block(&mut self.dev, &inode.extents, fblk, &mut self.buf)?;
                self.buf[lo as usize..hi as usize].copy_from_slice(src);
                self.dev.write(disk, &self.buf)?;
                crc32(&self.buf[..])
            };
            if let Some(slot) = runs.last_mut().and_then(|r| r.2.last_mut()) {
                *slot = crc;
            }
        }
        Ok(())
    }

    /// Sets the file's size. Shrinking frees the blocks past the end and zeroes the tail of a
    /// partial last block (so growing again reads zeros); growing leaves a hole.
    pub fn truncate(&mut self, vnode: u32, path: &str, size: u64) -> Result<()> {
        let ino = self.file(vnode, path)?;
        if size > self.sb.max_file_size {
            return Err(FsError::FileTooLarge);
        }
        self.meta_room(2 * MAP_FIXED + 4)?;
        self.begin()?;
        let inode = self.meta.inode(ino).ok_or(BAD_META)?;
        let fblk = size / BS;
        let mut map = None;
        if size < inode.size && !size.is_multiple_of(BS) && inode.extents.get(fblk).is_some() {
            self.reserve(1)?;
            let inode = self.meta.inode(ino).ok_or(BAD_META)?;
            read_block(&mut self.dev, &inode.extents, fblk, &mut self.buf)?;
            self.buf[(size % BS) as usize..].fill(0);
            let disk = self.alloc.alloc().ok_or(FsError::NoSpace)?;
            if let Err(e) = self.dev.write(disk, &self.buf) {
                self.alloc.release(disk, 1);
                return Err(e.into());
            }
            map = Some(Record::Map {
                ino,
                fblk,
                disk,
                crcs: vec![crc32(&self.buf[..])],
            });
        }
        let version = self.next_version();
        if let Some(rec) = map {
            self.log(rec)?;
        }
        self.log(Record::SetSize { ino, size, version })
    }

    /// Removes a regular file and frees its blocks.
    pub fn unlink(&mut self, vnode: u32, path: &str) -> Result<()> {
        let ino = self.file(vnode, path)?;
        self.begin()?;
        self.log(Record::Remove { ino })
    }

    /// Removes an empty directory.
    pub fn rmdir(&mut self, vnode: u32, path: &str) -> Result<()> {
        path::validate(path)?;
        if path::is_root(path) {
            return Err(FsError::RootDirectory);
        }
        let (ino, inode) = self.meta.lookup(vnode, path).ok_or(FsError::NotFound)?;
        if inode.kind != FileKind::Dir {
            return Err(FsError::NotADirectory);
        }
        if self.meta.ns(vnode).is_some_and(|ns| ns.has_children(path)) {
            return Err(FsError::DirectoryNotEmpty);
        }
        self.begin()?;
        self.log(Record::Remove { ino })
    }

    /// Renames a file or a directory within a vNode, atomically (one journal record; a
    /// directory moves with everything below it). An existing file at `to` is replaced by a
    /// file; an existing empty directory by a directory. Errors as rename(2): a directory over
    /// a file is [`FsError::NotADirectory`], a file over a directory
    /// [`FsError::IsADirectory`], over a non-empty directory [`FsError::DirectoryNotEmpty`],
    /// a directory into its own subtree [`FsError::RenameIntoItself`], the root
    /// [`FsError::RootDirectory`].
    pub fn rename(&mut self, vnode: u32, from: &str, to: &str) -> Result<()> {
        path::validate(from)?;
        path::validate(to)?;
        if path::is_root(from) {
            return Err(FsError::RootDirectory);
        }
        let (ino, inode) = self.meta.lookup(vnode, from).ok_or(FsError::NotFound)?;
        let kind = inode.kind;
        if path::is_root(to) {
            return Err(FsError::IsADirectory);
        }
        self.check_parent(vnode, to)?;
        if from == to {
            return Ok(());
        }
        if kind == FileKind::Dir && path::is_inside(to, from) {
            return Err(FsError::RenameIntoItself);
        }
        let replaced = match (kind, self.meta.lookup(vnode, to)) {
            (_, None) => None,
            (FileKind::File, Some((_, t))) if t.kind == FileKind::Dir => {
                return Err(FsError::IsADirectory);
            }
            (FileKind::Dir, Some((_, t))) if t.kind == FileKind::File => {
                return Err(FsError::NotADirectory);
            }
            (FileKind::Dir, Some(_)) if self.meta.ns(vnode).is_some_and(|n| n.has_children(to)) => {
                return Err(FsError::DirectoryNotEmpty);
            }
            (_, Some((t, _))) => Some(t),
        };
        // Every path below a directory changes too: each must stay valid, and the metadata
        // grows by the difference once per path.
        let below = match kind {
            FileKind::Dir => self
                .meta
                .ns(vnode)
                .map(|n| n.descendants(from))
                .unwrap_or_default(),
            FileKind::File => Vec::new(),
        };
        for (p, _) in &below {
            path::validate(&path::rebase(p, from, to))?;
        }
        let grow = (to.len() as u64).saturating_sub(from.len() as u64);
        self.meta_room(grow * (1 + below.len() as u64))?;
        self.begin()?;
        if let Some(t) = replaced {
            self.log(Record::Remove { ino: t })?;
        }
        self.log(Record::Rename {
            ino,
            path: String::from(to),
        })
    }

    /// The entries of directory `path`, sorted by name.
    pub fn readdir(&self, vnode: u32, path: &str) -> Result<Vec<DirEntry>> {
        path::validate(path)?;
        let root = path::is_root(path);
        if !root {
            match self.meta.lookup(vnode, path) {
                None => return Err(FsError::NotFound),
                Some((_, d)) if d.kind != FileKind::Dir => return Err(FsError::NotADirectory),
                Some(_) => {}
            }
        }
        let Some(ns) = self.meta.ns(vnode) else {
            return Ok(Vec::new());
        };
        ns.children(path)
            .map(|name| {
                let full = if root {
                    format!("/{name}")
                } else {
                    format!("{path}/{name}")
                };
                let kind = ns
                    .get(&full)
                    .and_then(|i| self.meta.inode(i))
                    .ok_or(BAD_META)?
                    .kind;
                Ok(DirEntry {
                    name: String::from(name),
                    kind,
                })
            })
            .collect()
    }

    /// Makes `path` durable. The journal is shared, so this commits every completed operation
    /// of every vNode (like `sync`), which is at least what was asked for.
    pub fn fsync(&mut self, vnode: u32, path: &str) -> Result<()> {
        self.stat(vnode, path)?;
        self.commit()
    }

    /// Makes every completed operation durable.
    pub fn sync(&mut self) -> Result<()> {
        self.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdev::MemDisk;
    use proptest::prelude::*;

    fn opts() -> FormatOptions {
        FormatOptions {
            max_file_size: 1 << 16,
            checkpoint_blocks: Some(4),
            log_blocks: Some(4),
        }
    }

    /// Structurally valid records with arbitrary meaning: they get past decoding and must be
    /// judged by `Meta::apply`/`validate` and the allocator.
    fn record() -> impl Strategy<Value = Vec<Record>> {
        let ino = 1u64..8;
        let path = prop::sample::select(vec!["/a", "/b", "/a/b", "/a/b/c", "/c", "/a/f"]);
        prop_oneof![
            1 => (6u64..9, 0u32..2, path.clone(), any::<bool>()).prop_map(|(ino, vnode, p, dir)| {
                vec![Record::Create {
                    ino,
                    vnode,
                    path: p.into(),
                    kind: if dir { FileKind::Dir } else { FileKind::File },
                    mode: 0,
                    version: ino,
                }]
            }),
            1 => ino.clone().prop_map(|ino| vec![Record::Remove { ino }]),
            1 => (ino.clone(), path).prop_map(|(ino, p)| vec![Record::Rename { ino, path: p.into() }]),
            1 => (ino.clone(), 0u64..30_000).prop_map(|(ino, size)| vec![Record::SetSize {
                ino,
                size,
                version: 1
            }]),
            4 => (ino, 0u64..8, 10u64..64, 1usize..4).prop_map(|(ino, fblk, disk, n)| {
                vec![
                    Record::Map {
                        ino,
                        fblk,
                        disk,
                        crcs: vec![0; n],
                    },
                    Record::SetSize {
                        ino,
                        size: (fblk + n as u64) * BS,
                        version: 2,
                    },
                ]
            }),
        ]
    }

    /// Walks everything a vNode shows and touches it with reads and writes.
    fn exercise(fs: &mut Fs<MemDisk>, vnode: u32, dir: &str) {
        let Ok(entries) = fs.readdir(vnode, dir) else {
            return;
        };
        for e in entries {
            let p = if dir == "/" {
                format!("/{}", e.name)
            } else {
                format!("{dir}/{}", e.name)
            };
            assert_eq!(fs.stat(vnode, &p).map(|s| s.kind), Ok(e.kind));
            if e.kind == FileKind::Dir {
                exercise(fs, vnode, &p);
                continue;
            }
            let mut buf = vec![0; 20_000];
            match fs.read(vnode, &p, 0, &mut buf) {
                Ok(_) | Err(FsError::Corrupted(Corruption::Data)) => {}
                Err(e) => panic!("read {p}: {e}"),
            }
            let _ = fs.write(vnode, &p, 100, &[1; 5000]);
            let _ = fs.truncate(vnode, &p, 3);
            let _ = fs.rename(vnode, &p, "/renamed");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn crafted_metadata_is_rejected_or_usable(
            recs in prop::collection::vec(record(), 0..8),
            in_journal in any::<bool>(),
        ) {
            let fs = Fs::format(MemDisk::new(64), opts()).unwrap();
            let sb = fs.sb;
            let mut dev = fs.into_device();
            // A consistent tree first, so that the random records act on something.
            let mut payload = Vec::new();
            let tree = [("/a", true), ("/a/b", true), ("/c", false), ("/a/f", false), ("/a/b/g", false)];
            for (i, (p, dir)) in tree.into_iter().enumerate() {
                let kind = if dir { FileKind::Dir } else { FileKind::File };
                let ino = i as u64 + 1;
                Record::Create { ino, vnode: 0, path: p.into(), kind, mode: 0, version: 1 }
                    .encode(&mut payload);
            }
            for r in recs.iter().flatten() {
                r.encode(&mut payload);
            }
            let mut buf = zeroed_block();
            if in_journal {
                journal::write_tx(&mut dev, &sb, 1, 0, &payload, &mut buf).unwrap();
            } else {
                checkpoint::store(&mut dev, &sb, 1, 2, 1, 0, &payload, &mut buf).unwrap();
            }
            match Fs::mount(dev) {
                Err(FsError::Corrupted(_)) => {}
                Err(e) => prop_assert!(false, "{e}"),
                Ok(mut fs) => {
                    for v in 0..2 {
                        exercise(&mut fs, v, "/");
                    }
                    let dev = fs.unmount().unwrap();
                    let mut fs = Fs::mount(dev).unwrap();
                    for v in 0..2 {
                        exercise(&mut fs, v, "/");
                    }
                }
            }
        }
    }

    #[test]
    fn checkpoint_size_accounting_matches_encoding() {
        let mut fs = Fs::format(MemDisk::new(256), FormatOptions::default()).unwrap();
        fs.mkdir(1, "/d", 0).unwrap();
        fs.create(1, "/d/f", 0).unwrap();
        fs.write(1, "/d/f", 5000, &[1; 20_000]).unwrap();
        fs.write(1, "/d/f", 9000, &[2; 100]).unwrap();
        fs.truncate(1, "/d/f", 12_345).unwrap();
        fs.create(2, "/g", 0).unwrap();
        fs.rename(2, "/g", "/longer-name").unwrap();
        let mut payload = Vec::new();
        fs.meta.encode_checkpoint(&mut payload);
        assert_eq!(payload.len() as u64, fs.statfs().metadata_bytes);
    }

    #[test]
    fn full_journal_falls_back_to_a_checkpoint() {
        let mut fs = Fs::format(MemDisk::new(256), opts()).unwrap();
        fs.create(1, "/f", 0).unwrap();
        for i in 0..20u64 {
            fs.write(1, "/f", i * 100, &[i as u8; 100]).unwrap();
            fs.sync().unwrap();
        }
        // Four journal blocks hold four single-block transactions; the rest went to checkpoints.
        assert!(fs.journal.generation > 4, "{}", fs.journal.generation);
        let mut fs = Fs::mount(fs.unmount().unwrap()).unwrap();
        let mut b = [0u8; 2000];
        assert_eq!(fs.read(1, "/f", 0, &mut b), Ok(2000));
        assert!(
            b.chunks(100)
                .enumerate()
                .all(|(i, c)| c.iter().all(|&x| x == i as u8))
        );
    }
}
