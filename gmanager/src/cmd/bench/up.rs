//! `lego bench up`: time from `lego up` to all-ready, and host memory per component, for a
//! 1P2M1S cluster and a 16-component one, next to the host's floor: as many empty VMs
//! started at once, each from process spawn to its first exit.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::cli::BenchUpArgs;
use crate::cluster::daemon::kvm_device;
use crate::cluster::paths::StateDir;
use crate::cluster::spec::{self, ClusterSpec, Overrides};
use crate::cluster::status::ClusterStatus;
use crate::cmd::cluster::{stop, up_spec};
use crate::stats::{Summary, summarize};
use crate::{exit, procfs};

/// Targets from the cluster-manager issue: p50 time to all-ready, ms.
const TARGET_SMALL_MS: f64 = 300.0;
const TARGET_LARGE_MS: f64 = 1500.0;

#[derive(Debug, Serialize)]
struct ShapeResult {
    /// `1P2M1S`, `4P8M4S`.
    shape: String,
    components: usize,
    runs: usize,
    /// `lego up` to every component ready, ms.
    ready_ms: Summary,
    /// The same number of empty VMs started at once, spawn to the last first exit, ms.
    floor_ms: Summary,
    ready_over_floor: f64,
    /// Resident memory per component's VMM process, MiB (guest memory touched included).
    rss_per_component_mib: Summary,
    /// Of that, what is not guest memory: the VMM's own cost, MiB.
    overhead_per_component_mib: Summary,
    /// The cluster manager's resident memory, MiB.
    manager_rss_mib: Summary,
    target_ready_p50_ms: f64,
}

struct Sample {
    ready_ms: f64,
    rss: Vec<procfs::Rss>,
    manager: procfs::Rss,
}

fn mib(b: u64) -> f64 {
    b as f64 / f64::from(1 << 20)
}

fn shape_spec(counts: [u32; 3], name: &str) -> Result<ClusterSpec> {
    let o = Overrides {
        counts: counts.map(Some),
        name: Some(name.to_string()),
        ..Overrides::default()
    };
    spec::resolve(None, &o, spec::host_memory()).map_err(anyhow::Error::msg)
}

fn up_once(spec: &ClusterSpec, timeout: Duration) -> Result<Sample> {
    let t = Instant::now();
    let v = up_spec(spec, timeout, false)?;
    let ready_ms = t.elapsed().as_secs_f64() * 1e3;
    let sample = (|| {
        let s: ClusterStatus =
            serde_json::from_value(v).context("garbled status from the manager")?;
        if let Some(c) = s.components.iter().find(|c| c.state != "ready") {
            bail!("{} is {} after `lego up` returned", c.name, c.state);
        }
        let rss = s
            .components
            .iter()
            .filter_map(|c| c.pid.and_then(procfs::rss))
            .collect::<Vec<_>>();
        if rss.len() != s.components.len() {
            bail!("could not read the memory of every component's VMM");
        }
        let manager = procfs::rss(s.manager_pid).context("could not read the manager's memory")?;
        Ok(Sample {
            ready_ms,
            rss,
            manager,
        })
    })();
    stop(&spec.name).with_context(|| format!("stopping the bench cluster {}", spec.name))?;
    // The bench's clusters leave no disk images behind.
    let state = StateDir::of(&spec.name);
    if state.root.exists() {
        std::fs::remove_dir_all(&state.root)
            .with_context(|| format!("removing {}", state.root.display()))?;
    }
    sample
}

/// `n` empty VMs started at once: spawn of the first to the exit of the last.
fn floor_once(n: usize, kvm_device: &std::path::Path) -> Result<f64> {
    let exe = std::env::current_exe().context("cannot find the lego executable")?;
    let t = Instant::now();
    let children = (0..n)
        .map(|_| {
            Command::new(&exe)
                .args(["vmm", "--floor", "--kvm-device"])
                .arg(kvm_device)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .context("starting a floor VM")
        })
        .collect::<Result<Vec<Child>>>()?;
    for c in children {
        let out = c.wait_with_output().context("waiting for a floor VM")?;
        if !out.status.success() {
            bail!(
                "the floor VM failed: {}",
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
    }
    Ok(t.elapsed().as_secs_f64() * 1e3)
}

fn measure(counts: [u32; 3], a: &BenchUpArgs, target: f64) -> Result<ShapeResult> {
    let shape = format!("{}P{}M{}S", counts[0], counts[1], counts[2]);
    let name = format!("bench-up-{}", std::process::id());
    let spec = shape_spec(counts, &name)?;
    let n = spec.components.len();
    let runs = a.runs.max(1);
    let timeout = Duration::from_secs(a.timeout);
    let mut samples = Vec::with_capacity(runs);
    let mut floor = Vec::with_capacity(runs);
    for _ in 0..runs {
        floor.push(floor_once(n, &kvm_device())?);
        samples.push(up_once(&spec, timeout)?);
    }
    let ready = summarize(&samples.iter().map(|s| s.ready_ms).collect::<Vec<_>>());
    let floor = summarize(&floor);
    let per = |f: fn(&procfs::Rss) -> u64| {
        summarize(
            &samples
                .iter()
                .flat_map(|s| s.rss.iter().map(move |r| mib(f(r))))
                .collect::<Vec<_>>(),
        )
    };
    Ok(ShapeResult {
        shape,
        components: n,
        runs,
        ready_ms: ready,
        floor_ms: floor,
        ready_over_floor: ready.p50 / floor.p50,
        rss_per_component_mib: per(|r| r.total),
        overhead_per_component_mib: per(procfs::Rss::overhead),
        manager_rss_mib: summarize(
            &samples
                .iter()
                .map(|s| mib(s.manager.total))
                .collect::<Vec<_>>(),
        ),
        target_ready_p50_ms: target,
    })
}

/// Runs `lego bench up`.
pub fn run(a: &BenchUpArgs) -> Result<u8> {
    if a.runs == 0 {
        eprintln!("error: --runs 0 measures nothing: give at least 1 run");
        return Ok(exit::USAGE);
    }
    let mut results = vec![measure([1, 2, 1], a, TARGET_SMALL_MS)?];
    if !a.small_only {
        results.push(measure([4, 8, 4], a, TARGET_LARGE_MS)?);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print_table(&results);
    }
    Ok(exit::OK)
}

fn print_table(rs: &[ShapeResult]) {
    println!(
        "{:<7} {:>5} {:>5} {:>10} {:>10} {:>11} {:>8} {:>12} {:>12} {:>11}",
        "cluster",
        "comps",
        "runs",
        "ready p50",
        "ready p99",
        "floor p50",
        "x floor",
        "RSS/comp p50",
        "ovh/comp p50",
        "manager p50"
    );
    for r in rs {
        println!(
            "{:<7} {:>5} {:>5} {:>7.1} ms {:>7.1} ms {:>8.1} ms {:>8.1} {:>8.2} MiB {:>8.2} MiB {:>7.2} MiB",
            r.shape,
            r.components,
            r.runs,
            r.ready_ms.p50,
            r.ready_ms.p99,
            r.floor_ms.p50,
            r.ready_over_floor,
            r.rss_per_component_mib.p50,
            r.overhead_per_component_mib.p50,
            r.manager_rss_mib.p50
        );
    }
    println!();
    println!(
        "floor: as many empty VMs started at once, spawn to the last one's first exit. RSS/comp: \
         a component's VMM process, guest memory touched included; ovh/comp: without it."
    );
    for r in rs {
        println!(
            "{}: all ready p50 {:.1} ms vs target {} ms: {}",
            r.shape,
            r.ready_ms.p50,
            r.target_ready_p50_ms,
            if r.ready_ms.p50 < r.target_ready_p50_ms {
                "ok"
            } else {
                "MISSED"
            }
        );
    }
}
