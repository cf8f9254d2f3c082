//! [`MemBackend`]: an in-memory storage component for tests (this crate's and the memory
//! monitor's). It logs every call, checks the request size limit, keeps a durable copy of each
//! file (updated by fsync; [`MemBackend::restart`] rolls back to it and bumps the incarnation),
//! injects transient and permanent errors on demand, and can model a disk of a limited number
//! of blocks with per-client reservations, as the sComponent's `RESERVE` does.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use crate::backend::{Backend, FileKey, PAGE, Reserve};

const BLOCK: u64 = PAGE as u64;

/// Errors of [`MemBackend`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemError {
    /// No such file (permanent).
    NotFound,
    /// An injected failure (transient).
    Injected,
    /// A request larger than `max_io` (a bug in the caller), or a file larger than
    /// `max_file` (permanent).
    TooBig,
    /// The disk is full (permanent).
    NoSpace,
    /// The storage component is unreachable (transient).
    Down,
}

impl MemError {
    const ALL: [MemError; 5] = [
        MemError::NotFound,
        MemError::Injected,
        MemError::TooBig,
        MemError::NoSpace,
        MemError::Down,
    ];
}

/// One call to the backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `read(vnode, path, offset, len)`.
    Read(u32, String, u64, usize),
    /// `write(vnode, path, offset, len)`.
    Write(u32, String, u64, usize),
    /// `fsync(vnode, path)`.
    Fsync(u32, String),
    /// `size(vnode, path)`.
    Size(u32, String),
    /// `truncate(vnode, path, size)`.
    Truncate(u32, String, u64),
    /// `reserve(storage, blocks)`.
    Reserve(u32, u64),
}

/// A file's bytes: current and as of the last fsync.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemFile {
    /// Current contents.
    pub data: Vec<u8>,
    /// Contents as of the last fsync (what survives [`MemBackend::restart`]).
    pub durable: Vec<u8>,
    /// Whether the file itself survives a restart (its creation was made durable).
    pub created: bool,
    /// Blocks with data (holes have none).
    pub blocks: BTreeSet<u64>,
    /// `blocks` as of the last fsync.
    pub durable_blocks: BTreeSet<u64>,
}

/// One storage component's disk, for the space and restart model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disk {
    /// Data blocks in all (`None`: unlimited).
    pub blocks: Option<u64>,
    /// Blocks of overwritten data held until the next fsync (copy-on-write).
    pub pending: u64,
    /// Blocks held for the cache under test.
    pub reserved: u64,
    /// Blocks held for other clients.
    pub others: u64,
    /// Whether `reserve` is supported (else it answers [`Reserve::Unsupported`]).
    pub reservations: bool,
    /// The incarnation ([`MemBackend::restart`] bumps it).
    pub incarnation: u32,
    /// Every call about it fails with [`MemError::Down`].
    pub down: bool,
}

/// An in-memory [`Backend`].
#[derive(Clone, Debug)]
pub struct MemBackend {
    /// Files by (vnode, path).
    pub files: BTreeMap<(u32, String), MemFile>,
    /// The storage component of each vNode (0 if not listed).
    pub routes: BTreeMap<u32, u32>,
    /// Storage components by id (created on first use, unlimited and without reservations).
    pub disks: BTreeMap<u32, Disk>,
    /// The `max_io` reported to the cache.
    pub max_io: usize,
    /// Largest file size accepted (writes or truncates beyond fail with `TooBig`).
    pub max_file: u64,
    /// Every call, in order (failed ones included).
    pub log: Vec<Call>,
    /// Fail the next this many calls.
    pub fail_next: u32,
    /// Fail the call that gets this index in `log`.
    pub fail_call: Option<usize>,
    /// Fail every write.
    pub fail_writes: bool,
    /// Fail each call with probability `fail_per_mille / 1000` (pseudo-random, seeded by
    /// `rng`).
    pub fail_per_mille: u32,
    /// Fail each write with [`MemError::NoSpace`] (permanent) with this probability.
    pub nospace_per_mille: u32,
    /// State of the xorshift generator used for `fail_per_mille`.
    pub rng: u64,
    /// Calls of `write_sync` (each also logged as its write and its fsync).
    pub write_syncs: usize,
    /// Files that a write or fsync failed for with a permanent error, in order.
    pub permanent_failures: Vec<(u32, String)>,
    /// Restart the storage component of the call that gets this index in `log`, right after
    /// that call did its work (the caller sees it succeed, its effect is lost unless durable).
    pub restart_after_call: Option<usize>,
}

impl MemBackend {
    /// No files; `max_io` bytes per request.
    pub fn new(max_io: usize) -> Self {
        MemBackend {
            files: BTreeMap::new(),
            routes: BTreeMap::new(),
            disks: BTreeMap::new(),
            max_io,
            max_file: 1 << 32,
            log: Vec::new(),
            fail_next: 0,
            fail_call: None,
            fail_writes: false,
            fail_per_mille: 0,
            nospace_per_mille: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
            write_syncs: 0,
            permanent_failures: Vec::new(),
            restart_after_call: None,
        }
    }

    /// Creates (or replaces) a file with durable contents `data`.
    pub fn create(&mut self, vnode: u32, path: &str, data: &[u8]) {
        let blocks: BTreeSet<u64> = (0..(data.len() as u64).div_ceil(BLOCK)).collect();
        self.files.insert(
            (vnode, String::from(path)),
            MemFile {
                data: data.to_vec(),
                durable: data.to_vec(),
                created: true,
                durable_blocks: blocks.clone(),
                blocks,
            },
        );
    }

    /// Creates an empty file whose creation is not durable yet (a restart before its first
    /// fsync removes it), as an `OPEN` with create that was not committed.
    pub fn create_unsynced(&mut self, vnode: u32, path: &str) {
        self.files
            .insert((vnode, String::from(path)), MemFile::default());
    }

    /// Removes a file (an unlink at the storage).
    pub fn remove(&mut self, vnode: u32, path: &str) {
        self.files.remove(&(vnode, String::from(path)));
    }

    /// Storage component `id`'s disk (created unlimited if new).
    pub fn disk(&mut self, id: u32) -> &mut Disk {
        self.disks.entry(id).or_default()
    }

    /// Makes storage `id` a disk of `blocks` blocks that supports reservations.
    pub fn limit(&mut self, id: u32, blocks: u64) {
        let d = self.disk(id);
        d.blocks = Some(blocks);
        d.reservations = true;
    }

    /// A file's record.
    pub fn file(&self, vnode: u32, path: &str) -> Option<&MemFile> {
        self.files.get(&(vnode, String::from(path)))
    }

    /// A file's current contents (empty if it does not exist).
    pub fn data(&self, vnode: u32, path: &str) -> &[u8] {
        self.file(vnode, path).map_or(&[], |f| &f.data)
    }

    /// A file's durable contents (empty if it does not exist).
    pub fn durable(&self, vnode: u32, path: &str) -> &[u8] {
        self.file(vnode, path).map_or(&[], |f| &f.durable)
    }

    /// Simulates a crash and restart of every storage component: every file rolls back to
    /// its durable contents, files whose creation was not durable disappear, reservations and
    /// pending blocks are gone, incarnations move on.
    pub fn restart(&mut self) {
        let mut ids: Vec<u32> = self.disks.keys().copied().collect();
        if !ids.contains(&0) {
            ids.push(0);
        }
        for id in ids {
            self.restart_storage(id);
        }
    }

    /// [`MemBackend::restart`] of storage component `id` only.
    pub fn restart_storage(&mut self, id: u32) {
        let routes = self.routes.clone();
        let on = |vnode: u32| routes.get(&vnode).copied().unwrap_or(0) == id;
        self.files.retain(|(v, _), f| !on(*v) || f.created);
        for ((v, _), f) in self.files.iter_mut() {
            if on(*v) {
                f.data.clone_from(&f.durable);
                f.blocks.clone_from(&f.durable_blocks);
            }
        }
        let d = self.disk(id);
        d.reserved = 0;
        d.pending = 0;
        d.incarnation = d.incarnation.wrapping_add(1);
    }

    /// Data blocks in use on storage `id` (files' blocks plus blocks held until a commit).
    pub fn used(&self, id: u32) -> u64 {
        let pending = self.disks.get(&id).map_or(0, |d| d.pending);
        self.files
            .iter()
            .filter(|((v, _), _)| self.routes.get(v).copied().unwrap_or(0) == id)
            .map(|(_, f)| f.blocks.len() as u64)
            .sum::<u64>()
            + pending
    }

    /// Free blocks of storage `id` for the cache under test (its reservation included).
    pub fn free_for_us(&self, id: u32) -> u64 {
        let Some(d) = self.disks.get(&id) else {
            return u64::MAX;
        };
        match d.blocks {
            None => u64::MAX,
            Some(n) => n.saturating_sub(self.used(id)).saturating_sub(d.others),
        }
    }

    /// Forgets the call log.
    pub fn clear_log(&mut self) {
        self.log.clear();
    }

    /// Number of logged reads.
    pub fn reads(&self) -> usize {
        self.log
            .iter()
            .filter(|c| matches!(c, Call::Read(..)))
            .count()
    }

    /// Number of logged writes.
    pub fn writes(&self) -> usize {
        self.log
            .iter()
            .filter(|c| matches!(c, Call::Write(..)))
            .count()
    }

    /// Number of logged fsyncs.
    pub fn fsyncs(&self) -> usize {
        self.log
            .iter()
            .filter(|c| matches!(c, Call::Fsync(..)))
            .count()
    }

    /// Number of logged size requests.
    pub fn sizes(&self) -> usize {
        self.log
            .iter()
            .filter(|c| matches!(c, Call::Size(..)))
            .count()
    }

    /// Number of logged reservation requests.
    pub fn reserves(&self) -> usize {
        self.log
            .iter()
            .filter(|c| matches!(c, Call::Reserve(..)))
            .count()
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn inject(&mut self, write: bool) -> Result<(), MemError> {
        if self.fail_call.is_some_and(|i| i + 1 == self.log.len()) {
            return Err(MemError::Injected);
        }
        if self.fail_next > 0 {
            self.fail_next -= 1;
            return Err(MemError::Injected);
        }
        if write && self.fail_writes {
            return Err(MemError::Injected);
        }
        if self.fail_per_mille > 0 && (self.next_random() % 1000) < u64::from(self.fail_per_mille) {
            return Err(MemError::Injected);
        }
        if write
            && self.nospace_per_mille > 0
            && (self.next_random() % 1000) < u64::from(self.nospace_per_mille)
        {
            return Err(MemError::NoSpace);
        }
        Ok(())
    }

    /// The storage of `f`, failing if it is down.
    fn reach(&mut self, vnode: u32) -> Result<u32, MemError> {
        let id = self.routes.get(&vnode).copied().unwrap_or(0);
        if self.disks.get(&id).is_some_and(|d| d.down) {
            return Err(MemError::Down);
        }
        Ok(id)
    }

    fn get(&mut self, f: FileKey<'_>) -> Result<&mut MemFile, MemError> {
        self.files
            .get_mut(&(f.vnode, String::from(f.path)))
            .ok_or(MemError::NotFound)
    }

    /// Does the restart asked for by `restart_after_call`, if this is that call.
    fn maybe_restart(&mut self, storage: u32) {
        if self
            .restart_after_call
            .is_some_and(|i| i + 1 == self.log.len())
        {
            self.restart_storage(storage);
        }
    }

    fn note(&mut self, f: FileKey<'_>, r: Result<(), MemError>) -> Result<(), MemError> {
        let storage = self.storage(f.vnode);
        self.maybe_restart(storage);
        if let Err(e) = r
            && !matches!(e, MemError::Injected | MemError::Down)
        {
            self.permanent_failures
                .push((f.vnode, String::from(f.path)));
        }
        r
    }

    fn do_write(&mut self, f: FileKey<'_>, offset: u64, data: &[u8]) -> Result<(), MemError> {
        if data.len() > self.max_io.max(PAGE) {
            return Err(MemError::TooBig);
        }
        let id = self.reach(f.vnode)?;
        self.inject(true)?;
        let max = self.max_file;
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(MemError::TooBig)?;
        if end > max {
            return Err(MemError::TooBig);
        }
        // Copy-on-write: every block touched gets a new one; the ones it replaces are held
        // until the next fsync.
        let range = if data.is_empty() {
            0..0
        } else {
            offset / BLOCK..(end - 1) / BLOCK + 1
        };
        let touched = range.end - range.start;
        let file = self.get(f)?;
        let replaced = range.clone().filter(|b| file.blocks.contains(b)).count() as u64;
        let free = self.free_for_us(id);
        if touched > free {
            return Err(MemError::NoSpace);
        }
        if let Some(d) = self.disks.get_mut(&id) {
            d.pending += replaced;
            d.reserved = d.reserved.saturating_sub(touched);
        }
        let file = self.get(f)?;
        if (file.data.len() as u64) < end {
            resize(&mut file.data, end, max)?;
        }
        file.blocks.extend(range);
        let at = offset as usize;
        file.data[at..at + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn do_fsync(&mut self, f: FileKey<'_>) -> Result<(), MemError> {
        let id = self.reach(f.vnode)?;
        self.inject(false)?;
        let file = self.get(f)?;
        file.durable.clone_from(&file.data);
        file.durable_blocks.clone_from(&file.blocks);
        file.created = true;
        if let Some(d) = self.disks.get_mut(&id) {
            d.pending = 0;
        }
        Ok(())
    }
}

fn resize(data: &mut Vec<u8>, len: u64, max: u64) -> Result<(), MemError> {
    if len > max {
        return Err(MemError::TooBig);
    }
    let len = usize::try_from(len).map_err(|_| MemError::TooBig)?;
    data.resize(len, 0);
    Ok(())
}

impl Backend for MemBackend {
    type Error = MemError;

    fn read(&mut self, f: FileKey<'_>, offset: u64, buf: &mut [u8]) -> Result<usize, MemError> {
        self.log
            .push(Call::Read(f.vnode, f.path.into(), offset, buf.len()));
        if buf.len() > self.max_io.max(PAGE) {
            return Err(MemError::TooBig);
        }
        self.reach(f.vnode)?;
        self.inject(false)?;
        let file = self.get(f)?;
        let Ok(offset) = usize::try_from(offset) else {
            return Ok(0);
        };
        let src = file.data.get(offset..).unwrap_or(&[]);
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }

    fn write(&mut self, f: FileKey<'_>, offset: u64, data: &[u8]) -> Result<(), MemError> {
        self.log
            .push(Call::Write(f.vnode, f.path.into(), offset, data.len()));
        let r = self.do_write(f, offset, data);
        self.note(f, r)
    }

    fn write_sync(&mut self, f: FileKey<'_>, offset: u64, data: &[u8]) -> Result<(), MemError> {
        self.write_syncs += 1;
        self.write(f, offset, data)?;
        self.fsync(f)
    }

    fn fsync(&mut self, f: FileKey<'_>) -> Result<(), MemError> {
        self.log.push(Call::Fsync(f.vnode, f.path.into()));
        let r = self.do_fsync(f);
        self.note(f, r)
    }

    fn size(&mut self, f: FileKey<'_>) -> Result<u64, MemError> {
        self.log.push(Call::Size(f.vnode, f.path.into()));
        self.reach(f.vnode)?;
        self.inject(false)?;
        Ok(self.get(f)?.data.len() as u64)
    }

    fn truncate(&mut self, f: FileKey<'_>, size: u64) -> Result<(), MemError> {
        self.log.push(Call::Truncate(f.vnode, f.path.into(), size));
        self.reach(f.vnode)?;
        self.inject(false)?;
        let max = self.max_file;
        let file = self.get(f)?;
        resize(&mut file.data, size, max)?;
        file.blocks.retain(|b| *b < size.div_ceil(BLOCK));
        Ok(())
    }

    fn max_io(&self) -> usize {
        self.max_io
    }

    fn transient(&self, e: &MemError) -> bool {
        matches!(e, MemError::Injected | MemError::Down)
    }

    fn error_code(&self, e: &MemError) -> u32 {
        MemError::ALL.iter().position(|x| x == e).unwrap_or(0) as u32
    }

    fn error_from_code(&self, code: u32) -> MemError {
        MemError::ALL
            .get(code as usize)
            .copied()
            .unwrap_or(MemError::Injected)
    }

    fn storage(&self, vnode: u32) -> u32 {
        self.routes.get(&vnode).copied().unwrap_or(0)
    }

    fn incarnation(&self, storage: u32) -> u32 {
        self.disks.get(&storage).map_or(0, |d| d.incarnation)
    }

    fn reserve(&mut self, storage: u32, blocks: u64) -> Result<Reserve, MemError> {
        self.log.push(Call::Reserve(storage, blocks));
        if self.disks.get(&storage).is_some_and(|d| d.down) {
            return Err(MemError::Down);
        }
        self.inject(false)?;
        let free = self.free_for_us(storage);
        let d = self.disk(storage);
        if !d.reservations {
            return Ok(Reserve::Unsupported);
        }
        let r = if blocks <= d.reserved || blocks <= free {
            d.reserved = blocks;
            Reserve::Granted
        } else {
            Reserve::Refused
        };
        self.maybe_restart(storage);
        Ok(r)
    }
}
