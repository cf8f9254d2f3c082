//! A process on this pComponent: its registers, page table, ExCache lines, its copy of the
//! vmas and vRegion owners (from the home's replies), its Linux state, and how it runs: until
//! it leaves the CPU, then a syscall, a fault or an interrupt is handled here.

extern crate alloc;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use guest_rt::arch::fpu::FpuState;
use guest_rt::arch::usermode::{self, Exit, Resume, UserRegs};
use guest_rt::mm::space::UserSpace;
use guest_rt::mm::{FRAMES, phys_to_virt};
use guest_rt::rpc::Rpc;
use guest_rt::{arch, time};
use lego_linux::abi::sigframe::{
    BUS_ADRERR, FPE_INTDIV, ILL_ILLOPN, SEGV_ACCERR, SEGV_MAPERR, SI_KERNEL, TRAP_BRKPT,
};
use lego_linux::sigstate::SigState;
use lego_mm::TouchedPages;
use lego_proto::mem::{self as proto, PAGE, vma_flags};
use lego_proto::proc::{StartRequest, start_flags};

use crate::excache::{LineError, Lines};
use crate::fd::FdTable;
use crate::stats::Counters;
use crate::syscall;
use crate::thread::{FutexWait, Thread};

/// Where the trampoline page is mapped: the last page of the user half, which Linux never
/// gives a program (its `TASK_SIZE` ends below it).
pub const TRAMPOLINE_VA: u64 = 0x7fff_ffff_f000;
/// How long a program runs before the monitor polls the fabric again.
pub(crate) const SLICE_NS: u64 = 10_000_000;
/// Frames a trap-floor run maps first touches to (beyond them, the ordinary path).
const FLOOR_FRAMES: u64 = 4096;
/// Most touched-page chunks (2 MiB each) a process may have before p-local fills stop.
const TOUCHED_CHUNKS: usize = 64 * 1024;

/// Where a process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Ready to run.
    Runnable,
    /// Waiting until this time (`time::now_ns`): a sleep, or stdin with nothing yet.
    Sleeping(u64),
    /// Running on this worker CPU (`crate::worker`): its registers and FPU area are the
    /// job's until it comes back.
    OnCpu(u8),
    /// Done.
    Exited,
}

/// A change of a live child its parent may `wait` for (`WUNTRACED`, `WCONTINUED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobEvent {
    /// Stopped by this signal.
    Stopped(u32),
    /// Continued by `SIGCONT`.
    Continued,
}

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// `exit(code)`.
    Exited(u32),
    /// Killed by a signal, with the faulting address and instruction if a fault did it.
    Signaled {
        /// The signal.
        sig: u32,
        /// The address (faults).
        addr: u64,
        /// The instruction.
        rip: u64,
    },
}

/// Work a syscall leaves to the monitor, which holds every process of this pComponent
/// (`crate::family`): the syscall's result goes into `rax` when it is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `fork`, `vfork`, `clone` of a new process.
    Fork(ForkArgs),
    /// `wait4` / `waitid`.
    Wait(WaitArgs),
    /// `kill`, `tkill`, `tgkill` of another process or a group.
    Kill {
        /// The target as `kill` takes it (> 0 a pid, 0 my group, -1 all, < -1 a group).
        target: i64,
        /// The signal (0: only check).
        sig: u32,
        /// `si_code`.
        code: i32,
    },
    /// `setpgid(pid, pgid)` (`pid` 0: the caller; `pgid` 0: `pid`).
    SetPgid {
        /// The caller or one of its children.
        pid: u32,
        /// Its new group.
        pgid: u32,
    },
    /// `getpgid(pid)` or `getsid(pid)` of another process.
    Ids {
        /// The process.
        pid: u32,
        /// Its session, else its group.
        sid: bool,
    },
}

/// What `clone` asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForkArgs {
    /// `CLONE_*` flags (the low byte is the exit signal).
    pub flags: u64,
    /// The child's stack pointer (0: the parent's).
    pub stack: u64,
    /// `CLONE_PARENT_SETTID`'s address.
    pub ptid: u64,
    /// `CLONE_CHILD_SETTID` / `CLONE_CHILD_CLEARTID`'s address.
    pub ctid: u64,
    /// `CLONE_SETTLS`'s base.
    pub tls: u64,
}

impl ForkArgs {
    /// The new child's or thread's registers: the caller's, returning 0 from `clone`, on
    /// the stack and with the TLS base it was given.
    pub fn child_regs(&self, parent: &UserRegs) -> UserRegs {
        let mut r = *parent;
        r.rax = 0;
        if self.stack != 0 {
            r.rsp = self.stack;
        }
        if self.flags & crate::family::clone::SETTLS != 0 {
            r.fs_base = self.tls;
        }
        r
    }
}

/// What `wait4` / `waitid` asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitArgs {
    /// The syscall (to make it again after a handler with `SA_RESTART`).
    pub nr: u64,
    /// Which children: > 0 a pid, 0 my group, -1 any, < -1 a group.
    pub target: i64,
    /// `WNOHANG` and friends.
    pub options: u32,
    /// `wait4`'s status, or `waitid`'s siginfo (0: none).
    pub status: u64,
    /// `wait4`'s rusage (0: none).
    pub rusage: u64,
    /// `waitid` rather than `wait4`.
    pub waitid: bool,
}

/// A process, with its running thread's state (`crate::thread`: the others wait in
/// `threads`).
pub struct Process {
    /// Cluster-wide id (the thread group's).
    pub pid: u32,
    /// The running thread's id (`gettid`; the first thread's is `pid`).
    pub tid: u32,
    /// The other threads.
    pub threads: Vec<Thread>,
    /// `set_robust_list`'s head (the running thread's).
    pub robust_list: u64,
    /// The `futex` the running thread sleeps on.
    pub futex: Option<FutexWait>,
    /// CPU time the running thread used (ns).
    pub cpu_ns: u64,
    /// `rt_sigtimedwait` of the running thread: the set it waits for and its deadline.
    pub sigwait: Option<(u64, u64)>,
    /// User and group ids.
    pub cred: lego_linux::cred::Cred,
    /// `umask`.
    pub umask: u32,
    /// `personality`.
    pub personality: u32,
    /// Nice value (`setpriority`), -20..=19.
    pub nice: i32,
    /// Resource limits.
    pub limits: lego_linux::rlimit::Limits,
    /// The arguments and environment of the running program, NUL-terminated strings
    /// (`/proc/self/cmdline`, `environ`).
    pub cmdline: Vec<u8>,
    /// See `cmdline`.
    pub environ: Vec<u8>,
    /// Unknown syscall numbers (below 512) already logged.
    pub unknown_logged: [u64; 8],
    /// Registered for `membarrier`'s private expedited command.
    pub membarrier: bool,
    /// `sched_setscheduler`: (policy, priority), recorded (the monitor's round robin is
    /// every thread's).
    pub sched: (u32, u32),
    /// When the running thread's turn ends (the next runnable thread gets the CPU then, or
    /// when this one blocks).
    turn_end: u64,
    /// Its parent (a process here), or 1 if it has none here.
    pub ppid: u32,
    /// Process group and session ids.
    pub pgid: u32,
    /// Session id (`setsid`).
    pub sid: u32,
    /// The `lego run` it belongs to (the pid that run started): its streams go there.
    pub session: u32,
    /// The start request of its session (vNode, home, vRegion candidates) for `execve`.
    pub start: StartRequest,
    /// Work for the monitor, set by a syscall (`Op`).
    pub op: Option<Op>,
    /// Blocked in `wait4`/`waitid` for this.
    pub waiting: Option<WaitArgs>,
    /// A `vfork` parent waits for this child to exec or exit.
    pub vfork_child: Option<u32>,
    /// A `vfork` child: its parent waits until it execs or exits (0: not one).
    pub vfork_parent: u32,
    /// It ran `execve` (its parent can no longer move it to another group).
    pub execed: bool,
    /// Stopped by this signal (job control): not scheduled until a `SIGCONT` or `SIGKILL`.
    pub stopped: Option<u32>,
    /// The last stop or continue its parent has not waited for.
    pub job_event: Option<JobEvent>,
    /// The parent is yet to hear of `job_event` (`SIGCHLD`).
    pub job_notify: bool,
    /// The signal its parent gets when it ends (`SIGCHLD` usually; 0: none).
    pub exit_signal: u32,
    /// `CLONE_CHILD_CLEARTID` / `set_tid_address`: zeroed at exit.
    pub clear_tid: u64,
    /// CPU time (user, system ns) of children waited for.
    pub children_ns: (u64, u64),
    /// Its registers while it is not on the CPU.
    pub regs: UserRegs,
    /// Its x87/SSE registers while it is not on the CPU (programs take turns on it).
    pub fpu: Box<FpuState>,
    /// Its page table.
    pub space: UserSpace,
    /// Its ExCache.
    pub lines: Lines,
    /// ExCache bytes and ways.
    pub excache: (u64, u32),
    /// Its eviction policy (a forked child's is the same).
    pub policy: lego_excache::Policy,
    /// Physical base of its ExCache frames (given back at exit).
    pub excache_base: u64,
    /// The vmas, by start (the home's replies keep it current).
    pub vmas: BTreeMap<u64, proto::Vma>,
    /// vRegion index -> owner mComponent.
    pub regions: BTreeMap<u32, u32>,
    /// Pages some owner holds data for (anonymous pages not in it are zero).
    pub touched: TouchedPages,
    /// The home mComponent.
    pub home: u32,
    /// The vNode, its storage and buffer-cache mComponent.
    pub vnode: (u32, u32, u32),
    /// Descriptors.
    pub fds: FdTable,
    /// Working directory.
    pub cwd: String,
    /// The program's path in the vNode.
    pub exe: String,
    /// Its name as `prctl(PR_SET_NAME)` and `/proc` see it: the program file's last
    /// component, at most 15 bytes, until the program renames itself.
    pub comm: String,
    /// `start_flags`.
    pub flags: u32,
    /// Terminal size.
    pub winsize: (u16, u16),
    /// Wall clock at start (ns since the epoch) and the monotonic clock then.
    pub clock_base: (u64, u64),
    /// Where it is.
    pub state: RunState,
    /// How it ended.
    pub end: Option<End>,
    /// Counters.
    pub c: Counters,
    /// Signal actions, mask, pending set, alternate stack.
    pub sig: SigState,
    /// `ITIMER_REAL`: (next expiry in monotonic ns or 0, interval ns).
    pub itimer: (u64, u64),
    /// The last fault's (vector, error code, cr2), for its handler's `sigcontext`.
    pub trap: (u64, u64, u64),
    /// `nanosleep`'s `rem` to fill in if a signal ends the sleep (0: none).
    pub sleep_rem: u64,
    /// Stdin reached its end.
    pub stdin_eof: bool,
    /// Consecutive stdin polls that found nothing (for backing off).
    pub stdin_waits: u32,
    /// A syscall to retry when the process runs next (stdin had nothing yet).
    pub retry_syscall: bool,
    trampoline: u64,
    /// `TRAP_FLOOR` runs: frames (base, count) handed out in turn to first touches, and how
    /// many were.
    floor: (u64, u64, u64),
    /// When it started.
    pub started_ns: u64,
}

impl core::fmt::Debug for Process {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Process").field("pid", &self.pid).finish()
    }
}

/// Why a process could not be created (or a program not loaded).
#[derive(Debug)]
pub struct StartError {
    /// Linux errno.
    pub errno: u32,
    /// One line.
    pub message: String,
    /// `execve` failed after the old address space was freed: the process cannot go on.
    pub gone: bool,
}

fn start_error(errno: u32, message: &str) -> StartError {
    StartError {
        errno,
        message: String::from(message),
        gone: false,
    }
}

/// Parsed `START` strings.
pub struct StartStrings<'a> {
    /// The program's path.
    pub path: &'a str,
    /// NUL-terminated args.
    pub args: &'a [u8],
    /// NUL-terminated env.
    pub env: &'a [u8],
    /// The working directory.
    pub cwd: &'a str,
}

/// Splits a `START` request.
pub fn parse_start(req: &[u8]) -> Option<(StartRequest, StartStrings<'_>)> {
    use zerocopy::FromBytes;
    let (h, rest) = StartRequest::read_from_prefix(req).ok()?;
    let (pl, al, el, cl) = (
        h.path_len as usize,
        h.args_len as usize,
        h.env_len as usize,
        h.cwd_len as usize,
    );
    if rest.len() != pl.checked_add(al)?.checked_add(el)?.checked_add(cl)? {
        return None;
    }
    let path = core::str::from_utf8(&rest[..pl]).ok()?;
    let args = &rest[pl..pl + al];
    let env = &rest[pl + al..pl + al + el];
    let cwd = core::str::from_utf8(&rest[pl + al + el..]).ok()?;
    Some((
        h,
        StartStrings {
            path,
            args,
            env,
            cwd,
        },
    ))
}

impl Process {
    /// Creates the process: its page table, its ExCache (frames at `excache_base`), then asks
    /// its home to load the program.
    pub fn start(
        rpc: &mut Rpc,
        h: &StartRequest,
        s: &StartStrings<'_>,
        excache_base: u64,
        excache: (u64, u32),
        policy: lego_excache::Policy,
    ) -> Result<Process, StartError> {
        let cwd = if s.cwd.is_empty() { "/" } else { s.cwd };
        let mut p = Process::blank(h.pid, h, excache_base, excache, policy, cwd, s.path)?;
        if h.flags & start_flags::TRAP_FLOOR != 0
            && let Some(base) = FRAMES.lock().alloc(FLOOR_FRAMES, 1)
        {
            // Zeroed here, outside the measured faults: anonymous memory must read as zeros
            // (glibc's start-up relies on it).
            // SAFETY: frames just allocated, ours, reached through the direct map.
            unsafe { core::ptr::write_bytes(phys_to_virt(base), 0, FLOOR_FRAMES as usize * PAGE) };
            p.floor = (base, FLOOR_FRAMES, 0);
        }
        if let Err(e) = p.exec(rpc, s.path, s.args, s.env, 0) {
            p.release();
            return Err(e);
        }
        Ok(p)
    }

    /// A process with nothing mapped but its trampoline: its page table, its ExCache (frames at
    /// `excache_base`), the state a program starts with. `start` and `fork` fill it.
    pub fn blank(
        pid: u32,
        h: &StartRequest,
        excache_base: u64,
        excache: (u64, u32),
        policy: lego_excache::Policy,
        cwd: &str,
        exe: &str,
    ) -> Result<Process, StartError> {
        let space = UserSpace::new().map_err(|_| start_error(12, "no memory for page tables"))?;
        let slots = (excache.0 / PAGE as u64) as u32;
        let lines = match Lines::new(excache_base, slots, excache.1, policy) {
            Ok(l) => l,
            Err(_) => {
                space.free();
                return Err(start_error(22, "bad ExCache geometry"));
            }
        };
        let Some(tramp) = FRAMES.lock().alloc(1, 1) else {
            space.free();
            return Err(start_error(12, "no memory for the trampoline"));
        };
        // SAFETY: a frame just allocated, ours, reached through the direct map.
        unsafe {
            let p = phys_to_virt(tramp);
            core::ptr::write_bytes(p, 0, PAGE);
            for cpu in 0..lego_abi::boot::MAX_CPUS {
                let code = usermode::trampoline_code(cpu);
                core::ptr::copy_nonoverlapping(
                    code.as_ptr(),
                    p.add(cpu * usermode::TRAMPOLINE_STRIDE),
                    code.len(),
                );
            }
        }
        let mut p = Process {
            pid,
            tid: pid,
            threads: Vec::new(),
            robust_list: 0,
            futex: None,
            cpu_ns: 0,
            sigwait: None,
            cred: lego_linux::cred::Cred::root(),
            umask: 0o022,
            personality: 0,
            nice: 0,
            sched: (0, 0),
            membarrier: false,
            limits: lego_linux::rlimit::Limits::new(crate::fd::MAX_FDS as u64),
            unknown_logged: [0; 8],
            cmdline: Vec::new(),
            environ: Vec::new(),
            turn_end: 0,
            ppid: 1,
            pgid: pid,
            sid: pid,
            session: h.pid,
            start: *h,
            op: None,
            waiting: None,
            vfork_child: None,
            vfork_parent: 0,
            execed: false,
            stopped: None,
            job_event: None,
            job_notify: false,
            exit_signal: lego_linux::signal::SIGCHLD,
            clear_tid: 0,
            children_ns: (0, 0),
            regs: UserRegs::default(),
            fpu: Box::new(FpuState::initial()),
            space,
            lines,
            excache,
            policy,
            excache_base,
            vmas: BTreeMap::new(),
            regions: BTreeMap::new(),
            touched: TouchedPages::new(TOUCHED_CHUNKS),
            home: h.home,
            vnode: (h.vnode, h.storage, h.cache),
            fds: FdTable::standard(),
            cwd: String::from(cwd),
            exe: String::from(exe),
            comm: comm_of(exe),
            flags: h.flags,
            winsize: (h.rows, h.cols),
            clock_base: (h.realtime_ns, time::now_ns()),
            state: RunState::Runnable,
            end: None,
            c: Counters::default(),
            sig: SigState::default(),
            itimer: (0, 0),
            trap: (0, 0, 0),
            sleep_rem: 0,
            stdin_eof: h.flags & start_flags::STDIN_NULL != 0,
            stdin_waits: 0,
            retry_syscall: false,
            trampoline: tramp,
            floor: (0, 0, 0),
            started_ns: time::now_ns(),
        };
        if p.space
            .map(
                TRAMPOLINE_VA,
                tramp,
                guest_rt::mm::space::Leaf {
                    writable: false,
                    dirty: false,
                },
            )
            .is_err()
        {
            p.release();
            return Err(start_error(12, "no memory for page tables"));
        }
        Ok(p)
    }

    /// Asks the home to load the program and takes its address space from the reply.
    /// `flags`: `exec_flags` (`REPLACE` for `execve`: the old image goes once the new one
    /// proved loadable; a failure after that has `StartError::gone`).
    pub fn exec(
        &mut self,
        rpc: &mut Rpc,
        path: &str,
        args: &[u8],
        env: &[u8],
        flags: u32,
    ) -> Result<(), StartError> {
        use zerocopy::{FromBytes, IntoBytes};
        let h = &self.start;
        let req = proto::ExecRequest {
            pid: self.pid,
            vnode: h.vnode,
            storage: h.storage,
            cache: h.cache,
            policy: h.vregion_policy,
            ncandidates: h.ncandidates,
            candidates: h.candidates,
            // A child's exec gets its own layout; the first program the seed as given.
            seed: h.seed ^ u64::from(self.pid ^ h.pid).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            path_len: path.len() as u32,
            args_len: args.len() as u32,
            env_len: env.len() as u32,
            argc: proto::strings(args).count() as u32,
            flags,
            _pad: 0,
        };
        let mut b = Vec::new();
        b.extend_from_slice(req.as_bytes());
        b.extend_from_slice(path.as_bytes());
        b.extend_from_slice(args);
        b.extend_from_slice(env);
        let mut out = alloc::vec![0u8; lego_proto::rpc::MAX_PAYLOAD];
        let n = rpc
            .call(self.home, proto::EXEC, &b, &mut out)
            .map_err(|e| start_error(112, &alloc::format!("the home mComponent failed: {e:?}")))?;
        let (r, rest) = proto::ExecReply::read_from_prefix(&out[..n])
            .map_err(|_| start_error(5, "a malformed reply from the home"))?;
        if r.errno != 0 && r.sp == u64::MAX {
            return Err(StartError {
                errno: r.errno,
                message: String::from("the old image is gone"),
                gone: true,
            });
        }
        if r.errno != 0 {
            let msg = rest
                .get(..r.msg_len as usize)
                .and_then(|m| core::str::from_utf8(m).ok())
                .unwrap_or("the program could not be loaded");
            return Err(start_error(r.errno, msg));
        }
        let vsize = core::mem::size_of::<proto::Vma>();
        let rsize = core::mem::size_of::<proto::Region>();
        let (nv, nr) = (r.nvmas as usize, r.nregions as usize);
        if rest.len() < nv * vsize + nr * rsize {
            return Err(start_error(5, "a malformed reply from the home"));
        }
        self.vmas.clear();
        self.regions.clear();
        self.touched = TouchedPages::new(TOUCHED_CHUNKS);
        self.cmdline = args.to_vec();
        self.environ = env.to_vec();
        for c in rest[..nv * vsize].chunks_exact(vsize) {
            if let Ok(v) = proto::Vma::read_from_bytes(c) {
                self.vmas.insert(v.start, v);
            }
        }
        for c in rest[nv * vsize..nv * vsize + nr * rsize].chunks_exact(rsize) {
            if let Ok(g) = proto::Region::read_from_bytes(c) {
                self.regions.insert(g.index, g.owner);
            }
        }
        // The stack pages the home wrote (arguments, environment, auxv) are at the owner.
        let mut va = r.stack_written & !(PAGE as u64 - 1);
        while let Some(v) = self.vma_at(va) {
            if v.flags & vma_flags::STACK == 0 {
                break;
            }
            self.touched.insert(va);
            va += PAGE as u64;
            if va >= v.end {
                break;
            }
        }
        self.regs = UserRegs {
            rip: r.entry,
            rsp: r.sp,
            ..UserRegs::default()
        };
        Ok(())
    }

    /// The next frame of the trap-floor pool, if any is left.
    fn floor_frame(&mut self) -> Option<u64> {
        let (base, count, used) = self.floor;
        (used < count).then(|| {
            self.floor.2 += 1;
            base + used * PAGE as u64
        })
    }

    /// The vma holding `va`.
    pub fn vma_at(&self, va: u64) -> Option<proto::Vma> {
        self.vmas
            .range(..=va)
            .next_back()
            .map(|(_, v)| *v)
            .filter(|v| va < v.end)
    }

    /// Replaces the vmas of `[lo, hi)` with `vmas` and takes the owners (a memory reply).
    pub fn set_vmas(&mut self, lo: u64, hi: u64, vmas: &[proto::Vma], regions: &[proto::Region]) {
        // Vmas crossing the edges are clipped; those inside go.
        let overlapping: Vec<u64> = self
            .vmas
            .range(..hi)
            .filter(|(_, v)| v.end > lo)
            .map(|(s, _)| *s)
            .collect();
        for s in overlapping {
            if let Some(v) = self.vmas.remove(&s) {
                if v.start < lo {
                    self.vmas.insert(v.start, proto::Vma { end: lo, ..v });
                }
                if v.end > hi {
                    self.vmas.insert(hi, proto::Vma { start: hi, ..v });
                }
            }
        }
        for v in vmas {
            self.vmas.insert(v.start, *v);
        }
        self.regions.clear();
        for g in regions {
            self.regions.insert(g.index, g.owner);
        }
    }

    /// A page fault at `addr` with x86 error code `code`: bring the line in, or the signal
    /// that ends the process.
    pub fn fault(&mut self, rpc: &mut Rpc, addr: u64, code: u64) -> Result<(), End> {
        self.c.faults += 1;
        let write = code & 2 != 0;
        let segv = |addr| End::Signaled {
            sig: 11,
            addr,
            rip: 0,
        };
        let Some(v) = self.vma_at(addr) else {
            return Err(segv(addr));
        };
        let readable = v.prot & 1 != 0;
        let writable = v.prot & 2 != 0;
        if (write && !writable) || (!write && !readable && v.prot & 4 == 0) || v.prot == 0 {
            return Err(segv(addr));
        }
        let page = addr & !(PAGE as u64 - 1);
        let anon = v.flags & vma_flags::ANON != 0;
        let untouched = anon && !self.touched.contains(page);
        if untouched
            && self.floor.1 > 0
            && self.space.pte(page) == 0
            && let Some(pa) = self.floor_frame()
        {
            // The trap floor: map a frame that is already there, nothing else.
            return self
                .space
                .map(
                    page,
                    pa,
                    guest_rt::mm::space::Leaf {
                        writable: true,
                        dirty: true,
                    },
                )
                .map_err(|_| End::Signaled {
                    sig: 9,
                    addr,
                    rip: 0,
                });
        }
        let plocal = untouched;
        self.line_fault(rpc, page, write, writable, plocal, addr)?;
        if plocal {
            self.fault_around(rpc, &v, page, writable);
        }
        Ok(())
    }

    /// Zero-fills and maps the untouched, unmapped pages of `page`'s aligned group (the
    /// run's fault-around width) inside vma `v`, clean: the host fills the whole group's
    /// shadow entries on the next access, so a program filling fresh memory traps once per
    /// group. Best effort: a page that cannot be brought in is left to its own fault.
    fn fault_around(&mut self, rpc: &mut Rpc, v: &proto::Vma, page: u64, writable: bool) {
        let shift =
            (self.flags & start_flags::FAULT_AROUND_MASK) >> start_flags::FAULT_AROUND_SHIFT;
        let span = (PAGE as u64) << shift.min(4);
        let base = page & !(span - 1);
        for q in (base..base + span).step_by(PAGE) {
            if q == page || q < v.start || q >= v.end {
                continue;
            }
            if self.touched.contains(q) || self.space.pte(q) != 0 {
                continue;
            }
            if self.line_fault(rpc, q, false, writable, true, q).is_err() {
                break;
            }
            self.c.fault_around += 1;
        }
    }

    /// Brings the line of `page` in (see `Lines::fault`); the signal if it cannot be.
    fn line_fault(
        &mut self,
        rpc: &mut Rpc,
        page: u64,
        write: bool,
        writable: bool,
        plocal: bool,
        addr: u64,
    ) -> Result<(), End> {
        self.lines
            .fault(
                rpc,
                &mut self.space,
                self.pid,
                &self.regions,
                &mut self.touched,
                page,
                write,
                writable,
                plocal,
                self.flags & start_flags::NO_PIGGYBACK == 0,
                &mut self.c,
            )
            .map_err(|e| match e {
                LineError::Owner(_) => End::Signaled {
                    sig: 7,
                    addr,
                    rip: 0,
                },
                LineError::Cache => End::Signaled {
                    sig: 9,
                    addr,
                    rip: 0,
                },
            })
    }

    /// Writes back the victims waiting for a flush.
    pub fn flush_pending(&mut self, rpc: &mut Rpc) -> bool {
        self.lines
            .flush_pending(
                rpc,
                &self.space,
                self.pid,
                &self.regions,
                &mut self.touched,
                &mut self.c,
            )
            .is_ok()
    }

    /// Removes the cached lines of `[lo, hi)`; dirty ones are written back if `keep`.
    pub fn invalidate(&mut self, rpc: &mut Rpc, lo: u64, hi: u64, keep: bool) -> bool {
        self.lines
            .invalidate(
                rpc,
                &mut self.space,
                self.pid,
                &self.regions,
                &mut self.touched,
                lo,
                hi,
                keep,
                &mut self.c,
            )
            .is_ok()
    }

    /// Runs the process for up to a slice; returns when it exited, blocked, or its slice
    /// ended (the monitor then polls the fabric).
    pub fn run_slice(&mut self, rpc: &mut Rpc, manager: u32) {
        if self.space.user_cr3() == 0 {
            self.space.activate();
        }
        let now = time::now_ns();
        if self.state != RunState::Runnable || now >= self.turn_end {
            self.pick_thread();
            self.turn_end = now + SLICE_NS;
        }
        if self.state != RunState::Runnable {
            // Every runnable thread is on a worker.
            return;
        }
        let slice_end = now + SLICE_NS;
        let before = self.c.user_ns + self.c.system_ns;
        // Other programs ran on this CPU since: their FPU registers are there.
        self.fpu.restore();
        self.run_slice_inner(rpc, manager, slice_end);
        self.fpu.save();
        // The thread's clock is its share of the process's (user and system time).
        self.cpu_ns += self.c.user_ns + self.c.system_ns - before;
    }

    fn run_slice_inner(&mut self, rpc: &mut Rpc, manager: u32, slice_end: u64) {
        loop {
            if !self.prepare_entry(rpc, manager) {
                return;
            }
            let now = time::now_ns();
            let mut wake = slice_end;
            if self.itimer.0 != 0 {
                wake = wake.min(self.itimer.0);
            }
            time::arm_wakeup(arch::rdtsc() + time::ns_to_ticks(wake.saturating_sub(now)));
            let t0 = time::now_ns();
            // Always through the trampoline: every register survives and user code can be
            // preempted (`usermode::enter`).
            let resume = self.trampoline_resume();
            let exit = usermode::enter(&mut self.regs, resume, self.space.user_cr3());
            let t1 = time::now_ns();
            self.c.user_ns += t1 - t0;
            if !self.handle_exit(rpc, manager, exit, t1) || time::now_ns() >= slice_end {
                return;
            }
        }
    }

    /// Readies the running thread for user code: a syscall to make again (stdin had nothing
    /// yet), the interval timer, pending signals. `false` if it cannot run now (it sleeps,
    /// stopped, ended, or left work for the monitor).
    pub fn prepare_entry(&mut self, rpc: &mut Rpc, manager: u32) -> bool {
        if self.retry_syscall {
            self.retry_syscall = false;
            let t = time::now_ns();
            syscall::dispatch(self, rpc, manager);
            self.c.system_ns += time::now_ns() - t;
            if self.state != RunState::Runnable || self.op.is_some() {
                return false;
            }
        }
        self.check_timer(time::now_ns());
        if self.sig.deliverable() {
            self.deliver_signals(rpc);
            if self.state != RunState::Runnable || self.stopped.is_some() {
                return false;
            }
        }
        true
    }

    /// Handles how the running thread left user code at `t1` (on this CPU or a worker): the
    /// syscall, the fault or the interrupt, then its signals. `true` if it may go on at once
    /// (still runnable, no work left for the monitor, not an interrupt, which lets the
    /// monitor look at the fabric).
    pub fn handle_exit(&mut self, rpc: &mut Rpc, manager: u32, exit: Exit, t1: u64) -> bool {
        match exit {
            Exit::Syscall => {
                syscall::dispatch(self, rpc, manager);
                if self.op.is_some() {
                    // The monitor finishes it (a fork, a wait, a kill of another).
                    self.c.system_ns += time::now_ns() - t1;
                    return false;
                }
            }
            Exit::Exception {
                vector: 14,
                cr2,
                error_code,
                ..
            } => {
                if let Err(End::Signaled { sig, addr, .. }) = self.fault(rpc, cr2, error_code) {
                    let code = match sig {
                        11 if self.vma_at(addr).is_none() => SEGV_MAPERR,
                        11 => SEGV_ACCERR,
                        7 => BUS_ADRERR,
                        _ => SI_KERNEL,
                    };
                    self.fault_signal(sig, code, addr, (14, error_code, cr2));
                }
            }
            Exit::Exception {
                vector,
                error_code,
                cr2,
                ..
            } => {
                let rip = self.regs.rip;
                // (signal, si_code, si_addr) as Linux's trap handlers send them.
                let (sig, code, addr) = match vector {
                    0 => (8, FPE_INTDIV, rip),      // #DE
                    16 | 19 => (8, SI_KERNEL, rip), // #MF, #XM
                    6 => (4, ILL_ILLOPN, rip),      // #UD
                    3 => (5, SI_KERNEL, 0),         // #BP (int3)
                    1 => (5, TRAP_BRKPT, rip),      // #DB
                    17 => (7, SI_KERNEL, 0),        // #AC
                    _ => (11, SI_KERNEL, 0),        // #GP, #SS, ...
                };
                self.fault_signal(sig, code, addr, (u64::from(vector), error_code, cr2));
            }
            Exit::Interrupt { .. } => {
                self.c.interrupts += 1;
            }
        }
        if self.sig.deliverable() {
            // A syscall that went to sleep with a signal already there (`rt_sigsuspend`
            // unblocking one) does not sleep.
            self.interrupt_sleep(rpc);
            self.deliver_signals(rpc);
        }
        self.c.system_ns += time::now_ns() - t1;
        self.state == RunState::Runnable && !matches!(exit, Exit::Interrupt { .. })
    }

    /// The trampoline frame (workers find their CPU's part of it).
    pub fn trampoline(&self) -> u64 {
        self.trampoline
    }

    fn trampoline_resume(&self) -> Resume {
        Resume::Trampoline {
            code_va: TRAMPOLINE_VA,
            data_va: phys_to_virt(self.trampoline) as u64
                + usermode::trampoline_data_offset(0) as u64,
        }
    }

    /// Whether the process ended (every thread with it).
    pub fn done(&self) -> bool {
        self.end.is_some()
    }

    /// Ends the process with signal `sig` (a fault at `addr`).
    pub fn kill(&mut self, sig: u32, addr: u64) {
        if self.end.is_none() {
            self.end = Some(End::Signaled {
                sig,
                addr,
                rip: self.regs.rip,
            });
        }
        self.state = RunState::Exited;
    }

    /// Ends the process with `exit(code)`.
    pub fn exit(&mut self, code: u32) {
        if self.end.is_none() {
            self.end = Some(End::Exited(code & 0xff));
        }
        self.state = RunState::Exited;
    }

    /// Gives back the page table and the trampoline (the ExCache frames are the caller's).
    pub fn release(self) {
        UserSpace::deactivate();
        let _ = FRAMES.lock().free(self.trampoline, 1);
        if self.floor.1 > 0 {
            let _ = FRAMES.lock().free(self.floor.0, self.floor.1);
        }
        self.space.free();
    }
}

/// The name a program file gives its process: the last component, at most 15 bytes (Linux's
/// `TASK_COMM_LEN` less the NUL), cut at a character boundary.
pub fn comm_of(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let mut end = base.len().min(15);
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    String::from(&base[..end])
}
