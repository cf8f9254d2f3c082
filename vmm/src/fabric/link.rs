//! The thread that listens to the coordinator: peers coming and going, MRs revoked. Signals
//! (the VMM's stop and kick signals may land on this thread) only interrupt the wait, which
//! `wire::recv` resumes; during an orderly stop nothing it sees is worth a warning.

use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

use virtio_rdma::backend::wire::{self, ToVmm};

use super::Fabric;

/// Serves coordinator messages until the coordinator closes the socket. A lost coordinator does
/// not stop the guest: it keeps talking to the peers it knows.
pub fn spawn_link(fabric: Arc<Fabric>, sock: UnixDatagram) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("fabric-link".into())
        .spawn(move || {
            loop {
                match wire::recv::<ToVmm>(&sock) {
                    Ok(Some((ToVmm::Peer(info), fds))) => fabric.on_peer(info, fds),
                    Ok(Some((ToVmm::PeerDead { id, incarnation }, _))) => {
                        fabric.on_peer_dead(id, incarnation)
                    }
                    Ok(Some((ToVmm::MrRevoked { id, rkey }, _))) => fabric.on_revoked(id, rkey),
                    Ok(None) => {
                        tracing::info!("the coordinator closed the fabric link");
                        return;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        tracing::warn!("bad message from the coordinator ignored: {e}");
                    }
                    // (`wire::recv` resumes after signals itself: EINTR never ends up here.)
                    Err(e) if crate::vm::stop_requested() => {
                        tracing::debug!("fabric link closed while stopping: {e}");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!("fabric link failed: {e}");
                        return;
                    }
                }
            }
        })?;
    Ok(())
}
