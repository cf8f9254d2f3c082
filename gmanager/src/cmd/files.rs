//! `lego put/get/ls/rm/mkdir/mv`: file requests the cluster's manager runs against the vNode's
//! buffer-cache mComponent. Local paths are made absolute here: the manager opens them.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::cli::{ClusterArg, GetArgs, LsArgs, MkdirArgs, MvArgs, PutArgs, RmArgs, SyncArgs};
use crate::cluster::paths::ClusterDir;
use crate::cluster::protocol::{Request, request};
use crate::exit;
use crate::files::client::{Entry, FileOp};
use crate::files::remote::{self, Remote};
use crate::size::human;

/// File requests may move a lot of data.
const LONG: Duration = Duration::from_secs(600);

fn send(c: &ClusterArg, r: &Remote, op: FileOp) -> Result<Value> {
    let dir = ClusterDir::of(&c.name);
    let req = Request::File {
        vnode: r.vnode.clone(),
        op,
    };
    request(&dir, &c.name, &req, LONG)
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("{}: cannot make it absolute", p.display()))
}

fn remote_arg(s: &str) -> Result<Remote> {
    remote::parse(s).map_err(anyhow::Error::msg)
}

fn rate(v: &Value) -> String {
    let bytes = v["bytes"].as_u64().unwrap_or(0);
    let ms = v["ms"].as_f64().unwrap_or(0.0);
    let mib_s = if ms > 0.0 {
        bytes as f64 / f64::from(1 << 20) / (ms / 1e3)
    } else {
        0.0
    };
    format!("{} in {ms:.1} ms ({mib_s:.1} MiB/s)", human(bytes))
}

/// A put that failed because the cluster went down left the old file; say so, and where an
/// incomplete copy may be.
fn put_failed(e: anyhow::Error, vnode: &str, path: &str) -> anyhow::Error {
    if e.to_string().contains("was brought down") {
        let name = remote::basename(path);
        anyhow::anyhow!(
            "{e:#}: {vnode}:{path} was not replaced (an incomplete copy .{name}{}* may be left \
             next to it; `lego ls` marks it)",
            crate::files::client::TMP_MARK
        )
    } else {
        e
    }
}

/// `lego put`.
pub fn put(a: &PutArgs) -> Result<u8> {
    let mut r = remote_arg(&a.remote)?;
    let local = absolute(&a.local)?;
    if local.is_dir() {
        if a.recursive {
            return put_tree(a, &r, &local);
        }
        bail!(
            "{}: is a directory (`lego put -r` copies a directory tree)",
            a.local.display()
        );
    }
    // `web:/dir/` means into that directory, under the local file's name (like cp).
    if a.remote.ends_with('/') && r.path != "/" {
        let name = a
            .local
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: no usable file name", a.local.display()))?;
        r.path = remote::join(&r.path, name);
    }
    let v = send(
        &a.cluster,
        &r,
        FileOp::Put {
            local,
            path: r.path.clone(),
            parents: a.parents,
            no_fsync: a.no_fsync,
        },
    )
    .map_err(|e| put_failed(e, &r.vnode, &r.path))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} -> {}:{}: {}",
            a.local.display(),
            r.vnode,
            v["path"].as_str().unwrap_or(&r.path),
            rate(&v)
        );
    }
    Ok(exit::OK)
}

/// One entry of a local tree.
struct LocalItem {
    /// Path below the tree's root, `/`-separated.
    rel: String,
    /// Absolute path.
    abs: PathBuf,
    dir: bool,
    size: u64,
}

/// Everything below local directory `root`, depth first, each directory before what it holds,
/// names sorted. Symbolic links are followed (a loop is skipped); anything that is not a
/// regular file or a directory, or whose name is not UTF-8, is skipped with the reason.
fn local_tree(root: &Path) -> Result<(Vec<LocalItem>, Vec<String>)> {
    fn visit(
        dir: &Path,
        rel: &str,
        stack: &mut Vec<(u64, u64)>,
        items: &mut Vec<LocalItem>,
        skipped: &mut Vec<String>,
    ) -> Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the directory {}", dir.display()))?
            .collect::<std::io::Result<Vec<_>>>()
            .with_context(|| format!("cannot read the directory {}", dir.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let abs = e.path();
            let Some(name) = e.file_name().to_str().map(String::from) else {
                skipped.push(format!("{}: its name is not UTF-8", abs.display()));
                continue;
            };
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let m = match std::fs::metadata(&abs) {
                Ok(m) => m,
                Err(err) => {
                    skipped.push(format!("{}: {err}", abs.display()));
                    continue;
                }
            };
            if m.is_dir() {
                let id = (m.dev(), m.ino());
                if stack.contains(&id) {
                    skipped.push(format!("{}: a symbolic link loop", abs.display()));
                    continue;
                }
                items.push(LocalItem {
                    rel: rel.clone(),
                    abs: abs.clone(),
                    dir: true,
                    size: 0,
                });
                stack.push(id);
                visit(&abs, &rel, stack, items, skipped)?;
                stack.pop();
            } else if m.is_file() {
                items.push(LocalItem {
                    rel,
                    abs,
                    dir: false,
                    size: m.len(),
                });
            } else {
                skipped.push(format!(
                    "{}: not a regular file or a directory",
                    abs.display()
                ));
            }
        }
        Ok(())
    }
    let m = std::fs::metadata(root).with_context(|| format!("cannot read {}", root.display()))?;
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    let mut stack = vec![(m.dev(), m.ino())];
    visit(root, "", &mut stack, &mut items, &mut skipped)?;
    Ok((items, skipped))
}

/// Runs `work` on each of `items` with `jobs` threads (the manager runs file requests side by
/// side); after the first error no new item is started. Returns what succeeded and the first
/// error.
fn parallel<I: Sync, T: Send>(
    items: &[I],
    jobs: usize,
    work: impl Fn(&I) -> Result<T> + Sync,
) -> (Vec<T>, Option<anyhow::Error>) {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let done = Mutex::new(Vec::new());
    let failed = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    match work(item) {
                        Ok(t) => {
                            if let Ok(mut d) = done.lock() {
                                d.push(t);
                            }
                        }
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            if let Ok(mut f) = failed.lock() {
                                f.get_or_insert(e);
                            }
                        }
                    }
                }
            });
        }
    });
    (
        done.into_inner().unwrap_or_default(),
        failed.into_inner().unwrap_or_default(),
    )
}

/// What a copy of a tree did, for its summary.
#[derive(Default)]
struct TreeCopy {
    files: u64,
    dirs: u64,
    bytes: u64,
    skipped: Vec<String>,
}

impl TreeCopy {
    fn summary(&self, from: &str, to: &str, t0: Instant) -> Value {
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        json!({
            "from": from,
            "to": to,
            "files": self.files,
            "dirs": self.dirs,
            "bytes": self.bytes,
            "skipped": self.skipped,
            "ms": ms,
        })
    }

    fn print(&self, v: &Value, json: bool) -> Result<()> {
        if json {
            println!("{}", serde_json::to_string_pretty(v)?);
            return Ok(());
        }
        for s in &self.skipped {
            eprintln!("note: skipped {s}");
        }
        let skipped = match self.skipped.len() {
            0 => String::new(),
            n => format!(", {n} skipped"),
        };
        println!(
            "{} -> {}: {} files, {} directories{skipped}: {}",
            v["from"].as_str().unwrap_or("?"),
            v["to"].as_str().unwrap_or("?"),
            self.files,
            self.dirs,
            rate(v)
        );
        Ok(())
    }

    /// Error `e` with how far the copy got.
    fn stopped(&self, e: anyhow::Error, total: usize) -> anyhow::Error {
        anyhow::anyhow!(
            "{e:#} (stopped after {} of {total} files; each file copied is complete)",
            self.files
        )
    }
}

fn remote_kind(c: &ClusterArg, r: &Remote, path: &str) -> Result<Option<String>> {
    let v = send(
        c,
        r,
        FileOp::Stat {
            path: path.to_string(),
        },
    )?;
    Ok(v["kind"].as_str().map(String::from))
}

/// `lego put -r DIR VNODE:PATH`: like `cp -r`, into PATH if it is a directory (or ends with
/// `/`), else as PATH. Each file is a put of its own (all or nothing).
fn put_tree(a: &PutArgs, r: &Remote, local: &Path) -> Result<u8> {
    let t0 = Instant::now();
    let (items, skipped) = local_tree(local)?;
    let kind = remote_kind(&a.cluster, r, &r.path)?;
    let into = a.remote.ends_with('/') || kind.as_deref() == Some("dir");
    let root = match local.file_name().and_then(|n| n.to_str()) {
        Some(name) if into => remote::join(&r.path, name),
        None if into => r.path.clone(),
        _ => r.path.clone(),
    };
    // What is there already: directories are kept, files replaced one by one.
    let existing: std::collections::HashMap<String, String> =
        match remote_kind(&a.cluster, r, &root)?.as_deref() {
            Some("dir") => {
                let v = send(&a.cluster, r, FileOp::Tree { path: root.clone() })?;
                let entries: Vec<Value> = serde_json::from_value(v["entries"].clone())
                    .context("garbled tree from the manager")?;
                entries
                    .iter()
                    .filter_map(|e| {
                        Some((
                            e["path"].as_str()?.to_string(),
                            e["kind"].as_str()?.to_string(),
                        ))
                    })
                    .collect()
            }
            Some(_) => bail!("{}:{root}: exists and is not a directory", r.vnode),
            None => {
                send(
                    &a.cluster,
                    r,
                    FileOp::Mkdir {
                        path: root.clone(),
                        parents: a.parents,
                    },
                )?;
                Default::default()
            }
        };
    let mut done = TreeCopy {
        skipped,
        ..TreeCopy::default()
    };
    // Directories first, parents before children; then the files, side by side.
    let (dirs, files): (Vec<&LocalItem>, Vec<&LocalItem>) = items.iter().partition(|i| i.dir);
    let total = files.len();
    for item in dirs {
        let path = remote::join(&root, &item.rel);
        match existing.get(&item.rel).map(String::as_str) {
            Some("dir") => {}
            Some(_) => {
                return Err(done.stopped(
                    anyhow::anyhow!("{}:{path}: exists and is not a directory", r.vnode),
                    total,
                ));
            }
            None => {
                let op = FileOp::Mkdir {
                    path: path.clone(),
                    parents: false,
                };
                send(&a.cluster, r, op).map_err(|e| done.stopped(e, total))?;
            }
        }
        done.dirs += 1;
    }
    let (copied, failed) = parallel(&files, a.jobs, |item| {
        let path = remote::join(&root, &item.rel);
        if existing.get(&item.rel).map(String::as_str) == Some("dir") {
            bail!(
                "{}:{path}: is a directory, {} is a file",
                r.vnode,
                item.abs.display()
            );
        }
        let op = FileOp::Put {
            local: item.abs.clone(),
            path: path.clone(),
            parents: false,
            no_fsync: a.no_fsync,
        };
        let v = send(&a.cluster, r, op).map_err(|e| put_failed(e, &r.vnode, &path))?;
        Ok(v["bytes"].as_u64().unwrap_or(item.size))
    });
    done.files = copied.len() as u64;
    done.bytes = copied.iter().sum();
    if let Some(e) = failed {
        return Err(done.stopped(e, total));
    }
    let v = done.summary(
        &local.display().to_string(),
        &format!("{}:{root}", r.vnode),
        t0,
    );
    done.print(&v, a.json)?;
    Ok(exit::OK)
}

/// `lego get`.
pub fn get(a: &GetArgs) -> Result<u8> {
    let r = remote_arg(&a.remote)?;
    let local = absolute(&a.local)?;
    if a.recursive {
        return get_tree(a, &r, &local);
    }
    let v = send(
        &a.cluster,
        &r,
        FileOp::Get {
            path: r.path.clone(),
            local,
        },
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}:{} -> {}: {}",
            r.vnode,
            r.path,
            v["local"].as_str().unwrap_or("?"),
            rate(&v)
        );
    }
    Ok(exit::OK)
}

/// `lego get -r VNODE:PATH DIR`: like `cp -r`, into DIR if it exists, else as DIR. Each file
/// is a get of its own (all or nothing); incomplete copies left by failed puts are skipped.
fn get_tree(a: &GetArgs, r: &Remote, local: &Path) -> Result<u8> {
    let t0 = Instant::now();
    let v = send(
        &a.cluster,
        r,
        FileOp::Tree {
            path: r.path.clone(),
        },
    )?;
    if v["kind"] != "dir" {
        bail!(
            "{}:{}: not a directory (`lego get` without -r copies a file)",
            r.vnode,
            r.path
        );
    }
    let entries: Vec<Value> =
        serde_json::from_value(v["entries"].clone()).context("garbled tree from the manager")?;
    let root = if local.is_dir() && r.path != "/" {
        local.join(remote::basename(&r.path))
    } else {
        local.to_path_buf()
    };
    let mkdir = |p: &Path| -> Result<()> {
        match std::fs::create_dir(p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && p.is_dir() => Ok(()),
            Err(e) => Err(anyhow::anyhow!(
                "cannot create the directory {}: {e}",
                p.display()
            )),
        }
    };
    mkdir(&root)?;
    let mut done = TreeCopy::default();
    let mut files = Vec::new();
    for e in &entries {
        let rel = e["path"]
            .as_str()
            .context("garbled tree from the manager")?;
        if e["kind"] == "dir" {
            mkdir(&root.join(rel))?;
            done.dirs += 1;
        } else if e["incomplete"] == true {
            done.skipped.push(format!(
                "{}:{}: an incomplete copy left by a failed put",
                r.vnode,
                remote::join(&r.path, rel)
            ));
        } else {
            files.push(rel);
        }
    }
    let total = files.len();
    let (copied, failed) = parallel(&files, a.jobs, |rel| {
        let path = remote::join(&r.path, rel);
        let dest = root.join(rel);
        if dest.is_dir() {
            bail!(
                "{}: is a directory, {}:{path} is a file",
                dest.display(),
                r.vnode
            );
        }
        let v = send(&a.cluster, r, FileOp::Get { path, local: dest })?;
        Ok(v["bytes"].as_u64().unwrap_or(0))
    });
    done.files = copied.len() as u64;
    done.bytes = copied.iter().sum();
    if let Some(e) = failed {
        return Err(done.stopped(e, total));
    }
    let v = done.summary(
        &format!("{}:{}", r.vnode, r.path),
        &root.display().to_string(),
        t0,
    );
    done.print(&v, a.json)?;
    Ok(exit::OK)
}

/// `lego ls`.
pub fn ls(a: &LsArgs) -> Result<u8> {
    let r = remote_arg(&a.remote)?;
    let v = send(
        &a.cluster,
        &r,
        FileOp::List {
            path: r.path.clone(),
        },
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(exit::OK);
    }
    let entries: Vec<Entry> =
        serde_json::from_value(v["entries"].clone()).context("garbled listing")?;
    for e in entries {
        if e.kind == "dir" {
            println!("{:>10}  {}/", "-", e.name);
        } else if e.incomplete {
            println!(
                "{:>10}  {}  (incomplete: left by a failed put; `lego rm` removes it)",
                e.size, e.name
            );
        } else {
            println!("{:>10}  {}", e.size, e.name);
        }
    }
    Ok(exit::OK)
}

/// `lego rm`.
pub fn rm(a: &RmArgs) -> Result<u8> {
    let r = remote_arg(&a.remote)?;
    let v = send(
        &a.cluster,
        &r,
        FileOp::Remove {
            path: r.path.clone(),
            recursive: a.recursive,
            root: a.no_preserve_root,
        },
    )?;
    let n = v["removed"].as_u64().unwrap_or(0);
    if r.path == "/" {
        println!("emptied {}:/ ({n} removed)", r.vnode);
    } else if n > 1 {
        println!("removed {}:{} and {} below it", r.vnode, r.path, n - 1);
    } else {
        println!("removed {}:{}", r.vnode, r.path);
    }
    Ok(exit::OK)
}

/// `lego mkdir`.
pub fn mkdir(a: &MkdirArgs) -> Result<u8> {
    let r = remote_arg(&a.remote)?;
    send(
        &a.cluster,
        &r,
        FileOp::Mkdir {
            path: r.path.clone(),
            parents: a.parents,
        },
    )?;
    Ok(exit::OK)
}

/// `lego mv`.
pub fn mv(a: &MvArgs) -> Result<u8> {
    let r = remote_arg(&a.from)?;
    // The target is in the same vNode: `web:/b` or just `/b`.
    let to = match remote::parse(&a.to) {
        Ok(t) if t.vnode == r.vnode => t.path,
        Ok(t) => anyhow::bail!(
            "cannot move between vNodes ({} to {}): get and put instead",
            r.vnode,
            t.vnode
        ),
        Err(_) => remote_arg(&format!("{}:{}", r.vnode, a.to))?.path,
    };
    // `/dir/` means into that directory, under the same name (like mv(1)).
    let to = match r.path.rsplit('/').next() {
        Some(name) if a.to.ends_with('/') && !name.is_empty() => remote::join(&to, name),
        _ => to,
    };
    // The storage answers EINVAL, whose text is about malformed paths: say it here.
    if lego_fs::path::is_inside(&to, &r.path) {
        anyhow::bail!(
            "{}:{}: cannot move a directory into itself ({to})",
            r.vnode,
            r.path
        );
    }
    send(
        &a.cluster,
        &r,
        FileOp::Rename {
            path: r.path.clone(),
            to,
        },
    )?;
    Ok(exit::OK)
}

/// `lego sync`.
pub fn sync(a: &SyncArgs) -> Result<u8> {
    let r = remote_arg(&a.remote)?;
    send(
        &a.cluster,
        &r,
        FileOp::Fsync {
            path: r.path.clone(),
        },
    )?;
    Ok(exit::OK)
}
