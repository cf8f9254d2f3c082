//! All metadata, in memory: the per-vNode namespaces and the inode table. Every change goes
//! through [`Meta::apply`] with a [`Record`], both live (the record is then appended to the
//! journal) and when mounting (replaying the checkpoint and the journal), so replay cannot drift
//! from what the live code did. `apply` validates each record against the current state and
//! rejects impossible ones as [`Corruption::Metadata`](crate::Corruption::Metadata).

use alloc::vec::Vec;
use core::ops::Range;

use crate::codec::Reader;
use crate::device::BLOCK_SIZE;
use crate::error::{BAD_META, Result};
use crate::extent::{ExtentMap, Freed};
use crate::inode::{FileKind, Inode};
use crate::namespace::{HashMap, Namespace};
use crate::path;
use crate::record::Record;

const BS: u64 = BLOCK_SIZE as u64;

#[derive(Debug)]
pub(crate) struct Meta {
    vnodes: HashMap<u32, Namespace>,
    inodes: HashMap<u64, Inode>,
    /// Next inode number to hand out (inode numbers are never reused).
    pub next_ino: u64,
    /// Highest modification counter handed out.
    pub version: u64,
    /// Exact size of a checkpoint of this state, kept up to date by `apply`.
    bytes: u64,
    max_file_size: u64,
    data: Range<u64>,
}

impl Meta {
    pub fn new(max_file_size: u64, data: Range<u64>) -> Self {
        Meta {
            vnodes: HashMap::default(),
            inodes: HashMap::default(),
            next_ino: 1,
            version: 0,
            bytes: 0,
            max_file_size,
            data,
        }
    }

    /// Size in bytes of a checkpoint of the current state.
    pub fn ckpt_bytes(&self) -> u64 {
        self.bytes
    }

    pub fn ns(&self, vnode: u32) -> Option<&Namespace> {
        self.vnodes.get(&vnode)
    }

    pub fn inode(&self, ino: u64) -> Option<&Inode> {
        self.inodes.get(&ino)
    }

    pub fn inodes(&self) -> impl Iterator<Item = (u64, &Inode)> {
        self.inodes.iter().map(|(i, n)| (*i, n))
    }

    /// The inode named `path` in `vnode` (never the root, which has no inode).
    pub fn lookup(&self, vnode: u32, path: &str) -> Option<(u64, &Inode)> {
        let ino = self.vnodes.get(&vnode)?.get(path)?;
        Some((ino, self.inodes.get(&ino)?))
    }

    /// Applies one record; disk blocks it unreferences are appended to `freed`.
    pub fn apply(&mut self, rec: &Record, freed: &mut Freed) -> Result<()> {
        match rec {
            Record::Create {
                ino,
                vnode,
                path,
                kind,
                mode,
                version,
            } => {
                if *ino == 0 || *ino == u64::MAX || self.inodes.contains_key(ino) {
                    return Err(BAD_META);
                }
                path::validate(path).map_err(|_| BAD_META)?;
                if path::is_root(path) {
                    return Err(BAD_META);
                }
                let ns = self.vnodes.entry(*vnode).or_default();
                if ns.contains(path) {
                    return Err(BAD_META);
                }
                ns.insert(path, *ino);
                let inode = Inode {
                    vnode: *vnode,
                    path: path.clone(),
                    kind: *kind,
                    mode: *mode,
                    size: 0,
                    version: *version,
                    extents: ExtentMap::default(),
                };
                self.bytes += inode.ckpt_size();
                self.inodes.insert(*ino, inode);
                self.next_ino = self.next_ino.max(ino.saturating_add(1));
                self.version = self.version.max(*version);
            }
            Record::Remove { ino } => {
                let inode = self.inodes.get(ino).ok_or(BAD_META)?;
                let ns = self.vnodes.get_mut(&inode.vnode).ok_or(BAD_META)?;
                if inode.kind == FileKind::Dir && ns.has_children(&inode.path) {
                    return Err(BAD_META);
                }
                ns.remove(&inode.path);
                if ns.is_empty() {
                    self.vnodes.remove(&inode.vnode);
                }
                let mut inode = self.inodes.remove(ino).ok_or(BAD_META)?;
                self.bytes -= inode.ckpt_size();
                inode.extents.truncate(0, freed);
            }
            Record::Rename { ino, path } => {
                path::validate(path).map_err(|_| BAD_META)?;
                let inode = self.inodes.get(ino).ok_or(BAD_META)?;
                let from = inode.path.clone();
                if path::is_root(path) || path::is_inside(path, &from) {
                    return Err(BAD_META);
                }
                let ns = self.vnodes.get_mut(&inode.vnode).ok_or(BAD_META)?;
                // A directory moves with everything below it (paths are keyed whole): all of
                // it is checked before anything changes, so a bad record changes nothing.
                let mut moved = match inode.kind {
                    FileKind::Dir => ns.descendants(&from),
                    FileKind::File => Vec::new(),
                };
                moved.push((from.clone(), *ino));
                let mut renamed = Vec::with_capacity(moved.len());
                for (old, i) in moved {
                    let new = path::rebase(&old, &from, path);
                    path::validate(&new).map_err(|_| BAD_META)?;
                    if ns.contains(&new) || !self.inodes.contains_key(&i) {
                        return Err(BAD_META);
                    }
                    renamed.push((old, new, i));
                }
                for (old, new, i) in renamed {
                    ns.remove(&old);
                    ns.insert(&new, i);
                    if let Some(n) = self.inodes.get_mut(&i) {
                        self.bytes = self.bytes - old.len() as u64 + new.len() as u64;
                        n.path = new;
                    }
                }
            }
            Record::SetSize { ino, size, version } => {
                let inode = self.inodes.get_mut(ino).ok_or(BAD_META)?;
                if inode.kind != FileKind::File || *size > self.max_file_size {
                    return Err(BAD_META);
                }
                let before = inode.ckpt_size();
                inode.extents.truncate(size.div_ceil(BS), freed);
                inode.size = *size;
                inode.version = *version;
                self.bytes = self.bytes - before + inode.ckpt_size();
                self.version = self.version.max(*version);
            }
            Record::Map {
                ino,
                fblk,
                disk,
                crcs,
            } => {
                let n = crcs.len() as u64;
                let inode = self.inodes.get_mut(ino).ok_or(BAD_META)?;
                let fits_file = fblk
                    .checked_add(n)
                    .is_some_and(|e| e <= self.max_file_size.div_ceil(BS));
                let fits_disk = *disk >= self.data.start
                    && disk.checked_add(n).is_some_and(|e| e <= self.data.end);
                if inode.kind != FileKind::File || n == 0 || !fits_file || !fits_disk {
                    return Err(BAD_META);
                }
                let before = inode.ckpt_size();
                inode.extents.map(*fblk, *disk, crcs, freed);
                self.bytes = self.bytes - before + inode.ckpt_size();
            }
        }
        Ok(())
    }

    /// Applies an encoded record stream (a checkpoint payload or a journal transaction).
    pub fn apply_stream(&mut self, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes);
        let mut freed = Freed::new();
        while !r.is_empty() {
            let rec = Record::decode(&mut r)?;
            self.apply(&rec, &mut freed)?;
            freed.clear();
        }
        Ok(())
    }

    /// Whole-state checks that single records cannot make: every parent exists and is a
    /// directory, and no file maps blocks past its size.
    pub fn validate(&self) -> Result<()> {
        for inode in self.inodes.values() {
            let (parent, _) = path::split(&inode.path);
            if !path::is_root(parent) {
                match self.lookup(inode.vnode, parent) {
                    Some((_, p)) if p.kind == FileKind::Dir => {}
                    _ => return Err(BAD_META),
                }
            }
            if inode.extents.end() > inode.size.div_ceil(BS) {
                return Err(BAD_META);
            }
        }
        Ok(())
    }

    /// Appends the records that rebuild this state from nothing.
    pub fn encode_checkpoint(&self, out: &mut Vec<u8>) {
        for (ino, inode) in &self.inodes {
            inode.encode_checkpoint(*ino, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    fn create(ino: u64, path: &str, kind: FileKind) -> Record {
        Record::Create {
            ino,
            vnode: 1,
            path: String::from(path),
            kind,
            mode: 0,
            version: ino,
        }
    }

    fn meta() -> Meta {
        Meta::new(1 << 20, 100..200)
    }

    #[test]
    fn checkpoint_round_trip_and_size_accounting() {
        let mut m = meta();
        let mut f = Freed::new();
        m.apply(&create(1, "/d", FileKind::Dir), &mut f).unwrap();
        m.apply(&create(2, "/d/f", FileKind::File), &mut f).unwrap();
        let map = |fblk, disk| Record::Map {
            ino: 2,
            fblk,
            disk,
            crcs: vec![1, 2, 3],
        };
        m.apply(&map(0, 100), &mut f).unwrap();
        m.apply(&map(10, 150), &mut f).unwrap();
        m.apply(
            &Record::SetSize {
                ino: 2,
                size: 13 * 4096 - 5,
                version: 7,
            },
            &mut f,
        )
        .unwrap();
        let mut out = Vec::new();
        m.encode_checkpoint(&mut out);
        assert_eq!(out.len() as u64, m.ckpt_bytes());
        let mut m2 = meta();
        m2.apply_stream(&out).unwrap();
        m2.validate().unwrap();
        assert_eq!(m2.ckpt_bytes(), m.ckpt_bytes());
        let (_, f2) = m2.lookup(1, "/d/f").unwrap();
        assert_eq!(f2.size, 13 * 4096 - 5);
        assert_eq!(f2.extents, m.lookup(1, "/d/f").unwrap().1.extents);
        assert_eq!(m2.next_ino, 3);
        assert_eq!(m2.version, 7);
    }

    #[test]
    fn impossible_records_are_rejected() {
        let mut m = meta();
        let mut f = Freed::new();
        m.apply(&create(1, "/d", FileKind::Dir), &mut f).unwrap();
        m.apply(&create(2, "/d/f", FileKind::File), &mut f).unwrap();
        let bad = [
            create(1, "/x", FileKind::File),  // duplicate inode number
            create(3, "/d", FileKind::File),  // duplicate name
            create(3, "/", FileKind::Dir),    // the root has no inode
            create(3, "d/x", FileKind::File), // invalid path
            create(0, "/y", FileKind::File),  // reserved inode number
            Record::Remove { ino: 1 },        // non-empty directory
            Record::Remove { ino: 9 },        // unknown inode
            Record::Rename {
                ino: 1,
                path: "/d/e".into(),
            }, // a directory into itself
            Record::Rename {
                ino: 2,
                path: "/d".into(),
            }, // target exists
            Record::SetSize {
                ino: 1,
                size: 0,
                version: 0,
            }, // not a file
            Record::SetSize {
                ino: 2,
                size: (1 << 20) + 1,
                version: 0,
            }, // too large
            Record::Map {
                ino: 2,
                fblk: 0,
                disk: 99,
                crcs: vec![0],
            }, // outside the data area
            Record::Map {
                ino: 2,
                fblk: 0,
                disk: 199,
                crcs: vec![0, 0],
            }, // runs off the data area
            Record::Map {
                ino: 2,
                fblk: 256,
                disk: 100,
                crcs: vec![0],
            }, // past the maximum file size
            Record::Map {
                ino: 2,
                fblk: u64::MAX,
                disk: 100,
                crcs: vec![0],
            }, // overflow
            Record::Map {
                ino: 2,
                fblk: 0,
                disk: 100,
                crcs: vec![],
            }, // empty
        ];
        for rec in bad {
            assert_eq!(m.apply(&rec, &mut f), Err(BAD_META), "{rec:?}");
        }
    }

    #[test]
    fn a_directory_moves_with_its_subtree() {
        let mut m = meta();
        let mut f = Freed::new();
        m.apply(&create(1, "/d", FileKind::Dir), &mut f).unwrap();
        m.apply(&create(2, "/d/e", FileKind::Dir), &mut f).unwrap();
        m.apply(&create(3, "/d/e/f", FileKind::File), &mut f)
            .unwrap();
        m.apply(&create(4, "/dx", FileKind::File), &mut f).unwrap();
        let before = m.ckpt_bytes();
        let mv = Record::Rename {
            ino: 1,
            path: "/q/r".into(),
        };
        // The new parent is not checked here (operations check it); the subtree moves.
        m.apply(&create(5, "/q", FileKind::Dir), &mut f).unwrap();
        let with_q = m.ckpt_bytes();
        assert!(with_q > before);
        m.apply(&mv, &mut f).unwrap();
        for (p, ino) in [("/q/r", 1), ("/q/r/e", 2), ("/q/r/e/f", 3), ("/dx", 4)] {
            assert_eq!(
                m.lookup(1, p).map(|(i, n)| (i, n.path.as_str())),
                Some((ino, p))
            );
        }
        assert!(m.lookup(1, "/d").is_none() && m.lookup(1, "/d/e/f").is_none());
        assert_eq!(
            m.ckpt_bytes(),
            with_q + 3 * 2,
            "three paths, each 2 bytes longer"
        );
        assert_eq!(m.validate(), Ok(()));
        // A clash anywhere in the subtree rejects the whole record and changes nothing.
        m.apply(&create(6, "/z", FileKind::Dir), &mut f).unwrap();
        m.apply(&create(7, "/z/e", FileKind::File), &mut f).unwrap();
        let bytes = m.ckpt_bytes();
        let clash = Record::Rename {
            ino: 1,
            path: "/z/e".into(),
        };
        assert_eq!(m.apply(&clash, &mut f), Err(BAD_META));
        assert_eq!(m.ckpt_bytes(), bytes);
        assert!(m.lookup(1, "/q/r/e/f").is_some());
    }

    #[test]
    fn validate_catches_dangling_parents_and_blocks_past_eof() {
        let mut m = meta();
        let mut f = Freed::new();
        m.apply(&create(2, "/nope/f", FileKind::File), &mut f)
            .unwrap();
        assert_eq!(m.validate(), Err(BAD_META));
        let mut m = meta();
        m.apply(&create(2, "/f", FileKind::File), &mut f).unwrap();
        m.apply(
            &Record::Map {
                ino: 2,
                fblk: 0,
                disk: 100,
                crcs: vec![0],
            },
            &mut f,
        )
        .unwrap();
        assert_eq!(m.validate(), Err(BAD_META), "block mapped past size 0");
    }
}
