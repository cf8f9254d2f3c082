//! The manager's control protocol: one JSON request per line on its Unix socket, one JSON reply
//! per line (`{"ok": ...}` or `{"error": "..."}`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::paths::ClusterDir;
use crate::files::client::FileOp;

/// Requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "req", rename_all = "snake_case")]
pub enum Request {
    /// The cluster's state.
    Status,
    /// Returns once every component is ready (or one failed, or the time is up).
    WaitReady {
        /// Milliseconds to wait.
        timeout_ms: u64,
    },
    /// SIGKILL a component's VMM (a hardware failure); returns once it is seen failed.
    Kill {
        /// Its name.
        component: String,
    },
    /// Start a failed or killed component again; returns once it is ready.
    Restart {
        /// Its name.
        component: String,
    },
    /// Stop everything and remove the runtime directory.
    Down,
    /// Create a vNode.
    VnodeCreate {
        /// Its name (default `vnode<N>`).
        name: Option<String>,
        /// The sComponent to hold its storage (default: the storage manager's pick).
        storage: Option<String>,
    },
    /// List vNodes.
    VnodeList,
    /// Remove a vNode by name or id.
    VnodeRemove {
        /// Name or id.
        vnode: String,
    },
    /// A file operation in a vNode.
    File {
        /// The vNode's name or id.
        vnode: String,
        /// What to do.
        op: FileOp,
    },
}

/// Sends one request to cluster `dir`'s manager and returns its answer.
pub fn request(dir: &ClusterDir, name: &str, req: &Request, timeout: Duration) -> Result<Value> {
    let sock = dir.socket();
    let mut s = UnixStream::connect(&sock).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!(
            "no cluster named `{name}` is running (start one with `lego up --name {name}`)"
        ),
        std::io::ErrorKind::ConnectionRefused => anyhow::anyhow!(
            "the manager of cluster `{name}` is not running; `lego down --name {name}` cleans up"
        ),
        _ => anyhow::anyhow!(
            "cannot reach the manager of cluster `{name}` at {}: {e}",
            sock.display()
        ),
    })?;
    s.set_read_timeout(Some(timeout))
        .context("socket timeout")?;
    // A manager that is dying (SIGKILL: its threads exit one by one) may still accept the
    // connection and then drop it unanswered: that is "not running", not a protocol error.
    let dead = || {
        if super::procs::manager_pid(dir).is_some_and(super::procs::alive) {
            anyhow::anyhow!(
                "the manager of cluster `{name}` closed the connection without answering (see \
                 {})",
                dir.daemon_log().display()
            )
        } else {
            anyhow::anyhow!(
                "the manager of cluster `{name}` is not running; `lego down --name {name}` \
                 cleans up"
            )
        }
    };
    let hung_up = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::ConnectionAborted
        )
    };
    let mut line = serde_json::to_string(req)?;
    line.push('\n');
    if let Err(e) = s.write_all(line.as_bytes()) {
        return Err(if hung_up(&e) {
            dead()
        } else {
            anyhow::Error::new(e).context("sending the request")
        });
    }
    let mut reply = String::new();
    match BufReader::new(&s).read_line(&mut reply) {
        Ok(0) => return Err(dead()),
        Ok(_) => {}
        Err(e) if hung_up(&e) => return Err(dead()),
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("no answer from the manager of `{name}`"))
            );
        }
    }
    let v: Value = serde_json::from_str(&reply).context("garbled answer from the manager")?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        bail!("{e}");
    }
    Ok(v.get("ok").cloned().unwrap_or(Value::Null))
}

/// Encodes a reply line.
pub fn reply(r: Result<Value, String>) -> String {
    let v = match r {
        Ok(v) => serde_json::json!({ "ok": v }),
        Err(e) => serde_json::json!({ "error": e }),
    };
    format!("{v}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged() {
        let j = serde_json::to_string(&Request::Kill {
            component: "m1".into(),
        })
        .unwrap();
        assert_eq!(j, r#"{"req":"kill","component":"m1"}"#);
        let back: Request = serde_json::from_str(&j).unwrap();
        assert_eq!(
            back,
            Request::Kill {
                component: "m1".into()
            }
        );
        assert_eq!(reply(Err("nope".into())), "{\"error\":\"nope\"}\n");
    }
}
