//! VMM child processes: `lego` runs every component guest in its own `lego vmm` process and
//! follows it through the JSON events it prints on stdout.

use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use vmm::{VmConfig, VmEvent};

/// The descriptor number a VMM child receives its coordinator socket on.
pub const INHERITED_FD: i32 = 3;

/// Called after each event a VMM child delivers (and once when it is gone): how a loop that
/// follows many children learns there is something to look at without polling them.
pub type Notify = Box<dyn Fn() + Send + 'static>;

/// A running VMM process.
#[derive(Debug)]
pub struct VmmChild {
    child: Child,
    events: mpsc::Receiver<VmEvent>,
    /// When it was spawned.
    pub spawned: Instant,
}

/// What waiting for an event gave.
#[derive(Debug)]
pub enum Next {
    /// An event.
    Event(VmEvent),
    /// The process closed its stdout (exited) without a terminal event.
    Gone,
    /// Nothing within the timeout.
    Timeout,
}

impl VmmChild {
    /// Starts `lego vmm` for `cfg`. The child's stderr (console lines, errors) is inherited.
    pub fn spawn(cfg: &VmConfig) -> Result<VmmChild> {
        Self::spawn_with_fd(cfg, None, None)
    }

    /// Like [`VmmChild::spawn`], handing the child `fd` as descriptor [`INHERITED_FD`] (the
    /// fabric coordinator's socket), and calling `notify` after each event it delivers.
    pub fn spawn_with_fd(
        cfg: &VmConfig,
        fd: Option<OwnedFd>,
        notify: Option<Notify>,
    ) -> Result<VmmChild> {
        // /proc/self/exe, not the path: a long-lived cluster manager must still start VMMs after
        // its binary was replaced on disk (a rebuild), and they must be the same version.
        let exe = std::path::PathBuf::from("/proc/self/exe");
        let json = serde_json::to_string(cfg).context("encoding the guest configuration")?;
        let spawned = Instant::now();
        let mut cmd = Command::new(exe);
        // Named as the binary (`ps`, and `lego down` recognises its processes by it).
        if let Ok(path) = std::env::current_exe() {
            cmd.arg0(path.to_string_lossy().trim_end_matches(" (deleted)"));
        }
        cmd.arg("vmm")
            .arg("--config")
            .arg(json)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // A VMM dies with whoever started it: a crashed manager leaves no guest running.
        // SAFETY: prctl is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        if let Some(fd) = fd {
            let raw = fd.as_raw_fd();
            // SAFETY: between fork and exec only async-signal-safe calls happen: dup2 (which also
            // clears close-on-exec on the new descriptor). `fd` stays open in the parent until
            // after spawn returns.
            unsafe {
                cmd.pre_exec(move || {
                    let r = if raw == INHERITED_FD {
                        libc::fcntl(raw, libc::F_SETFD, 0)
                    } else {
                        libc::dup2(raw, INHERITED_FD)
                    };
                    if r < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let child = cmd.spawn().context("cannot start the VMM process");
            drop(fd);
            return Self::follow(child?, spawned, notify);
        }
        let child = cmd.spawn().context("cannot start the VMM process")?;
        Self::follow(child, spawned, notify)
    }

    fn follow(mut child: Child, spawned: Instant, notify: Option<Notify>) -> Result<VmmChild> {
        let stdout = child.stdout.take().context("VMM stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let notify = || {
                if let Some(n) = &notify {
                    n();
                }
            };
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<VmEvent>(&line) {
                    Ok(e) => {
                        if tx.send(e).is_err() {
                            break;
                        }
                        notify();
                    }
                    Err(_) => tracing::debug!("ignoring VMM output line: {line}"),
                }
            }
            // Gone: the receiver sees the channel close once `tx` is dropped.
            drop(tx);
            notify();
        });
        Ok(VmmChild {
            child,
            events: rx,
            spawned,
        })
    }

    /// The VMM's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next event if one is waiting.
    pub fn try_next(&self) -> Next {
        match self.events.try_recv() {
            Ok(e) => Next::Event(e),
            Err(mpsc::TryRecvError::Empty) => Next::Timeout,
            Err(mpsc::TryRecvError::Disconnected) => Next::Gone,
        }
    }

    /// Waits up to `timeout` for the next event.
    pub fn next(&self, timeout: Duration) -> Next {
        match self.events.recv_timeout(timeout) {
            Ok(e) => Next::Event(e),
            Err(mpsc::RecvTimeoutError::Timeout) => Next::Timeout,
            Err(mpsc::RecvTimeoutError::Disconnected) => Next::Gone,
        }
    }

    /// Asks the VMM to stop its guest (SIGTERM).
    pub fn terminate(&self) {
        // SAFETY: kill(2) on our own child's pid; it is not reaped until `wait`, so the pid is
        // still ours.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
    }

    /// Kills the VMM outright (SIGKILL): a hardware failure of the component.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Waits for the process to exit; returns its exit code (`None` if killed by a signal).
    pub fn wait(mut self) -> Option<i32> {
        self.child.wait().ok().and_then(|s| s.code())
    }

    /// Stops the VMM: SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn shutdown(mut self, grace: Duration) -> Option<i32> {
        self.terminate();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.kill();
        self.wait()
    }
}
