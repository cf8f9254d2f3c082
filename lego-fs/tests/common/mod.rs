//! Shared by the integration tests: a reference model of the filesystem's semantics, a random
//! operation generator, and a dump of a mounted filesystem's whole visible state.

#![allow(dead_code)]

use std::collections::BTreeMap;

use lego_fs::{BlockDevice, FileKind, FormatOptions, Fs, FsError};
use proptest::prelude::*;

/// The vNodes the generated operations touch.
pub const VNODES: [u32; 3] = [1, 2, 7];
/// Paths the generated operations pick from (mixing files, directories and nesting, so that
/// every error case comes up).
pub const PATHS: [&str; 8] = ["/a", "/b", "/d", "/d/a", "/d/e", "/d/e/f", "/g", "/d/x"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File(Vec<u8>),
}

/// Everything visible: (vnode, path) → entry.
pub type State = BTreeMap<(u32, String), Entry>;

#[derive(Debug, Clone)]
pub enum Op {
    Create(u32, usize),
    Mkdir(u32, usize),
    Write(u32, usize, u64, usize, u8),
    Truncate(u32, usize, u64),
    Unlink(u32, usize),
    Rmdir(u32, usize),
    Rename(u32, usize, usize),
    Read(u32, usize, u64, usize),
    Fsync(u32, usize),
    Sync,
    Remount,
}

/// Operations that set up a populated tree in every vNode, run before the random ones.
pub fn prelude() -> Vec<Op> {
    VNODES
        .iter()
        .flat_map(|&v| {
            [
                Op::Mkdir(v, 2),
                Op::Mkdir(v, 4),
                Op::Create(v, 0),
                Op::Create(v, 3),
                Op::Create(v, 5),
            ]
        })
        .collect()
}

impl Op {
    /// Whether a successful run of this op makes everything before it durable.
    pub fn is_sync(&self) -> bool {
        matches!(self, Op::Fsync(..) | Op::Sync | Op::Remount)
    }
}

/// Distinctive, never-zero bytes: a function of the seed and the absolute file offset, so a byte
/// in the wrong place or from the wrong write is visible.
pub fn pattern(seed: u8, offset: u64, len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|i| ((u64::from(seed) * 31 + offset + i) % 251) as u8 + 1)
        .collect()
}

pub fn op_strategy(max_off: u64, max_len: usize) -> impl Strategy<Value = Op> {
    let v = prop::sample::select(&VNODES[..]);
    // Weighted towards the paths the prelude creates, so most operations hit existing objects.
    let p = prop_oneof![4 => Just(0usize), 2 => Just(1), 2 => Just(2), 3 => Just(3),
        1 => Just(4), 2 => Just(5), 1 => Just(6), 1 => Just(7)];
    prop_oneof![
        3 => (v.clone(), p.clone()).prop_map(|(v, p)| Op::Create(v, p)),
        2 => (v.clone(), p.clone()).prop_map(|(v, p)| Op::Mkdir(v, p)),
        6 => (v.clone(), p.clone(), 0..max_off, 0..max_len, any::<u8>())
            .prop_map(|(v, p, o, l, s)| Op::Write(v, p, o, l, s)),
        2 => (v.clone(), p.clone(), 0..max_off + max_len as u64)
            .prop_map(|(v, p, s)| Op::Truncate(v, p, s)),
        1 => (v.clone(), p.clone()).prop_map(|(v, p)| Op::Unlink(v, p)),
        1 => (v.clone(), p.clone()).prop_map(|(v, p)| Op::Rmdir(v, p)),
        2 => (v.clone(), p.clone(), p.clone()).prop_map(|(v, a, b)| Op::Rename(v, a, b)),
        2 => (v.clone(), p.clone(), 0..max_off, 0..max_len)
            .prop_map(|(v, p, o, l)| Op::Read(v, p, o, l)),
        2 => (v, p).prop_map(|(v, p)| Op::Fsync(v, p)),
        1 => Just(Op::Sync),
        1 => Just(Op::Remount),
    ]
}

/// Runs `op` on the filesystem in `slot` (`Remount` replaces it). Reads return their bytes.
pub fn run_op<D: BlockDevice>(
    slot: &mut Option<Fs<D>>,
    op: &Op,
) -> Result<Option<Vec<u8>>, FsError> {
    let fs = slot.as_mut().expect("filesystem present");
    match *op {
        Op::Create(v, p) => fs.create(v, PATHS[p], 0o644).map(|()| None),
        Op::Mkdir(v, p) => fs.mkdir(v, PATHS[p], 0o755).map(|()| None),
        Op::Write(v, p, off, len, seed) => {
            let n = fs.write(v, PATHS[p], off, &pattern(seed, off, len))?;
            assert_eq!(n, len);
            Ok(None)
        }
        Op::Truncate(v, p, size) => fs.truncate(v, PATHS[p], size).map(|()| None),
        Op::Unlink(v, p) => fs.unlink(v, PATHS[p]).map(|()| None),
        Op::Rmdir(v, p) => fs.rmdir(v, PATHS[p]).map(|()| None),
        Op::Rename(v, a, b) => fs.rename(v, PATHS[a], PATHS[b]).map(|()| None),
        Op::Read(v, p, off, len) => {
            let mut buf = vec![0xEE; len];
            let n = fs.read(v, PATHS[p], off, &mut buf)?;
            buf.truncate(n);
            Ok(Some(buf))
        }
        Op::Fsync(v, p) => fs.fsync(v, PATHS[p]).map(|()| None),
        Op::Sync => fs.sync().map(|()| None),
        Op::Remount => {
            let dev = slot.take().expect("filesystem present").unmount()?;
            *slot = Some(Fs::mount(dev)?);
            Ok(None)
        }
    }
}

/// The reference model: the documented semantics, including which error wins.
#[derive(Debug, Clone)]
pub struct Model {
    pub state: State,
    pub max_file_size: u64,
}

fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

impl Model {
    pub fn new(max_file_size: u64) -> Self {
        Model {
            state: State::new(),
            max_file_size,
        }
    }

    fn get(&self, v: u32, p: &str) -> Option<&Entry> {
        self.state.get(&(v, p.to_string()))
    }

    /// Why `p` is not there: ENOTDIR when an ancestor is a file (POSIX's `file/x`), else
    /// ENOENT.
    fn missing(&self, v: u32, p: &str) -> FsError {
        let mut at = parent(p);
        while at != "/" {
            match self.get(v, at) {
                Some(Entry::File(_)) => return FsError::NotADirectory,
                Some(Entry::Dir) => return FsError::NotFound,
                None => at = parent(at),
            }
        }
        FsError::NotFound
    }

    fn check_parent(&self, v: u32, p: &str) -> Result<(), FsError> {
        let par = parent(p);
        if par == "/" {
            return Ok(());
        }
        match self.get(v, par) {
            None => Err(self.missing(v, par)),
            Some(Entry::File(_)) => Err(FsError::NotADirectory),
            Some(Entry::Dir) => Ok(()),
        }
    }

    fn file(&mut self, v: u32, p: &str) -> Result<&mut Vec<u8>, FsError> {
        let missing = self.missing(v, p);
        match self.state.get_mut(&(v, p.to_string())) {
            None => Err(missing),
            Some(Entry::Dir) => Err(FsError::IsADirectory),
            Some(Entry::File(d)) => Ok(d),
        }
    }

    fn has_children(&self, v: u32, p: &str) -> bool {
        let prefix = format!("{p}/");
        self.state
            .keys()
            .any(|(kv, kp)| *kv == v && kp.starts_with(&prefix))
    }

    pub fn apply(&mut self, op: &Op) -> Result<Option<Vec<u8>>, FsError> {
        let max = self.max_file_size;
        match *op {
            Op::Create(v, p) | Op::Mkdir(v, p) => {
                let path = PATHS[p];
                self.check_parent(v, path)?;
                if self.get(v, path).is_some() {
                    return Err(FsError::AlreadyExists);
                }
                let e = if matches!(op, Op::Create(..)) {
                    Entry::File(Vec::new())
                } else {
                    Entry::Dir
                };
                self.state.insert((v, path.to_string()), e);
                Ok(None)
            }
            Op::Write(v, p, off, len, seed) => {
                let f = self.file(v, PATHS[p])?;
                if off + len as u64 > max {
                    return Err(FsError::FileTooLarge);
                }
                if len == 0 {
                    return Ok(None);
                }
                let end = off as usize + len;
                if f.len() < end {
                    f.resize(end, 0);
                }
                f[off as usize..end].copy_from_slice(&pattern(seed, off, len));
                Ok(None)
            }
            Op::Truncate(v, p, size) => {
                let f = self.file(v, PATHS[p])?;
                if size > max {
                    return Err(FsError::FileTooLarge);
                }
                f.resize(size as usize, 0);
                Ok(None)
            }
            Op::Unlink(v, p) => {
                self.file(v, PATHS[p])?;
                self.state.remove(&(v, PATHS[p].to_string()));
                Ok(None)
            }
            Op::Rmdir(v, p) => {
                let path = PATHS[p];
                match self.get(v, path) {
                    None => return Err(self.missing(v, path)),
                    Some(Entry::File(_)) => return Err(FsError::NotADirectory),
                    Some(Entry::Dir) => {}
                }
                if self.has_children(v, path) {
                    return Err(FsError::DirectoryNotEmpty);
                }
                self.state.remove(&(v, path.to_string()));
                Ok(None)
            }
            Op::Rename(v, a, b) => {
                let (from, to) = (PATHS[a], PATHS[b]);
                let is_dir = match self.get(v, from) {
                    None => return Err(self.missing(v, from)),
                    Some(e) => *e == Entry::Dir,
                };
                self.check_parent(v, to)?;
                if from == to {
                    return Ok(None);
                }
                let prefix = format!("{from}/");
                if is_dir && to.starts_with(&prefix) {
                    return Err(FsError::RenameIntoItself);
                }
                match (is_dir, self.get(v, to)) {
                    (false, Some(Entry::Dir)) => return Err(FsError::IsADirectory),
                    (true, Some(Entry::File(_))) => return Err(FsError::NotADirectory),
                    (true, Some(Entry::Dir)) if self.has_children(v, to) => {
                        return Err(FsError::DirectoryNotEmpty);
                    }
                    _ => {}
                }
                self.state.remove(&(v, to.to_string()));
                // The entry and, for a directory, everything below it.
                let moved: Vec<(u32, String)> = self
                    .state
                    .keys()
                    .filter(|(kv, kp)| *kv == v && (kp == from || kp.starts_with(&prefix)))
                    .cloned()
                    .collect();
                for key in moved {
                    let e = self.state.remove(&key).expect("listed");
                    let new = format!("{to}{}", &key.1[from.len()..]);
                    self.state.insert((v, new), e);
                }
                Ok(None)
            }
            Op::Read(v, p, off, len) => {
                let f = self.file(v, PATHS[p])?;
                let start = (off as usize).min(f.len());
                let end = (start + len).min(f.len());
                Ok(Some(f[start..end].to_vec()))
            }
            Op::Fsync(v, p) => match self.get(v, PATHS[p]) {
                None => Err(self.missing(v, PATHS[p])),
                Some(_) => Ok(None),
            },
            Op::Sync | Op::Remount => Ok(None),
        }
    }
}

/// Reads back every vNode's whole tree through `readdir`, `stat` and `read`.
pub fn dump<D: BlockDevice>(fs: &mut Fs<D>) -> Result<State, FsError> {
    let mut out = State::new();
    for v in VNODES {
        walk(fs, v, "/", &mut out)?;
    }
    Ok(out)
}

fn walk<D: BlockDevice>(fs: &mut Fs<D>, v: u32, dir: &str, out: &mut State) -> Result<(), FsError> {
    for e in fs.readdir(v, dir)? {
        let p = if dir == "/" {
            format!("/{}", e.name)
        } else {
            format!("{dir}/{}", e.name)
        };
        match e.kind {
            FileKind::Dir => {
                out.insert((v, p.clone()), Entry::Dir);
                walk(fs, v, &p, out)?;
            }
            FileKind::File => {
                let st = fs.stat(v, &p)?;
                let mut buf = vec![0xEE; st.size as usize + 1];
                let n = fs.read(v, &p, 0, &mut buf)?;
                assert_eq!(n as u64, st.size, "read returns exactly the file size");
                buf.truncate(n);
                out.insert((v, p), Entry::File(buf));
            }
        }
    }
    Ok(())
}

/// Small geometry that exercises journal wrap-around and checkpoints often.
pub fn small_opts(max_file_size: u64) -> FormatOptions {
    FormatOptions {
        max_file_size,
        checkpoint_blocks: Some(8),
        log_blocks: Some(4),
    }
}
