//! The storage side of the cache, implemented by the caller: in the guest, RPCs to the storage
//! component; in tests, [`crate::testing::MemBackend`].

/// The page size of the cache, in bytes (also the storage's block size: a dirty page needs one
/// block when it is written back).
pub const PAGE: usize = 4096;
pub(crate) const PAGE_U64: u64 = PAGE as u64;

/// A file: vNode and canonical absolute path (the storage component's key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileKey<'a> {
    /// The vNode whose namespace the path is in.
    pub vnode: u32,
    /// Canonical absolute path.
    pub path: &'a str,
}

/// The answer to [`Backend::reserve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reserve {
    /// The storage now holds that many blocks for this cache.
    Granted,
    /// Not that much space: the storage keeps what it held before.
    Refused,
    /// The storage does not hold space for clients: the cache stops accounting for it (until
    /// the storage restarts) and writes are refused only when their write-back fails.
    Unsupported,
}

/// A storage component, as seen by the cache. Files are addressed statelessly by [`FileKey`].
pub trait Backend {
    /// The backend's error, handed back to the cache's caller in [`crate::Error::Backend`].
    type Error: Copy + core::fmt::Debug;
    /// Reads file bytes at `offset` into `buf`; returns bytes read (short only at end of
    /// file). Reading past the end of file is not an error (it reads 0 bytes).
    fn read(&mut self, f: FileKey<'_>, offset: u64, buf: &mut [u8]) -> Result<usize, Self::Error>;
    /// Writes `data` at `offset`, extending the file as needed (a gap reads as zeros).
    fn write(&mut self, f: FileKey<'_>, offset: u64, data: &[u8]) -> Result<(), Self::Error>;
    /// Makes everything written to the file durable.
    fn fsync(&mut self, f: FileKey<'_>) -> Result<(), Self::Error>;
    /// [`Backend::write`] then [`Backend::fsync`]: the last write-back of an fsync. A backend
    /// that can do both in one request (one round trip) overrides it.
    fn write_sync(&mut self, f: FileKey<'_>, offset: u64, data: &[u8]) -> Result<(), Self::Error> {
        self.write(f, offset, data)?;
        self.fsync(f)
    }
    /// The file's size at the storage component (`Err` if it does not exist).
    fn size(&mut self, f: FileKey<'_>) -> Result<u64, Self::Error>;
    /// Sets the file's size (growing leaves a zero gap).
    fn truncate(&mut self, f: FileKey<'_>, size: u64) -> Result<(), Self::Error>;
    /// Largest single read or write the backend accepts, in bytes (a multiple of [`PAGE`];
    /// smaller values are treated as one page).
    fn max_io(&self) -> usize;

    /// Whether a failed request may succeed later (the storage component is unreachable or
    /// restarting) rather than never for this file (no space, file too large, the file is gone,
    /// corruption). A write-back that fails transiently keeps its pages dirty for a retry; one
    /// that fails for good drops them and records the error on the file.
    fn transient(&self, e: &Self::Error) -> bool;
    /// `e` as a number, so it can be kept on its file until reported (see
    /// [`Backend::error_from_code`]).
    fn error_code(&self, e: &Self::Error) -> u32;
    /// The error [`Backend::error_code`] made `code` of.
    fn error_from_code(&self, code: u32) -> Self::Error;

    /// The storage component holding vNode `vnode`'s files (space is reserved, and restarts
    /// are noticed, per storage component).
    fn storage(&self, vnode: u32) -> u32 {
        let _ = vnode;
        0
    }
    /// The current incarnation of storage component `storage`: a new one lost whatever was not
    /// fsynced. Cheap: the cache asks before and after its write-backs.
    fn incarnation(&self, storage: u32) -> u32 {
        let _ = storage;
        0
    }
    /// Asks `storage` to hold `blocks` free blocks for this cache (the total, not an
    /// increment; a smaller total releases the difference). Every write the cache sends uses
    /// the blocks it allocates from what is held.
    fn reserve(&mut self, storage: u32, blocks: u64) -> Result<Reserve, Self::Error> {
        let _ = (storage, blocks);
        Ok(Reserve::Unsupported)
    }
}
