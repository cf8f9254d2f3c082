//! `poll`, `ppoll`, `select`, `pselect6`: which descriptors are ready. Pipes are ready by
//! their contents and ends; files, devices and the user's streams always are (a read of stdin
//! waits inside `read`). Nothing ready and a timeout: the process sleeps that long (a signal
//! ends the sleep with `EINTR`). `ppoll`/`pselect6` apply their signal mask while they wait.

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;

use guest_rt::rpc::Rpc;
use guest_rt::time;
use lego_linux::abi::time::{Timespec, Timeval};
use lego_linux::errno as e;
use lego_linux::sysno as nr;

use super::misc::sleep_until;
use super::{copy_in, copy_out, err, read_val};
use crate::fd::Target;
use crate::process::Process;

const POLLIN: u16 = 0x1;
const POLLPRI: u16 = 0x2;
const POLLOUT: u16 = 0x4;
const POLLERR: u16 = 0x8;
const POLLHUP: u16 = 0x10;
const POLLNVAL: u16 = 0x20;
const POLLRDNORM: u16 = 0x40;
const POLLWRNORM: u16 = 0x100;
/// Most descriptors one call may name.
const MAX: usize = crate::fd::MAX_FDS;

/// What `fd` is ready for (Linux's `f_op->poll` mask, before filtering by the events asked).
fn ready(p: &Process, fd: i32) -> u16 {
    match p.fds.target(fd) {
        None => POLLNVAL,
        Some(Target::Pipe(end)) if end.write => {
            let mut m = 0;
            if end.room() > 0 {
                m |= POLLOUT | POLLWRNORM;
            }
            if !end.has_readers() {
                m |= POLLERR;
            }
            m
        }
        Some(Target::Pipe(end)) => {
            let mut m = 0;
            if end.available() > 0 {
                m |= POLLIN | POLLRDNORM;
            }
            if !end.has_writers() {
                m |= POLLHUP;
            }
            m
        }
        Some(Target::Event(ev)) => ev.with(|c| {
            let mut m = 0;
            if c.readable() {
                m |= POLLIN | POLLRDNORM;
            }
            if c.writable() {
                m |= POLLOUT | POLLWRNORM;
            }
            m
        }),
        Some(_) => POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM,
    }
}

/// A relative timeout in ns from a user `timespec` (`None`: wait forever).
fn timespec_ns(p: &mut Process, rpc: &mut Rpc, va: u64) -> Result<Option<u64>, i64> {
    if va == 0 {
        return Ok(None);
    }
    let t: Timespec = read_val(p, rpc, va).map_err(err)?;
    t.to_nanos().map(Some).ok_or(err(e::EINVAL))
}

/// Installs a `ppoll`/`pselect6` mask for the call (restored when it returns or a handler
/// has run).
fn with_mask(p: &mut Process, rpc: &mut Rpc, va: u64) -> Result<(), i64> {
    if va == 0 {
        return Ok(());
    }
    let set: u64 = read_val(p, rpc, va).map_err(err)?;
    p.sig.saved_mask = Some(p.sig.mask);
    let _ = p.sig.set_mask(lego_linux::abi::signal::SIG_SETMASK, set);
    Ok(())
}

/// Ends the call: ready descriptors return now (the mask goes back), none sleep `wait`.
fn finish(p: &mut Process, ready: i64, wait: Option<u64>) -> i64 {
    if ready == 0 && wait != Some(0) {
        sleep_until(
            p,
            wait.map_or(u64::MAX, |w| time::now_ns().saturating_add(w)),
        );
        if p.sig.deliverable() || matches!(p.state, crate::process::RunState::Sleeping(_)) {
            // The mask stays until the sleep ends (`Process::wake`) or a handler runs.
            return ready;
        }
    }
    if let Some(m) = p.sig.saved_mask.take() {
        p.sig.mask = m;
    }
    ready
}

fn poll(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> i64 {
    let count = a[1] as usize;
    if count > MAX {
        return err(e::EINVAL);
    }
    let wait = if n == nr::POLL {
        match a[2] as i32 {
            t if t < 0 => None,
            t => Some(t as u64 * 1_000_000),
        }
    } else {
        match timespec_ns(p, rpc, a[2]) {
            Ok(w) => w,
            Err(x) => return x,
        }
    };
    let mut fds = vec![0u8; count * 8];
    if copy_in(p, rpc, a[0], &mut fds).is_err() {
        return err(e::EFAULT);
    }
    let mut n_ready = 0;
    for pfd in fds.chunks_exact_mut(8) {
        let fd = i32::from_le_bytes([pfd[0], pfd[1], pfd[2], pfd[3]]);
        let events = u16::from_le_bytes([pfd[4], pfd[5]]);
        let revents = if fd < 0 {
            0
        } else {
            ready(p, fd) & (events | POLLERR | POLLHUP | POLLNVAL)
        };
        pfd[6..8].copy_from_slice(&revents.to_le_bytes());
        if revents != 0 {
            n_ready += 1;
        }
    }
    if copy_out(p, rpc, a[0], &fds).is_err() {
        return err(e::EFAULT);
    }
    if n == nr::PPOLL
        && n_ready == 0
        && let Err(x) = with_mask(p, rpc, a[3])
    {
        return x;
    }
    finish(p, n_ready, wait)
}

fn select(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> i64 {
    let nfds = a[0] as i32;
    if !(0..=MAX as i32).contains(&nfds) {
        return err(e::EINVAL);
    }
    let wait = if n == nr::SELECT {
        if a[4] == 0 {
            None
        } else {
            match read_val::<Timeval>(p, rpc, a[4]) {
                Ok(t) => match t.to_nanos() {
                    Some(ns) => Some(ns),
                    None => return err(e::EINVAL),
                },
                Err(x) => return err(x),
            }
        }
    } else {
        match timespec_ns(p, rpc, a[4]) {
            Ok(w) => w,
            Err(x) => return x,
        }
    };
    let bytes = (nfds as usize).div_ceil(64) * 8;
    let mut sets: [Vec<u8>; 3] = [vec![0; bytes], vec![0; bytes], vec![0; bytes]];
    for (k, set) in sets.iter_mut().enumerate() {
        if a[1 + k] != 0 && copy_in(p, rpc, a[1 + k], set).is_err() {
            return err(e::EFAULT);
        }
    }
    let mut out: [Vec<u8>; 3] = [vec![0; bytes], vec![0; bytes], vec![0; bytes]];
    let mut n_ready = 0;
    for fd in 0..nfds {
        let (byte, bit) = ((fd / 8) as usize, 1u8 << (fd % 8));
        let asked: Vec<bool> = sets.iter().map(|s| s[byte] & bit != 0).collect();
        if !asked.iter().any(|&x| x) {
            continue;
        }
        let m = ready(p, fd);
        if m & POLLNVAL != 0 {
            return err(e::EBADF);
        }
        let hits = [
            m & (POLLIN | POLLRDNORM | POLLHUP | POLLERR) != 0,
            m & (POLLOUT | POLLWRNORM | POLLERR) != 0,
            m & POLLPRI != 0,
        ];
        for k in 0..3 {
            if asked[k] && hits[k] {
                out[k][byte] |= bit;
                n_ready += 1;
            }
        }
    }
    for (k, set) in out.iter().enumerate() {
        if a[1 + k] != 0 && copy_out(p, rpc, a[1 + k], set).is_err() {
            return err(e::EFAULT);
        }
    }
    if n == nr::PSELECT6 && n_ready == 0 && a[5] != 0 {
        // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
        let m: [u64; 2] = match read_val(p, rpc, a[5]) {
            Ok(v) => v,
            Err(x) => return err(x),
        };
        if m[0] != 0 && m[1] != lego_linux::abi::signal::SIGSET_SIZE {
            return err(e::EINVAL);
        }
        if let Err(x) = with_mask(p, rpc, m[0]) {
            return x;
        }
    }
    finish(p, n_ready, wait)
}

/// The syscalls of this family; `None` for one that is not.
pub fn call(p: &mut Process, rpc: &mut Rpc, n: u64, a: [u64; 6]) -> Option<i64> {
    Some(match n {
        nr::POLL | nr::PPOLL => poll(p, rpc, n, a),
        nr::SELECT | nr::PSELECT6 => select(p, rpc, n, a),
        _ => return None,
    })
}
