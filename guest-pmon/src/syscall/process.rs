//! Processes: `fork`, `vfork`, `clone` of a process, `execve`, `wait4`, `waitid`, and the
//! ids (`getppid`, process groups, sessions). Creating and waiting need every process of the
//! pComponent: those leave an `Op` the monitor finishes (`crate::family`).

use guest_rt::rpc::Rpc;
use lego_linux::errno as e;
use lego_linux::signal as s;
use lego_linux::sysno as nr;

use super::err;
use crate::family::clone;
use crate::process::{ForkArgs, Op, Process, WaitArgs};

/// `wait4` options Linux takes.
const WAIT4_OPTIONS: u64 = 1 | 2 | 8 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000;
/// `waitid` options Linux takes (`WEXITED`, `WSTOPPED`, `WCONTINUED`, `WNOHANG`, `WNOWAIT`
/// and the thread bits).
const WAITID_OPTIONS: u64 = 1 | 2 | 4 | 8 | 0x0100_0000 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000;
/// `waitid`'s `WEXITED`.
const WEXITED: u64 = 4;

/// The syscalls of this family; `None` for one of another.
pub fn call(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> Option<i64> {
    Some(match n {
        nr::FORK => fork(p, u64::from(s::SIGCHLD), 0, 0, 0, 0),
        nr::VFORK => fork(
            p,
            clone::VM | clone::VFORK | u64::from(s::SIGCHLD),
            0,
            0,
            0,
            0,
        ),
        nr::CLONE => {
            // Linux's rules: a thread shares the signal handlers, which needs the memory.
            if (a[0] & clone::THREAD != 0 && a[0] & clone::SIGHAND == 0)
                || (a[0] & clone::SIGHAND != 0 && a[0] & clone::VM == 0)
            {
                return Some(err(e::EINVAL));
            }
            // A thread (`CLONE_THREAD`) joins this process. A child sharing the address space (`posix_spawn`'s CLONE_VM|CLONE_VFORK) gets a
            // copy: it runs on its own stack and execs or exits, which a copy serves.
            fork(p, a[0], a[1], a[2], a[3], a[4])
        }
        // The C libraries fall back to `clone`.
        nr::CLONE3 => err(e::ENOSYS),
        nr::EXECVE => p.execve(rpc, lego_linux::abi::fcntl::AT_FDCWD, a[0], a[1], a[2], 0),
        nr::EXECVEAT => p.execve(rpc, a[0] as i32, a[1], a[2], a[3], a[4] as u32),
        nr::WAIT4 => {
            if a[2] & !WAIT4_OPTIONS != 0 {
                return Some(err(e::EINVAL));
            }
            let target = i64::from(a[0] as i32);
            if target == i64::from(i32::MIN) {
                return Some(err(e::ESRCH));
            }
            p.op = Some(Op::Wait(WaitArgs {
                nr: n,
                target,
                options: a[2] as u32,
                status: a[1],
                rusage: a[3],
                waitid: false,
            }));
            0
        }
        nr::WAITID => {
            if a[3] & !WAITID_OPTIONS != 0 || a[3] & (WEXITED | 2 | 8) == 0 {
                return Some(err(e::EINVAL));
            }
            let id = a[1] as i32;
            let target = match a[0] {
                0 => -1,                        // P_ALL
                1 if id > 0 => i64::from(id),   // P_PID
                2 if id >= 0 => -i64::from(id), // P_PGID (0: mine)
                _ => return Some(err(e::EINVAL)),
            };
            p.op = Some(Op::Wait(WaitArgs {
                nr: n,
                target,
                options: a[3] as u32,
                status: a[2],
                rusage: a[4],
                waitid: true,
            }));
            0
        }
        nr::GETPPID => i64::from(p.ppid),
        nr::GETPGRP => i64::from(p.pgid),
        nr::GETPGID | nr::GETSID => {
            let pid = a[0] as i32;
            if pid < 0 {
                return Some(err(e::ESRCH));
            }
            if pid != 0 && pid as u32 != p.pid {
                p.op = Some(Op::Ids {
                    pid: pid as u32,
                    sid: n == nr::GETSID,
                });
                return Some(0);
            }
            i64::from(if n == nr::GETPGID { p.pgid } else { p.sid })
        }
        nr::SETPGID => {
            let (pid, pgid) = (a[0] as i32, a[1] as i32);
            if pid < 0 || pgid < 0 {
                return Some(err(e::EINVAL));
            }
            p.op = Some(Op::SetPgid {
                pid: pid as u32,
                pgid: pgid as u32,
            });
            0
        }
        nr::SETSID => {
            if p.pgid == p.pid {
                return Some(err(e::EPERM));
            }
            p.sid = p.pid;
            p.pgid = p.pid;
            i64::from(p.pid)
        }
        _ => return None,
    })
}

fn fork(p: &mut Process, flags: u64, stack: u64, ptid: u64, ctid: u64, tls: u64) -> i64 {
    if flags & 0xff > u64::from(s::NSIG) {
        return err(e::EINVAL);
    }
    p.op = Some(Op::Fork(ForkArgs {
        flags,
        stack,
        ptid,
        ctid,
        tls,
    }));
    0
}
