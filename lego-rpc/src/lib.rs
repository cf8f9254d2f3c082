//! Queue pairs and the RPC layer of the fabric (see the `virtio-rdma` crate for the design),
//! written once and used both by the monitor guests and by the host-side managers, which join
//! the fabric as a component of their own.
//!
//! Everything that differs between the two lives behind [`Env`]: where local memory comes
//! from, how MRs are registered and peers' MRs mapped, the peer table, doorbells, the clock and
//! sleeping.
#![no_std]

extern crate alloc;

mod env;
mod mr;
mod qp;
pub mod rpc;
mod shared;

pub use env::{Env, FabricError};
pub use mr::{LocalMr, RemoteMrHandle};
pub use qp::Qp;
pub use shared::{u32_at, u64_at};
