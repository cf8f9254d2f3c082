//! The Linux syscalls a process makes, by family (`mm`, `fs`, `io`, `misc`). Each returns the
//! value for `rax`: a result, or `-errno`. Unknown syscalls return `-ENOSYS` and leave one line
//! on this component's console (`lego logs p0`).
//!
//! User memory is reached through the process's own page table, walked in software, and
//! brought into the ExCache when it is not there: the monitor never takes a page fault itself.
//! A pointer outside the process's memory is `-EFAULT`.

extern crate alloc;

mod cred;
mod eventfd;
pub(crate) mod fs;
mod fsinfo;
pub(crate) mod futex;
mod io;
mod misc;
mod mm;
mod poll;
mod process;
mod residency;
mod signal;

use alloc::vec::Vec;

use guest_rt::mm::phys_to_virt;
use guest_rt::println;
use guest_rt::rpc::Rpc;
use lego_linux::errno::{self as e, Errno};
use lego_linux::sysno as nr;

use crate::process::Process;
pub(crate) use misc::realtime;

/// The end of the user half (`TASK_SIZE_MAX` + one page).
pub const USER_END: u64 = 0x0000_8000_0000_0000;

/// `-errno` as a syscall result.
pub fn err(x: Errno) -> i64 {
    -i64::from(x.raw())
}

/// A status from the file or memory protocol as a syscall result.
pub fn status_err(status: u32) -> i64 {
    match lego_proto::fs::errno_of(status) {
        Some(n) => -i64::from(n),
        None => err(e::EIO),
    }
}

/// Copies `out.len()` bytes of user memory at `va` into `out`.
pub fn copy_in(p: &mut Process, rpc: &mut Rpc, va: u64, out: &mut [u8]) -> Result<(), Errno> {
    let mut done = 0usize;
    while done < out.len() {
        let a = va.checked_add(done as u64).ok_or(e::EFAULT)?;
        let pa = match p.space.translate(a) {
            Some((pa, _)) => pa,
            None => {
                p.fault(rpc, a, 4).map_err(|_| e::EFAULT)?;
                p.space.translate(a).ok_or(e::EFAULT)?.0
            }
        };
        let n = (4096 - (a & 4095) as usize).min(out.len() - done);
        // SAFETY: `pa` is a frame of the process's ExCache, mapped in its page table just now,
        // reached through the direct map; `n` stays inside that page.
        unsafe { core::ptr::copy_nonoverlapping(phys_to_virt(pa), out[done..].as_mut_ptr(), n) };
        done += n;
    }
    Ok(())
}

/// Copies `data` into user memory at `va` (which must be writable for the process).
pub fn copy_out(p: &mut Process, rpc: &mut Rpc, va: u64, data: &[u8]) -> Result<(), Errno> {
    let mut done = 0usize;
    while done < data.len() {
        let a = va.checked_add(done as u64).ok_or(e::EFAULT)?;
        let pa = match p.space.translate(a) {
            Some((pa, true)) => pa,
            _ => {
                p.fault(rpc, a, 6).map_err(|_| e::EFAULT)?;
                match p.space.translate(a) {
                    Some((pa, true)) => pa,
                    _ => return Err(e::EFAULT),
                }
            }
        };
        // The monitor writes through its own mapping: the entry's dirty bit must say so.
        p.space.set_dirty(a);
        let n = (4096 - (a & 4095) as usize).min(data.len() - done);
        // SAFETY: as in `copy_in`, and the page is writable for the process.
        unsafe { core::ptr::copy_nonoverlapping(data[done..].as_ptr(), phys_to_virt(pa), n) };
        done += n;
    }
    Ok(())
}

/// Copies as much of `data` to user memory at `va` as fits before the first page the process
/// cannot write; returns how many bytes that was (a read that runs into a bad page returns
/// what it copied, as Linux's do).
pub fn copy_out_prefix(p: &mut Process, rpc: &mut Rpc, va: u64, data: &[u8]) -> usize {
    let mut done = 0usize;
    while done < data.len() {
        let Some(a) = va.checked_add(done as u64) else {
            break;
        };
        let n = (4096 - (a & 4095) as usize).min(data.len() - done);
        if copy_out(p, rpc, a, &data[done..done + n]).is_err() {
            break;
        }
        done += n;
    }
    done
}

/// A NUL-terminated string of user memory (at most `max` bytes).
pub fn read_cstr(p: &mut Process, rpc: &mut Rpc, va: u64, max: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut a = va;
    loop {
        let chunk = (4096 - (a & 4095)) as usize;
        let mut buf = [0u8; 4096];
        copy_in(p, rpc, a, &mut buf[..chunk])?;
        if let Some(i) = buf[..chunk].iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..i]);
            return Ok(out);
        }
        out.extend_from_slice(&buf[..chunk]);
        if out.len() > max {
            return Err(e::ENAMETOOLONG);
        }
        a = a.checked_add(chunk as u64).ok_or(e::EFAULT)?;
    }
}

/// A value of user memory.
pub fn read_val<T: zerocopy::FromBytes + zerocopy::IntoBytes>(
    p: &mut Process,
    rpc: &mut Rpc,
    va: u64,
) -> Result<T, Errno> {
    let mut v = T::new_zeroed();
    copy_in(p, rpc, va, v.as_mut_bytes())?;
    Ok(v)
}

/// Writes a value into user memory.
pub fn write_val<T: zerocopy::IntoBytes + zerocopy::Immutable>(
    p: &mut Process,
    rpc: &mut Rpc,
    va: u64,
    v: &T,
) -> Result<(), Errno> {
    copy_out(p, rpc, va, v.as_bytes())
}

/// Writes `v` to user memory as a syscall result: 0, or `-EFAULT`.
pub fn put<T: zerocopy::IntoBytes + zerocopy::Immutable>(
    p: &mut Process,
    rpc: &mut Rpc,
    va: u64,
    v: &T,
) -> i64 {
    match write_val(p, rpc, va, v) {
        Ok(()) => 0,
        Err(x) => err(x),
    }
}

/// Handles the syscall in the process's registers; the result goes into `rax`.
pub fn dispatch(p: &mut Process, rpc: &mut Rpc, manager: u32) {
    let r = p.regs;
    let n = r.rax;
    let a = [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9];
    p.c.syscalls += 1;
    *p.c.by_syscall.entry(n as u32).or_insert(0) += 1;
    let ret: i64 = match n {
        nr::READ
        | nr::WRITE
        | nr::READV
        | nr::WRITEV
        | nr::PREAD64
        | nr::PWRITE64
        | nr::PREADV
        | nr::PWRITEV
        | nr::PREADV2
        | nr::PWRITEV2 => io::rw(p, rpc, manager, n, a),
        nr::OPEN
        | nr::OPENAT
        | nr::CLOSE
        | nr::LSEEK
        | nr::FSTAT
        | nr::STAT
        | nr::LSTAT
        | nr::NEWFSTATAT
        | nr::STATX
        | nr::UTIME
        | nr::UTIMES
        | nr::FUTIMESAT
        | nr::UTIMENSAT
        | nr::ACCESS
        | nr::FACCESSAT
        | nr::FACCESSAT2
        | nr::GETDENTS64
        | nr::UNLINK
        | nr::UNLINKAT
        | nr::RMDIR
        | nr::MKDIR
        | nr::MKDIRAT
        | nr::RENAME
        | nr::RENAMEAT
        | nr::RENAMEAT2
        | nr::FTRUNCATE
        | nr::TRUNCATE
        | nr::FSYNC
        | nr::FDATASYNC
        | nr::GETCWD
        | nr::CHDIR
        | nr::READLINK
        | nr::READLINKAT
        | nr::DUP
        | nr::DUP2
        | nr::DUP3
        | nr::FCNTL
        | nr::PIPE
        | nr::PIPE2
        | nr::CLOSE_RANGE
        | nr::IOCTL => fs::call(p, rpc, n, a),
        nr::BRK | nr::MMAP | nr::MUNMAP | nr::MREMAP | nr::MPROTECT | nr::MADVISE => {
            mm::call(p, rpc, n, a)
        }
        nr::RT_SIGRETURN => {
            // Every register comes from the frame, `rax` too.
            p.sigreturn(rpc);
            return;
        }
        nr::EXIT if !p.threads.is_empty() => {
            futex::exit_thread(p, rpc);
            return;
        }
        nr::EXIT | nr::EXIT_GROUP => {
            p.exit(a[0] as u32);
            return;
        }
        _ => match signal::call(p, rpc, n, a)
            .or_else(|| process::call(p, rpc, n, a))
            .or_else(|| futex::call(p, rpc, n, a))
            .or_else(|| cred::call(p, rpc, n, a))
            .or_else(|| residency::call(p, rpc, n, a))
            .or_else(|| fsinfo::call(p, rpc, n, a))
            .or_else(|| eventfd::call(p, rpc, n, a))
            .or_else(|| poll::call(p, rpc, n, a))
            .or_else(|| misc::call(p, rpc, n, a))
        {
            Some(v) => v,
            None => {
                // One line per process and number: a program probing (or a fuzzer) does not
                // flood the console.
                // (Numbers past the table share the last bit.)
                let k = n.min(511);
                let (w, b) = ((k / 64) as usize, k % 64);
                if p.unknown_logged[w] & (1 << b) == 0 {
                    p.unknown_logged[w] |= 1 << b;
                    println!(
                        "pmon: pid {}: unknown syscall {} ({}) at {:#x}: ENOSYS",
                        p.pid,
                        n,
                        nr::name(n).unwrap_or("?"),
                        r.rip
                    );
                }
                err(e::ENOSYS)
            }
        },
    };
    if p.retry_syscall {
        // Nothing to read yet: the syscall is made again when the process next runs.
        return;
    }
    p.regs.rax = ret as u64;
}
