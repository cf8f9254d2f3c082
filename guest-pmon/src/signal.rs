//! Signal delivery on the pComponent: handler frames on the program's stack, `rt_sigreturn`,
//! the interval timer behind `alarm`/`setitimer`, and interrupting a sleeping syscall. The
//! decisions (what is pending, what runs, which mask) are `lego_linux::sigstate`'s.

use guest_rt::rpc::Rpc;
use guest_rt::time;
use lego_linux::abi::sigframe::{self as sf, RtSigframe, SI_KERNEL, Sigcontext, Siginfo, Ucontext};
use lego_linux::abi::signal::{
    KernelSigaction, SA_ONSTACK, SA_RESTART, SA_RESTORER, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK,
    StackT,
};
use lego_linux::abi::time::Timespec;
use lego_linux::errno as e;
use lego_linux::signal as s;
use lego_linux::sigstate::{Disposition, UNBLOCKABLE};
use zerocopy::IntoBytes;

use crate::process::{JobEvent, Process, RunState};
use crate::syscall::{copy_in, copy_out, err, write_val};
use guest_rt::arch::fpu::FpuState;

/// A thread out on a worker comes back at once to take its signal.
fn kick_if_out(state: RunState) {
    if let RunState::OnCpu(cpu) = state {
        crate::worker::kick(usize::from(cpu));
    }
}

/// Most frames set up in one go (each pending signal gets one, nested).
const MAX_FRAMES: usize = 64;
/// RFLAGS bits a handler starts with cleared: TF, DF, RF.
const HANDLER_CLEARS: u64 = (1 << 8) | (1 << 10) | (1 << 16);

impl Process {
    /// Sends `sig` to this process (from itself, a timer, a fault of a write, the user).
    /// `SIGCONT` continues a stopped process whatever its mask and action, and `SIGKILL`
    /// wakes one to die.
    pub fn send_signal(&mut self, sig: u32, info: Siginfo) {
        self.job_control(sig);
        // Linux queues a process's signal for all its threads and wakes one that does not
        // block it; here it goes to that thread's own pending set.
        let k = if self.sig.mask & s::mask_bit(sig).unwrap_or(0) != 0 {
            self.threads.iter().position(|t| !t.sig.blocks(sig))
        } else {
            None
        };
        self.send_to(k, sig, info);
    }

    /// Sends `sig` to thread `tid` of this process (`tgkill`); `false` if it has none.
    pub fn send_thread_signal(&mut self, tid: u32, sig: u32, info: Siginfo) -> bool {
        let k = if tid == self.tid {
            None
        } else {
            match self.thread_index(tid) {
                Some(k) => Some(k),
                None => return false,
            }
        };
        self.job_control(sig);
        self.send_to(k, sig, info);
        true
    }

    /// Puts `sig` in the pending set of `threads[k]` (`None`: the running thread), which a
    /// worker running it hands back at once.
    fn send_to(&mut self, k: Option<usize>, sig: u32, info: Siginfo) {
        match k {
            None => {
                self.sig.send(sig, info);
                kick_if_out(self.state);
            }
            Some(k) => {
                self.swap_thread(k);
                self.sig.send(sig, info);
                self.swap_thread(k);
                kick_if_out(self.threads[k].state);
            }
        }
    }

    /// What sending `sig` does to the whole process at once: `SIGCONT` continues it,
    /// `SIGKILL` wakes a stopped one to die.
    fn job_control(&mut self, sig: u32) {
        if self.stopped.is_some() {
            if sig == s::SIGCONT {
                self.stopped = None;
                self.job_event = Some(JobEvent::Continued);
                self.job_notify = true;
            } else if sig == s::SIGKILL {
                self.stopped = None;
            }
        }
    }

    /// Whether the monitor should run it: a thread is runnable, and it is not stopped.
    pub fn can_run(&self) -> bool {
        self.any_runnable() && self.stopped.is_none()
    }

    /// A fault's signal at the faulting instruction (`vector`, `error`, `cr2` go into the
    /// handler's `sigcontext`).
    pub fn fault_signal(&mut self, sig: u32, code: i32, addr: u64, trap: (u64, u64, u64)) {
        self.trap = trap;
        self.sig.force(sig, Siginfo::fault(sig, code, addr));
    }

    /// Fires the interval timer if it is due (`SIGALRM`), re-arming a periodic one.
    pub fn check_timer(&mut self, now: u64) {
        let (deadline, interval) = self.itimer;
        if deadline == 0 || now < deadline {
            return;
        }
        // Expirations missed while the program was not running are merged, as Linux's
        // `si_overrun` counts them.
        self.itimer.0 = match (now - deadline).checked_div(interval) {
            None => 0,
            Some(late) => deadline + (late + 1) * interval,
        };
        self.send_signal(s::SIGALRM, Siginfo::user(s::SIGALRM, SI_KERNEL, 0));
    }

    /// A sleeping process with a signal to take: the syscall it sleeps in ends with `EINTR`,
    /// or is made again after the handler if it is a read or write whose handler has
    /// `SA_RESTART` (Linux's `-ERESTARTSYS`).
    pub fn interrupt_sleep(&mut self, rpc: &mut Rpc) {
        let RunState::Sleeping(deadline) = self.state else {
            return;
        };
        // A vfork parent waits for its child whatever comes (its signals wait for it).
        if !self.sig.deliverable() || self.vfork_child.is_some() {
            return;
        }
        if self.sleep_rem != 0 {
            let left = remaining(deadline);
            let rem = Timespec::from_nanos(left);
            let va = core::mem::take(&mut self.sleep_rem);
            // A bad `rem` pointer was checked when the sleep began.
            let _ = write_val(self, rpc, va, &rem);
        }
        // A stop is not seen by the program: its syscall goes on after the `SIGCONT`.
        let restart = self.retry_syscall
            && match self.sig.peek().map(|g| self.sig.disposition(g)) {
                Some(Disposition::Handler(a)) => a.sa_flags & SA_RESTART != 0,
                Some(Disposition::Stop) => true,
                _ => false,
            };
        if restart {
            // `rax` still holds the syscall's number: back up over the `syscall`.
            self.regs.rip = self.regs.rip.wrapping_sub(2);
        } else {
            self.regs.rax = err(e::EINTR) as u64;
        }
        self.retry_syscall = false;
        self.futex = None;
        self.sigwait = None;
        self.state = RunState::Runnable;
    }

    /// Wakes a sleeping process whose time came, or whom a signal interrupts.
    pub fn wake(&mut self, rpc: &mut Rpc, now: u64) {
        self.check_timer(now);
        self.each_thread(|t| t.wake_thread(rpc, now));
    }

    fn wake_thread(&mut self, rpc: &mut Rpc, now: u64) {
        let RunState::Sleeping(deadline) = self.state else {
            return;
        };
        if self
            .sigwait
            .is_some_and(|(set, _)| self.sig.pending() & set != 0)
        {
            // `rt_sigtimedwait` is made again and takes it.
            self.state = RunState::Runnable;
        } else if self.sig.deliverable() {
            self.interrupt_sleep(rpc);
        } else if deadline <= now {
            self.sleep_rem = 0;
            if self.futex.take().is_some() {
                self.regs.rax = err(e::ETIMEDOUT) as u64;
            }
            // `ppoll`/`pselect6`'s mask was for the wait only.
            if let Some(m) = self.sig.saved_mask.take() {
                self.sig.mask = m;
            }
            self.state = RunState::Runnable;
        }
    }

    /// When this process next needs the CPU if it sleeps (its wake-up or its timer).
    pub fn wake_time(&self) -> Option<u64> {
        if self.done() {
            return None;
        }
        let mut t = u64::MAX;
        // A stopped process needs nothing but a signal (which wakes the monitor).
        if self.stopped.is_none() {
            for st in self.thread_states() {
                match st {
                    RunState::Sleeping(w) => t = t.min(w),
                    RunState::Runnable => return None,
                    // A worker kicks the monitor when it is done.
                    RunState::Exited | RunState::OnCpu(_) => {}
                }
            }
        }
        Some(match self.itimer.0 {
            0 => t,
            a => t.min(a),
        })
    }

    /// Delivers what is pending and not blocked: a handler frame each (nested, like Linux),
    /// or the end of the process.
    pub fn deliver_signals(&mut self, rpc: &mut Rpc) {
        for _ in 0..MAX_FRAMES {
            let Some((sig, info)) = self.sig.take() else {
                return;
            };
            match self.sig.disposition(sig) {
                Disposition::Ignore => {}
                Disposition::Stop => {
                    self.stopped = Some(sig);
                    self.job_event = Some(JobEvent::Stopped(sig));
                    self.job_notify = true;
                    return;
                }
                Disposition::Terminate { .. } => {
                    let addr = if is_fault(sig, &info) { info.addr() } else { 0 };
                    self.kill(sig, addr);
                    return;
                }
                Disposition::Handler(act) => {
                    if self.setup_frame(rpc, sig, &info, &act).is_err() {
                        // No room for the frame: Linux forces SIGSEGV.
                        self.kill(s::SIGSEGV, self.regs.rsp);
                        return;
                    }
                }
            }
        }
    }

    fn setup_frame(
        &mut self,
        rpc: &mut Rpc,
        sig: u32,
        info: &Siginfo,
        act: &KernelSigaction,
    ) -> Result<(), ()> {
        if act.sa_flags & SA_RESTORER == 0 {
            // x86-64 handlers return through the C library's restorer; without one there is
            // nowhere to go.
            return Err(());
        }
        let r = self.regs;
        let alt = self.sig.altstack;
        let onstack = act.sa_flags & SA_ONSTACK != 0;
        let top = sf::stack_top(r.rsp, alt, onstack);
        let pl = sf::place(top).ok_or(())?;
        self.fpu.save();
        let fpu = *self.fpu;
        copy_out(self, rpc, pl.fpstate, &fpu.0).map_err(|_| ())?;
        let (trapno, error, cr2) = if is_fault(sig, info) {
            self.trap
        } else {
            (0, 0, 0)
        };
        let saved_mask = self.sig.enter_handler(sig, act);
        let frame = RtSigframe {
            pretcode: act.sa_restorer,
            uc: Ucontext {
                uc_flags: sf::UC_SIGCONTEXT_SS | sf::UC_STRICT_RESTORE_SS,
                uc_link: 0,
                uc_stack: StackT {
                    ss_sp: alt.0,
                    ss_flags: if sf::on_stack(r.rsp, alt) {
                        SS_ONSTACK
                    } else {
                        alt.1 as i32
                    },
                    pad: 0,
                    ss_size: alt.2,
                },
                uc_mcontext: Sigcontext {
                    r8: r.r8,
                    r9: r.r9,
                    r10: r.r10,
                    r11: r.r11,
                    r12: r.r12,
                    r13: r.r13,
                    r14: r.r14,
                    r15: r.r15,
                    rdi: r.rdi,
                    rsi: r.rsi,
                    rbp: r.rbp,
                    rbx: r.rbx,
                    rdx: r.rdx,
                    rax: r.rax,
                    rcx: r.rcx,
                    rsp: r.rsp,
                    rip: r.rip,
                    eflags: r.rflags,
                    cs: 0x33,
                    ss: 0x2b,
                    err: error,
                    trapno,
                    oldmask: saved_mask,
                    cr2,
                    fpstate: pl.fpstate,
                    ..Sigcontext::default()
                },
                uc_sigmask: saved_mask,
            },
            info: *info,
        };
        if copy_out(self, rpc, pl.frame, frame.as_bytes()).is_err() {
            self.sig.mask = saved_mask;
            return Err(());
        }
        if onstack && alt.1 & SS_AUTODISARM != 0 && top == alt.0.wrapping_add(alt.2) {
            self.sig.altstack = (0, SS_DISABLE as u32, 0);
        }
        let info_at = pl.frame + core::mem::offset_of!(RtSigframe, info) as u64;
        let uc_at = pl.frame + core::mem::offset_of!(RtSigframe, uc) as u64;
        self.regs.rdi = u64::from(sig);
        self.regs.rsi = info_at;
        self.regs.rdx = uc_at;
        self.regs.rax = 0;
        self.regs.rsp = pl.frame;
        self.regs.rip = act.sa_handler;
        self.regs.rflags &= !HANDLER_CLEARS;
        // The handler starts with a clean FPU (the interrupted state is in the frame).
        *self.fpu = FpuState::initial();
        self.fpu.restore();
        self.c.signals += 1;
        Ok(())
    }

    /// `rt_sigreturn`: back to the context in the frame at `rsp - 8` (the restorer's `ret`
    /// popped `pretcode`). A frame that cannot be read ends the process with SIGSEGV.
    pub fn sigreturn(&mut self, rpc: &mut Rpc) {
        let at = self.regs.rsp.wrapping_sub(8) + core::mem::offset_of!(RtSigframe, uc) as u64;
        let uc: Ucontext = match crate::syscall::read_val(self, rpc, at) {
            Ok(u) => u,
            Err(_) => return self.kill(s::SIGSEGV, at),
        };
        let m = uc.uc_mcontext;
        if m.fpstate != 0 {
            let mut f = FpuState::initial();
            if copy_in(self, rpc, m.fpstate, &mut f.0).is_err() {
                return self.kill(s::SIGSEGV, m.fpstate);
            }
            f.sanitize();
            *self.fpu = f;
        } else {
            *self.fpu = FpuState::initial();
        }
        self.fpu.restore();
        let r = &mut self.regs;
        (r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15) =
            (m.r8, m.r9, m.r10, m.r11, m.r12, m.r13, m.r14, m.r15);
        (
            r.rdi, r.rsi, r.rbp, r.rbx, r.rdx, r.rax, r.rcx, r.rsp, r.rip,
        ) = (
            m.rdi, m.rsi, m.rbp, m.rbx, m.rdx, m.rax, m.rcx, m.rsp, m.rip,
        );
        // `usermode::enter` keeps only the flags user code may set.
        r.rflags = m.eflags;
        self.sig.mask = uc.uc_sigmask & !UNBLOCKABLE;
        let st = uc.uc_stack;
        if st.ss_flags & SS_ONSTACK == 0 {
            self.sig.altstack = (st.ss_sp, st.ss_flags as u32, st.ss_size);
        }
    }
}

/// Whether a signal came from a faulting instruction (its `siginfo` has an address): a fault
/// signal with a kernel code (those sent by `kill` have codes <= 0).
fn is_fault(sig: u32, info: &Siginfo) -> bool {
    matches!(
        sig,
        s::SIGSEGV | s::SIGBUS | s::SIGFPE | s::SIGILL | s::SIGTRAP
    ) && info.si_code > 0
}

/// Nanoseconds from now until `deadline` (0 if past).
fn remaining(deadline: u64) -> u64 {
    deadline.saturating_sub(time::now_ns())
}
