//! The cluster's state as `lego status` shows it.

use serde::{Deserialize, Serialize};

use crate::size::human;

/// One component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentStatus {
    /// Name.
    pub name: String,
    /// Role name.
    pub role: String,
    /// Fabric id.
    pub id: u32,
    /// Its VMM's pid while running.
    pub pid: Option<u32>,
    /// `starting`, `booted`, `ready`, `failed`, `stopped`.
    pub state: String,
    /// Why it failed.
    pub reason: Option<String>,
    /// Guest memory.
    pub mem_bytes: u64,
    /// vCPUs.
    pub vcpus: u32,
    /// ExCache (pmon).
    pub excache_bytes: u64,
    /// Starts so far.
    pub incarnation: u32,
    /// Milliseconds since it started.
    pub uptime_ms: Option<u64>,
    /// Milliseconds from start to ready.
    pub ready_ms: Option<u64>,
    /// Reported user threads.
    pub threads: u32,
    /// Reported free memory.
    pub mem_free: u64,
    /// Reported requests served.
    pub served: u64,
    /// vNodes whose storage it holds.
    pub vnodes: u32,
    /// Milliseconds since its last report.
    pub heartbeat_age_ms: Option<u64>,
}

/// A vNode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VnodeStatus {
    /// Id (from 1).
    pub id: u32,
    /// Name.
    pub name: String,
    /// Virtual IP: base 10.66.0.0 plus the id.
    pub ip: String,
    /// The sComponent holding its storage.
    pub storage: String,
    /// Its mount point on that sComponent.
    pub mount: String,
    /// The mComponent holding its files' buffer cache.
    #[serde(default)]
    pub cache: String,
}

/// Where the managers would place things next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// GPM: the next process.
    pub process: Option<String>,
    /// GMM: the next vRegion.
    pub memory: Option<String>,
    /// GSM: the next vNode's storage.
    pub storage: Option<String>,
}

/// The whole cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// Name.
    pub name: String,
    /// Runtime directory.
    pub dir: String,
    /// The manager's pid.
    pub manager_pid: u32,
    /// Milliseconds since the manager started.
    pub uptime_ms: u64,
    /// Polling mode.
    pub poll: String,
    /// Components in id order.
    pub components: Vec<ComponentStatus>,
    /// vNodes.
    pub vnodes: Vec<VnodeStatus>,
    /// Next placements.
    pub placement: Placement,
    /// What the manager could not do (write its state or the consoles' logs): one sentence
    /// each, empty when all is well.
    #[serde(default)]
    pub warnings: Vec<String>,
}

fn secs(ms: Option<u64>) -> String {
    ms.map_or_else(|| "-".into(), |ms| format!("{:.1} s", ms as f64 / 1000.0))
}

/// Prints a vNode table.
pub fn print_vnodes(v: &[VnodeStatus]) {
    if v.is_empty() {
        println!("no vNodes (create one with `lego vnode create`)");
        return;
    }
    println!(
        "{:<4} {:<12} {:<12} {:<8} {:<6} MOUNT",
        "ID", "NAME", "IP", "STORAGE", "CACHE"
    );
    for n in v {
        println!(
            "{:<4} {:<12} {:<12} {:<8} {:<6} {}",
            n.id, n.name, n.ip, n.storage, n.cache, n.mount
        );
    }
}

/// Prints the status for humans.
pub fn print(s: &ClusterStatus) {
    let ready = s.components.iter().filter(|c| c.state == "ready").count();
    println!(
        "cluster {}: {} of {} components ready, manager pid {}, up {}, {} polling",
        s.name,
        ready,
        s.components.len(),
        s.manager_pid,
        secs(Some(s.uptime_ms)),
        s.poll
    );
    for w in &s.warnings {
        println!("warning: {w}");
    }
    println!(
        "{:<6} {:<5} {:>3} {:>8} {:<8} {:>8} {:>5} {:<18} {:>8}",
        "NAME", "ROLE", "ID", "PID", "STATE", "MEMORY", "VCPUS", "LOAD", "UPTIME"
    );
    for c in &s.components {
        let load = match (c.state.as_str(), c.role.as_str()) {
            ("ready", "pmon") => format!("{} threads", c.threads),
            ("ready", "mmon") => format!("{} free", human(c.mem_free)),
            ("ready", "smon") => format!("{} vNodes", c.vnodes),
            _ => "-".into(),
        };
        let pid = c.pid.map_or_else(|| "-".into(), |p| p.to_string());
        println!(
            "{:<6} {:<5} {:>3} {:>8} {:<8} {:>8} {:>5} {:<18} {:>8}{}",
            c.name,
            c.role,
            c.id,
            pid,
            c.state,
            human(c.mem_bytes),
            c.vcpus,
            load,
            secs(c.uptime_ms),
            c.reason
                .as_deref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        );
    }
    let p = &s.placement;
    let or_none = |x: &Option<String>| x.clone().unwrap_or_else(|| "none".into());
    println!(
        "managers: next process -> {}, next vRegion -> {}, next vNode storage -> {}",
        or_none(&p.process),
        or_none(&p.memory),
        or_none(&p.storage)
    );
    if !s.vnodes.is_empty() {
        print_vnodes(&s.vnodes);
    }
}
