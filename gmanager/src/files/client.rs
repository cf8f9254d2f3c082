//! The file protocol's client side, as the host tools use it: one call per request to the
//! vNode's buffer-cache mComponent (which forwards to its sComponent). The transport is a
//! trait so the logic is tested on the host against the storage monitor's own request handler.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use lego_proto::fs::{
    self as proto, DIR_END, FsRequest, FsStat, FsStatFs, MAX_IO, Request, bench_page, errno,
    errno_of, errno_text, flags, kind, parse_dir,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zerocopy::{FromBytes, IntoBytes};

use super::remote::{basename, join};

/// What marks a temporary name: a put writes `.NAME.lego-tmp-XXXXXXXX` next to `NAME` and
/// renames it into place once complete; a get does the same next to the local file. A name
/// with the mark in a listing is an incomplete copy (a put that failed and could not clean up).
pub const TMP_MARK: &str = ".lego-tmp-";

/// Whether `name` is a temporary name of an unfinished copy.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(TMP_MARK)
}

/// A fresh temporary name for a copy of `name` (at most `MAX_NAME` bytes: a long name is cut
/// in the temporary one, which stays recognisable).
pub fn temp_name(name: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut x = nanos ^ std::process::id().rotate_left(16) ^ N.fetch_add(1, Ordering::Relaxed);
    x = x.wrapping_mul(0x9E37_79B9).rotate_left(13) ^ N.load(Ordering::Relaxed);
    let tail = format!("{TMP_MARK}{x:08x}");
    let room = lego_fs::path::MAX_NAME - 1 - tail.len();
    let mut cut = name.len().min(room);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}{tail}", &name[..cut])
}

/// Fabric ids and names of the cluster's components, so errors say `m0`, not `component 1`.
static NAMES: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());

/// Tells the clients in this process how components are named (the manager does, at start).
pub fn set_component_names(names: impl IntoIterator<Item = (u32, String)>) {
    if let Ok(mut n) = NAMES.lock() {
        *n = names.into_iter().collect();
    }
}

/// The name of component `id` (`m0`), or `component N` if unknown.
pub fn component_name(id: u32) -> String {
    NAMES
        .lock()
        .ok()
        .and_then(|n| n.iter().find(|(i, _)| *i == id).map(|(_, s)| s.clone()))
        .unwrap_or_else(|| format!("component {id}"))
}

/// `text` with every `component N` whose id has a name replaced by that name.
fn name_components(text: &str) -> String {
    let Ok(names) = NAMES.lock() else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("component ") {
        let after = &rest[i + "component ".len()..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let name = after[..digits]
            .parse::<u32>()
            .ok()
            .and_then(|id| names.iter().find(|(n, _)| *n == id));
        match name {
            Some((_, name)) if digits > 0 => {
                out.push_str(&rest[..i]);
                out.push_str(name);
                rest = &after[digits..];
            }
            _ => {
                out.push_str(&rest[..i + "component ".len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The server answered with this status.
    Status(u32),
    /// The call did not complete (the component died, timed out): a reason.
    Failed(String),
}

/// How calls reach the server.
pub trait Transport {
    /// One call of file-protocol opcode `op`; returns the reply's length.
    fn call(&mut self, op: u32, req: &[u8], out: &mut [u8]) -> Result<usize, CallError>;
    /// A benchmark's timed operations start or end (see [`Client::bench`]): the fabric's
    /// transport takes the components' counters there.
    fn bench_mark(&mut self) {}
}

/// What the host tools ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FileOp {
    /// Copy a local file in (into the directory if `path` is one), creating parent
    /// directories if `parents`.
    Put {
        /// Absolute local path.
        local: PathBuf,
        /// Remote path.
        path: String,
        /// Create missing parent directories.
        parents: bool,
        /// Leave the data in the buffer cache (written back later, durable at the next fsync).
        #[serde(default)]
        no_fsync: bool,
    },
    /// Copy a file out (into the directory if `local` is one).
    Get {
        /// Remote path.
        path: String,
        /// Absolute local path.
        local: PathBuf,
    },
    /// A directory's entries with their sizes, or one file.
    List {
        /// Remote path.
        path: String,
    },
    /// Remove a file or an empty directory (or a whole tree if `recursive`).
    Remove {
        /// Remote path.
        path: String,
        /// Remove directories and their contents.
        recursive: bool,
        /// With `recursive`, `/` empties the whole vNode (refused otherwise).
        #[serde(default)]
        root: bool,
    },
    /// What a path is: `{"kind": "file"|"dir"|null, "size"}`.
    Stat {
        /// Remote path.
        path: String,
    },
    /// Everything below a directory, depth first, each directory before what it holds:
    /// `{"kind", "entries": [{"path" (relative), "kind", "size", "incomplete"}]}`.
    Tree {
        /// Remote path.
        path: String,
    },
    /// Make a directory (and its parents if `parents`).
    Mkdir {
        /// Remote path.
        path: String,
        /// Create missing parents; an existing directory is fine.
        parents: bool,
    },
    /// Rename a file.
    Rename {
        /// Remote path.
        path: String,
        /// New remote path.
        to: String,
    },
    /// Make everything written to the file durable.
    Fsync {
        /// Remote path.
        path: String,
    },
    /// Write back and drop the buffer cache (benchmarks start cold).
    DropCaches,
    /// Time `ops` 4 KiB operations on an existing file: reads, or writes each followed by an
    /// fsync; at sequential or seeded random page offsets. Returns the latencies in ns.
    Bench {
        /// Remote path.
        path: String,
        /// Writes (each with an fsync) rather than reads.
        write: bool,
        /// Random offsets rather than sequential.
        random: bool,
        /// Operations.
        ops: u32,
        /// Seed of the random offsets.
        seed: u64,
        /// Issue the operations from the mComponent holding the buffer cache rather than from
        /// here: the same path without the client's hop.
        #[serde(default)]
        at_cache: bool,
    },
}

/// What [`Client::bench`] times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchParams {
    /// Writes, each followed by an fsync, rather than reads.
    pub write: bool,
    /// Random pages rather than sequential ones.
    pub random: bool,
    /// Operations.
    pub ops: u32,
    /// Seed of the random offsets.
    pub seed: u64,
    /// Issued by the mComponent itself (see [`FileOp::Bench`]).
    pub at_cache: bool,
}

/// A listing entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Name (last component).
    pub name: String,
    /// `file` or `dir`.
    pub kind: String,
    /// Bytes (files).
    pub size: u64,
    /// A temporary name of an unfinished copy (see [`TMP_MARK`]).
    #[serde(default)]
    pub incomplete: bool,
}

/// Where a request applies.
#[derive(Clone, Copy, Debug, Default)]
struct At {
    offset: u64,
    len: u32,
    flags: u32,
    /// Permission bits of a file this request creates (default 0o644).
    mode: Option<u32>,
}

/// A client bound to one vNode.
pub struct Client<'t, T: Transport> {
    t: &'t mut T,
    /// The vNode's id.
    pub vnode: u32,
    /// Its sComponent.
    pub storage: u32,
    /// How errors name it (`web`).
    pub label: String,
    reply: Vec<u8>,
}

fn kind_name(k: u32) -> &'static str {
    if k == kind::DIR { "dir" } else { "file" }
}

impl<'t, T: Transport> Client<'t, T> {
    /// A client of vNode `vnode` stored on sComponent `storage`.
    pub fn new(t: &'t mut T, vnode: u32, storage: u32, label: &str) -> Client<'t, T> {
        Client {
            t,
            vnode,
            storage,
            label: label.to_string(),
            reply: vec![0; 64 << 10],
        }
    }

    fn err(&self, path: &str, e: CallError) -> String {
        match e {
            CallError::Status(s) => match errno_of(s) {
                // Say which component: the one component a vNode's requests depend on.
                Some(errno::EHOSTDOWN) => format!(
                    "{}:{path}: its storage {} is unreachable",
                    self.label,
                    name_components(&format!("component {}", self.storage))
                ),
                Some(n) => format!("{}:{path}: {}", self.label, errno_text(n)),
                None => format!(
                    "{}:{path}: the server failed the request (status {s})",
                    self.label
                ),
            },
            CallError::Failed(why) => format!("{}:{path}: {}", self.label, name_components(&why)),
        }
    }

    /// One request; returns the reply's length (the reply is in `self.reply`).
    fn req(
        &mut self,
        op: u32,
        path: &str,
        path2: &str,
        at: At,
        data: &[u8],
    ) -> Result<usize, CallError> {
        let r = Request {
            head: FsRequest {
                vnode: self.vnode,
                flags: at.flags,
                mode: at.mode.unwrap_or(0o644),
                storage: self.storage,
                offset: at.offset,
                len: at.len,
                path_len: 0,
                path2_len: 0,
            },
            path,
            path2,
            data,
        };
        let mut buf = vec![0u8; r.encoded_len()];
        let n = r
            .encode(&mut buf)
            .ok_or_else(|| CallError::Status(proto::status_of(errno::ENAMETOOLONG)))?;
        self.t.call(op, &buf[..n], &mut self.reply)
    }

    /// Stat; `Ok(None)` if it does not exist.
    pub fn stat(&mut self, path: &str) -> Result<Option<FsStat>, String> {
        match self.req(proto::STAT, path, "", At::default(), b"") {
            Ok(n) => FsStat::read_from_bytes(&self.reply[..n])
                .map(Some)
                .map_err(|_| format!("{}:{path}: garbled stat reply", self.label)),
            Err(CallError::Status(s)) if errno_of(s) == Some(errno::ENOENT) => Ok(None),
            Err(e) => Err(self.err(path, e)),
        }
    }

    /// Capacity, use and disk time of the vNode's storage.
    pub fn statfs(&mut self) -> Result<FsStatFs, String> {
        let n = self
            .req(proto::STATFS, "/", "", At::default(), b"")
            .map_err(|e| self.err("/", e))?;
        FsStatFs::read_from_bytes(&self.reply[..n])
            .map_err(|_| format!("{}: garbled statfs reply", self.label))
    }

    fn simple(&mut self, op: u32, path: &str, path2: &str, offset: u64) -> Result<(), String> {
        self.req(
            op,
            path,
            path2,
            At {
                offset,
                ..At::default()
            },
            b"",
        )
        .map(|_| ())
        .map_err(|e| self.err(path, e))
    }

    /// The entries of directory `path`.
    pub fn readdir(&mut self, path: &str) -> Result<Vec<(String, u32)>, String> {
        let mut out = Vec::new();
        let mut from = 0;
        loop {
            let n = self
                .req(
                    proto::READDIR,
                    path,
                    "",
                    At {
                        offset: from,
                        ..At::default()
                    },
                    b"",
                )
                .map_err(|e| self.err(path, e))?;
            let (h, entries) = parse_dir(&self.reply[..n])
                .ok_or_else(|| format!("{}:{path}: garbled directory listing", self.label))?;
            out.extend(entries.map(|e| (e.name.to_string(), e.kind)));
            if h.next == DIR_END || h.count == 0 {
                return Ok(out);
            }
            from = h.next;
        }
    }

    /// `mkdir` (with `parents`: every missing ancestor too, and an existing directory is fine).
    pub fn mkdir(&mut self, path: &str, parents: bool) -> Result<Vec<String>, String> {
        let mut made = Vec::new();
        let targets: Vec<String> = if parents {
            let mut acc = String::new();
            path.split('/')
                .filter(|c| !c.is_empty())
                .map(|c| {
                    acc.push('/');
                    acc.push_str(c);
                    acc.clone()
                })
                .collect()
        } else {
            vec![path.to_string()]
        };
        for p in targets {
            match self.req(proto::MKDIR, &p, "", At::default(), b"") {
                Ok(_) => made.push(p),
                Err(CallError::Status(s)) if parents && errno_of(s) == Some(errno::EEXIST) => {
                    match self.stat(&p)? {
                        Some(st) if st.kind == kind::DIR => {}
                        _ => {
                            return Err(format!(
                                "{}:{p}: exists and is not a directory",
                                self.label
                            ));
                        }
                    }
                }
                Err(e) => return Err(self.err(&p, e)),
            }
        }
        Ok(made)
    }

    /// Copies `local` in, all or nothing: the data goes to a temporary name in the same
    /// directory, which is made durable (`fsync`), renamed into place and the rename made
    /// durable. If anything fails, the temporary file is removed (or the error says where it
    /// is) and what `path` held before is untouched.
    pub fn put(
        &mut self,
        local: &Path,
        path: &str,
        parents: bool,
        fsync: bool,
    ) -> Result<Value, String> {
        let t0 = Instant::now();
        let mut f = std::fs::File::open(local)
            .map_err(|e| format!("cannot read {}: {e}", local.display()))?;
        if f.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(format!("{} is a directory", local.display()));
        }
        let mut path = path.to_string();
        if let Some(st) = self.stat(&path)?
            && st.kind == kind::DIR
        {
            let name = local
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| format!("{}: no usable file name", local.display()))?;
            path = join(&path, name);
        }
        // The storage's own rule, before any data moves.
        lego_fs::path::validate(&path).map_err(|e| {
            self.err(
                &path,
                CallError::Status(proto::status_of(lego_fs::serve::errno_of(&e))),
            )
        })?;
        if path == "/" {
            return Err(format!("{}:/: is a directory", self.label));
        }
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", &path));
        let parent = if parent.is_empty() { "/" } else { parent };
        if parents && parent != "/" {
            self.mkdir(parent, true)?;
        }
        let tmp = join(parent, &temp_name(name));
        // The host file's permission bits come along: an executable stays one (execve in the
        // vNode checks them).
        let mode = f
            .metadata()
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
            .unwrap_or(0o644);
        let create = At {
            flags: flags::CREATE | flags::EXCL,
            mode: Some(mode),
            ..At::default()
        };
        self.req(proto::OPEN, &tmp, "", create, b"")
            .map_err(|e| self.err(&path, e))?;
        let mut off = 0u64;
        let mut renamed = false;
        let r = (|| -> Result<(), String> {
            let mut chunk = vec![0u8; MAX_IO];
            loop {
                let n = read_full(&mut f, &mut chunk)
                    .map_err(|e| format!("reading {}: {e}", local.display()))?;
                if n == 0 {
                    break;
                }
                let at = At {
                    offset: off,
                    ..At::default()
                };
                self.req(proto::WRITE, &tmp, "", at, &chunk[..n])
                    .map_err(|e| self.err(&path, e))?;
                off += n as u64;
            }
            if fsync {
                self.req(proto::FSYNC, &tmp, "", At::default(), b"")
                    .map_err(|e| self.err(&path, e))?;
            }
            self.req(proto::RENAME, &tmp, &path, At::default(), b"")
                .map_err(|e| self.err(&path, e))?;
            renamed = true;
            if fsync {
                self.simple(proto::FSYNC, &path, "", 0)?;
            }
            Ok(())
        })();
        match r {
            Ok(()) => Ok(json!({
                "path": path,
                "bytes": off,
                "ms": t0.elapsed().as_secs_f64() * 1e3,
            })),
            Err(e) if renamed => Err(format!(
                "{e} (the new file is in place but may not be durable: `lego sync {}:{path}` \
                 makes it so)",
                self.label
            )),
            Err(e) => match self.req(proto::UNLINK, &tmp, "", At::default(), b"") {
                Ok(_) => Err(e),
                Err(why) => Err(format!(
                    "{e}; the incomplete copy {}:{tmp} could not be removed ({}): `lego rm \
                     {}:{tmp}` removes it",
                    self.label,
                    self.err(&tmp, why)
                        .trim_start_matches(&format!("{}:{tmp}: ", self.label)),
                    self.label
                )),
            },
        }
    }

    /// Copies `path` out to `local`, all or nothing: into a temporary file next to `local`,
    /// renamed over it once complete and flushed. A failure leaves `local` as it was and
    /// removes the temporary file. A `local` that is not a regular file (`/dev/null`, a pipe)
    /// is written in place.
    pub fn get(&mut self, path: &str, local: &Path) -> Result<Value, String> {
        let t0 = Instant::now();
        let st = self
            .stat(path)?
            .ok_or_else(|| format!("{}:{path}: {}", self.label, errno_text(errno::ENOENT)))?;
        if st.kind == kind::DIR {
            return Err(format!("{}:{path}: is a directory", self.label));
        }
        let local = if local.is_dir() {
            local.join(basename(path))
        } else {
            local.to_path_buf()
        };
        let mut out = LocalDest::open(&local)?;
        let mut off = 0u64;
        let r = (|| -> Result<(), String> {
            loop {
                let at = At {
                    offset: off,
                    len: MAX_IO as u32,
                    ..At::default()
                };
                let n = self
                    .req(proto::READ, path, "", at, b"")
                    .map_err(|e| self.err(path, e))?;
                if n == 0 {
                    break;
                }
                out.file
                    .write_all(&self.reply[..n])
                    .map_err(|e| format!("writing {}: {e}", local.display()))?;
                off += n as u64;
                if n < MAX_IO {
                    break;
                }
            }
            Ok(())
        })();
        match r {
            Ok(()) => out.commit()?,
            Err(e) => return Err(out.abort(e)),
        }
        Ok(json!({
            "path": path,
            "local": local,
            "bytes": off,
            "ms": t0.elapsed().as_secs_f64() * 1e3,
        }))
    }

    /// What `path` is.
    pub fn stat_value(&mut self, path: &str) -> Result<Value, String> {
        Ok(match self.stat(path)? {
            Some(st) => json!({
                "path": path,
                "kind": kind_name(st.kind),
                "size": st.size,
                "mode": st.mode & 0o7777,
            }),
            None => json!({ "path": path, "kind": null, "size": 0, "mode": null }),
        })
    }

    /// Everything below directory `path` (see [`FileOp::Tree`]).
    pub fn tree(&mut self, path: &str) -> Result<Value, String> {
        let st = self
            .stat(path)?
            .ok_or_else(|| format!("{}:{path}: {}", self.label, errno_text(errno::ENOENT)))?;
        let mut entries = Vec::new();
        if st.kind == kind::DIR {
            self.walk(path, "", &mut entries)?;
        }
        Ok(json!({ "path": path, "kind": kind_name(st.kind), "entries": entries }))
    }

    fn walk(&mut self, dir: &str, rel: &str, out: &mut Vec<Value>) -> Result<(), String> {
        let mut names = self.readdir(dir)?;
        names.sort();
        for (name, k) in names {
            let full = join(dir, &name);
            let rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if k == kind::DIR {
                out.push(json!({ "path": rel, "kind": "dir", "size": 0, "incomplete": false }));
                self.walk(&full, &rel, out)?;
            } else {
                let size = self.stat(&full)?.map_or(0, |s| s.size);
                out.push(json!({
                    "path": rel,
                    "kind": "file",
                    "size": size,
                    "incomplete": is_temp_name(&name),
                }));
            }
        }
        Ok(())
    }

    /// A directory's entries with sizes, or the one file.
    pub fn list(&mut self, path: &str) -> Result<Value, String> {
        let st = self
            .stat(path)?
            .ok_or_else(|| format!("{}:{path}: {}", self.label, errno_text(errno::ENOENT)))?;
        let mut entries = Vec::new();
        if st.kind == kind::DIR {
            for (name, k) in self.readdir(path)? {
                let size = if k == kind::FILE {
                    self.stat(&join(path, &name))?.map_or(0, |s| s.size)
                } else {
                    0
                };
                entries.push(Entry {
                    incomplete: k == kind::FILE && is_temp_name(&name),
                    name,
                    kind: kind_name(k).into(),
                    size,
                });
            }
        } else {
            entries.push(Entry {
                name: basename(path).into(),
                kind: "file".into(),
                size: st.size,
                incomplete: is_temp_name(basename(path)),
            });
        }
        Ok(json!({ "path": path, "kind": kind_name(st.kind), "entries": entries }))
    }

    /// Removes a file, an empty directory, or (`recursive`) a tree. Returns the paths removed.
    /// The root is never removed; `recursive` with `root` empties it.
    pub fn remove(&mut self, path: &str, recursive: bool, root: bool) -> Result<u64, String> {
        if path == "/" && !recursive {
            return Err(format!(
                "{}:/: the root of a vNode cannot be removed (`lego vnode remove {}` removes \
                 the vNode)",
                self.label, self.label
            ));
        }
        if path == "/" && !root {
            return Err(format!(
                "{}:/: refusing to remove everything in vNode {}; add --no-preserve-root to \
                 empty it",
                self.label, self.label
            ));
        }
        let st = self
            .stat(path)?
            .ok_or_else(|| format!("{}:{path}: {}", self.label, errno_text(errno::ENOENT)))?;
        if st.kind != kind::DIR {
            self.simple(proto::UNLINK, path, "", 0)?;
            return Ok(1);
        }
        let mut n = 0;
        if recursive {
            for (name, _) in self.readdir(path)? {
                n += self.remove(&join(path, &name), true, false)?;
            }
        }
        if path == "/" {
            return Ok(n);
        }
        self.simple(proto::RMDIR, path, "", 0)?;
        Ok(n + 1)
    }

    /// Renames a file or a directory.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), String> {
        self.simple(proto::RENAME, from, to, 0)
    }

    /// Times 4 KiB reads or write+fsyncs on `path` (see [`FileOp::Bench`]). Returns each
    /// operation's latency and the sComponent's disk wait per operation, ns (mean).
    pub fn bench(&mut self, path: &str, b: BenchParams) -> Result<(Vec<u64>, u64), String> {
        let st = self
            .stat(path)?
            .ok_or_else(|| format!("{}:{path}: {}", self.label, errno_text(errno::ENOENT)))?;
        let pages = st.size / 4096;
        if pages == 0 {
            return Err(format!("{}:{path}: smaller than a page", self.label));
        }
        let before = self.statfs()?;
        // Only the timed operations between the marks.
        self.t.bench_mark();
        let lat = if b.at_cache {
            self.bench_at_cache(path, pages, b)
        } else {
            self.bench_ops(path, pages, b)
        };
        self.t.bench_mark();
        let lat = lat?;
        let after = self.statfs()?;
        let disk = after.dev_wait_ns.saturating_sub(before.dev_wait_ns) / u64::from(b.ops.max(1));
        Ok((lat, disk))
    }

    /// The timed loop of [`Client::bench`] over a file of `pages` pages.
    fn bench_ops(&mut self, path: &str, pages: u64, b: BenchParams) -> Result<Vec<u64>, String> {
        let data = vec![0x5au8; 4096];
        let mut lat = Vec::with_capacity(b.ops as usize);
        for i in 0..u64::from(b.ops) {
            let offset = bench_page(i, pages, b.random, b.seed) * 4096;
            let t = Instant::now();
            if b.write {
                self.req(
                    proto::WRITE,
                    path,
                    "",
                    At {
                        offset,
                        ..At::default()
                    },
                    &data,
                )
                .map_err(|e| self.err(path, e))?;
                self.simple(proto::FSYNC, path, "", 0)?;
            } else {
                let at = At {
                    offset,
                    len: 4096,
                    ..At::default()
                };
                let n = self
                    .req(proto::READ, path, "", at, b"")
                    .map_err(|e| self.err(path, e))?;
                if n != 4096 {
                    return Err(format!("{}:{path}: short read at {offset}", self.label));
                }
            }
            lat.push(t.elapsed().as_nanos() as u64);
        }
        Ok(lat)
    }

    /// [`Client::bench`] with the mComponent issuing the operations (`BENCH` requests, each
    /// timing up to [`proto::BENCH_MAX_OPS`]).
    fn bench_at_cache(
        &mut self,
        path: &str,
        pages: u64,
        b: BenchParams,
    ) -> Result<Vec<u64>, String> {
        let mut lat = Vec::with_capacity(b.ops as usize);
        while lat.len() < b.ops as usize {
            let ops = (b.ops - lat.len() as u32).min(proto::BENCH_MAX_OPS);
            let req = proto::BenchRequest {
                pages,
                seed: b.seed,
                first: lat.len() as u64,
                ops,
                flags: if b.write { proto::bench::WRITE } else { 0 }
                    | if b.random { proto::bench::RANDOM } else { 0 },
            };
            let n = self
                .req(proto::BENCH, path, "", At::default(), req.as_bytes())
                .map_err(|e| self.err(path, e))?;
            if n != ops as usize * 4 {
                return Err(format!(
                    "{}:{path}: the mComponent timed {} operations of {ops}",
                    self.label,
                    n / 4
                ));
            }
            lat.extend(
                self.reply[..n]
                    .chunks_exact(4)
                    .map(|c| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            );
        }
        Ok(lat)
    }

    /// Runs one host-tool request.
    pub fn run(&mut self, op: &FileOp) -> Result<Value, String> {
        match op {
            FileOp::Put {
                local,
                path,
                parents,
                no_fsync,
            } => self.put(local, path, *parents, !*no_fsync),
            FileOp::Get { path, local } => self.get(path, local),
            FileOp::List { path } => self.list(path),
            FileOp::Remove {
                path,
                recursive,
                root,
            } => self
                .remove(path, *recursive, *root)
                .map(|n| json!({ "path": path, "removed": n })),
            FileOp::Stat { path } => self.stat_value(path),
            FileOp::Tree { path } => self.tree(path),
            FileOp::Mkdir { path, parents } => self
                .mkdir(path, *parents)
                .map(|made| json!({ "path": path, "created": made })),
            FileOp::Rename { path, to } => self
                .rename(path, to)
                .map(|()| json!({ "path": path, "to": to })),
            FileOp::DropCaches => self
                .simple(proto::DROP_CACHES, "/", "", 0)
                .map(|()| json!({})),
            FileOp::Bench {
                path,
                write,
                random,
                ops,
                seed,
                at_cache,
            } => self
                .bench(
                    path,
                    BenchParams {
                        write: *write,
                        random: *random,
                        ops: *ops,
                        seed: *seed,
                        at_cache: *at_cache,
                    },
                )
                .map(|(lat, disk)| json!({ "latency_ns": lat, "disk_ns_per_op": disk })),
            FileOp::Fsync { path } => self
                .simple(proto::FSYNC, path, "", 0)
                .map(|()| json!({ "path": path })),
        }
    }
}

/// Where a get writes: a temporary file next to the destination, renamed over it by
/// [`LocalDest::commit`]; or the destination itself when it is not a regular file.
struct LocalDest {
    file: std::fs::File,
    /// (temporary file, final path) unless written in place.
    rename: Option<(PathBuf, PathBuf)>,
}

impl LocalDest {
    fn open(local: &Path) -> Result<LocalDest, String> {
        let cannot = |e: std::io::Error| format!("cannot write {}: {e}", local.display());
        // Follow a symbolic link: the file it names is replaced, the link stays.
        let target = match std::fs::symlink_metadata(local) {
            Ok(m) if m.file_type().is_symlink() => {
                std::fs::canonicalize(local).unwrap_or_else(|_| local.to_path_buf())
            }
            _ => local.to_path_buf(),
        };
        let existing = std::fs::metadata(&target).ok();
        if existing.as_ref().is_some_and(|m| !m.is_file()) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&target)
                .map_err(cannot)?;
            return Ok(LocalDest { file, rename: None });
        }
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{}: no usable file name", local.display()))?;
        let dir = target.parent().unwrap_or(Path::new("/"));
        let tmp = dir.join(temp_name(name));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(cannot)?;
        // The replacement keeps the permissions of the file it replaces.
        if let Some(m) = existing {
            let _ = file.set_permissions(m.permissions());
        }
        Ok(LocalDest {
            file,
            rename: Some((tmp, target)),
        })
    }

    /// Flushes the copy and puts it in place.
    fn commit(self) -> Result<(), String> {
        let Some((tmp, target)) = self.rename.clone() else {
            return Ok(());
        };
        let r = self
            .file
            .sync_all()
            .and_then(|()| std::fs::rename(&tmp, &target));
        // (The data is flushed before the rename, so a crash of the host leaves the old file
        // or the whole new one; the directory is not flushed: that costs as much again.)
        if let Err(e) = r {
            return Err(self.abort(format!("writing {}: {e}", target.display())));
        }
        Ok(())
    }

    /// Removes the temporary file after error `e`; returns the error to report.
    fn abort(self, e: String) -> String {
        let Some((tmp, _)) = &self.rename else {
            return e;
        };
        match std::fs::remove_file(tmp) {
            Ok(()) => e,
            Err(why) if why.kind() == std::io::ErrorKind::NotFound => e,
            Err(why) => format!(
                "{e}; the incomplete copy {} could not be removed: {why}",
                tmp.display()
            ),
        }
    }
}

/// Reads until `buf` is full or the end of the file.
fn read_full(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use lego_fs::testdev::MemDisk;
    use lego_fs::{FormatOptions, Fs};

    use super::*;

    /// The storage monitor's own handler over an in-memory disk.
    struct Local(Fs<MemDisk>);

    impl Transport for Local {
        fn call(&mut self, op: u32, req: &[u8], out: &mut [u8]) -> Result<usize, CallError> {
            lego_fs::serve::handle(&mut self.0, op, req, out).map_err(CallError::Status)
        }
    }

    fn local() -> Local {
        Local(Fs::format(MemDisk::new(8192), FormatOptions::default()).expect("format"))
    }

    #[test]
    fn put_get_list_remove() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src.bin");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 300) as u8).collect();
        std::fs::write(&src, &data).expect("write");
        let mut t = local();
        let mut c = Client::new(&mut t, 1, 0, "web");
        // Into a directory that does not exist yet: refused, then made with --parents.
        let e = c
            .put(&src, "/a/b/x.bin", false, true)
            .expect_err("no parent");
        assert!(e.contains("web:/a/b/x.bin: no such file"), "{e}");
        c.put(&src, "/a/b/x.bin", true, true).expect("put");
        // Into an existing directory: keeps the local name.
        let v = c.put(&src, "/a", false, true).expect("put into dir");
        assert_eq!(v["path"], "/a/src.bin");
        let out = dir.path().join("out.bin");
        c.get("/a/b/x.bin", &out).expect("get");
        assert_eq!(std::fs::read(&out).expect("read"), data);
        let l = c.list("/a").expect("ls");
        let names: Vec<_> = l["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| (e["name"].clone(), e["size"].clone()))
            .collect();
        assert_eq!(
            names,
            [(json!("b"), json!(0)), (json!("src.bin"), json!(200_000))]
        );
        let e = c.remove("/a", false, false).expect_err("not empty");
        assert!(e.contains("directory not empty"), "{e}");
        assert_eq!(c.remove("/a", true, false).expect("rm -r"), 4);
        assert!(c.stat("/a").expect("stat").is_none());
    }

    #[test]
    fn errors_name_the_path_and_the_errno() {
        let mut t = local();
        let mut c = Client::new(&mut t, 1, 0, "web");
        let e = c.mkdir("/x/../y", false).expect_err("dotdot");
        assert!(e.starts_with("web:/x/../y: invalid argument"), "{e}");
        let e = c
            .get("/nope", Path::new("/tmp/never-written"))
            .expect_err("missing");
        assert_eq!(e, "web:/nope: no such file or directory");
        c.mkdir("/d/e", true).expect("mkdir -p");
        c.mkdir("/d/e", true).expect("mkdir -p again");
        assert!(
            c.mkdir("/d/e", false)
                .expect_err("exists")
                .contains("file exists")
        );
    }

    #[test]
    fn vnodes_do_not_see_each_other() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("f");
        std::fs::write(&src, b"one").expect("write");
        let mut t = local();
        Client::new(&mut t, 1, 0, "a")
            .put(&src, "/f", false, true)
            .expect("put a");
        std::fs::write(&src, b"two!").expect("write");
        Client::new(&mut t, 2, 0, "b")
            .put(&src, "/f", false, true)
            .expect("put b");
        let out = dir.path().join("o");
        Client::new(&mut t, 1, 0, "a")
            .get("/f", &out)
            .expect("get a");
        assert_eq!(std::fs::read(&out).expect("read"), b"one");
        Client::new(&mut t, 3, 0, "c")
            .get("/f", &out)
            .expect_err("c has no /f");
    }

    /// The local handler, failing calls of opcode `op` after `budget` of them went through;
    /// `dead`: every call after that fails too (the component is gone).
    struct Flaky<'a> {
        inner: &'a mut Local,
        op: u32,
        budget: usize,
        dead: bool,
        failing: bool,
    }

    impl Transport for Flaky<'_> {
        fn call(&mut self, op: u32, req: &[u8], out: &mut [u8]) -> Result<usize, CallError> {
            if op == self.op {
                if self.budget == 0 {
                    self.failing = true;
                } else {
                    self.budget -= 1;
                }
            }
            if self.failing && (op == self.op || self.dead) {
                return Err(CallError::Failed(
                    "component 1 failed during the request".into(),
                ));
            }
            self.inner.call(op, req, out)
        }
    }

    fn flaky(inner: &mut Local, op: u32, budget: usize, dead: bool) -> Flaky<'_> {
        Flaky {
            inner,
            op,
            budget,
            dead,
            failing: false,
        }
    }

    fn names(c: &mut Client<'_, impl Transport>, dir: &str) -> Vec<String> {
        let mut v: Vec<String> = c
            .readdir(dir)
            .expect("readdir")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_failed_put_leaves_the_old_file_and_no_partial_one() {
        set_component_names([(1, "m0".to_string()), (12, "s3".to_string())]);
        let dir = tempfile::tempdir().expect("tempdir");
        let old = dir.path().join("old");
        let new = dir.path().join("new");
        std::fs::write(&old, b"the old contents").expect("write");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&new, &data).expect("write");
        let mut t = local();
        Client::new(&mut t, 1, 0, "web")
            .put(&old, "/f", false, true)
            .expect("put old");
        // Fails mid-way through the data, and at the fsync, and at the rename; each time the
        // component is still there to remove the temporary file.
        for (op, budget) in [(proto::WRITE, 3), (proto::FSYNC, 0), (proto::RENAME, 0)] {
            let mut f = flaky(&mut t, op, budget, false);
            let e = Client::new(&mut f, 1, 0, "web")
                .put(&new, "/f", false, true)
                .expect_err("fails");
            assert_eq!(e, "web:/f: m0 failed during the request", "op {op}");
            let mut c = Client::new(&mut t, 1, 0, "web");
            assert_eq!(names(&mut c, "/"), ["f"], "op {op}: a partial copy is left");
            let out = dir.path().join("check");
            c.get("/f", &out).expect("get");
            assert_eq!(std::fs::read(&out).expect("read"), b"the old contents");
        }
        // The component dies: the temporary file cannot be removed, and the error says where
        // it is; `ls` marks it; the old file is intact.
        let mut f = flaky(&mut t, proto::WRITE, 2, true);
        let e = Client::new(&mut f, 1, 0, "web")
            .put(&new, "/f", false, true)
            .expect_err("fails");
        let mut c = Client::new(&mut t, 1, 0, "web");
        let left = names(&mut c, "/");
        assert_eq!(left.len(), 2, "{left:?}");
        let tmp = left.iter().find(|n| n.as_str() != "f").expect("temp");
        assert!(
            tmp.starts_with(".f.lego-tmp-") && is_temp_name(tmp),
            "{tmp}"
        );
        assert_eq!(
            e,
            format!(
                "web:/f: m0 failed during the request; the incomplete copy web:/{tmp} could not \
                 be removed (m0 failed during the request): `lego rm web:/{tmp}` removes it"
            )
        );
        let l = c.list("/").expect("ls");
        assert_eq!(l["entries"][0]["name"], json!(tmp));
        assert_eq!(l["entries"][0]["incomplete"], true);
        assert_eq!(l["entries"][1]["incomplete"], false);
        // A failure after the rename: the new file is complete, in place, maybe not durable.
        let mut f = flaky(&mut t, proto::FSYNC, 1, false);
        let e = Client::new(&mut f, 1, 0, "web")
            .put(&new, "/f", false, true)
            .expect_err("fails");
        assert!(e.ends_with("`lego sync web:/f` makes it so)"), "{e}");
        let out = dir.path().join("check");
        Client::new(&mut t, 1, 0, "web")
            .get("/f", &out)
            .expect("get");
        assert_eq!(std::fs::read(&out).expect("read"), data);
    }

    #[test]
    fn a_failed_get_leaves_the_destination_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&src, &data).expect("write");
        let mut t = local();
        Client::new(&mut t, 1, 0, "web")
            .put(&src, "/f", false, true)
            .expect("put");
        let dest = dir.path().join("dest");
        std::fs::write(&dest, b"precious").expect("write");
        std::fs::set_permissions(&dest, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        let mut f = flaky(&mut t, proto::READ, 2, true);
        let e = Client::new(&mut f, 1, 0, "web")
            .get("/f", &dest)
            .expect_err("fails");
        assert!(e.starts_with("web:/f: "), "{e}");
        assert_eq!(std::fs::read(&dest).expect("read"), b"precious");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left.len(), 2, "a temporary file is left: {left:?}");
        // A good get replaces it whole, keeping its permissions.
        Client::new(&mut t, 1, 0, "web")
            .get("/f", &dest)
            .expect("get");
        assert_eq!(std::fs::read(&dest).expect("read"), data);
        let mode = std::fs::metadata(&dest).expect("stat").permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        // Through a symbolic link: the file it names is replaced, the link stays.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&src, &link).expect("symlink");
        std::fs::write(&src, b"x").expect("write");
        Client::new(&mut t, 1, 0, "web")
            .get("/f", &link)
            .expect("get via link");
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("lstat")
                .is_symlink()
        );
        assert_eq!(std::fs::read(&src).expect("read"), data);
        // Not a regular file: written in place.
        Client::new(&mut t, 1, 0, "web")
            .get("/f", Path::new("/dev/null"))
            .expect("get to /dev/null");
    }

    #[test]
    fn the_root_is_guarded_and_trees_are_listed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        std::fs::write(&src, b"12345").expect("write");
        let mut t = local();
        let mut c = Client::new(&mut t, 1, 0, "web");
        c.put(&src, "/a/b/x", true, true).expect("put");
        c.put(&src, "/y", false, true).expect("put");
        let tree = c.tree("/").expect("tree");
        let got: Vec<(String, String, u64)> = tree["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| {
                (
                    e["path"].as_str().unwrap_or("?").to_string(),
                    e["kind"].as_str().unwrap_or("?").to_string(),
                    e["size"].as_u64().unwrap_or(99),
                )
            })
            .collect();
        let want: Vec<(String, String, u64)> = [
            ("a", "dir", 0),
            ("a/b", "dir", 0),
            ("a/b/x", "file", 5),
            ("y", "file", 5),
        ]
        .iter()
        .map(|(p, k, s)| (p.to_string(), k.to_string(), *s))
        .collect();
        assert_eq!(got, want);
        assert_eq!(c.stat_value("/a").expect("stat")["kind"], "dir");
        assert_eq!(c.stat_value("/nope").expect("stat")["kind"], Value::Null);
        let e = c.remove("/", false, false).expect_err("root");
        assert!(e.contains("the root of a vNode cannot be removed"), "{e}");
        let e = c.remove("/", true, false).expect_err("root -r");
        assert!(e.contains("--no-preserve-root"), "{e}");
        assert_eq!(names(&mut c, "/"), ["a", "y"]);
        assert_eq!(c.remove("/", true, true).expect("empty it"), 4);
        assert!(names(&mut c, "/").is_empty());
    }

    #[test]
    fn temporary_names_are_recognisable_and_fit() {
        let t = temp_name("data.bin");
        assert!(
            t.starts_with(".data.bin.lego-tmp-") && is_temp_name(&t),
            "{t}"
        );
        assert_ne!(temp_name("x"), temp_name("x"));
        let long = "é".repeat(127);
        let t = temp_name(&long);
        assert!(
            t.len() <= lego_fs::path::MAX_NAME && is_temp_name(&t),
            "{t}"
        );
        assert!(!is_temp_name("data.bin") && !is_temp_name(".hidden"));
    }

    #[test]
    fn errors_name_components() {
        set_component_names([(1, "m0".to_string()), (12, "s3".to_string())]);
        let mut t = local();
        let c = Client::new(&mut t, 1, 12, "web");
        assert_eq!(
            c.err("/x", CallError::Status(proto::status_of(errno::EHOSTDOWN))),
            "web:/x: its storage s3 is unreachable"
        );
        assert_eq!(
            name_components("component 12 failed; component 1 did not answer; component 7"),
            "s3 failed; m0 did not answer; component 7"
        );
        assert_eq!(name_components("components"), "components");
    }
}
