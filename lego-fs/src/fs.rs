//! The filesystem: stateless operations (`ops`) on top of the in-memory metadata, the
//! allocator, the journal and the checkpoints. Every mutating operation first validates
//! everything it can, the memory and space it needs included (so a failed operation changes
//! nothing), then applies its records to memory and appends them to the pending transaction,
//! which [`Fs::fsync`]/[`Fs::sync`] (or a full pending buffer, or an allocation that needs
//! deferred frees) commit.
//!
//! Memory: the filesystem is given a budget ([`MountOptions::mem_budget`]); see `mem` for what
//! it is spent on and how it is split. An operation that would take the metadata past it fails
//! with [`FsError::NoSpace`]; a disk whose metadata does not fit is refused by `mount` with
//! [`FsError::MetadataTooLarge`], before the heap runs out.

use alloc::boxed::Box;
use core::fmt;

use crate::allocator::Allocator;
use crate::checkpoint;
use crate::device::{BLOCK_SIZE, Block, BlockDevice, crc32, zeroed_block};
use crate::error::{BAD_META, Corruption, FsError, Result};
use crate::extent::ExtentMap;
use crate::inode::FileKind;
use crate::journal::{self, Journal, PAYLOAD_PER_BLOCK};
use crate::mem::{Budget, heap};
use crate::meta::{Meta, Needs};
use crate::path;
use crate::record::Record;
use crate::reserve::{Client, Reservations};
use crate::stream::RecordStream;
use crate::superblock::{CKPT_HEADERS, FormatOptions, Layout, Superblock};

pub(crate) const BS: u64 = BLOCK_SIZE as u64;
/// Mode reported for every vNode's root directory (which has no inode).
pub const ROOT_MODE: u32 = 0o755;
/// Checkpoint bytes a data block needs at most once written: its checksum, and a share of
/// its extent's map record (an extent covers up to 1024 blocks).
pub(crate) const CKPT_PER_BLOCK: u64 = 5;
/// Heap bytes a data block needs at most once written (the same, in memory).
pub(crate) const MEM_PER_BLOCK: u64 = 5;

/// Space accounting, for the storage monitor's `statfs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFs {
    /// Bytes per block.
    pub block_size: u32,
    /// Blocks in the data area.
    pub data_blocks: u64,
    /// Data blocks that can be written now or after the next commit: free blocks, as far as
    /// the metadata (its checkpoint slot and memory budget) can describe them, less every
    /// reservation.
    pub free_blocks: u64,
    /// Bytes of metadata (the size a checkpoint would have now).
    pub metadata_bytes: u64,
    /// Bytes of metadata a checkpoint slot can hold.
    pub metadata_capacity: u64,
}

/// How a filesystem is run (not stored on the disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountOptions {
    /// Heap bytes the filesystem may use in all: its metadata, its buffers, and mount's
    /// working memory. A storage monitor passes what its heap can spare (the guest panics when
    /// an allocation fails); the default is unlimited, for tools and tests.
    pub mem_budget: u64,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            mem_budget: u64::MAX,
        }
    }
}

/// A mounted filesystem on device `D`, holding one namespace per vNode.
pub struct Fs<D: BlockDevice> {
    pub(crate) dev: D,
    pub(crate) sb: Superblock,
    pub(crate) meta: Meta,
    pub(crate) alloc: Allocator,
    pub(crate) journal: Journal,
    pub(crate) buf: Box<Block>,
    /// A confirm block was written and not yet handed to the device (see [`Fs::submit_hints`]).
    unsubmitted: bool,
    /// Device time spent handing hints over while idle ([`Fs::submit_hints`]): not part of
    /// any request's time.
    idle_io: crate::IoTime,
    pub(crate) budget: Budget,
    pub(crate) reservations: Reservations,
}

impl<D: BlockDevice> fmt::Debug for Fs<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fs")
            .field("layout", &self.sb.layout())
            .field("generation", &self.journal.generation)
            .field("journal_head", &self.journal.head)
            .field("pending_bytes", &self.journal.pending.len())
            .field("free_blocks", &self.alloc.free_blocks())
            .field("mem_used", &self.mem_used())
            .field("mem_budget", &self.budget.total)
            .finish_non_exhaustive()
    }
}

/// Reads file block `fblk` of a file with map `ext` into `buf`, verifying its checksum; holes
/// read as zeros.
pub(crate) fn read_block<D: BlockDevice>(
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

/// Whether every data block the transaction at `start` maps holds what its records' checksums
/// say: otherwise the transaction was torn by a crash before its flush (see `journal`).
fn data_landed<D: BlockDevice>(
    dev: &mut D,
    sb: &Superblock,
    generation: u64,
    start: u64,
    buf: &mut Block,
) -> Result<bool> {
    let mut stream = RecordStream::default();
    let mut data = zeroed_block();
    let mut landed = true;
    journal::read_tx(dev, sb, generation, start, buf, &mut |dev, chunk| {
        stream.feed(chunk, &mut |rec| {
            if let Record::Map { disk, crcs, .. } = rec {
                for (i, &crc) in crcs.iter().enumerate() {
                    let block = disk.checked_add(i as u64).ok_or(BAD_META)?;
                    if block >= dev.block_count() {
                        return Err(BAD_META);
                    }
                    dev.read(block, &mut data)?;
                    landed &= crc32(&data[..]) == crc;
                }
            }
            Ok(())
        })
    })?
    .ok_or(FsError::Corrupted(Corruption::Journal))?;
    stream.finish()?;
    Ok(landed)
}

/// A mount that ran out of budget (`NoSpace` from the metadata) as the error that says how
/// much it needs: a bound over the checkpoint's and the journal's records (read through again,
/// applying nothing), with the live share and the fixed buffers on top.
fn over_budget<D: BlockDevice>(
    e: FsError,
    budget: &Budget,
    dev: &mut D,
    sb: &Superblock,
    ck: &checkpoint::Loaded,
) -> FsError {
    if e != FsError::NoSpace {
        return e;
    }
    let mut needs = Needs::default();
    let mut stream = RecordStream::default();
    let mut buf = zeroed_block();
    let counted = checkpoint::read_payload(dev, sb, ck, &mut |chunk| {
        stream.feed(chunk, &mut |rec| {
            needs.add(rec);
            Ok(())
        })
    })
    .and_then(|()| stream.finish())
    .and_then(|()| {
        let generation = ck.header.generation;
        journal::replay(
            dev,
            sb,
            generation,
            &mut buf,
            |dev, start, buf| {
                journal::read_tx(dev, sb, generation, start, buf, &mut |_, chunk| {
                    stream.feed(chunk, &mut |rec| {
                        needs.add(rec);
                        Ok(())
                    })
                })?;
                stream.finish()
            },
            |_, _, _| Ok(true),
        )
    });
    if let Err(e) = counted {
        return e;
    }
    let live = needs.bytes().saturating_mul(8) / 7;
    let needed = live.saturating_add(Budget::new(live.saturating_mul(2)).fixed);
    FsError::MetadataTooLarge {
        needed: needed.max(budget.total.saturating_add(1)),
        budget: budget.total,
    }
}

/// Bound on the version and inode counters of a mounted filesystem (see `mount`).
const COUNTER_LIMIT: u64 = 1 << 62;

impl<D: BlockDevice> Fs<D> {
    /// Creates an empty filesystem on `dev` (every vNode starts with an empty root directory),
    /// with no memory limit.
    pub fn format(dev: D, opts: FormatOptions) -> Result<Self> {
        Self::format_with(dev, opts, MountOptions::default())
    }

    /// Creates an empty filesystem on `dev`, run with `mount` options.
    pub fn format_with(mut dev: D, opts: FormatOptions, mount: MountOptions) -> Result<Self> {
        let budget = Budget::new(mount.mem_budget);
        if budget.live() == 0 {
            return Err(FsError::MetadataTooLarge {
                needed: Budget::new(0).fixed * 2,
                budget: budget.total,
            });
        }
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
        checkpoint::store(&mut dev, &sb, 0, 1, 1, 0, 0, &mut buf, |_| Ok(()))?;
        sb.write(&mut dev)?;
        dev.flush()?;
        Ok(Fs {
            meta: Meta::new(
                sb.max_file_size,
                sb.data_start()..sb.total_blocks,
                budget.mount(),
            ),
            alloc: Allocator::new(sb.data_start(), sb.total_blocks - sb.data_start()),
            journal: Journal::new(1, 0, 0, &budget),
            dev,
            sb,
            buf,
            unsubmitted: false,
            idle_io: crate::IoTime::default(),
            budget,
            reservations: Reservations::default(),
        })
    }

    /// Mounts the filesystem on `dev` with no memory limit (see [`Fs::mount_with`]).
    pub fn mount(dev: D) -> Result<Self> {
        Self::mount_with(dev, MountOptions::default())
    }

    /// Mounts the filesystem on `dev`, recovering from a crash if needed: loads the newest
    /// checkpoint, replays the committed journal transactions, validates the result and, if the
    /// journal was not empty, writes a fresh checkpoint so the journal starts over. Both are
    /// read as streams (a block and one record at a time); metadata that does not fit the
    /// budget is refused with [`FsError::MetadataTooLarge`].
    pub fn mount_with(mut dev: D, opts: MountOptions) -> Result<Self> {
        let budget = Budget::new(opts.mem_budget);
        let sb = Superblock::read(&mut dev)?;
        let mut buf = zeroed_block();
        let ck = checkpoint::load(&mut dev, &sb, &mut buf)?;
        let mut meta = Meta::new(
            sb.max_file_size,
            sb.data_start()..sb.total_blocks,
            budget.mount(),
        );
        let mut stream = RecordStream::default();
        let loaded = checkpoint::read_payload(&mut dev, &sb, &ck, &mut |chunk| {
            stream.feed(chunk, &mut |rec| meta.apply(rec, &mut |_, _| {}))
        })
        .and_then(|()| stream.finish())
        .and_then(|()| meta.link_orphans());
        if let Err(e) = loaded {
            drop(meta);
            return Err(over_budget(e, &budget, &mut dev, &sb, &ck));
        }
        meta.next_ino = meta.next_ino.max(ck.header.next_ino);
        meta.version = meta.version.max(ck.header.version);
        let generation = ck.header.generation;
        let replayed = journal::replay(
            &mut dev,
            &sb,
            generation,
            &mut buf,
            |dev, start, buf| {
                journal::read_tx(dev, &sb, generation, start, buf, &mut |_, chunk| {
                    stream.feed(chunk, &mut |rec| meta.apply(rec, &mut |_, _| {}))
                })?
                .ok_or(FsError::Corrupted(Corruption::Journal))?;
                stream.finish()
            },
            |dev, start, buf| data_landed(dev, &sb, generation, start, buf),
        )
        .and_then(|r| meta.validate().map(|()| r));
        let replayed = match replayed {
            Ok(r) => r,
            Err(e) => {
                drop(meta);
                return Err(over_budget(e, &budget, &mut dev, &sb, &ck));
            }
        };
        // Counters that only ever grow by one per operation: values near the top of their
        // range can only come from damage (and would overflow).
        if meta.version >= COUNTER_LIMIT
            || meta.next_ino >= COUNTER_LIMIT
            || generation >= COUNTER_LIMIT
        {
            return Err(BAD_META);
        }
        let mut alloc = Allocator::new(sb.data_start(), sb.total_blocks - sb.data_start());
        for (_, inode) in meta.inodes() {
            for (_, e) in inode.extents().into_iter().flat_map(ExtentMap::iter) {
                alloc.mark_used(e.disk, e.len())?;
            }
        }
        let mut fs = Fs {
            dev,
            sb,
            meta,
            alloc,
            journal: Journal::new(generation, ck.slot, replayed.head, &budget),
            buf,
            unsubmitted: false,
            idle_io: crate::IoTime::default(),
            budget,
            reservations: Reservations::default(),
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

    /// Heap bytes the filesystem holds at most now (its structures; the fixed buffers are in
    /// [`Fs::mem_fixed`]): what the memory budget is checked against.
    pub fn mem_used(&self) -> u64 {
        // The metadata's figure includes the free-extent tree as a mount rebuilds it; the
        // live tree may be larger (uncommitted ranges, or more gaps after frees).
        self.meta.mem()
            + self
                .alloc
                .free_mem()
                .saturating_sub(crate::meta::free_tree_bound(self.meta.extent_count()))
            + self.alloc.uncommitted_mem()
    }

    /// Number of files and directories (of every vNode).
    pub fn inode_count(&self) -> u64 {
        self.meta.inode_count()
    }

    /// Heap bytes held for fixed buffers: the pending records, block buffers, mount's streams.
    pub fn mem_fixed(&self) -> u64 {
        self.budget.fixed
    }

    /// The memory budget ([`MountOptions::mem_budget`]).
    pub fn mem_budget(&self) -> u64 {
        self.budget.total
    }

    /// Heap bytes the structures may reach while serving (the rest of the budget is the fixed
    /// buffers and mount's slack, see `mem`).
    pub fn mem_limit(&self) -> u64 {
        self.budget.live()
    }

    /// Data blocks the metadata can still describe, less what every reservation needs.
    fn meta_blocks(&self) -> u64 {
        let ckpt = self
            .sb
            .ckpt_capacity()
            .saturating_sub(self.meta.ckpt_bytes())
            / CKPT_PER_BLOCK;
        let mem = self.budget.live().saturating_sub(self.mem_used()) / MEM_PER_BLOCK;
        ckpt.min(mem)
    }

    /// Data blocks free now or at the next commit, as far as the metadata can describe them,
    /// before reservations.
    fn writable_blocks(&self) -> u64 {
        (self.alloc.free_blocks() + self.alloc.pending_free_blocks()).min(self.meta_blocks())
    }

    /// Space accounting.
    pub fn statfs(&self) -> StatFs {
        StatFs {
            block_size: BLOCK_SIZE as u32,
            data_blocks: self.sb.total_blocks - self.sb.data_start(),
            free_blocks: self
                .writable_blocks()
                .saturating_sub(self.reservations.total()),
            metadata_bytes: self.meta.ckpt_bytes(),
            metadata_capacity: self.sb.ckpt_capacity(),
        }
    }

    // ---- reservations (see `reserve`) ----

    /// Holds `blocks` data blocks for `client` (its total, replacing what it held): refused
    /// with `NoSpace` (the old reservation kept) unless that many are writable besides every
    /// other client's reservation. Returns the space after it.
    pub fn reserve_space(&mut self, client: Client, blocks: u64) -> Result<StatFs> {
        self.reservations.seen(client);
        let others = self.reservations.others(Some(client.id));
        if blocks > self.writable_blocks().saturating_sub(others)
            && blocks > self.reservations.of(client.id)
        {
            return Err(FsError::NoSpace);
        }
        self.reservations.set(client, blocks)?;
        Ok(self.statfs())
    }

    /// A request came from `client`: a reservation of an earlier incarnation is dropped.
    pub fn client_seen(&mut self, client: Client) {
        self.reservations.seen(client);
    }

    /// `client` failed: its reservation is dropped.
    pub fn forget_client(&mut self, id: u32) {
        self.reservations.forget(id);
    }

    /// The clients holding reservations.
    pub fn reservation_clients(&self) -> impl Iterator<Item = Client> + '_ {
        self.reservations.clients()
    }

    /// Blocks held for `client`.
    pub fn reserved_for(&self, client: u32) -> u64 {
        self.reservations.of(client)
    }

    // ---- commit machinery ----

    /// Makes every completed operation durable.
    pub(crate) fn commit(&mut self) -> Result<()> {
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

    /// Writes the whole metadata as a new checkpoint generation and empties the journal. The
    /// payload is written as it is encoded, a block at a time.
    pub(crate) fn checkpoint(&mut self) -> Result<()> {
        let slot = 1 - self.journal.slot;
        let generation = self.journal.generation + 1;
        let meta = &self.meta;
        // `store` flushes before writing the header, which also orders earlier data writes.
        checkpoint::store(
            &mut self.dev,
            &self.sb,
            slot,
            generation,
            meta.next_ino,
            meta.version,
            meta.ckpt_bytes(),
            &mut self.buf,
            |out| meta.encode_checkpoint(out),
        )?;
        self.journal.generation = generation;
        self.journal.slot = slot;
        self.journal.head = 0;
        self.journal.pending.clear();
        self.alloc.commit();
        Ok(())
    }

    /// Called by mutating operations after validation, before any change: commits a large
    /// pending transaction so the record buffer stays within its preallocated size.
    pub(crate) fn begin(&mut self) -> Result<()> {
        let limit = (self.sb.log_blocks * PAYLOAD_PER_BLOCK as u64 / 2).min(self.budget.pending);
        if self.journal.pending.len() as u64 >= limit {
            self.commit()?;
        }
        Ok(())
    }

    /// Applies a record to memory (blocks it frees go to the allocator) and appends it to the
    /// pending transaction.
    pub(crate) fn log(&mut self, rec: Record) -> Result<()> {
        let alloc = &mut self.alloc;
        self.meta
            .apply(&rec, &mut |start, n| alloc.release(start, n))?;
        rec.encode(&mut self.journal.pending);
        Ok(())
    }

    /// Fails with `NoSpace` unless `extra` more bytes of metadata fit in a checkpoint, with
    /// room left for what reservations held by others (`others` blocks) will need.
    pub(crate) fn meta_room(&self, extra: u64, others: u64) -> Result<()> {
        let need = self.meta.ckpt_bytes() + extra + others * CKPT_PER_BLOCK;
        if need > self.sb.ckpt_capacity() {
            Err(FsError::NoSpace)
        } else {
            Ok(())
        }
    }

    /// Fails with `NoSpace` unless `extra` more heap bytes (plus `records` more bytes of
    /// pending records) fit the budget, with room left for what reservations held by others
    /// (`others` blocks) will need. Commits first if that would make room.
    pub(crate) fn mem_room(&mut self, extra: u64, records: u64, others: u64) -> Result<()> {
        let pending = &self.journal.pending;
        // The pending buffer is allocated once; only a larger-than-a-request write grows it.
        let grow = if pending.len() as u64 + records > pending.capacity() as u64 {
            heap(2 * (pending.len() as u64 + records))
        } else {
            0
        };
        let fits =
            |fs: &Self| fs.mem_used() + extra + grow + others * MEM_PER_BLOCK <= fs.budget.live();
        if !fits(self) && self.alloc.uncommitted_ranges() > 0 {
            self.commit()?;
        }
        if fits(self) {
            Ok(())
        } else {
            Err(FsError::NoSpace)
        }
    }

    /// Makes sure `n` blocks can be allocated besides `others` reserved blocks, committing to
    /// release deferred frees if needed.
    pub(crate) fn ensure_free(&mut self, n: u64, others: u64) -> Result<()> {
        let want = n.saturating_add(others);
        if self.alloc.free_blocks() < want && self.alloc.pending_free_blocks() > 0 {
            self.commit()?;
        }
        if self.alloc.free_blocks() < want {
            Err(FsError::NoSpace)
        } else {
            Ok(())
        }
    }

    pub(crate) fn next_version(&self) -> u64 {
        self.meta.version + 1
    }

    // ---- lookups ----

    /// The inode number of the existing regular file `path`.
    pub(crate) fn file(&self, vnode: u32, path: &str) -> Result<u64> {
        path::validate(path)?;
        if path::is_root(path) {
            return Err(FsError::IsADirectory);
        }
        let (ino, inode) = self
            .meta
            .lookup(vnode, path)
            .ok_or_else(|| self.missing(vnode, path))?;
        if inode.kind() == FileKind::Dir {
            return Err(FsError::IsADirectory);
        }
        Ok(ino)
    }

    /// Why the validated `path` is not there: [`FsError::NotADirectory`] when one of its
    /// ancestors is a file (as POSIX says for `file/x`), else [`FsError::NotFound`]. Only the
    /// failing path pays for the walk up.
    pub(crate) fn missing(&self, vnode: u32, path: &str) -> FsError {
        let mut at = path;
        loop {
            let (parent, _) = path::split(at);
            if path::is_root(parent) || parent == at {
                return FsError::NotFound;
            }
            if let Some((_, n)) = self.meta.lookup(vnode, parent) {
                return if n.kind() == FileKind::Dir {
                    FsError::NotFound
                } else {
                    FsError::NotADirectory
                };
            }
            at = parent;
        }
    }

    /// Checks that the parent of the validated, non-root `path` is an existing directory.
    pub(crate) fn check_parent(&self, vnode: u32, path: &str) -> Result<()> {
        let (parent, _) = path::split(path);
        if path::is_root(parent) {
            return Ok(());
        }
        match self.meta.lookup(vnode, parent) {
            None => Err(self.missing(vnode, parent)),
            Some((_, p)) if p.kind() == FileKind::Dir => Ok(()),
            Some(_) => Err(FsError::NotADirectory),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdev::MemDisk;
    use alloc::format;
    use alloc::vec;
    use alloc::vec::Vec;
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
                checkpoint::store(&mut dev, &sb, 1, 2, 1, 0, payload.len() as u64, &mut buf, |out| out(&payload)).unwrap();
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
        let payload = fs.meta.checkpoint_bytes();
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
