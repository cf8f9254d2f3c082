//! The processes a cluster runs (manager and VMMs), as its state file names them, and whether
//! they are still alive: for `lego down` after a dead manager, and for telling a dead manager
//! from one that dropped a request.

use serde_json::Value;

use super::paths::ClusterDir;

/// Whether process `pid` exists and is not a zombie (a killed process's leader shows as one
/// while its other threads still exit).
pub fn alive(pid: u64) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

fn state(dir: &ClusterDir) -> Option<Value> {
    let text = std::fs::read_to_string(dir.state()).ok()?;
    serde_json::from_str(&text).ok()
}

/// The manager's pid, if the state file names one.
pub fn manager_pid(dir: &ClusterDir) -> Option<u64> {
    state(dir)?["manager_pid"].as_u64()
}

/// Every process of the cluster: the components' VMMs, then the manager.
pub fn cluster_pids(dir: &ClusterDir) -> Vec<u64> {
    let Some(v) = state(dir) else {
        return Vec::new();
    };
    let mut pids: Vec<u64> = v["components"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["pid"].as_u64()).collect())
        .unwrap_or_default();
    pids.extend(v["manager_pid"].as_u64());
    pids
}
