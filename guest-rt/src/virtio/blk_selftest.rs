//! The block device's self-test, driven by the guest command line:
//!
//! - `blk_selftest=write`: writes the pattern of `lego_abi::virtio_blk::fill_pattern` (seeded
//!   with `blk_seed=N`, default 1) to blocks `0..blk_blocks` (default 256), flushes, reads it all
//!   back with single-block and multi-block reads, and checks it;
//! - `blk_selftest=verify`: only reads back and checks (an earlier boot wrote it).
//!
//! Prints `blk: N blocks (M MiB)`, then `blk selftest ok: ...` or `blk selftest FAILED: ...`,
//! and a `blk timing: ...` line on success.

extern crate alloc;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;

use lego_abi::boot::BootInfo;
use lego_abi::virtio_blk::fill_pattern;

use super::VirtioError;
use super::blk::{BLOCK, BlkDevice};
use crate::arch::rdtsc;
use crate::{println, time};

/// Blocks per multi-block read (256 KiB: one request each).
const MULTI_BLOCKS: u64 = 64;
/// Write+flush round trips measured.
const SYNC_WRITES: u64 = 16;
/// GET_ID requests timed for the floor of a request.
const FLOOR_ITERS: u64 = 16;

fn us(ticks: u64) -> u64 {
    time::ticks_to_ns(ticks) / 1000
}

/// MiB/s for `bytes` in `ticks`.
fn mib_s(bytes: u64, ticks: u64) -> u64 {
    let ns = time::ticks_to_ns(ticks).max(1);
    (u128::from(bytes) * 1_000_000_000 / u128::from(ns) / (1 << 20)) as u64
}

/// Runs the self-test the command line asks for (nothing without `blk_selftest=`).
pub fn selftest(dev: &mut BlkDevice, bi: &BootInfo) {
    let blocks = dev.block_count();
    let id = match dev.id() {
        Ok(id) => {
            let n = id.iter().position(|&b| b == 0).unwrap_or(id.len());
            String::from_utf8_lossy(&id[..n]).into_owned()
        }
        Err(e) => format!("unknown ({e})"),
    };
    println!(
        "blk: {} blocks ({} MiB), id {id}",
        blocks,
        (blocks * BLOCK as u64) >> 20
    );
    let Some(mode) = bi.cmdline_value("blk_selftest") else {
        return;
    };
    let seed = bi
        .cmdline_value("blk_seed")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1u64);
    let n = bi
        .cmdline_value("blk_blocks")
        .and_then(|v| v.parse().ok())
        .unwrap_or(256u64);
    let write = match mode {
        "write" => true,
        "verify" => false,
        other => {
            println!("blk selftest FAILED: unknown blk_selftest={other} (write or verify)");
            return;
        }
    };
    if n > blocks {
        // The driver refuses; check the device refuses too when the driver does not.
        let mut buf = block();
        let driver = dev.read(blocks, &mut buf);
        let device = dev.read_unchecked(blocks, &mut buf);
        println!(
            "blk selftest FAILED: {n} blocks asked for but the disk has {blocks} (driver: {}; device: {})",
            result_text(driver),
            result_text(device)
        );
        return;
    }
    match run(dev, write, seed, n) {
        Ok((summary, timing)) => {
            println!("blk selftest ok: {summary}");
            println!("blk timing: {timing}");
        }
        Err(msg) => println!("blk selftest FAILED: {msg}"),
    }
}

fn result_text(r: Result<(), VirtioError>) -> String {
    match r {
        Ok(()) => String::from("accepted"),
        Err(e) => format!("{e}"),
    }
}

/// A zeroed block on the heap (guest stacks are small).
fn block() -> Box<[u8; BLOCK]> {
    Box::new([0u8; BLOCK])
}

/// Compares block `b` read back with its pattern.
fn compare(seed: u64, b: u64, got: &[u8], want: &mut [u8]) -> Result<(), String> {
    fill_pattern(seed, b, want);
    match got.iter().zip(want.iter()).position(|(g, w)| g != w) {
        None => Ok(()),
        Some(i) => Err(format!(
            "block {b} differs at byte {i} (expected {:#04x}, read {:#04x})",
            want[i], got[i]
        )),
    }
}

fn run(dev: &mut BlkDevice, write: bool, seed: u64, n: u64) -> Result<(String, String), String> {
    let mut buf = block();
    let mut want = block();
    let mut timing = String::new();
    if write {
        let before = dev.stats();
        let t0 = rdtsc();
        let mut pattern_ticks = 0;
        for b in 0..n {
            let p0 = rdtsc();
            fill_pattern(seed, b, &mut buf[..]);
            pattern_ticks += rdtsc() - p0;
            dev.write(b, &buf)
                .map_err(|e| format!("write of block {b}: {e}"))?;
        }
        dev.flush().map_err(|e| format!("flush: {e}"))?;
        // Without the time spent computing the pattern.
        let t = (rdtsc() - t0).saturating_sub(pattern_ticks);
        let exits = dev.stats().notifies - before.notifies;
        timing += &format!(
            "write+flush {n} blocks {} us ({} MiB/s, {exits} exits); ",
            us(t),
            mib_s(n * BLOCK as u64, t)
        );
        // The same data again in an order nothing can be merged in (odd blocks downwards,
        // then even ones upwards): one request per block, as many per exit as the ring holds.
        let before = dev.stats();
        let t0 = rdtsc();
        let mut pattern_ticks = 0;
        let odd = (0..n / 2).map(|i| n / 2 * 2 - 1 - 2 * i);
        for b in odd.chain((0..n).step_by(2)) {
            let p0 = rdtsc();
            fill_pattern(seed, b, &mut buf[..]);
            pattern_ticks += rdtsc() - p0;
            dev.write(b, &buf)
                .map_err(|e| format!("write of block {b}: {e}"))?;
        }
        dev.flush().map_err(|e| format!("flush: {e}"))?;
        let t = (rdtsc() - t0).saturating_sub(pattern_ticks);
        let exits = dev.stats().notifies - before.notifies;
        if let Some(each) = us(t).checked_div(n) {
            timing += &format!("scattered 4 KiB writes {each} us each ({exits} exits); ");
        }
        // Synchronous 4 KiB writes: write, flush, one exit each (same data again).
        let k = SYNC_WRITES.min(n);
        let t0 = rdtsc();
        for b in 0..k {
            fill_pattern(seed, b, &mut buf[..]);
            dev.write(b, &buf)
                .map_err(|e| format!("write of block {b}: {e}"))?;
            dev.flush().map_err(|e| format!("flush: {e}"))?;
        }
        if let Some(each) = us(rdtsc() - t0).checked_div(k) {
            timing += &format!("4 KiB write+flush {each} us; ");
        }
    }
    // The floor of a request: GET_ID, one exit and no I/O.
    let t0 = rdtsc();
    for _ in 0..FLOOR_ITERS {
        dev.id().map_err(|e| format!("GET_ID: {e}"))?;
    }
    timing += &format!(
        "request floor (GET_ID) {} us; ",
        us(rdtsc() - t0) / FLOOR_ITERS
    );
    // Single-block reads.
    let mut read_ticks = 0u64;
    let mut worst = 0u64;
    for b in 0..n {
        let t0 = rdtsc();
        dev.read(b, &mut buf)
            .map_err(|e| format!("read of block {b}: {e}"))?;
        let t = rdtsc() - t0;
        read_ticks += t;
        worst = worst.max(t);
        compare(seed, b, &buf[..], &mut want[..])?;
    }
    if let Some(avg) = us(read_ticks).checked_div(n) {
        timing += &format!("4 KiB read {avg} us avg, {} us max; ", us(worst));
    }
    // Multi-block reads, one request each.
    let per = MULTI_BLOCKS.min(n.max(1));
    let mut big = vec![0u8; per as usize * BLOCK];
    let mut multi = 0u64;
    let mut multi_ticks = 0u64;
    let mut b = 0;
    while b < n {
        let count = per.min(n - b);
        let chunk = &mut big[..count as usize * BLOCK];
        let t0 = rdtsc();
        dev.read_many(b, chunk)
            .map_err(|e| format!("read of blocks {b}..{}: {e}", b + count))?;
        multi_ticks += rdtsc() - t0;
        multi += 1;
        for (i, got) in chunk.chunks(BLOCK).enumerate() {
            compare(seed, b + i as u64, got, &mut want[..])?;
        }
        b += count;
    }
    timing += &format!(
        "read_many {} KiB: {} MiB/s",
        per * BLOCK as u64 / 1024,
        mib_s(n * BLOCK as u64, multi_ticks)
    );
    let what = if write { "wrote" } else { "verified" };
    Ok((
        format!(
            "{what} {n} blocks (seed {seed}), read back with {n} single and {multi} multi-block reads"
        ),
        timing,
    ))
}
