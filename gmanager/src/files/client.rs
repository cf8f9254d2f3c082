//! The file protocol's client side, as the host tools use it: one call per request to the
//! vNode's buffer-cache mComponent (which forwards to its sComponent). The transport is a
//! trait so the logic is tested on the host against the storage monitor's own request handler.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use lego_proto::fs::{
    self as proto, DIR_END, FsRequest, FsStat, FsStatFs, MAX_IO, Request, bench_page, errno,
    errno_of, errno_text, flags, kind, parse_dir,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zerocopy::{FromBytes, IntoBytes};

use super::remote::{basename, join};

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
}

/// Where a request applies.
#[derive(Clone, Copy, Debug, Default)]
struct At {
    offset: u64,
    len: u32,
    flags: u32,
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
                Some(n) => format!("{}:{path}: {}", self.label, errno_text(n)),
                None => format!(
                    "{}:{path}: the server failed the request (status {s})",
                    self.label
                ),
            },
            CallError::Failed(why) => format!("{}:{path}: {why}", self.label),
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
                mode: 0o644,
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

    /// Copies `local` in.
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
        if parents
            && let Some((parent, _)) = path.rsplit_once('/')
            && !parent.is_empty()
        {
            self.mkdir(parent, true)?;
        }
        let create = At {
            flags: flags::CREATE | flags::TRUNC,
            ..At::default()
        };
        self.req(proto::OPEN, &path, "", create, b"")
            .map_err(|e| self.err(&path, e))?;
        let mut chunk = vec![0u8; MAX_IO];
        let mut off = 0u64;
        loop {
            let n = read_full(&mut f, &mut chunk)
                .map_err(|e| format!("reading {}: {e}", local.display()))?;
            if n == 0 {
                break;
            }
            self.req(
                proto::WRITE,
                &path,
                "",
                At {
                    offset: off,
                    ..At::default()
                },
                &chunk[..n],
            )
            .map_err(|e| self.err(&path, e))?;
            off += n as u64;
        }
        if fsync {
            self.simple(proto::FSYNC, &path, "", 0)?;
        }
        Ok(json!({
            "path": path,
            "bytes": off,
            "ms": t0.elapsed().as_secs_f64() * 1e3,
        }))
    }

    /// Copies `path` out to `local`.
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
        let mut out = std::fs::File::create(&local)
            .map_err(|e| format!("cannot write {}: {e}", local.display()))?;
        let mut off = 0u64;
        loop {
            let n = self
                .req(
                    proto::READ,
                    path,
                    "",
                    At {
                        offset: off,
                        len: MAX_IO as u32,
                        flags: 0,
                    },
                    b"",
                )
                .map_err(|e| self.err(path, e))?;
            if n == 0 {
                break;
            }
            out.write_all(&self.reply[..n])
                .map_err(|e| format!("writing {}: {e}", local.display()))?;
            off += n as u64;
            if n < MAX_IO {
                break;
            }
        }
        out.sync_all()
            .map_err(|e| format!("writing {}: {e}", local.display()))?;
        Ok(json!({
            "path": path,
            "local": local,
            "bytes": off,
            "ms": t0.elapsed().as_secs_f64() * 1e3,
        }))
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
            });
        }
        Ok(json!({ "path": path, "kind": kind_name(st.kind), "entries": entries }))
    }

    /// Removes a file, an empty directory, or (`recursive`) a tree. Returns the paths removed.
    pub fn remove(&mut self, path: &str, recursive: bool) -> Result<u64, String> {
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
                n += self.remove(&join(path, &name), true)?;
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
                    flags: 0,
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
            FileOp::Remove { path, recursive } => self
                .remove(path, *recursive)
                .map(|n| json!({ "path": path, "removed": n })),
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
        let e = c.remove("/a", false).expect_err("not empty");
        assert!(e.contains("directory not empty"), "{e}");
        assert_eq!(c.remove("/a", true).expect("rm -r"), 4);
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
}
