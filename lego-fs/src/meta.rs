//! All metadata, in memory: the inode table, the name table (full path → inode, one table for
//! every vNode) and each directory's entries. Every change goes through [`Meta::apply`] with a
//! [`Record`], both live (the record is then appended to the journal) and when mounting
//! (replaying the checkpoint and the journal), so replay cannot drift from what the live code
//! did. `apply` validates each record against the current state and rejects impossible ones as
//! [`Corruption::Metadata`](crate::Corruption::Metadata), and refuses one that would take the
//! metadata past its memory limit with [`FsError::NoSpace`] (so a mount of damaged or too large
//! metadata fails instead of exhausting the heap).
//!
//! Each path is stored once, in its inode: the name table holds inode numbers (hashed by vNode
//! and path, compared through the inode), a directory's entries are inode numbers sorted by
//! name. [`Meta::mem`] bounds what all of it holds on the heap (see `mem`).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use hashbrown::HashTable;

use crate::device::BLOCK_SIZE;
use crate::error::{BAD_META, FsError, Result};
use crate::extent::{ExtentMap, Release, WINDOW};
use crate::inode::{Body, FileKind, Inode};
use crate::mem::{btree_bytes, heap, table_growth};
use crate::namespace::{Children, HashMap, path_hash};
use crate::path;
use crate::record::Record;

const BS: u64 = BLOCK_SIZE as u64;
/// Bytes of one item of each table (what `hashbrown` stores per bucket).
const INODE_ITEM: u64 = 16;
const NAME_ITEM: u64 = 8;
const ROOT_ITEM: u64 = 32;

/// A table's heap bytes.
fn table_mem(alloc: usize) -> u64 {
    heap(alloc as u64)
}

/// Bound on the allocator's free-extent tree once rebuilt from `extents` extents (the gaps
/// between them), charged to the metadata so that a mount always has room for it.
pub(crate) fn free_tree_bound(extents: u64) -> u64 {
    btree_bytes(extents + 1, 8, 8)
}

#[derive(Debug)]
pub(crate) struct Meta {
    inodes: HashMap<u64, Box<Inode>>,
    /// `path_hash(vnode, path)` → inode number.
    names: HashTable<u64>,
    /// Each vNode's root directory entries (vNodes with an empty root have none).
    roots: HashMap<u32, Children>,
    /// Inodes created before their parent (checkpoints written before they were in tree
    /// order): linked into their parents by [`Meta::link_orphans`].
    orphans: Vec<u64>,
    /// Next inode number to hand out (inode numbers are never reused).
    pub next_ino: u64,
    /// Highest modification counter handed out.
    pub version: u64,
    /// Exact size of a checkpoint of this state, kept up to date by `apply`.
    bytes: u64,
    /// Heap bytes of the inodes (`Inode::mem`) and the roots' entries.
    items: u64,
    /// Extents of all files.
    extents: u64,
    max_file_size: u64,
    data: Range<u64>,
    /// Heap bytes [`Meta::mem`] may reach: `apply` refuses records past it.
    pub limit: u64,
}

impl Meta {
    pub fn new(max_file_size: u64, data: Range<u64>, limit: u64) -> Self {
        Meta {
            inodes: HashMap::default(),
            names: HashTable::new(),
            roots: HashMap::default(),
            orphans: Vec::new(),
            next_ino: 1,
            version: 0,
            bytes: 0,
            items: 0,
            extents: 0,
            max_file_size,
            data,
            limit,
        }
    }

    /// Size in bytes of a checkpoint of the current state.
    pub fn ckpt_bytes(&self) -> u64 {
        self.bytes
    }

    /// Number of inodes.
    pub fn inode_count(&self) -> u64 {
        self.inodes.len() as u64
    }

    /// Extents of all files.
    pub fn extent_count(&self) -> u64 {
        self.extents
    }

    /// Heap bytes held at most, including the allocator's free-extent tree as a mount rebuilds
    /// it ([`free_tree_bound`]).
    pub fn mem(&self) -> u64 {
        self.items
            + table_mem(self.inodes.allocation_size())
            + table_mem(self.names.allocation_size())
            + table_mem(self.roots.allocation_size())
            + heap(8 * self.orphans.capacity() as u64)
            + free_tree_bound(self.extents)
    }

    pub fn inode(&self, ino: u64) -> Option<&Inode> {
        self.inodes.get(&ino).map(|b| &**b)
    }

    pub fn inodes(&self) -> impl Iterator<Item = (u64, &Inode)> {
        self.inodes.iter().map(|(i, n)| (*i, &**n))
    }

    /// The inode number of `path` in `vnode` (never the root, which has no inode).
    fn find(&self, vnode: u32, path: &str) -> Option<u64> {
        let inodes = &self.inodes;
        self.names
            .find(path_hash(vnode, path), |i| {
                inodes
                    .get(i)
                    .is_some_and(|n| n.vnode == vnode && *n.path == *path)
            })
            .copied()
    }

    /// The inode named `path` in `vnode` (never the root, which has no inode).
    pub fn lookup(&self, vnode: u32, path: &str) -> Option<(u64, &Inode)> {
        let ino = self.find(vnode, path)?;
        Some((ino, self.inode(ino)?))
    }

    /// The entries of directory `dir` of `vnode` (`None`: no such directory; the root always
    /// exists).
    pub fn children(&self, vnode: u32, dir: &str) -> Option<&[u64]> {
        if path::is_root(dir) {
            return Some(self.roots.get(&vnode).map_or(&[], Children::as_slice));
        }
        match &self.lookup(vnode, dir)?.1.body {
            Body::Dir(c) => Some(c.as_slice()),
            Body::File(_) => None,
        }
    }

    pub fn has_children(&self, vnode: u32, dir: &str) -> bool {
        self.children(vnode, dir).is_some_and(|c| !c.is_empty())
    }

    /// Visits every inode below the entries `top`, each directory before its entries. Memory:
    /// a stack as deep as the tree (at most `MAX_PATH / 2`).
    fn walk<'a>(
        &'a self,
        top: &'a [u64],
        mut f: impl FnMut(u64, &'a Inode) -> Result<()>,
    ) -> Result<()> {
        // As deep as paths go, allocated once (its size is part of `mem::WORKING`).
        let mut stack: Vec<(&[u64], usize)> = Vec::with_capacity(path::MAX_PATH / 2 + 1);
        stack.push((top, 0));
        while let Some((list, i)) = stack.last_mut() {
            let Some(&ino) = list.get(*i) else {
                stack.pop();
                continue;
            };
            *i += 1;
            let inode = self.inode(ino).ok_or(BAD_META)?;
            f(ino, inode)?;
            if let Body::Dir(c) = &inode.body
                && !c.is_empty()
            {
                stack.push((c.as_slice(), 0));
            }
        }
        Ok(())
    }

    /// What renaming directory `ino` (a path of `from` bytes) to a path of `to` bytes does to
    /// everything below it: how many inodes move, the longest new path, and how many heap
    /// bytes their new paths add.
    pub fn subtree_move(&self, ino: u64, from: u64, to: u64) -> Result<SubtreeMove> {
        let mut m = SubtreeMove::default();
        let Some(Body::Dir(c)) = self.inode(ino).map(|n| &n.body) else {
            return Ok(m);
        };
        self.walk(c.as_slice(), |_, n| {
            let old = n.path.len() as u64;
            let new = old - from + to;
            m.count += 1;
            m.longest = m.longest.max(new);
            m.grow += heap(new).saturating_sub(heap(old));
            Ok(())
        })?;
        Ok(m)
    }

    /// Heap bytes creating `path` in `vnode` adds at most, transients included.
    pub fn create_cost(&self, vnode: u32, path: &str) -> u64 {
        let (parent, _) = path::split(path);
        let parent_growth = if path::is_root(parent) {
            match self.roots.get(&vnode) {
                Some(c) => c.growth(),
                None => {
                    Children::default().growth()
                        + table_growth(
                            self.roots.allocation_size() as u64,
                            self.roots.len() as u64,
                            self.roots.capacity() as u64,
                            1,
                            ROOT_ITEM,
                        )
                }
            }
        } else {
            match self.lookup(vnode, parent).map(|(_, n)| &n.body) {
                Some(Body::Dir(c)) => c.growth(),
                // Not linked yet (mount): the orphan list may double.
                _ => heap(8 * (2 * self.orphans.capacity() as u64).max(4)),
            }
        };
        heap(size_of::<Inode>() as u64)
            + heap(path.len() as u64)
            + parent_growth
            + table_growth(
                self.inodes.allocation_size() as u64,
                self.inodes.len() as u64,
                self.inodes.capacity() as u64,
                1,
                INODE_ITEM,
            )
            + table_growth(
                self.names.allocation_size() as u64,
                self.names.len() as u64,
                self.names.capacity() as u64,
                1,
                NAME_ITEM,
            )
    }

    /// Heap bytes mapping `blocks` blocks in `runs` runs into file `ino` adds at most.
    pub fn map_cost(&self, ino: u64, runs: u64, blocks: u64) -> u64 {
        // Each run may cross a window boundary, and one extent may be split.
        let extents = 2 * runs + 1;
        let ext = self
            .inode(ino)
            .and_then(Inode::extents)
            .map_or(0, |e| e.growth(extents, blocks));
        ext + free_tree_bound(self.extents + extents) - free_tree_bound(self.extents)
    }

    /// Heap bytes the name table may allocate while `n` of its entries are re-inserted.
    fn rename_table_cost(&self, n: u64) -> u64 {
        table_growth(
            self.names.allocation_size() as u64,
            self.names.len() as u64,
            self.names.capacity() as u64,
            n,
            NAME_ITEM,
        )
    }

    /// Fails with `NoSpace` unless `more` heap bytes fit under the limit.
    fn room(&self, more: u64) -> Result<()> {
        if self.mem().saturating_add(more) > self.limit {
            Err(FsError::NoSpace)
        } else {
            Ok(())
        }
    }

    /// The directory `path` is in (`None`: not there yet; a file is impossible metadata).
    fn parent_of(&self, vnode: u32, path: &str) -> Result<Option<Parent>> {
        let (parent, _) = path::split(path);
        if path::is_root(parent) {
            return Ok(Some(Parent::Root(vnode)));
        }
        let Some((pino, p)) = self.lookup(vnode, parent) else {
            return Ok(None);
        };
        match p.body {
            Body::Dir(_) => Ok(Some(Parent::Dir(pino))),
            Body::File(_) => Err(BAD_META),
        }
    }

    /// Runs `f` on the entries of directory `p` (with the inode table, for the names),
    /// keeping the memory count; a root left empty is dropped.
    fn with_entries<R>(
        &mut self,
        p: Parent,
        f: impl FnOnce(&mut Children, &HashMap<u64, Box<Inode>>) -> R,
    ) -> Result<R> {
        let slot = match p {
            Parent::Root(v) => self.roots.entry(v).or_default(),
            Parent::Dir(i) => match self.inodes.get_mut(&i).map(|n| &mut n.body) {
                Some(Body::Dir(c)) => c,
                _ => return Err(BAD_META),
            },
        };
        let mut c = core::mem::take(slot);
        let before = c.mem();
        let r = f(&mut c, &self.inodes);
        self.items = self.items - before + c.mem();
        match p {
            Parent::Root(v) if c.is_empty() => {
                self.items -= c.mem();
                self.roots.remove(&v);
            }
            Parent::Root(v) => {
                if let Some(slot) = self.roots.get_mut(&v) {
                    *slot = c;
                }
            }
            Parent::Dir(i) => {
                if let Some(Body::Dir(slot)) = self.inodes.get_mut(&i).map(|n| &mut n.body) {
                    *slot = c;
                }
            }
        }
        Ok(r)
    }

    /// Adds `ino` to its parent's entries, or to the orphans if the parent is not there yet.
    fn link(&mut self, ino: u64) -> Result<()> {
        let (vnode, path) = {
            let n = self.inode(ino).ok_or(BAD_META)?;
            (n.vnode, String::from(&*n.path))
        };
        let Some(p) = self.parent_of(vnode, &path)? else {
            self.orphans.push(ino);
            return Ok(());
        };
        let name = path::split(&path).1;
        self.with_entries(p, |c, inodes| {
            let at = c
                .position(name, |i| inodes.get(&i).map_or("", |n| n.name()))
                .err()
                .ok_or(BAD_META)?;
            c.insert(at, ino);
            Ok(())
        })?
    }

    /// Removes `ino` (named `path`) from its parent's entries (or the orphans).
    fn unlink(&mut self, ino: u64, vnode: u32, path: &str) -> Result<()> {
        if let Some(at) = self.orphans.iter().position(|&o| o == ino) {
            self.orphans.swap_remove(at);
            return Ok(());
        }
        let p = self.parent_of(vnode, path)?.ok_or(BAD_META)?;
        let name = path::split(path).1;
        self.with_entries(p, |c, inodes| {
            match c.position(name, |i| inodes.get(&i).map_or("", |n| n.name())) {
                Ok(at) if c.as_slice()[at] == ino => {
                    c.remove(at);
                    Ok(())
                }
                _ => Err(BAD_META),
            }
        })?
    }

    /// Links the orphans into their parents, which must all exist now.
    pub fn link_orphans(&mut self) -> Result<()> {
        let orphans = core::mem::take(&mut self.orphans);
        for &ino in &orphans {
            let n = self.inode(ino).ok_or(BAD_META)?;
            let c = match self.parent_of(n.vnode, &n.path)? {
                Some(Parent::Dir(p)) => match &self.inode(p).ok_or(BAD_META)?.body {
                    Body::Dir(c) => c.growth(),
                    Body::File(_) => return Err(BAD_META),
                },
                Some(Parent::Root(v)) => self.roots.get(&v).map_or(heap(64), Children::growth),
                None => return Err(BAD_META),
            };
            self.room(c)?;
            self.link(ino)?;
            if !self.orphans.is_empty() {
                return Err(BAD_META);
            }
        }
        Ok(())
    }

    /// Inserts `ino` (already in the inode table) into the name table.
    fn name_insert(&mut self, ino: u64) -> Result<()> {
        let n = self.inodes.get(&ino).ok_or(BAD_META)?;
        let hash = path_hash(n.vnode, &n.path);
        let inodes = &self.inodes;
        self.names.insert_unique(hash, ino, |i| {
            inodes.get(i).map_or(0, |n| path_hash(n.vnode, &n.path))
        });
        Ok(())
    }

    /// Removes `ino` (still in the inode table) from the name table.
    fn name_remove(&mut self, ino: u64) -> Result<()> {
        let n = self.inodes.get(&ino).ok_or(BAD_META)?;
        match self
            .names
            .find_entry(path_hash(n.vnode, &n.path), |i| *i == ino)
        {
            Ok(e) => {
                e.remove();
                Ok(())
            }
            Err(_) => Err(BAD_META),
        }
    }

    /// Applies one record; disk blocks it unreferences go to `freed`.
    pub fn apply(&mut self, rec: &Record, freed: Release<'_>) -> Result<()> {
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
                if path::is_root(path) || self.find(*vnode, path).is_some() {
                    return Err(BAD_META);
                }
                self.parent_of(*vnode, path)?;
                self.room(self.create_cost(*vnode, path))?;
                let inode = Box::new(Inode {
                    vnode: *vnode,
                    path: path.as_str().into(),
                    mode: *mode,
                    size: 0,
                    version: *version,
                    body: match kind {
                        FileKind::File => Body::File(ExtentMap::default()),
                        FileKind::Dir => Body::Dir(Children::default()),
                    },
                });
                self.bytes += inode.ckpt_size();
                self.items += inode.mem();
                self.inodes.insert(*ino, inode);
                self.name_insert(*ino)?;
                self.link(*ino)?;
                self.next_ino = self.next_ino.max(ino.saturating_add(1));
                self.version = self.version.max(*version);
            }
            Record::Remove { ino } => {
                let n = self.inode(*ino).ok_or(BAD_META)?;
                if matches!(&n.body, Body::Dir(c) if !c.is_empty()) {
                    return Err(BAD_META);
                }
                let (vnode, path) = (n.vnode, String::from(&*n.path));
                self.unlink(*ino, vnode, &path)?;
                self.name_remove(*ino)?;
                let mut inode = self.inodes.remove(ino).ok_or(BAD_META)?;
                self.bytes -= inode.ckpt_size();
                self.items -= inode.mem();
                if let Body::File(e) = &mut inode.body {
                    self.extents -= e.extents();
                    e.truncate(0, freed);
                }
            }
            Record::Rename { ino, path: to } => self.rename(*ino, to)?,
            Record::SetSize { ino, size, version } => {
                let inode = self.inodes.get_mut(ino).ok_or(BAD_META)?;
                if *size > self.max_file_size {
                    return Err(BAD_META);
                }
                let (before, mem) = (inode.ckpt_size(), inode.mem());
                let Body::File(e) = &mut inode.body else {
                    return Err(BAD_META);
                };
                let extents = e.extents();
                e.truncate(size.div_ceil(BS), freed);
                self.extents = self.extents - extents + e.extents();
                inode.size = *size;
                inode.version = *version;
                self.bytes = self.bytes - before + inode.ckpt_size();
                self.items = self.items - mem + inode.mem();
                self.version = self.version.max(*version);
            }
            Record::Map {
                ino,
                fblk,
                disk,
                crcs,
            } => {
                let n = crcs.len() as u64;
                let fits_file = fblk
                    .checked_add(n)
                    .is_some_and(|e| e <= self.max_file_size.div_ceil(BS));
                let fits_disk = *disk >= self.data.start
                    && disk.checked_add(n).is_some_and(|e| e <= self.data.end);
                let is_file = self.inode(*ino).and_then(Inode::extents).is_some();
                if !is_file || n == 0 || !fits_file || !fits_disk {
                    return Err(BAD_META);
                }
                self.room(self.map_cost(*ino, n.div_ceil(WINDOW), n))?;
                let inode = self.inodes.get_mut(ino).ok_or(BAD_META)?;
                let (before, mem) = (inode.ckpt_size(), inode.mem());
                let Body::File(e) = &mut inode.body else {
                    return Err(BAD_META);
                };
                let extents = e.extents();
                e.map(*fblk, *disk, crcs, freed);
                self.extents = self.extents - extents + e.extents();
                self.bytes = self.bytes - before + inode.ckpt_size();
                self.items = self.items - mem + inode.mem();
            }
        }
        Ok(())
    }

    /// Heap bytes renaming `ino` to `to` adds at most (the new paths of everything that
    /// moves, the list of what moves, re-inserting their names, the new parent's entries), and
    /// what moves below it.
    pub fn rename_cost(&self, ino: u64, to: &str) -> Result<(u64, SubtreeMove)> {
        let n = self.inode(ino).ok_or(BAD_META)?;
        let (from_len, to_len) = (n.path.len() as u64, to.len() as u64);
        let mv = self.subtree_move(ino, from_len, to_len)?;
        let parent = match self.parent_of(n.vnode, to)? {
            Some(Parent::Dir(p)) => match &self.inode(p).ok_or(BAD_META)?.body {
                Body::Dir(c) => c.growth(),
                Body::File(_) => 0,
            },
            Some(Parent::Root(v)) => match self.roots.get(&v) {
                Some(c) => c.growth(),
                None => {
                    Children::default().growth()
                        + table_growth(
                            self.roots.allocation_size() as u64,
                            self.roots.len() as u64,
                            self.roots.capacity() as u64,
                            1,
                            ROOT_ITEM,
                        )
                }
            },
            None => heap(8 * (2 * self.orphans.capacity() as u64).max(4)),
        };
        let cost = mv.grow
            + heap(to_len).saturating_sub(heap(from_len))
            + heap(to_len)
            + heap(8 * (mv.count + 1))
            + self.rename_table_cost(mv.count + 1)
            + parent;
        Ok((cost, mv))
    }

    /// Moves inode `ino` to path `to`; a directory moves with everything below it (paths are
    /// keyed whole). Everything is checked before anything changes, so a bad record changes
    /// nothing.
    fn rename(&mut self, ino: u64, to: &str) -> Result<()> {
        path::validate(to).map_err(|_| BAD_META)?;
        let n = self.inode(ino).ok_or(BAD_META)?;
        let (vnode, from) = (n.vnode, String::from(&*n.path));
        if path::is_root(to) || path::is_inside(to, &from) || self.find(vnode, to).is_some() {
            return Err(BAD_META);
        }
        let (cost, mv) = self.rename_cost(ino, to)?;
        if mv.longest > path::MAX_PATH as u64 {
            return Err(BAD_META);
        }
        self.room(cost)?;
        // No new path may be taken (a valid state has nothing below a path that is not there,
        // but damaged metadata may).
        let mut moved: Vec<u64> = Vec::new();
        moved.reserve_exact(mv.count as usize + 1);
        moved.push(ino);
        if let Some(Body::Dir(c)) = self.inode(ino).map(|n| &n.body) {
            let mut scratch = String::with_capacity(path::MAX_PATH);
            self.walk(c.as_slice(), |i, n| {
                scratch.clear();
                scratch.push_str(to);
                scratch.push_str(&n.path[from.len()..]);
                if self.find(vnode, &scratch).is_some() {
                    return Err(BAD_META);
                }
                moved.push(i);
                Ok(())
            })?;
        }
        self.unlink(ino, vnode, &from)?;
        for &i in &moved {
            self.name_remove(i)?;
            let n = self.inodes.get_mut(&i).ok_or(BAD_META)?;
            let new = path::rebase(&n.path, &from, to);
            self.items = self.items - heap(n.path.len() as u64) + heap(new.len() as u64);
            self.bytes = self.bytes - n.path.len() as u64 + new.len() as u64;
            n.path = new.into_boxed_str();
            self.name_insert(i)?;
        }
        self.link(ino)
    }

    /// Applies an encoded record stream (tests).
    #[cfg(test)]
    pub fn apply_stream(&mut self, bytes: &[u8]) -> Result<()> {
        let mut r = crate::codec::Reader::new(bytes);
        while !r.is_empty() {
            let rec = Record::decode(&mut r)?;
            self.apply(&rec, &mut |_, _| {})?;
        }
        Ok(())
    }

    /// Whole-state checks that single records cannot make: every parent exists and is a
    /// directory, and no file maps blocks past its size.
    pub fn validate(&mut self) -> Result<()> {
        self.link_orphans()?;
        for inode in self.inodes.values() {
            if let Body::File(e) = &inode.body
                && e.end() > inode.size.div_ceil(BS)
            {
                return Err(BAD_META);
            }
        }
        Ok(())
    }

    /// Feeds the records that rebuild this state from nothing to `out`, parents before their
    /// entries (so a mount never holds orphans).
    pub fn encode_checkpoint(&self, out: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        if !self.orphans.is_empty() {
            return Err(BAD_META);
        }
        let mut scratch = Vec::with_capacity(2 * BLOCK_SIZE);
        let mut count = 0u64;
        for root in self.roots.values() {
            self.walk(root.as_slice(), |ino, n| {
                count += 1;
                n.encode_checkpoint(ino, &mut scratch, out)
            })?;
        }
        if count != self.inodes.len() as u64 {
            return Err(BAD_META);
        }
        Ok(())
    }

    /// The whole checkpoint in one buffer (tests).
    #[cfg(test)]
    pub fn checkpoint_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_checkpoint(&mut |b| {
            out.extend_from_slice(b);
            Ok(())
        })
        .expect("a consistent state encodes");
        out
    }
}

/// An upper bound on the heap a stream of records needs once applied, without applying them
/// (what a mount that ran out of budget reports it needs). Removals are ignored: a bound.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Needs {
    inodes: u64,
    items: u64,
    extents: u64,
    /// The inode the last records were about, and how many map records it had.
    current: (u64, u64),
}

impl Needs {
    pub fn add(&mut self, rec: &Record) {
        match rec {
            Record::Create {
                ino, path, kind, ..
            } => {
                self.inodes += 1;
                // The inode, its path, its slot in its parent's entries (with their growth),
                // a directory's own entries' overhead.
                self.items += heap(size_of::<Inode>() as u64) + heap(path.len() as u64) + 12;
                if *kind == FileKind::Dir {
                    self.items += heap(32);
                }
                self.current = (*ino, 0);
            }
            Record::Rename { path, .. } => self.items += heap(path.len() as u64),
            Record::Map { ino, crcs, .. } => {
                let pieces = (crcs.len() as u64).div_ceil(WINDOW) + 1;
                self.extents += pieces;
                self.items +=
                    pieces * heap(4 * WINDOW.min(crcs.len() as u64)) + 4 * crcs.len() as u64;
                if self.current.0 != *ino {
                    self.current = (*ino, 0);
                }
                self.current.1 += 1;
                if self.current.1 == 2 {
                    // Its extents now need a tree: a root and an internal node.
                    self.items += btree_bytes(2, 8, 32) + heap(1024);
                }
            }
            Record::Remove { .. } | Record::SetSize { .. } => {}
        }
    }

    /// The bound, in bytes of structures.
    pub fn bytes(&self) -> u64 {
        let table = |n: u64, item: u64| {
            let b = crate::mem::buckets_for(n);
            // The table and the one it grew from.
            crate::mem::table_bytes(b, item) + crate::mem::table_bytes(b / 2, item)
        };
        let per_extent = btree_bytes(WINDOW, 8, 32) / WINDOW + 1;
        self.items
            + table(self.inodes, INODE_ITEM)
            + table(self.inodes, NAME_ITEM)
            + self.extents * per_extent
            + free_tree_bound(self.extents)
            + (64 << 10)
    }
}

/// A directory entries live in.
#[derive(Debug, Clone, Copy)]
enum Parent {
    Root(u32),
    Dir(u64),
}

/// What a directory rename does below the directory (see [`Meta::subtree_move`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubtreeMove {
    /// Inodes below it.
    pub count: u64,
    /// The longest of their new paths.
    pub longest: u64,
    /// Heap bytes their new paths add.
    pub grow: u64,
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
        Meta::new(1 << 20, 100..200, u64::MAX)
    }

    #[test]
    fn checkpoint_round_trip_and_size_accounting() {
        let mut m = meta();
        let mut f = |_: u64, _: u64| {};
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
        let out = m.checkpoint_bytes();
        assert_eq!(out.len() as u64, m.ckpt_bytes());
        let mut m2 = meta();
        m2.apply_stream(&out).unwrap();
        m2.validate().unwrap();
        assert_eq!(m2.ckpt_bytes(), m.ckpt_bytes());
        let (_, f2) = m2.lookup(1, "/d/f").unwrap();
        assert_eq!(f2.size, 13 * 4096 - 5);
        assert_eq!(f2.extents(), m.lookup(1, "/d/f").unwrap().1.extents());
        assert_eq!(m2.next_ino, 3);
        assert_eq!(m2.version, 7);
    }

    #[test]
    fn impossible_records_are_rejected() {
        let mut m = meta();
        let mut f = |_: u64, _: u64| {};
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
        let mut f = |_: u64, _: u64| {};
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
            assert_eq!(m.lookup(1, p).map(|(i, n)| (i, &*n.path)), Some((ino, p)));
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
        let mut f = |_: u64, _: u64| {};
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
