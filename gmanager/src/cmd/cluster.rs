//! `lego up`, `status`, `logs`, `kill`, `restart`, `down`: thin clients of a cluster's manager.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::cli::{
    ClusterDaemonArgs, ComponentArgs, DownArgs, LogsArgs, SignalArgs, StatusArgs, UpArgs,
};
use crate::cluster::paths::{self, ClusterDir, StateDir};
use crate::cluster::procs::{alive, cluster_pids, lego_alive, manager_pid};
use crate::cluster::protocol::{Request, request};
use crate::cluster::spec::{self, ClusterSpec, InUse, Overrides};
use crate::cluster::status::{ClusterStatus, print};
use crate::exit;

const QUICK: Duration = Duration::from_secs(10);

fn overrides(a: &UpArgs) -> Overrides {
    Overrides {
        counts: [a.pmon, a.mmon, a.smon],
        mem: [a.pmon_mem, a.mmon_mem, a.smon_mem],
        vcpus: [a.pmon_vcpus, a.mmon_vcpus, a.smon_vcpus],
        excache: a.excache,
        disk: a.smon_disk,
        cache: a.mmon_cache,
        disk_direct: a.disk_direct.then_some(true),
        isolation: a.no_isolation.then_some(false),
        name: a.name.clone(),
        poll: a
            .poll
            .map(|p| virtio_rdma::abi::PollMode::from(p).name().to_string()),
        spin_us: a.spin_us,
        net_latency_ns: a.net_latency_ns,
        net_bandwidth_mbps: a.net_bandwidth_mbps,
    }
}

/// Reads and resolves `lego up`'s spec.
pub fn resolve_spec(a: &UpArgs) -> Result<ClusterSpec> {
    let file = match &a.spec {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Some(spec::parse_file(&text).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let host = if a.overcommit {
        u64::MAX
    } else {
        spec::host_memory()
    };
    spec::resolve(file, &overrides(a), host).map_err(anyhow::Error::msg)
}

fn status_of(v: Value) -> Result<ClusterStatus> {
    serde_json::from_value(v).context("garbled status from the manager")
}

fn show(v: Value, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print(&status_of(v)?);
    }
    Ok(())
}

/// Kills what a dead manager left behind (from its state file) and removes the directory.
/// Returns whether there was anything.
pub fn clean_stale(dir: &ClusterDir) -> bool {
    if !dir.exists() {
        return false;
    }
    let pids = cluster_pids(dir);
    for &pid in &pids {
        // Only our own processes: a pid may have been reused since.
        let ours = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains("lego"))
            .unwrap_or(false);
        if ours {
            // SAFETY: kill(2) on a pid we just checked is one of our processes.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    }
    let t = Instant::now();
    while pids.iter().any(|&p| alive(p)) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = std::fs::remove_dir_all(dir.path());
    true
}

/// Guest memory promised by the other clusters whose managers are alive, from the spec files
/// their `lego up` left in their runtime directories.
pub fn memory_in_use(except: &str) -> Vec<InUse> {
    paths::runtime_dirs()
        .into_iter()
        .filter(|d| d.path().file_name().and_then(|n| n.to_str()) != Some(except))
        .filter_map(|d| {
            let v: Value = serde_json::from_slice(&std::fs::read(d.spec()).ok()?).ok()?;
            let pid = v["manager_pid"].as_u64()?;
            if !lego_alive(pid) {
                return None;
            }
            Some(InUse {
                cluster: v["spec"]["name"].as_str()?.to_string(),
                bytes: v["guest_mem_bytes"].as_u64()?,
            })
        })
        .collect()
}

/// An sComponent's disk image that exists with another size than the one asked for is an
/// error: images are never resized behind the user's back.
fn check_disks(spec: &ClusterSpec) -> Result<()> {
    let state = StateDir::of(&spec.name);
    for c in spec.components.iter().filter(|c| c.disk_explicit) {
        let path = state.disk(&c.name);
        let Ok(m) = std::fs::metadata(&path) else {
            continue;
        };
        if m.len() != c.disk_bytes {
            bail!(
                "{}: its disk image {} is {}, not the {} asked for; disks are not resized \
                 (leave --smon-disk out to keep it, or `lego down --name {} --wipe` to delete \
                 the cluster's disks and vNodes)",
                c.name,
                path.display(),
                crate::size::human(m.len()),
                crate::size::human(c.disk_bytes),
                spec.name
            );
        }
    }
    Ok(())
}

/// Creates cluster `dir`'s runtime directory and checks that it can hold the cluster's logs
/// and state: a read-only or full file system is an error here, not empty logs later.
fn prepare_runtime(dir: &ClusterDir) -> Result<()> {
    let fix = "set LEGO_RUNTIME_DIR to a writable directory with room";
    std::fs::create_dir_all(dir.path()).map_err(|e| {
        anyhow::anyhow!(
            "cannot create the runtime directory {}: {e}; {fix}",
            dir.path().display()
        )
    })?;
    let problem = match paths::space(dir.path()) {
        Ok((_, true)) => Some(format!(
            "the runtime directory {} is on a read-only file system; {fix}",
            dir.path().display()
        )),
        Ok((free, false)) if free < paths::MIN_RUNTIME_FREE => Some(format!(
            "the runtime directory {} has {} free, a cluster needs {} for its consoles' logs \
             and state; free some space or {fix}",
            dir.path().display(),
            crate::size::human(free),
            crate::size::human(paths::MIN_RUNTIME_FREE)
        )),
        Ok(_) => None,
        Err(e) => Some(format!(
            "cannot check the runtime directory {}: {e}",
            dir.path().display()
        )),
    };
    if let Some(p) = problem {
        let _ = std::fs::remove_dir_all(dir.path());
        bail!("{p}");
    }
    Ok(())
}

/// Starts a cluster's manager in the background and waits for every component to be ready.
/// Unless `overcommit`, the guest memory of every running cluster, this one included, must fit
/// in the host's memory.
pub fn up_spec(spec: &ClusterSpec, timeout: Duration, overcommit: bool) -> Result<Value> {
    let dir = ClusterDir::of(&spec.name);
    match request(&dir, &spec.name, &Request::Status, QUICK) {
        Ok(_) => bail!(
            "cluster `{}` is already running (`lego down --name {}` first)",
            spec.name,
            spec.name
        ),
        // Alive but not answering (stopped, busy): never clean up under a live manager.
        Err(e) if manager_pid(&dir).is_some_and(lego_alive) => bail!(
            "cluster `{}` is already running, and its manager does not answer: {e:#}",
            spec.name
        ),
        Err(_) => {}
    }
    if clean_stale(&dir) {
        eprintln!(
            "note: cleaned up what a dead manager of `{}` left behind",
            spec.name
        );
    }
    check_disks(spec)?;
    let need = spec::memory_of(&spec.components);
    if !overcommit {
        spec::admit(
            &spec.name,
            need,
            &memory_in_use(&spec.name),
            spec::host_memory(),
        )
        .map_err(anyhow::Error::msg)?;
    }
    prepare_runtime(&dir)?;
    let log = match std::fs::File::create(dir.daemon_log()) {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_dir_all(dir.path());
            bail!(
                "creating the manager's log {}: {e}",
                dir.daemon_log().display()
            );
        }
    };
    let exe = std::env::current_exe().context("cannot find the lego executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("cluster-daemon")
        .arg("--spec-json")
        .arg(serde_json::to_string(spec)?)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid is async-signal-safe; the manager leaves the terminal's session so it
    // outlives this command and ignores the terminal's signals.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("starting the cluster manager")?;
    // Stop it: politely, then for sure. Never wait on a manager that did not go.
    let abort = |child: &mut std::process::Child| {
        let _ = request(&dir, &spec.name, &Request::Down, QUICK);
        let t = Instant::now();
        while !matches!(child.try_wait(), Ok(Some(_)) | Err(_))
            && t.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
        clean_stale(&dir);
    };
    // What other clusters' admission counts, and the manager's pid before it writes its own
    // state.
    let record = json!({
        "manager_pid": child.id(),
        "guest_mem_bytes": need,
        "spec": spec,
    });
    if let Err(e) = paths::write_atomic(&dir.spec(), record.to_string().as_bytes()) {
        abort(&mut child);
        bail!(
            "cannot write {}: {e}; set LEGO_RUNTIME_DIR to a writable directory with room",
            dir.spec().display()
        );
    }
    let started = Instant::now();
    while !dir.socket().exists() {
        if let Ok(Some(status)) = child.try_wait() {
            let mut text = String::new();
            let _ =
                std::fs::File::open(dir.daemon_log()).and_then(|mut f| f.read_to_string(&mut text));
            let _ = std::fs::remove_dir_all(dir.path());
            bail!("the cluster manager exited ({status}): {}", text.trim());
        }
        if started.elapsed() > Duration::from_secs(10) {
            abort(&mut child);
            bail!("the cluster manager did not start within 10 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let ready = request(
        &dir,
        &spec.name,
        &Request::WaitReady {
            timeout_ms: timeout.as_millis() as u64,
        },
        timeout + QUICK,
    );
    match ready {
        Ok(v) => {
            // The manager could not write its state or the logs: a cluster that `lego down`
            // may not be able to clean up after a crash, and whose logs say nothing.
            if let Some(w) = v["warnings"].as_array().and_then(|w| w.first()) {
                let w = w
                    .as_str()
                    .unwrap_or("the manager reported a problem")
                    .to_string();
                abort(&mut child);
                bail!("{w}");
            }
            Ok(v)
        }
        Err(e) => {
            abort(&mut child);
            Err(e)
        }
    }
}

/// `lego up`.
pub fn up(a: &UpArgs) -> Result<u8> {
    let mut spec = resolve_spec(a)?;
    for g in &a.guest_args {
        let (name, words) = g
            .split_once(':')
            .with_context(|| format!("--guest-args `{g}`: use NAME:WORDS"))?;
        let c = spec
            .components
            .iter_mut()
            .find(|c| c.name == name)
            .with_context(|| format!("--guest-args: no component `{name}`"))?;
        c.extra_cmdline = format!("{} {words}", c.extra_cmdline).trim().to_string();
    }
    let v = up_spec(&spec, Duration::from_secs(a.timeout), a.overcommit)?;
    // A component may be up but unable to serve (a refused disk): the cluster stays up so its
    // log can be read, and the user is told.
    let failed: Vec<String> = status_of(v.clone())?
        .components
        .iter()
        .filter(|c| c.state != "ready")
        .map(|c| {
            format!(
                "{} is {}{}",
                c.name,
                c.state,
                c.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    show(v, a.json)?;
    for f in failed {
        eprintln!("warning: {f}");
    }
    Ok(exit::OK)
}

/// `lego cluster-daemon`.
pub fn daemon(a: &ClusterDaemonArgs) -> Result<u8> {
    let spec: ClusterSpec = serde_json::from_str(&a.spec_json).context("bad cluster spec")?;
    let dir = ClusterDir::of(&spec.name);
    crate::cluster::daemon::run(spec, dir)
}

/// `lego status`.
pub fn status(a: &StatusArgs) -> Result<u8> {
    let dir = ClusterDir::of(&a.cluster.name);
    show(
        request(&dir, &a.cluster.name, &Request::Status, QUICK)?,
        a.json,
    )?;
    Ok(exit::OK)
}

/// `lego ps`.
pub fn ps(a: &StatusArgs) -> Result<u8> {
    let dir = ClusterDir::of(&a.cluster.name);
    let v = request(&dir, &a.cluster.name, &Request::Ps, QUICK)?;
    if a.json {
        return show(v, true).map(|()| exit::OK);
    }
    let rows = v.as_array().cloned().unwrap_or_default();
    println!(
        "{:>7} {:>7} {:>7} {:<6} {:>5} {:>4} {:>7} {:<5} {:>9} {:>9} {:>9}  NAME",
        "PID",
        "PPID",
        "SESSION",
        "PCOMP",
        "VNODE",
        "HOME",
        "THREADS",
        "STATE",
        "EXCACHE",
        "VM",
        "CPU"
    );
    for r in &rows {
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        println!(
            "{:>7} {:>7} {:>7} {:<6} {:>5} {:>4} {:>7} {:<5} {:>9} {:>9} {:>7.1} s  {}",
            n("pid"),
            n("ppid"),
            n("session"),
            r["component"].as_str().unwrap_or("?"),
            n("vnode"),
            n("home"),
            n("threads"),
            r["state"].as_str().unwrap_or("?"),
            crate::size::human(n("excache_bytes")),
            crate::size::human(n("vm_bytes")),
            n("cpu_ms") as f64 / 1000.0,
            r["comm"].as_str().unwrap_or("")
        );
    }
    Ok(exit::OK)
}

/// `lego signal`.
pub fn signal(a: &SignalArgs) -> Result<u8> {
    let s = a.signal.to_ascii_uppercase();
    let Some(sig) = s
        .parse::<u32>()
        .ok()
        .or_else(|| lego_linux::signal::by_name(&s))
        .filter(|n| (1..=64).contains(n))
    else {
        eprintln!(
            "error: `{}` is not a signal: a number from 1 to 64 or a name (TERM, KILL, USR1, ...)",
            a.signal
        );
        return Ok(exit::USAGE);
    };
    let dir = ClusterDir::of(&a.cluster.name);
    let req = Request::Signal { pid: a.pid, sig };
    let v = request(&dir, &a.cluster.name, &req, QUICK)?;
    println!(
        "signal {} sent to process {} on {}",
        lego_linux::signal::name(sig).unwrap_or("?"),
        a.pid,
        v["component"].as_str().unwrap_or("?")
    );
    Ok(exit::OK)
}

/// `lego kill`.
pub fn kill(a: &ComponentArgs) -> Result<u8> {
    let dir = ClusterDir::of(&a.cluster.name);
    let req = Request::Kill {
        component: a.component.clone(),
    };
    let v = request(&dir, &a.cluster.name, &req, QUICK)?;
    if a.json {
        return show(v, true).map(|()| exit::OK);
    }
    let s = status_of(v)?;
    if let Some(c) = s.components.iter().find(|c| c.name == a.component) {
        println!(
            "{} is {} ({})",
            c.name,
            c.state,
            c.reason.as_deref().unwrap_or("-")
        );
    }
    Ok(exit::OK)
}

/// `lego restart`.
pub fn restart(a: &ComponentArgs) -> Result<u8> {
    let dir = ClusterDir::of(&a.cluster.name);
    let req = Request::Restart {
        component: a.component.clone(),
    };
    let v = request(&dir, &a.cluster.name, &req, Duration::from_secs(45))?;
    if a.json {
        return show(v, true).map(|()| exit::OK);
    }
    let s = status_of(v)?;
    if let Some(c) = s.components.iter().find(|c| c.name == a.component) {
        println!(
            "{} is {} again (start {}, ready after {} ms)",
            c.name,
            c.state,
            c.incarnation,
            c.ready_ms.unwrap_or(0)
        );
    }
    Ok(exit::OK)
}

/// Stops a cluster and waits until its processes are gone and its directory removed. Returns
/// whether its manager was running (false: only leftovers of a dead one were cleaned up).
pub fn stop(name: &str) -> Result<bool> {
    let dir = ClusterDir::of(name);
    let pids = cluster_pids(&dir);
    match request(&dir, name, &Request::Down, QUICK) {
        Ok(_) => {
            let t = Instant::now();
            while (dir.exists() || pids.iter().any(|&p| alive(p)))
                && t.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            clean_stale(&dir);
            Ok(true)
        }
        Err(e) => {
            if clean_stale(&dir) {
                Ok(false)
            } else {
                Err(e)
            }
        }
    }
}

/// `lego down`.
pub fn down(a: &DownArgs) -> Result<u8> {
    let name = &a.cluster.name;
    let state = StateDir::of(name);
    let stopped = match stop(name) {
        Ok(true) => format!("cluster {name} is down"),
        Ok(false) => {
            format!("cluster {name} is down (its manager was not running; cleaned up what it left)")
        }
        // Nothing running: wiping its state is still a valid request.
        Err(_) if a.wipe && state.root.exists() => format!("cluster {name} was not running"),
        Err(e) => return Err(e),
    };
    if a.wipe && state.root.exists() {
        std::fs::remove_dir_all(&state.root)
            .with_context(|| format!("removing {}", state.root.display()))?;
        println!("{stopped}; its disks and vNodes are deleted");
    } else {
        println!("{stopped}");
    }
    Ok(exit::OK)
}

/// `lego logs`.
pub fn logs(a: &LogsArgs) -> Result<u8> {
    let dir = ClusterDir::of(&a.cluster.name);
    if !dir.exists() {
        bail!("no cluster named `{}` is running", a.cluster.name);
    }
    let path = dir.log(&a.component);
    let mut f = std::fs::File::open(&path).map_err(|_| {
        let names: Vec<String> = std::fs::read_dir(dir.path().join("logs"))
            .map(|d| {
                d.filter_map(|e| {
                    e.ok()?
                        .file_name()
                        .to_str()?
                        .strip_suffix(".log")
                        .map(String::from)
                })
                .collect()
            })
            .unwrap_or_default();
        anyhow::anyhow!(
            "no component named `{}` in cluster {} (it has {})",
            a.component,
            a.cluster.name,
            names.join(", ")
        )
    })?;
    let mut out = std::io::stdout();
    let mut warned = false;
    loop {
        std::io::copy(&mut f, &mut out)?;
        // A full or read-only runtime directory means the console could not be written: say
        // so rather than print a log that silently stops.
        if let Some(p) = paths::runtime_problem(dir.path()) {
            if !a.follow {
                bail!("{p} ({}'s log may be incomplete)", a.component);
            }
            if !warned {
                eprintln!("warning: {p}");
                warned = true;
            }
        }
        if !a.follow || !dir.exists() {
            return Ok(exit::OK);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
