//! `lego-bcache`: the buffer cache of a LegoOS memory component (mComponent).
//!
//! In LegoOS, files live at storage components (sComponents) behind a stateless protocol:
//! every request carries the vNode id, the full path, an offset and a length. The buffer cache
//! lives at a memory component: clients send it file reads, writes and fsyncs, it serves them
//! from cached pages, goes to the storage component on a miss (read-through) and writes dirty
//! pages back on fsync or when it needs their frames (write-back). This crate is that cache's
//! logic, without the network: the storage side is the [`Backend`] trait, which the guest
//! implements with RPCs to the sComponent and tests implement in memory
//! ([`testing::MemBackend`]).
//!
//! # Design
//!
//! * **Pages.** The cache owns an arena of page frames given by the caller (`Cache::new`) and
//!   never uses more. Per frame it keeps a 32-byte slot (file id, page index, LRU links, links
//!   in its file's page list, state) plus one `u32` entry (and a control byte) in a hash table
//!   from (file id, page index) to slot, allocated for the whole arena up front: 38 to 44
//!   bytes per 4 KiB page (≈1 %), all allocated by `Cache::new`. See `slots.rs`.
//! * **Files.** A file is (vNode, path); two vNodes with the same path are different files.
//!   Its state (path copy, sizes, dirty page count, readahead state, head of its page list,
//!   an unreported write-back error) is 88 bytes, plus the path, plus 5 to 10 bytes in the key
//!   index. It is kept while the file has cached pages, for up to [`Config::max_idle_files`]
//!   files whose writes reached the backend but were not fsynced yet (so [`Cache::sync_all`]
//!   knows to fsync them), and for up to [`Config::max_error_files`] files with a write-back
//!   error not reported yet. A file with nothing cached, nothing to fsync and nothing to
//!   report is dropped at the end of the operation, so there are at most `capacity +
//!   max_idle_files + max_error_files + 1` file states (more only while the backend fails the
//!   fsyncs that trim idle files). See `file.rs` and `lifecycle.rs`.
//! * **Sizes.** The size of a file is fetched from the backend once, when its state is
//!   created; cached writes raise it, truncates set it. The cache also tracks the backend's
//!   own size, so that pages wholly beyond it are never read (they are zeros), and a partial
//!   write only reads the page when the write does not cover the bytes the backend has.
//! * **Reads** copy cached pages and fetch missing ones, coalescing contiguous missing pages
//!   into requests of up to `max_io` (the backend's limit, capped by
//!   [`Config::max_io_pages`]). Sequential reads trigger readahead (`readahead.rs`).
//! * **Writes** are write-back: they dirty cached pages (read-modify-write of a page only
//!   when needed). **fsync** writes the file's dirty pages back in ascending order, contiguous
//!   runs coalesced into `max_io` requests and the last page cut at the file size, and asks
//!   the backend to make the file durable with the last of them (`Backend::write_sync`), or
//!   on its own if nothing was dirty (`writeback.rs`).
//! * **Eviction** is LRU over two lists, clean and dirty (`evict.rs`): the victim is the
//!   coldest clean page; if every page is dirty, the run of contiguous dirty pages around the
//!   coldest dirty page is written back first (no fsync) and becomes the coldest clean pages.
//!   A run whose storage component is unreachable is passed over for the next coldest run
//!   elsewhere. LRU rather than CLOCK: with `u32` links the lists cost 8 bytes per page, a hit
//!   is a handful of stores in a single-threaded cache, and finding a victim is O(1) even when
//!   most pages are dirty, where a CLOCK hand would sweep over them.
//! * **Write-back errors** (`writeback.rs`), as Linux's `errseq`: a write-back that fails for
//!   good for its file ([`Backend::transient`] says no: no space, file too large, the file is
//!   gone, corruption) drops those pages' data and records the error on the file; a
//!   transient failure (the storage component unreachable or restarting) keeps them dirty for
//!   a retry. Either way, only the file the pages belong to sees the error.
//! * **Storage restarts** (`store.rs`): the cache notes each storage component's incarnation
//!   ([`Backend::incarnation`]) and checks it at the start of every operation and around every
//!   write-back. A new incarnation lost everything not fsynced: clean pages of its files are
//!   dropped, their sizes fetched again, and a file that had written data back since its last
//!   fsync gets the error [`Error::Lost`]. Dirty pages stay (they are the only copy) and go to
//!   the new incarnation.
//! * **Space** (`store.rs`): every dirty page is covered by a block reserved for the cache at
//!   its file's storage component ([`Backend::reserve`]; data is copy-on-write there, so even an
//!   overwrite needs a new block). The cache reserves [`Config::reserve_batch`] blocks ahead,
//!   re-sends its total at a new incarnation and when it holds far more than it needs. A write
//!   reserves a block for every page it newly dirties before it applies anything, and fails
//!   whole with [`Error::NoSpace`] if the storage refuses. A completed write-back uses up its
//!   pages' blocks.
//! * **Write-behind** (`behind.rs`): the caller asks [`Cache::writeback_wanted`] after its
//!   requests and writes back bounded batches with [`Cache::write_back_some`] while it holds
//!   (a file with more than [`Config::writeback_file_pages`] dirty, or the cache more than
//!   [`Config::writeback_percent`] dirty), fsyncing a file every
//!   [`Config::writeback_sync_pages`] it writes back so the storage flushes its disk as the data
//!   comes; [`Cache::flush_some`] writes back part of a file (or a tree) so that a long fsync or
//!   rename can be done in bounded steps with other requests in between.
//!
//! # Guarantees
//!
//! * After `fsync(f)` returns `Ok`, every byte written to `f` through the cache before it is
//!   durable at the backend, and the backend's size of `f` is the cache's. After
//!   `sync_all` returns `Ok`, that holds for every file.
//! * A failed write-back fails only the file it belongs to: the error is reported by that
//!   file's next `fsync` (and by a `forget` with write-back of it), once; an operation on
//!   another file that needed the frame goes on with other victims. Transient failures keep
//!   the data dirty and are returned to the operation that needed the write-back; when no
//!   frame can be freed because the storage is unreachable, that operation gets the backend's
//!   (transient) error, never a lack of space.
//! * Data written back but not yet fsynced when its storage component restarted is reported
//!   as [`Error::Lost`] by the file's next fsync, never as success.
//! * Dirty pages never exceed what the storage components hold for the cache (unless a
//!   storage does not support reservations, or refused to renew them after its restart):
//!   writes are refused with [`Error::NoSpace`] when the space is gone.
//! * A read returns exactly the bytes of the file as written through the cache (zeros in holes
//!   and gaps; what the backend has where a failed write-back dropped pages), never bytes past
//!   its end.
//! * Writes are applied in page order; a write the storage has no space for changes nothing
//!   ([`Error::NoSpace`]); if the backend fails after part of a write was applied (or a
//!   restart took its reservation midway), the write returns the number of bytes applied (like
//!   `write(2)`), and [`Error`] only when nothing was.
//! * No input panics: offsets or sizes beyond [`Config::max_file_size`] return
//!   [`Error::TooLarge`]. Memory is bounded: the arena, the slot table and the index are
//!   allocated by `Cache::new`; file states are bounded by the arena, [`Config::max_idle_files`]
//!   and [`Config::max_error_files`] (beyond that, the oldest unreported errors are forgotten,
//!   as Linux forgets an inode's error with the inode); at most 256 storage components.
//!
//! [`testing::MemBackend`] is an in-memory backend with call logging, error injection, restarts
//! and a disk of limited blocks with reservations, for this crate's tests and the memory
//! monitor's.
//!
//! Limits: the cache is single-threaded (`&mut self`); one scratch buffer of up to
//! `max_io_pages` pages is allocated on the heap for coalesced requests (the backend reads and
//! writes contiguous bytes, frames in the arena are not contiguous); at most `u32::MAX - 1`
//! frames of the arena are used.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod backend;
mod behind;
mod evict;
mod file;
mod lifecycle;
mod read;
mod readahead;
mod slots;
mod store;
pub mod testing;
mod write;
mod writeback;

use alloc::vec::Vec;
use core::fmt;

pub use backend::{Backend, FileKey, PAGE, Reserve};

use backend::PAGE_U64;
use file::Files;
use slots::{NIL, Slots, State};
use store::Store;

/// The largest [`Config::max_file_size`] the cache accepts (larger values are lowered to it), so
/// that offset arithmetic never overflows. Backend sizes above it are treated as this.
pub const MAX_FILE_SIZE: u64 = 1 << 62;

/// Tuning of a [`Cache`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Largest readahead window, in pages (0 disables readahead). It is also capped at half
    /// the arena, so readahead cannot evict the pages it just fetched.
    pub readahead_pages: u32,
    /// The window of the first readahead of a sequential stream; it doubles at every
    /// readahead up to `readahead_pages`.
    pub readahead_initial: u32,
    /// Cap on the pages of one backend request (and the size of the scratch buffer); the
    /// backend's own `max_io` applies too.
    pub max_io_pages: u32,
    /// Offsets and sizes beyond this return [`Error::TooLarge`] (at most [`MAX_FILE_SIZE`]).
    pub max_file_size: u64,
    /// How many files without cached pages but with writes not yet fsynced are remembered
    /// (for `sync_all`). Beyond that, the cache fsyncs such files at the end of an operation
    /// (best effort) and forgets them.
    pub max_idle_files: u32,
    /// How many files without cached pages are remembered only to report a write-back error
    /// to their next fsync; beyond that the oldest such errors are forgotten.
    pub max_error_files: u32,
    /// Blocks reserved ahead of need at a storage component (at least 1): a reservation
    /// request per this many newly dirtied pages.
    pub reserve_batch: u32,
    /// Write-behind starts when the file last written has more dirty pages than this (0: no
    /// per-file limit).
    pub writeback_file_pages: u32,
    /// ... or when more than this percentage of the arena is dirty (0 or ≥ 100: no limit).
    pub writeback_percent: u32,
    /// Write-behind and flush steps fsync a file with the run that brings what they wrote
    /// back since its last fsync to this many pages (0: never), so that the storage flushes
    /// its disk as the data comes and a final fsync has little left to flush.
    pub writeback_sync_pages: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            readahead_pages: 32,
            readahead_initial: 4,
            max_io_pages: 64,
            max_file_size: MAX_FILE_SIZE,
            max_idle_files: 64,
            max_error_files: 1024,
            reserve_batch: 256,
            writeback_file_pages: 1024,
            writeback_percent: 10,
            writeback_sync_pages: 256,
        }
    }
}

/// Errors of cache operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error<E> {
    /// The backend failed. A transient failure changed nothing the cache held; one reported by
    /// `fsync` may also be a write-back of the file that failed for good earlier (its data is
    /// gone, see the crate's guarantees).
    Backend(E),
    /// An offset or size beyond [`Config::max_file_size`].
    TooLarge,
    /// The arena has no page the operation could use (only with an empty arena).
    NoCapacity,
    /// The storage component has no space left for more dirty data.
    NoSpace,
    /// Data of this file written back to its storage component was lost when that component
    /// restarted before an fsync made it durable.
    Lost,
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Backend(e) => write!(f, "storage backend error: {e:?}"),
            Error::TooLarge => f.write_str("offset or size too large"),
            Error::NoCapacity => f.write_str("buffer cache has no page frames"),
            Error::NoSpace => f.write_str("no space left at the storage component"),
            Error::Lost => f.write_str("written data lost in a storage component restart"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for Error<E> {}

/// Counters and current occupancy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requested pages served without a backend read (cached, or zeros past the backend's end).
    pub hits: u64,
    /// Requested pages read from the backend.
    pub misses: u64,
    /// Pages fetched by readahead (beyond what was requested).
    pub readahead_pages: u64,
    /// Pages read for read-modify-write of a partial page write.
    pub rmw_pages: u64,
    /// Backend read requests (reads, readahead and read-modify-write).
    pub read_requests: u64,
    /// Backend size requests.
    pub size_requests: u64,
    /// Clean pages dropped to make room.
    pub evictions: u64,
    /// Dirty pages written back (by fsync, sync, forget, eviction or write-behind).
    pub writeback_pages: u64,
    /// Of those, written back by write-behind ([`Cache::write_back_some`]).
    pub write_behind_pages: u64,
    /// Backend write requests.
    pub writeback_requests: u64,
    /// Dirty pages dropped because their write-back failed for good.
    pub dropped_pages: u64,
    /// Write-back errors recorded on files (failed for good, or lost in a restart).
    pub file_errors: u64,
    /// Unreported file errors forgotten (beyond [`Config::max_error_files`]).
    pub forgotten_errors: u64,
    /// New incarnations of storage components seen.
    pub restarts: u64,
    /// Backend fsync requests.
    pub fsyncs: u64,
    /// Reservation requests.
    pub reserve_requests: u64,
    /// Writes refused for lack of space.
    pub no_space: u64,
    /// Pages currently dirty.
    pub dirty_pages: usize,
    /// Pages currently cached (clean or dirty).
    pub cached_pages: usize,
    /// Files currently with state in the cache.
    pub files: usize,
    /// Page frames of the arena.
    pub capacity: usize,
}

/// The buffer cache. See the crate documentation.
pub struct Cache {
    arena: &'static mut [[u8; PAGE]],
    slots: Slots,
    files: Files,
    /// The storage components of the files, by index (`FileState::store`).
    stores: Vec<Store>,
    /// Contiguous bytes for coalesced backend requests.
    scratch: Vec<u8>,
    /// Reused list of the slots of a run being written back.
    run: Vec<u32>,
    /// Reused list of the slots held while a run is fetched.
    held: Vec<u32>,
    config: Config,
    stats: Stats,
    /// The file of the current operation: not dropped while it briefly has no pages.
    pinned: u32,
    /// The file written last (write-behind looks at its dirty pages).
    last_written: u32,
    /// A storage restart was handled during this operation: sweep page-less files at its end.
    sweep: bool,
    /// Idle files after the last trim that could not be trimmed (errors to report).
    idle_floor: usize,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache using the page frames of `arena` (capacity = `arena.len()` pages): in the guest,
    /// frames of the mComponent's memory; in tests, a leaked `Vec`.
    pub fn new(arena: &'static mut [[u8; PAGE]], config: Config) -> Cache {
        let cap = arena.len().min(NIL as usize - 1);
        let (arena, _) = arena.split_at_mut(cap);
        let config = Config {
            max_file_size: config.max_file_size.min(MAX_FILE_SIZE),
            reserve_batch: config.reserve_batch.max(1),
            ..config
        };
        Cache {
            arena,
            slots: Slots::new(cap),
            files: Files::default(),
            stores: Vec::new(),
            scratch: Vec::new(),
            run: Vec::new(),
            held: Vec::new(),
            config,
            stats: Stats {
                capacity: cap,
                ..Stats::default()
            },
            pinned: NIL,
            last_written: NIL,
            sweep: false,
            idle_floor: 0,
        }
    }

    /// The configuration in use (`max_file_size` lowered to [`MAX_FILE_SIZE`]).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Reads up to `buf.len()` bytes of `f` at `offset`; returns the bytes read, short only at
    /// the end of the file (0 at or past it).
    pub fn read<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, Error<B::Error>> {
        if offset > self.config.max_file_size {
            return Err(Error::TooLarge);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        self.begin(b);
        let r = self.read_file(b, f, offset, buf);
        self.finish(b);
        r
    }

    /// Writes `data` to `f` at `offset` into the cache (write-back), extending the file as
    /// needed. Returns `data.len()`, or fewer bytes if the backend failed or the space ran out
    /// after some pages were written (an error only if none was).
    pub fn write<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        offset: u64,
        data: &[u8],
    ) -> Result<usize, Error<B::Error>> {
        match offset.checked_add(data.len() as u64) {
            Some(end) if end <= self.config.max_file_size => {}
            _ => return Err(Error::TooLarge),
        }
        if data.is_empty() {
            return Ok(0);
        }
        self.begin(b);
        let r = self.write_file(b, f, offset, data);
        self.finish(b);
        r
    }

    /// Writes back every dirty page of `f`, then has the backend make `f` durable. On a
    /// transient error the pages not written back stay dirty. Reports (once) a write-back error
    /// recorded on `f` since its last fsync, after writing back and fsyncing what it can.
    pub fn fsync<B: Backend>(&mut self, b: &mut B, f: FileKey<'_>) -> Result<(), Error<B::Error>> {
        self.begin(b);
        let r = self.fsync_file(b, f);
        self.finish(b);
        r
    }

    /// The size of `f`, including writes not yet written back (for `stat`).
    pub fn size<B: Backend>(&mut self, b: &mut B, f: FileKey<'_>) -> Result<u64, Error<B::Error>> {
        self.begin(b);
        let r = self.state_for(b, f).map(|id| self.files.get(id).size);
        self.finish(b);
        r
    }

    /// Sets the size of `f`: forwards the truncate to the backend, then drops cached pages
    /// past the new end and zeroes the tail of the last page. Growing leaves a zero gap.
    pub fn truncate<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        size: u64,
    ) -> Result<(), Error<B::Error>> {
        if size > self.config.max_file_size {
            return Err(Error::TooLarge);
        }
        self.begin(b);
        let r = self.truncate_file(b, f, size);
        self.finish(b);
        r
    }

    /// Drops every cached page and the state of `f`, to be called before the caller forwards
    /// an unlink, rename or rmdir to storage. With `writeback`, the dirty pages are written
    /// back first and the file is fsynced if anything of it was written since its last fsync
    /// (so a renamed file keeps its data, and `sync_all`, which will no longer know the file,
    /// has nothing left to do for it); on a transient error nothing is dropped, and a
    /// write-back error recorded on the file is reported (once) after it is dropped. Without
    /// `writeback` (unlink, truncating open), dirty data and recorded errors are discarded.
    pub fn forget<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        writeback: bool,
    ) -> Result<(), Error<B::Error>> {
        self.begin(b);
        let r = self.forget_file(b, f, writeback);
        self.finish(b);
        r
    }

    /// [`Cache::forget`] for `f` and for every cached file below it: for a directory about to
    /// be renamed (with `writeback`, so the files keep their data under their new names).
    /// Stops at the first error; files already forgotten stay forgotten.
    pub fn forget_tree<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        writeback: bool,
    ) -> Result<(), Error<B::Error>> {
        self.begin(b);
        let r = self.forget_below(b, f, writeback);
        self.finish(b);
        r
    }

    /// Writes back and fsyncs every file with dirty pages or with writes not yet fsynced. Goes
    /// on after a failing file and returns the first error (write-back errors recorded on
    /// files are left for their own fsyncs to report).
    pub fn sync_all<B: Backend>(&mut self, b: &mut B) -> Result<(), Error<B::Error>> {
        self.begin(b);
        let r = self.sync_files(b);
        self.finish(b);
        r
    }

    /// Drops every clean page and the state of files with nothing left to write or report
    /// (after `sync_all`, to empty the cache). Dirty pages are kept: they are the only copy of
    /// data clients wrote. The sizes of the files kept are fetched again from the backend
    /// before their next use.
    pub fn drop_all(&mut self) {
        self.drop_clean(None);
        self.sweep_files();
    }

    /// Whether write-behind should run: the file written last has more than
    /// [`Config::writeback_file_pages`] dirty, or the arena more than
    /// [`Config::writeback_percent`]. Cheap.
    pub fn writeback_wanted(&self) -> bool {
        self.behind_wanted()
    }

    /// Writes back up to about `max_pages` dirty pages, coldest runs first, without fsync:
    /// write-behind, or emptying the cache in steps. Runs of unreachable storage components
    /// are passed over; pages whose write-back fails for good are dropped and their files'
    /// errors recorded. Returns the pages written back or dropped; a transient error only if
    /// nothing could be done.
    pub fn write_back_some<B: Backend>(
        &mut self,
        b: &mut B,
        max_pages: usize,
    ) -> Result<usize, Error<B::Error>> {
        self.begin(b);
        let r = self.write_back_coldest(b, max_pages);
        self.finish(b);
        r
    }

    /// Writes back up to about `max_pages` of the lowest dirty pages of `f` (with `tree`,
    /// also of every cached file below it), without fsync: the bounded steps of a long fsync
    /// or rename. Errors as [`Cache::write_back_some`]; write-back errors are left on the
    /// files for their fsync.
    pub fn flush_some<B: Backend>(
        &mut self,
        b: &mut B,
        f: FileKey<'_>,
        tree: bool,
        max_pages: usize,
    ) -> Result<usize, Error<B::Error>> {
        self.begin(b);
        let r = self.flush_part(b, f, tree, max_pages);
        self.finish(b);
        r
    }

    /// The dirty pages of `f` (with `tree`, also of every cached file below it). No backend
    /// call; O(files) with `tree`.
    pub fn dirty_pages_of(&self, f: FileKey<'_>, tree: bool) -> u64 {
        if !tree {
            return self
                .files
                .find(f)
                .map_or(0, |id| u64::from(self.files.get(id).dirty));
        }
        self.files
            .ids()
            .filter(|&id| file::below(self.files.key(id), f))
            .map(|id| u64::from(self.files.get(id).dirty))
            .sum()
    }

    /// Counters and occupancy.
    pub fn stats(&self) -> Stats {
        Stats {
            dirty_pages: self.slots.count(State::Dirty),
            cached_pages: self.slots.count(State::Clean) + self.slots.count(State::Dirty),
            files: self.files.live(),
            ..self.stats
        }
    }

    /// Blocks the cache holds reserved at storage component `storage` and the dirty pages of
    /// its files (`None` if the cache has not seen it; the first is `None` where the storage
    /// does not support reservations).
    pub fn reservation(&self, storage: u32) -> Option<(Option<u64>, u64)> {
        let s = self.stores.iter().find(|s| s.id == storage)?;
        Some(((!s.unlimited).then_some(s.reserved), s.dirty))
    }

    /// Checks the internal invariants (lists, index, per-file page counts, pages within file
    /// sizes, zeros past the end of file, dirty counts): O(capacity), for tests and debugging.
    pub fn verify(&self) -> Result<(), &'static str> {
        self.slots.verify()?;
        let mut pages = 0usize;
        let mut store_dirty: Vec<u64> = self.stores.iter().map(|_| 0).collect();
        for id in self.files.ids() {
            let st = self.files.get(id);
            let mut n = 0u32;
            let mut dirty = 0u32;
            for s in self.slots.file_slots(st.head) {
                n += 1;
                if self.slots.file(s) != id {
                    return Err("page in another file's list");
                }
                dirty += u32::from(self.slots.state(s) == State::Dirty);
                let page = self.slots.page(s);
                let start = page * PAGE_U64;
                if start >= st.size {
                    return Err("cached page past the end of file");
                }
                let tail = st.size - start;
                if tail < PAGE_U64
                    && self.arena[s as usize][tail as usize..]
                        .iter()
                        .any(|&x| x != 0)
                {
                    return Err("non-zero bytes past the end of file");
                }
            }
            if n != st.pages {
                return Err("file page count mismatch");
            }
            if dirty != st.dirty {
                return Err("file dirty count mismatch");
            }
            match store_dirty.get_mut(usize::from(st.store)) {
                Some(d) => *d += u64::from(dirty),
                None => return Err("file on an unknown storage"),
            }
            if st.disk_size > st.size && !st.stale {
                return Err("backend size above file size");
            }
            let kept = st.unsynced || st.fault.is_some();
            if n == 0 && id != self.pinned && !kept {
                return Err("idle file kept");
            }
            if st.idle != (n == 0 && kept && id != self.pinned) {
                return Err("idle flag mismatch");
            }
            pages += n as usize;
        }
        if pages != self.slots.count(State::Clean) + self.slots.count(State::Dirty) {
            return Err("pages not owned by a live file");
        }
        for (s, d) in self.stores.iter().zip(store_dirty) {
            if s.dirty != d {
                return Err("storage dirty count mismatch");
            }
        }
        self.files.verify()
    }

    /// Starts a public operation: notices storage restarts, renews reservations they dropped.
    fn begin<B: Backend>(&mut self, b: &mut B) {
        for s in &mut self.stores {
            s.down = false;
        }
        for i in 0..self.stores.len() {
            self.observe(b, i as u16);
            self.resync(b, i as u16);
        }
    }

    /// Ends a public operation: releases the pinned file if it has no pages, drops files a
    /// restart left with nothing, fsyncs idle files beyond `max_idle_files` (best effort: an
    /// error leaves them for later), and gives back reservations held far beyond need.
    fn finish<B: Backend>(&mut self, b: &mut B) {
        let id = core::mem::replace(&mut self.pinned, NIL);
        if id != NIL && self.files.is_live(id) {
            self.release_file(id);
        }
        if core::mem::take(&mut self.sweep) {
            self.sweep_files();
        }
        self.trim_idle(b);
        for i in 0..self.stores.len() {
            self.trim_reservation(b, i as u16);
        }
    }
}
