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

/// Every cluster's runtime directory under the runtime root (running or left behind).
pub fn runtime_dirs() -> Vec<ClusterDir> {
    let Ok(d) = std::fs::read_dir(runtime_root()) else {
        return Vec::new();
    };
    let mut v: Vec<ClusterDir> = d
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| ClusterDir { root: e.path() })
        .collect();
    v.sort_by(|a, b| a.root.cmp(&b.root));
    v
}

/// Free space `lego up` wants in the runtime directory: the consoles' logs of a cluster's boot
/// take a few KiB per component, and they grow.
pub const MIN_RUNTIME_FREE: u64 = 1 << 20;
/// Below this much free space, a running manager reports its runtime directory as full.
pub const LOW_RUNTIME_FREE: u64 = 64 << 10;

/// Free bytes (for this user) and whether the file system is mounted read-only.
pub fn space(path: &Path) -> std::io::Result<(u64, bool)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: statvfs fills the zeroed struct from a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `c` outlives the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    Ok((free, st.f_flag & libc::ST_RDONLY != 0))
}

/// What is wrong with runtime directory `path` for a running cluster (full or read-only),
/// as a sentence, or `None`.
pub fn runtime_problem(path: &Path) -> Option<String> {
    match space(path) {
        Ok((_, true)) => Some(format!(
            "the runtime directory {} is read-only: consoles' logs and state are not written",
            path.display()
        )),
        Ok((free, false)) if free < LOW_RUNTIME_FREE => Some(format!(
            "the runtime directory {} is full ({} free): consoles' logs and state may be \
             missing what came last",
            path.display(),
            crate::size::human(free)
        )),
        Ok(_) => None,
        Err(e) => Some(format!(
            "the runtime directory {} cannot be checked: {e}",
            path.display()
        )),
    }
}

/// Writes `data` to `path` through a temporary file renamed into place: a reader sees the old
/// or the new contents, never an empty or cut file (a full file system leaves the old one).
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let r = std::fs::write(&tmp, data).and_then(|()| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
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

    /// The resolved spec `lego up` started the manager with, and the manager's pid: what
    /// admission control counts for this cluster.
    pub fn spec(&self) -> PathBuf {
        self.root.join("spec.json")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_whole_files() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("state.json");
        write_atomic(&p, b"one").expect("write");
        write_atomic(&p, b"two!").expect("rewrite");
        assert_eq!(std::fs::read(&p).expect("read"), b"two!");
        assert_eq!(std::fs::read_dir(d.path()).expect("ls").count(), 1);
        let e = write_atomic(&d.path().join("no/such/dir"), b"x").expect_err("no dir");
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn space_is_read_from_the_file_system() {
        let d = tempfile::tempdir().expect("tempdir");
        let (free, ro) = space(d.path()).expect("statvfs");
        assert!(free > 0 && !ro);
        space(Path::new("/no/such/dir")).expect_err("missing");
        assert!(runtime_problem(Path::new("/no/such/dir")).is_some());
    }
}
