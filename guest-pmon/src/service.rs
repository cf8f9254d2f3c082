//! The process monitor's service: programs the managers start here, run in turn on the boot
//! CPU between polls of the fabric, each with a slice of the ExCache area of its own.

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use guest_rt::rpc::Rpc;
use guest_rt::service::{Service, set_threads};
use guest_rt::{println, time};
use lego_excache::Policy;
use lego_proto::mem as memp;
use lego_proto::proc::{self as pp, excache_policy};
use spin::Mutex;
use zerocopy::{FromBytes, IntoBytes};

use crate::family::Zombie;
use crate::process::{End, Process, parse_start};

/// Most processes a pComponent runs at once (a fork past it is `EAGAIN`).
pub(crate) const MAX_PROCESSES: usize = 64;

/// The ExCache area, cut into per-process pieces (first fit).
#[derive(Debug)]
pub(crate) struct Pool {
    free: Vec<(u64, u64)>,
    total: u64,
}

impl Pool {
    pub(crate) fn alloc(&mut self, bytes: u64) -> Option<u64> {
        let i = self.free.iter().position(|&(_, l)| l >= bytes)?;
        let (base, len) = self.free[i];
        if len == bytes {
            self.free.remove(i);
        } else {
            self.free[i] = (base + bytes, len - bytes);
        }
        Some(base)
    }

    pub(crate) fn free(&mut self, base: u64, bytes: u64) {
        self.free.push((base, bytes));
        self.free.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.free.len());
        for &(b, l) in &self.free {
            match merged.last_mut() {
                Some(m) if m.0 + m.1 == b => m.1 += l,
                _ => merged.push((b, l)),
            }
        }
        self.free = merged;
    }

    pub(crate) fn largest(&self) -> u64 {
        self.free.iter().map(|f| f.1).max().unwrap_or(0)
    }
}

/// The service.
pub struct Pmon {
    pub(crate) manager: u32,
    starts: Arc<Mutex<VecDeque<Vec<u8>>>>,
    signals: Arc<Mutex<Vec<(u32, u32)>>>,
    pub(crate) procs: Vec<Process>,
    /// Children that ended and were not waited for.
    pub(crate) zombies: Vec<Zombie>,
    next: usize,
    /// Where handing threads to workers goes on (`crate::parallel`).
    pub(crate) next_out: usize,
    /// FPU areas that stand in for those of threads out on workers: boxed, since a thread's
    /// and a job's areas are exchanged by pointer.
    #[allow(clippy::vec_box)]
    pub(crate) fpu_spares: Vec<alloc::boxed::Box<guest_rt::arch::fpu::FpuState>>,
    pub(crate) pool: Pool,
}

impl Pmon {
    /// A monitor whose ExCache area is `(gpa, len)`, reporting to `manager`.
    pub fn new(excache: (u64, u64), manager: u32) -> Pmon {
        Pmon {
            manager,
            starts: Arc::new(Mutex::new(VecDeque::new())),
            signals: Arc::new(Mutex::new(Vec::new())),
            procs: Vec::new(),
            zombies: Vec::new(),
            next: 0,
            next_out: 0,
            fpu_spares: Vec::new(),
            pool: Pool {
                free: if excache.1 > 0 {
                    alloc::vec![excache]
                } else {
                    Vec::new()
                },
                total: excache.1,
            },
        }
    }

    /// Tells the managers a program ended (or never started).
    fn report(&self, rpc: &mut Rpc, p: Option<&Process>, pid: u32, end: &End, msg: &str) {
        let (how, code, addr, rip) = match end {
            End::Exited(c) => (pp::end::EXITED, *c, 0, 0),
            End::Signaled { sig, addr, rip } => (pp::end::SIGNALED, *sig, *addr, *rip),
        };
        let mut b = Vec::new();
        let (stats, syscalls, owners) = match p {
            Some(p) => (
                p.c.proc_stats(
                    time::now_ns() - p.started_ns,
                    p.excache.0,
                    u64::from(p.excache.1),
                ),
                p.c.by_syscall
                    .iter()
                    .map(|(&n, &c)| (n, c))
                    .collect::<Vec<_>>(),
                p.c.owner_bytes(),
            ),
            None => Default::default(),
        };
        let h = pp::Exited {
            pid,
            how,
            code,
            nsyscalls: syscalls.len() as u32,
            fault_addr: addr,
            fault_rip: rip,
            nowners: owners.len() as u32,
            msg_len: msg.len().min(1024) as u32,
        };
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(stats.as_bytes());
        for (n, c) in syscalls {
            b.extend_from_slice(&n.to_le_bytes());
            b.extend_from_slice(&c.to_le_bytes());
        }
        for o in owners {
            b.extend_from_slice(o.as_bytes());
        }
        b.extend_from_slice(&msg.as_bytes()[..msg.len().min(1024)]);
        b.truncate(lego_proto::rpc::MAX_PAYLOAD);
        if let Err(e) = rpc.call(self.manager, pp::EXITED, &b, &mut []) {
            println!("pmon: pid {pid}: cannot report its end to the managers: {e:?}");
        }
    }

    fn not_started(&self, rpc: &mut Rpc, pid: u32, errno: u32, msg: &str) {
        println!("pmon: pid {pid} not started: {msg}");
        let mut b = Vec::new();
        let h = pp::Exited {
            pid,
            how: pp::end::NOT_STARTED,
            code: errno,
            msg_len: msg.len().min(1024) as u32,
            ..pp::Exited::default()
        };
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(pp::ProcStats::default().as_bytes());
        b.extend_from_slice(&msg.as_bytes()[..msg.len().min(1024)]);
        let _ = rpc.call(self.manager, pp::EXITED, &b, &mut []);
    }

    fn start(&mut self, rpc: &mut Rpc, req: &[u8]) {
        let Some((h, s)) = parse_start(req) else {
            return;
        };
        if self.procs.len() >= MAX_PROCESSES {
            return self.not_started(rpc, h.pid, 11, "this pComponent runs too many programs");
        }
        let page = memp::PAGE as u64;
        let want = match h.excache_bytes {
            0 => (self.pool.total / 2).max(page),
            b => b.div_ceil(page) * page,
        };
        if want > self.pool.total {
            let msg = format!(
                "an ExCache of {} MiB does not fit this pComponent's {} MiB",
                want >> 20,
                self.pool.total >> 20
            );
            return self.not_started(rpc, h.pid, 12, &msg);
        }
        let slots = want / page;
        let ways = match h.ways {
            0 => 64,
            w => w,
        }
        .min(slots as u32);
        // The number of sets must divide evenly: round the size down to whole sets.
        let slots = slots - slots % u64::from(ways.max(1));
        let bytes = slots * page;
        let Some(base) = self.pool.alloc(bytes) else {
            let msg = format!(
                "the ExCache is in use by other programs ({} MiB free in one piece, {} MiB asked)",
                self.pool.largest() >> 20,
                bytes >> 20
            );
            return self.not_started(rpc, h.pid, 12, &msg);
        };
        let policy = match h.policy {
            excache_policy::LRU => Policy::Lru,
            excache_policy::RANDOM => Policy::Random { seed: h.seed | 1 },
            _ => Policy::Fifo,
        };
        match Process::start(rpc, &h, &s, base, (bytes, ways), policy) {
            Ok(p) => {
                println!(
                    "pmon: pid {} started: {} (ExCache {} MiB, {} ways), home component {}",
                    h.pid,
                    s.path,
                    bytes >> 20,
                    ways,
                    h.home
                );
                self.procs.push(p);
            }
            Err(e) => {
                self.pool.free(base, bytes);
                self.not_started(rpc, h.pid, e.errno, &e.message);
            }
        }
    }

    /// Frees the processes that ended: their memory at the home, their ExCache here. A
    /// session's first process is reported to the managers (its `lego run` ends) and takes
    /// the rest of its session with it; a child leaves a zombie for its parent.
    fn reap(&mut self, rpc: &mut Rpc) {
        while let Some(i) = self.procs.iter().position(Process::done) {
            // No worker may still run its threads on the page table about to go.
            crate::worker::recall(self.procs[i].pid);
            let p = self.procs.remove(i);
            if i < self.next {
                self.next -= 1;
            }
            let req = memp::PidRequest {
                pid: p.pid,
                _pad: 0,
            };
            if let Err(e) = rpc.call(p.home, memp::EXIT, req.as_bytes(), &mut []) {
                println!(
                    "pmon: pid {}: its home did not free its memory: {e:?}",
                    p.pid
                );
            }
            if p.pid == p.session {
                self.session_ended(rpc, &p);
            } else {
                self.child_ended(&p);
            }
            self.pool.free(p.excache_base, p.excache.0);
            p.release();
        }
    }

    /// The first process of a `lego run` ended: the run learns how, and what it started
    /// there ends too (its terminal went away).
    fn session_ended(&mut self, rpc: &mut Rpc, p: &Process) {
        let end = p.end.clone().unwrap_or(End::Exited(0));
        use lego_linux::signal as s;
        let msg = match &end {
            // A fault says where, as a debugger would; a signal sent says only what (like
            // a shell: "Terminated").
            End::Signaled { sig, addr, rip }
                if matches!(
                    *sig,
                    s::SIGSEGV | s::SIGBUS | s::SIGFPE | s::SIGILL | s::SIGTRAP
                ) =>
            {
                format!("{} at {:#x} (rip {:#x})", s::describe(*sig), addr, rip)
            }
            End::Signaled { sig, .. } => format!("{}", s::describe(*sig)),
            End::Exited(_) => String::new(),
        };
        self.report(rpc, Some(p), p.pid, &end, &msg);
        for q in self.procs.iter_mut().filter(|q| q.session == p.pid) {
            q.kill(s::SIGKILL, 0);
        }
        self.zombies.retain(|z| z.ppid != p.pid);
    }
}

impl Service for Pmon {
    fn deferred(&mut self, rpc: &mut Rpc, d: lego_rpc::rpc::Deferred) {
        match d.opcode {
            pp::PS => self.answer_ps(rpc, d),
            _ => rpc.reply(d, Err(lego_proto::rpc::status::FAILED)),
        }
    }

    fn install(&mut self, rpc: &mut Rpc) {
        // The table is the monitor's: answered outside the dispatcher.
        rpc.handle(pp::PS, |_, _, _| Err(lego_rpc::rpc::DEFER));
        let starts = self.starts.clone();
        rpc.handle(pp::START, move |_, req, _| {
            let Some((h, _)) = parse_start(req) else {
                return Err(lego_proto::fs::status_of(22));
            };
            let _ = h;
            let mut q = starts.lock();
            if q.len() >= MAX_PROCESSES {
                return Err(lego_proto::fs::status_of(11));
            }
            q.push_back(req.to_vec());
            Ok(0)
        });
        let signals = self.signals.clone();
        rpc.handle(pp::SIGNAL, move |_, req, _| {
            let s = pp::Signal::read_from_bytes(req).map_err(|_| lego_proto::fs::status_of(22))?;
            let mut q = signals.lock();
            if q.len() < 1024 {
                q.push((s.pid, s.sig));
            }
            Ok(0)
        });
    }

    fn run(&mut self, rpc: &mut Rpc) -> u64 {
        let starts: Vec<Vec<u8>> = self.starts.lock().drain(..).collect();
        for req in starts {
            self.start(rpc, &req);
        }
        let signals: Vec<(u32, u32)> = self.signals.lock().drain(..).collect();
        for (pid, sig) in signals {
            // From the user (Ctrl-C, `lego signal`): the handlers may take it. A run's
            // signal goes to its whole session, as a terminal's to its foreground group.
            self.signal_from_user(pid, sig);
        }
        self.collect(rpc);
        let now = time::now_ns();
        for p in &mut self.procs {
            p.wake(rpc, now);
        }
        self.hand_out(rpc);
        let n = self.procs.len();
        for k in 0..n {
            let i = (self.next + k) % n;
            if self.procs[i].can_run() {
                self.procs[i].run_slice(rpc, self.manager);
                self.next = i + 1;
                if let Some(op) = self.procs[i].op.take() {
                    self.serve_op(rpc, i, op);
                }
                self.procs[i].retire_thread();
                break;
            }
        }
        self.reap(rpc);
        self.job_notices();
        self.check_waiters(rpc);
        self.wake_vfork_parents();
        set_threads(self.procs.iter().map(|p| 1 + p.threads.len() as u32).sum());
        // A start or a signal that came in while this pass waited on the fabric (a program's
        // output goes out by RPC, and handlers run meanwhile) is served now: idling until the
        // next fabric event would lose it (a Ctrl-C to a program that then paused).
        if !self.signals.lock().is_empty()
            || !self.starts.lock().is_empty()
            || crate::worker::any_done()
        {
            return 0;
        }
        let mut wake = u64::MAX;
        for p in &self.procs {
            match p.wake_time() {
                Some(t) => wake = wake.min(t),
                None => return 0,
            }
        }
        wake
    }
}
