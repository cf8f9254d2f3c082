//! A process's threads. The running thread's state lives in the [`Process`] itself (its
//! registers, FPU, signal mask, sleep), so every syscall sees "the process and its current
//! thread" as one; the other threads wait here, and a switch exchanges the two (a few words
//! and pointers: the FPU area and the `siginfo`s move by pointer).

extern crate alloc;

use alloc::boxed::Box;

use guest_rt::arch::fpu::FpuState;
use guest_rt::arch::usermode::UserRegs;
use guest_rt::rpc::Rpc;
use lego_linux::errno as e;
use lego_linux::sigstate::ThreadSig;

use crate::family::clone;
use crate::process::{ForkArgs, Process, RunState, WaitArgs};
use crate::service::Pmon;
use crate::syscall::{err, write_val};

/// Most threads a process may have (a `clone` past it is `EAGAIN`).
pub const MAX_THREADS: usize = 256;

/// A `futex` wait: the word's address and the wake bitsets that end it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FutexWait {
    /// The futex word (a user address of the process).
    pub addr: u64,
    /// `FUTEX_WAIT_BITSET`'s bitset (`MATCH_ANY` for `FUTEX_WAIT`).
    pub bitset: u32,
}

/// A thread that is not running.
pub struct Thread {
    /// Its id (`gettid`).
    pub tid: u32,
    /// Its registers.
    pub regs: UserRegs,
    /// Its x87/SSE registers.
    pub fpu: Box<FpuState>,
    /// Its signal mask, pending set and alternate stack.
    pub sig: ThreadSig,
    /// `CLONE_CHILD_CLEARTID` / `set_tid_address`.
    pub clear_tid: u64,
    /// `set_robust_list`'s head.
    pub robust_list: u64,
    /// Where it is.
    pub state: RunState,
    /// What it sleeps in: see the fields of the same names in [`Process`].
    pub sleep_rem: u64,
    /// See [`Process::retry_syscall`].
    pub retry_syscall: bool,
    /// See [`Process::stdin_waits`].
    pub stdin_waits: u32,
    /// See [`Process::trap`].
    pub trap: (u64, u64, u64),
    /// See [`Process::waiting`].
    pub waiting: Option<WaitArgs>,
    /// See [`Process::vfork_child`].
    pub vfork_child: Option<u32>,
    /// See [`Process::futex`].
    pub futex: Option<FutexWait>,
    /// CPU time it used (ns).
    pub cpu_ns: u64,
    /// See [`Process::sigwait`].
    pub sigwait: Option<(u64, u64)>,
}

impl Process {
    /// Exchanges the running thread with `self.threads[k]`; doing it again undoes it.
    pub fn swap_thread(&mut self, k: usize) {
        let t = &mut self.threads[k];
        core::mem::swap(&mut self.tid, &mut t.tid);
        core::mem::swap(&mut self.regs, &mut t.regs);
        core::mem::swap(&mut self.fpu, &mut t.fpu);
        self.sig.swap_thread(&mut t.sig);
        core::mem::swap(&mut self.clear_tid, &mut t.clear_tid);
        core::mem::swap(&mut self.robust_list, &mut t.robust_list);
        core::mem::swap(&mut self.state, &mut t.state);
        core::mem::swap(&mut self.sleep_rem, &mut t.sleep_rem);
        core::mem::swap(&mut self.retry_syscall, &mut t.retry_syscall);
        core::mem::swap(&mut self.stdin_waits, &mut t.stdin_waits);
        core::mem::swap(&mut self.trap, &mut t.trap);
        core::mem::swap(&mut self.waiting, &mut t.waiting);
        core::mem::swap(&mut self.vfork_child, &mut t.vfork_child);
        core::mem::swap(&mut self.futex, &mut t.futex);
        core::mem::swap(&mut self.cpu_ns, &mut t.cpu_ns);
        core::mem::swap(&mut self.sigwait, &mut t.sigwait);
    }

    /// Runs `f` on every thread in turn as the running one (the running thread first), then
    /// makes the first one running again. `f` must not add or remove threads.
    pub fn each_thread(&mut self, mut f: impl FnMut(&mut Process)) {
        f(self);
        for k in 0..self.threads.len() {
            self.swap_thread(k);
            f(self);
            self.swap_thread(k);
        }
    }

    /// Makes the next runnable thread the running one (round robin: the one that ran goes to
    /// the back); the running thread stays if no other can run.
    pub fn pick_thread(&mut self) {
        let Some(k) = self
            .threads
            .iter()
            .position(|t| t.state == RunState::Runnable)
        else {
            return;
        };
        self.swap_thread(k);
        let ran = self.threads.remove(k);
        self.threads.push(ran);
    }

    /// Whether any thread is runnable.
    pub fn any_runnable(&self) -> bool {
        self.state == RunState::Runnable
            || self.threads.iter().any(|t| t.state == RunState::Runnable)
    }

    /// The running thread ended (`exit` with others left): another takes its place and its
    /// state goes.
    pub fn retire_thread(&mut self) {
        if self.state != RunState::Exited || self.end.is_some() || self.threads.is_empty() {
            return;
        }
        let k = self
            .threads
            .iter()
            .position(|t| t.state == RunState::Runnable)
            .unwrap_or(0);
        self.swap_thread(k);
        self.threads.swap_remove(k);
    }

    /// The index in `threads` of thread `tid`, or `None` (the running one, or not ours).
    pub fn thread_index(&self, tid: u32) -> Option<usize> {
        self.threads.iter().position(|t| t.tid == tid)
    }

    /// Whether `tid` is one of this process's threads.
    pub fn has_thread(&self, tid: u32) -> bool {
        self.tid == tid || self.thread_index(tid).is_some()
    }

    /// Every thread's state, the running one's first.
    pub fn thread_states(&self) -> impl Iterator<Item = RunState> + '_ {
        core::iter::once(self.state).chain(self.threads.iter().map(|t| t.state))
    }
}

impl Pmon {
    /// `clone` with `CLONE_THREAD`: a new thread of `procs[i]`, runnable, starting where the
    /// caller returns with `rax` 0 on the stack and TLS it was given. Its id comes from the
    /// managers (ids are cluster-wide, shared with processes).
    pub(crate) fn clone_thread(&mut self, rpc: &mut Rpc, i: usize, a: ForkArgs) -> i64 {
        if self.procs[i].threads.len() + 1 >= MAX_THREADS {
            return err(e::EAGAIN);
        }
        let Some(tid) = self.new_pid(rpc, i) else {
            return err(e::EAGAIN);
        };
        let p = &mut self.procs[i];
        let regs = a.child_regs(&p.regs);
        // Linux writes both ids before the thread runs; a bad address is ignored there too.
        if a.flags & clone::PARENT_SETTID != 0 {
            let _ = write_val(p, rpc, a.ptid, &(tid as i32));
        }
        if a.flags & clone::CHILD_SETTID != 0 {
            let _ = write_val(p, rpc, a.ctid, &(tid as i32));
        }
        let t = Thread {
            tid,
            regs,
            fpu: Box::new(*p.fpu),
            sig: p.sig.new_thread(),
            clear_tid: if a.flags & clone::CHILD_CLEARTID != 0 {
                a.ctid
            } else {
                0
            },
            robust_list: 0,
            state: RunState::Runnable,
            sleep_rem: 0,
            retry_syscall: false,
            stdin_waits: 0,
            trap: (0, 0, 0),
            waiting: None,
            vfork_child: None,
            futex: None,
            cpu_ns: 0,
            sigwait: None,
        };
        p.threads.push(t);
        i64::from(tid)
    }
}
