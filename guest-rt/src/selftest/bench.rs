//! The RPC benchmark's guest side: round-trip latency (64 B and 4 KiB echo, 4 KiB one-sided
//! READ) and throughput with 1 and 4 requests outstanding. Reports JSON.

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use lego_rpc::Env;

use lego_proto::op;
use virtio_rdma::abi::cqe::{Cqe, WcStatus};
use virtio_rdma::abi::mr::tags;
use virtio_rdma::abi::wr::{FLAG_SIGNALED, RawWr, Sge, WrOpcode};

use super::util::{buffer, fail, fill, percentiles, since_ns};
use crate::arch::rdtsc;
use crate::mm::virt_to_phys;
use crate::rpc::Rpc;
use crate::time;

fn echo_latency(rpc: &mut Rpc, peer: u32, size: usize, iters: usize) -> Result<String, String> {
    let mut req = buffer(size);
    let mut resp = buffer(size.max(64));
    fill(&mut req, size as u64);
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t0 = rdtsc();
        rpc.call(peer, op::ECHO, &req, &mut resp)
            .or_else(|e| fail("echo", e))?;
        samples.push(rdtsc() - t0);
    }
    let (p50, p99) = percentiles(&mut samples);
    Ok(format!("{{\"p50_ns\":{p50},\"p99_ns\":{p99}}}"))
}

fn read_latency(rpc: &mut Rpc, peer: u32, iters: usize) -> Result<String, String> {
    let r0 = rpc
        .env()
        .lookup_wait(peer, tags::USER, 10_000_000_000)
        .or_else(|e| fail("lookup", e))?;
    let local = buffer(4096);
    let mut w = RawWr {
        opcode: WrOpcode::Read as u32,
        flags: FLAG_SIGNALED,
        num_sge: 1,
        remote_addr: r0.addr(0),
        rkey: r0.mr.rkey,
        ..Default::default()
    };
    w.sge[0] = Sge {
        addr: virt_to_phys(local.as_ptr() as u64).unwrap_or(0),
        len: 4096,
        _pad: 0,
    };
    let qp = rpc
        .qp_mut(peer)
        .ok_or_else(|| String::from("no queue pair"))?;
    let mut samples = Vec::with_capacity(iters);
    let mut c = [Cqe::default(); 4];
    for i in 0..iters {
        w.wr_id = i as u64;
        let t0 = rdtsc();
        qp.post_send(&w, Some(&r0)).or_else(|e| fail("read", e))?;
        let give_up = t0 + time::ns_to_ticks(1_000_000_000);
        loop {
            let n = qp.poll_local(&mut c);
            if let Some(x) = c[..n].iter().find(|x| x.wr_id == i as u64) {
                if x.status() != WcStatus::Success {
                    return fail("read completion", x.status());
                }
                break;
            }
            if rdtsc() > give_up {
                return fail("read completion", "none within 1 s");
            }
        }
        samples.push(rdtsc() - t0);
    }
    let (p50, p99) = percentiles(&mut samples);
    Ok(format!("{{\"p50_ns\":{p50},\"p99_ns\":{p99}}}"))
}

fn throughput(rpc: &mut Rpc, peer: u32, outstanding: usize, ms: u64) -> Result<String, String> {
    let bufs: Vec<Vec<u8>> = (0..outstanding)
        .map(|i| {
            let mut b = buffer(4096);
            fill(&mut b, i as u64);
            b
        })
        .collect();
    let mut resp = buffer(4096);
    let mut inflight = VecDeque::new();
    let t0 = rdtsc();
    let end = t0 + time::ns_to_ticks(ms * 1_000_000);
    let mut done = 0u64;
    let mut next = 0usize;
    while rdtsc() < end {
        while inflight.len() < outstanding {
            let t = rpc
                .call_async(peer, op::ECHO, &bufs[next % outstanding])
                .or_else(|e| fail("call", e))?;
            next += 1;
            inflight.push_back(t);
        }
        if let Some(t) = inflight.pop_front() {
            rpc.wait(t, &mut resp).or_else(|e| fail("reply", e))?;
            done += 1;
        }
    }
    while let Some(t) = inflight.pop_front() {
        rpc.wait(t, &mut resp).or_else(|e| fail("reply", e))?;
        done += 1;
    }
    let secs = since_ns(t0) as f64 / 1e9;
    let ops = done as f64 / secs;
    let mib = ops * 8192.0 / f64::from(1u32 << 20);
    Ok(format!(
        "{{\"ops_per_s\":{ops:.0},\"payload_mib_per_s\":{mib:.1}}}"
    ))
}

/// Runs the benchmark against `peer` (which must have `test_regions=1`).
pub fn run(rpc: &mut Rpc, peer: u32, iters: usize) -> Result<String, String> {
    if iters == 0 {
        // Percentiles of nothing would read as 0 ns.
        return Err(String::from("iters=0: nothing to measure"));
    }
    echo_latency(rpc, peer, 64, 1000)?;
    let rtt64 = echo_latency(rpc, peer, 64, iters)?;
    let rtt4k = echo_latency(rpc, peer, 4096, iters)?;
    let read4k = read_latency(rpc, peer, iters)?;
    let thr1 = throughput(rpc, peer, 1, 500)?;
    let thr4 = throughput(rpc, peer, 4, 500)?;
    let dev = rpc.env();
    Ok(format!(
        "{{\"mode\":\"{}\",\"iters\":{iters},\"net_latency_ns\":{},\"net_bandwidth_mbps\":{},\"rtt64\":{rtt64},\"rtt4k\":{rtt4k},\"read4k\":{read4k},\"thr1\":{thr1},\"thr4\":{thr4},\"sleeps\":{}}}",
        dev.poll_mode().name(),
        dev.model().latency_ns,
        dev.model().bandwidth_mbps,
        rpc.stats().sleeps
    ))
}
