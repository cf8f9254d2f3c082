//! The manager's control protocol: one JSON request per line on its Unix socket, one JSON reply
//! per line (`{"ok": ...}` or `{"error": "..."}`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

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
    /// Run a program; after the reply the connection carries its streams (`sessions`).
    Run(super::sessions::RunRequest),
    /// The processes of every pComponent.
    Ps,
    /// A signal for one process.
    Signal {
        /// The process.
        pid: u32,
        /// The signal (1..=64).
        sig: u32,
    },
}

/// How often a waiting client looks at the manager (stopped, dead) while it waits for an
/// answer.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// What `lego` answers a request that was in flight when the cluster was brought down.
pub fn brought_down(name: &str) -> String {
    format!("cluster `{name}` was brought down (`lego down`) during the request")
}

/// `Some(error)` if cluster `dir`'s manager is stopped (SIGSTOP, a debugger): it would take
/// connections and never answer them.
fn stopped(dir: &ClusterDir, name: &str) -> Option<anyhow::Error> {
    let pid = super::procs::manager_pid(dir)?;
    super::procs::is_stopped(pid).then(|| {
        anyhow::anyhow!(
            "the manager of cluster `{name}` (pid {pid}) is stopped: `kill -CONT {pid}` resumes \
             it, `lego down --name {name}` ends the cluster"
        )
    })
}

/// Sends one request to cluster `dir`'s manager and returns its answer. A manager that is
/// stopped or dies while the request waits is reported within [`CHECK_EVERY`]; one that does
/// not answer in `timeout` is reported as such.
pub fn request(dir: &ClusterDir, name: &str, req: &Request, timeout: Duration) -> Result<Value> {
    let sock = dir.socket();
    if let Some(e) = stopped(dir, name) {
        return Err(e);
    }
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
    s.set_read_timeout(Some(CHECK_EVERY.min(timeout).max(Duration::from_millis(1))))
        .context("socket timeout")?;
    // A manager that is dying (SIGKILL: its threads exit one by one) may still accept the
    // connection and then drop it unanswered: that is "not running", not a protocol error;
    // one that removed its directory was brought down by `lego down`.
    let dead = || -> Result<Value> {
        if !dir.exists() {
            // What `lego down` asked for: the manager removes its directory just before it
            // answers.
            if *req == Request::Down {
                return Ok(Value::String("down".into()));
            }
            bail!("{}", brought_down(name));
        }
        if super::procs::manager_pid(dir).is_some_and(super::procs::alive) {
            bail!(
                "the manager of cluster `{name}` closed the connection without answering (see \
                 {})",
                dir.daemon_log().display()
            );
        }
        bail!("the manager of cluster `{name}` is not running; `lego down --name {name}` cleans up")
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
        return if hung_up(&e) {
            dead()
        } else {
            Err(anyhow::Error::new(e).context("sending the request"))
        };
    }
    let deadline = Instant::now() + timeout;
    let mut reader = BufReader::new(&s);
    let mut reply = Vec::new();
    loop {
        match reader.read_until(b'\n', &mut reply) {
            Ok(_) if reply.ends_with(b"\n") => break,
            Ok(0) => return dead(),
            Ok(_) => {}
            Err(e) if hung_up(&e) => return dead(),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                if let Some(e) = stopped(dir, name) {
                    return Err(e);
                }
                if !dir.exists()
                    || super::procs::manager_pid(dir).is_some_and(|p| !super::procs::alive(p))
                {
                    return dead();
                }
                if Instant::now() >= deadline {
                    bail!(
                        "the manager of cluster `{name}` did not answer within {} s (see {})",
                        timeout.as_secs(),
                        dir.daemon_log().display()
                    );
                }
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("no answer from the manager of `{name}`")));
            }
        }
    }
    let v: Value = serde_json::from_slice(&reply).context("garbled answer from the manager")?;
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
