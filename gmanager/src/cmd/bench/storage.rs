//! `lego bench storage`: the shape of the paper's Figure 9. 4 KiB reads (sequential and random)
//! through an mComponent's buffer cache that starts empty, and 4 KiB writes each followed by an
//! fsync, against the same operations on a host file in the same run: reads with O_DIRECT,
//! writes with fdatasync. The sComponent's disk is opened with O_DIRECT too, so both sides
//! reach the host's device.

use std::alloc::Layout;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;

use crate::cli::BenchStorageArgs;
use crate::cluster::paths::{ClusterDir, StateDir};
use crate::cluster::protocol::{Request, request};
use crate::cluster::spec::{self, Overrides};
use crate::cmd::cluster::{stop, up_spec};
use crate::exit;
use crate::files::client::{FileOp, bench_page};
use crate::stats::{Summary, summarize};

/// Targets from the storage issue: our IOPS over the host's.
const READ_TARGET: f64 = 0.5;
const WRITE_TARGET: f64 = 0.4;

#[derive(Debug, Serialize)]
struct Row {
    op: &'static str,
    ops: u32,
    /// Ours, µs per operation.
    lego_us: Summary,
    /// The host file, µs per operation.
    host_us: Summary,
    lego_kiops: f64,
    host_kiops: f64,
    /// The sComponent's wait for its virtual disk (VM exits and the host's I/O), µs per
    /// operation (mean): the floor under our figure, where an exit dominates.
    disk_us_per_op: f64,
    /// The host's mean over `disk_us_per_op`: the ratio we would reach if everything above
    /// the sComponent's disk were free (0 when nothing reached the disk).
    floor_ratio: f64,
    /// lego IOPS / host IOPS.
    ratio: f64,
    target: f64,
    /// Where our time went (absent if the components' reports did not come).
    breakdown: Option<Breakdown>,
}

/// Where an operation's time went, µs per operation (means), from the components' own
/// counters: each hop includes the wake-up of whoever was asleep at its end.
#[derive(Debug, Serialize, Clone, Copy)]
struct Breakdown {
    /// Host to the mComponent and back: the fabric, the manager's and m0's wake-ups.
    host_m0_us: f64,
    /// The mComponent's own work (cache lookups, copies).
    m0_us: f64,
    /// mComponent to sComponent and back, with s0's and m0's wake-ups.
    m0_s0_us: f64,
    /// The sComponent's own work (the filesystem, checksums).
    s0_us: f64,
    /// The sComponent's wait for its disk (`disk_us_per_op`).
    disk_us: f64,
    /// Times m0 and s0 went to sleep, per operation.
    m0_sleeps: f64,
    s0_sleeps: f64,
}

impl Breakdown {
    /// From a bench answer's `breakdown` (ns and sleeps per op), our mean (µs) and the disk
    /// wait (µs).
    fn from_answer(v: &Value, mean_us: f64, disk_us: f64) -> Option<Breakdown> {
        let per_op = |k: &str| v.get(k).and_then(Value::as_f64);
        let us = |k: &str| per_op(k).map(|ns| ns / 1e3);
        let (m0, call, s0) = (
            us("cache_serve_ns")?,
            us("cache_call_ns")?,
            us("storage_serve_ns")?,
        );
        Some(Breakdown {
            host_m0_us: mean_us - m0,
            m0_us: m0 - call,
            m0_s0_us: call - s0,
            s0_us: s0 - disk_us,
            disk_us,
            m0_sleeps: per_op("cache_sleeps")?,
            s0_sleeps: per_op("storage_sleeps")?,
        })
    }
}

const OPS: [(&str, bool, bool, f64); 4] = [
    ("seq read 4K", false, false, READ_TARGET),
    ("rand read 4K", false, true, READ_TARGET),
    ("seq write+fsync 4K", true, false, WRITE_TARGET),
    ("rand write+fsync 4K", true, true, WRITE_TARGET),
];

fn us(ns: &[u64]) -> Summary {
    summarize(&ns.iter().map(|&n| n as f64 / 1e3).collect::<Vec<_>>())
}

fn kiops(ns: &[u64]) -> f64 {
    let total: u64 = ns.iter().sum();
    if total == 0 {
        0.0
    } else {
        ns.len() as f64 / (total as f64 / 1e9) / 1e3
    }
}

/// A 4 KiB-aligned buffer, as O_DIRECT requires.
struct Aligned {
    ptr: *mut u8,
    layout: Layout,
}

impl Aligned {
    fn new(len: usize) -> Result<Aligned> {
        let layout = Layout::from_size_align(len, 4096).context("buffer layout")?;
        // SAFETY: a non-zero size (callers pass 4096).
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            bail!("out of memory");
        }
        Ok(Aligned { ptr, layout })
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is our allocation of `layout.size()` bytes.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.layout.size()) }
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) };
    }
}

/// The host side: the same operations on a file of `pages` pages at `path`.
fn host_run(
    path: &Path,
    pages: u64,
    write: bool,
    random: bool,
    ops: u32,
    seed: u64,
) -> Result<Vec<u64>> {
    let mut buf = Aligned::new(4096)?;
    let mut lat = Vec::with_capacity(ops as usize);
    if write {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        buf.bytes().fill(0x5a);
        for i in 0..u64::from(ops) {
            let off = bench_page(i, pages, random, seed) * 4096;
            let t = Instant::now();
            f.write_all_at(buf.bytes(), off).context("host write")?;
            f.sync_data().context("host fdatasync")?;
            lat.push(t.elapsed().as_nanos() as u64);
        }
    } else {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
            .with_context(|| format!("opening {} with O_DIRECT", path.display()))?;
        for i in 0..u64::from(ops) {
            let off = bench_page(i, pages, random, seed) * 4096;
            let t = Instant::now();
            f.read_exact_at(buf.bytes(), off)
                .context("host O_DIRECT read")?;
            lat.push(t.elapsed().as_nanos() as u64);
        }
    }
    Ok(lat)
}

fn file_op(name: &str, op: FileOp) -> Result<Value> {
    let req = Request::File {
        vnode: "bench".into(),
        op,
    };
    request(&ClusterDir::of(name), name, &req, Duration::from_secs(600))
}

/// Each operation's latency, and the sComponent's disk wait per operation (ns).
fn latencies(v: &Value) -> Result<(Vec<u64>, u64)> {
    let lat = serde_json::from_value(v["latency_ns"].clone()).context("garbled bench answer")?;
    let disk = v["disk_ns_per_op"]
        .as_u64()
        .context("garbled bench answer")?;
    Ok((lat, disk))
}

/// Runs `lego bench storage`.
pub fn run(a: &BenchStorageArgs) -> Result<u8> {
    let name = format!("bench-storage-{}", std::process::id());
    let file_bytes = a.file_mib.max(1) << 20;
    let pages = file_bytes / 4096;
    let o = Overrides {
        counts: [Some(1), Some(1), Some(1)],
        name: Some(name.clone()),
        disk_direct: Some(!a.buffered),
        disk: Some((file_bytes * 4).max(256 << 20)),
        spin_us: a.spin_us,
        poll: a
            .poll
            .map(|p| virtio_rdma::abi::PollMode::from(p).name().to_string()),
        ..Overrides::default()
    };
    let spec = spec::resolve(None, &o, spec::host_memory()).map_err(anyhow::Error::msg)?;
    // The disk image written out in full, as the host's file is: a sparse image would make
    // every first write to a block allocate in the host's file system, which the host side
    // never pays.
    let state = StateDir::of(&name);
    std::fs::create_dir_all(&state.root)
        .with_context(|| format!("creating {}", state.root.display()))?;
    for c in spec.components.iter().filter(|c| c.disk_bytes > 0) {
        let f = std::fs::File::create(state.disk(&c.name)).context("creating the bench disk")?;
        let zeros = vec![0u8; 1 << 20];
        for i in 0..c.disk_bytes >> 20 {
            f.write_all_at(&zeros, i << 20)
                .context("writing the bench disk")?;
        }
        f.sync_all().context("syncing the bench disk")?;
    }
    up_spec(&spec, Duration::from_secs(60))?;
    let result = (|| -> Result<Vec<Row>> {
        let dir = ClusterDir::of(&name);
        request(
            &dir,
            &name,
            &Request::VnodeCreate {
                name: Some("bench".into()),
                storage: None,
            },
            Duration::from_secs(10),
        )?;
        // The test file, on both sides, with the same bytes.
        let host_file = state.root.join("host-baseline.bin");
        let data: Vec<u8> = (0..file_bytes).map(|i| (i * 131 % 251) as u8).collect();
        std::fs::write(&host_file, &data).context("writing the host baseline file")?;
        std::fs::File::open(&host_file)
            .and_then(|f| f.sync_all())
            .context("syncing the host baseline file")?;
        file_op(
            &name,
            FileOp::Put {
                local: host_file.clone(),
                path: "/bench.bin".into(),
                parents: false,
                no_fsync: false,
            },
        )?;
        let mut rows = Vec::new();
        for (op, write, random, target) in OPS {
            file_op(&name, FileOp::DropCaches)?;
            let answer = file_op(
                &name,
                FileOp::Bench {
                    path: "/bench.bin".into(),
                    write,
                    random,
                    ops: a.ops,
                    seed: a.seed,
                },
            )?;
            let (lego, disk_ns) = latencies(&answer)?;
            let host = host_run(&host_file, pages, write, random, a.ops, a.seed)?;
            let (lk, hk) = (kiops(&lego), kiops(&host));
            let lego_us = us(&lego);
            let disk_us = disk_ns as f64 / 1e3;
            rows.push(Row {
                breakdown: Breakdown::from_answer(&answer["breakdown"], lego_us.mean, disk_us),
                op,
                ops: a.ops,
                lego_us,
                host_us: us(&host),
                lego_kiops: lk,
                host_kiops: hk,
                disk_us_per_op: disk_us,
                floor_ratio: if disk_ns > 0 && hk > 0.0 {
                    (1e6 / hk) / disk_ns as f64
                } else {
                    0.0
                },
                ratio: if hk > 0.0 { lk / hk } else { 0.0 },
                target,
            });
        }
        Ok(rows)
    })();
    stop(&name).with_context(|| format!("stopping the bench cluster {name}"))?;
    let state = StateDir::of(&name);
    if state.root.exists() {
        std::fs::remove_dir_all(&state.root)
            .with_context(|| format!("removing {}", state.root.display()))?;
    }
    let rows = result?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table(&rows, a);
    }
    Ok(exit::OK)
}

fn print_table(rows: &[Row], a: &BenchStorageArgs) {
    println!(
        "{} ops each on a {} MiB file; lego: host -> mComponent buffer cache (emptied first) -> \
         sComponent -> virtio-blk{}; host: the same file, reads O_DIRECT, writes pwrite+fdatasync",
        a.ops,
        a.file_mib,
        if a.buffered { "" } else { " (O_DIRECT)" }
    );
    println!(
        "s0 disk: the sComponent's wait for its virtual disk per operation (mean): one VM exit \
         plus the host's I/O, the floor under the lego figures; floor: the ratio if everything \
         above that disk were free"
    );
    println!();
    println!(
        "{:<20} {:>10} {:>10} {:>9} {:>10} {:>10} {:>9} {:>10} {:>7} {:>7} {:>7}",
        "op",
        "lego p50",
        "lego p99",
        "lego KIOPS",
        "host p50",
        "host p99",
        "host KIOPS",
        "s0 disk",
        "ratio",
        "floor",
        "target"
    );
    for r in rows {
        println!(
            "{:<20} {:>7.1} us {:>7.1} us {:>9.2} {:>7.1} us {:>7.1} us {:>9.2} {:>7.1} us {:>7.2} \
             {:>7} {:>6.1}{}",
            r.op,
            r.lego_us.p50,
            r.lego_us.p99,
            r.lego_kiops,
            r.host_us.p50,
            r.host_us.p99,
            r.host_kiops,
            r.disk_us_per_op,
            r.ratio,
            if r.floor_ratio > 0.0 && r.floor_ratio < 100.0 {
                format!("{:.2}", r.floor_ratio)
            } else {
                "-".to_string()
            },
            r.target,
            if r.ratio >= r.target { "" } else { " MISSED" }
        );
    }
    if rows.iter().any(|r| r.breakdown.is_some()) {
        println!();
        println!(
            "where the lego time goes, us per op (means; a hop includes the wake-up of whoever \
             slept at its end):"
        );
        println!(
            "{:<20} {:>8} {:>9} {:>7} {:>9} {:>7} {:>8} {:>10} {:>10}",
            "op", "mean", "host<>m0", "m0", "m0<>s0", "s0", "s0 disk", "m0 sleeps", "s0 sleeps"
        );
        for r in rows {
            if let Some(b) = r.breakdown {
                println!(
                    "{:<20} {:>8.1} {:>9.1} {:>7.1} {:>9.1} {:>7.1} {:>8.1} {:>10.2} {:>10.2}",
                    r.op,
                    r.lego_us.mean,
                    b.host_m0_us,
                    b.m0_us,
                    b.m0_s0_us,
                    b.s0_us,
                    b.disk_us,
                    b.m0_sleeps,
                    b.s0_sleeps
                );
            }
        }
    }
}
