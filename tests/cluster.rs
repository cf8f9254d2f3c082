//! Clusters: `lego up`, `status`, `kill`, `restart`, `down`, vNodes, two clusters at once, a
//! 16-component cluster, hang detection, and bad input. Every test uses its own runtime
//! directory and checks that `lego down` leaves no process and no file behind.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::cluster::*;
use common::*;

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
