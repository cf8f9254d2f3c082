//! Where a cluster's files live.
//!
//! - Runtime files (socket, pids, logs): `$LEGO_RUNTIME_DIR/<name>`, else
//!   `$XDG_RUNTIME_DIR/lego/<name>`, else `/tmp/lego-<uid>/<name>`. `lego down` removes them.
//! - Durable state (the sComponents' disk images, the vNode table): `$LEGO_STATE_DIR/<name>`,
//!   else `$XDG_STATE_HOME/lego/<name>`, else `~/.local/state/lego/<name>`. It outlives
//!   `lego down`, so a cluster brought up again under the same name finds its files;
//!   `lego down --wipe` removes it.

use std::path::{Path, PathBuf};

/// The root of all clusters' runtime directories for this user.
pub fn runtime_root() -> PathBuf {
    if let Some(d) = std::env::var_os("LEGO_RUNTIME_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        return PathBuf::from(d).join("lego");
    }
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    PathBuf::from(format!("/tmp/lego-{uid}"))
}

/// The root of all clusters' durable state for this user.
pub fn state_root() -> PathBuf {
    if let Some(d) = std::env::var_os("LEGO_STATE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(d).join("lego");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".local/state/lego");
    }
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    PathBuf::from(format!("/tmp/lego-state-{uid}"))
}

/// A cluster's durable state: disk images and the vNode table.
#[derive(Debug, Clone)]
pub struct StateDir {
    /// The directory.
    pub root: PathBuf,
}

impl StateDir {
    /// The state directory of cluster `name`.
    pub fn of(name: &str) -> StateDir {
        StateDir {
            root: state_root().join(name),
        }
    }

    /// Component `name`'s disk image.
    pub fn disk(&self, component: &str) -> PathBuf {
        self.root.join(format!("{component}.img"))
    }

    /// The vNode table.
    pub fn vnodes(&self) -> PathBuf {
        self.root.join("vnodes.json")
    }
}

/// A cluster's runtime directory and the files in it.
#[derive(Debug, Clone)]
pub struct ClusterDir {
    /// The directory.
    pub root: PathBuf,
}

impl ClusterDir {
    /// The directory of cluster `name`.
    pub fn of(name: &str) -> ClusterDir {
        ClusterDir {
            root: runtime_root().join(name),
        }
    }

    /// The manager's control socket.
    pub fn socket(&self) -> PathBuf {
        self.root.join("control.sock")
    }

    /// What `lego down` needs if the manager died: its pid and the components' pids.
    pub fn state(&self) -> PathBuf {
        self.root.join("state.json")
    }

    /// The manager's own log.
    pub fn daemon_log(&self) -> PathBuf {
        self.root.join("manager.log")
    }

    /// A component's console log.
    pub fn log(&self, component: &str) -> PathBuf {
        self.root.join("logs").join(format!("{component}.log"))
    }

    /// Whether the directory exists.
    pub fn exists(&self) -> bool {
        self.root.exists()
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.root
    }
}
