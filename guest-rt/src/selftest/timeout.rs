//! Every call has a deadline: a server that does not answer in time makes the call fail with
//! `Timeout`, and its late reply is ignored.

extern crate alloc;

use alloc::format;
use alloc::string::String;

use lego_proto::op;

use super::util::{fail, since_ns};
use crate::arch::rdtsc;
use crate::rpc::{Rpc, RpcError};

/// Runs the test against `peer`.
pub fn run(rpc: &mut Rpc, peer: u32) -> Result<String, String> {
    let saved = rpc.timeout_ns;
    rpc.timeout_ns = 200_000_000;
    let t0 = rdtsc();
    let r = rpc.call(peer, op::STALL, &600u32.to_le_bytes(), &mut [0u8; 4]);
    let waited = since_ns(t0);
    rpc.timeout_ns = saved;
    if r != Err(RpcError::Timeout) {
        return fail("a stalled call", r);
    }
    if !(200_000_000..2_000_000_000).contains(&waited) {
        return Err(format!(
            "the 200 ms deadline fired after {} ms",
            waited / 1_000_000
        ));
    }
    // The server comes back; its late reply must not be taken for the next call's.
    let mut out = [0u8; 16];
    let n = rpc
        .call(peer, op::ECHO, b"after the stall", &mut out)
        .or_else(|e| fail("call after the stall", e))?;
    if &out[..n] != b"after the stall" {
        return Err(String::from("the late reply was mistaken for a new one"));
    }
    Ok(format!(
        "a 600 ms stall hit the 200 ms deadline after {} ms; the late reply was ignored",
        waited / 1_000_000
    ))
}
