//! The small C programs the program benchmarks run, natively and on clusters: compiled here at
//! run time with the host's `gcc -static` (the same sources the tests build from
//! `testprogs/c/`), so the `lego` binary needs no toolchain of its own for them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The miss benchmark's program.
pub const MISSBENCH: (&str, &str) = (
    "missbench",
    include_str!("../../../../testprogs/c/missbench.c"),
);
/// The ABI benchmark's program.
pub const ABIBENCH: (&str, &str) = (
    "abibench",
    include_str!("../../../../testprogs/c/abibench.c"),
);
/// The CPU-bound program.
pub const SPIN: (&str, &str) = ("spin", include_str!("../../../../testprogs/c/spin.c"));

/// Compiles `(name, source)` statically into `dir`; returns the program's path.
pub fn build(dir: &Path, (name, source): (&str, &str)) -> Result<PathBuf> {
    let src = dir.join(format!("{name}.c"));
    let out = dir.join(name);
    std::fs::write(&src, source).with_context(|| format!("writing {}", src.display()))?;
    let o = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .output();
    match o {
        Ok(o) if o.status.success() => Ok(out),
        Ok(o) => bail!(
            "gcc -static failed on the benchmark program {name} (the static C library comes \
             with Debian's libc6-dev): {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => bail!(
            "the program benchmarks compile their programs with gcc -static, which cannot run \
             here ({e}): install gcc and libc6-dev"
        ),
    }
}

/// Runs `lego ARGS` (this executable); returns its stdout, failing with its stderr.
pub fn lego(args: &[&str]) -> Result<String> {
    let me = std::env::current_exe().context("finding the lego executable")?;
    let o = Command::new(me)
        .args(args)
        .output()
        .with_context(|| format!("running lego {}", args.join(" ")))?;
    if !o.status.success() {
        bail!(
            "`lego {}` failed ({}): {}",
            args.join(" "),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// A cluster brought up for a benchmark, taken down (and its state wiped) when dropped.
pub struct BenchCluster {
    /// Its name.
    pub name: String,
}

impl BenchCluster {
    /// `lego up --name NAME EXTRA...`.
    pub fn up(name: String, extra: &[&str]) -> Result<BenchCluster> {
        let mut args = vec!["up", "--name", &name];
        args.extend_from_slice(extra);
        lego(&args)?;
        Ok(BenchCluster { name })
    }
}

impl Drop for BenchCluster {
    fn drop(&mut self) {
        let _ = lego(&["down", "--name", &self.name, "--wipe"]);
    }
}
