//! read/write and their vectored and positioned forms: files in the vNode (through its buffer
//! cache), the user's terminal or pipes (through the managers), and the simple devices.

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;

use guest_rt::rpc::{Rpc, RpcError};
use guest_rt::time;
use lego_linux::abi::sigframe::{SI_USER, Siginfo};
use lego_linux::errno as e;
use lego_linux::sysno as nr;
use lego_proto::fs::{self as fsp, MAX_IO};
use lego_proto::proc as pp;
use zerocopy::IntoBytes;

use super::fs::fs_req;
use super::{copy_in, copy_out, copy_out_prefix, err, status_err};
use crate::fd::Target;
use crate::pipe::PipeEnd;
use crate::process::{Process, RunState};

/// Most bytes one read or write moves (Linux's `MAX_RW_COUNT`).
const MAX_RW: u64 = 0x7fff_f000;

/// The read/write family.
pub fn rw(p: &mut Process, rpc: &mut Rpc, manager: u32, n: u64, a: [u64; 6]) -> i64 {
    let fd = a[0] as i32;
    let positioned = matches!(n, nr::PREAD64 | nr::PWRITE64 | nr::PREADV | nr::PWRITEV)
        || (matches!(n, nr::PREADV2 | nr::PWRITEV2) && a[3] as i64 != -1);
    if positioned {
        // Linux's order: a negative offset, a bad descriptor, one without offsets.
        if (a[3] as i64) < 0 {
            return err(e::EINVAL);
        }
        match p.fds.open(fd).map(|o| o.target) {
            None => return err(e::EBADF),
            Some(Target::Stdin | Target::Output(_) | Target::Pipe(_)) => {
                return err(e::ESPIPE);
            }
            Some(_) => {}
        }
    }
    match n {
        nr::READ => read(p, rpc, manager, fd, a[1], a[2].min(MAX_RW), None),
        nr::WRITE => write(p, rpc, manager, fd, a[1], a[2].min(MAX_RW), None),
        nr::PREAD64 => read(p, rpc, manager, fd, a[1], a[2].min(MAX_RW), Some(a[3])),
        nr::PWRITE64 => write(p, rpc, manager, fd, a[1], a[2].min(MAX_RW), Some(a[3])),
        nr::READV | nr::WRITEV | nr::PREADV | nr::PWRITEV | nr::PREADV2 | nr::PWRITEV2 => {
            let cnt = a[2] as usize;
            if cnt > 1024 {
                return err(e::EINVAL);
            }
            let reading = matches!(n, nr::READV | nr::PREADV | nr::PREADV2);
            // preadv/pwritev: at an offset (the file's own is left); the `2` forms take -1
            // for "the file's own" and `RWF_*` flags (none is kept: they are hints).
            let at = match n {
                nr::PREADV | nr::PWRITEV => Some(a[3]),
                nr::PREADV2 | nr::PWRITEV2 if a[3] as i64 == -1 => None,
                nr::PREADV2 | nr::PWRITEV2 => Some(a[3]),
                _ => None,
            };
            if matches!(n, nr::PREADV2 | nr::PWRITEV2) && a[5] & !0x1f != 0 {
                return err(e::EOPNOTSUPP);
            }
            let mut total: i64 = 0;
            for i in 0..cnt {
                let mut v = [0u64; 2];
                if super::copy_in(p, rpc, a[1] + 16 * i as u64, v.as_mut_bytes()).is_err() {
                    return err(e::EFAULT);
                }
                if v[1] == 0 {
                    continue;
                }
                let off = at.map(|o| o + total as u64);
                let r = if reading {
                    read(p, rpc, manager, fd, v[0], v[1].min(MAX_RW), off)
                } else {
                    write(p, rpc, manager, fd, v[0], v[1].min(MAX_RW), off)
                };
                if r < 0 {
                    return if total > 0 { total } else { r };
                }
                total += r;
                if (r as u64) < v[1] || p.retry_syscall {
                    break;
                }
            }
            if p.retry_syscall && total > 0 {
                // Part of the vector was read: return that instead of waiting.
                p.retry_syscall = false;
                p.state = RunState::Runnable;
            }
            total
        }
        _ => err(e::ENOSYS),
    }
}

fn read(
    p: &mut Process,
    rpc: &mut Rpc,
    manager: u32,
    fd: i32,
    buf: u64,
    len: u64,
    at: Option<u64>,
) -> i64 {
    let Some(o) = p.fds.open(fd) else {
        return err(e::EBADF);
    };
    if !o.read {
        return err(e::EBADF);
    }
    let nonblocking = o.nonblocking();
    let target = o.target;
    let offset = at.unwrap_or(o.offset);
    match target {
        Target::Null => 0,
        Target::Zero | Target::Full | Target::Random => {
            let mut chunk = vec![0u8; 4096];
            let mut done = 0u64;
            let mut x = time::now_ns() ^ u64::from(p.pid).rotate_left(32);
            while done < len {
                let n = (len - done).min(4096) as usize;
                if matches!(target, Target::Random) {
                    for b in chunk[..n].iter_mut() {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        *b = x as u8;
                    }
                }
                let k = copy_out_prefix(p, rpc, buf + done, &chunk[..n]);
                done += k as u64;
                if k < n {
                    return if done > 0 {
                        done as i64
                    } else {
                        err(e::EFAULT)
                    };
                }
            }
            done as i64
        }
        Target::Output(_) => err(e::EBADF),
        Target::Dir { .. } => err(e::EISDIR),
        Target::Event(ev) => {
            if len < 8 {
                return err(e::EINVAL);
            }
            match ev.with(|c| c.read()) {
                Ok(v) => match copy_out(p, rpc, buf, &v.to_le_bytes()) {
                    Ok(()) => 8,
                    Err(x) => {
                        // Not taken after all.
                        ev.with(|c| c.count += v);
                        err(x)
                    }
                },
                Err(_) if nonblocking => err(e::EAGAIN),
                Err(_) => wait_and_retry(p),
            }
        }
        Target::Pseudo(data) => {
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(data.len());
            let end = start.saturating_add(len as usize).min(data.len());
            let k = copy_out_prefix(p, rpc, buf, &data[start..end]);
            if k == 0 && end > start {
                return err(e::EFAULT);
            }
            if at.is_none() {
                p.fds.update(fd, |o| o.offset = offset + k as u64);
            }
            k as i64
        }
        Target::Pipe(end) => read_pipe(p, rpc, &end, buf, len, nonblocking),
        Target::Stdin => read_stdin(p, rpc, manager, buf, len),
        Target::File(path) => {
            let mut done = 0u64;
            let mut data = vec![0u8; MAX_IO];
            while done < len {
                let want = (len - done).min(MAX_IO as u64) as usize;
                let n = match fs_req(
                    p,
                    rpc,
                    fsp::READ,
                    &path,
                    "",
                    offset + done,
                    want as u32,
                    0,
                    0,
                    &[],
                    &mut data[..want],
                ) {
                    Ok(n) => n,
                    Err(x) => return if done > 0 { done as i64 } else { x },
                };
                if n == 0 {
                    break;
                }
                if copy_out(p, rpc, buf + done, &data[..n]).is_err() {
                    return if done > 0 {
                        done as i64
                    } else {
                        err(e::EFAULT)
                    };
                }
                done += n as u64;
                if n < want {
                    break;
                }
            }
            if at.is_none() {
                p.fds.update(fd, |o| o.offset = offset + done);
            }
            done as i64
        }
    }
}

/// Sleeps a little, then the syscall is made again: waiting for stdin or a pipe's other end
/// (a program, or a signal handler of this one). Backs off from 1 ms to 16 ms.
fn wait_and_retry(p: &mut Process) -> i64 {
    let wait_ms = 1u64 << p.stdin_waits.min(4);
    p.stdin_waits += 1;
    p.retry_syscall = true;
    p.state = RunState::Sleeping(time::now_ns() + wait_ms * 1_000_000);
    0
}

/// Reads a pipe: what is there; end of file once every write end is closed; `EAGAIN` or a
/// wait when it is empty.
fn read_pipe(
    p: &mut Process,
    rpc: &mut Rpc,
    end: &PipeEnd,
    buf: u64,
    len: u64,
    nonblock: bool,
) -> i64 {
    if len == 0 {
        return 0;
    }
    let avail = end.available();
    if avail == 0 {
        return if !end.has_writers() {
            0
        } else if nonblock {
            err(e::EAGAIN)
        } else {
            wait_and_retry(p)
        };
    }
    p.stdin_waits = 0;
    let mut data = vec![0u8; (len as usize).min(avail)];
    let n = end.read(&mut data);
    // What fits before a bad page is read; the rest stays in the pipe.
    let k = copy_out_prefix(p, rpc, buf, &data[..n]);
    if k < n {
        end.unread(&data[k..n]);
    }
    if k == 0 {
        return err(e::EFAULT);
    }
    k as i64
}

/// Writes a pipe: as much as fits (up to `PIPE_BUF` bytes all or nothing); `EPIPE` and
/// `SIGPIPE` when no read end is open; `EAGAIN` or a wait when it is full.
fn write_pipe(
    p: &mut Process,
    rpc: &mut Rpc,
    end: &PipeEnd,
    buf: u64,
    len: u64,
    nonblock: bool,
) -> i64 {
    const PIPE_BUF: u64 = 4096;
    if !end.has_readers() {
        let pid = p.pid;
        p.send_signal(13, Siginfo::user(13, SI_USER, pid));
        return err(e::EPIPE);
    }
    if len == 0 {
        return 0;
    }
    let room = end.room() as u64;
    if room == 0 || (len <= PIPE_BUF && room < len) {
        return if nonblock {
            err(e::EAGAIN)
        } else {
            wait_and_retry(p)
        };
    }
    p.stdin_waits = 0;
    let mut data = vec![0u8; len.min(room) as usize];
    if copy_in(p, rpc, buf, &mut data).is_err() {
        return err(e::EFAULT);
    }
    end.write(&data) as i64
}

/// Stdin comes from the managers: what they have now, end of file, or nothing yet (the
/// process then sleeps a little and the read is made again).
fn read_stdin(p: &mut Process, rpc: &mut Rpc, manager: u32, buf: u64, len: u64) -> i64 {
    if p.stdin_eof || len == 0 {
        return 0;
    }
    let req = pp::Input {
        pid: p.session,
        max: len.min(pp::MAX_OUTPUT as u64) as u32,
    };
    let mut data = vec![0u8; req.max as usize];
    match rpc.call(manager, pp::INPUT, req.as_bytes(), &mut data) {
        Ok(0) => {
            p.stdin_eof = true;
            0
        }
        Ok(n) => {
            p.stdin_waits = 0;
            match copy_out(p, rpc, buf, &data[..n]) {
                Ok(()) => n as i64,
                Err(_) => err(e::EFAULT),
            }
        }
        // Nothing yet: back off from 1 ms to 16 ms while nothing comes.
        Err(RpcError::Remote(s)) if s == pp::INPUT_AGAIN => wait_and_retry(p),
        Err(RpcError::Remote(s)) => status_err(s),
        Err(_) => err(e::EIO),
    }
}

fn write(
    p: &mut Process,
    rpc: &mut Rpc,
    manager: u32,
    fd: i32,
    buf: u64,
    len: u64,
    at: Option<u64>,
) -> i64 {
    let Some(o) = p.fds.open(fd) else {
        return err(e::EBADF);
    };
    if !o.write {
        return err(e::EBADF);
    }
    let nonblocking = o.nonblocking();
    let (target, append) = (o.target, o.append);
    let mut offset = at.unwrap_or(o.offset);
    match target {
        Target::Null | Target::Zero | Target::Random => len as i64,
        Target::Full => err(e::ENOSPC),
        Target::Pipe(end) => write_pipe(p, rpc, &end, buf, len, nonblocking),
        Target::Stdin | Target::Dir { .. } => err(e::EBADF),
        // /proc and /sys files here are read-only.
        Target::Pseudo(_) => err(e::EACCES),
        Target::Event(ev) => {
            if len < 8 {
                return err(e::EINVAL);
            }
            let mut v = [0u8; 8];
            if copy_in(p, rpc, buf, &mut v).is_err() {
                return err(e::EFAULT);
            }
            match ev.with(|c| c.write(u64::from_le_bytes(v))) {
                Ok(()) => 8,
                Err(x) if x == e::EAGAIN && !nonblocking => wait_and_retry(p),
                Err(x) => err(x),
            }
        }
        Target::Output(which) => {
            let mut done = 0u64;
            let mut msg: Vec<u8> = Vec::new();
            while done < len {
                let n = (len - done).min(pp::MAX_OUTPUT as u64) as usize;
                msg.clear();
                msg.extend_from_slice(
                    pp::Output {
                        pid: p.session,
                        fd: which,
                    }
                    .as_bytes(),
                );
                let at = msg.len();
                msg.resize(at + n, 0);
                if copy_in(p, rpc, buf + done, &mut msg[at..]).is_err() {
                    return if done > 0 {
                        done as i64
                    } else {
                        err(e::EFAULT)
                    };
                }
                match rpc.call(manager, pp::OUTPUT, &msg, &mut []) {
                    Ok(_) => {}
                    Err(RpcError::Remote(s)) if lego_proto::fs::errno_of(s) == Some(11) => {
                        // The user's terminal or pipe is behind: what was written counts;
                        // with nothing written, the write is made again in a moment.
                        if done == 0 {
                            p.retry_syscall = true;
                            p.state = RunState::Sleeping(time::now_ns() + 1_000_000);
                        }
                        return done as i64;
                    }
                    Err(RpcError::Remote(s)) if lego_proto::fs::errno_of(s) == Some(32) => {
                        // The reader went away: SIGPIPE (the program may ignore or handle it).
                        let pid = p.pid;
                        p.send_signal(13, Siginfo::user(13, SI_USER, pid));
                        return err(e::EPIPE);
                    }
                    Err(_) => return if done > 0 { done as i64 } else { err(e::EIO) },
                }
                done += n as u64;
            }
            done as i64
        }
        Target::File(path) => {
            if append {
                match super::fs::stat_path(p, rpc, &path) {
                    Ok(st) => offset = st.size,
                    Err(x) => return x,
                }
            }
            let mut done = 0u64;
            let mut data = vec![0u8; MAX_IO];
            while done < len {
                let n = (len - done).min(MAX_IO as u64) as usize;
                if copy_in(p, rpc, buf + done, &mut data[..n]).is_err() {
                    return if done > 0 {
                        done as i64
                    } else {
                        err(e::EFAULT)
                    };
                }
                match fs_req(
                    p,
                    rpc,
                    fsp::WRITE,
                    &path,
                    "",
                    offset + done,
                    n as u32,
                    0,
                    0,
                    &data[..n],
                    &mut [0u8; 4],
                ) {
                    Ok(_) => {}
                    Err(x) => return if done > 0 { done as i64 } else { x },
                }
                done += n as u64;
            }
            if at.is_none() {
                p.fds.update(fd, |o| o.offset = offset + done);
            }
            done as i64
        }
    }
}
