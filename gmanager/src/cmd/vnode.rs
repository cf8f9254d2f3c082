//! `lego vnode create|list|remove`.

use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::{StatusArgs, VnodeCommand, VnodeCreateArgs, VnodeRemoveArgs};
use crate::cluster::paths::ClusterDir;
use crate::cluster::protocol::{Request, request};
use crate::cluster::status::{VnodeStatus, print_vnodes};
use crate::exit;

const QUICK: Duration = Duration::from_secs(10);

fn create(a: &VnodeCreateArgs) -> Result<u8> {
    let dir = ClusterDir::of(&a.cluster.name);
    let req = Request::VnodeCreate {
        name: a.vnode_name.clone(),
        storage: a.storage.clone(),
    };
    let v = request(&dir, &a.cluster.name, &req, QUICK)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let n: VnodeStatus = serde_json::from_value(v).context("garbled answer")?;
        println!(
            "vNode {} (id {}, ip {}) stores its files on {} at {}",
            n.name, n.id, n.ip, n.storage, n.mount
        );
    }
    Ok(exit::OK)
}

fn list(a: &StatusArgs) -> Result<u8> {
    let dir = ClusterDir::of(&a.cluster.name);
    let v = request(&dir, &a.cluster.name, &Request::VnodeList, QUICK)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let list: Vec<VnodeStatus> = serde_json::from_value(v).context("garbled answer")?;
        print_vnodes(&list);
    }
    Ok(exit::OK)
}

fn remove(a: &VnodeRemoveArgs) -> Result<u8> {
    let dir = ClusterDir::of(&a.cluster.name);
    request(
        &dir,
        &a.cluster.name,
        &Request::VnodeRemove {
            vnode: a.vnode.clone(),
        },
        QUICK,
    )?;
    println!("vNode {} removed", a.vnode);
    Ok(exit::OK)
}

/// Runs a `lego vnode` subcommand.
pub fn run(c: &VnodeCommand) -> Result<u8> {
    match c {
        VnodeCommand::Create(a) => create(a),
        VnodeCommand::List(a) => list(a),
        VnodeCommand::Remove(a) => remove(a),
    }
}
