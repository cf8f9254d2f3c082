//! The virtio-rdma driver of a monitor: the device, its control queue, and the glue that lets
//! the shared fabric code (`lego-rpc`: queue pairs, the RPC engine) run on it.

mod control;
mod device;
mod env;

pub use device::{Device, device, init};
pub use lego_rpc::{FabricError, LocalMr, RemoteMrHandle, u32_at, u64_at};

/// A queue pair of this guest.
pub type Qp = lego_rpc::Qp<Device>;

impl From<crate::virtio::VirtioError> for FabricError {
    fn from(_: crate::virtio::VirtioError) -> FabricError {
        FabricError::Env("virtio transport")
    }
}

impl From<crate::mm::paging::MapError> for FabricError {
    fn from(_: crate::mm::paging::MapError) -> FabricError {
        FabricError::Env("mapping")
    }
}
