//! The standard request handlers every monitor serves.

use lego_proto::op;
use lego_proto::rpc::status;

extern crate alloc;

use virtio_rdma::abi::wr::{RawWr, Sge, WrOpcode};

use super::regions;
use crate::arch::{pause, rdtsc};
use crate::rpc::{HandlerCtx, Rpc};
use crate::time;

fn echo(_: &mut HandlerCtx<'_>, req: &[u8], reply: &mut [u8]) -> Result<usize, u32> {
    reply[..req.len()].copy_from_slice(req);
    Ok(req.len())
}

fn checksum(_: &mut HandlerCtx<'_>, req: &[u8], reply: &mut [u8]) -> Result<usize, u32> {
    reply[..4].copy_from_slice(&crc32fast::hash(req).to_le_bytes());
    Ok(4)
}

fn arg(req: &[u8], i: usize) -> Result<u32, u32> {
    req.get(4 * i..4 * i + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(status::BAD_REQUEST)
}

fn checksum_region(_: &mut HandlerCtx<'_>, req: &[u8], reply: &mut [u8]) -> Result<usize, u32> {
    let crc = regions::checksum(arg(req, 0)?).ok_or(status::BAD_REQUEST)?;
    reply[..4].copy_from_slice(&crc.to_le_bytes());
    Ok(4)
}

fn fill_region(_: &mut HandlerCtx<'_>, req: &[u8], _: &mut [u8]) -> Result<usize, u32> {
    regions::fill(arg(req, 0)?, arg(req, 1)?).ok_or(status::BAD_REQUEST)?;
    Ok(0)
}

fn send_back(ctx: &mut HandlerCtx<'_>, req: &[u8], _: &mut [u8]) -> Result<usize, u32> {
    let (len, seed, imm) = (arg(req, 0)? as usize, arg(req, 1)?, arg(req, 2)?);
    if len > lego_proto::rpc::MAX_PAYLOAD {
        return Err(status::BAD_REQUEST);
    }
    let mut data = alloc::vec![0u8; len.max(1)];
    for (k, b) in data.iter_mut().enumerate() {
        *b = op::test_pattern(seed, k as u64);
    }
    let mut wr = RawWr {
        opcode: if imm != 0 {
            WrOpcode::SendImm
        } else {
            WrOpcode::Send
        } as u32,
        imm,
        num_sge: 1,
        ..Default::default()
    };
    let pa = crate::mm::virt_to_phys(data.as_ptr() as u64).ok_or(status::FAILED)?;
    wr.sge[0] = Sge {
        addr: pa,
        len: len as u32,
        _pad: 0,
    };
    ctx.qp.post_send(&wr, None).map_err(|_| status::FAILED)?;
    Ok(0)
}

fn stall(_: &mut HandlerCtx<'_>, req: &[u8], _: &mut [u8]) -> Result<usize, u32> {
    let ms = arg(req, 0)?.min(10_000);
    let until = rdtsc() + time::ns_to_ticks(u64::from(ms) * 1_000_000);
    while rdtsc() < until {
        pause();
    }
    Ok(0)
}

/// Installs them.
pub fn install(rpc: &mut Rpc) {
    rpc.handle(op::ECHO, echo);
    rpc.handle(op::CHECKSUM, checksum);
    rpc.handle(op::CHECKSUM_REGION, checksum_region);
    rpc.handle(op::FILL_REGION, fill_region);
    rpc.handle(op::STALL, stall);
    rpc.handle(op::SEND_BACK, send_back);
}
