//! The RPC layer, modelled on LegoOS's FIT (see `lego_proto::rpc` for the framing): per-peer
//! receive rings written with WRITE_WITH_IMM, a dispatcher that polls and runs handlers,
//! replies written straight into the slot the caller named, a deadline on every call.
//!
//! One [`Rpc`] per component, driven by one thread: waiting for a reply keeps serving incoming
//! requests, so two components calling each other at once cannot deadlock.

mod conn;
mod engine;
mod idle;

pub use engine::{
    BeatBuilder, DEFER, Deferred, Handler, HandlerCtx, Rpc, RpcError, RpcStats, Ticket,
};
