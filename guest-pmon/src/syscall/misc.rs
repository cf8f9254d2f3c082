//! Time, identity, limits, and the thread-setup calls a C library makes at start.

extern crate alloc;

use guest_rt::rpc::Rpc;
use guest_rt::time;
use lego_linux::abi::resource::{
    RUSAGE_CHILDREN, RUSAGE_SELF, RUSAGE_THREAD, Rlimit, Rusage, Sysinfo,
};
use lego_linux::abi::time::{Timespec, Timeval, Tms};
use lego_linux::abi::utsname::Utsname;
use lego_linux::errno as e;
use lego_linux::sysno as nr;

use super::{USER_END, copy_out, err, put, read_val, write_val};
use crate::process::{Process, RunState};

const NS: u64 = 1_000_000_000;

/// The CPUs that run programs: the boot CPU and the workers.
fn cpus() -> u64 {
    1 | crate::worker::workers()
}

/// `CLOCK_REALTIME` now, in ns since the epoch.
pub(crate) fn realtime(p: &Process) -> u64 {
    p.clock_base.0 + (time::now_ns() - p.clock_base.1)
}

fn ts(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / NS) as i64,
        tv_nsec: (ns % NS) as i64,
    }
}

/// The clock `id` now, in ns; `None` for an unknown clock.
fn clock(p: &Process, id: u64) -> Option<u64> {
    match id {
        0 | 5 | 8 | 11 => Some(realtime(p)), // REALTIME, REALTIME_COARSE, REALTIME_ALARM, TAI
        1 | 4 | 6 | 7 | 9 => Some(time::now_ns()), // MONOTONIC(_RAW, _COARSE), BOOTTIME(_ALARM)
        2 => Some(p.c.user_ns + p.c.system_ns), // PROCESS_CPUTIME_ID
        3 => Some(p.cpu_ns),                 // THREAD_CPUTIME_ID
        _ => None,
    }
}

/// Sleeps until `deadline` (monotonic ns): the process leaves the CPU.
pub fn sleep_until(p: &mut Process, deadline: u64) -> i64 {
    if deadline > time::now_ns() {
        p.state = RunState::Sleeping(deadline);
    }
    0
}

/// The syscalls of this family; `None` for one we do not implement.
pub fn call(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> Option<i64> {
    Some(match n {
        nr::ARCH_PRCTL => match a[0] {
            // A base outside the user half is EPERM, as on Linux: loading a non-canonical one
            // would fault in the monitor.
            0x1001 | 0x1002 if a[1] >= USER_END => err(e::EPERM),
            0x1001 => {
                p.regs.gs_base = a[1];
                0
            }
            0x1002 => {
                p.regs.fs_base = a[1];
                0
            }
            0x1003 => {
                let v = p.regs.fs_base;
                put(p, rpc, a[1], &v)
            }
            0x1004 => {
                let v = p.regs.gs_base;
                put(p, rpc, a[1], &v)
            }
            _ => err(e::EINVAL),
        },
        nr::SET_TID_ADDRESS => {
            p.clear_tid = a[0];
            i64::from(p.tid)
        }
        // Restartable sequences need the kernel to keep the area current; without that, the C
        // library is told there are none (it copes).
        nr::RSEQ => err(e::ENOSYS),
        nr::PRCTL => match a[0] {
            // PR_SET_NAME: the name `/proc/self/status` and `ps` would show (15 bytes).
            15 => match crate::syscall::read_cstr(p, rpc, a[1], 4096) {
                Ok(name) => {
                    p.comm = alloc::string::String::from_utf8_lossy(&name[..name.len().min(15)])
                        .into_owned();
                    0
                }
                Err(x) => err(x),
            },
            16 => {
                // PR_GET_NAME: 16 bytes, NUL-terminated.
                let mut b = [0u8; 16];
                let n = p.comm.len().min(15);
                b[..n].copy_from_slice(&p.comm.as_bytes()[..n]);
                put(p, rpc, a[1], &b)
            }
            3 => 1, // PR_GET_DUMPABLE
            4 if a[1] <= 1 => 0,
            _ => err(e::EINVAL),
        },
        nr::UNAME => {
            let u = Utsname::new(
                b"Linux",
                b"lego",
                b"6.1.0-lego",
                b"#1 LegoOS",
                b"x86_64",
                b"(none)",
            );
            put(p, rpc, a[0], &u)
        }
        nr::CLOCK_GETTIME => match clock(p, a[0]) {
            Some(ns) => put(p, rpc, a[1], &ts(ns)),
            None => err(e::EINVAL),
        },
        nr::CLOCK_GETRES => match clock(p, a[0]) {
            Some(_) if a[1] == 0 => 0,
            Some(_) => put(p, rpc, a[1], &ts(1)),
            None => err(e::EINVAL),
        },
        nr::GETTIMEOFDAY => {
            let ns = realtime(p);
            if a[0] == 0 {
                0
            } else {
                let tv = Timeval {
                    tv_sec: (ns / NS) as i64,
                    tv_usec: ((ns % NS) / 1000) as i64,
                };
                put(p, rpc, a[0], &tv)
            }
        }
        nr::TIME => {
            let s = realtime(p) / NS;
            if a[0] != 0 && write_val(p, rpc, a[0], &s).is_err() {
                return Some(err(e::EFAULT));
            }
            s as i64
        }
        nr::NANOSLEEP => match read_val::<Timespec>(p, rpc, a[0]) {
            Ok(t) if t.tv_sec >= 0 && (0..NS as i64).contains(&t.tv_nsec) => {
                let d = (t.tv_sec as u64).saturating_mul(NS) + t.tv_nsec as u64;
                p.sleep_rem = a[1];
                sleep_until(p, time::now_ns().saturating_add(d))
            }
            Ok(_) => err(e::EINVAL),
            Err(x) => err(x),
        },
        nr::CLOCK_NANOSLEEP => match (clock(p, a[0]), read_val::<Timespec>(p, rpc, a[2])) {
            (None, _) => err(e::EINVAL),
            (_, Err(x)) => err(x),
            (Some(now), Ok(t)) if t.tv_sec >= 0 && (0..NS as i64).contains(&t.tv_nsec) => {
                let d = (t.tv_sec as u64).saturating_mul(NS) + t.tv_nsec as u64;
                let rel = if a[1] & 1 != 0 {
                    d.saturating_sub(now)
                } else {
                    p.sleep_rem = a[3];
                    d
                };
                sleep_until(p, time::now_ns().saturating_add(rel))
            }
            (Some(_), Ok(_)) => err(e::EINVAL),
        },
        nr::GETPID => i64::from(p.pid),
        nr::GETTID => i64::from(p.tid),
        nr::SCHED_YIELD => {
            if !p.threads.is_empty() {
                // Another thread of the process runs first (its next pass wakes this one).
                p.state = RunState::Sleeping(time::now_ns());
            }
            0
        }
        nr::GETRANDOM => {
            let len = a[1].min(1 << 20) as usize;
            let mut x =
                time::now_ns() ^ (u64::from(p.pid) << 40) ^ guest_rt::arch::rdtsc().rotate_left(17);
            let mut buf = [0u8; 256];
            let mut done = 0;
            while done < len {
                let n = (len - done).min(buf.len());
                for b in buf[..n].iter_mut() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *b = (x >> 24) as u8;
                }
                if copy_out(p, rpc, a[0] + done as u64, &buf[..n]).is_err() {
                    return Some(if done > 0 {
                        done as i64
                    } else {
                        err(e::EFAULT)
                    });
                }
                done += n;
            }
            done as i64
        }
        nr::GETRLIMIT | nr::SETRLIMIT | nr::PRLIMIT64 => {
            // (resource, new, old) of the three forms; prlimit64 of the caller only.
            let (res, new, old) = match n {
                nr::GETRLIMIT => (a[0], 0, a[1]),
                nr::SETRLIMIT => (a[0], a[1], 0),
                _ => {
                    if a[0] != 0 && a[0] != u64::from(p.pid) {
                        return Some(err(e::ESRCH));
                    }
                    (a[1], a[2], a[3])
                }
            };
            let prev = match p.limits.get(res) {
                Ok(l) => l,
                Err(x) => return Some(err(x)),
            };
            if new != 0 {
                let want: Rlimit = match read_val(p, rpc, new) {
                    Ok(v) => v,
                    Err(x) => return Some(err(x)),
                };
                let privileged = p.cred.privileged();
                if let Err(x) = p.limits.set(res, want, privileged) {
                    return Some(err(x));
                }
                p.fds.set_limit(p.limits.nofile());
            }
            if old != 0 { put(p, rpc, old, &prev) } else { 0 }
        }
        nr::SYSINFO => {
            // The process's local memory is its ExCache: what a program sizing its buffers
            // from "physical memory" (glibc's qsort does) should see.
            let total = p.excache.0;
            let info = Sysinfo {
                uptime: (time::now_ns() / NS) as i64,
                totalram: total,
                freeram: p.lines.free_bytes().min(total),
                procs: 1,
                mem_unit: 1,
                ..Sysinfo::default()
            };
            put(p, rpc, a[0], &info)
        }
        nr::TIMES => {
            // clock_t is in USER_HZ (100) ticks; the return value is ticks since boot.
            let tick = |ns: u64| (ns / (NS / 100)) as i64;
            let t = Tms {
                tms_utime: tick(p.c.user_ns),
                tms_stime: tick(p.c.system_ns),
                ..Tms::default()
            };
            if a[0] != 0 {
                let r = put(p, rpc, a[0], &t);
                if r != 0 {
                    return Some(r);
                }
            }
            tick(time::now_ns())
        }
        nr::GETRUSAGE => {
            let who = a[0] as i32;
            let mut u = Rusage::default();
            match who {
                RUSAGE_SELF | RUSAGE_THREAD => {
                    u.ru_utime = Timeval::from_nanos(p.c.user_ns);
                    u.ru_stime = Timeval::from_nanos(p.c.system_ns);
                    u.ru_maxrss = (p.excache.0 / 1024) as i64;
                    u.ru_minflt = (p.c.plocal + p.c.hits) as i64;
                    u.ru_majflt = p.c.misses as i64;
                    u.ru_nivcsw = p.c.interrupts as i64;
                }
                RUSAGE_CHILDREN => {}
                _ => return Some(err(e::EINVAL)),
            }
            put(p, rpc, a[1], &u)
        }
        nr::GETCPU => {
            // The monitor answers on the boot CPU, node 0 (a thread's user code may run on
            // any CPU of the pComponent between its syscalls).
            for va in [a[0], a[1]] {
                if va != 0 {
                    let r = put(p, rpc, va, &0u32);
                    if r != 0 {
                        return Some(r);
                    }
                }
            }
            0
        }
        nr::SCHED_SETAFFINITY => {
            // Threads run on whichever CPU is free: a mask with at least one of them is
            // accepted (and not enforced), one with none cannot be honoured.
            match read_val::<u64>(p, rpc, a[2]) {
                Ok(m) if a[1] >= 8 && m & cpus() != 0 => 0,
                Ok(_) => err(e::EINVAL),
                Err(x) => err(x),
            }
        }
        nr::SCHED_GETAFFINITY => {
            let len = a[1] as usize;
            if len < 8 {
                return Some(err(e::EINVAL));
            }
            let mask = cpus();
            match copy_out(p, rpc, a[2], &mask.to_le_bytes()) {
                Ok(()) => 8,
                Err(x) => err(x),
            }
        }
        _ => return None,
    })
}
