//! Running clusters from tests: each [`Rt`] has its own runtime and state directories, so tests
//! never see each other's clusters or the user's.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use super::{lego, stderr, stdout};

/// A private runtime and state directory for `lego`.
pub struct Rt {
    pub dir: tempfile::TempDir,
    pub state: tempfile::TempDir,
}

/// A test that fails half way must not leave its clusters running: take down whatever is in
/// the runtime directory.
impl Drop for Rt {
    fn drop(&mut self) {
        let Ok(dir) = std::fs::read_dir(self.dir.path()) else {
            return;
        };
        for e in dir.flatten() {
            if let Some(name) = e.file_name().to_str() {
                let _ = self.lego(&["down", "--name", name]);
            }
        }
    }
}

impl Rt {
    pub fn new() -> Rt {
        Rt {
            dir: tempfile::tempdir().expect("create a runtime directory"),
            state: tempfile::tempdir().expect("create a state directory"),
        }
    }

    pub fn lego(&self, args: &[&str]) -> Output {
        lego()
            .args(args)
            .env("LEGO_RUNTIME_DIR", self.dir.path())
            .env("LEGO_STATE_DIR", self.state.path())
            .env_remove("LEGO_CLUSTER")
            .output()
            .expect("run lego")
    }

    /// Asserts that the runtime and state directories are empty again (`what` left nothing
    /// behind).
    pub fn assert_nothing_left(&self, what: &str) {
        for d in [self.root(), self.state.path()] {
            let left: Vec<_> = std::fs::read_dir(d)
                .expect("read the runtime and state directories")
                .collect();
            assert!(left.is_empty(), "{what} left {left:?} behind");
        }
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let o = self.lego(args);
        assert!(o.status.success(), "lego {args:?}: {}", stderr(&o));
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("lego {args:?}: bad JSON ({e}): {}", stdout(&o)))
    }

    pub fn states(&self, name: &str) -> Vec<(String, String)> {
        let s = self.json(&["status", "--name", name, "--json"]);
        s["components"]
            .as_array()
            .expect("status has components")
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().expect("component name").into(),
                    c["state"].as_str().expect("component state").into(),
                )
            })
            .collect()
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

pub fn pids(status: &Value) -> Vec<u32> {
    let mut v: Vec<u32> = status["components"]
        .as_array()
        .expect("status has components")
        .iter()
        .filter_map(|c| c["pid"].as_u64())
        .map(|p| p as u32)
        .collect();
    v.extend(status["manager_pid"].as_u64().map(|p| p as u32));
    v
}

/// Alive and not a zombie (this machine's init does not reap orphans).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

pub fn assert_gone(rt: &Rt, name: &str, pids: &[u32]) {
    for &p in pids {
        assert!(
            !alive(p),
            "process {p} of cluster {name} is still alive after `lego down`"
        );
    }
    assert!(
        !rt.root().join(name).exists(),
        "runtime directory of {name} left behind"
    );
    let fds_left = std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count();
    assert!(
        fds_left < 64,
        "descriptors leaking in the test process: {fds_left}"
    );
}

pub fn all(states: &[(String, String)], state: &str) -> bool {
    states.iter().all(|(_, s)| s == state)
}
