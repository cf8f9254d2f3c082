//! The managers on the fabric: their RPC engine, on the host endpoint, in a thread of its own.
//! It connects to every component, serves their load reports (kept in [`Loads`]), and
//! reconnects to a component's next incarnation after a failure.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use lego_proto::mgmt::LoadReport;
use lego_proto::op;
use lego_rpc::Env;
use lego_rpc::rpc::{Rpc, RpcError};
use zerocopy::{FromBytes, IntoBytes};

use crate::cluster::protocol::reply;
use crate::cluster::sessions::{self, Sessions};
use crate::fabric::Bell;
use crate::fabric::host::HostEndpoint;
use crate::files::client::{CallError, Client, FileOp, Transport};

/// The last report of each component and when it arrived.
pub type Loads = Arc<Mutex<HashMap<u32, (LoadReport, Instant)>>>;

/// Where a file request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTarget {
    /// The vNode's id.
    pub vnode: u32,
    /// Its name (for messages).
    pub label: String,
    /// The sComponent holding its files.
    pub storage: u32,
    /// The mComponent holding their buffer cache: where requests are sent.
    pub cache: u32,
}

/// What the daemon tells the thread.
#[derive(Debug)]
pub enum FabricCmd {
    /// Connect to these components (their halves complete as they come up).
    Connect(Vec<u32>),
    /// Run a file request; the answer (a reply line) goes to `reply`.
    File {
        /// Where.
        target: FileTarget,
        /// What.
        op: FileOp,
        /// The control connection waiting for the answer.
        reply: Sender<String>,
    },
    /// Start a program on a pComponent (`lego_proto::proc::START`); a failure ends its session.
    Start {
        /// The pComponent.
        pcomp: u32,
        /// The process.
        pid: u32,
        /// The request.
        req: Vec<u8>,
    },
    /// Signal a program.
    Signal {
        /// Its pComponent.
        pcomp: u32,
        /// The process.
        pid: u32,
        /// The signal.
        sig: u32,
    },
    /// The processes of these pComponents (id, name); with `signal` (pid, sig), that
    /// process gets the signal instead. The answer (a reply line) goes to `reply`.
    Ps {
        /// The pComponents.
        pcomps: Vec<(u32, String)>,
        /// A signal for one of their processes.
        signal: Option<(u32, u32)>,
        /// The control connection waiting for the answer.
        reply: Sender<String>,
    },
    /// Free a process's memory at its home (its pComponent died).
    MemExit {
        /// The home mComponent.
        home: u32,
        /// The process.
        pid: u32,
    },
    /// One file-protocol call for a worker thread running a file operation (internal).
    Call(Call),
    /// Stop.
    Stop,
}

/// A call a worker thread hands the fabric thread, which keeps several in flight.
#[derive(Debug)]
pub struct Call {
    to: u32,
    op: u32,
    req: Vec<u8>,
    max_out: usize,
    reply: mpsc::Sender<Result<Vec<u8>, CallError>>,
}

/// Calls with the fabric thread in flight at once (each holds a staging buffer).
const IN_FLIGHT: usize = 8;

/// The transport of file operations run on worker threads: each call goes through the
/// fabric thread, so operations on different files (and different vNodes) interleave.
struct MuxTransport {
    to: u32,
    handle: FabricHandle,
}

impl Transport for MuxTransport {
    fn call(&mut self, op: u32, req: &[u8], out: &mut [u8]) -> Result<usize, CallError> {
        let (tx, rx) = mpsc::channel();
        self.handle
            .send(FabricCmd::Call(Call {
                to: self.to,
                op,
                req: req.to_vec(),
                max_out: out.len(),
                reply: tx,
            }))
            .map_err(|_| CallError::Failed("the managers' fabric thread stopped".into()))?;
        let bytes = rx
            .recv()
            .map_err(|_| CallError::Failed("the managers' fabric thread stopped".into()))??;
        let dst = out
            .get_mut(..bytes.len())
            .ok_or_else(|| CallError::Failed("reply larger than asked".into()))?;
        dst.copy_from_slice(&bytes);
        Ok(bytes.len())
    }
}

/// What a failed call says, in the file client's terms.
fn call_error(to: u32, e: RpcError) -> CallError {
    match e {
        RpcError::Remote(s) => CallError::Status(s),
        RpcError::PeerDead => {
            CallError::Failed(format!("component {to} failed during the request"))
        }
        RpcError::Timeout => CallError::Failed(format!("component {to} did not answer in time")),
        RpcError::NotConnected => CallError::Failed(format!(
            "the managers are not connected to component {to} yet"
        )),
        other => CallError::Failed(format!("fabric error: {other:?}")),
    }
}

/// File-protocol calls to one component, from the managers' endpoint. Requests must be in the
/// endpoint's shared memory (peers read them from there), so they are staged in `staging`.
struct FabricTransport<'a> {
    rpc: &'a mut Rpc<HostEndpoint>,
    to: u32,
    staging: &'a mut [u8],
    /// For benchmarks: the reports and the target whose counters are taken at each mark.
    loads: &'a Loads,
    target: &'a FileTarget,
    marks: Vec<Option<[LoadReport; 2]>>,
}

impl Transport for FabricTransport<'_> {
    fn call(&mut self, op: u32, req: &[u8], out: &mut [u8]) -> Result<usize, CallError> {
        let stage = self
            .staging
            .get_mut(..req.len())
            .ok_or(CallError::Failed("request too large".into()))?;
        stage.copy_from_slice(req);
        self.rpc
            .call(self.to, op, stage, out)
            .map_err(|e| call_error(self.to, e))
    }

    fn bench_mark(&mut self) {
        let r = fresh_reports(self.rpc, self.loads, self.target);
        self.marks.push(r);
    }
}

fn serve(
    env: &'static HostEndpoint,
    loads: Loads,
    sessions: Sessions,
    cmds: Receiver<FabricCmd>,
    handle: FabricHandle,
    bell: Bell,
) {
    let mut rpc = match Rpc::new(env) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("the managers cannot join the fabric: {e:?}");
            return;
        }
    };
    let table = loads.clone();
    rpc.handle(op::LOAD_REPORT, move |ctx, req, _| {
        let r = LoadReport::read_from_prefix(req)
            .map_err(|_| lego_proto::rpc::status::BAD_REQUEST)?
            .0;
        if let Ok(mut t) = table.lock() {
            t.insert(ctx.peer, (r, Instant::now()));
        }
        bell.ring();
        Ok(0)
    });
    // The programs' streams and ends.
    let s = sessions.clone();
    rpc.handle(lego_proto::proc::OUTPUT, move |_, req, _| {
        sessions::on_output(&s, req)
    });
    let s = sessions.clone();
    rpc.handle(lego_proto::proc::INPUT, move |_, req, reply| {
        sessions::on_input(&s, req, reply)
    });
    let s = sessions.clone();
    rpc.handle(lego_proto::proc::EXITED, move |_, req, _| {
        sessions::on_exited(&s, req)
    });
    let s = sessions.clone();
    rpc.handle(lego_proto::proc::NEW_PID, move |_, req, reply| {
        sessions::on_new_pid(&s, req, reply)
    });
    // Staging for file requests, in the endpoint's shared memory.
    let staging = env
        .alloc(lego_proto::rpc::MAX_PAYLOAD as u64)
        // SAFETY: `alloc` hands out MAX_PAYLOAD bytes of our mapping, ours alone from now on.
        .map(|(_, p)| unsafe { std::slice::from_raw_parts_mut(p, lego_proto::rpc::MAX_PAYLOAD) });
    let Some(staging) = staging else {
        tracing::error!("the managers cannot allocate their file staging buffer");
        return;
    };
    // Staging buffers of calls in flight for worker threads.
    let mut stages: Vec<&mut [u8]> = (0..IN_FLIGHT)
        .filter_map(|_| env.alloc(lego_proto::rpc::MAX_PAYLOAD as u64))
        // SAFETY: as above, each buffer ours alone.
        .map(|(_, p)| unsafe { std::slice::from_raw_parts_mut(p, lego_proto::rpc::MAX_PAYLOAD) })
        .collect();
    let mut queued: std::collections::VecDeque<Call> = std::collections::VecDeque::new();
    let mut flying: Vec<(lego_rpc::rpc::Ticket, &mut [u8], Call)> = Vec::new();
    // File requests from the host tools wait on one reply each: a long one (64 MiB) should
    // not trip the default 5 s deadline per call of a component that is merely busy.
    rpc.timeout_ns = 30_000_000_000;
    let mut wanted: Vec<u32> = Vec::new();
    loop {
        while let Ok(cmd) = cmds.try_recv() {
            match cmd {
                FabricCmd::Connect(ids) => {
                    for id in &ids {
                        if !wanted.contains(id) {
                            wanted.push(*id);
                        }
                    }
                    if let Err((p, e)) = rpc.connect_async(&ids) {
                        tracing::warn!("managers: cannot prepare a connection to {p}: {e:?}");
                    }
                }
                FabricCmd::Call(c) => queued.push_back(c),
                FabricCmd::File {
                    target,
                    op,
                    reply: tx,
                } if !matches!(op, FileOp::Bench { .. }) => {
                    // On a worker thread: its calls interleave with everyone else's.
                    let h = handle.clone();
                    let spawned =
                        std::thread::Builder::new()
                            .name("file-op".into())
                            .spawn(move || {
                                let mut t = MuxTransport {
                                    to: target.cache,
                                    handle: h,
                                };
                                let mut c = Client::new(
                                    &mut t,
                                    target.vnode,
                                    target.storage,
                                    &target.label,
                                );
                                let _ = tx.send(reply(c.run(&op)));
                            });
                    if let Err(e) = spawned {
                        tracing::error!("managers: cannot start a file operation: {e}");
                    }
                }
                FabricCmd::File {
                    target,
                    op,
                    reply: tx,
                } => {
                    // Benchmarks run here alone: they time the fabric and take the components'
                    // counters around their operations.
                    let mut t = FabricTransport {
                        rpc: &mut rpc,
                        to: target.cache,
                        staging: &mut *staging,
                        loads: &loads,
                        target: &target,
                        marks: Vec::new(),
                    };
                    let mut c = Client::new(&mut t, target.vnode, target.storage, &target.label);
                    let mut answer = c.run(&op);
                    if let (Ok(v), FileOp::Bench { ops, .. }, [Some(before), Some(after)]) =
                        (answer.as_mut(), &op, t.marks.as_slice())
                    {
                        v["breakdown"] = breakdown(before, after, *ops);
                    }
                    let _ = tx.send(reply(answer));
                }
                FabricCmd::Start { pcomp, pid, req } => {
                    let r = staged_call(&mut rpc, staging, pcomp, lego_proto::proc::START, &req);
                    if let Err(e) = r {
                        sessions::fail(
                            &sessions,
                            pid,
                            lego_proto::proc::end::NOT_STARTED,
                            5,
                            &format!("the pComponent did not take the program: {e}"),
                        );
                    }
                }
                FabricCmd::Signal { pcomp, pid, sig } => {
                    let req = lego_proto::proc::Signal { pid, sig };
                    let _ = staged_call(
                        &mut rpc,
                        staging,
                        pcomp,
                        lego_proto::proc::SIGNAL,
                        req.as_bytes(),
                    );
                }
                FabricCmd::Ps {
                    pcomps,
                    signal,
                    reply: tx,
                } => {
                    let _ = tx.send(reply(ps(&mut rpc, staging, &pcomps, signal)));
                }
                FabricCmd::MemExit { home, pid } => {
                    let req = lego_proto::mem::PidRequest { pid, _pad: 0 };
                    let _ = staged_call(
                        &mut rpc,
                        staging,
                        home,
                        lego_proto::mem::EXIT,
                        req.as_bytes(),
                    );
                }
                FabricCmd::Stop => return,
            }
        }
        // Calls for the workers: start what fits, collect what came back.
        while !stages.is_empty() {
            let Some(c) = queued.pop_front() else { break };
            let Some(stage) = stages.pop() else { break };
            let Some(s) = stage.get_mut(..c.req.len()) else {
                let _ = c
                    .reply
                    .send(Err(CallError::Failed("request too large".into())));
                stages.push(stage);
                continue;
            };
            s.copy_from_slice(&c.req);
            match rpc.call_async(c.to, c.op, s) {
                Ok(t) => flying.push((t, stage, c)),
                Err(e) => {
                    let _ = c.reply.send(Err(call_error(c.to, e)));
                    stages.push(stage);
                }
            }
        }
        rpc.poll();
        let mut i = 0;
        while i < flying.len() {
            let mut out = vec![0u8; flying[i].2.max_out.min(lego_proto::rpc::MAX_PAYLOAD)];
            match rpc.try_wait(flying[i].0, &mut out) {
                None => i += 1,
                Some(r) => {
                    let (_, stage, c) = flying.swap_remove(i);
                    stages.push(stage);
                    let _ = c.reply.send(
                        r.map(|n| out[..n].to_vec())
                            .map_err(|e| call_error(c.to, e)),
                    );
                }
            }
        }
        for p in rpc.failed_peers() {
            rpc.disconnect(p);
            if let Ok(mut t) = loads.lock() {
                t.remove(&p);
            }
            if wanted.contains(&p) {
                let _ = rpc.connect_async(&[p]);
            }
        }
        // Commands kick the endpoint (`FabricHandle::send`), and so do membership changes:
        // nothing here needs a timer of its own.
        let now = env.now_ns();
        let busy = !flying.is_empty() || !queued.is_empty();
        rpc.idle_until(now + if busy { 1_000_000 } else { 100_000_000 });
    }
}

/// One call with its request staged in the endpoint's memory (peers read it from there).
/// `lego ps` and `lego signal`: every pComponent's table (a pComponent that does not answer
/// is left out); then, for a signal, the process's pComponent gets it.
fn ps(
    rpc: &mut Rpc<HostEndpoint>,
    staging: &mut [u8],
    pcomps: &[(u32, String)],
    signal: Option<(u32, u32)>,
) -> Result<serde_json::Value, String> {
    use lego_proto::proc::{self as pp, PsEntry};
    use zerocopy::FromBytes;
    let mut rows = Vec::new();
    let mut out = vec![0u8; lego_proto::rpc::MAX_PAYLOAD];
    for (id, name) in pcomps {
        let stage = staging.get_mut(..0).unwrap_or_default();
        let Ok(n) = rpc.call(*id, pp::PS, stage, &mut out) else {
            continue;
        };
        let size = core::mem::size_of::<PsEntry>();
        for c in out[..n].chunks_exact(size) {
            let Ok(e) = PsEntry::read_from_bytes(c) else {
                continue;
            };
            let comm_len = e.comm.iter().position(|&b| b == 0).unwrap_or(e.comm.len());
            rows.push((
                *id,
                serde_json::json!({
                    "pid": e.pid, "ppid": e.ppid, "session": e.session,
                    "component": name, "vnode": e.vnode, "home": e.home,
                    "threads": e.threads,
                    "state": char::from_u32(e.state).unwrap_or('?').to_string(),
                    "excache_bytes": e.excache, "vm_bytes": e.vm_bytes,
                    "cpu_ms": e.cpu_ns / 1_000_000,
                    "comm": String::from_utf8_lossy(&e.comm[..comm_len]),
                }),
            ));
        }
    }
    let Some((pid, sig)) = signal else {
        return Ok(serde_json::Value::Array(
            rows.into_iter().map(|(_, v)| v).collect(),
        ));
    };
    let (id, row) = rows
        .into_iter()
        .find(|(_, v)| v["pid"] == pid)
        .ok_or_else(|| format!("no process {pid} in the cluster (`lego ps` lists them)"))?;
    let req = pp::Signal {
        pid,
        sig: sig | pp::SIGNAL_ONE,
    };
    staged_call(rpc, staging, id, pp::SIGNAL, req.as_bytes())?;
    Ok(serde_json::json!({"pid": pid, "signal": sig, "component": row["component"]}))
}

fn staged_call(
    rpc: &mut Rpc<HostEndpoint>,
    staging: &mut [u8],
    to: u32,
    op: u32,
    req: &[u8],
) -> Result<usize, String> {
    let stage = staging
        .get_mut(..req.len())
        .ok_or_else(|| "request too large".to_string())?;
    stage.copy_from_slice(req);
    rpc.call(to, op, stage, &mut [])
        .map_err(|e| format!("{e:?}"))
}

/// The next load reports of a file target's mComponent and sComponent, serving the fabric
/// while they come (a report is due every `REPORT_INTERVAL_NS`); `None` after two seconds
/// without them. Reports already waiting in the rings are taken in first: they may have been
/// built before the caller's last request was served.
fn fresh_reports(
    rpc: &mut Rpc<HostEndpoint>,
    loads: &Loads,
    target: &FileTarget,
) -> Option<[LoadReport; 2]> {
    while rpc.poll() > 0 {}
    let since = Instant::now();
    let give_up = since + std::time::Duration::from_secs(2);
    loop {
        let got = loads.lock().ok().and_then(|t| {
            let fresh = |id| t.get(&id).filter(|(_, at)| *at > since).map(|(r, _)| *r);
            Some([fresh(target.cache)?, fresh(target.storage)?])
        });
        if got.is_some() || Instant::now() > give_up {
            return got;
        }
        rpc.poll();
        let now = rpc.env().now_ns();
        rpc.idle_until(now + 1_000_000);
    }
}

/// Where a benchmark's time went, per operation (means, ns): time the mComponent spent on its
/// requests, of which waiting for its calls to the sComponent, and the time the sComponent
/// spent on its requests; and how often each slept. From the counters in their load reports.
fn breakdown(before: &[LoadReport; 2], after: &[LoadReport; 2], ops: u32) -> serde_json::Value {
    let per_op = |f: fn(&LoadReport) -> u64, i: usize| {
        f(&after[i]).saturating_sub(f(&before[i])) as f64 / f64::from(ops.max(1))
    };
    serde_json::json!({
        "cache_serve_ns": per_op(|r| r.serve_ns, 0),
        "cache_call_ns": per_op(|r| r.call_ns, 0),
        "storage_serve_ns": per_op(|r| r.serve_ns, 1),
        "cache_sleeps": per_op(|r| r.sleeps, 0),
        "storage_sleeps": per_op(|r| r.sleeps, 1),
    })
}

/// The way into the thread: commands, each waking it.
#[derive(Debug, Clone)]
pub struct FabricHandle {
    tx: Sender<FabricCmd>,
    env: &'static HostEndpoint,
}

impl FabricHandle {
    /// Hands `cmd` to the thread and wakes it (it sleeps until something happens: a command, a
    /// doorbell, a membership change).
    pub fn send(&self, cmd: FabricCmd) -> Result<(), mpsc::SendError<FabricCmd>> {
        self.tx.send(cmd)?;
        self.env.kick();
        Ok(())
    }
}

/// Starts the thread. Load reports ring `bell` (the managers' main loop acts on them).
pub fn spawn(
    env: &'static HostEndpoint,
    loads: Loads,
    sessions: Sessions,
    bell: Bell,
) -> std::io::Result<FabricHandle> {
    let (tx, rx) = mpsc::channel();
    let handle = FabricHandle { tx, env };
    let own = handle.clone();
    std::thread::Builder::new()
        .name("managers-fabric".into())
        .spawn(move || serve(env, loads, sessions, rx, own, bell))?;
    Ok(handle)
}
