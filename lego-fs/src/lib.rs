//! `lego-fs`: the on-disk format of the LegoOS storage monitor (sComponent).
//!
//! The storage component serves many independent namespaces, one per vNode, through a
//! hierarchical interface over a flat store: every operation carries the vNode id and the full
//! absolute path, and lookups hash the whole path instead of walking directories. Files are
//! stored as extents of 4 KiB blocks; directories are just names. Every call is stateless.
//!
//! # On-disk format
//!
//! ```text
//! block 0                superblock: magic, geometry, max file size, CRC (never rewritten)
//! 1 .. 1+C               checkpoint slot 0 ┐ 2 header copies + payload: every inode as records
//! 1+C .. 1+2C            checkpoint slot 1 ┘ (newest valid generation wins)
//! 1+2C .. 1+2C+L         journal: transactions of metadata records, CRC per block
//! 1+2C+L .. end          data blocks, allocated from an in-memory set of free extents
//! ```
//!
//! * **Metadata** lives in memory (namespaces, inodes, extent maps) and is persisted as
//!   *records* (`record.rs`): a checkpoint is the records that rebuild it from nothing; a
//!   journal transaction is the records of the operations since the previous commit.
//! * **Data** is copy-on-write with a CRC-32 per block kept in the extent. The data blocks
//!   and the transaction that references them are written together and made durable by one
//!   flush; recovery checks a last transaction that was never confirmed against its data's
//!   checksums and drops it if its data did not all land (`journal.rs`). A block freed by an
//!   operation is only reused after that operation's transaction is durable, so committed
//!   metadata never points at unwritten or foreign data.
//! * **Allocation** is not stored: mount rebuilds the free extents from the files' extents (a
//!   double-owned or out-of-range block is reported as corruption), so a crash never leaks
//!   blocks. The free set is as large as the disk is fragmented, not as large as the disk: a
//!   16 TiB disk starts as one free extent.
//! * **Memory** is bounded: the filesystem is given a budget ([`MountOptions`]) and an upper
//!   bound of what every structure costs on the heap (`mem.rs`, checked against a counting
//!   allocator in `tests/memory.rs`). An operation that would take the metadata past it fails
//!   with [`FsError::NoSpace`] and changes nothing; a disk whose metadata does not fit is
//!   refused by `mount` with [`FsError::MetadataTooLarge`] (how much it needs included), never
//!   by running out of heap. Mount reads the checkpoint and the journal as streams (a block and
//!   one record at a time), and whatever was accepted mounts again with the same budget.
//! * **Reservations** (`reserve.rs`): a buffer cache holds data blocks for its dirty pages, so
//!   its write-back never finds the space taken; everyone else sees the free space without them.
//! * **Commit** (`fsync`, `sync`, or a full pending buffer): append the transaction to the
//!   journal, flush (one flush for data and metadata), then write a confirm block, handed to
//!   the device without flushing with the next batch, or once the server is idle
//!   (`Fs::submit_hints`). If it does not fit, write a checkpoint of generation g+1 into the
//!   other slot instead (payload, flush, header, flush, header copy, flush), which empties the
//!   journal (journal blocks carry their generation).
//! * **Recovery** (mount): read the superblock, pick the valid checkpoint header with the highest
//!   generation, verify and apply its payload, apply every complete journal transaction of
//!   that generation in order, stop at the first incomplete one (the one being written at the
//!   crash), validate the whole state, rebuild the allocator, then start a new generation if the
//!   journal held anything. Damage is reported as [`FsError::Corrupted`], never papered over
//!   (see `journal.rs` for how a damaged committed transaction is told from a torn one).
//!
//! The result: after a crash at any point, the filesystem mounts in the state right after
//! some completed operation no earlier than the last successful `fsync`/`sync`. Operations are
//! atomic, and the order of operations is preserved.
//!
//! Limits and choices:
//! * total metadata must fit one checkpoint slot and the memory budget (`NoSpace` otherwise,
//!   see [`StatFs`]: its free blocks are what the metadata can still describe); all of it is
//!   held in memory: about 4 bytes per data block, ~100-200 bytes per extent of a fragmented
//!   file, ~250 bytes per file or directory plus its path (each path is stored once);
//! * data is copy-on-write, so overwriting needs free blocks until the next commit;
//! * renaming a directory rewrites the key of everything below it (one journal record, but
//!   time and metadata room in proportion to the subtree);
//! * `fsync` commits everything (the journal is shared by all files and vNodes);
//! * damage that wipes out the newest commit entirely (the newest journal transactions with
//!   nothing valid after them) cannot be told from a torn commit: that commit is dropped like
//!   one; so is the newest commit if the host lost power before the next flush *and* its data
//!   was damaged afterwards (see `journal.rs`). Both header copies of a checkpoint slot
//!   damaged is refused as corruption (no crash leaves that), even when the other slot is the
//!   newest;
//! * `format` is not crash-safe until it returns.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod allocator;
mod checkpoint;
mod codec;
mod device;
mod error;
mod extent;
mod fs;
mod inode;
mod journal;
mod mem;
mod meta;
mod namespace;
mod ops;
pub mod path;
mod record;
mod reserve;
pub mod serve;
mod stream;
mod superblock;
pub mod testdev;

pub use device::{BLOCK_SIZE, Block, BlockDevice, IoTime};
pub use error::{Corruption, DevError, FsError, Result};
pub use fs::{Fs, MountOptions, ROOT_MODE, StatFs};
pub use inode::{DirEntry, FileKind, Stat};
pub use path::{MAX_NAME, MAX_PATH};
pub use reserve::{Client, MAX_CLIENTS};
pub use superblock::{FormatOptions, Layout, MAX_FILE_SIZE_LIMIT};
