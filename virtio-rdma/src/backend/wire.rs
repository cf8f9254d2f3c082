//! Messages between each VMM and the coordinator (the cluster manager, or a test harness) over a
//! `SOCK_SEQPACKET` socket pair: one JSON message per packet, file descriptors (memfds,
//! eventfds) attached as `SCM_RIGHTS`. Message boundaries and end-of-file come from the socket
//! type, so a dead coordinator or VMM is seen as EOF.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;

use serde::{Deserialize, Serialize};
use vmm_sys_util::sock_ctrl_msg::ScmSocket;

/// Largest message.
pub const MAX_MESSAGE: usize = 64 << 10;
/// Most descriptors in one message.
pub const MAX_FDS: usize = 8;

/// What a component is, as peers need to know it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Component id.
    pub id: u32,
    /// Name (`p0`).
    pub name: String,
    /// Role value (`lego_abi::Role`).
    pub role: u32,
    /// Its guest memory size.
    pub mem_bytes: u64,
    /// Bumped on every restart.
    pub incarnation: u32,
}

/// VMM to coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum ToCoordinator {
    /// Sent once the VM exists. Descriptors: guest memory memfd, MR directory memfd, wake eventfd.
    Hello(PeerInfo),
    /// The guest deregistered an MR peers may have mapped.
    MrRevoked {
        /// Its key.
        rkey: u32,
    },
}

/// Coordinator to VMM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum ToVmm {
    /// A peer is up. Descriptors: its guest memory memfd, MR directory memfd, wake eventfd.
    Peer(PeerInfo),
    /// A peer failed (its VMM died or was killed).
    PeerDead {
        /// Component id.
        id: u32,
        /// The incarnation that died.
        incarnation: u32,
    },
    /// A peer deregistered an MR.
    MrRevoked {
        /// Component id.
        id: u32,
        /// Its key.
        rkey: u32,
    },
}

/// Creates a connected `SOCK_SEQPACKET` pair (close-on-exec).
pub fn seqpacket_pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: socketpair writes two descriptors into the array we own; the result is checked.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned by nobody else. A seqpacket socket supports
    // the send/recv calls UnixDatagram makes on a connected socket.
    let pair = unsafe {
        (
            UnixDatagram::from_raw_fd(fds[0]),
            UnixDatagram::from_raw_fd(fds[1]),
        )
    };
    Ok(pair)
}

/// Sends `msg` with `fds`. Retried if a signal interrupts it.
pub fn send<T: Serialize>(sock: &UnixDatagram, msg: &T, fds: &[&dyn AsRawFd]) -> io::Result<()> {
    let bytes = serde_json::to_vec(msg).map_err(io::Error::other)?;
    if bytes.len() > MAX_MESSAGE || fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "message too large",
        ));
    }
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let sent = loop {
        match sock.send_with_fds(&[&bytes[..]], &raw) {
            Ok(n) => break n,
            Err(e) if e.errno() == libc::EINTR => continue,
            Err(e) => return Err(io::Error::from_raw_os_error(e.errno())),
        }
    };
    if sent != bytes.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
    }
    Ok(())
}

/// Room for the control message of [`MAX_FDS`] descriptors, 8-aligned as `cmsghdr` wants.
#[repr(C, align(8))]
struct CmsgSpace([u8; 64]);

const _: () =
    assert!(core::mem::size_of::<libc::cmsghdr>() + MAX_FDS * core::mem::size_of::<RawFd>() <= 64);

/// Receives one message and its descriptors. `Ok(None)` at end of file (the other side closed).
///
/// The descriptors arrive close-on-exec (`MSG_CMSG_CLOEXEC`, atomically): a process that
/// receives peers' memory and then starts other processes (the cluster manager starting VMMs)
/// must not hand them copies, which would keep a dead component's memory alive as long as they
/// run. A signal that interrupts the wait is not an error: the wait is resumed.
pub fn recv<T: for<'de> Deserialize<'de>>(
    sock: &UnixDatagram,
) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut space = CmsgSpace([0; 64]);
    let (n, owned, truncated) = loop {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: an all-zero msghdr is valid (no name, no iovecs yet).
        let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
        hdr.msg_iov = &raw mut iov;
        hdr.msg_iovlen = 1;
        hdr.msg_control = space.0.as_mut_ptr().cast();
        hdr.msg_controllen = space.0.len() as _;
        // SAFETY: `hdr` points at `iov` (which points at `buf`) and at `space`, all of which
        // outlive the call; the kernel writes at most the lengths given.
        let r = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut hdr, libc::MSG_CMSG_CLOEXEC) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        let mut owned = Vec::new();
        // SAFETY: walking the control messages the kernel wrote into `space`, with the
        // CMSG_* helpers, bounded by `msg_controllen`.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&hdr);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(c).cast::<RawFd>();
                    let bytes = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                    for i in 0..bytes / std::mem::size_of::<RawFd>() {
                        // The kernel just installed this descriptor for us; nobody else owns
                        // it. `read_unaligned`: the payload need not be aligned for RawFd.
                        owned.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                    }
                }
                c = libc::CMSG_NXTHDR(&hdr, c);
            }
        }
        let truncated = hdr.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0;
        break (r as usize, owned, truncated);
    };
    if n == 0 && owned.is_empty() {
        return Ok(None);
    }
    if truncated {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "message or descriptors truncated",
        ));
    }
    let msg = serde_json::from_slice(&buf[..n])
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Some((msg, owned)))
}

#[cfg(test)]
mod tests {
    use super::super::shm::memfd;
    use super::*;

    #[test]
    fn messages_and_descriptors_cross() {
        let (a, b) = seqpacket_pair().unwrap();
        let f = memfd("x", 4096).unwrap();
        let info = PeerInfo {
            id: 2,
            name: "m1".into(),
            role: 2,
            mem_bytes: 1 << 30,
            incarnation: 1,
        };
        send(&a, &ToVmm::Peer(info.clone()), &[&f, &f]).unwrap();
        let (m, fds): (ToVmm, _) = recv(&b).unwrap().unwrap();
        assert_eq!(m, ToVmm::Peer(info));
        assert_eq!(fds.len(), 2);
        assert_eq!(super::super::shm::fd_size(&fds[0]).unwrap(), 4096);
        drop(a);
        assert!(
            recv::<ToVmm>(&b).unwrap().is_none(),
            "EOF when the peer closes"
        );
    }

    #[test]
    fn received_descriptors_are_close_on_exec() {
        let (a, b) = seqpacket_pair().unwrap();
        let f = memfd("x", 4096).unwrap();
        send(
            &a,
            &ToVmm::PeerDead {
                id: 1,
                incarnation: 2,
            },
            &[&f, &f, &f],
        )
        .unwrap();
        let (_, fds): (ToVmm, _) = recv(&b).unwrap().unwrap();
        assert_eq!(fds.len(), 3);
        for fd in &fds {
            // SAFETY: F_GETFD on a descriptor we own.
            let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
            assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC, "{flags:#x}");
        }
    }

    #[test]
    fn a_signal_during_recv_is_not_an_error() {
        extern "C" fn nothing(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}
        // Like the VMM's own handlers: no SA_RESTART, so a blocked recvmsg fails with EINTR.
        vmm_sys_util::signal::register_signal_handler(libc::SIGUSR1, nothing).unwrap();
        let (a, b) = seqpacket_pair().unwrap();
        let waiter = std::thread::spawn(move || recv::<ToVmm>(&b));
        std::thread::sleep(std::time::Duration::from_millis(50));
        use std::os::unix::thread::JoinHandleExt;
        for _ in 0..3 {
            // SAFETY: the thread is alive (it waits for the message sent below).
            unsafe { libc::pthread_kill(waiter.as_pthread_t(), libc::SIGUSR1) };
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let msg = ToVmm::MrRevoked { id: 3, rkey: 9 };
        send(&a, &msg, &[]).unwrap();
        let got = waiter.join().unwrap().expect("recv survived the signals");
        assert_eq!(got.map(|(m, _)| m), Some(msg));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let (a, b) = seqpacket_pair().unwrap();
        a.send(b"{not json").unwrap();
        recv::<ToVmm>(&b).unwrap_err();
    }
}
