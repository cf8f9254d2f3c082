//! The file operations of [`Fs`]: lookups, reads and the mutating operations, each checking
//! everything (names, space, metadata room, memory) before it changes anything.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::device::{BLOCK_SIZE, Block, BlockDevice, crc32};
use crate::error::{BAD_META, FsError, Result};
use crate::extent::ExtentMap;
use crate::fs::{BS, Fs, ROOT_MODE, read_block};
use crate::inode::{DirEntry, FileKind, Stat};
use crate::path;
use crate::record::{CREATE_FIXED, MAP_FIXED, Record, SET_SIZE_LEN};

/// A run of newly written blocks: file block, first disk block, checksums.
type Run = (u64, u64, Vec<u32>);

/// How many of the (at most `max`) file blocks from `fblk` are mapped to consecutive disk
/// blocks.
fn contiguous_run(ext: &ExtentMap, fblk: u64, max: usize) -> usize {
    let Some((first, _)) = ext.get(fblk) else {
        return 0;
    };
    let mut n = 1;
    while n < max && ext.get(fblk + n as u64).map(|(d, _)| d) == Some(first + n as u64) {
        n += 1;
    }
    n
}

/// Reads file blocks `fblk..` (mapped to consecutive disk blocks) into `out` in one request,
/// verifying each checksum.
fn read_run<D: BlockDevice>(
    dev: &mut D,
    ext: &ExtentMap,
    fblk: u64,
    out: &mut [Block],
) -> Result<()> {
    let Some((first, _)) = ext.get(fblk) else {
        return Err(BAD_META);
    };
    dev.read_many(first, out)?;
    for (i, b) in out.iter().enumerate() {
        let (_, crc) = ext.get(fblk + i as u64).ok_or(BAD_META)?;
        if crc32(b) != crc {
            return Err(FsError::Corrupted(crate::Corruption::Data));
        }
    }
    Ok(())
}

impl<D: BlockDevice> Fs<D> {
    /// Looks `path` up in `vnode`'s namespace (same as [`Fs::stat`]).
    pub fn lookup(&self, vnode: u32, path: &str) -> Result<Stat> {
        self.stat(vnode, path)
    }

    /// Kind, size, mode and modification counter of `path`.
    pub fn stat(&self, vnode: u32, path: &str) -> Result<Stat> {
        path::validate(path)?;
        if path::is_root(path) {
            return Ok(Stat {
                kind: FileKind::Dir,
                size: 0,
                mode: ROOT_MODE,
                version: 0,
            });
        }
        let (_, inode) = self
            .meta
            .lookup(vnode, path)
            .ok_or_else(|| self.missing(vnode, path))?;
        Ok(inode.stat())
    }

    /// Creates an empty regular file. The parent directory must exist.
    pub fn create(&mut self, vnode: u32, path: &str, mode: u32) -> Result<()> {
        self.make(vnode, path, mode, FileKind::File)
    }

    /// Creates a directory. The parent directory must exist.
    pub fn mkdir(&mut self, vnode: u32, path: &str, mode: u32) -> Result<()> {
        self.make(vnode, path, mode, FileKind::Dir)
    }

    fn make(&mut self, vnode: u32, path: &str, mode: u32, kind: FileKind) -> Result<()> {
        path::validate(path)?;
        if path::is_root(path) {
            return Err(FsError::AlreadyExists);
        }
        self.check_parent(vnode, path)?;
        if self.meta.lookup(vnode, path).is_some() {
            return Err(FsError::AlreadyExists);
        }
        let others = self.reservations.total();
        let extra = CREATE_FIXED + path.len() as u64 + SET_SIZE_LEN;
        self.meta_room(extra, others)?;
        self.begin()?;
        self.mem_room(self.meta.create_cost(vnode, path), extra, others)?;
        let rec = Record::Create {
            ino: self.meta.next_ino,
            vnode,
            path: String::from(path),
            kind,
            mode,
            version: self.next_version(),
        };
        self.log(rec)
    }

    /// Reads from `offset` into `buf`; returns the bytes read (0 at or past end of file).
    /// Holes read as zeros; a block whose checksum fails is an error, never returned.
    pub fn read(&mut self, vnode: u32, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let ino = self.file(vnode, path)?;
        let inode = self.meta.inode(ino).ok_or(BAD_META)?;
        let ext = inode.extents().ok_or(BAD_META)?;
        if offset >= inode.size {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(inode.size - offset) as usize;
        let mut done = 0;
        while done < n {
            let pos = offset + done as u64;
            let (fblk, within) = (pos / BS, (pos % BS) as usize);
            let take = (BLOCK_SIZE - within).min(n - done);
            // Whole blocks that lie one after the other on disk: one device request.
            let run = if within == 0 {
                contiguous_run(ext, fblk, (n - done) / BLOCK_SIZE)
            } else {
                0
            };
            if run > 1 {
                let bytes = &mut buf[done..done + run * BLOCK_SIZE];
                let (blocks, _) = bytes.as_chunks_mut::<BLOCK_SIZE>();
                read_run(&mut self.dev, ext, fblk, blocks)?;
                done += run * BLOCK_SIZE;
                continue;
            }
            let out = &mut buf[done..done + take];
            if let Ok(whole) = <&mut Block>::try_from(&mut *out) {
                // Aligned full block: read straight into the caller's buffer.
                read_block(&mut self.dev, ext, fblk, whole)?;
            } else {
                read_block(&mut self.dev, ext, fblk, &mut self.buf)?;
                out.copy_from_slice(&self.buf[within..within + take]);
            }
            done += take;
        }
        Ok(n)
    }

    /// Writes `data` at `offset`, extending the file if needed (a gap reads as zeros); returns
    /// `data.len()`. Data is copy-on-write: new blocks are written first and the file only
    /// points at them once the operation's records commit, so an overwrite needs free space
    /// for the blocks it replaces until the next commit. Reservations are left alone (see
    /// [`Fs::write_as`]).
    pub fn write(&mut self, vnode: u32, path: &str, offset: u64, data: &[u8]) -> Result<usize> {
        self.write_as(None, vnode, path, offset, data)
    }

    /// [`Fs::write`] on behalf of `client`: it may use the blocks reserved for it
    /// ([`Fs::reserve_space`]), and its reservation shrinks by the blocks the write allocated;
    /// everyone else's reservations are left alone.
    pub fn write_as(
        &mut self,
        client: Option<u32>,
        vnode: u32,
        path: &str,
        offset: u64,
        data: &[u8],
    ) -> Result<usize> {
        let ino = self.file(vnode, path)?;
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|e| *e <= self.sb.max_file_size)
            .ok_or(FsError::FileTooLarge)?;
        if data.is_empty() {
            return Ok(0);
        }
        let others = self.reservations.others(client);
        self.begin()?;
        let nblocks = (end - 1) / BS - offset / BS + 1;
        self.ensure_free(nblocks, others)?;
        // Memory for the maps (every block its own run, at worst) and the allocator's ranges;
        // the records: a map per run and the new size.
        let records = nblocks * (MAP_FIXED + 4) + SET_SIZE_LEN;
        let cost = self.meta.map_cost(ino, nblocks, nblocks) + self.alloc.growth(nblocks);
        self.mem_room(cost, records, others)?;
        let mut runs: Vec<Run> = Vec::new();
        let written = self
            .write_blocks(ino, offset, data, &mut runs)
            .and_then(|()| {
                // Each run may add an extent, plus one if an existing extent is split.
                let extra = (runs.len() as u64 + 1) * MAP_FIXED + nblocks * 4;
                self.meta_room(extra, others)
            });
        if let Err(e) = written {
            for (_, disk, crcs) in &runs {
                self.alloc.release(*disk, crcs.len() as u64);
            }
            return Err(e);
        }
        let version = self.next_version();
        let size = self.meta.inode(ino).ok_or(BAD_META)?.size.max(end);
        for (fblk, disk, crcs) in runs {
            self.log(Record::Map {
                ino,
                fblk,
                disk,
                crcs,
            })?;
        }
        self.log(Record::SetSize { ino, size, version })?;
        if let Some(c) = client {
            self.reservations.consume(c, nblocks);
        }
        Ok(data.len())
    }

    /// Writes the blocks of `data` at `offset` to freshly allocated blocks, recording them in
    /// `runs` (even when the write then fails, so the caller can release them).
    fn write_blocks(
        &mut self,
        ino: u64,
        offset: u64,
        data: &[u8],
        runs: &mut Vec<Run>,
    ) -> Result<()> {
        let end = offset + data.len() as u64;
        for fblk in offset / BS..=(end - 1) / BS {
            let bstart = fblk * BS;
            let lo = offset.max(bstart) - bstart;
            let hi = end.min(bstart + BS) - bstart;
            let src = &data[(bstart + lo - offset) as usize..(bstart + hi - offset) as usize];
            let disk = self.alloc.alloc().ok_or(FsError::NoSpace)?;
            match runs.last_mut() {
                Some((_, d, crcs)) if *d + crcs.len() as u64 == disk => crcs.push(0),
                _ => runs.push((fblk, disk, vec![0])),
            }
            let crc = if let Ok(whole) = <&Block>::try_from(src) {
                self.dev.write(disk, whole)?;
                crc32(whole)
            } else {
                // Partial block: merge with the current contents (zeros past EOF or in a hole).
                let ext = self
                    .meta
                    .inode(ino)
                    .and_then(|n| n.extents())
                    .ok_or(BAD_META)?;
                read_block(&mut self.dev, ext, fblk, &mut self.buf)?;
                self.buf[lo as usize..hi as usize].copy_from_slice(src);
                self.dev.write(disk, &self.buf)?;
                crc32(&self.buf[..])
            };
            if let Some(slot) = runs.last_mut().and_then(|r| r.2.last_mut()) {
                *slot = crc;
            }
        }
        Ok(())
    }

    /// Sets the file's size. Shrinking frees the blocks past the end and zeroes the tail of a
    /// partial last block (so growing again reads zeros); growing leaves a hole.
    pub fn truncate(&mut self, vnode: u32, path: &str, size: u64) -> Result<()> {
        let ino = self.file(vnode, path)?;
        if size > self.sb.max_file_size {
            return Err(FsError::FileTooLarge);
        }
        let others = self.reservations.total();
        self.meta_room(2 * MAP_FIXED + 4, others)?;
        self.begin()?;
        let inode = self.meta.inode(ino).ok_or(BAD_META)?;
        let ext = inode.extents().ok_or(BAD_META)?;
        let fblk = size / BS;
        let mut map = None;
        if size < inode.size && !size.is_multiple_of(BS) && ext.get(fblk).is_some() {
            self.ensure_free(1, others)?;
            let cost = self.meta.map_cost(ino, 1, 1) + self.alloc.growth(1);
            self.mem_room(cost, MAP_FIXED + 4 + SET_SIZE_LEN, others)?;
            let ext = self
                .meta
                .inode(ino)
                .and_then(|n| n.extents())
                .ok_or(BAD_META)?;
            read_block(&mut self.dev, ext, fblk, &mut self.buf)?;
            self.buf[(size % BS) as usize..].fill(0);
            let disk = self.alloc.alloc().ok_or(FsError::NoSpace)?;
            if let Err(e) = self.dev.write(disk, &self.buf) {
                self.alloc.release(disk, 1);
                return Err(e.into());
            }
            map = Some(Record::Map {
                ino,
                fblk,
                disk,
                crcs: vec![crc32(&self.buf[..])],
            });
        }
        let version = self.next_version();
        if let Some(rec) = map {
            self.log(rec)?;
        }
        self.log(Record::SetSize { ino, size, version })
    }

    /// Removes a regular file and frees its blocks.
    pub fn unlink(&mut self, vnode: u32, path: &str) -> Result<()> {
        let ino = self.file(vnode, path)?;
        self.begin()?;
        self.log(Record::Remove { ino })
    }

    /// Removes an empty directory.
    pub fn rmdir(&mut self, vnode: u32, path: &str) -> Result<()> {
        path::validate(path)?;
        if path::is_root(path) {
            return Err(FsError::RootDirectory);
        }
        let (ino, inode) = self
            .meta
            .lookup(vnode, path)
            .ok_or_else(|| self.missing(vnode, path))?;
        if inode.kind() != FileKind::Dir {
            return Err(FsError::NotADirectory);
        }
        if self.meta.has_children(vnode, path) {
            return Err(FsError::DirectoryNotEmpty);
        }
        self.begin()?;
        self.log(Record::Remove { ino })
    }

    /// Renames a file or a directory within a vNode, atomically (one journal record; a
    /// directory moves with everything below it). An existing file at `to` is replaced by a
    /// file; an existing empty directory by a directory. Errors as rename(2): a directory over
    /// a file is [`FsError::NotADirectory`], a file over a directory
    /// [`FsError::IsADirectory`], over a non-empty directory [`FsError::DirectoryNotEmpty`],
    /// a directory into its own subtree [`FsError::RenameIntoItself`], the root
    /// [`FsError::RootDirectory`]; a path below the directory that would grow past
    /// [`MAX_PATH`](crate::MAX_PATH) is [`FsError::PathTooLong`]. Time and memory: in
    /// proportion to the subtree (a stack as deep as it, no copy of its paths).
    pub fn rename(&mut self, vnode: u32, from: &str, to: &str) -> Result<()> {
        path::validate(from)?;
        path::validate(to)?;
        if path::is_root(from) {
            return Err(FsError::RootDirectory);
        }
        let (ino, inode) = self
            .meta
            .lookup(vnode, from)
            .ok_or_else(|| self.missing(vnode, from))?;
        let kind = inode.kind();
        if path::is_root(to) {
            return Err(FsError::IsADirectory);
        }
        self.check_parent(vnode, to)?;
        if from == to {
            return Ok(());
        }
        if kind == FileKind::Dir && path::is_inside(to, from) {
            return Err(FsError::RenameIntoItself);
        }
        let replaced = match (kind, self.meta.lookup(vnode, to)) {
            (_, None) => None,
            (FileKind::File, Some((_, t))) if t.kind() == FileKind::Dir => {
                return Err(FsError::IsADirectory);
            }
            (FileKind::Dir, Some((_, t))) if t.kind() == FileKind::File => {
                return Err(FsError::NotADirectory);
            }
            (FileKind::Dir, Some(_)) if self.meta.has_children(vnode, to) => {
                return Err(FsError::DirectoryNotEmpty);
            }
            (_, Some((t, _))) => Some(t),
        };
        // Every path below a directory changes too: each must stay valid, and the metadata
        // grows by the difference once per path.
        let (cost, moved) = self.meta.rename_cost(ino, to)?;
        if moved.longest > path::MAX_PATH as u64 {
            return Err(FsError::PathTooLong);
        }
        let others = self.reservations.total();
        let grow = (to.len() as u64).saturating_sub(from.len() as u64);
        self.meta_room(grow * (1 + moved.count), others)?;
        self.begin()?;
        self.mem_room(cost, 20 + to.len() as u64, others)?;
        if let Some(t) = replaced {
            self.log(Record::Remove { ino: t })?;
        }
        self.log(Record::Rename {
            ino,
            path: String::from(to),
        })
    }

    /// Visits the entries of directory `path` in name order, from entry `from` on, until
    /// `f` returns false: returns the index of the entry `f` refused, or `None` once all were
    /// visited. Allocates nothing (a request handler fills its reply with it).
    pub fn readdir_from(
        &self,
        vnode: u32,
        path: &str,
        from: u64,
        mut f: impl FnMut(&str, FileKind) -> bool,
    ) -> Result<Option<u64>> {
        path::validate(path)?;
        if !path::is_root(path) {
            match self.meta.lookup(vnode, path) {
                None => return Err(FsError::NotFound),
                Some((_, d)) if d.kind() != FileKind::Dir => return Err(FsError::NotADirectory),
                Some(_) => {}
            }
        }
        let entries = self.meta.children(vnode, path).ok_or(BAD_META)?;
        let skip = usize::try_from(from).unwrap_or(usize::MAX);
        for (i, &ino) in entries.iter().enumerate().skip(skip) {
            let n = self.meta.inode(ino).ok_or(BAD_META)?;
            if !f(n.name(), n.kind()) {
                return Ok(Some(i as u64));
            }
        }
        Ok(None)
    }

    /// The entries of directory `path`, sorted by name (all of them, in a new vector: for
    /// tools and tests; requests page through [`Fs::readdir_from`]).
    pub fn readdir(&self, vnode: u32, path: &str) -> Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        self.readdir_from(vnode, path, 0, |name, kind| {
            out.push(DirEntry {
                name: String::from(name),
                kind,
            });
            true
        })?;
        Ok(out)
    }

    /// Makes `path` durable. The journal is shared, so this commits every completed operation
    /// of every vNode (like `sync`), which is at least what was asked for.
    pub fn fsync(&mut self, vnode: u32, path: &str) -> Result<()> {
        self.stat(vnode, path)?;
        self.commit()
    }

    /// Makes every completed operation durable.
    pub fn sync(&mut self) -> Result<()> {
        self.commit()
    }
}
