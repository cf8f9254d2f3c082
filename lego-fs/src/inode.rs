//! Inodes: what a path names. Files own an extent map; directories their entries (inode
//! numbers, sorted by name).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Result;
use crate::extent::ExtentMap;
use crate::mem::heap;
use crate::namespace::Children;
use crate::path;
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

/// What an inode holds besides its attributes.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// A regular file's block map.
    File(ExtentMap),
    /// A directory's entries.
    Dir(Children),
}

#[derive(Debug, Clone)]
pub(crate) struct Inode {
    pub vnode: u32,
    pub mode: u32,
    pub size: u64,
    pub version: u64,
    /// The full path: the only copy (the name table and the child index refer to the inode).
    pub path: Box<str>,
    pub body: Body,
}

impl Inode {
    pub fn kind(&self) -> FileKind {
        match self.body {
            Body::File(_) => FileKind::File,
            Body::Dir(_) => FileKind::Dir,
        }
    }

    /// The last path component.
    pub fn name(&self) -> &str {
        path::split(&self.path).1
    }

    pub fn extents(&self) -> Option<&ExtentMap> {
        match &self.body {
            Body::File(e) => Some(e),
            Body::Dir(_) => None,
        }
    }

    /// Bytes this inode occupies in a checkpoint (see [`Inode::encode_checkpoint`]).
    pub fn ckpt_size(&self) -> u64 {
        let mut n = CREATE_FIXED + self.path.len() as u64;
        if let Body::File(e) = &self.body {
            n += SET_SIZE_LEN + e.extents() * MAP_FIXED + e.blocks() * 4;
        }
        n
    }

    /// Heap bytes this inode holds (its box, its path, its block map or entries).
    pub fn mem(&self) -> u64 {
        heap(size_of::<Inode>() as u64)
            + heap(self.path.len() as u64)
            + match &self.body {
                Body::File(e) => e.mem(),
                Body::Dir(c) => c.mem(),
            }
    }

    /// Feeds the records that recreate this inode to `out`, one at a time (`scratch` holds
    /// each; a record is at most a 4 KiB path or one extent's 1024 checksums).
    pub fn encode_checkpoint(
        &self,
        ino: u64,
        scratch: &mut Vec<u8>,
        out: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        scratch.clear();
        encode_create(
            scratch,
            ino,
            self.vnode,
            &self.path,
            self.kind(),
            self.mode,
            self.version,
        );
        out(scratch)?;
        if let Body::File(ext) = &self.body {
            for (fblk, e) in ext.iter() {
                scratch.clear();
                encode_map(scratch, ino, fblk, e.disk, &e.crcs);
                out(scratch)?;
            }
            scratch.clear();
            encode_set_size(scratch, ino, self.size, self.version);
            out(scratch)?;
        }
        Ok(())
    }

    pub fn stat(&self) -> Stat {
        Stat {
            kind: self.kind(),
            size: self.size,
            mode: self.mode,
            version: self.version,
        }
    }
}
