//! Request/reply of every size from 1 B to 64 KiB with checksums, many requests outstanding,
//! an unknown operation refused.

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use lego_proto::op;
use lego_proto::rpc::{MAX_PAYLOAD, status};

use super::util::{buffer, fail, fill};
use crate::rpc::{Rpc, RpcError};

const SIZES: [usize; 22] = [
    1, 2, 3, 7, 8, 63, 64, 65, 100, 511, 512, 1000, 4095, 4096, 4097, 8192, 10_000, 16384, 32768,
    50_000, 65535, 65536,
];

/// Runs the suite against `peer`.
pub fn run(rpc: &mut Rpc, peer: u32) -> Result<String, String> {
    let mut req = buffer(MAX_PAYLOAD);
    let mut resp = buffer(MAX_PAYLOAD);
    for &s in &SIZES {
        fill(&mut req[..s], s as u64 + u64::from(peer));
        let n = rpc
            .call(peer, op::ECHO, &req[..s], &mut resp)
            .or_else(|e| fail(&format!("echo of {s} bytes"), e))?;
        if n != s
            || crc32fast::hash(&resp[..n]) != crc32fast::hash(&req[..s])
            || resp[..n] != req[..s]
        {
            return Err(format!(
                "echo of {s} bytes came back as {n} different bytes"
            ));
        }
    }
    fill(&mut req, 99);
    let n = rpc
        .call(peer, op::CHECKSUM, &req, &mut resp)
        .or_else(|e| fail("checksum", e))?;
    let crc = u32::from_le_bytes([resp[0], resp[1], resp[2], resp[3]]);
    if n != 4 || crc != crc32fast::hash(&req) {
        return Err(format!(
            "checksum of 64 KiB: server says {crc:#x}, expected {:#x}",
            crc32fast::hash(&req)
        ));
    }
    // Many outstanding: 24 calls in flight at once, each with its own payload.
    let mut bufs: Vec<Vec<u8>> = (0..24)
        .map(|i| {
            let mut b = buffer(64 + 997 * i);
            fill(&mut b, 1000 + i as u64);
            b
        })
        .collect();
    let mut tickets = Vec::new();
    for b in &bufs {
        tickets.push(
            rpc.call_async(peer, op::ECHO, b)
                .or_else(|e| fail("outstanding call", e))?,
        );
    }
    for (t, b) in tickets.into_iter().zip(bufs.iter_mut()) {
        let n = rpc
            .wait(t, &mut resp)
            .or_else(|e| fail("outstanding reply", e))?;
        if resp[..n] != b[..] {
            return Err(format!("outstanding echo of {} bytes garbled", b.len()));
        }
    }
    match rpc.call(peer, 200, b"x", &mut resp) {
        Err(RpcError::Remote(status::UNKNOWN_OPCODE)) => {}
        other => return fail("unknown opcode", other),
    }
    Ok(format!(
        "{} sizes 1..65536 echoed with checksums, 64 KiB checksum ok, 24 outstanding ok, unknown opcode refused",
        SIZES.len()
    ))
}
