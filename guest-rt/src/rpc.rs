//! The RPC layer (from `lego-rpc`), over this guest's fabric device.

pub use lego_rpc::rpc::{RpcError, RpcStats, Ticket};

use crate::rdma::Device;

/// The RPC engine of a monitor.
pub type Rpc = lego_rpc::rpc::Rpc<Device>;
/// What a monitor's request handler sees.
pub type HandlerCtx<'a> = lego_rpc::rpc::HandlerCtx<'a, Device>;
