//! `lego bench miss`: the cost of an ExCache miss (the paper's Figure 8), measured by a program
//! timing its own first touches of pages, next to the pComponent's trap floor and the host's
//! own page fault, with isolation on (the default) and off.

use serde_json::{Value, json};

use super::programs::{BenchCluster, MISSBENCH, build, lego};
use crate::cli::BenchMissArgs;
use crate::exit;

/// Target: a read miss within this much of the trap floor (p50).
const TARGET_OVER_FLOOR_NS: f64 = 3000.0;

/// One measured row: p50, p99, mean (ns).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Figure {
    pub(super) p50: f64,
    pub(super) p99: f64,
    pub(super) mean: f64,
}

/// The last result line of the miss program's output.
pub(super) fn parse(out: &str) -> anyhow::Result<Figure> {
    let line = out
        .lines()
        .rev()
        .find(|l| l.split_whitespace().count() >= 5)
        .ok_or_else(|| anyhow::anyhow!("the benchmark program printed nothing usable: {out}"))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(2)
        .take(3)
        .map(|x| x.parse().unwrap_or(f64::NAN))
        .collect();
    Ok(Figure {
        p50: f[0],
        p99: f[1],
        mean: f[2],
    })
}

/// Runs `lego bench miss`.
pub fn run(a: &BenchMissArgs) -> anyhow::Result<u8> {
    if a.pages == 0 {
        eprintln!("error: --pages 0 measures nothing");
        return Ok(exit::USAGE);
    }
    let tmp = tempfile::tempdir()?;
    let prog = build(tmp.path(), MISSBENCH)?;
    let prog = prog.display().to_string();
    let n = a.pages.to_string();
    let big = (a.pages * 4).to_string();
    let native = |mode: &str| -> anyhow::Result<Figure> {
        let o = std::process::Command::new(&prog)
            .args([mode, &n])
            .output()?;
        parse(&String::from_utf8_lossy(&o.stdout))
    };
    let host_fault = native("plocal")?;
    let host_syscall = native("syscall")?;
    let rows: [(&str, &str, Vec<&str>); 7] = [
        (
            "trap floor (#PF maps a present frame)",
            "floor",
            vec!["--trap-floor", &prog, "plocal", &n],
        ),
        (
            "p-local fill (first touch, zeroed here)",
            "plocal",
            vec!["--fault-around", "1", &prog, "plocal", &n],
        ),
        (
            "p-local fill, 8 pages per trap (default)",
            "plocal_around",
            vec![&prog, "plocal", &n],
        ),
        (
            "read miss, fetched from M",
            "read",
            vec!["--excache", "2M", &prog, "read", &big],
        ),
        (
            "write miss, dirty victim piggybacked",
            "dirty",
            vec!["--excache", "2M", &prog, "dirty", &big],
        ),
        (
            "write miss, dirty victim flushed apart",
            "dirty_apart",
            vec!["--excache", "2M", "--no-piggyback", &prog, "dirty", &big],
        ),
        ("syscall (getppid)", "syscall", vec![&prog, "syscall", &n]),
    ];
    let mut results: Vec<(bool, Vec<Figure>)> = Vec::new();
    for isolated in [true, false] {
        let name = format!(
            "bench-miss-{}-{}",
            std::process::id(),
            if isolated { "iso" } else { "noiso" }
        );
        let extra: &[&str] = if isolated { &[] } else { &["--no-isolation"] };
        let c = BenchCluster::up(name, extra)?;
        let mut figs = Vec::new();
        for (_, _, args) in &rows {
            let mut v = vec!["run", "--name", c.name.as_str()];
            v.extend(args.iter().copied());
            figs.push(parse(&lego(&v)?)?);
        }
        results.push((isolated, figs));
    }
    let us = |x: f64| x / 1000.0;
    let floor = |i: usize| results[i].1[0].p50;
    let mut json_rows = Vec::new();
    if !a.json {
        println!(
            "{:<42} {:>19} {:>19} {:>12}",
            "operation (per page, us)", "isolated p50/p99", "not isolated", "over floor"
        );
    }
    for (r, (label, key, _)) in rows.iter().enumerate() {
        let iso = results[0].1[r];
        let non = results[1].1[r];
        json_rows.push(json!({
            "op": key,
            "isolated": {"p50_ns": iso.p50, "p99_ns": iso.p99, "mean_ns": iso.mean},
            "not_isolated": {"p50_ns": non.p50, "p99_ns": non.p99, "mean_ns": non.mean},
            "over_floor_ns": {"isolated": iso.p50 - floor(0), "not_isolated": non.p50 - floor(1)},
        }));
        if !a.json {
            let over = if r == 0 || *key == "syscall" {
                String::from("-")
            } else {
                format!(
                    "{:+.1} / {:+.1}",
                    us(iso.p50 - floor(0)),
                    us(non.p50 - floor(1))
                )
            };
            println!(
                "{:<42} {:>8.1} / {:>8.1} {:>8.1} / {:>8.1} {:>12}",
                label,
                us(iso.p50),
                us(iso.p99),
                us(non.p50),
                us(non.p99),
                over
            );
        }
    }
    let row = |key: &str| rows.iter().position(|r| r.1 == key).unwrap_or(0);
    let (read, syscall) = (row("read"), row("syscall"));
    let read_over = results[0].1[read].p50 - floor(0);
    let iso_cost_miss = results[0].1[read].p50 - results[1].1[read].p50;
    let iso_cost_syscall = results[0].1[syscall].p50 - results[1].1[syscall].p50;
    let ok = read_over <= TARGET_OVER_FLOOR_NS;
    let v: Value = json!({
        "pages": a.pages,
        "rows": json_rows,
        "host": {
            "fault_fresh_anon_page": {"p50_ns": host_fault.p50, "p99_ns": host_fault.p99},
            "syscall_getppid": {"p50_ns": host_syscall.p50, "p99_ns": host_syscall.p99},
        },
        "isolation_cost_ns": {"read_miss": iso_cost_miss, "syscall": iso_cost_syscall},
        "read_miss_over_floor_ns": read_over,
        "target_over_floor_ns": TARGET_OVER_FLOOR_NS,
        "target_met": ok,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{:<42} {:>8.1} / {:>8.1}",
            "host: fault on a fresh anonymous page",
            us(host_fault.p50),
            us(host_fault.p99)
        );
        println!(
            "{:<42} {:>8.1} / {:>8.1}",
            "host: syscall (getppid)",
            us(host_syscall.p50),
            us(host_syscall.p99)
        );
        println!(
            "isolation costs {:.1} us per read miss and {:.1} us per syscall (p50)",
            us(iso_cost_miss),
            us(iso_cost_syscall)
        );
        println!(
            "target: a read miss within {:.0} us of the trap floor (isolated, p50): {:+.1} us, {}",
            us(TARGET_OVER_FLOOR_NS),
            us(read_over),
            if ok { "ok" } else { "missed" }
        );
    }
    Ok(exit::OK)
}
