//! [`MemBackend`]: an in-memory storage component for tests (this crate's and the memory
//! monitor's). It logs every call, checks the request size limit, keeps a durable copy of each
//! file (updated by fsync; [`MemBackend::restart`] rolls back to it) and injects errors on
//! demand.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::backend::{Backend, FileKey, PAGE};

/// Errors of [`MemBackend`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemError {
    /// No such file.
    NotFound,
    /// An injected failure.
    Injected,
    /// A request larger than `max_io` (a bug in the caller), or a file larger than
    /// `max_file`.
    TooBig,
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
}

/// A file's bytes: current and as of the last fsync.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemFile {
    /// Current contents.
    pub data: Vec<u8>,
    /// Contents as of the last fsync (what survives [`MemBackend::restart`]).
    pub durable: Vec<u8>,
}

/// An in-memory [`Backend`].
#[derive(Clone, Debug)]
pub struct MemBackend {
    /// Files by (vnode, path).
    pub files: BTreeMap<(u32, String), MemFile>,
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
    /// State of the xorshift generator used for `fail_per_mille`.
    pub rng: u64,
    /// Calls of `write_sync` (each also logged as its write and its fsync).
    pub write_syncs: usize,
}

impl MemBackend {
    /// No files; `max_io` bytes per request.
    pub fn new(max_io: usize) -> Self {
        MemBackend {
            files: BTreeMap::new(),
            max_io,
            max_file: 1 << 32,
            log: Vec::new(),
            fail_next: 0,
            fail_call: None,
            fail_writes: false,
            fail_per_mille: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
            write_syncs: 0,
        }
    }

    /// Creates (or replaces) a file with durable contents `data`.
    pub fn create(&mut self, vnode: u32, path: &str, data: &[u8]) {
        self.files.insert(
            (vnode, String::from(path)),
            MemFile {
                data: data.to_vec(),
                durable: data.to_vec(),
            },
        );
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

    /// Simulates a crash and restart: every file rolls back to its durable contents.
    pub fn restart(&mut self) {
        for f in self.files.values_mut() {
            f.data.clone_from(&f.durable);
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
        if self.fail_per_mille > 0 {
            // xorshift64
            let mut x = self.rng;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.rng = x;
            if (x % 1000) < u64::from(self.fail_per_mille) {
                return Err(MemError::Injected);
            }
        }
        Ok(())
    }

    fn get(&mut self, f: FileKey<'_>) -> Result<&mut MemFile, MemError> {
        self.files
            .get_mut(&(f.vnode, String::from(f.path)))
            .ok_or(MemError::NotFound)
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
        if data.len() > self.max_io.max(PAGE) {
            return Err(MemError::TooBig);
        }
        self.inject(true)?;
        let max = self.max_file;
        let file = self.get(f)?;
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(MemError::TooBig)?;
        if (file.data.len() as u64) < end {
            resize(&mut file.data, end, max)?;
        }
        let at = offset as usize;
        file.data[at..at + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn write_sync(&mut self, f: FileKey<'_>, offset: u64, data: &[u8]) -> Result<(), MemError> {
        self.write_syncs += 1;
        self.write(f, offset, data)?;
        self.fsync(f)
    }

    fn fsync(&mut self, f: FileKey<'_>) -> Result<(), MemError> {
        self.log.push(Call::Fsync(f.vnode, f.path.into()));
        self.inject(false)?;
        let file = self.get(f)?;
        file.durable.clone_from(&file.data);
        Ok(())
    }

    fn size(&mut self, f: FileKey<'_>) -> Result<u64, MemError> {
        self.log.push(Call::Size(f.vnode, f.path.into()));
        self.inject(false)?;
        Ok(self.get(f)?.data.len() as u64)
    }

    fn truncate(&mut self, f: FileKey<'_>, size: u64) -> Result<(), MemError> {
        self.log.push(Call::Truncate(f.vnode, f.path.into(), size));
        self.inject(false)?;
        let max = self.max_file;
        resize(&mut self.get(f)?.data, size, max)
    }

    fn max_io(&self) -> usize {
        self.max_io
    }
}
