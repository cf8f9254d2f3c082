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

/// Whether process `pid` is alive and a `lego` process (a pid in a stale file may have been
/// reused by something else since).
pub fn lego_alive(pid: u64) -> bool {
    alive(pid)
        && std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("lego"))
}

/// Whether process `pid` is stopped (SIGSTOP, SIGTSTP) or stopped by a debugger.
pub fn is_stopped(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        // The state follows the command name, which is in parentheses and may hold anything.
        s.rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next())
            .is_some_and(|c| c == 'T' || c == 't')
    })
}

fn json_file(path: &std::path::Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn state(dir: &ClusterDir) -> Option<Value> {
    json_file(&dir.state())
}

/// The manager's pid, if the state file names one (else the spec file `lego up` wrote when it
/// started the manager, for a manager that never wrote its state).
pub fn manager_pid(dir: &ClusterDir) -> Option<u64> {
    state(dir)
        .and_then(|v| v["manager_pid"].as_u64())
        .or_else(|| json_file(&dir.spec())?["manager_pid"].as_u64())
}

/// Every process of the cluster: the components' VMMs, then the manager.
pub fn cluster_pids(dir: &ClusterDir) -> Vec<u64> {
    let Some(v) = state(dir) else {
        return manager_pid(dir).into_iter().collect();
    };
    let mut pids: Vec<u64> = v["components"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["pid"].as_u64()).collect())
        .unwrap_or_default();
    pids.extend(v["manager_pid"].as_u64());
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_process_is_seen_stopped() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = u64::from(child.id());
        assert!(alive(pid) && !is_stopped(pid));
        // SAFETY: signals to the child this test started.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) };
        let t = std::time::Instant::now();
        while !is_stopped(pid) && t.elapsed() < std::time::Duration::from_secs(5) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(is_stopped(pid), "SIGSTOP not seen");
        // SAFETY: as above.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        let _ = child.wait();
    }
}
