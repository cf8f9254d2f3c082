//! Programs running in the cluster, as the managers see them: each has a *session*, the
//! control connection of the `lego run` that started it, over which its stdin comes in and its
//! stdout, stderr and end go out. The fabric thread serves the pComponents' requests against
//! the sessions (`OUTPUT`, `INPUT`, `EXITED`); the connection's threads move the bytes.
//!
//! After the `run` request's JSON reply, the connection carries frames: a kind byte, a
//! little-endian `u32` length, the payload (see [`frame`]).

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use lego_proto::fs::status_of;
use lego_proto::proc::{self as pp, Exited, OwnerBytes, ProcStats};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zerocopy::FromBytes;

/// Frame kinds.
pub mod frame {
    /// Client -> manager: stdin bytes.
    pub const STDIN: u8 = 1;
    /// Client -> manager: stdin ended.
    pub const STDIN_EOF: u8 = 2;
    /// Client -> manager: a signal for the program (`u32`).
    pub const SIGNAL: u8 = 3;
    /// Client -> manager: its stdout is closed (a pipe whose reader left).
    pub const STDOUT_CLOSED: u8 = 4;
    /// Manager -> client: stdout bytes.
    pub const STDOUT: u8 = 1;
    /// Manager -> client: stderr bytes.
    pub const STDERR: u8 = 2;
    /// Manager -> client: the program ended (JSON, see [`super::end_json`]).
    pub const END: u8 = 3;
    /// Largest payload.
    pub const MAX: u32 = 1 << 20;
}

/// Stdin bytes held for a program before the client is made to wait.
const STDIN_BUFFER: usize = 1 << 20;
/// Output frames queued for a client before the program is made to wait.
const OUT_FRAMES: usize = 256;

/// What `lego run` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    /// The vNode.
    pub vnode: String,
    /// The program's path in it.
    pub path: String,
    /// argv (argv[0] included).
    pub args: Vec<String>,
    /// The environment.
    pub env: Vec<String>,
    /// Working directory in the vNode.
    pub cwd: String,
    /// ExCache bytes (0: the pComponent's default).
    pub excache: u64,
    /// Associativity (0: default).
    pub ways: u32,
    /// `fifo`, `lru`, `random`.
    pub policy: String,
    /// `lego_proto::proc::start_flags`.
    pub flags: u32,
    /// Terminal rows and columns.
    pub winsize: (u16, u16),
    /// A pComponent by name (default: GPM's choice).
    pub on: Option<String>,
}

/// One running program's session.
#[derive(Debug)]
pub struct Session {
    /// Where it runs.
    pub pcomp: u32,
    /// Its home mComponent.
    pub home: u32,
    stdin: VecDeque<u8>,
    stdin_eof: bool,
    stdout_closed: bool,
    out: SyncSender<(u8, Vec<u8>)>,
}

/// The last process id handed out (programs started and children forked share the space).
static LAST_PID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(99);

/// A new cluster-wide process id (100 and up; the owners' page index takes 29 bits).
pub fn new_pid() -> u32 {
    use std::sync::atomic::Ordering;
    let mut last = LAST_PID.load(Ordering::Relaxed);
    loop {
        let next = if last >= MAX_PID { 100 } else { last + 1 };
        match LAST_PID.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(now) => last = now,
        }
    }
}

/// The largest id the mComponents' page index takes (29 bits).
const MAX_PID: u32 = (1 << 29) - 1;

/// `NEW_PID`: an id for a forked child, in its parent's session (the session must be open).
pub fn on_new_pid(sessions: &Sessions, req: &[u8], reply: &mut [u8]) -> Result<usize, u32> {
    let (r, _) = pp::NewPid::read_from_prefix(req).map_err(|_| status_of(22))?;
    let open = sessions
        .lock()
        .map(|s| s.contains_key(&r.session))
        .unwrap_or(false);
    if !open {
        return Err(status_of(3)); // ESRCH: its `lego run` is gone
    }
    let pid = new_pid();
    let out = reply.get_mut(..4).ok_or(status_of(22))?;
    out.copy_from_slice(&pid.to_le_bytes());
    Ok(4)
}

/// Every session, by pid.
pub type Sessions = Arc<Mutex<HashMap<u32, Session>>>;

/// Registers a session; the returned receiver feeds the client's connection.
pub fn open(sessions: &Sessions, pid: u32, pcomp: u32, home: u32) -> Receiver<(u8, Vec<u8>)> {
    let (tx, rx) = sync_channel(OUT_FRAMES);
    if let Ok(mut s) = sessions.lock() {
        s.insert(
            pid,
            Session {
                pcomp,
                home,
                stdin: VecDeque::new(),
                stdin_eof: false,
                stdout_closed: false,
                out: tx,
            },
        );
    }
    rx
}

/// Ends a session with a message (the program could not run, or its pComponent failed).
pub fn fail(sessions: &Sessions, pid: u32, how: u32, code: u32, msg: &str) {
    if let Some(s) = sessions.lock().ok().and_then(|mut s| s.remove(&pid)) {
        let v = json!({"how": how_name(how), "code": code, "message": msg});
        let _ = s.out.send((frame::END, v.to_string().into_bytes()));
    }
}

/// The sessions of programs on `pcomp` (when it failed).
pub fn on_component(sessions: &Sessions, pcomp: u32) -> Vec<(u32, u32)> {
    sessions
        .lock()
        .map(|s| {
            s.iter()
                .filter(|(_, x)| x.pcomp == pcomp)
                .map(|(&pid, x)| (pid, x.home))
                .collect()
        })
        .unwrap_or_default()
}

fn how_name(how: u32) -> &'static str {
    match how {
        pp::end::EXITED => "exited",
        pp::end::SIGNALED => "signaled",
        _ => "not_started",
    }
}

/// `OUTPUT` from a pComponent.
pub fn on_output(sessions: &Sessions, req: &[u8]) -> Result<usize, u32> {
    let (h, data) = pp::Output::read_from_prefix(req).map_err(|_| status_of(22))?;
    let mut s = sessions.lock().map_err(|_| status_of(5))?;
    let Some(x) = s.get_mut(&h.pid) else {
        return Err(status_of(32));
    };
    if h.fd == 1 && x.stdout_closed {
        return Err(status_of(32));
    }
    let kind = if h.fd == 2 {
        frame::STDERR
    } else {
        frame::STDOUT
    };
    match x.out.try_send((kind, data.to_vec())) {
        Ok(()) => Ok(0),
        // The client reads slowly: the program waits and writes again.
        Err(TrySendError::Full(_)) => Err(status_of(11)),
        Err(TrySendError::Disconnected(_)) => Err(status_of(32)),
    }
}

/// `INPUT` from a pComponent: what stdin has now, end of file, or "again".
pub fn on_input(sessions: &Sessions, req: &[u8], reply: &mut [u8]) -> Result<usize, u32> {
    let h = pp::Input::read_from_bytes(req).map_err(|_| status_of(22))?;
    let mut s = sessions.lock().map_err(|_| status_of(5))?;
    let Some(x) = s.get_mut(&h.pid) else {
        return Ok(0);
    };
    if x.stdin.is_empty() {
        return if x.stdin_eof {
            Ok(0)
        } else {
            Err(pp::INPUT_AGAIN)
        };
    }
    let n = x.stdin.len().min(h.max as usize).min(reply.len());
    for (i, b) in x.stdin.drain(..n).enumerate() {
        reply[i] = b;
    }
    Ok(n)
}

/// The end of a program as JSON for the client.
pub fn end_json(
    h: &Exited,
    stats: &ProcStats,
    syscalls: &[(u32, u32)],
    owners: &[OwnerBytes],
    msg: &str,
) -> Value {
    let calls: serde_json::Map<String, Value> = syscalls
        .iter()
        .map(|&(n, c)| {
            (
                lego_linux::sysno::name(u64::from(n))
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("syscall_{n}")),
                json!(c),
            )
        })
        .collect();
    json!({
        "how": how_name(h.how),
        "code": h.code,
        "fault_addr": h.fault_addr,
        "fault_rip": h.fault_rip,
        "message": msg,
        "stats": {
            "wall_ns": stats.wall_ns,
            "user_ns": stats.user_ns,
            "system_ns": stats.system_ns,
            "syscalls": stats.syscalls,
            "faults": stats.faults,
            "misses": stats.misses,
            "plocal_fills": stats.plocal,
            "hits": stats.hits,
            "evictions": stats.evictions,
            "flushes": stats.flushes,
            "piggybacks": stats.piggybacks,
            "tlb_flushes": stats.tlb_flushes,
            "miss_p50_ns": stats.miss_p50_ns,
            "miss_p99_ns": stats.miss_p99_ns,
            "excache_bytes": stats.excache_bytes,
            "ways": stats.ways,
            "interrupts": stats.interrupts,
            "fault_around": stats.fault_around,
            "by_syscall": calls,
            "owners": owners.iter().map(|o| json!({
                "owner": crate::files::client::component_name(o.owner),
                "fetched": o.fetched,
                "flushed": o.flushed,
            })).collect::<Vec<_>>(),
        }
    })
}

/// `EXITED` from a pComponent; returns the pid and its home (for freeing memory).
pub fn on_exited(sessions: &Sessions, req: &[u8]) -> Result<usize, u32> {
    let (h, rest) = Exited::read_from_prefix(req).map_err(|_| status_of(22))?;
    let (stats, mut rest) = ProcStats::read_from_prefix(rest).unwrap_or_default_pair();
    let mut syscalls = Vec::new();
    for _ in 0..h.nsyscalls.min(1024) {
        if rest.len() < 8 {
            break;
        }
        let n = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let c = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        syscalls.push((n, c));
        rest = &rest[8..];
    }
    let mut owners = Vec::new();
    for _ in 0..h.nowners.min(64) {
        match OwnerBytes::read_from_prefix(rest) {
            Ok((o, r)) => {
                owners.push(o);
                rest = r;
            }
            Err(_) => break,
        }
    }
    let msg = String::from_utf8_lossy(&rest[..rest.len().min(h.msg_len as usize)]).into_owned();
    if let Some(s) = sessions.lock().ok().and_then(|mut s| s.remove(&h.pid)) {
        let v = end_json(&h, &stats, &syscalls, &owners, &msg);
        let _ = s.out.send((frame::END, v.to_string().into_bytes()));
    }
    Ok(0)
}

trait OrDefault<'a> {
    fn unwrap_or_default_pair(self) -> (ProcStats, &'a [u8]);
}

impl<'a, E> OrDefault<'a> for Result<(ProcStats, &'a [u8]), E> {
    fn unwrap_or_default_pair(self) -> (ProcStats, &'a [u8]) {
        self.unwrap_or((ProcStats::default(), &[]))
    }
}

fn write_frame(s: &mut impl Write, kind: u8, data: &[u8]) -> std::io::Result<()> {
    let mut h = [0u8; 5];
    h[0] = kind;
    h[1..].copy_from_slice(&(data.len() as u32).to_le_bytes());
    s.write_all(&h)?;
    s.write_all(data)
}

/// Reads one frame (`None` at the end of the stream or on a malformed one).
pub fn read_frame(s: &mut impl Read) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 5];
    s.read_exact(&mut h).ok()?;
    let len = u32::from_le_bytes([h[1], h[2], h[3], h[4]]);
    if len > frame::MAX {
        return None;
    }
    let mut data = vec![0u8; len as usize];
    s.read_exact(&mut data).ok()?;
    Some((h[0], data))
}

/// Writes a frame.
pub fn send_frame(s: &mut impl Write, kind: u8, data: &[u8]) -> std::io::Result<()> {
    write_frame(s, kind, data)
}

/// Serves a `lego run` connection once its program is started: stdin and signals in (a
/// thread of its own), output and the end out, until the end is sent. `signal` forwards a
/// signal to the program.
pub fn stream(
    conn: UnixStream,
    sessions: Sessions,
    pid: u32,
    rx: Receiver<(u8, Vec<u8>)>,
    signal: impl Fn(u32, u32) + Send + 'static,
) {
    if let Ok(mut reader) = conn.try_clone() {
        let sessions = sessions.clone();
        std::thread::spawn(move || {
            loop {
                let Some((kind, data)) = read_frame(&mut reader) else {
                    // The client went away: the program's stdin ends, its output has nowhere
                    // to go.
                    if let Ok(mut s) = sessions.lock()
                        && let Some(x) = s.get_mut(&pid)
                    {
                        x.stdin_eof = true;
                        x.stdout_closed = true;
                    }
                    signal(pid, 1);
                    return;
                };
                match kind {
                    frame::STDIN => loop {
                        let full = {
                            let Ok(mut s) = sessions.lock() else { return };
                            let Some(x) = s.get_mut(&pid) else { return };
                            if x.stdin.len() + data.len() <= STDIN_BUFFER || x.stdin.is_empty() {
                                x.stdin.extend(data.iter());
                                false
                            } else {
                                true
                            }
                        };
                        if !full {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    },
                    frame::STDIN_EOF => {
                        if let Ok(mut s) = sessions.lock()
                            && let Some(x) = s.get_mut(&pid)
                        {
                            x.stdin_eof = true;
                        }
                    }
                    frame::STDOUT_CLOSED => {
                        if let Ok(mut s) = sessions.lock()
                            && let Some(x) = s.get_mut(&pid)
                        {
                            x.stdout_closed = true;
                        }
                    }
                    frame::SIGNAL if data.len() == 4 => {
                        signal(
                            pid,
                            u32::from_le_bytes([data[0], data[1], data[2], data[3]]),
                        );
                    }
                    _ => {}
                }
            }
        });
    }
    let mut w = conn;
    for (kind, data) in rx {
        if write_frame(&mut w, kind, &data).is_err() {
            if let Ok(mut s) = sessions.lock()
                && let Some(x) = s.get_mut(&pid)
            {
                x.stdout_closed = true;
            }
            continue;
        }
        if kind == frame::END {
            break;
        }
    }
    let _ = w.flush();
}
