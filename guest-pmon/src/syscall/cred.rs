//! Identity and scheduling knobs: user and group ids (`lego_linux::cred` has the rules),
//! supplementary groups, `umask`, `personality`, nice values and scheduling policies. The
//! monitor schedules every thread round robin whatever the policy or nice value: they are
//! recorded and read back, as a program that sets them expects.

extern crate alloc;

use alloc::vec::Vec;

use guest_rt::rpc::Rpc;
use lego_linux::abi::time::Timespec;
use lego_linux::cred::NGROUPS_MAX;
use lego_linux::errno::{self as e, Errno};
use lego_linux::sysno as nr;
use zerocopy::IntoBytes;

use super::{copy_in, copy_out, err, put, read_val};
use crate::process::{Process, SLICE_NS};

/// `SCHED_OTHER`, `SCHED_FIFO`, `SCHED_RR`, `SCHED_BATCH`, `SCHED_IDLE`.
const POLICIES: [u32; 5] = [0, 1, 2, 3, 5];
/// `SCHED_RESET_ON_FORK`, which may be or-ed into a policy.
const RESET_ON_FORK: u32 = 0x4000_0000;

fn result(r: Result<(), Errno>) -> i64 {
    match r {
        Ok(()) => 0,
        Err(x) => err(x),
    }
}

/// Whether `pid` names the caller (0 or its own id): these calls reach no other process.
fn is_me(p: &Process, pid: u64) -> Result<(), Errno> {
    match pid as i32 {
        0 => Ok(()),
        x if x < 0 => Err(e::EINVAL),
        x if p.has_thread(x as u32) || x as u32 == p.pid => Ok(()),
        _ => Err(e::ESRCH),
    }
}

/// The syscalls of this family; `None` for one of another.
pub fn call(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> Option<i64> {
    let id = |i: usize| a[i] as u32;
    Some(match n {
        nr::GETUID => i64::from(p.cred.uid.real),
        nr::GETEUID => i64::from(p.cred.uid.effective),
        nr::GETGID => i64::from(p.cred.gid.real),
        nr::GETEGID => i64::from(p.cred.gid.effective),
        nr::SETUID => result(p.cred.setuid(id(0))),
        nr::SETGID => result(p.cred.setgid(id(0))),
        nr::SETREUID => result(p.cred.setreuid(id(0), id(1))),
        nr::SETREGID => result(p.cred.setregid(id(0), id(1))),
        nr::SETRESUID => result(p.cred.setresuid(id(0), id(1), id(2))),
        nr::SETRESGID => result(p.cred.setresgid(id(0), id(1), id(2))),
        nr::SETFSUID => i64::from(p.cred.setfsuid(id(0))),
        nr::SETFSGID => i64::from(p.cred.setfsgid(id(0))),
        nr::GETRESUID | nr::GETRESGID => {
            let ids = if n == nr::GETRESUID {
                p.cred.uid
            } else {
                p.cred.gid
            };
            for (va, v) in [(a[0], ids.real), (a[1], ids.effective), (a[2], ids.saved)] {
                let r = put(p, rpc, va, &v);
                if r != 0 {
                    return Some(r);
                }
            }
            0
        }
        nr::GETGROUPS => match p.cred.getgroups(a[0] as i32) {
            Ok(k) if a[0] == 0 => k as i64,
            Ok(k) => {
                let g = p.cred.groups.clone();
                match copy_out(p, rpc, a[1], g.as_bytes()) {
                    Ok(()) => k as i64,
                    Err(x) => err(x),
                }
            }
            Err(x) => err(x),
        },
        nr::SETGROUPS => {
            let k = a[0] as usize;
            if k > NGROUPS_MAX {
                return Some(err(e::EINVAL));
            }
            let mut g: Vec<u32> = alloc::vec![0; k];
            if let Err(x) = copy_in(p, rpc, a[1], g.as_mut_bytes()) {
                return Some(err(x));
            }
            result(p.cred.setgroups(g))
        }
        nr::UMASK => {
            let old = p.umask;
            p.umask = id(0) & 0o777;
            i64::from(old)
        }
        nr::PERSONALITY => {
            let old = p.personality;
            if id(0) != u32::MAX {
                p.personality = id(0);
            }
            i64::from(old)
        }
        nr::GETPRIORITY | nr::SETPRIORITY => priority(p, n, a),
        nr::SCHED_GETSCHEDULER => match is_me(p, a[0]) {
            Ok(()) => i64::from(p.sched.0),
            Err(x) => err(x),
        },
        nr::SCHED_GETPARAM => match is_me(p, a[0]) {
            Ok(()) => {
                let prio = p.sched.1;
                put(p, rpc, a[1], &prio)
            }
            Err(x) => err(x),
        },
        nr::SCHED_SETSCHEDULER | nr::SCHED_SETPARAM => {
            if let Err(x) = is_me(p, a[0]) {
                return Some(err(x));
            }
            let (policy, at) = if n == nr::SCHED_SETSCHEDULER {
                (id(1) & !RESET_ON_FORK, a[2])
            } else {
                (p.sched.0, a[1])
            };
            let prio: u32 = match read_val(p, rpc, at) {
                Ok(v) => v,
                Err(x) => return Some(err(x)),
            };
            match priority_range(policy) {
                Some((lo, hi)) if (lo..=hi).contains(&prio) => {
                    p.sched = (policy, prio);
                    0
                }
                _ => err(e::EINVAL),
            }
        }
        nr::SCHED_GET_PRIORITY_MAX | nr::SCHED_GET_PRIORITY_MIN => match priority_range(id(0)) {
            Some((lo, hi)) => i64::from(if n == nr::SCHED_GET_PRIORITY_MAX {
                hi
            } else {
                lo
            }),
            None => err(e::EINVAL),
        },
        nr::SCHED_RR_GET_INTERVAL => {
            if let Err(x) = is_me(p, a[0]) {
                return Some(err(x));
            }
            // `SCHED_FIFO` has no time slice; the others get the monitor's.
            let ns = if p.sched.0 == 1 { 0 } else { SLICE_NS };
            put(p, rpc, a[1], &Timespec::from_nanos(ns))
        }
        _ => return None,
    })
}

/// The priorities a policy takes (`None`: not a policy).
fn priority_range(policy: u32) -> Option<(u32, u32)> {
    match policy {
        1 | 2 => Some((1, 99)),
        x if POLICIES.contains(&x) => Some((0, 0)),
        _ => None,
    }
}

/// `getpriority`/`setpriority` of the caller's process (`PRIO_PROCESS` with 0 or its pid),
/// group or user (all of them here, which is the caller as far as this goes).
fn priority(p: &mut Process, n: u64, a: [u64; 6]) -> i64 {
    let (which, who) = (a[0] as u32, a[1] as u32);
    let mine = match which {
        0 => who == 0 || who == p.pid || p.has_thread(who), // PRIO_PROCESS
        1 => who == 0 || who == p.pgid,                     // PRIO_PGRP
        2 => who == 0 || who == p.cred.uid.real,            // PRIO_USER
        _ => return err(e::EINVAL),
    };
    if !mine {
        return err(e::ESRCH);
    }
    if n == nr::GETPRIORITY {
        // The raw syscall answers 20 - nice, so that it is never negative.
        return i64::from(20 - p.nice);
    }
    let nice = (a[2] as i32).clamp(-20, 19);
    if nice < p.nice && !p.cred.privileged() {
        return err(e::EACCES);
    }
    p.nice = nice;
    0
}
