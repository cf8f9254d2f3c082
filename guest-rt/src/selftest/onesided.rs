//! One-sided WRITE and READ into a peer's registered region, and protection: outside the
//! region, against its permissions, with a wrong key, and a raw store into a read-only window.
//! Each must fail and change no byte of the target, which the target then proves by checksum.

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use lego_rpc::Env;

use lego_proto::op::{self, TEST_REGIONS, TEST_SEED, test_pattern};
use virtio_rdma::abi::cqe::{Cqe, WcStatus};
use virtio_rdma::abi::mr::tags;
use virtio_rdma::abi::wr::{FLAG_SIGNALED, RawWr, Sge, WrOpcode};

use super::util::{buffer, fail, fill};
use crate::mm::virt_to_phys;
use crate::rdma::RemoteMrHandle;
use crate::rpc::Rpc;

fn wr(opcode: WrOpcode, local: &[u8], len: usize, remote: u64, rkey: u32) -> RawWr {
    let mut w = RawWr {
        opcode: opcode as u32,
        flags: FLAG_SIGNALED,
        wr_id: remote,
        num_sge: 1,
        remote_addr: remote,
        rkey,
        ..Default::default()
    };
    w.sge[0] = Sge {
        addr: virt_to_phys(local.as_ptr() as u64).unwrap_or(0),
        len: len as u32,
        _pad: 0,
    };
    w
}

fn region_crc(rpc: &mut Rpc, peer: u32, i: u32) -> Result<u32, String> {
    let mut out = [0u8; 4];
    rpc.call(peer, op::CHECKSUM_REGION, &i.to_le_bytes(), &mut out)
        .or_else(|e| fail("checksum region", e))?;
    Ok(u32::from_le_bytes(out))
}

/// How long a posted request may take to complete (the network model delays completions by
/// the modelled round trip: microseconds).
const COMPLETION_TIMEOUT_NS: u64 = 1_000_000_000;

/// Posts and returns the completion status: the status of the request's own completion, which
/// is waited for (with the network model on it becomes visible only when the modelled transfer
/// would have finished). `WrFlushError` if it never shows up.
fn run_wr(rpc: &mut Rpc, peer: u32, w: &RawWr, target: &RemoteMrHandle) -> WcStatus {
    let env = rpc.env();
    let Some(qp) = rpc.qp_mut(peer) else {
        return WcStatus::RemoteInvalidRequest;
    };
    if let Err(s) = qp.post_send(w, Some(target)) {
        // Its error completion is queued too: take it so the next request does not see it.
        let _ = qp.poll_local(&mut [Cqe::default(); 4]);
        return s;
    }
    let give_up = env.now_ns().saturating_add(COMPLETION_TIMEOUT_NS);
    let mut c = [Cqe::default(); 4];
    loop {
        let n = qp.poll_local(&mut c);
        if let Some(c) = c[..n].iter().find(|c| c.wr_id == w.wr_id) {
            return c.status();
        }
        if env.now_ns() > give_up {
            return WcStatus::WrFlushError;
        }
        env.relax();
    }
}

/// Runs the one-sided tests against `peer` (which must have `test_regions=1`).
pub fn run(rpc: &mut Rpc, peer: u32) -> Result<String, String> {
    let dev = rpc.env();
    let r0 = dev
        .lookup_wait(peer, tags::USER, 10_000_000_000)
        .or_else(|e| fail("lookup region 0", e))?;
    let r1 = dev
        .lookup_wait(peer, tags::USER + 1, 10_000_000_000)
        .or_else(|e| fail("lookup region 1", e))?;
    let seed0 = TEST_SEED + 77;
    rpc.call(
        peer,
        op::FILL_REGION,
        &[0u32.to_le_bytes(), seed0.to_le_bytes()].concat(),
        &mut [0u8; 4],
    )
    .or_else(|e| fail("fill region 0", e))?;
    let len0 = TEST_REGIONS[0].1 as usize;
    let mut expect0: Vec<u8> = (0..len0 as u64).map(|k| test_pattern(seed0, k)).collect();

    // WRITE 4 KiB at 8 KiB, READ it back, READ the untouched start.
    let mut out = buffer(4096);
    fill(&mut out, 5);
    let st = run_wr(
        rpc,
        peer,
        &wr(WrOpcode::Write, &out, 4096, r0.addr(8192), r0.mr.rkey),
        &r0,
    );
    if st != WcStatus::Success {
        return fail("4 KiB write", st);
    }
    expect0[8192..12288].copy_from_slice(&out);
    let back = buffer(4096);
    let st = run_wr(
        rpc,
        peer,
        &wr(WrOpcode::Read, &back, 4096, r0.addr(8192), r0.mr.rkey),
        &r0,
    );
    if st != WcStatus::Success || back != out {
        return fail("4 KiB read back", st);
    }
    let head = buffer(4096);
    let st = run_wr(
        rpc,
        peer,
        &wr(WrOpcode::Read, &head, 4096, r0.addr(0), r0.mr.rkey),
        &r0,
    );
    if st != WcStatus::Success || head[..] != expect0[..4096] {
        return fail("read of untouched bytes", st);
    }
    // A large write spanning most of the region.
    let mut big = buffer(512 << 10);
    fill(&mut big, 6);
    let st = run_wr(
        rpc,
        peer,
        &wr(
            WrOpcode::Write,
            &big,
            big.len(),
            r0.addr(256 << 10),
            r0.mr.rkey,
        ),
        &r0,
    );
    if st != WcStatus::Success {
        return fail("512 KiB write", st);
    }
    expect0[256 << 10..768 << 10].copy_from_slice(&big);

    // Protection: every one of these must be refused.
    let refused = |st: WcStatus| st == WcStatus::RemoteAccessError;
    let checks = [
        (
            "write past the end",
            run_wr(
                rpc,
                peer,
                &wr(
                    WrOpcode::Write,
                    &out,
                    4096,
                    r0.addr(len0 as u64 - 100),
                    r0.mr.rkey,
                ),
                &r0,
            ),
        ),
        (
            "write before the start",
            run_wr(
                rpc,
                peer,
                &wr(
                    WrOpcode::Write,
                    &out,
                    16,
                    r0.addr(0).wrapping_sub(4096),
                    r0.mr.rkey,
                ),
                &r0,
            ),
        ),
        (
            "write to a read-only region",
            run_wr(
                rpc,
                peer,
                &wr(WrOpcode::Write, &out, 16, r1.addr(0), r1.mr.rkey),
                &r1,
            ),
        ),
        (
            "write with a wrong key",
            run_wr(
                rpc,
                peer,
                &wr(WrOpcode::Write, &out, 16, r0.addr(0), r0.mr.rkey ^ 0x5a5a),
                &r0,
            ),
        ),
        (
            "write naming one region's key through another's handle",
            run_wr(
                rpc,
                peer,
                &wr(WrOpcode::Write, &out, 16, r0.addr(0), r0.mr.rkey),
                &r1,
            ),
        ),
        (
            "read past the end",
            run_wr(
                rpc,
                peer,
                &wr(
                    WrOpcode::Read,
                    &head,
                    4096,
                    r1.addr(TEST_REGIONS[1].1 - 8),
                    r1.mr.rkey,
                ),
                &r1,
            ),
        ),
    ];
    for (what, st) in checks {
        if !refused(st) {
            return Err(format!("{what} was not refused: {st:?}"));
        }
    }
    // A wild store straight into the read-only window, bypassing the driver and our own
    // read-only page-table entry (through a writable alias): the VMM mapped the region read-only
    // in KVM, so the store exits to the VMM and is dropped.
    let alias =
        crate::mm::map_io_alias(r1.mr.window_gpa, 4096).or_else(|e| fail("alias map", e))?;
    // SAFETY: deliberately writes into a window we may not write; the mapping is read-only at
    // the hypervisor, which drops the store (that is what is tested).
    unsafe {
        alias.write_volatile(0xee);
        alias.add(100).write_volatile(0xee);
    }

    let crc1 = region_crc(rpc, peer, 1)?;
    let want1: Vec<u8> = (0..TEST_REGIONS[1].1)
        .map(|k| test_pattern(TEST_SEED + 1, k))
        .collect();
    if crc1 != crc32fast::hash(&want1) {
        return Err(format!("read-only region changed: crc {crc1:#x}"));
    }
    let crc0 = region_crc(rpc, peer, 0)?;
    if crc0 != crc32fast::hash(&expect0) {
        return Err(format!(
            "writable region holds unexpected bytes: crc {crc0:#x}"
        ));
    }
    Ok(String::from(
        "write/read 4 KiB and 512 KiB ok; 6 protection violations refused and a raw store to a read-only window dropped; target bytes verified by checksum",
    ))
}
