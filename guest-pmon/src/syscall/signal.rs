//! Signal syscalls: actions, masks, the alternate stack, sending to oneself, waiting for a
//! signal, `rt_sigreturn`, and the `ITIMER_REAL` timer (`alarm`, `setitimer`). Delivery is in
//! `crate::signal`.

use guest_rt::rpc::Rpc;
use guest_rt::time;
use lego_linux::abi::sigframe::{SI_TKILL, SI_USER, Siginfo};
use lego_linux::abi::signal::{
    KernelSigaction, MINSIGSTKSZ, SIGSET_SIZE, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK, StackT,
};
use lego_linux::abi::time::{ITIMER_REAL, Itimerval, Timespec, Timeval};
use lego_linux::errno as e;
use lego_linux::signal as s;
use lego_linux::sysno as nr;

use super::{err, put, read_val, write_val};
use crate::process::{Op, Process, RunState};

const NS: u64 = 1_000_000_000;

/// `rt_sigtimedwait(set, info, timeout, size)`: takes a pending signal of `set` (blocked or
/// not); without one, sleeps until one comes (`sigwait` in `crate::signal`'s wake-up) or the
/// timeout passes (`EAGAIN`). A signal outside the set that is delivered ends it with `EINTR`.
fn sigtimedwait(p: &mut Process, rpc: &mut Rpc, a: [u64; 6]) -> i64 {
    if a[3] != SIGSET_SIZE {
        return err(e::EINVAL);
    }
    let set: u64 = match read_val(p, rpc, a[0]) {
        Ok(v) => v,
        Err(x) => return err(x),
    };
    // SIGKILL and SIGSTOP cannot be waited for.
    let set = set & !lego_linux::sigstate::UNBLOCKABLE;
    if let Some((sig, info)) = p.sig.take_from(set) {
        p.sigwait = None;
        if a[1] != 0 && write_val(p, rpc, a[1], &info).is_err() {
            return err(e::EFAULT);
        }
        return i64::from(sig);
    }
    let now = time::now_ns();
    let deadline = match p.sigwait {
        // Made again after a wake-up: the first call's deadline stands.
        Some((_, d)) => d,
        None if a[2] == 0 => u64::MAX,
        None => match read_val::<Timespec>(p, rpc, a[2]) {
            Ok(t) if t.tv_sec >= 0 && (0..NS as i64).contains(&t.tv_nsec) => {
                now.saturating_add((t.tv_sec as u64).saturating_mul(NS) + t.tv_nsec as u64)
            }
            Ok(_) => return err(e::EINVAL),
            Err(x) => return err(x),
        },
    };
    if deadline <= now {
        p.sigwait = None;
        return err(e::EAGAIN);
    }
    p.sigwait = Some((set, deadline));
    p.retry_syscall = true;
    p.state = RunState::Sleeping(deadline);
    0
}

/// The syscalls of this family; `None` for one that is not.
pub fn call(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> Option<i64> {
    Some(match n {
        nr::RT_SIGACTION => sigaction(p, rpc, a),
        nr::RT_SIGPROCMASK => {
            if a[3] != SIGSET_SIZE {
                return Some(err(e::EINVAL));
            }
            let old = p.sig.mask;
            if a[1] != 0 {
                let set: u64 = match read_val(p, rpc, a[1]) {
                    Ok(v) => v,
                    Err(x) => return Some(err(x)),
                };
                if let Err(x) = p.sig.set_mask(a[0] as u32, set) {
                    return Some(err(x));
                }
            }
            if a[2] != 0 && write_val(p, rpc, a[2], &old).is_err() {
                return Some(err(e::EFAULT));
            }
            0
        }
        nr::RT_SIGPENDING => {
            if a[1] != SIGSET_SIZE {
                return Some(err(e::EINVAL));
            }
            let pend = p.sig.pending() & p.sig.mask;
            put(p, rpc, a[0], &pend)
        }
        nr::SIGALTSTACK => altstack(p, rpc, a),
        nr::KILL | nr::TKILL | nr::TGKILL => {
            let (target, sig, code) = match n {
                nr::TGKILL => (i64::from(a[1] as i32), a[2], SI_TKILL),
                nr::TKILL => (i64::from(a[0] as i32), a[1], SI_TKILL),
                _ => (i64::from(a[0] as i32), a[1], SI_USER),
            };
            if sig > u64::from(s::NSIG) {
                return Some(err(e::EINVAL));
            }
            if n == nr::TGKILL && (a[0] as i32 <= 0 || target <= 0) {
                return Some(err(e::EINVAL));
            }
            if n != nr::KILL && target > 0 && p.has_thread(target as u32) {
                // One of my threads (`pthread_kill`, `raise`).
                if n == nr::TGKILL && a[0] as u32 != p.pid {
                    return Some(err(e::ESRCH));
                }
                if sig != 0 {
                    let info = Siginfo::user(sig as u32, code, p.pid);
                    p.send_thread_signal(target as u32, sig as u32, info);
                }
                return Some(0);
            }
            if n == nr::TGKILL && a[0] as i32 != a[1] as i32 {
                // A thread of another process: only their first threads are known here.
                return Some(err(e::ESRCH));
            }
            if target == i64::from(p.pid) {
                if sig != 0 {
                    p.send_signal(sig as u32, Siginfo::user(sig as u32, code, p.pid));
                }
                return Some(0);
            }
            if n != nr::KILL && target <= 0 {
                return Some(err(e::EINVAL));
            }
            if target == i64::from(i32::MIN) {
                return Some(err(e::ESRCH));
            }
            // Another process, a group, everyone: the monitor has the table.
            p.op = Some(Op::Kill {
                target,
                sig: sig as u32,
                code,
            });
            0
        }
        nr::RT_SIGRETURN => {
            p.sigreturn(rpc);
            return None;
        }
        nr::RT_SIGSUSPEND => {
            if a[1] != SIGSET_SIZE {
                return Some(err(e::EINVAL));
            }
            let set: u64 = match read_val(p, rpc, a[0]) {
                Ok(v) => v,
                Err(x) => return Some(err(x)),
            };
            p.sig.saved_mask = Some(p.sig.mask);
            let _ = p.sig.set_mask(lego_linux::abi::signal::SIG_SETMASK, set);
            p.state = RunState::Sleeping(u64::MAX);
            err(e::EINTR)
        }
        nr::RT_SIGTIMEDWAIT => sigtimedwait(p, rpc, a),
        nr::RT_SIGQUEUEINFO | nr::RT_TGSIGQUEUEINFO => {
            // The caller's own siginfo, for itself or one of its threads (`sigqueue`,
            // `pthread_sigqueue`). Others may not pose as the kernel: si_code >= 0 is EPERM
            // unless it is a signal to oneself, as Linux.
            let (tgid, tid, sig, va) = if n == nr::RT_SIGQUEUEINFO {
                (a[0] as i32, 0, a[1], a[2])
            } else {
                (a[0] as i32, a[1] as i32, a[2], a[3])
            };
            if sig == 0 || sig > u64::from(s::NSIG) || tgid <= 0 || tid < 0 {
                return Some(err(e::EINVAL));
            }
            let mut info: Siginfo = match read_val(p, rpc, va) {
                Ok(v) => v,
                Err(x) => return Some(err(x)),
            };
            if tgid as u32 != p.pid || (tid != 0 && !p.has_thread(tid as u32)) {
                return Some(err(e::ESRCH));
            }
            if info.si_code >= 0 && n == nr::RT_TGSIGQUEUEINFO && tid as u32 != p.tid {
                return Some(err(e::EPERM));
            }
            info.si_signo = sig as i32;
            if tid == 0 {
                p.send_signal(sig as u32, info);
            } else {
                p.send_thread_signal(tid as u32, sig as u32, info);
            }
            0
        }
        nr::PAUSE => {
            p.state = RunState::Sleeping(u64::MAX);
            err(e::EINTR)
        }
        nr::ALARM => {
            let left = arm(p, a[0].min(u64::from(u32::MAX)) * NS, 0);
            // Whole seconds left, rounded to nearest, at least 1 if armed (as Linux).
            match left {
                0 => 0,
                l => ((l + NS / 2) / NS).max(1) as i64,
            }
        }
        nr::SETITIMER => {
            if a[0] as u32 != ITIMER_REAL {
                // ITIMER_VIRTUAL and ITIMER_PROF (CPU time) are not kept.
                return Some(err(e::EINVAL));
            }
            let new = if a[1] == 0 {
                Itimerval::default()
            } else {
                match read_val::<Itimerval>(p, rpc, a[1]) {
                    Ok(v) => v,
                    Err(x) => return Some(err(x)),
                }
            };
            let (Some(value), Some(interval)) =
                (new.it_value.to_nanos(), new.it_interval.to_nanos())
            else {
                return Some(err(e::EINVAL));
            };
            let old = current(p);
            arm(p, value, interval);
            if a[2] != 0 {
                put(p, rpc, a[2], &old)
            } else {
                0
            }
        }
        nr::GETITIMER => {
            if a[0] as u32 != ITIMER_REAL {
                return Some(err(e::EINVAL));
            }
            let cur = current(p);
            put(p, rpc, a[1], &cur)
        }
        _ => return None,
    })
}

/// `rt_sigaction(sig, act, oldact, sigsetsize)`.
fn sigaction(p: &mut Process, rpc: &mut Rpc, a: [u64; 6]) -> i64 {
    let sig = a[0] as u32;
    if a[3] != SIGSET_SIZE || !s::is_valid(sig) {
        return err(e::EINVAL);
    }
    let old = p.sig.action(sig);
    if a[1] != 0 {
        let k = match read_val::<KernelSigaction>(p, rpc, a[1]) {
            Ok(k) => k,
            Err(x) => return err(x),
        };
        if let Err(x) = p.sig.set_action(sig, k) {
            return err(x);
        }
    }
    if a[2] != 0 {
        put(p, rpc, a[2], &old)
    } else {
        0
    }
}

/// `sigaltstack(ss, old_ss)`.
fn altstack(p: &mut Process, rpc: &mut Rpc, a: [u64; 6]) -> i64 {
    let (sp, flags, size) = p.sig.altstack;
    let on = lego_linux::abi::sigframe::on_stack(p.regs.rsp, p.sig.altstack);
    if a[1] != 0 {
        let old = StackT {
            ss_sp: sp,
            ss_flags: if on { SS_ONSTACK } else { flags as i32 },
            pad: 0,
            ss_size: size,
        };
        if let Err(x) = write_val(p, rpc, a[1], &old) {
            return err(x);
        }
    }
    if a[0] != 0 {
        let new = match read_val::<StackT>(p, rpc, a[0]) {
            Ok(v) => v,
            Err(x) => return err(x),
        };
        if on {
            return err(e::EPERM);
        }
        let f = new.ss_flags as u32;
        let mode = f & !SS_AUTODISARM;
        if mode == SS_DISABLE as u32 {
            p.sig.altstack = (0, SS_DISABLE as u32, 0);
        } else if mode == 0 || mode == SS_ONSTACK as u32 {
            if new.ss_size < MINSIGSTKSZ {
                return err(e::ENOMEM);
            }
            p.sig.altstack = (new.ss_sp, f & SS_AUTODISARM, new.ss_size);
        } else {
            return err(e::EINVAL);
        }
    }
    0
}

/// The timer as `getitimer` reports it.
fn current(p: &Process) -> Itimerval {
    let (deadline, interval) = p.itimer;
    let left = if deadline == 0 {
        0
    } else {
        // An armed timer never reads as zero (that would mean disarmed).
        deadline.saturating_sub(time::now_ns()).max(1000)
    };
    Itimerval {
        it_interval: Timeval::from_nanos(interval),
        it_value: Timeval::from_nanos(left),
    }
}

/// Arms the timer `value` ns from now (0: disarms), then every `interval` ns; returns the ns
/// that were left on the old one.
fn arm(p: &mut Process, value: u64, interval: u64) -> u64 {
    let now = time::now_ns();
    let left = match p.itimer.0 {
        0 => 0,
        d => d.saturating_sub(now).max(1),
    };
    p.itimer = if value == 0 {
        (0, 0)
    } else {
        (now.saturating_add(value), interval)
    };
    left
}
