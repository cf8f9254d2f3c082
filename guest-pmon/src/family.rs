//! Processes and their children on this pComponent: `fork` (a new process with a copy of the
//! parent's address space, shared page by page at the mComponents until either writes),
//! `wait4`/`waitid` and zombies, `SIGCHLD`, `vfork`'s waiting parent, `kill` between
//! processes, process groups. A syscall that needs the whole table leaves an [`Op`] for the
//! monitor; its result goes into the caller's `rax` here.

extern crate alloc;

use alloc::vec::Vec;

use guest_rt::println;
use guest_rt::rpc::Rpc;
use lego_linux::abi::resource::Rusage;
use lego_linux::abi::sigframe::{CLD_CONTINUED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, Siginfo};
use lego_linux::abi::signal::{SA_NOCLDSTOP, SA_NOCLDWAIT};
use lego_linux::abi::time::Timeval;
use lego_linux::children::{CONTINUED_STATUS, stopped_status, wait_names, wait_status};
use lego_linux::errno::{self as e, Errno};
use lego_linux::signal as s;
use lego_proto::mem as memp;
use lego_proto::proc as pp;
use zerocopy::IntoBytes;

use crate::excache::Lines;
use crate::process::{End, ForkArgs, JobEvent, Op, Process, RunState, WaitArgs};
use crate::service::Pmon;
use crate::syscall::{err, write_val};

/// `clone` flags this monitor looks at.
pub mod clone {
    /// Share the address space.
    pub const VM: u64 = 0x100;
    /// The parent waits until the child execs or exits.
    pub const VFORK: u64 = 0x4000;
    /// A thread of the same process.
    pub const THREAD: u64 = 0x10000;
    /// Share the signal handlers.
    pub const SIGHAND: u64 = 0x800;
    /// Set the child's TLS base.
    pub const SETTLS: u64 = 0x80000;
    /// Write the child's id at `ptid` in the parent.
    pub const PARENT_SETTID: u64 = 0x100000;
    /// Zero `ctid` in the child when it exits.
    pub const CHILD_CLEARTID: u64 = 0x200000;
    /// Write the child's id at `ctid` in the child.
    pub const CHILD_SETTID: u64 = 0x1000000;
}

/// `WNOHANG`.
const WNOHANG: u32 = 1;
/// `WUNTRACED` (`wait4`) and `WSTOPPED` (`waitid`): report stopped children.
const WSTOPPED: u32 = 2;
/// `waitid`'s `WEXITED`: report ended children.
const WEXITED: u32 = 4;
/// `WCONTINUED`: report continued children.
const WCONTINUED: u32 = 8;
/// `waitid`'s `WNOWAIT`: leave the child waitable.
const WNOWAIT: u32 = 0x0100_0000;
/// Smallest ExCache a forked child gets.
const MIN_CHILD_EXCACHE: u64 = 64 * memp::PAGE as u64;
/// Ticks of `clock_t` per second (`sysconf(_SC_CLK_TCK)`).
const TICKS: u64 = 100;

/// A child that ended and was not waited for yet.
#[derive(Clone, Debug)]
pub struct Zombie {
    /// Its id.
    pub pid: u32,
    /// Its parent.
    pub ppid: u32,
    /// Its process group.
    pub pgid: u32,
    /// Its session.
    pub sid: u32,
    /// How it ended.
    pub end: End,
    /// CPU time, user and system ns.
    pub ns: (u64, u64),
}

/// What a `wait` reports of one child: its end, or a stop or continue.
#[derive(Clone, Copy, Debug)]
struct Report {
    pid: u32,
    /// `wait4`'s status word.
    status: i32,
    /// `waitid`'s (and `SIGCHLD`'s) siginfo.
    info: Siginfo,
    /// CPU time, user and system ns.
    ns: (u64, u64),
}

impl Report {
    fn new(pid: u32, status: i32, code: i32, si_status: u32, ns: (u64, u64)) -> Report {
        let tick = |ns: u64| ns / (1_000_000_000 / TICKS);
        let info = Siginfo::child(
            s::SIGCHLD,
            code,
            pid,
            si_status as i32,
            tick(ns.0),
            tick(ns.1),
        );
        Report {
            pid,
            status,
            info,
            ns,
        }
    }

    /// A live child's stop or continue.
    fn job(c: &Process, ev: JobEvent) -> Report {
        let ns = (c.c.user_ns, c.c.system_ns);
        match ev {
            JobEvent::Stopped(sig) => Report::new(c.pid, stopped_status(sig), CLD_STOPPED, sig, ns),
            JobEvent::Continued => {
                Report::new(c.pid, CONTINUED_STATUS, CLD_CONTINUED, s::SIGCONT, ns)
            }
        }
    }
}

impl Zombie {
    fn report(&self) -> Report {
        match self.end {
            End::Exited(c) => {
                Report::new(self.pid, wait_status(Some(c), 0), CLD_EXITED, c, self.ns)
            }
            End::Signaled { sig, .. } => {
                Report::new(self.pid, wait_status(None, sig), CLD_KILLED, sig, self.ns)
            }
        }
    }
}

fn timeval(ns: u64) -> Timeval {
    Timeval {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_usec: ((ns % 1_000_000_000) / 1000) as i64,
    }
}

impl Pmon {
    /// Serves the work a syscall of `procs[i]` left.
    pub(crate) fn serve_op(&mut self, rpc: &mut Rpc, i: usize, op: Op) {
        let ret = match op {
            Op::Fork(a) => self.fork(rpc, i, a),
            Op::Wait(w) => return self.wait(rpc, i, w),
            Op::Kill { target, sig, code } => self.kill_op(i, target, sig, code),
            Op::SetPgid { pid, pgid } => self.set_pgid(i, pid, pgid),
            Op::Ids { pid, sid } => self.ids(pid, sid),
        };
        self.procs[i].regs.rax = ret as u64;
    }

    /// `fork`: a child with a copy of `procs[i]`: its dirty lines are written back, the home
    /// copies the address space (`FORK`), and the child starts with an empty ExCache of its
    /// own, fetching what it touches.
    fn fork(&mut self, rpc: &mut Rpc, i: usize, a: ForkArgs) -> i64 {
        if a.flags & clone::THREAD != 0 {
            return self.clone_thread(rpc, i, a);
        }
        if self.procs.len() >= crate::service::MAX_PROCESSES {
            return err(e::EAGAIN);
        }
        let page = memp::PAGE as u64;
        let (pbytes, pways) = self.procs[i].excache;
        let ways = u64::from(pways.max(1));
        let whole = ways * page;
        let floor = MIN_CHILD_EXCACHE.div_ceil(whole) * whole;
        let largest = self.pool.largest();
        // Half of what is free (so that more children fit), at most the parent's size, at
        // least the floor while the pool has it.
        let mut bytes = pbytes.min(largest / 2);
        bytes -= bytes % whole;
        if bytes < floor && largest >= floor && pbytes >= floor {
            bytes = floor;
        }
        // Without room in the pool, the child takes the upper half of the parent's ExCache
        // (which the fork empties anyway): a full pComponent still forks. When even that is
        // too small, the ExCache is this pComponent's process limit: EAGAIN, as Linux's
        // `RLIMIT_NPROC` (shells retry it; a child's exit frees room).
        let (base, split) = if bytes >= floor {
            match self.pool.alloc(bytes) {
                Some(b) => (b, None),
                None => return err(e::EAGAIN),
            }
        } else {
            bytes = (pbytes / 2) - (pbytes / 2) % whole;
            if bytes < floor || pbytes - bytes < floor {
                println!(
                    "pmon: pid {}: fork refused: no room for the child's ExCache (EAGAIN)",
                    self.procs[i].pid
                );
                return err(e::EAGAIN);
            }
            let keep = pbytes - bytes;
            (self.procs[i].excache_base + keep, Some(keep))
        };
        match self.fork_into(rpc, i, a, base, (bytes, pways), split) {
            Ok(child) => {
                let pid = child.pid;
                if a.flags & clone::VFORK != 0 {
                    let p = &mut self.procs[i];
                    p.vfork_child = Some(pid);
                    p.state = RunState::Sleeping(u64::MAX);
                }
                self.procs.push(child);
                i64::from(pid)
            }
            Err(x) => {
                if split.is_none() {
                    self.pool.free(base, bytes);
                }
                err(x)
            }
        }
    }

    fn fork_into(
        &mut self,
        rpc: &mut Rpc,
        i: usize,
        a: ForkArgs,
        base: u64,
        excache: (u64, u32),
        split: Option<u64>,
    ) -> Result<Process, Errno> {
        let pid = self.new_pid(rpc, i).ok_or(e::EAGAIN)?;
        let p = &mut self.procs[i];
        // The child fetches everything from the owners: the parent's dirty lines go there
        // first (and its lines are dropped: the simple way to make every later write of the
        // parent a flush the owners see after the fork).
        if !p.invalidate(rpc, 0, crate::syscall::USER_END, true) {
            return Err(e::ENOMEM);
        }
        // Its lines are gone: a parent that gives the child half its ExCache restarts on the
        // lower part once the fork cannot fail any more.
        let shrunk = match split {
            Some(keep) => {
                let slots = (keep / memp::PAGE as u64) as u32;
                let l = Lines::new(p.excache_base, slots, p.excache.1, p.policy)
                    .map_err(|_| e::ENOMEM)?;
                Some((l, keep))
            }
            None => None,
        };
        let mut c = Process::blank(pid, &p.start, base, excache, p.policy, &p.cwd, &p.exe)
            .map_err(|_| e::ENOMEM)?;
        let req = memp::ForkRequest {
            parent: p.pid,
            child: pid,
        };
        if let Err(x) = rpc.call(p.home, memp::FORK, req.as_bytes(), &mut []) {
            println!("pmon: pid {}: the home refused the fork: {x:?}", p.pid);
            c.release();
            return Err(e::ENOMEM);
        }
        if let Some((l, keep)) = shrunk {
            p.lines = l;
            p.excache.0 = keep;
        }
        c.ppid = p.pid;
        c.pgid = p.pgid;
        c.sid = p.sid;
        c.session = p.session;
        c.home = p.home;
        c.vnode = p.vnode;
        c.flags = p.flags;
        c.winsize = p.winsize;
        c.clock_base = p.clock_base;
        c.regs = a.child_regs(&p.regs);
        *c.fpu = *p.fpu;
        c.vmas = p.vmas.clone();
        c.regions = p.regions.clone();
        c.touched = p.touched.clone();
        c.fds = p.fds.fork_copy();
        c.sig = p.sig.fork_copy();
        c.comm = p.comm.clone();
        c.cmdline = p.cmdline.clone();
        c.environ = p.environ.clone();
        c.cred = p.cred.clone();
        c.umask = p.umask;
        c.personality = p.personality;
        c.nice = p.nice;
        c.sched = p.sched;
        c.limits = p.limits;
        c.stdin_eof = p.stdin_eof;
        c.exit_signal = (a.flags & 0xff) as u32;
        if a.flags & clone::VFORK != 0 {
            c.vfork_parent = p.pid;
        }
        if a.flags & clone::CHILD_CLEARTID != 0 {
            c.clear_tid = a.ctid;
        }
        if a.flags & clone::PARENT_SETTID != 0 {
            let _ = write_val(p, rpc, a.ptid, &(pid as i32));
        }
        if a.flags & clone::CHILD_SETTID != 0 {
            let _ = write_val(&mut c, rpc, a.ctid, &(pid as i32));
        }
        println!(
            "pmon: pid {} forked pid {} (ExCache {} KiB)",
            p.pid,
            pid,
            excache.0 >> 10
        );
        Ok(c)
    }

    /// A cluster-wide id for a child or thread of `procs[i]`, from the managers.
    pub(crate) fn new_pid(&self, rpc: &mut Rpc, i: usize) -> Option<u32> {
        let p = &self.procs[i];
        let req = pp::NewPid {
            session: p.session,
            parent: p.pid,
        };
        let mut out = [0u8; 4];
        match rpc.call(self.manager, pp::NEW_PID, req.as_bytes(), &mut out) {
            Ok(4) => Some(u32::from_le_bytes(out)),
            _ => None,
        }
    }

    /// `wait4`/`waitid`: a zombie child that matches is reaped (or left, `WNOWAIT`), or a
    /// stopped or continued one reported if asked for (`WUNTRACED`, `WCONTINUED`), and its
    /// status written; without one the caller sleeps until a child changes
    /// (`check_waiters`), unless `WNOHANG`; without any child that matches, `ECHILD`.
    fn wait(&mut self, rpc: &mut Rpc, i: usize, w: WaitArgs) {
        let (me, pgid) = (self.procs[i].pid, self.procs[i].pgid);
        let keep = w.waitid && w.options & WNOWAIT != 0;
        // `waitid` says which changes it wants; `wait4` always takes ends.
        let ends = !w.waitid || w.options & WEXITED != 0;
        let z = self
            .zombies
            .iter()
            .position(|z| ends && z.ppid == me && wait_names(w.target, pgid, z.pid, z.pgid));
        let mut found = None;
        if let Some(k) = z {
            let zombie = self.zombies[k].clone();
            if !keep {
                self.zombies.remove(k);
                let p = &mut self.procs[i];
                p.children_ns.0 += zombie.ns.0;
                p.children_ns.1 += zombie.ns.1;
            }
            found = Some(zombie.report());
        } else if let Some(c) = self.procs.iter_mut().find(|c| {
            c.ppid == me
                && wait_names(w.target, pgid, c.pid, c.pgid)
                && match c.job_event {
                    Some(JobEvent::Stopped(_)) => w.options & WSTOPPED != 0,
                    Some(JobEvent::Continued) => w.options & WCONTINUED != 0,
                    None => false,
                }
        }) {
            let ev = if keep {
                c.job_event
            } else {
                c.job_event.take()
            };
            found = ev.map(|ev| Report::job(c, ev));
        }
        let p = &mut self.procs[i];
        if let Some(r) = found {
            p.regs.rax = finish_wait(p, rpc, &w, Some(&r)) as u64;
            wait_over(p);
            return;
        }
        // A child that ended but is not reaped yet counts: its zombie comes with the reap.
        let live = self
            .procs
            .iter()
            .any(|c| c.ppid == me && wait_names(w.target, pgid, c.pid, c.pgid));
        let p = &mut self.procs[i];
        if !live {
            // Also for a waiter whose last child went without a zombie (SIGCHLD ignored).
            p.regs.rax = err(e::ECHILD) as u64;
            wait_over(p);
        } else if w.options & WNOHANG != 0 {
            p.regs.rax = finish_wait(p, rpc, &w, None) as u64;
            wait_over(p);
        } else {
            // Asleep in the syscall: made again after a handler with SA_RESTART.
            p.waiting = Some(w);
            p.retry_syscall = true;
            p.regs.rax = w.nr;
            p.state = RunState::Sleeping(u64::MAX);
        }
    }

    /// Completes the waits a child's end (or a signal) settles.
    pub(crate) fn check_waiters(&mut self, rpc: &mut Rpc) {
        for i in 0..self.procs.len() {
            // Each thread in turn as the running one (`wait` serves the running one).
            for k in 0..=self.procs[i].threads.len() {
                let other = k < self.procs[i].threads.len();
                if other {
                    self.procs[i].swap_thread(k);
                }
                let p = &mut self.procs[i];
                if let Some(w) = p.waiting {
                    if p.state == RunState::Sleeping(u64::MAX) {
                        self.wait(rpc, i, w);
                    } else {
                        // A signal ended the wait.
                        p.waiting = None;
                    }
                }
                if other {
                    self.procs[i].swap_thread(k);
                }
            }
        }
    }

    /// Parents hear of their children's stops and continues: `SIGCHLD` (unless they asked
    /// for none with `SA_NOCLDSTOP`); a waiting parent finds the change in `check_waiters`.
    pub(crate) fn job_notices(&mut self) {
        for k in 0..self.procs.len() {
            if !core::mem::take(&mut self.procs[k].job_notify) {
                continue;
            }
            let (ppid, ev) = (self.procs[k].ppid, self.procs[k].job_event);
            let Some(ev) = ev else { continue };
            let info = Report::job(&self.procs[k], ev).info;
            if let Some(parent) = self.procs.iter_mut().find(|q| q.pid == ppid)
                && parent.sig.action(s::SIGCHLD).sa_flags & SA_NOCLDSTOP == 0
            {
                parent.send_signal(s::SIGCHLD, info);
            }
        }
    }

    /// A `vfork` parent runs again once its child exec'd or ended.
    pub(crate) fn wake_vfork_parents(&mut self) {
        let held: Vec<(u32, u32)> = self
            .procs
            .iter()
            .filter(|p| p.vfork_parent != 0 && !p.done())
            .map(|p| (p.pid, p.vfork_parent))
            .collect();
        for p in &mut self.procs {
            let me = p.pid;
            p.each_thread(|t| {
                let Some(c) = t.vfork_child else { return };
                if !held.contains(&(c, me)) {
                    t.vfork_child = None;
                    if t.state == RunState::Sleeping(u64::MAX) {
                        t.state = RunState::Runnable;
                    }
                }
            });
        }
    }

    /// A child `p` ended: its parent gets `SIGCHLD` and a zombie to wait for (none if the
    /// parent ignores `SIGCHLD`, or has gone); its own children and zombies lose their parent.
    pub(crate) fn child_ended(&mut self, p: &Process) {
        let end = p.end.clone().unwrap_or(End::Exited(0));
        for c in self.procs.iter_mut().filter(|c| c.ppid == p.pid) {
            c.ppid = 1;
        }
        self.zombies.retain(|z| z.ppid != p.pid);
        let Some(parent) = self.procs.iter_mut().find(|q| q.pid == p.ppid) else {
            return;
        };
        let z = Zombie {
            pid: p.pid,
            ppid: p.ppid,
            pgid: p.pgid,
            sid: p.sid,
            end,
            ns: (p.c.user_ns, p.c.system_ns),
        };
        if p.exit_signal != 0 {
            parent.send_signal(p.exit_signal, z.report().info);
        }
        // No zombie for a parent that ignores `SIGCHLD` or asked for none (`SA_NOCLDWAIT`).
        let nowait = parent.sig.ignores(s::SIGCHLD)
            || parent.sig.action(s::SIGCHLD).sa_flags & SA_NOCLDWAIT != 0;
        if p.exit_signal == s::SIGCHLD && nowait {
            parent.children_ns.0 += z.ns.0;
            parent.children_ns.1 += z.ns.1;
            return;
        }
        if self.zombies.len() < 4 * crate::service::MAX_PROCESSES {
            self.zombies.push(z);
        }
    }

    /// `kill` of others: a pid here, my group, every process of my session, a group.
    fn kill_op(&mut self, i: usize, target: i64, sig: u32, code: i32) -> i64 {
        let (me, pgid, session) = (self.procs[i].pid, self.procs[i].pgid, self.procs[i].session);
        let hits: Vec<usize> = (0..self.procs.len())
            .filter(|&k| {
                let q = &self.procs[k];
                !q.done()
                    && match target {
                        t if t > 0 => i64::from(q.pid) == t || q.has_thread(t as u32),
                        0 => q.pgid == pgid,
                        -1 => q.session == session && q.pid != me,
                        t => i64::from(q.pgid) == -t,
                    }
            })
            .collect();
        if hits.is_empty() {
            // A zombie can still be signalled (nothing happens).
            let zombie = target > 0 && self.zombies.iter().any(|z| i64::from(z.pid) == target);
            return if zombie { 0 } else { err(e::ESRCH) };
        }
        if sig != 0 {
            for k in hits {
                self.procs[k].send_signal(sig, Siginfo::user(sig, code, me));
            }
        }
        0
    }

    /// `setpgid` with Linux's rules: the caller or a child of it that has not exec'd, in
    /// the caller's session, not a session leader, into its own group or an existing group of
    /// that session.
    fn set_pgid(&mut self, i: usize, pid: u32, pgid: u32) -> i64 {
        let (me, my_sid) = (self.procs[i].pid, self.procs[i].sid);
        let t = if pid == 0 || pid == me {
            i
        } else {
            match self.procs.iter().position(|c| c.pid == pid && c.ppid == me) {
                Some(t) => t,
                None => return err(e::ESRCH),
            }
        };
        let c = &self.procs[t];
        if t != i && c.sid != my_sid {
            return err(e::EPERM);
        }
        if t != i && c.execed {
            return err(e::EACCES);
        }
        if c.sid == c.pid {
            return err(e::EPERM);
        }
        let pgid = if pgid == 0 { c.pid } else { pgid };
        let sid = c.sid;
        if pgid != c.pid && !self.procs.iter().any(|q| q.pgid == pgid && q.sid == sid) {
            return err(e::EPERM);
        }
        self.procs[t].pgid = pgid;
        0
    }

    /// `getpgid`/`getsid` of `pid`: a process of this pComponent, or one of its zombies.
    fn ids(&self, pid: u32, sid: bool) -> i64 {
        let pick = |pgid: u32, s: u32| i64::from(if sid { s } else { pgid });
        if let Some(p) = self.procs.iter().find(|p| p.pid == pid) {
            return pick(p.pgid, p.sid);
        }
        match self.zombies.iter().find(|z| z.pid == pid) {
            Some(z) => pick(z.pgid, z.sid),
            None => err(e::ESRCH),
        }
    }
}

/// The running thread's wait is answered: it no longer sleeps in it.
fn wait_over(p: &mut Process) {
    p.waiting = None;
    p.retry_syscall = false;
    if p.state == RunState::Sleeping(u64::MAX) {
        p.state = RunState::Runnable;
    }
}

/// Writes a wait's results (`found` None: `WNOHANG` found nothing) and returns `rax`.
fn finish_wait(p: &mut Process, rpc: &mut Rpc, w: &WaitArgs, found: Option<&Report>) -> i64 {
    if w.waitid {
        let info = found.map(|r| r.info).unwrap_or_default();
        if w.status != 0 && write_val(p, rpc, w.status, &info).is_err() {
            return err(e::EFAULT);
        }
        if let Some(r) = found
            && w.rusage != 0
        {
            let _ = write_val(p, rpc, w.rusage, &rusage(r));
        }
        return 0;
    }
    let Some(r) = found else { return 0 };
    if w.status != 0 && write_val(p, rpc, w.status, &r.status).is_err() {
        return err(e::EFAULT);
    }
    if w.rusage != 0 && write_val(p, rpc, w.rusage, &rusage(r)).is_err() {
        return err(e::EFAULT);
    }
    i64::from(r.pid)
}

fn rusage(r: &Report) -> Rusage {
    Rusage {
        ru_utime: timeval(r.ns.0),
        ru_stime: timeval(r.ns.1),
        ..Rusage::default()
    }
}
