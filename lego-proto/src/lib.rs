//! The messages LegoOS components exchange, shared by every monitor (`no_std`) and the host.
//!
//! [`rpc`] is the framing of the RPC layer (modelled on LegoOS's FIT): requests written with
//! WRITE_WITH_IMM into a per-peer receive ring, replies written into a slot the caller named.
//! [`op`] lists the operations; [`fs`] is the file protocol of the storage and memory monitors.
#![no_std]

pub mod fs;
pub mod mem;
pub mod mgmt;
pub mod op;
pub mod proc;
pub mod rpc;

/// Bumped on any incompatible change.
pub const VERSION: u32 = 2;
