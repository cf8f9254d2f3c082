//! `lego put/get/ls/rm/mkdir/mv`: file requests the cluster's manager runs against the vNode's
//! buffer-cache mComponent. Local paths are made absolute here: the manager opens them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

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

/// `lego put`.
pub fn put(a: &PutArgs) -> Result<u8> {
    let mut r = remote_arg(&a.remote)?;
    let local = absolute(&a.local)?;
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
    )?;
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

/// `lego get`.
pub fn get(a: &GetArgs) -> Result<u8> {
    let r = remote_arg(&a.remote)?;
    let local = absolute(&a.local)?;
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
        },
    )?;
    println!(
        "removed {}:{} ({} entries)",
        r.vnode,
        r.path,
        v["removed"].as_u64().unwrap_or(0)
    );
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
