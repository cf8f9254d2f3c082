//! Error types. Every failure the filesystem can report is a variant here: callers (the storage
//! monitor) map them onto wire status codes, and tests compare them exactly.

use core::fmt;

/// A failure reported by a [`BlockDevice`](crate::BlockDevice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevError {
    /// The device could not complete the read, write or flush.
    Io,
    /// The block number is past the end of the device.
    OutOfRange,
}

impl fmt::Display for DevError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DevError::Io => f.write_str("device I/O error"),
            DevError::OutOfRange => f.write_str("block number out of range"),
        }
    }
}

/// What kind of on-disk damage was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// The superblock does not carry this filesystem's magic number.
    BadMagic,
    /// The superblock's checksum does not match or its geometry is impossible.
    Superblock,
    /// Neither checkpoint slot holds a valid checkpoint header.
    NoCheckpoint,
    /// The newest checkpoint's payload does not match its checksum.
    Checkpoint,
    /// A committed journal transaction is damaged (a later committed one exists on disk), or the
    /// journal belongs to a newer checkpoint than any readable one.
    Journal,
    /// Metadata decoded correctly but describes something impossible (dangling parent, block
    /// outside the data area, a block owned twice, truncated record, ...).
    Metadata,
    /// A data block does not match the checksum recorded in its file's extent.
    Data,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Corruption::BadMagic => "bad superblock magic",
            Corruption::Superblock => "superblock checksum mismatch or impossible geometry",
            Corruption::NoCheckpoint => "no valid checkpoint header",
            Corruption::Checkpoint => "checkpoint payload checksum mismatch",
            Corruption::Journal => "committed journal transaction damaged",
            Corruption::Metadata => "impossible metadata",
            Corruption::Data => "data block checksum mismatch",
        })
    }
}

/// Every error a filesystem operation can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsError {
    /// The path does not start with `/`.
    NotAbsolute,
    /// A path component is `.` or `..` (paths are hashed whole, so they must be canonical).
    DotComponent,
    /// The path has an empty component (`//` or a trailing `/`).
    EmptyComponent,
    /// A path component is longer than [`MAX_NAME`](crate::MAX_NAME) bytes.
    NameTooLong,
    /// The path is longer than [`MAX_PATH`](crate::MAX_PATH) bytes.
    PathTooLong,
    /// The path (or its parent directory) does not exist.
    NotFound,
    /// The path already exists.
    AlreadyExists,
    /// A directory was required (the parent of a new entry, or `rmdir`/`readdir`'s target).
    NotADirectory,
    /// A file was required but the path names a directory.
    IsADirectory,
    /// `rmdir` of a directory that still has entries.
    DirectoryNotEmpty,
    /// A directory cannot be moved into itself or below itself.
    RenameIntoItself,
    /// The operation is not permitted on a vNode's root directory.
    RootDirectory,
    /// The write or truncate would make the file larger than the configured maximum.
    FileTooLarge,
    /// No free data blocks, or no room left in the metadata area.
    NoSpace,
    /// The device is too small for the requested layout, or the format options are invalid.
    InvalidGeometry,
    /// The metadata on the disk needs more memory than this filesystem may use
    /// ([`MountOptions::mem_budget`](crate::MountOptions::mem_budget)): about `needed` bytes of
    /// budget, where it has `budget`.
    MetadataTooLarge {
        /// Bytes of budget the metadata needs (an estimate).
        needed: u64,
        /// Bytes of budget there are.
        budget: u64,
    },
    /// A reservation for one more client would exceed the most clients held at once.
    TooManyClients,
    /// The device reported an error; the in-memory state is unchanged by the failed operation.
    Io(DevError),
    /// On-disk data failed validation.
    Corrupted(Corruption),
}

impl From<DevError> for FsError {
    fn from(e: DevError) -> Self {
        FsError::Io(e)
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsError::NotAbsolute => f.write_str("path is not absolute"),
            FsError::DotComponent => f.write_str("path has a `.` or `..` component"),
            FsError::EmptyComponent => f.write_str("path has an empty component"),
            FsError::NameTooLong => f.write_str("path component too long"),
            FsError::PathTooLong => f.write_str("path too long"),
            FsError::NotFound => f.write_str("no such file or directory"),
            FsError::AlreadyExists => f.write_str("file exists"),
            FsError::NotADirectory => f.write_str("not a directory"),
            FsError::IsADirectory => f.write_str("is a directory"),
            FsError::DirectoryNotEmpty => f.write_str("directory not empty"),
            FsError::RenameIntoItself => f.write_str("cannot move a directory into itself"),
            FsError::RootDirectory => f.write_str("not permitted on the root directory"),
            FsError::FileTooLarge => f.write_str("file too large"),
            FsError::NoSpace => f.write_str("no space left on device"),
            FsError::InvalidGeometry => f.write_str("device too small or invalid format options"),
            FsError::MetadataTooLarge { needed, budget } => write!(
                f,
                "metadata needs about {} MiB of memory, {} MiB allowed",
                needed.div_ceil(1 << 20),
                budget >> 20
            ),
            FsError::TooManyClients => f.write_str("too many clients hold reservations"),
            FsError::Io(e) => write!(f, "I/O error: {e}"),
            FsError::Corrupted(c) => write!(f, "filesystem corrupted: {c}"),
        }
    }
}

impl core::error::Error for FsError {}
impl core::error::Error for DevError {}

/// Shorthand for the crate's results.
pub type Result<T> = core::result::Result<T, FsError>;

/// Shorthand used by the decoders: impossible metadata.
pub(crate) const BAD_META: FsError = FsError::Corrupted(Corruption::Metadata);
