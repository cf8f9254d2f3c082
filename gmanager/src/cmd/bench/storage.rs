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
use crate::files::client::FileOp;
use crate::stats::{Summary, summarize};
use lego_proto::fs::bench_page;

/// Targets from the storage issue: our IOPS over the host's.
const READ_TARGET: f64 = 0.5;
const WRITE_TARGET: f64 = 0.4;

#[derive(Debug, Serialize)]
struct Row {
    op: &'static str,
    /// Who issued the operations: `host` (the managers, through m0 to s0: the paper's shape,
    /// with our host in the pComponent's place) or `m0` (the mComponent itself: the same path
    /// without the client's hop).
    client: &'static str,
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
    /// wait (µs). With the operations issued `at_cache`, m0's serving time is the timed loop
    /// itself: there is no host hop, and m0's own work is what the loop spent outside calls.
    fn from_answer(v: &Value, mean_us: f64, disk_us: f64, at_cache: bool) -> Option<Breakdown> {
        let per_op = |k: &str| v.get(k).and_then(Value::as_f64);
        let us = |k: &str| per_op(k).map(|ns| ns / 1e3);
        let (m0, call, s0) = (
            us("cache_serve_ns")?,
            us("cache_call_ns")?,
            us("storage_serve_ns")?,
        );
        let m0 = if at_cache { mean_us } else { m0 };
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

impl Row {
    /// A row from our latencies, disk wait and breakdown, and the host's latencies.
    fn new(
        op: &'static str,
        client: &'static str,
        target: f64,
        (lego, disk_ns, breakdown): (Vec<u64>, u64, Option<Breakdown>),
        host: &[u64],
    ) -> Row {
        let (lk, hk) = (kiops(&lego), kiops(host));
        Row {
            op,
            client,
            ops: lego.len() as u32,
            lego_us: us(&lego),
            host_us: us(host),
            lego_kiops: lk,
            host_kiops: hk,
            disk_us_per_op: disk_ns as f64 / 1e3,
            floor_ratio: if disk_ns > 0 && hk > 0.0 {
                (1e6 / hk) / disk_ns as f64
            } else {
                0.0
            },
            ratio: if hk > 0.0 { lk / hk } else { 0.0 },
            target,
            breakdown,
        }
    }
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
    if a.ops == 0 || a.file_mib == 0 {
        eprintln!("error: --ops 0 or --file-mib 0 measures nothing");
        return Ok(exit::USAGE);
    }
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
    up_spec(&spec, Duration::from_secs(60), false)?;
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
        let mut at_m0 = Vec::new();
        for (op, write, random, target) in OPS {
            let timed = |at_cache| -> Result<(Vec<u64>, u64, Option<Breakdown>)> {
                file_op(&name, FileOp::DropCaches)?;
                let answer = file_op(
                    &name,
                    FileOp::Bench {
                        path: "/bench.bin".into(),
                        write,
                        random,
                        ops: a.ops,
                        seed: a.seed,
                        at_cache,
                    },
                )?;
                let (lat, disk_ns) = latencies(&answer)?;
                let b = Breakdown::from_answer(
                    &answer["breakdown"],
                    us(&lat).mean,
                    disk_ns as f64 / 1e3,
                    at_cache,
                );
                Ok((lat, disk_ns, b))
            };
            let lego = timed(false)?;
            let local = timed(true)?;
            let host = host_run(&host_file, pages, write, random, a.ops, a.seed)?;
            rows.push(Row::new(op, "host", target, lego, &host));
            at_m0.push(Row::new(op, "m0", target, local, &host));
        }
        rows.append(&mut at_m0);
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
    let (host, m0): (Vec<&Row>, Vec<&Row>) = rows.iter().partition(|r| r.client == "host");
    println!();
    print_rows(&host, true);
    print_breakdown(&host, "");
    if !m0.is_empty() {
        println!();
        println!(
            "the same operations issued by m0 itself, with the host idle (no client hop; the \
             paper's client is a pComponent one RDMA hop from m0), against the same host figures:"
        );
        print_rows(&m0, false);
        print_breakdown(&m0, " issued by m0");
    }
}

/// The figures of `rows`; `targets`: mark the ratios that miss the targets.
fn print_rows(rows: &[&Row], targets: bool) {
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
        if targets { "target" } else { "" }
    );
    for r in rows {
        let target = if !targets {
            String::new()
        } else if r.ratio >= r.target {
            format!("{:>6.1}", r.target)
        } else {
            format!("{:>6.1} MISSED", r.target)
        };
        println!(
            "{:<20} {:>7.1} us {:>7.1} us {:>9.2} {:>7.1} us {:>7.1} us {:>9.2} {:>7.1} us {:>7.2} \
             {:>7} {target}",
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
        );
    }
}

/// Where the time of `rows` went, if the components reported it.
fn print_breakdown(rows: &[&Row], what: &str) {
    if !rows.iter().any(|r| r.breakdown.is_some()) {
        return;
    }
    println!();
    println!(
        "where the lego time goes{what}, us per op (means; a hop includes the wake-up of whoever \
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
