//! Two-sided SEND/RECV: we post receive buffers in an MR of ours; the peer SENDs into them (it
//! does so when asked with `op::SEND_BACK`); the receive completions carry our work-request
//! ids, lengths and immediates. A SEND that does not fit fails at the sender and leaves the
//! buffer posted; a SEND with no buffer posted fails with "receiver not ready".

extern crate alloc;

use alloc::format;
use alloc::string::String;

use lego_proto::op::{self, test_pattern};
use virtio_rdma::abi::cqe::WcOpcode;
use virtio_rdma::abi::mr::{REMOTE_WRITE, tags};

use super::util::fail;
use crate::mm::{alloc_zeroed, phys_to_virt};
use crate::rpc::{Rpc, RpcError};

fn send_back(rpc: &mut Rpc, peer: u32, len: u32, seed: u32, imm: u32) -> Result<usize, RpcError> {
    let req = [len.to_le_bytes(), seed.to_le_bytes(), imm.to_le_bytes()].concat();
    rpc.call(peer, op::SEND_BACK, &req, &mut [0u8; 4])
}

/// Runs the test against `peer`.
pub fn run(rpc: &mut Rpc, peer: u32) -> Result<String, String> {
    let pa = alloc_zeroed(16).ok_or_else(|| String::from("no memory"))?;
    let va = phys_to_virt(pa);
    let mr = rpc
        .env()
        .reg_mr(va, 64 << 10, REMOTE_WRITE, tags::USER + 100 + peer)
        .or_else(|e| fail("register", e))?;
    let qp = rpc
        .qp_mut(peer)
        .ok_or_else(|| String::from("no queue pair"))?;
    qp.post_recv(&mr, 0, 4096, 11)
        .or_else(|e| fail("post recv", e))?;
    qp.post_recv(&mr, 4096, 16384, 12)
        .or_else(|e| fail("post recv", e))?;
    send_back(rpc, peer, 3000, 5, 0).or_else(|e| fail("send back 3000", e))?;
    send_back(rpc, peer, 10_000, 6, 0xabc)
        .or_else(|e| fail("send back 10000 with immediate", e))?;
    let got = rpc.take_recvs();
    let want = [
        (11u64, 3000u32, 0u32, 0usize, 5u32),
        (12, 10_000, 0xabc, 4096, 6),
    ];
    if got.len() != want.len() {
        return Err(format!("expected 2 receive completions, got {got:?}"));
    }
    for (c, &(wr_id, len, imm, off, seed)) in got.iter().zip(want.iter()) {
        if c.wr_id != wr_id
            || c.byte_len != len
            || c.imm != imm
            || c.opcode != WcOpcode::Recv as u32
        {
            return Err(format!(
                "receive completion {c:?}, expected id {wr_id} len {len} imm {imm:#x}"
            ));
        }
        // SAFETY: the buffer is our MR's memory, 64 KiB.
        let data = unsafe { core::slice::from_raw_parts(va.add(off), len as usize) };
        if data
            .iter()
            .enumerate()
            .any(|(k, &b)| b != test_pattern(seed, k as u64))
        {
            return Err(format!("received bytes of buffer {wr_id} are wrong"));
        }
    }
    // Too long for the posted buffer: refused at the sender, buffer left posted.
    let qp = rpc
        .qp_mut(peer)
        .ok_or_else(|| String::from("no queue pair"))?;
    qp.post_recv(&mr, 20480, 100, 13)
        .or_else(|e| fail("post recv", e))?;
    match send_back(rpc, peer, 200, 7, 0) {
        Err(RpcError::Remote(_)) => {}
        other => return fail("an oversized SEND", other),
    }
    send_back(rpc, peer, 50, 8, 0).or_else(|e| fail("send back 50", e))?;
    let got = rpc.take_recvs();
    if got.len() != 1 || got[0].wr_id != 13 || got[0].byte_len != 50 {
        return Err(format!(
            "after an oversized SEND the buffer should take the next one: {got:?}"
        ));
    }
    // Nothing posted: the sender gives up ("receiver not ready").
    match send_back(rpc, peer, 10, 9, 0) {
        Err(RpcError::Remote(_)) => {}
        other => return fail("a SEND with no buffer posted", other),
    }
    Ok(String::from(
        "SEND/RECV with and without immediate ok, oversized SEND refused, receiver-not-ready refused",
    ))
}
