//! `lego bench abi`: the Linux ABI's basic costs on a pComponent next to the host's: a
//! syscall round trip (getpid), fork + execve + waitpid of a static program, and pipe
//! throughput between two processes, each timed by the program itself; with the platform's
//! trap floor (a page fault the pComponent answers by mapping a frame already there: the
//! cost of leaving user code and coming back, which every syscall here pays).

use serde_json::json;

use super::miss::Figure;
use super::programs::{ABIBENCH, BenchCluster, MISSBENCH, build, lego};
use crate::cli::BenchAbiArgs;
use crate::exit;

/// The numbers after `key` on its line of `out`.
fn numbers(out: &str, key: &str) -> anyhow::Result<Vec<f64>> {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .ok_or_else(|| anyhow::anyhow!("the benchmark program printed no `{key}` line: {out}"))?;
    Ok(line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(f64::NAN))
        .collect())
}

fn timing(out: &str, key: &str) -> anyhow::Result<Figure> {
    let v = numbers(out, key)?;
    match v[..] {
        [p50, p99, mean, ..] => Ok(Figure { p50, p99, mean }),
        _ => anyhow::bail!("the benchmark program's `{key}` line is short: {out}"),
    }
}

/// Runs `lego bench abi`.
pub fn run(a: &BenchAbiArgs) -> anyhow::Result<u8> {
    if a.syscalls == 0 || a.forks == 0 || a.pipe_mib == 0 {
        eprintln!("error: --syscalls, --forks and --pipe-mib must be at least 1");
        return Ok(exit::USAGE);
    }
    let tmp = tempfile::tempdir()?;
    let prog = build(tmp.path(), ABIBENCH)?.display().to_string();
    let floor_prog = build(tmp.path(), MISSBENCH)?.display().to_string();
    let (calls, forks, mib) = (
        a.syscalls.to_string(),
        a.forks.to_string(),
        a.pipe_mib.to_string(),
    );
    // `/proc/self/exe` names the program itself on both sides (it execs itself as a child).
    let cases: [Vec<&str>; 3] = [
        vec!["syscall", &calls],
        vec!["forkexec", &forks, "/proc/self/exe"],
        vec!["pipe", &mib],
    ];
    let native = |args: &[&str]| -> anyhow::Result<String> {
        let o = std::process::Command::new(&prog).args(args).output()?;
        if !o.status.success() {
            anyhow::bail!(
                "the benchmark program failed natively: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let host: Vec<String> = cases.iter().map(|c| native(c)).collect::<Result<_, _>>()?;
    let c = BenchCluster::up(format!("bench-abi-{}", std::process::id()), &[])?;
    let ours: Vec<String> = cases
        .iter()
        .map(|args| {
            let mut v = vec!["run", "--name", c.name.as_str(), prog.as_str()];
            v.extend(args.iter().copied());
            lego(&v)
        })
        .collect::<Result<_, _>>()?;
    let floor_out = lego(&[
        "run",
        "--name",
        &c.name,
        "--trap-floor",
        &floor_prog,
        "plocal",
        "2048",
    ])?;
    let floor = super::miss::parse(&floor_out)?;
    let (sys_h, sys_o) = (timing(&host[0], "syscall")?, timing(&ours[0], "syscall")?);
    let (fx_h, fx_o) = (timing(&host[1], "forkexec")?, timing(&ours[1], "forkexec")?);
    let pipe_h = numbers(&host[2], "pipe")?
        .first()
        .copied()
        .unwrap_or(f64::NAN);
    let pipe_o = numbers(&ours[2], "pipe")?
        .first()
        .copied()
        .unwrap_or(f64::NAN);
    if a.json {
        let t = |x: Figure| json!({"p50_ns": x.p50, "p99_ns": x.p99, "mean_ns": x.mean});
        let v = json!({
            "syscall_getpid": {"pcomponent": t(sys_o), "host": t(sys_h), "ratio_p50": sys_o.p50 / sys_h.p50},
            "fork_exec_wait": {"pcomponent": t(fx_o), "host": t(fx_h), "ratio_p50": fx_o.p50 / fx_h.p50},
            "pipe_mb_per_s": {"pcomponent": pipe_o, "host": pipe_h, "ratio": pipe_h / pipe_o},
            "trap_floor": t(floor),
            "syscalls": a.syscalls, "forks": a.forks, "pipe_mib": a.pipe_mib,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(exit::OK);
    }
    let us = |x: f64| x / 1000.0;
    println!(
        "{:<32} {:>21} {:>21} {:>9}",
        "operation (us)", "pComponent p50/p99", "host p50/p99", "p50 x"
    );
    for (label, o, h) in [
        ("syscall (getpid)", sys_o, sys_h),
        ("fork + exec + wait (static)", fx_o, fx_h),
    ] {
        println!(
            "{:<32} {:>10.1} /{:>9.1} {:>10.1} /{:>9.1} {:>8.1}x",
            label,
            us(o.p50),
            us(o.p99),
            us(h.p50),
            us(h.p99),
            o.p50 / h.p50
        );
    }
    println!(
        "{:<32} {:>16.1} MB/s {:>16.1} MB/s {:>8.1}x",
        format!("pipe throughput ({} MiB)", a.pipe_mib),
        pipe_o,
        pipe_h,
        pipe_h / pipe_o
    );
    println!(
        "{:<32} {:>10.1} /{:>9.1}   (a #PF to the monitor and back: the floor under a syscall)",
        "trap floor",
        us(floor.p50),
        us(floor.p99)
    );
    println!(
        "getpid is {:.2}x the trap floor (p50): leaving user code and coming back is the cost",
        sys_o.p50 / floor.p50
    );
    Ok(exit::OK)
}
