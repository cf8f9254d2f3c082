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

/// Sends `msg` with `fds`.
pub fn send<T: Serialize>(sock: &UnixDatagram, msg: &T, fds: &[&dyn AsRawFd]) -> io::Result<()> {
    let bytes = serde_json::to_vec(msg).map_err(io::Error::other)?;
    if bytes.len() > MAX_MESSAGE || fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "message too large",
        ));
    }
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let sent = sock
        .send_with_fds(&[&bytes[..]], &raw)
        .map_err(|e| io::Error::from_raw_os_error(e.errno()))?;
    if sent != bytes.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
    }
    Ok(())
}

/// Receives one message and its descriptors. `Ok(None)` at end of file (the other side closed).
pub fn recv<T: for<'de> Deserialize<'de>>(
    sock: &UnixDatagram,
) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut fds = [0 as RawFd; MAX_FDS];
    let mut iov = [libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    }];
    // SAFETY: the iovec points at `buf`, which outlives the call; `fds` has room for MAX_FDS.
    let (n, nfds) = unsafe { sock.recv_with_fds(&mut iov, &mut fds) }
        .map_err(|e| io::Error::from_raw_os_error(e.errno()))?;
    // SAFETY: the kernel just installed these `nfds` descriptors for us; nobody else owns them.
    let owned: Vec<OwnedFd> = fds[..nfds]
        .iter()
        .map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    if n == 0 && nfds == 0 {
        return Ok(None);
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
    fn garbage_is_an_error_not_a_panic() {
        let (a, b) = seqpacket_pair().unwrap();
        a.send(b"{not json").unwrap();
        recv::<ToVmm>(&b).unwrap_err();
    }
}
