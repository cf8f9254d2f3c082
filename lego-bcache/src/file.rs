//! Per-file state and the table of files, keyed by (vNode, path).
//!
//! States live in a slab addressed by a `u32` file id (what page slots store instead of the
//! path); ids of dropped files are reused. The key index is a `HashTable<u32>` of ids hashed
//! by (vnode, path), so the path is stored once. A state is 88 bytes plus the path.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::backend::FileKey;
use crate::readahead::Readahead;
use crate::slots::NIL;

/// What the cache knows about one file.
/// A write-back error kept on its file until an fsync reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The backend refused the write-back for good ([`crate::Backend::error_code`]).
    Backend(u32),
    /// Data written back was lost: the storage restarted before it was fsynced.
    Lost,
}

#[derive(Debug)]
pub(crate) struct FileState {
    pub(crate) vnode: u32,
    /// Index of the file's storage component in the cache's table.
    pub(crate) store: u16,
    pub(crate) path: Box<str>,
    /// The file's size as clients see it: the backend's, raised by cached writes.
    pub(crate) size: u64,
    /// The backend's size as far as the cache knows (≤ `size`): pages wholly beyond it are
    /// zeros and need no backend read.
    pub(crate) disk_size: u64,
    /// Head of the file's page list (see `slots.rs`).
    pub(crate) head: u32,
    /// Pages cached.
    pub(crate) pages: u32,
    /// Pages cached and dirty.
    pub(crate) dirty: u32,
    /// Pages written back since its last fsync (write-behind fsyncs it every so often).
    pub(crate) since_sync: u32,
    pub(crate) ra: Readahead,
    /// A write-back error not reported yet.
    pub(crate) fault: Option<Fault>,
    /// When it was recorded (`Stats::file_errors` then): the oldest are forgotten first.
    pub(crate) fault_seq: u32,
    /// Written back or truncated at the backend since the last successful fsync.
    pub(crate) unsynced: bool,
    /// The sizes must be fetched again before use (after `drop_all`).
    pub(crate) stale: bool,
    /// Counted in `Files::idle`: no pages, kept only to be fsynced or to report an error.
    pub(crate) idle: bool,
    live: bool,
}

/// Whether `k` is `dir` or lies below it (same vNode, path under `dir/`).
pub(crate) fn below(k: FileKey<'_>, dir: FileKey<'_>) -> bool {
    if k.vnode != dir.vnode {
        return false;
    }
    match k.path.strip_prefix(dir.path) {
        Some("") => true,
        Some(rest) => rest.starts_with('/') || dir.path.ends_with('/'),
        None => false,
    }
}

#[derive(Default)]
pub(crate) struct Files {
    slab: Vec<FileState>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    live: usize,
    idle: usize,
}

fn key_hash(hasher: &DefaultHashBuilder, vnode: u32, path: &str) -> u64 {
    hasher.hash_one((vnode, path))
}

impl Files {
    pub(crate) fn find(&self, f: FileKey<'_>) -> Option<u32> {
        let slab = &self.slab;
        self.index
            .find(key_hash(&self.hasher, f.vnode, f.path), |&id| {
                let st = &slab[id as usize];
                st.vnode == f.vnode && *st.path == *f.path
            })
            .copied()
    }

    /// Adds the state of `f` (not in the table), on storage `store`, with both sizes `size`.
    pub(crate) fn insert(&mut self, f: FileKey<'_>, store: u16, size: u64) -> u32 {
        let st = FileState {
            vnode: f.vnode,
            store,
            path: Box::from(f.path),
            size,
            disk_size: size,
            head: NIL,
            pages: 0,
            dirty: 0,
            since_sync: 0,
            ra: Readahead::default(),
            fault: None,
            fault_seq: 0,
            unsynced: false,
            stale: false,
            idle: false,
            live: true,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slab[id as usize] = st;
                id
            }
            None => {
                self.slab.push(st);
                (self.slab.len() - 1) as u32
            }
        };
        let (slab, hasher) = (&self.slab, &self.hasher);
        self.index
            .insert_unique(key_hash(hasher, f.vnode, f.path), id, |&x| {
                let st = &slab[x as usize];
                key_hash(hasher, st.vnode, &st.path)
            });
        self.live += 1;
        id
    }

    /// Drops a file's state (its pages must be gone).
    pub(crate) fn remove(&mut self, id: u32) {
        if !self.is_live(id) {
            return;
        }
        let st = &self.slab[id as usize];
        if let Ok(e) = self
            .index
            .find_entry(key_hash(&self.hasher, st.vnode, &st.path), |&x| x == id)
        {
            e.remove();
        }
        let st = &mut self.slab[id as usize];
        if st.idle {
            self.idle -= 1;
        }
        st.live = false;
        st.idle = false;
        st.path = Box::default();
        self.live -= 1;
        self.free.push(id);
    }

    pub(crate) fn is_live(&self, id: u32) -> bool {
        self.slab.get(id as usize).is_some_and(|st| st.live)
    }

    pub(crate) fn get(&self, id: u32) -> &FileState {
        &self.slab[id as usize]
    }

    pub(crate) fn get_mut(&mut self, id: u32) -> &mut FileState {
        &mut self.slab[id as usize]
    }

    pub(crate) fn key(&self, id: u32) -> FileKey<'_> {
        let st = &self.slab[id as usize];
        FileKey {
            vnode: st.vnode,
            path: &st.path,
        }
    }

    /// Ids of all live files.
    pub(crate) fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.slab.len() as u32).filter(|&id| self.slab[id as usize].live)
    }

    pub(crate) fn set_idle(&mut self, id: u32, idle: bool) {
        let st = &mut self.slab[id as usize];
        if st.live && st.idle != idle {
            st.idle = idle;
            if idle {
                self.idle += 1;
            } else {
                self.idle -= 1;
            }
        }
    }

    pub(crate) fn live(&self) -> usize {
        self.live
    }

    pub(crate) fn idle(&self) -> usize {
        self.idle
    }

    pub(crate) fn verify(&self) -> Result<(), &'static str> {
        let mut live = 0;
        let mut idle = 0;
        for (id, st) in self.slab.iter().enumerate() {
            if !st.live {
                continue;
            }
            live += 1;
            idle += usize::from(st.idle);
            let key = FileKey {
                vnode: st.vnode,
                path: &st.path,
            };
            if self.find(key) != Some(id as u32) {
                return Err("file not indexed");
            }
        }
        if live != self.live || idle != self.idle || self.index.len() != live {
            return Err("file counts");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_size() {
        // The figure quoted in the crate docs.
        assert!(
            core::mem::size_of::<FileState>() <= 88,
            "{}",
            core::mem::size_of::<FileState>()
        );
    }

    #[test]
    fn same_path_other_vnode_is_another_file() {
        let mut f = Files::default();
        let a = f.insert(
            FileKey {
                vnode: 1,
                path: "/x",
            },
            0,
            1,
        );
        let b = f.insert(
            FileKey {
                vnode: 2,
                path: "/x",
            },
            0,
            2,
        );
        assert_ne!(a, b);
        assert_eq!(
            f.find(FileKey {
                vnode: 2,
                path: "/x"
            }),
            Some(b)
        );
        f.remove(a);
        assert_eq!(
            f.find(FileKey {
                vnode: 1,
                path: "/x"
            }),
            None
        );
        let c = f.insert(
            FileKey {
                vnode: 1,
                path: "/y",
            },
            0,
            3,
        );
        assert_eq!(c, a, "ids are reused");
        f.verify().unwrap();
        assert_eq!(f.live(), 2);
    }
}
