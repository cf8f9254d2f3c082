//! Clusters: `lego up`, `status`, `kill`, `restart`, `down`, vNodes, two clusters at once, a
//! 16-component cluster, hang detection, and bad input; default counts, admission control over
//! every cluster on the host, a stopped manager, restart markers in the logs, and a runtime
//! directory that is full or read-only. Every test uses its own runtime directory and checks
//! that `lego down` leaves no process and no file behind.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cluster::*;
use common::*;
use serde_json::Value;

/// Cluster tests run one at a time: each boots several guests on a 2-core host, and the
/// failure-detection test measures latency.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn up_status_kill_restart_down() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let up = rt.json(&[
        "up", "--name", "c1", "-p", "1", "-m", "2", "-s", "1", "--json",
    ]);
    let names: Vec<&str> = up["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["p0", "m0", "m1", "s0"]);
    let states = rt.states("c1");
    assert!(all(&states, "ready"), "{states:?}");
    let pid_m1 = up["components"][2]["pid"].as_u64().unwrap() as u32;

    let t = Instant::now();
    let o = rt.lego(&["kill", "--name", "c1", "m1"]);
    let took = t.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("m1 is failed (killed by `lego kill`)"),
        "{}",
        stdout(&o)
    );
    assert!(
        took < Duration::from_millis(100),
        "kill reported after {took:?}"
    );
    assert!(!alive(pid_m1), "m1's VMM survived SIGKILL");
    let states = rt.states("c1");
    assert_eq!(
        states,
        [
            ("p0".into(), "ready".into()),
            ("m0".into(), "ready".into()),
            ("m1".into(), "failed".into()),
            ("s0".into(), "ready".into())
        ]
    );

    let o = rt.lego(&["restart", "--name", "c1", "m1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("m1 is ready again (start 2"),
        "{}",
        stdout(&o)
    );
    let status = rt.json(&["status", "--name", "c1", "--json"]);
    assert!(
        status["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "ready"),
        "{status}"
    );
    // The restarted component reports to the managers again.
    assert!(
        status["components"][2]["heartbeat_age_ms"]
            .as_u64()
            .is_some(),
        "{status}"
    );

    let logs = rt.lego(&["logs", "--name", "c1", "m1"]);
    assert!(
        stdout(&logs).contains("fabric: reporting to the managers"),
        "{}",
        stdout(&logs)
    );

    let pids = pids(&status);
    let o = rt.lego(&["down", "--name", "c1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_gone(&rt, "c1", &pids);
}

#[test]
fn vnodes_are_placed_by_the_storage_manager() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let up = rt.json(&[
        "up",
        "--name",
        "v",
        "-p",
        "1",
        "-m",
        "1",
        "-s",
        "2",
        "--mmon-mem",
        "1200M",
        "--json",
    ]);
    assert_eq!(up["placement"]["storage"], "s0");
    let a = rt.json(&["vnode", "create", "--name", "v", "--json"]);
    let b = rt.json(&["vnode", "create", "--name", "v", "web", "--json"]);
    assert_eq!(
        (a["id"].as_u64(), a["storage"].as_str(), a["ip"].as_str()),
        (Some(1), Some("s0"), Some("10.66.0.1"))
    );
    // The storage manager spreads vNodes: the second lands on the other sComponent.
    assert_eq!(
        (b["name"].as_str(), b["storage"].as_str()),
        (Some("web"), Some("s1"))
    );
    let o = rt.lego(&["vnode", "create", "--name", "v", "--storage", "p0"]);
    assert_one_line_error(&o, 1, "p0 is a pmon, not an sComponent");
    let list = rt.json(&["vnode", "list", "--name", "v", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(
        rt.lego(&["vnode", "remove", "--name", "v", "web"])
            .status
            .success()
    );
    assert_eq!(
        rt.json(&["vnode", "list", "--name", "v", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let status = rt.json(&["status", "--name", "v", "--json"]);
    assert!(rt.lego(&["down", "--name", "v"]).status.success());
    assert_gone(&rt, "v", &pids(&status));
}

#[test]
fn two_clusters_run_side_by_side() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let a = rt.json(&[
        "up", "--name", "a", "-p", "1", "-m", "1", "-s", "0", "--json",
    ]);
    let b = rt.json(&[
        "up", "--name", "b", "-p", "1", "-m", "1", "-s", "1", "--json",
    ]);
    assert_ne!(a["manager_pid"], b["manager_pid"]);
    assert!(rt.lego(&["kill", "--name", "a", "m0"]).status.success());
    assert_eq!(rt.states("a")[1].1, "failed");
    assert!(
        all(&rt.states("b"), "ready"),
        "cluster b was disturbed by cluster a's failure"
    );
    let sb = rt.json(&["status", "--name", "b", "--json"]);
    assert!(rt.lego(&["down", "--name", "a"]).status.success());
    assert!(all(&rt.states("b"), "ready"));
    assert!(rt.lego(&["down", "--name", "b"]).status.success());
    assert_gone(&rt, "a", &pids(&a));
    assert_gone(&rt, "b", &pids(&sb));
}

#[test]
fn sixteen_components_come_up() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let up = rt.json(&[
        "up",
        "--name",
        "big",
        "-p",
        "4",
        "-m",
        "8",
        "-s",
        "4",
        "--mmon-mem",
        "1200M",
        "--json",
    ]);
    assert_eq!(up["components"].as_array().unwrap().len(), 16);
    assert!(all(&rt.states("big"), "ready"));
    let status = rt.json(&["status", "--name", "big", "--json"]);
    assert!(rt.lego(&["down", "--name", "big"]).status.success());
    assert_gone(&rt, "big", &pids(&status));
}

#[test]
fn a_hung_guest_is_declared_failed_from_missed_reports() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let up = rt.json(&[
        "up",
        "--name",
        "h",
        "-p",
        "1",
        "-m",
        "1",
        "-s",
        "0",
        "--guest-args",
        "m0:debug_hang_ms=300",
        "--json",
    ]);
    let t = Instant::now();
    let failed = loop {
        let s = rt.json(&["status", "--name", "h", "--json"]);
        let m0 = s["components"][1].clone();
        if m0["state"] == "failed" {
            break m0;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "m0 never declared failed: {s}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .starts_with("hung: no report for"),
        "{failed}"
    );
    assert_eq!(
        rt.states("h")[0].1,
        "ready",
        "the healthy component must stay ready"
    );
    assert!(rt.lego(&["down", "--name", "h"]).status.success());
    assert_gone(&rt, "h", &pids(&up));
}

#[test]
fn bad_input_starts_nothing() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let spec = rt.root().join("bad.toml");
    std::fs::write(&spec, "[pmon]\ncount = 1\ncolour = \"red\"\n").unwrap();
    let o = rt.lego(&["up", "--name", "x", "--spec", spec.to_str().unwrap()]);
    assert_one_line_error(&o, 1, "colour");
    let o = rt.lego(&["up", "--name", "x", "-p", "0", "-m", "1"]);
    assert_one_line_error(&o, 1, "at least one pComponent");
    let o = rt.lego(&[
        "up",
        "--name",
        "x",
        "-p",
        "1",
        "-m",
        "4",
        "--mmon-mem",
        "8G",
    ]);
    assert_one_line_error(&o, 1, "of guest memory; this host has");
    std::fs::write(&spec, "[[component]]\nname = \"p0\"\nrole = \"smon\"\n").unwrap();
    let o = rt.lego(&[
        "up",
        "--name",
        "x",
        "-p",
        "1",
        "--spec",
        spec.to_str().unwrap(),
    ]);
    assert_one_line_error(&o, 1, "two components are named `p0`");
    let o = rt.lego(&["up", "--name", "x", "--spec", "/nonexistent.toml"]);
    assert_one_line_error(&o, 1, "cannot read /nonexistent.toml");
    let o = rt.lego(&["kill", "--name", "nosuch", "m1"]);
    assert_one_line_error(&o, 1, "no cluster named `nosuch` is running");
    let o = rt.lego(&["down", "--name", "nosuch"]);
    assert_one_line_error(&o, 1, "no cluster named `nosuch` is running");
    // Nothing was created by any of it.
    let left: Vec<_> = std::fs::read_dir(rt.root())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n != "bad.toml")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn unknown_components_and_duplicate_clusters_are_refused() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let up = rt.json(&[
        "up", "--name", "d", "-p", "1", "-m", "1", "-s", "0", "--json",
    ]);
    let o = rt.lego(&["kill", "--name", "d", "m7"]);
    assert_one_line_error(
        &o,
        1,
        "no component named `m7` in cluster d (it has p0, m0)",
    );
    let o = rt.lego(&["up", "--name", "d", "-p", "1"]);
    assert_one_line_error(&o, 1, "cluster `d` is already running");
    assert!(
        all(&rt.states("d"), "ready"),
        "a refused `up` must not disturb the running cluster"
    );
    let o = rt.lego(&["restart", "--name", "d", "m0"]);
    assert_one_line_error(&o, 1, "m0 is running; `lego kill m0` first");
    assert!(rt.lego(&["down", "--name", "d"]).status.success());
    assert_gone(&rt, "d", &pids(&up));
}

#[test]
fn down_cleans_up_after_a_dead_manager() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let up = rt.json(&[
        "up", "--name", "z", "-p", "1", "-m", "1", "-s", "0", "--json",
    ]);
    let manager = up["manager_pid"].as_u64().unwrap() as i32;
    // SAFETY: kill(2) of the manager process this test started.
    unsafe { libc::kill(manager, libc::SIGKILL) };
    // kill(2) returns before the process is gone (its socket may still take a connection).
    let t = Instant::now();
    while alive(manager as u32) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let o = rt.lego(&["status", "--name", "z"]);
    assert_one_line_error(&o, 1, "the manager of cluster `z` is not running");
    let o = rt.lego(&["down", "--name", "z"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("cleaned up"), "{}", stdout(&o));
    assert_gone(&rt, "z", &pids(&up));
}

/// `lego bench up` runs end to end and cleans up after itself (its numbers are for people to
/// read; this only checks they are there and sane).
#[test]
fn bench_up_measures_and_cleans_up() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    let r = rt.json(&["bench", "up", "--runs", "2", "--small-only", "--json"]);
    let shapes = r.as_array().expect("a list of cluster shapes");
    assert_eq!(shapes.len(), 1);
    let s = &shapes[0];
    assert_eq!(s["shape"], "1P2M1S");
    assert_eq!(s["components"], 4);
    let ready = s["ready_ms"]["p50"].as_f64().expect("ready p50");
    let floor = s["floor_ms"]["p50"].as_f64().expect("floor p50");
    assert!(ready > 0.0 && floor > 0.0, "{s}");
    let rss = s["rss_per_component_mib"]["p50"].as_f64().expect("rss");
    assert!(
        rss > 1.0 && rss < 256.0,
        "implausible RSS per component: {s}"
    );
    rt.assert_nothing_left("bench up");
}

/// `lego` in runtime directory `runtime` and state directory `state`, with `env` set.
fn lego_in(runtime: &Path, state: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut c = lego();
    c.args(args)
        .env("LEGO_RUNTIME_DIR", runtime)
        .env("LEGO_STATE_DIR", state)
        .env_remove("LEGO_CLUSTER")
        .env_remove("LEGO_HOST_MEMORY");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn output(mut c: Command) -> Output {
    c.output().expect("run lego")
}

fn json_of(o: &Output, what: &str) -> Value {
    assert!(o.status.success(), "{what}: {}", stderr(o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{what}: bad JSON ({e}): {}", stdout(o)))
}

fn names(status: &Value) -> Vec<String> {
    status["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| c["name"].as_str().expect("name").to_string())
        .collect()
}

/// A child's stdout, collected by a thread as it comes.
fn collect(mut child: std::process::Child) -> (std::process::Child, Arc<Mutex<String>>) {
    let text = Arc::new(Mutex::new(String::new()));
    let mut out = child.stdout.take().expect("piped stdout");
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut t) = sink.lock() {
                t.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    });
    (child, text)
}

#[test]
fn counts_admission_stopped_managers_and_restart_markers() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = Rt::new();
    // Admission is tested against a pretend host of 4 GiB, so little real memory is used.
    let host = [("LEGO_HOST_MEMORY", "4G")];
    let run = |args: &[&str]| output(lego_in(rt.root(), rt.state.path(), &host, args));

    // One count changes only its role: `-m 2` is 1P2M1S.
    let a = json_of(
        &run(&["up", "--name", "a", "-m", "2", "--mmon-mem", "1G", "--json"]),
        "up a",
    );
    assert_eq!(names(&a), ["p0", "m0", "m1", "s0"]);
    let b = json_of(
        &run(&[
            "up",
            "--name",
            "b",
            "-m",
            "1",
            "-s",
            "0",
            "--mmon-mem",
            "1G",
            "--json",
        ]),
        "up b",
    );
    assert_eq!(names(&b), ["p0", "m0"]);
    // a (2.4 GiB) and b (1.2 GiB) leave less than c's 0.8 GiB of the 4 GiB.
    let up_c = [
        "up",
        "--name",
        "c",
        "-m",
        "1",
        "-s",
        "0",
        "--mmon-mem",
        "512M",
        "--json",
    ];
    let o = run(&up_c);
    assert_one_line_error(&o, 1, "cluster `c` needs 768 MiB of guest memory");
    let e = stderr(&o);
    assert!(
        e.contains("of this host's 4 GiB (a 2.4 GiB, b 1.2") && e.contains("--overcommit"),
        "{e}"
    );
    assert!(!rt.root().join("c").exists(), "a refused up left files");
    let mut with_overcommit = up_c.to_vec();
    with_overcommit.push("--overcommit");
    let c = json_of(&run(&with_overcommit), "up c --overcommit");
    // Zero memory is about memory, not the buffer cache sized from it.
    let o = run(&["up", "--name", "z", "--mmon-mem", "0"]);
    assert_one_line_error(&o, 1, "m0: mmon needs at least");

    // A stopped manager is reported at once, by pid, with the way out.
    let pid = b["manager_pid"].as_u64().expect("pid") as i32;
    // SAFETY: signals to the manager this test started.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let t = Instant::now();
    let o = run(&["status", "--name", "b"]);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
    assert_one_line_error(
        &o,
        1,
        &format!("the manager of cluster `b` (pid {pid}) is stopped: `kill -CONT {pid}`"),
    );
    let o = run(&["up", "--name", "b", "-m", "1", "-s", "0"]);
    assert_one_line_error(&o, 1, "cluster `b` is already running");
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    json_of(&run(&["status", "--name", "b", "--json"]), "status b");

    // A restart shows in the log, and in `logs -f` as it happens.
    assert!(run(&["kill", "--name", "a", "m1"]).status.success());
    let follow = lego_in(
        rt.root(),
        rt.state.path(),
        &host,
        &["logs", "--name", "a", "-f", "m1"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("run lego logs -f");
    let (mut follow, text) = collect(follow);
    std::thread::sleep(Duration::from_millis(300));
    let before = text.lock().map(|t| t.clone()).unwrap_or_default();
    assert!(before.starts_with("--- m1 start 1 ---\n"), "{before}");
    assert!(!before.contains("start 2"), "{before}");
    let o = run(&["restart", "--name", "a", "m1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = Instant::now();
    let after = loop {
        let now = text.lock().map(|t| t.clone()).unwrap_or_default();
        let marked = now
            .split_once("\n--- m1 start 2 ---\n")
            .is_some_and(|(_, new)| new.contains("reporting to the managers"));
        if marked || t.elapsed() > Duration::from_secs(5) {
            break now;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(
        after.contains("\n--- m1 start 2 ---\n"),
        "no marker in `logs -f`: {after}"
    );
    let log = stdout(&run(&["logs", "--name", "a", "m1"]));
    assert!(log.starts_with("--- m1 start 1 ---\n"), "{log}");
    assert_eq!(log.matches("--- m1 start").count(), 2, "{log}");

    let a = json_of(&run(&["status", "--name", "a", "--json"]), "status a");
    for (name, status) in [("a", &a), ("b", &b), ("c", &c)] {
        assert!(run(&["down", "--name", name]).status.success());
        assert_gone(&rt, name, &pids(status));
    }
}

/// A tmpfs mounted for one test, unmounted (after the clusters in it are down) when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(opts: &str) -> std::io::Result<Tmpfs> {
        let dir = tempfile::tempdir()?;
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()?;
        if !st.success() {
            return Err(std::io::Error::other(format!("mount -o {opts}: {st}")));
        }
        Ok(Tmpfs {
            dir,
            state: tempfile::tempdir()?,
        })
    }

    fn lego(&self, args: &[&str]) -> Output {
        output(lego_in(self.dir.path(), self.state.path(), &[], args))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if let Ok(d) = std::fs::read_dir(self.dir.path()) {
            for e in d.flatten() {
                if e.path().is_dir()
                    && let Some(name) = e.file_name().to_str()
                {
                    let _ = self.lego(&["down", "--name", name]);
                }
            }
        }
        // The VMMs may still be closing their logs.
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            let st = Command::new("umount")
                .arg(self.dir.path())
                .stderr(Stdio::null())
                .status();
            if st.is_ok_and(|s| s.success()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn warnings(t: &Tmpfs, name: &str) -> Vec<String> {
    let s = json_of(&t.lego(&["status", "--name", name, "--json"]), "status");
    s["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().expect("a warning").to_string())
        .collect()
}

/// Polls `lego status` until `pred` holds for its warnings (5 s at most).
fn wait_warnings(t: &Tmpfs, name: &str, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
    let start = Instant::now();
    loop {
        let w = warnings(t, name);
        if pred(&w) || start.elapsed() > Duration::from_secs(5) {
            return w;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A runtime directory that is too small or read-only is an error at `lego up`; one that fills
/// up later is reported in `lego status` and by `lego logs`, and the manager keeps running.
#[test]
fn a_full_or_read_only_runtime_directory_is_reported() {
    require_kvm();
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tiny = match Tmpfs::mount("size=64k") {
        Ok(t) => t,
        Err(e) => {
            // Not root: what a read-only directory does can still be checked.
            eprintln!("NOTE: cannot mount a tmpfs ({e}); checking a read-only directory only");
            let rt = Rt::new();
            let ro = rt.root().join("ro");
            std::fs::create_dir(&ro).expect("mkdir");
            std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o555))
                .expect("chmod");
            let o = output(lego_in(
                &ro,
                rt.state.path(),
                &[],
                &["up", "-m", "1", "-s", "0"],
            ));
            assert_one_line_error(&o, 1, "cannot create the runtime directory");
            return;
        }
    };
    let o = tiny.lego(&["up", "-m", "1", "-s", "0"]);
    assert_one_line_error(
        &o,
        1,
        "has 64 KiB free, a cluster needs 1 MiB for its consoles' logs and state",
    );
    assert_eq!(std::fs::read_dir(tiny.dir.path()).expect("ls").count(), 0);
    let ro = Tmpfs::mount("size=1m,ro").expect("mount a read-only tmpfs");
    let o = ro.lego(&["up", "-m", "1", "-s", "0"]);
    assert_one_line_error(&o, 1, "Read-only file system");
    assert_one_line_error(&o, 1, "set LEGO_RUNTIME_DIR to a writable directory");

    let t = Tmpfs::mount("size=2m").expect("mount a tmpfs");
    let up = json_of(&t.lego(&["up", "-m", "1", "-s", "0", "--json"]), "up");
    assert!(up["warnings"].as_array().is_some_and(Vec::is_empty), "{up}");
    // Fill it up.
    let filler = t.dir.path().join("filler");
    let mut f = std::fs::File::create(&filler).expect("create the filler");
    let chunk = vec![0u8; 64 << 10];
    while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
    drop(f);
    let w = wait_warnings(&t, "default", |w| w.iter().any(|w| w.contains("is full")));
    assert!(w.iter().any(|w| w.contains("is full (")), "{w:?}");
    // A state write fails: reported, and the manager carries on.
    let o = t.lego(&["kill", "m0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w = warnings(&t, "default");
    assert!(
        w.iter()
            .any(|w| w.contains("cannot write") && w.contains("state.json")),
        "{w:?}"
    );
    let o = t.lego(&["logs", "p0"]);
    assert_one_line_error(&o, 1, "is full");
    assert!(stdout(&o).contains("--- p0 start 1 ---"), "{}", stdout(&o));
    // Room again: the warnings go once the state is written again.
    std::fs::remove_file(&filler).expect("remove the filler");
    let o = t.lego(&["restart", "m0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let w = wait_warnings(&t, "default", <[String]>::is_empty);
    assert!(w.is_empty(), "{w:?}");
    let s = json_of(&t.lego(&["status", "--json"]), "status");
    assert!(t.lego(&["down"]).status.success());
    for p in pids(&s) {
        assert!(!alive(p), "process {p} survived `lego down`");
    }
    assert_eq!(std::fs::read_dir(t.dir.path()).expect("ls").count(), 0);
}
