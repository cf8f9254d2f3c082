//! The differential conformance suite (gVisor's method): every program of
//! `testprogs/conformance/` (one topic of one syscall family each, built with musl and glibc)
//! runs natively on this host and on a cluster; stdout and exit status must be the same. It
//! prints `N passed, N failed` and the counts per family.
//!
//! Programs that cannot pass yet are listed in [`EXPECTED_FAILURES`] with the first check
//! they fail; the test fails on any other failure, and names listed programs that pass now.

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::cluster::Rt;
use common::require_kvm;

/// Programs expected to differ from Linux for now, and why.
const EXPECTED_FAILURES: &[(&str, &str)] = &[
    (
        "dev_getrandom",
        "FAIL 27: (syscall(318, a, 32, 0x40)) == -1 && errno == (22)",
    ),
    ("dev_null", "FAIL 26: lseek(fd, 100, SEEK_SET) == 0"),
    (
        "dev_urandom",
        "FAIL 33: fstat(fd, &st) == 0 && major(st.st_rdev) == 1 && minor(st.st_rdev) == 8",
    ),
    (
        "dir_at",
        "FAIL 42: (unlinkat(sfd, \"h2\", 0x1)) == -1 && errno == (22)",
    ),
    (
        "dir_fstatat",
        "FAIL 35: (fstatat(dfd, \"f\", &a, 0x40000000)) == -1 && errno == (22)",
    ),
    (
        "dir_mkdir",
        "FAIL 51: fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode)",
    ),
    (
        "dir_notdir",
        "FAIL 28: (rmdir(\".\")) == -1 && errno == (22)",
    ),
    (
        "dir_rename",
        "FAIL 53: (rename(\".\", \"x\")) == -1 && errno == (16)",
    ),
    (
        "fault_path",
        "FAIL 36: symlink(\"target\", \"fault_path.d/link\") == 0",
    ),
    (
        "file_creat",
        "FAIL 41: (open(\"d\", 00 | 0100 | 0200, 0644)) == -1 && errno == (17)",
    ),
    ("file_dev", "FAIL 16: lseek(n, 100, SEEK_SET) == 0"),
    (
        "file_errors",
        "FAIL 38: (open(\"/dev/null\", 00 | 0200000)) == -1 && errno == (20)",
    ),
    (
        "file_ftruncate",
        "FAIL 51: (ftruncate(fd, -1)) == -1 && errno == (22)",
    ),
    ("file_rename", "FAIL 43: link(\"c\", \"c2\") == 0"),
    ("file_stat", "FAIL 39: link(\"f\", \"f2\") == 0"),
    ("file_sync", "FAIL 33: (fsync(p[0])) == -1 && errno == (22)"),
    (
        "file_unlink",
        "FAIL 23: fstat(fd, &st) == 0 && st.st_size == 8 && st.st_nlink == 0",
    ),
    ("id_session", "FAIL 15: getpgid(getppid()) > 0"),
    (
        "id_umask",
        "FAIL 27: fchmod(fd, 0777) == 0 && close(fd) == 0",
    ),
    (
        "mm_anon",
        "FAIL 52: mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL",
    ),
    ("mm_file", "FAIL 38: s != MAP_FAILED"),
    (
        "mm_madvise",
        "FAIL 30: madvise(p, 4 * 4096, 12345) == -1 && errno == EINVAL",
    ),
    ("mm_mprotect", "FAIL 57: !faults(rd, p) && sink == 'q'"),
    ("mm_mremap", "FAIL 40: pattern_ok(q, 2 * 4096)"),
    (
        "path_empty",
        "FAIL 30: (link(\"f\", \"\")) == -1 && errno == (2)",
    ),
    ("path_relative", "FAIL 43: has(\"f\", \"in sub\")"),
    (
        "path_toolong",
        "FAIL 51: (stat(p, &st)) == -1 && errno == (36)",
    ),
    ("pipe_epipe_ign", "FAIL 17: write(p[1], \"x\", 0) == 0"),
    (
        "pipe_fstat",
        "FAIL 16: r.st_ino == w.st_ino && r.st_dev == w.st_dev",
    ),
    ("pipe_sigpipe", "FAIL 46: write(p[1], \"z\", 0) == 0"),
    ("process_vfork", "FAIL 16: shared == 2"),
    ("signal_bus", "FAIL 46: p != MAP_FAILED"),
    (
        "signal_itimer",
        "FAIL 60: setitimer(ITIMER_VIRTUAL, &it, NULL) == 0",
    ),
    (
        "signal_kill",
        "FAIL 17: (kill(999999, 65)) == -1 && errno == (3)",
    ),
    ("signal_mask", "FAIL 43: rt == 3"),
    (
        "signal_raw_action",
        "FAIL 29: old.mask == 1UL << (SIGINT - 1)",
    ),
    ("signal_segv", "FAIL 67: faults(run, p)"),
    (
        "signal_siginfo",
        "FAIL 60: (syscall(129, 999999, 10, &si)) == -1 && errno == (1)",
    ),
    ("signal_timedwait", "FAIL 54: ok"),
    (
        "sys_prctl",
        "FAIL 19: prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0",
    ),
    (
        "sys_sched",
        "FAIL 17: (syscall(204, 999999, sizeof set2, &set2)) == -1 && errno == (3)",
    ),
    (
        "sys_sysinfo",
        "FAIL 18: (unsigned long long)si.totalram * si.mem_unit >= 16ULL << 20",
    ),
    ("time_cputime", "FAIL 41: clock_getcpuclockid(0, &cid) == 0"),
    (
        "time_getres",
        "FAIL 34: (syscall(227, 100, &t)) == -1 && errno == (22)",
    ),
];

/// Longest a program may take on the cluster.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Programs run on the cluster at once.
const WORKERS: usize = 4;

/// Exit status as a shell reports it (128 + N for death by signal N).
fn code(o: &Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    o.status
        .code()
        .or_else(|| o.status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// Runs `cmd` to completion or `TIMEOUT` (then kills it: status -1).
fn run_bounded(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        match child.try_wait().expect("wait") {
            Some(_) => return child.wait_with_output().expect("output"),
            None if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let mut o = child.wait_with_output().expect("output");
                o.stderr.extend_from_slice(b"\n(timed out)");
                return o;
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// The program natively, in an empty directory of its own, with only stdio open.
fn native(bin: &str) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = Command::new(bin);
    c.current_dir(dir.path()).env_clear();
    // SAFETY: close_range in the child between fork and exec only closes descriptors; it
    // keeps the test harness's (cargo's jobserver, ...) from leaking into the program.
    unsafe {
        c.pre_exec(|| {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    run_bounded(c)
}

fn on_cluster(rt: &Rt, name: &str, bin: &str) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lego"));
    // A small ExCache each, so that the workers fit on the pComponent together.
    c.args(["run", "--name", name, "--excache", "8M", bin])
        .env("LEGO_RUNTIME_DIR", rt.dir.path())
        .env("LEGO_STATE_DIR", rt.state.path())
        .env_remove("LEGO_CLUSTER");
    run_bounded(c)
}

/// Why two runs differ, in a few lines; `None` if they do not.
fn difference(want: &Output, got: &Output) -> Option<String> {
    if want.stdout == got.stdout && code(want) == code(got) {
        return None;
    }
    let w = String::from_utf8_lossy(&want.stdout);
    let g = String::from_utf8_lossy(&got.stdout);
    let mut msg = format!(
        "status {} natively, {} on the cluster",
        code(want),
        code(got)
    );
    let (wl, gl): (Vec<&str>, Vec<&str>) = (w.lines().collect(), g.lines().collect());
    if let Some(i) = (0..wl.len().max(gl.len())).find(|&i| wl.get(i) != gl.get(i)) {
        msg += &format!(
            "; line {}: native {:?}, cluster {:?}",
            i + 1,
            wl.get(i).unwrap_or(&"<none>"),
            gl.get(i).unwrap_or(&"<none>")
        );
    }
    let err = String::from_utf8_lossy(&got.stderr);
    if !err.trim().is_empty() {
        msg += &format!("; stderr: {}", err.trim());
    }
    Some(msg)
}

#[test]
fn conformance_suite_matches_linux() {
    require_kvm();
    let rt = Rt::new();
    let name = "conf";
    let o = rt.lego(&["up", "--name", name]);
    assert!(o.status.success(), "lego up: {}", common::stderr(&o));

    // The first run creates the default vNode: before the workers race to.
    let first = testprogs::path("hello-musl").display().to_string();
    let _ = on_cluster(&rt, name, &first);

    let progs = testprogs::conformance();
    assert!(!progs.is_empty(), "the suite is empty");
    let queue = Mutex::new(progs.clone());
    // stem -> failures (one line per libc).
    let results: Mutex<BTreeMap<String, Vec<String>>> = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                loop {
                    let Some((_, stem)) = queue.lock().expect("queue").pop() else {
                        return;
                    };
                    let mut fails = Vec::new();
                    // musl then glibc: they work in the same directory of the vNode.
                    for libc in ["musl", "glibc"] {
                        let bin = testprogs::path(&format!("conf-{stem}-{libc}"))
                            .display()
                            .to_string();
                        let want = native(&bin);
                        let got = on_cluster(&rt, name, &bin);
                        if let Some(d) = difference(&want, &got) {
                            fails.push(format!("{libc}: {d}"));
                        }
                    }
                    results.lock().expect("results").insert(stem, fails);
                }
            });
        }
    });
    let _ = rt.lego(&["down", "--name", name]);

    let results = results.into_inner().expect("results");
    let expected: BTreeMap<&str, &str> = EXPECTED_FAILURES.iter().copied().collect();
    let mut families: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    let (mut passed, mut failed) = (0, 0);
    let mut problems = Vec::new();
    let mut now_passing = Vec::new();
    let mut moved = Vec::new();
    for (family, stem) in &progs {
        let fails = &results[stem];
        let f = families.entry(family).or_default();
        if fails.is_empty() {
            passed += 1;
            f.0 += 1;
            if expected.contains_key(stem.as_str()) {
                // Not a failure (a timing-sensitive program may pass on one run and not the
                // next), but said so that the list gets pruned.
                now_passing.push(stem.as_str());
            }
        } else {
            failed += 1;
            f.1 += 1;
            match expected.get(stem.as_str()) {
                None => {
                    for l in fails {
                        problems.push(format!("{stem}: {l}"));
                    }
                }
                // Still failing, but somewhere else now: said so that the reason is updated.
                // (The lines quote the programs' output with Debug escapes.)
                Some(why) if !fails.iter().any(|l| l.replace("\\\"", "\"").contains(why)) => {
                    moved.push(format!("{stem}: now {}", fails[0]));
                }
                Some(_) => {}
            }
        }
    }
    for stem in expected.keys() {
        if !results.contains_key(*stem) {
            problems.push(format!(
                "{stem} is in EXPECTED_FAILURES but not in the suite"
            ));
        }
    }
    println!(
        "conformance: {passed} passed, {failed} failed ({} expected)",
        expected.len()
    );
    for (family, (p, f)) in &families {
        println!("  {family:<10} {p:>3} passed {f:>3} failed");
    }
    if !now_passing.is_empty() {
        println!(
            "expected to fail but passed (take them off EXPECTED_FAILURES): {}",
            now_passing.join(" ")
        );
    }
    if !moved.is_empty() {
        println!(
            "expected failures that fail elsewhere now (update their reasons):\n  {}",
            moved.join("\n  ")
        );
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
