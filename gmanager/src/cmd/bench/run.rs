//! `lego bench run`: a CPU-bound program with no misses on a pComponent against the same
//! binary run natively, each timing its own loop.

use serde_json::json;

use super::programs::{BenchCluster, SPIN, build, lego};
use crate::cli::BenchRunArgs;
use crate::exit;

/// Target: the pComponent at least this fast relative to native.
const TARGET: f64 = 0.97;

fn loop_ns(out: &str) -> anyhow::Result<f64> {
    out.split_whitespace()
        .nth(1)
        .and_then(|x| x.parse::<f64>().ok())
        .ok_or_else(|| anyhow::anyhow!("the spin program printed nothing usable: {out}"))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `lego bench run`.
pub fn run(a: &BenchRunArgs) -> anyhow::Result<u8> {
    if a.runs == 0 || a.iters == 0 {
        eprintln!("error: --runs 0 or --iters 0 measures nothing");
        return Ok(exit::USAGE);
    }
    let tmp = tempfile::tempdir()?;
    let prog = build(tmp.path(), SPIN)?.display().to_string();
    let iters = a.iters.to_string();
    let c = BenchCluster::up(format!("bench-run-{}", std::process::id()), &[])?;
    let (mut native, mut ours) = (Vec::new(), Vec::new());
    // Alternating, so both see the same host.
    for _ in 0..a.runs {
        let o = std::process::Command::new(&prog).arg(&iters).output()?;
        native.push(loop_ns(&String::from_utf8_lossy(&o.stdout))?);
        ours.push(loop_ns(&lego(&["run", "--name", &c.name, &prog, &iters])?)?);
    }
    let (n, o) = (median(&mut native), median(&mut ours));
    let ratio = n / o;
    let ok = ratio >= TARGET;
    if a.json {
        let v = json!({
            "iters": a.iters,
            "runs": a.runs,
            "native_ms": native.iter().map(|x| x / 1e6).collect::<Vec<_>>(),
            "pcomponent_ms": ours.iter().map(|x| x / 1e6).collect::<Vec<_>>(),
            "ratio": ratio,
            "target": TARGET,
            "target_met": ok,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "CPU-bound loop ({} steps, median of {}): native {:.1} ms, pComponent {:.1} ms: {:.3}x (target {TARGET}x: {})",
            a.iters,
            a.runs,
            n / 1e6,
            o / 1e6,
            ratio,
            if ok { "ok" } else { "missed" }
        );
    }
    Ok(exit::OK)
}
