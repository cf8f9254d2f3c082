//! The storage side of the cache, implemented by the caller: in the guest, RPCs to the storage
//! component; in tests, [`crate::testing::MemBackend`].

/// The page size of the cache, in bytes.
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
}
