//! Inodes: what a path names. Files own an extent map; directories are only names (their
//! entries are found through the namespace's child index).

use alloc::string::String;
use alloc::vec::Vec;

use crate::extent::ExtentMap;
use crate::record::{
    CREATE_FIXED, MAP_FIXED, SET_SIZE_LEN, encode_create, encode_map, encode_set_size,
};

/// What kind of object a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// The result of [`Fs::stat`](crate::Fs::stat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// File or directory.
    pub kind: FileKind,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// The mode given at creation (stored, not interpreted).
    pub mode: u32,
    /// Modification counter: a filesystem-wide counter value, bumped by every write or truncate
    /// of the file, that never goes backwards across remounts (a stand-in for mtime).
    pub version: u64,
}

/// One entry returned by [`Fs::readdir`](crate::Fs::readdir).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DirEntry {
    /// The last path component.
    pub name: String,
    /// File or directory.
    pub kind: FileKind,
}

#[derive(Debug, Clone)]
pub(crate) struct Inode {
    pub vnode: u32,
    pub path: String,
    pub kind: FileKind,
    pub mode: u32,
    pub size: u64,
    pub version: u64,
    pub extents: ExtentMap,
}

impl Inode {
    /// Bytes this inode occupies in a checkpoint (see [`Inode::encode_checkpoint`]).
    pub fn ckpt_size(&self) -> u64 {
        let mut n = CREATE_FIXED + self.path.len() as u64;
        if self.kind == FileKind::File {
            n += SET_SIZE_LEN + self.extents.extents() * MAP_FIXED + self.extents.blocks() * 4;
        }
        n
    }

    /// Appends the records that recreate this inode.
    pub fn encode_checkpoint(&self, ino: u64, out: &mut Vec<u8>) {
        encode_create(
            out,
            ino,
            self.vnode,
            &self.path,
            self.kind,
            self.mode,
            self.version,
        );
        if self.kind == FileKind::File {
            for (fblk, e) in self.extents.iter() {
                encode_map(out, ino, fblk, e.disk, &e.crcs);
            }
            encode_set_size(out, ino, self.size, self.version);
        }
    }

    pub fn stat(&self) -> Stat {
        Stat {
            kind: self.kind,
            size: self.size,
            mode: self.mode,
            version: self.version,
        }
    }
}
