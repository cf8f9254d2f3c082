//! Host baselines for `lego bench rpc`: round-trip ping-pong between two host processes.
//!
//! The parent sends a `size`-byte message to a child process (the same executable, started as
//! `lego pingpong-child`), the child copies it out and sends it back, and the parent times every
//! round trip with [`Instant`]. Two transports:
//!
//! - [`Transport::Uds`]: a Unix-domain stream socket pair, blocking `write`/`read`. The cost of
//!   the kernel's IPC path (two syscalls and a wake-up each way).
//! - [`Transport::Shm`]: a memfd mapped `MAP_SHARED` by both processes, holding one mailbox per
//!   direction (a sequence counter on its own cache line, then the payload). The sender copies
//!   the payload in and publishes the counter (Release); the receiver spins on it (Acquire) and
//!   copies the payload out: what an RPC over shared memory does, minus everything else.
//!
//! These are the floor for the fabric: a guest-to-guest RPC on the same host goes through at
//! least the same copies and cross-core cache-line transfers, so it cannot beat two host
//! processes on shared memory, and the socket numbers show what the kernel's own IPC costs.
//!
//! Every wait is bounded (see [`TIMEOUT`]): a dead or stuck peer makes the parent return an
//! error instead of hanging, and the child process is killed and reaped on every error path.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::exit;

/// How the two processes talk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Transport {
    /// A Unix-domain stream socket pair, blocking I/O.
    Uds,
    /// A shared memfd with one mailbox per direction, polled.
    Shm,
}

impl Transport {
    /// The name on the command line (and in reports).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Transport::Uds => "uds",
            Transport::Shm => "shm",
        }
    }
}

/// The round trips of one [`run`].
#[derive(Clone, Debug)]
pub(crate) struct PingPongResult {
    /// The transport measured.
    pub transport: Transport,
    /// Message size, bytes (each way).
    pub size: usize,
    /// One round-trip time per measured iteration, nanoseconds.
    pub samples_ns: Vec<f64>,
}

/// The largest message: the size of a shared-memory mailbox's payload area.
pub(crate) const MAX_SIZE: usize = 64 * 1024;

/// How long any side waits for its peer before giving up: a reply (parent), the next request
/// (child), the child's exit at the end.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// The fd the child finds its end of the transport on.
const CHILD_FD: RawFd = 3;

/// Runs `iters` round trips of `size`-byte messages (after `warmup` unmeasured ones) between
/// this process and a child process, and returns the per-iteration RTTs.
///
/// The child is this executable, started as
/// `pingpong-child --transport uds|shm --fd 3 --size N` with its end of the transport (the
/// socket, or the memfd) on fd 3; it must call [`child_main`].
pub(crate) fn run(
    transport: Transport,
    size: usize,
    iters: usize,
    warmup: usize,
) -> Result<PingPongResult> {
    check_size(size)?;
    let (ours, theirs) = endpoints(transport)?;
    let child = spawn_child(transport, theirs.as_fd(), size)?;
    // The child has its own copy now; ours must go, or the socket never reports the child's
    // death (EOF) to us.
    drop(theirs);
    // One more unmeasured round trip: the first one also waits for the child to start.
    let samples_ns = drive(transport, ours.as_fd(), size, iters, warmup + 1, TIMEOUT)?;
    // Done: the socket's EOF tells the child to stop (the memfd child was told by `drive`).
    drop(ours);
    child.finish(TIMEOUT)?;
    Ok(PingPongResult {
        transport,
        size,
        samples_ns,
    })
}

/// The child side (`lego pingpong-child`): serves round trips on the inherited `fd` until the
/// parent closes it (UDS) or signals the end (shm). Returns the process exit code.
pub(crate) fn child_main(transport: Transport, fd: i32, size: usize) -> u8 {
    match child_inner(transport, fd, size, TIMEOUT) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: pingpong-child ({}): {e:#}", transport.name());
            exit::ERROR
        }
    }
}

fn child_inner(transport: Transport, fd: i32, size: usize, idle_timeout: Duration) -> Result<()> {
    check_size(size)?;
    ensure!(fd >= 0, "bad fd {fd}");
    // SAFETY: fcntl(F_GETFD) only queries the descriptor table; it tells us whether `fd` is open
    // before we take ownership of it.
    let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1;
    ensure!(open, "fd {fd} is not open");
    // SAFETY: `fd` is open (checked above) and was handed to this process for this purpose
    // alone: nothing else here owns or closes it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    serve(transport, fd, size, idle_timeout)
}

fn check_size(size: usize) -> Result<()> {
    ensure!(
        (1..=MAX_SIZE).contains(&size),
        "message size {size} is out of range (1 to {MAX_SIZE} bytes)"
    );
    Ok(())
}

/// The parent's and the child's ends of a fresh transport.
fn endpoints(transport: Transport) -> Result<(OwnedFd, OwnedFd)> {
    match transport {
        Transport::Uds => {
            let (a, b) = UnixStream::pair().context("creating a socket pair")?;
            Ok((a.into(), b.into()))
        }
        Transport::Shm => {
            let fd = create_memfd()?;
            let dup = fd.try_clone().context("duplicating the memfd")?;
            Ok((fd, dup))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The child process.

/// A child process that is killed and reaped unless it finishes cleanly.
#[derive(Debug)]
struct ChildGuard(Option<Child>);

impl ChildGuard {
    /// Waits up to `timeout` for the child to exit and checks that it succeeded.
    fn finish(mut self, timeout: Duration) -> Result<()> {
        let Some(mut child) = self.0.take() else {
            return Ok(());
        };
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => bail!("the ping-pong child failed ({status})"),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!("the ping-pong child did not exit within {timeout:?}");
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(e).context("waiting for the ping-pong child");
                }
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `current_exe() pingpong-child ...` with `fd` as its fd 3.
fn spawn_child(transport: Transport, fd: BorrowedFd<'_>, size: usize) -> Result<ChildGuard> {
    let exe = std::env::current_exe().context("cannot find the lego executable")?;
    // A close-on-exec copy above the stdio and target range: std sets up fds 0-2 before our
    // pre_exec hook runs, and dup2 onto itself would keep close-on-exec set.
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a descriptor we borrow; the new descriptor is returned
    // to us and owned below.
    let src = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if src < 0 {
        return Err(std::io::Error::last_os_error()).context("duplicating the child's fd");
    }
    // SAFETY: `src` was just returned by fcntl, is open, and nothing else owns it.
    let src = unsafe { OwnedFd::from_raw_fd(src) };
    let raw = src.as_raw_fd();
    let mut cmd = Command::new(exe);
    cmd.args(["pingpong-child", "--transport", transport.name(), "--fd"])
        .arg(CHILD_FD.to_string())
        .arg("--size")
        .arg(size.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    // SAFETY: the hook runs in the forked child before exec and only makes async-signal-safe
    // system calls (dup2, prctl) on plain integers; it neither allocates nor takes locks.
    // dup2 gives fd 3 without close-on-exec (`raw` is never 3: it is at least 10), so the
    // child inherits it while `raw` itself is closed by exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, CHILD_FD) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // If we die, the child must not outlive us (it would spin until its timeout).
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        })
    };
    let child = cmd.spawn().context("cannot start the ping-pong child")?;
    drop(src);
    Ok(ChildGuard(Some(child)))
}

// ---------------------------------------------------------------------------------------------
// Both sides, over any fd.

/// The parent's loop over `fd` (a connected socket, or the memfd): `warmup` + `iters` round
/// trips, each reply awaited at most `timeout`. For shm, tells the peer to stop when done (also
/// on error). Returns the measured RTTs in nanoseconds.
fn drive(
    transport: Transport,
    fd: BorrowedFd<'_>,
    size: usize,
    iters: usize,
    warmup: usize,
    timeout: Duration,
) -> Result<Vec<f64>> {
    check_size(size)?;
    let mut out = pattern(size);
    let mut back = vec![0u8; size];
    let mut samples = Vec::with_capacity(iters);
    let total = warmup + iters;
    match transport {
        Transport::Uds => {
            let sock = UnixStream::from(fd.try_clone_to_owned().context("duplicating the socket")?);
            sock.set_read_timeout(Some(timeout))
                .context("setting the socket timeout")?;
            sock.set_write_timeout(Some(timeout))
                .context("setting the socket timeout")?;
            let mut sock = &sock;
            for i in 0..total {
                stamp(&mut out, i);
                let t = Instant::now();
                sock.write_all(&out)
                    .map_err(|e| peer_error(e, timeout))
                    .context("sending")?;
                sock.read_exact(&mut back)
                    .map_err(|e| peer_error(e, timeout))
                    .context("receiving the reply")?;
                let rtt = t.elapsed();
                verify(&out, &back, i, i == 0 || i + 1 == total)?;
                if i >= warmup {
                    samples.push(rtt.as_secs_f64() * 1e9);
                }
            }
        }
        Transport::Shm => {
            let shm = Shm::map(fd)?;
            let r: Result<()> = (|| {
                for i in 0..total {
                    stamp(&mut out, i);
                    let seq = i as u64 + 1;
                    let t = Instant::now();
                    shm.send(TO_CHILD, &out, seq);
                    shm.wait(TO_PARENT, |s| s == seq, timeout)?;
                    shm.read(TO_PARENT, &mut back);
                    let rtt = t.elapsed();
                    verify(&out, &back, i, i == 0 || i + 1 == total)?;
                    if i >= warmup {
                        samples.push(rtt.as_secs_f64() * 1e9);
                    }
                }
                Ok(())
            })();
            shm.seq(TO_CHILD).store(DONE, Ordering::Release);
            r?;
        }
    }
    Ok(samples)
}

/// The child's loop over `fd`: echoes `size`-byte messages until the parent is done. Waits at
/// most `idle_timeout` for each request on shared memory (a socket reports a dead parent).
fn serve(transport: Transport, fd: OwnedFd, size: usize, idle_timeout: Duration) -> Result<()> {
    check_size(size)?;
    let mut buf = vec![0u8; size];
    match transport {
        Transport::Uds => {
            let mut sock = UnixStream::from(fd);
            loop {
                // EOF before a message is the parent saying it is done.
                let n = match sock.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e).context("receiving"),
                };
                sock.read_exact(&mut buf[n..]).context("receiving")?;
                sock.write_all(&buf).context("replying")?;
            }
        }
        Transport::Shm => {
            let shm = Shm::map(fd.as_fd())?;
            drop(fd);
            // Sequence numbers start at 1 in a zeroed memfd; the parent may have sent the first
            // request before we got here.
            let mut last = 0;
            loop {
                let seq = shm.wait(TO_CHILD, |s| s != last, idle_timeout)?;
                if seq == DONE {
                    return Ok(());
                }
                shm.read(TO_CHILD, &mut buf);
                shm.send(TO_PARENT, &buf, seq);
                last = seq;
            }
        }
    }
}

/// The parent's message: bytes that vary with their position (xorshift), so a misplaced copy
/// shows.
fn pattern(size: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ size as u64;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Makes message `i` differ from the previous one in its first and last byte.
fn stamp(msg: &mut [u8], i: usize) {
    let b = i.to_le_bytes();
    if let Some(first) = msg.first_mut() {
        *first = b[0];
    }
    if let Some(last) = msg.last_mut() {
        *last = b[0].wrapping_mul(31) ^ b[1] ^ 0xa5;
    }
}

/// Checks a reply: its first and last byte always (cheap), every byte when `full`.
fn verify(sent: &[u8], got: &[u8], i: usize, full: bool) -> Result<()> {
    let ok = sent.first() == got.first() && sent.last() == got.last() && (!full || sent == got);
    ensure!(ok, "round trip {i}: the reply differs from the message");
    Ok(())
}

/// Turns a socket error into what it means for the peer.
fn peer_error(e: std::io::Error, timeout: Duration) -> anyhow::Error {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => {
            anyhow::anyhow!("the peer did not answer within {timeout:?}")
        }
        ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe | ErrorKind::ConnectionReset => {
            anyhow::Error::new(e).context("the peer is gone")
        }
        _ => e.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared memory.

/// Mailbox header: the sequence counter, alone on its cache line.
const HEADER: usize = 64;
/// One mailbox: header, then payload.
const MAILBOX: usize = HEADER + MAX_SIZE;
/// The memfd: two mailboxes.
const SHM_LEN: usize = 2 * MAILBOX;
/// Mailbox written by the parent.
const TO_CHILD: usize = 0;
/// Mailbox written by the child.
const TO_PARENT: usize = 1;
/// Sequence value telling the child to exit.
const DONE: u64 = u64::MAX;
// Every counter starts a cache line, and both mailboxes fit.
const _: () = assert!(HEADER.is_multiple_of(64) && MAILBOX.is_multiple_of(64));
const _: () = assert!(TO_PARENT * MAILBOX + HEADER + MAX_SIZE <= SHM_LEN);

fn create_memfd() -> Result<OwnedFd> {
    // SAFETY: memfd_create with a valid NUL-terminated name; the returned descriptor is owned
    // below.
    let fd = unsafe { libc::memfd_create(c"lego-pingpong".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("memfd_create");
    }
    // SAFETY: `fd` was just returned by memfd_create, is open, and nothing else owns it.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.set_len(SHM_LEN as u64).context("sizing the memfd")?;
    Ok(file.into())
}

/// The memfd, mapped shared. The peer maps the same pages; the protocol (one writer per
/// mailbox at a time, handed over through the sequence counter) keeps accesses apart.
#[derive(Debug)]
struct Shm {
    base: NonNull<u8>,
}

impl Shm {
    fn map(fd: BorrowedFd<'_>) -> Result<Shm> {
        let len = File::from(fd.try_clone_to_owned().context("duplicating the memfd")?)
            .metadata()
            .context("inspecting the memfd")?
            .len();
        ensure!(
            len >= SHM_LEN as u64,
            "the shared memory is {len} bytes, not {SHM_LEN}"
        );
        // SAFETY: a fresh shared mapping of a file at least SHM_LEN bytes long (checked above),
        // at an address of the kernel's choosing: it overlaps nothing of ours.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                SHM_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error()).context("mapping the memfd");
        }
        let base = NonNull::new(p.cast::<u8>()).context("mmap returned NULL")?;
        Ok(Shm { base })
    }

    /// Mailbox `mb`'s sequence counter.
    fn seq(&self, mb: usize) -> &AtomicU64 {
        debug_assert!(mb < 2);
        // SAFETY: the counter is in the mapping (mb < 2), 64-byte aligned (page-aligned base,
        // offsets multiples of 64), valid for as long as `self` maps it, and only ever accessed
        // atomically, by both processes.
        unsafe { AtomicU64::from_ptr(self.base.as_ptr().add(mb * MAILBOX).cast::<u64>()) }
    }

    /// Mailbox `mb`'s payload area (MAX_SIZE bytes).
    fn payload(&self, mb: usize) -> *mut u8 {
        debug_assert!(mb < 2);
        // SAFETY: stays inside the mapping: mb * MAILBOX + HEADER + MAX_SIZE <= SHM_LEN.
        unsafe { self.base.as_ptr().add(mb * MAILBOX + HEADER) }
    }

    /// Copies `msg` into mailbox `mb` and publishes it as `seq`.
    fn send(&self, mb: usize, msg: &[u8], seq: u64) {
        assert!(msg.len() <= MAX_SIZE);
        // SAFETY: the payload area holds MAX_SIZE >= msg.len() bytes and cannot overlap `msg`
        // (a private buffer). We are the mailbox's only writer and its reader is done with it:
        // it read the previous message before answering, and we saw that answer.
        unsafe { std::ptr::copy_nonoverlapping(msg.as_ptr(), self.payload(mb), msg.len()) };
        self.seq(mb).store(seq, Ordering::Release);
    }

    /// Copies mailbox `mb`'s payload into `buf` (after `wait` saw it published).
    fn read(&self, mb: usize, buf: &mut [u8]) {
        assert!(buf.len() <= MAX_SIZE);
        // SAFETY: the payload area holds MAX_SIZE >= buf.len() bytes and cannot overlap `buf`.
        // Its writer published it (Release) before our Acquire load in `wait` and does not
        // touch it again until we answer.
        unsafe { std::ptr::copy_nonoverlapping(self.payload(mb), buf.as_mut_ptr(), buf.len()) };
    }

    /// Spins until mailbox `mb`'s counter satisfies `ready` and returns it; gives up after
    /// `timeout`. Yields the CPU when the wait gets long, so an oversubscribed machine still
    /// makes progress.
    fn wait(&self, mb: usize, ready: impl Fn(u64) -> bool, timeout: Duration) -> Result<u64> {
        let seq = self.seq(mb);
        let mut start: Option<Instant> = None;
        loop {
            for _ in 0..256 {
                let s = seq.load(Ordering::Acquire);
                if ready(s) {
                    return Ok(s);
                }
                std::hint::spin_loop();
            }
            let waited = start.get_or_insert_with(Instant::now).elapsed();
            if waited > timeout {
                bail!("the peer did not answer within {timeout:?}");
            }
            if waited > Duration::from_millis(1) {
                std::thread::yield_now();
            }
        }
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`; `seq` borrows `self`, so no
        // reference into it outlives this.
        unsafe { libc::munmap(self.base.as_ptr().cast::<libc::c_void>(), SHM_LEN) };
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    const SIZES: [usize; 4] = [1, 64, 4096, 65536];
    const SHORT: Duration = Duration::from_millis(200);

    /// Runs `child_main` on a thread against its end of a fresh transport and drives it.
    fn in_process(transport: Transport, size: usize, iters: usize, warmup: usize) -> Vec<f64> {
        let (ours, theirs) = endpoints(transport).unwrap();
        let fd = std::os::fd::IntoRawFd::into_raw_fd(theirs);
        let child = thread::spawn(move || child_main(transport, fd, size));
        let r = drive(transport, ours.as_fd(), size, iters, warmup, TIMEOUT);
        drop(ours);
        assert_eq!(child.join().unwrap(), exit::OK);
        r.unwrap()
    }

    #[test]
    fn uds_round_trips() {
        for size in SIZES {
            let s = in_process(Transport::Uds, size, 50, 5);
            assert_eq!(s.len(), 50);
            assert!(s.iter().all(|&ns| ns > 0.0));
        }
    }

    #[test]
    fn shm_round_trips() {
        for size in SIZES {
            let s = in_process(Transport::Shm, size, 50, 5);
            assert_eq!(s.len(), 50);
            assert!(s.iter().all(|&ns| ns > 0.0));
        }
    }

    #[test]
    fn patterns_vary() {
        let p = pattern(4096);
        assert!(p.windows(2).filter(|w| w[0] != w[1]).count() > 3000);
        let (mut a, mut b) = (p.clone(), p);
        stamp(&mut a, 0);
        stamp(&mut b, 1);
        assert_ne!(a.first(), b.first());
        assert_ne!(a.last(), b.last());
        // Stamps differ between consecutive iterations even for one byte.
        let (mut a, mut b) = (vec![0u8], vec![0u8]);
        stamp(&mut a, 6);
        stamp(&mut b, 7);
        assert_ne!(a, b);
    }

    #[test]
    fn corrupted_reply_is_detected() {
        for (size, at) in [(1, 0), (4096, 0), (4096, 4095), (4096, 1000)] {
            let (ours, theirs) = UnixStream::pair().unwrap();
            let peer = thread::spawn(move || {
                let mut s = theirs;
                let mut buf = vec![0u8; size];
                while s.read_exact(&mut buf).is_ok() {
                    buf[at] ^= 0x40;
                    if s.write_all(&buf).is_err() {
                        break;
                    }
                }
            });
            let r = drive(Transport::Uds, ours.as_fd(), size, 3, 0, TIMEOUT);
            drop(ours);
            peer.join().unwrap();
            let e = r.unwrap_err();
            assert!(format!("{e:#}").contains("differs"), "{e:#}");
        }
    }

    #[test]
    fn uds_closed_peer_is_an_error() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        drop(theirs);
        let t = Instant::now();
        let e = drive(Transport::Uds, ours.as_fd(), 64, 10, 0, TIMEOUT).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(1));
        assert!(format!("{e:#}").contains("gone"), "{e:#}");
    }

    #[test]
    fn uds_dead_child_is_an_error() {
        // The child answers a few round trips, then exits (closes its end).
        let (ours, theirs) = UnixStream::pair().unwrap();
        let peer = thread::spawn(move || {
            let mut s = theirs;
            let mut buf = vec![0u8; 64];
            for _ in 0..3 {
                s.read_exact(&mut buf).unwrap();
                s.write_all(&buf).unwrap();
            }
        });
        let t = Instant::now();
        let e = drive(Transport::Uds, ours.as_fd(), 64, 10, 0, TIMEOUT).unwrap_err();
        peer.join().unwrap();
        assert!(t.elapsed() < Duration::from_secs(1));
        assert!(format!("{e:#}").contains("gone"), "{e:#}");
    }

    #[test]
    fn uds_silent_peer_times_out() {
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let t = Instant::now();
        let e = drive(Transport::Uds, ours.as_fd(), 64, 10, 0, SHORT).unwrap_err();
        let waited = t.elapsed();
        assert!(waited >= SHORT && waited < SHORT * 10, "{waited:?}");
        assert!(format!("{e:#}").contains("did not answer"), "{e:#}");
    }

    #[test]
    fn shm_silent_peer_times_out() {
        let fd = create_memfd().unwrap();
        let t = Instant::now();
        let e = drive(Transport::Shm, fd.as_fd(), 64, 10, 0, SHORT).unwrap_err();
        let waited = t.elapsed();
        assert!(waited >= SHORT && waited < SHORT * 10, "{waited:?}");
        assert!(format!("{e:#}").contains("did not answer"), "{e:#}");
    }

    #[test]
    fn shm_child_that_stops_answering_is_an_error() {
        let fd = create_memfd().unwrap();
        let theirs = fd.try_clone().unwrap();
        // A child that answers three round trips, then stops (but stays alive).
        let peer = thread::spawn(move || {
            let shm = Shm::map(theirs.as_fd()).unwrap();
            let mut buf = vec![0u8; 64];
            for seq in 1..=3 {
                shm.wait(TO_CHILD, |s| s == seq, TIMEOUT).unwrap();
                shm.read(TO_CHILD, &mut buf);
                shm.send(TO_PARENT, &buf, seq);
            }
            // The parent still signals the end after its error.
            shm.wait(TO_CHILD, |s| s == DONE, TIMEOUT).unwrap();
        });
        let t = Instant::now();
        let e = drive(Transport::Shm, fd.as_fd(), 64, 10, 0, SHORT).unwrap_err();
        assert!(t.elapsed() < SHORT * 10);
        assert!(format!("{e:#}").contains("did not answer"), "{e:#}");
        peer.join().unwrap();
    }

    #[test]
    fn shm_child_gives_up_without_parent() {
        let fd = create_memfd().unwrap();
        let t = Instant::now();
        let e = serve(Transport::Shm, fd, 64, SHORT).unwrap_err();
        assert!(format!("{e:#}").contains("did not answer"), "{e:#}");
        assert!(t.elapsed() < SHORT * 10);
    }

    #[test]
    fn uds_child_exits_on_eof() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        drop(ours);
        serve(Transport::Uds, theirs.into(), 64, SHORT).unwrap();
    }

    #[test]
    fn child_rejects_bad_arguments() {
        // Not an open fd.
        assert_eq!(child_main(Transport::Uds, -1, 64), exit::ERROR);
        // A memfd too small for the mailboxes.
        let small = File::from(create_memfd().unwrap());
        small.set_len(4096).unwrap();
        let fd = std::os::fd::IntoRawFd::into_raw_fd(small);
        assert_eq!(child_main(Transport::Shm, fd, 64), exit::ERROR);
        // Sizes out of range.
        for size in [0, MAX_SIZE + 1] {
            assert_eq!(child_main(Transport::Uds, -1, size), exit::ERROR);
            assert!(check_size(size).is_err());
            run(Transport::Shm, size, 1, 0).unwrap_err();
        }
    }
}
