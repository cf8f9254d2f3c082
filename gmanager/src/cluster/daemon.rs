//! The cluster manager: one process per cluster (`lego up` starts it in the background). It
//! starts one VMM per component, introduces them on the fabric, joins the fabric itself (the
//! global managers speak the same RPC as the monitors), tracks membership and failures, and
//! answers the CLI on its control socket.
//!
//! Failures: a VMM that exits is seen at once (its stdout closes); a guest that stops reporting
//! for 1 s (10 missed load reports) is declared hung and its VMM killed, so that its peers see a
//! clean failure too.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lego_proto::mgmt::{LoadReport, MISSED_REPORTS, REPORT_INTERVAL_NS, health};
use serde_json::{Value, json};
use virtio_rdma::abi::PollMode;
use vmm::{ConsoleTarget, FabricConfig, VmConfig, VmEvent};

use super::fabric_thread::{self, FabricCmd, FabricHandle, FileTarget, Loads};
use super::paths::{ClusterDir, StateDir};
use super::protocol::{Request, brought_down, reply};
use super::sessions::{self, RunRequest, Sessions};
use super::spec::{ClusterSpec, ComponentSpec};
use super::status::{ClusterStatus, ComponentStatus, Placement};
use super::vnodes::VnodeTable;
use crate::fabric::host::{HostEndpoint, MANAGER_ID};
use crate::fabric::{Bell, Coordinator, MemberEvent};
use crate::managers::{self, Candidate};

/// How long a restarted component may take to become ready.
const RESTART_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a component may stay booted without reporting before it is declared failed.
const FIRST_REPORT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Starting,
    Booted,
    Ready,
    Failed,
    Stopped,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Starting => "starting",
            State::Booted => "booted",
            State::Ready => "ready",
            State::Failed => "failed",
            State::Stopped => "stopped",
        }
    }

    fn running(self) -> bool {
        matches!(self, State::Starting | State::Booted | State::Ready)
    }
}

#[derive(Debug)]
struct Comp {
    spec: ComponentSpec,
    state: State,
    reason: Option<String>,
    started: Instant,
    ready_at: Option<Instant>,
    incarnation: u32,
    /// The manager killed it on purpose (`lego kill`, a hang): the exit is expected.
    killing: Option<String>,
    /// It reported that it cannot serve (a refused disk): failed, but not a reason to fail
    /// `lego up`, so that its log can be read.
    refused: bool,
}

/// A request from the control socket and where its answer goes.
type Incoming = (Request, Sender<String>);

enum Waiter {
    Ready {
        deadline: Instant,
        reply: Sender<String>,
    },
    Kill {
        id: u32,
        reply: Sender<String>,
    },
    Restart {
        id: u32,
        deadline: Instant,
        reply: Sender<String>,
    },
}

struct Daemon {
    spec: ClusterSpec,
    dir: ClusterDir,
    coord: Coordinator,
    fabric: FabricHandle,
    loads: Loads,
    comps: Vec<Comp>,
    state: StateDir,
    vnodes: VnodeTable,
    waiters: Vec<Waiter>,
    started: Instant,
    /// What could not be written (state, logs) or a full runtime directory, by source.
    warnings: BTreeMap<&'static str, String>,
    space_checked: Option<Instant>,
    /// Running programs' sessions.
    sessions: Sessions,
    /// Output receivers of programs just started, for their connections to take.
    runs: Runs,
}

/// Output receivers of programs just started, by pid.
type Runs = Arc<Mutex<HashMap<u32, Receiver<(u8, Vec<u8>)>>>>;

/// Least adaptive polling of an mComponent before it sleeps (see `Daemon::config`).
const MMON_MIN_SPIN_NS: u32 = 300_000;

/// File requests waiting for their answer, so `lego down` can answer them first.
type InFlight = Arc<Mutex<HashMap<u64, Sender<String>>>>;

/// The KVM device clusters use (`LEGO_KVM_DEVICE`, else /dev/kvm): the manager is started
/// with the environment of `lego up`.
pub fn kvm_device() -> std::path::PathBuf {
    std::env::var_os("LEGO_KVM_DEVICE").map_or_else(|| "/dev/kvm".into(), Into::into)
}

impl Daemon {
    fn config(&self, c: &ComponentSpec, incarnation: u32) -> (VmConfig, FabricConfig) {
        let mut cfg = VmConfig::new(c.role());
        cfg.component_id = c.id;
        cfg.name = c.name.clone();
        cfg.vcpus = c.vcpus;
        cfg.mem_bytes = c.mem_bytes;
        cfg.excache_bytes = c.excache_bytes;
        cfg.kvm_device = kvm_device();
        cfg.console = ConsoleTarget::File(self.dir.log(&c.name));
        if c.disk_bytes > 0 {
            cfg.disk = Some(vmm::DiskConfig {
                path: self.state.disk(&c.name),
                direct: self.spec.disk_direct,
            });
        }
        let others: Vec<String> = self
            .spec
            .components
            .iter()
            .filter(|o| o.id != c.id)
            .map(|o| o.id.to_string())
            .collect();
        let cache = if c.cache_bytes > 0 {
            format!("bcache_kb={}", c.cache_bytes >> 10)
        } else {
            String::new()
        };
        let isolation = if self.spec.isolation {
            ""
        } else {
            "isolation=off"
        };
        cfg.cmdline = format!(
            "manager={MANAGER_ID} rpc_peers={} incarnation={incarnation} {cache} {isolation} {}",
            others.join(","),
            c.extra_cmdline
        )
        .trim()
        .to_string();
        let mut f = FabricConfig::new(-1);
        f.incarnation = incarnation;
        f.poll_mode = PollMode::from_name(&self.spec.poll).unwrap_or(PollMode::Adaptive);
        f.spin_ns = self.spec.spin_us.saturating_mul(1000);
        if c.role == "mmon" {
            // A running program's ExCache misses come ~100 us apart here (two traps each on
            // PVM): an mComponent that slept between them would add a wake-up (~50 us) to
            // each miss (measured: fetch p50 65 us with 50 us of polling, 4 us with 300).
            f.spin_ns = f.spin_ns.max(MMON_MIN_SPIN_NS);
        }
        f.net_latency_ns = self.spec.net_latency_ns;
        f.net_bandwidth_mbps = self.spec.net_bandwidth_mbps;
        (cfg, f)
    }

    fn start(&mut self, id: u32) -> Result<()> {
        let i = id as usize;
        self.comps[i].incarnation += 1;
        self.mark_log(i);
        let (cfg, f) = self.config(&self.comps[i].spec, self.comps[i].incarnation);
        if let Err(e) = self.coord.start(cfg, f) {
            let c = &mut self.comps[i];
            c.state = State::Failed;
            c.reason = Some(format!("could not start: {e:#}"));
            return Err(e);
        }
        let c = &mut self.comps[i];
        c.state = State::Starting;
        c.reason = None;
        c.started = Instant::now();
        c.ready_at = None;
        c.killing = None;
        c.refused = false;
        if let Ok(mut t) = self.loads.lock() {
            t.remove(&id);
        }
        let _ = self.fabric.send(FabricCmd::Connect(vec![id]));
        self.save_state();
        Ok(())
    }

    fn save_state(&mut self) {
        let comps: Vec<Value> = self
            .comps
            .iter()
            .map(|c| json!({ "name": c.spec.name, "pid": self.coord.pid(c.spec.id) }))
            .collect();
        let v = json!({ "manager_pid": std::process::id(), "components": comps });
        let path = self.dir.state();
        let r = super::paths::write_atomic(&path, v.to_string().as_bytes());
        self.warn(
            "state",
            r.err().map(|e| {
                format!(
                    "cannot write {}: {e} (after a crash of the manager, `lego down` may miss \
                 processes)",
                    path.display()
                )
            }),
        );
    }

    /// Records (or clears, with `None`) a problem shown in `lego status`.
    fn warn(&mut self, source: &'static str, problem: Option<String>) {
        match problem {
            Some(p) => {
                if self.warnings.get(source) != Some(&p) {
                    tracing::warn!("{p}");
                }
                self.warnings.insert(source, p);
            }
            None => {
                self.warnings.remove(source);
            }
        }
    }

    /// Starts a component's log with a line saying which start this is, so a restart is seen
    /// in `lego logs` (the VMM appends to the log).
    fn mark_log(&mut self, i: usize) {
        let c = &self.comps[i];
        let path = self.dir.log(&c.spec.name);
        let line = format!("--- {} start {} ---\n", c.spec.name, c.incarnation);
        let r = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        self.warn(
            "logs",
            r.err()
                .map(|e| format!("cannot write {}: {e}", path.display())),
        );
    }

    /// At most once a second: whether the runtime directory is full or read-only.
    fn check_runtime_dir(&mut self) {
        if self
            .space_checked
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.space_checked = Some(Instant::now());
        let p = super::paths::runtime_problem(self.dir.path());
        self.warn("space", p);
    }

    fn by_name(&self, name: &str) -> Result<u32, String> {
        self.comps
            .iter()
            .find(|c| c.spec.name == name)
            .map(|c| c.spec.id)
            .ok_or_else(|| {
                let names: Vec<&str> = self.comps.iter().map(|c| c.spec.name.as_str()).collect();
                format!(
                    "no component named `{name}` in cluster {} (it has {})",
                    self.spec.name,
                    names.join(", ")
                )
            })
    }

    fn candidates(&self) -> Vec<Candidate> {
        let loads = self.loads.lock().map(|t| t.clone()).unwrap_or_default();
        self.comps
            .iter()
            .map(|c| {
                let r = loads.get(&c.spec.id).map(|(r, _)| *r).unwrap_or_default();
                Candidate {
                    id: c.spec.id,
                    name: c.spec.name.clone(),
                    role: c.spec.role.clone(),
                    ready: c.state == State::Ready,
                    threads: r.threads,
                    mem_free: r.mem_free,
                    served: r.served,
                    vnodes: self.vnodes.placed_on(&c.spec.name),
                }
            })
            .collect()
    }

    fn status(&self) -> ClusterStatus {
        let loads = self.loads.lock().map(|t| t.clone()).unwrap_or_default();
        let cands = self.candidates();
        let components = self
            .comps
            .iter()
            .zip(cands.iter())
            .map(|(c, k)| {
                let report = loads.get(&c.spec.id);
                ComponentStatus {
                    name: c.spec.name.clone(),
                    role: c.spec.role.clone(),
                    id: c.spec.id,
                    pid: self.coord.pid(c.spec.id),
                    state: c.state.name().into(),
                    reason: c.reason.clone(),
                    mem_bytes: vmm::config::round_mem(c.spec.mem_bytes),
                    vcpus: c.spec.vcpus,
                    excache_bytes: c.spec.excache_bytes,
                    incarnation: c.incarnation,
                    uptime_ms: c
                        .state
                        .running()
                        .then(|| c.started.elapsed().as_millis() as u64),
                    ready_ms: c
                        .ready_at
                        .map(|r| r.duration_since(c.started).as_millis() as u64),
                    threads: k.threads,
                    mem_free: k.mem_free,
                    served: k.served,
                    vnodes: k.vnodes,
                    heartbeat_age_ms: report.map(|(_, at)| at.elapsed().as_millis() as u64),
                }
            })
            .collect();
        let name = |c: Option<&Candidate>| c.map(|c| c.name.clone());
        ClusterStatus {
            name: self.spec.name.clone(),
            dir: self.dir.path().display().to_string(),
            manager_pid: std::process::id(),
            uptime_ms: self.started.elapsed().as_millis() as u64,
            poll: self.spec.poll.clone(),
            components,
            vnodes: self.vnodes.list.clone(),
            placement: Placement {
                process: name(managers::gpm(&cands)),
                memory: name(managers::gmm(&cands)),
                storage: name(managers::gsm(&cands)),
            },
            warnings: self.warnings.values().cloned().collect(),
        }
    }

    fn status_value(&self) -> Value {
        serde_json::to_value(self.status()).unwrap_or(Value::Null)
    }

    fn fail(&mut self, id: u32, reason: String) {
        let c = &mut self.comps[id as usize];
        if c.state.running() {
            c.state = State::Failed;
            c.reason = Some(reason);
        }
    }

    /// Handles one request; `Some(answer)` if it can be answered now.
    fn request(&mut self, req: Request, tx: Sender<String>) -> Option<String> {
        match req {
            Request::Status => Some(reply(Ok(self.status_value()))),
            Request::WaitReady { timeout_ms } => {
                self.waiters.push(Waiter::Ready {
                    deadline: Instant::now() + Duration::from_millis(timeout_ms),
                    reply: tx,
                });
                None
            }
            Request::Kill { component } => {
                let id = match self.by_name(&component) {
                    Ok(id) => id,
                    Err(e) => return Some(reply(Err(e))),
                };
                let c = &mut self.comps[id as usize];
                if !c.state.running() {
                    return Some(reply(Err(format!(
                        "{component} is not running ({})",
                        c.state.name()
                    ))));
                }
                c.killing = Some("killed by `lego kill`".into());
                self.coord.kill(id);
                self.waiters.push(Waiter::Kill { id, reply: tx });
                None
            }
            Request::Restart { component } => {
                let id = match self.by_name(&component) {
                    Ok(id) => id,
                    Err(e) => return Some(reply(Err(e))),
                };
                if self.comps[id as usize].state.running() {
                    return Some(reply(Err(format!(
                        "{component} is running; `lego kill {component}` first"
                    ))));
                }
                if let Err(e) = self.start(id) {
                    return Some(reply(Err(format!("restarting {component}: {e:#}"))));
                }
                self.waiters.push(Waiter::Restart {
                    id,
                    deadline: Instant::now() + RESTART_TIMEOUT,
                    reply: tx,
                });
                None
            }
            Request::Down => unreachable!("handled by the main loop"),
            Request::VnodeCreate { name, storage } => Some(reply(self.vnode_create(name, storage))),
            Request::VnodeList => Some(reply(
                serde_json::to_value(&self.vnodes.list).map_err(|e| e.to_string()),
            )),
            Request::VnodeRemove { vnode } => Some(reply(
                self.vnodes
                    .remove(&vnode)
                    .map(|v| json!(v.name))
                    .map_err(|e| format!("{e} in cluster {}", self.spec.name)),
            )),
            Request::Run(r) => Some(reply(self.run(r))),
            Request::Ps | Request::Signal { .. } => {
                let signal = match req {
                    Request::Signal { sig, .. } if sig == 0 || sig > 64 => {
                        return Some(reply(Err(format!("{sig} is not a signal (1 to 64)"))));
                    }
                    Request::Signal { pid, sig } => Some((pid, sig)),
                    _ => None,
                };
                let pcomps = self
                    .candidates()
                    .into_iter()
                    .filter(|c| c.role == "pmon" && c.ready)
                    .map(|c| (c.id, c.name))
                    .collect();
                let _ = self.fabric.send(FabricCmd::Ps {
                    pcomps,
                    signal,
                    reply: tx,
                });
                None
            }
            Request::File { vnode, op } => match self.file_target(&vnode) {
                Ok(target) => {
                    let _ = self.fabric.send(FabricCmd::File {
                        target,
                        op,
                        reply: tx,
                    });
                    None
                }
                Err(e) => Some(reply(Err(e))),
            },
        }
    }

    /// Starts a program: GPM picks the pComponent, GMM the home mComponent; the vRegions may
    /// go to every ready mComponent, the home first.
    fn run(&mut self, r: RunRequest) -> Result<Value, String> {
        let target = self.file_target(&r.vnode)?;
        let cands = self.candidates();
        let pcomp = match &r.on {
            Some(name) => {
                let c = cands
                    .iter()
                    .find(|c| &c.name == name)
                    .ok_or_else(|| format!("no component named `{name}`"))?;
                if c.role != "pmon" || !c.ready {
                    return Err(format!("{name} is not a ready pComponent"));
                }
                c.clone()
            }
            None => managers::gpm(&cands)
                .cloned()
                .ok_or("no pComponent is ready to run the program")?,
        };
        let home = managers::gmm(&cands)
            .or_else(|| {
                cands
                    .iter()
                    .filter(|c| c.ready && c.role == "mmon")
                    .max_by_key(|c| c.mem_free)
            })
            .cloned()
            .ok_or("no mComponent is ready to hold the program's memory")?;
        let mut mems: Vec<u32> = vec![home.id];
        mems.extend(
            cands
                .iter()
                .filter(|c| c.ready && c.role == "mmon" && c.id != home.id)
                .map(|c| c.id),
        );
        mems.truncate(lego_proto::mem::MAX_CANDIDATES);
        let pid = sessions::new_pid();
        let req = start_request(&r, pid, &target, pcomp.id, home.id, &mems)?;
        let rx = sessions::open(&self.sessions, pid, pcomp.id, home.id);
        if let Ok(mut m) = self.runs.lock() {
            m.insert(pid, rx);
        }
        let _ = self.fabric.send(FabricCmd::Start {
            pcomp: pcomp.id,
            pid,
            req,
        });
        Ok(json!({"pid": pid, "pcomponent": pcomp.name, "home": home.name}))
    }

    fn vnode_create(
        &mut self,
        name: Option<String>,
        storage: Option<String>,
    ) -> Result<Value, String> {
        let cands = self.candidates();
        let store = match storage {
            Some(s) => {
                let c = cands
                    .iter()
                    .find(|c| c.name == s)
                    .ok_or_else(|| format!("no component named `{s}`"))?;
                if c.role != "smon" {
                    return Err(format!("{s} is a {}, not an sComponent", c.role));
                }
                if !c.ready {
                    return Err(format!("{s} is not ready"));
                }
                c.name.clone()
            }
            None => managers::gsm(&cands)
                .map(|c| c.name.clone())
                .ok_or("no sComponent is ready to hold the vNode's storage")?,
        };
        let cache = managers::cache_home(&cands)
            .map(|c| c.name.clone())
            .ok_or("no mComponent is ready to hold the vNode's buffer cache")?;
        let v = self.vnodes.create(name, store, cache)?;
        serde_json::to_value(v).map_err(|e| e.to_string())
    }

    /// Where a file request for vNode `key` goes: both of its components must be ready.
    fn file_target(&self, key: &str) -> Result<FileTarget, String> {
        let v = self.vnodes.find(key).ok_or_else(|| {
            format!(
                "no vNode `{key}` in cluster {} (`lego vnode create {key}` makes one)",
                self.spec.name
            )
        })?;
        let ready = |name: &str, what: &str| -> Result<u32, String> {
            let c = self
                .comps
                .iter()
                .find(|c| c.spec.name == name)
                .ok_or_else(|| {
                    format!("vNode {}: its {what} {name} is not in this cluster", v.name)
                })?;
            if c.state != State::Ready {
                return Err(format!(
                    "vNode {}: its {what} {name} is {}{}",
                    v.name,
                    c.state.name(),
                    c.reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ));
            }
            Ok(c.spec.id)
        };
        Ok(FileTarget {
            vnode: v.id,
            label: v.name.clone(),
            storage: ready(&v.storage, "storage")?,
            cache: ready(&v.cache, "buffer cache")?,
        })
    }

    fn on_event(&mut self, id: u32, ev: MemberEvent) {
        let Some(c) = self.comps.get_mut(id as usize) else {
            return;
        };
        match ev {
            MemberEvent::Vm(VmEvent::Ready(_)) => {
                if c.state == State::Starting {
                    c.state = State::Booted;
                    tracing::debug!(
                        "{} booted after {} ms",
                        c.spec.name,
                        c.started.elapsed().as_millis()
                    );
                }
            }
            MemberEvent::Vm(VmEvent::Fault(f)) => c.reason = Some(f.summary()),
            MemberEvent::Vm(VmEvent::Crash { reason }) => c.reason = Some(reason),
            MemberEvent::Vm(VmEvent::SetupFailed { message }) => c.reason = Some(message),
            MemberEvent::Vm(_) => {}
            MemberEvent::Exited(code) => {
                if c.state.running() {
                    let why =
                        c.killing.take().or_else(|| c.reason.take()).unwrap_or_else(
                            || match code {
                                Some(n) => format!("VMM exited with status {n}"),
                                None => "VMM killed by a signal".into(),
                            },
                        );
                    c.state = State::Failed;
                    c.reason = Some(why.clone());
                    let name = c.spec.name.clone();
                    for (pid, home) in sessions::on_component(&self.sessions, id) {
                        sessions::fail(
                            &self.sessions,
                            pid,
                            lego_proto::proc::end::NOT_STARTED,
                            112,
                            &format!("{name} failed while running the program ({why})"),
                        );
                        let _ = self.fabric.send(FabricCmd::MemExit { home, pid });
                    }
                } else {
                    c.killing = None;
                }
                self.save_state();
            }
        }
    }

    /// Promotes components that report, and fails those that stopped reporting.
    fn check_reports(&mut self) {
        let loads = self.loads.lock().map(|t| t.clone()).unwrap_or_default();
        let limit = Duration::from_nanos(REPORT_INTERVAL_NS * u64::from(MISSED_REPORTS));
        let mut hung = Vec::new();
        for c in &mut self.comps {
            let disk = self.state.disk(&c.spec.name);
            match verdict(c, loads.get(&c.spec.id), limit, &disk) {
                Verdict::Keep => {}
                Verdict::Ready => {
                    c.state = State::Ready;
                    c.ready_at = Some(Instant::now());
                    tracing::debug!(
                        "{} ready after {} ms",
                        c.spec.name,
                        c.started.elapsed().as_millis()
                    );
                }
                Verdict::Fail { why, refused } => {
                    c.refused = refused;
                    hung.push((c.spec.id, why));
                }
            }
        }
        for (id, why) in hung {
            self.fail(id, why.clone());
            self.comps[id as usize].killing = Some(why);
            self.coord.kill(id);
        }
    }

    fn resolve_waiters(&mut self) {
        let mut keep = Vec::new();
        for w in std::mem::take(&mut self.waiters) {
            match w {
                Waiter::Ready {
                    deadline,
                    reply: tx,
                } => {
                    // A refused disk does not fail `lego up`: the cluster stays up with the
                    // component failed, so its log can be read.
                    if let Some(c) = self
                        .comps
                        .iter()
                        .find(|c| matches!(c.state, State::Failed | State::Stopped) && !c.refused)
                    {
                        let _ = tx.send(reply(Err(format!(
                            "{} failed while the cluster came up: {}",
                            c.spec.name,
                            c.reason.clone().unwrap_or_default()
                        ))));
                    } else if self
                        .comps
                        .iter()
                        .all(|c| c.state == State::Ready || c.refused)
                    {
                        let _ = tx.send(reply(Ok(self.status_value())));
                    } else if Instant::now() > deadline {
                        let slow: Vec<&str> = self
                            .comps
                            .iter()
                            .filter(|c| c.state != State::Ready)
                            .map(|c| c.spec.name.as_str())
                            .collect();
                        let _ = tx.send(reply(Err(format!(
                            "timed out waiting for {} to be ready",
                            slow.join(", ")
                        ))));
                    } else {
                        keep.push(Waiter::Ready {
                            deadline,
                            reply: tx,
                        });
                    }
                }
                Waiter::Kill { id, reply: tx } => {
                    if self.comps[id as usize].state.running() {
                        keep.push(Waiter::Kill { id, reply: tx });
                    } else {
                        let _ = tx.send(reply(Ok(self.status_value())));
                    }
                }
                Waiter::Restart {
                    id,
                    deadline,
                    reply: tx,
                } => {
                    let c = &self.comps[id as usize];
                    match c.state {
                        State::Ready => {
                            let _ = tx.send(reply(Ok(self.status_value())));
                        }
                        State::Failed | State::Stopped => {
                            let _ = tx.send(reply(Err(format!(
                                "{} failed again: {}",
                                c.spec.name,
                                c.reason.clone().unwrap_or_default()
                            ))));
                        }
                        _ if Instant::now() > deadline => {
                            let _ = tx.send(reply(Err(format!(
                                "{} did not become ready in time",
                                c.spec.name
                            ))));
                        }
                        _ => keep.push(Waiter::Restart {
                            id,
                            deadline,
                            reply: tx,
                        }),
                    }
                }
            }
        }
        self.waiters = keep;
    }

    fn shutdown(&mut self) {
        let _ = self.fabric.send(FabricCmd::Stop);
        for c in &mut self.comps {
            if c.state.running() {
                c.state = State::Stopped;
            }
        }
        self.coord.shutdown(Duration::from_secs(2));
        let _ = std::fs::remove_dir_all(self.dir.path());
    }
}

/// What the latest report (or its absence) says about a component.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Keep,
    Ready,
    /// Failed, and its VMM to be killed; `refused`: it reported that it cannot serve its role.
    Fail {
        why: String,
        refused: bool,
    },
}

/// Judges component `c` from its latest report; `limit` is how long a ready one may stay
/// silent, `disk` its disk image (for the reason of a refused one).
fn verdict(
    c: &Comp,
    report: Option<&(LoadReport, Instant)>,
    limit: Duration,
    disk: &std::path::Path,
) -> Verdict {
    // A component that cannot serve its role is failed, with its reason, and the managers
    // stop placing on it; its VMM goes, like a hung one's.
    if let Some((r, at)) = report
        && r.health != health::OK
        && *at >= c.started
        && c.state.running()
    {
        let why = if r.health == health::STORAGE_REFUSED {
            format!(
                "storage refused: its disk {} was not mounted, see `lego logs {}`",
                disk.display(),
                c.spec.name
            )
        } else {
            format!(
                "cannot serve (health {}), see `lego logs {}`",
                r.health, c.spec.name
            )
        };
        return Verdict::Fail { why, refused: true };
    }
    match (c.state, report) {
        (State::Booted | State::Starting, Some((_, at))) if *at >= c.started => Verdict::Ready,
        (State::Booted, None) if c.started.elapsed() > FIRST_REPORT_TIMEOUT => Verdict::Fail {
            why: "never reported to the managers".into(),
            refused: false,
        },
        (State::Ready, Some((_, at))) if at.elapsed() > limit => Verdict::Fail {
            why: format!("hung: no report for {} ms", at.elapsed().as_millis()),
            refused: false,
        },
        _ => Verdict::Keep,
    }
}

/// Accepts CLI connections; each request is handed to the main loop with a reply channel.
/// File requests are also kept in `in_flight` until answered.
/// What a `lego run` connection needs once its program started.
#[derive(Clone)]
struct Streams {
    sessions: Sessions,
    runs: Runs,
    fabric: FabricHandle,
}

fn listen(
    listener: UnixListener,
    tx: Sender<Incoming>,
    bell: Bell,
    in_flight: InFlight,
    streams: Streams,
) {
    let mut next = 0u64;
    for stream in listener.incoming() {
        let Ok(mut s) = stream else { continue };
        let tx = tx.clone();
        let bell = bell.clone();
        let in_flight = in_flight.clone();
        let streams = streams.clone();
        next += 1;
        let key = next;
        std::thread::spawn(move || {
            let mut line = String::new();
            if BufReader::new(&s).read_line(&mut line).is_err() {
                return;
            }
            let mut run = false;
            let answer = match serde_json::from_str::<Request>(&line) {
                Ok(req) => {
                    run = matches!(req, Request::Run(_));
                    let (rtx, rrx) = mpsc::channel();
                    let file = matches!(req, Request::File { .. });
                    if file && let Ok(mut m) = in_flight.lock() {
                        m.insert(key, rtx.clone());
                    }
                    if tx.send((req, rtx)).is_err() {
                        return;
                    }
                    bell.ring();
                    let a = rrx
                        .recv()
                        .unwrap_or_else(|_| reply(Err("the manager is shutting down".into())));
                    if file && let Ok(mut m) = in_flight.lock() {
                        m.remove(&key);
                    }
                    a
                }
                Err(e) => reply(Err(format!("bad request: {e}"))),
            };
            let _ = s.write_all(answer.as_bytes());
            if run {
                stream_run(s, &answer, streams);
            }
        });
    }
}

/// After a `run` request's answer: the program's streams on the connection.
fn stream_run(s: std::os::unix::net::UnixStream, answer: &str, streams: Streams) {
    let pid = serde_json::from_str::<Value>(answer)
        .ok()
        .and_then(|v| v["ok"]["pid"].as_u64())
        .map(|p| p as u32);
    let Some(pid) = pid else { return };
    let Some(rx) = streams.runs.lock().ok().and_then(|mut m| m.remove(&pid)) else {
        return;
    };
    let fabric = streams.fabric.clone();
    let sess = streams.sessions.clone();
    let signal = move |pid: u32, sig: u32| {
        let pcomp = sess.lock().ok().and_then(|m| m.get(&pid).map(|x| x.pcomp));
        if let Some(pcomp) = pcomp {
            let _ = fabric.send(FabricCmd::Signal { pcomp, pid, sig });
        }
    };
    sessions::stream(s, streams.sessions, pid, rx, signal);
}

/// The `START` request for `r`.
fn start_request(
    r: &RunRequest,
    pid: u32,
    target: &FileTarget,
    pcomp: u32,
    home: u32,
    mems: &[u32],
) -> Result<Vec<u8>, String> {
    use lego_proto::proc::{MAX_START_STRINGS, StartRequest, excache_policy};
    use zerocopy::IntoBytes;
    let _ = pcomp;
    let mut args = Vec::new();
    for a in &r.args {
        args.extend_from_slice(a.as_bytes());
        args.push(0);
    }
    let mut env = Vec::new();
    for e in &r.env {
        env.extend_from_slice(e.as_bytes());
        env.push(0);
    }
    let total = r.path.len() + args.len() + env.len() + r.cwd.len();
    if total > MAX_START_STRINGS {
        return Err(format!(
            "the arguments and environment take {total} bytes; at most {MAX_START_STRINGS} fit"
        ));
    }
    let mut candidates = [0u32; lego_proto::mem::MAX_CANDIDATES];
    for (i, m) in mems.iter().enumerate().take(candidates.len()) {
        candidates[i] = *m;
    }
    let policy = match r.policy.as_str() {
        "lru" => excache_policy::LRU,
        "random" => excache_policy::RANDOM,
        _ => excache_policy::FIFO,
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        ^ u64::from(pid).rotate_left(32);
    let h = StartRequest {
        pid,
        vnode: target.vnode,
        storage: target.storage,
        cache: target.cache,
        home,
        vregion_policy: lego_proto::mem::policy::ROUND_ROBIN,
        ncandidates: mems.len().min(candidates.len()) as u32,
        candidates,
        flags: r.flags,
        excache_bytes: r.excache,
        ways: r.ways,
        policy,
        seed,
        realtime_ns: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
        rows: r.winsize.0,
        cols: r.winsize.1,
        path_len: r.path.len() as u32,
        args_len: args.len() as u32,
        env_len: env.len() as u32,
        cwd_len: r.cwd.len() as u32,
        _pad: 0,
    };
    let mut b = Vec::with_capacity(std::mem::size_of::<StartRequest>() + total);
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(r.path.as_bytes());
    b.extend_from_slice(&args);
    b.extend_from_slice(&env);
    b.extend_from_slice(r.cwd.as_bytes());
    Ok(b)
}

/// Runs the manager of cluster `spec` in runtime directory `dir` until `lego down`.
pub fn run(spec: ClusterSpec, dir: ClusterDir) -> Result<u8> {
    std::fs::create_dir_all(dir.path().join("logs")).context("creating the runtime directory")?;
    let state = StateDir::of(&spec.name);
    std::fs::create_dir_all(&state.root)
        .with_context(|| format!("creating the state directory {}", state.root.display()))?;
    let vnodes = VnodeTable::load(state.vnodes()).map_err(anyhow::Error::msg)?;
    for c in spec.components.iter().filter(|c| c.disk_bytes > 0) {
        let path = state.disk(&c.name);
        vmm::disk::create_image(&path, c.disk_bytes)
            .with_context(|| format!("creating {}'s disk image {}", c.name, path.display()))?;
    }
    // Bound and listening under a temporary name, then renamed: `lego up` connects as soon as
    // the socket's path exists, and must never find it bound but not yet listening (refused).
    let sock = dir.socket();
    let tmp = sock.with_extension("sock.new");
    let _ = std::fs::remove_file(&sock);
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp).context("creating the control socket")?;
    std::fs::rename(&tmp, &sock).context("publishing the control socket")?;
    let (rev_tx, rev_rx) = mpsc::channel();
    let host: &'static HostEndpoint = Box::leak(Box::new(
        HostEndpoint::new(&spec.name, rev_tx).context("creating the managers' fabric endpoint")?,
    ));
    let loads: Loads = Default::default();
    // The main loop sleeps in the coordinator until its bell rings: VMM events ring it, and so
    // do load reports and control requests.
    let coord = Coordinator::with_host(host, rev_rx);
    let sessions: Sessions = Default::default();
    let runs: Runs = Default::default();
    let fabric = fabric_thread::spawn(host, loads.clone(), sessions.clone(), coord.bell())
        .context("starting the managers' fabric thread")?;
    let (req_tx, req_rx) = mpsc::channel::<Incoming>();
    let bell = coord.bell();
    let in_flight: InFlight = Default::default();
    let listening = in_flight.clone();
    let streams = Streams {
        sessions: sessions.clone(),
        runs: runs.clone(),
        fabric: fabric.clone(),
    };
    std::thread::Builder::new()
        .name("control".into())
        .spawn(move || listen(listener, req_tx, bell, listening, streams))?;
    // File errors name components, not fabric ids.
    crate::files::client::set_component_names(
        spec.components.iter().map(|c| (c.id, c.name.clone())),
    );
    let comps = spec
        .components
        .iter()
        .map(|c| Comp {
            spec: c.clone(),
            state: State::Stopped,
            reason: None,
            started: Instant::now(),
            ready_at: None,
            incarnation: 0,
            killing: None,
            refused: false,
        })
        .collect();
    let mut d = Daemon {
        spec,
        dir,
        coord,
        fabric,
        loads,
        comps,
        state,
        vnodes,
        waiters: Vec::new(),
        started: Instant::now(),
        warnings: BTreeMap::new(),
        space_checked: None,
        sessions,
        runs,
    };
    for id in 0..d.comps.len() as u32 {
        if let Err(e) = d.start(id) {
            d.fail(id, format!("could not start: {e:#}"));
        }
    }
    tracing::debug!(
        "started {} VMMs in {} ms",
        d.comps.len(),
        d.started.elapsed().as_millis()
    );
    let mut down: Vec<Sender<String>> = Vec::new();
    loop {
        while let Ok((req, tx)) = req_rx.try_recv() {
            if req == Request::Down {
                down.push(tx);
                continue;
            }
            if let Some(answer) = d.request(req, tx.clone()) {
                let _ = tx.send(answer);
            }
        }
        if !down.is_empty() {
            // File requests still running are answered first: their components are about
            // to go, and "component failed" would be the wrong story.
            if let Ok(mut m) = in_flight.lock() {
                for (_, tx) in m.drain() {
                    let _ = tx.send(reply(Err(brought_down(&d.spec.name))));
                }
            }
            d.shutdown();
            for tx in down {
                let _ = tx.send(reply(Ok(json!("down"))));
            }
            // Let the control threads write their answers before the process exits.
            std::thread::sleep(Duration::from_millis(50));
            return Ok(crate::exit::OK);
        }
        // Everything that needs the loop rings the coordinator's bell; the timeout paces the
        // checks that only time triggers (missed reports, waiters' deadlines).
        if let Some((id, ev)) = d.coord.next(Duration::from_millis(20)) {
            d.on_event(id, ev);
        }
        d.check_reports();
        d.check_runtime_dir();
        d.resolve_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(role: &str, state: State) -> Comp {
        Comp {
            spec: ComponentSpec {
                name: format!("{}0", &role[..1]),
                role: role.into(),
                id: 3,
                mem_bytes: 128 << 20,
                vcpus: 1,
                excache_bytes: 0,
                disk_bytes: 1 << 30,
                disk_explicit: false,
                cache_bytes: 0,
                extra_cmdline: String::new(),
            },
            state,
            reason: None,
            started: Instant::now(),
            ready_at: None,
            incarnation: 1,
            killing: None,
            refused: false,
        }
    }

    fn report(health: u32) -> (LoadReport, Instant) {
        (
            LoadReport {
                health,
                ..LoadReport::default()
            },
            Instant::now(),
        )
    }

    #[test]
    fn a_refused_disk_fails_the_component_with_its_reason() {
        let limit = Duration::from_secs(1);
        let disk = std::path::Path::new("/state/c/s0.img");
        let booted = comp("smon", State::Booted);
        assert_eq!(
            verdict(&booted, Some(&report(health::OK)), limit, disk),
            Verdict::Ready
        );
        for state in [State::Booted, State::Ready] {
            let c = comp("smon", state);
            let v = verdict(&c, Some(&report(health::STORAGE_REFUSED)), limit, disk);
            assert_eq!(
                v,
                Verdict::Fail {
                    why: "storage refused: its disk /state/c/s0.img was not mounted, see \
                          `lego logs s0`"
                        .into(),
                    refused: true
                }
            );
        }
        // Once failed, it stays so (no second kill).
        let failed = comp("smon", State::Failed);
        assert_eq!(
            verdict(&failed, Some(&report(health::STORAGE_REFUSED)), limit, disk),
            Verdict::Keep
        );
        // A report from before this start says nothing about it.
        let old = (
            LoadReport {
                health: health::STORAGE_REFUSED,
                ..LoadReport::default()
            },
            booted.started - Duration::from_millis(1),
        );
        assert_eq!(verdict(&booted, Some(&old), limit, disk), Verdict::Keep);
    }

    #[test]
    fn the_managers_do_not_place_on_a_failed_scomponent() {
        let cands = |ready: [bool; 2]| -> Vec<Candidate> {
            (0..2)
                .map(|i| Candidate {
                    id: i,
                    name: format!("s{i}"),
                    role: "smon".into(),
                    ready: ready[i as usize],
                    threads: 0,
                    mem_free: 0,
                    served: 0,
                    vnodes: 0,
                })
                .collect()
        };
        assert_eq!(managers::gsm(&cands([true, true])).map(|c| c.id), Some(0));
        assert_eq!(managers::gsm(&cands([false, true])).map(|c| c.id), Some(1));
        assert_eq!(managers::gsm(&cands([false, false])), None);
    }
}
