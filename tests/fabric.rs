//! The fabric between component guests: RPC of every size with checksums, one-sided WRITE and
//! READ, protection, many outstanding requests, both directions at once, three guests, a
//! killed peer, call deadlines, and the network model. Each test boots real guests that run the
//! fabric self-tests (guest-rt/src/selftest) and asserts on what they report.

mod common;

use common::*;

fn fabric(args: &[&str]) -> (std::process::Output, String) {
    let mut v = vec!["fabric-test", "--timeout", "240"];
    v.extend_from_slice(args);
    let o = run(&v);
    let out = stdout(&o);
    (o, out)
}

fn assert_ok(o: &std::process::Output, out: &str) {
    assert!(
        o.status.success(),
        "fabric-test failed ({}):\n{out}\n{}",
        o.status,
        stderr(o)
    );
    assert!(!out.contains("FAILED"), "{out}");
}

const SUITE: &str = "22 sizes 1..65536 echoed with checksums, 64 KiB checksum ok, 24 outstanding ok, unknown opcode refused";
const ONE_SIDED: &str = "write/read 4 KiB and 512 KiB ok; 6 protection violations refused and a raw store to a read-only window dropped; target bytes verified by checksum";
const SEND_RECV: &str =
    "SEND/RECV with and without immediate ok, oversized SEND refused, receiver-not-ready refused";

#[test]
fn rpc_one_sided_and_protection_between_two_guests() {
    require_kvm();
    let (o, out) = fabric(&[
        "--component",
        "smon:test_regions=1",
        "--component",
        "pmon:selftest=rpc peer=0",
    ]);
    assert_ok(&o, &out);
    assert!(
        out.contains(&format!(
            "[p0] selftest rpc ok: peer 0: {SUITE}; {ONE_SIDED}; {SEND_RECV}."
        )),
        "{out}"
    );
}

#[test]
fn both_directions_at_once() {
    require_kvm();
    let (o, out) = fabric(&[
        "--component",
        "smon:test_regions=1 selftest=rpc peer=1",
        "--component",
        "mmon:test_regions=1 selftest=rpc peer=0",
    ]);
    assert_ok(&o, &out);
    assert!(
        out.contains(&format!("[s0] selftest rpc ok: peer 1: {SUITE}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("[m0] selftest rpc ok: peer 0: {SUITE}")),
        "{out}"
    );
}

#[test]
fn three_guests() {
    require_kvm();
    let (o, out) = fabric(&[
        "--component",
        "smon:test_regions=1",
        "--component",
        "mmon:test_regions=1",
        "--component",
        "pmon:selftest=rpc peer=0,1",
    ]);
    assert_ok(&o, &out);
    assert!(
        out.contains(&format!(
            "peer 0: {SUITE}; {ONE_SIDED}; {SEND_RECV}. peer 1: {SUITE}; {ONE_SIDED}; {SEND_RECV}."
        )),
        "{out}"
    );
}

#[test]
fn a_killed_peer_fails_calls_fast_and_the_survivor_keeps_serving() {
    require_kvm();
    let (o, out) = fabric(&[
        "--component",
        "smon",
        "--component",
        "mmon",
        "--component",
        "pmon:selftest=failover peer=0,1",
    ]);
    assert_ok(&o, &out);
    assert!(
        out.contains("[p0] failover armed: kill component 0"),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.contains("selftest failover ok"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("the survivor answered 500 calls after"),
        "{line}"
    );
    // "...ended with PeerDead N us after its last reply": well within the 5 s call deadline.
    let us: u64 = line
        .split("ended with PeerDead ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(us < 1_000_000, "failure noticed only after {us} us: {line}");
}

#[test]
fn calls_have_deadlines() {
    require_kvm();
    let (o, out) = fabric(&[
        "--component",
        "smon",
        "--component",
        "pmon:selftest=timeout peer=0",
    ]);
    assert_ok(&o, &out);
    assert!(
        out.contains("[p0] selftest timeout ok: a 600 ms stall hit the 200 ms deadline"),
        "{out}"
    );
    assert!(out.contains("the late reply was ignored"), "{out}");
}

#[test]
fn the_network_model_delays_every_message() {
    require_kvm();
    let (o, out) = fabric(&[
        "--poll",
        "busy",
        "--net-latency-ns",
        "1500",
        "--net-bandwidth-mbps",
        "40000",
        "--component",
        "mmon:test_regions=1",
        "--component",
        "pmon:selftest=bench peer=0 iters=300",
    ]);
    assert_ok(&o, &out);
    let json = out
        .lines()
        .find_map(|l| l.strip_prefix("[p0] bench "))
        .unwrap_or_else(|| panic!("{out}"));
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["net_latency_ns"], 1500);
    // A round trip crosses the link twice: never faster than 2 x 1.5 us plus serialization.
    let rtt64 = v["rtt64"]["p50_ns"].as_u64().unwrap();
    let rtt4k = v["rtt4k"]["p50_ns"].as_u64().unwrap();
    let read4k = v["read4k"]["p50_ns"].as_u64().unwrap();
    assert!(rtt64 >= 3000, "{json}");
    assert!(rtt4k >= 3000 + 2 * 819, "{json}");
    assert!(read4k >= 3000 + 819, "{json}");
}

/// The network model delays messages and completions; it must not break anything the
/// self-tests check without it (a one-sided self-test once took a completion that was not
/// visible yet for a flushed request).
#[test]
fn the_self_tests_pass_with_the_network_model() {
    require_kvm();
    for model in [
        &["--net-latency-ns", "1500"][..],
        &["--net-latency-ns", "1500", "--net-bandwidth-mbps", "40000"][..],
    ] {
        let mut args = model.to_vec();
        args.extend([
            "--component",
            "smon:test_regions=1",
            "--component",
            "mmon:test_regions=1 selftest=rpc peer=0",
            "--component",
            // One tester per writable region: two at once would race on its bytes.
            "pmon:selftest=rpc peer=1",
        ]);
        let (o, out) = fabric(&args);
        assert_ok(&o, &out);
        assert!(
            out.contains(&format!(
                "[m0] selftest rpc ok: peer 0: {SUITE}; {ONE_SIDED}; {SEND_RECV}."
            )),
            "{model:?}: {out}"
        );
        assert!(
            out.contains(&format!(
                "[p0] selftest rpc ok: peer 1: {SUITE}; {ONE_SIDED}; {SEND_RECV}."
            )),
            "{model:?}: {out}"
        );
    }
    let mut args = vec!["--net-latency-ns", "1500", "--net-bandwidth-mbps", "40000"];
    args.extend([
        "--component",
        "smon",
        "--component",
        "pmon:selftest=timeout peer=0",
    ]);
    let (o, out) = fabric(&args);
    assert_ok(&o, &out);
    assert!(out.contains("[p0] selftest timeout ok"), "{out}");
    let mut args = vec!["--net-latency-ns", "1500", "--net-bandwidth-mbps", "40000"];
    args.extend([
        "--component",
        "smon",
        "--component",
        "mmon",
        "--component",
        "pmon:selftest=failover peer=0,1",
    ]);
    let (o, out) = fabric(&args);
    assert_ok(&o, &out);
    assert!(out.contains("[p0] selftest failover ok"), "{out}");
}

/// A clean run says nothing on stderr: stopping the VMMs (SIGTERM, which may land on any of a
/// VMM's threads) once printed `WARN fabric link failed: Interrupted system call`.
#[test]
fn a_successful_fabric_test_prints_no_warning() {
    require_kvm();
    for _ in 0..5 {
        let (o, out) = fabric(&[
            "--component",
            "smon",
            "--component",
            "pmon:selftest=timeout peer=0",
        ]);
        assert_ok(&o, &out);
        let err = stderr(&o);
        assert!(
            !err.contains("WARN") && !err.contains("ERROR"),
            "stderr of a clean run:\n{err}"
        );
    }
}

#[test]
fn fabric_test_refuses_bad_components() {
    let o = run(&["fabric-test", "--component", "gpu", "--component", "smon"]);
    assert_one_line_error(&o, 2, "unknown role `gpu`");
    let o = run(&["fabric-test", "--component", "smon"]);
    assert_one_line_error(&o, 2, "at least two components");
}

/// A test that would run nothing, or more components than the fabric has ids for, is refused
/// before anything starts (it used to exit 0 having done nothing, or boot 71 guests and fail
/// 40 s later).
#[test]
fn fabric_test_refuses_runs_that_test_nothing_or_do_not_fit() {
    let t = std::time::Instant::now();
    let o = run(&["fabric-test", "--component", "smon", "--component", "pmon"]);
    assert_one_line_error(
        &o,
        2,
        "no component runs a self-test: add `selftest=...` to one, see --help",
    );
    let mut args = vec!["fabric-test", "--component", "pmon:selftest=rpc peer=1"];
    args.extend(std::iter::repeat_n(["--component", "smon"], 70).flatten());
    let o = run(&args);
    assert_one_line_error(&o, 2, "71 components requested; at most 63 fit on a fabric");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
}

/// A benchmark given nothing to measure is a usage error, never a table of zeros marked ok.
#[test]
fn bench_rpc_refuses_zero_iterations() {
    let o = run(&["bench", "rpc", "--iters", "0"]);
    assert_one_line_error(&o, 2, "--iters 0 measures nothing");
    assert!(!stdout(&o).contains("ok"), "{}", stdout(&o));
    for args in [
        &["bench", "boot", "--runs", "0"][..],
        &["bench", "up", "--runs", "0"],
        &["bench", "storage", "--ops", "0"],
    ] {
        let o = run(args);
        assert_one_line_error(&o, 2, "measures nothing");
        assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
    }
}
