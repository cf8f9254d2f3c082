//! Where a cluster's runtime files live: `$LEGO_RUNTIME_DIR/<name>`, else
//! `$XDG_RUNTIME_DIR/lego/<name>`, else `/tmp/lego-<uid>/<name>`. `lego down` removes the
//! directory; nothing else is written anywhere.

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
