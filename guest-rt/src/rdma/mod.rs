//! The virtio-rdma driver (see the `virtio-rdma` crate for the design): the device and its
//! control queue, memory regions, and queue pairs whose work requests this driver executes
//! itself, copying through windows the VMM maps onto peers' registered memory.

mod control;
mod device;
pub mod mr;
pub mod qp;
mod shared;

pub use device::{Device, device, init};
pub use mr::{LocalMr, RemoteMrHandle};
pub use qp::Qp;
pub use shared::u64_at as shared_u64;
use virtio_rdma::abi::control::CtrlStatus;

use crate::mm::paging::MapError;
use crate::virtio::VirtioError;

/// Why a driver operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdmaError {
    /// No virtio-rdma device in this guest.
    NoDevice,
    /// The transport failed.
    Virtio(VirtioError),
    /// The device refused a control command.
    Control(CtrlStatus),
    /// A mapping failed.
    Map(MapError),
    /// Out of memory.
    NoMemory,
    /// Memory not in this guest's RAM, or not page aligned.
    BadAddress,
    /// The peer is not up.
    PeerDown,
    /// Waited too long.
    Timeout,
    /// The peer's control block is not what it should be.
    BadPeerBlock,
}

impl From<VirtioError> for RdmaError {
    fn from(e: VirtioError) -> RdmaError {
        RdmaError::Virtio(e)
    }
}

impl From<MapError> for RdmaError {
    fn from(e: MapError) -> RdmaError {
        RdmaError::Map(e)
    }
}
