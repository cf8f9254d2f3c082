//! `lego run`: unmodified static Linux programs on real clusters, their output compared with
//! the same binaries run natively on this host.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::cluster::Rt;
use common::{require_kvm, stderr, stdout};

fn prog(name: &str) -> String {
    testprogs::path(name).display().to_string()
}

/// `lego run --name NAME ARGS...` with `input` on stdin.
fn run_with(rt: &Rt, name: &str, args: &[&str], input: &[u8]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lego"));
    c.arg("run")
        .args(["--name", name])
        .args(args)
        .env("LEGO_RUNTIME_DIR", rt.dir.path())
        .env("LEGO_STATE_DIR", rt.state.path())
        .env_remove("LEGO_CLUSTER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("run lego");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let o = child.wait_with_output().expect("wait for lego run");
    let _ = feeder.join();
    o
}

fn run(rt: &Rt, name: &str, args: &[&str]) -> Output {
    run_with(rt, name, args, b"")
}

fn native(name: &str, args: &[&str]) -> Output {
    Command::new(prog(name))
        .args(args)
        .env_clear()
        .output()
        .expect("run natively")
}

fn status(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn up(rt: &Rt, name: &str, extra: &[&str]) {
    let mut args = vec!["up", "--name", name];
    args.extend_from_slice(extra);
    let o = rt.lego(&args);
    assert!(o.status.success(), "lego up: {}", stderr(&o));
}

#[test]
fn static_programs_run_with_their_memory_on_mcomponents() {
    require_kvm();
    let rt = Rt::new();
    let name = "run";
    up(&rt, name, &["--mmon-mem", "1G", "--pmon-vcpus", "2"]);

    // Hello, musl and glibc: output and exit status (the number of arguments).
    for libc in ["musl", "glibc"] {
        let p = prog(&format!("hello-{libc}"));
        let o = run(&rt, name, &[&p, "a", "b"]);
        assert_eq!(status(&o), 3, "{libc}: {}", stderr(&o));
        assert_eq!(stdout(&o), format!("hello from lego, argc=3 argv0={p}\n"));
    }
    // A Rust program for x86_64-unknown-linux-musl (a static PIE).
    let o = run(&rt, name, &[&prog("rust-hello"), "x"]);
    assert_eq!(status(&o), 3, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "rust says hello: 2 args, sum 5000050000\narg x\n"
    );

    // argv, envp and auxv as the program sees them: a clean environment plus --env.
    let o = run(
        &rt,
        name,
        &["-e", "LEGO_TEST=1", &prog("args-glibc"), "one", "two words"],
    );
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "argv[1]=one\n",
        "argv[2]=two words\n",
        "env=LEGO_TEST=1\n",
        "env=HOME=/\n",
        "AT_PAGESZ=4096\n",
        "AT_PHENT=56\n",
        "AT_PHNUM_nonzero=1\n",
        "AT_ENTRY_nonzero=1\n",
        "AT_RANDOM_nonzero=1\n",
        "AT_UID=0 AT_EUID=0 AT_GID=0 AT_EGID=0 AT_SECURE=0\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(
        out.contains(&format!("AT_EXECFN={}\n", prog("args-glibc"))),
        "{out}"
    );

    // Stdin to stdout: 16 MiB of pseudo-random bytes come back identical.
    let mut data = vec![0u8; 16 << 20];
    let mut x = 0x1234_5678_9abc_def0u64;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let o = run_with(&rt, name, &[&prog("cat-musl")], &data);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    assert!(
        o.stdout == data,
        "16 MiB through cat: {} bytes came back",
        o.stdout.len()
    );
    let o = run_with(&rt, name, &[&prog("cat-glibc")], b"hi\n");
    assert_eq!(stdout(&o), "hi\n");

    // Files in the vNode: written by one run, read by the next and by `lego get`.
    let o = run(&rt, name, &[&prog("files-musl"), "write", "/work"]);
    assert_eq!(status(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let o = run(&rt, name, &[&prog("files-glibc"), "read", "/work"]);
    assert_eq!(status(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("read 1000 lines"), "{}", stdout(&o));
    let local = rt.dir.path().join("data.txt");
    let g = rt.lego(&[
        "get",
        "--name",
        name,
        "default:/work/data.txt",
        &local.display().to_string(),
    ]);
    assert!(g.status.success(), "{}", stderr(&g));
    let text = std::fs::read_to_string(&local).expect("read the copy");
    assert!(text.starts_with("line 0 of the file\n") && text.ends_with("line 999 of the file\n"));

    // mmap, munmap, mremap, mprotect, madvise, brk.
    for libc in ["musl", "glibc"] {
        let o = run(&rt, name, &[&prog(&format!("mm-{libc}"))]);
        assert_eq!(status(&o), 0, "{libc}: {}{}", stdout(&o), stderr(&o));
        assert_eq!(stdout(&o), stdout(&native(&format!("mm-{libc}"), &[])));
    }

    // Time, identity and resources: sysinfo, times, getrusage, getgroups, getcpu, affinity.
    for libc in ["musl", "glibc"] {
        let name_l = format!("resources-{libc}");
        let o = run(&rt, name, &[&prog(&name_l)]);
        assert_eq!(status(&o), 0, "{libc}: {}{}", stdout(&o), stderr(&o));
        assert_eq!(stdout(&o), stdout(&native(&name_l, &[])), "{}", stderr(&o));
    }

    // Two floating-point loops side by side on the one pComponent, each preempted many times:
    // neither sees the other's x87/SSE registers.
    let fp = |libc: &str, seed: &str| {
        let args = [seed, "300000000"];
        let o = run(&rt, name, &[&prog(&format!("fp-{libc}")), args[0], args[1]]);
        assert_eq!(status(&o), 0, "fp {seed}: {}", stderr(&o));
        assert_eq!(stdout(&o), stdout(&native(&format!("fp-{libc}"), &args)));
    };
    std::thread::scope(|s| {
        s.spawn(|| fp("glibc", "3"));
        fp("musl", "5");
    });

    // Signals to handlers: raise, kill, masks, faults (siglongjmp out), the alternate stack,
    // alarm, setitimer, interrupted sleeps, sigsuspend, FPU state across handlers.
    for libc in ["musl", "glibc"] {
        let name_l = format!("signals-{libc}");
        let o = run(&rt, name, &[&prog(&name_l)]);
        assert_eq!(status(&o), 0, "{libc}: {}{}", stdout(&o), stderr(&o));
        assert_eq!(stdout(&o), stdout(&native(&name_l, &[])), "{}", stderr(&o));
    }
    // POSIX threads: join, a contended mutex, condition variables, a barrier, TLS,
    // pthread_kill to one thread, detached threads, fork from a threaded process. The first
    // part splits a computation over 4 threads: on this 2-vCPU pComponent their CPU time
    // exceeds the wall time (they ran in parallel, the boot CPU and the worker).
    for libc in ["musl", "glibc"] {
        let name_l = format!("threads-{libc}");
        let args = ["4", "600000000"];
        let o = run(&rt, name, &[&prog(&name_l), args[0], args[1]]);
        assert_eq!(status(&o), 0, "{libc}: {}{}", stdout(&o), stderr(&o));
        assert_eq!(
            stdout(&o),
            stdout(&native(&name_l, &args)),
            "{}",
            stderr(&o)
        );
        let ratio = stderr(&o)
            .lines()
            .find_map(|l| l.strip_prefix("parallel: "))
            .and_then(|l| l.rsplit("ratio ").next())
            .and_then(|r| r.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{libc}: no parallel line: {}", stderr(&o)));
        eprintln!("threads-{libc}: CPU time / wall time {ratio:.2}");
        assert!(
            ratio > 1.2,
            "{libc}: the threads did not run in parallel: {}",
            stderr(&o)
        );
    }

    // Ended by a signal: the shell's status and line, no fault address.
    for (mode, code, line) in [
        ("abort", 134, "Aborted"),
        ("resethand", 138, "User defined signal 1"),
        ("term", 143, "Terminated"),
    ] {
        let o = run(&rt, name, &[&prog("signals-musl"), mode]);
        assert_eq!(status(&o), code, "{mode}: {}", stderr(&o));
        assert_eq!(stderr(&o).trim_end(), line, "{mode}");
    }
    // Ctrl-C on `lego run` reaches the program's handler.
    {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_lego"))
            .args(["run", "--name", name, &prog("signals-glibc"), "wait-int"])
            .env("LEGO_RUNTIME_DIR", rt.dir.path())
            .env("LEGO_STATE_DIR", rt.state.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run lego");
        let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("read the first line");
        assert_eq!(line, "ready\n");
        let pid = i32::try_from(child.id()).expect("pid");
        // SAFETY: signals our own child process.
        unsafe { libc::kill(pid, libc::SIGINT) };
        // Bounded: a lost Ctrl-C fails the test in a minute instead of hanging it.
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watch = done.clone();
        let watchdog = std::thread::spawn(move || {
            for _ in 0..600 {
                std::thread::sleep(std::time::Duration::from_millis(100));
                if watch.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
            }
            // SAFETY: kills our own child process, still unreaped (we wait for it below).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        });
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).expect("read the rest");
        let st = child.wait().expect("wait");
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = watchdog.join();
        assert_eq!(
            st.code(),
            Some(7),
            "Ctrl-C did not end the program within a minute: {rest}"
        );
        assert_eq!(rest, "SIGINT handled\n");
    }

    // A wild pointer: SIGSEGV, exit 139, a shell's message; the cluster carries on.
    let o = run(&rt, name, &[&prog("wild-musl"), "dead0000"]);
    assert_eq!(status(&o), 139, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Segmentation fault at 0xdead0000 (rip 0x"),
        "{}",
        stderr(&o)
    );
    let o = run(&rt, name, &[&prog("hello-musl")]);
    assert_eq!(status(&o), 1, "the next run: {}", stderr(&o));

    // The monitor's memory is out of reach: its image, its page tables (the boot PML4 in the
    // direct map), the ExCache frames (other processes' lines).
    let logs = stdout(&rt.lego(&["logs", "--name", name, "p0"]));
    let excache_gpa = logs
        .lines()
        .find_map(|l| l.split("ExCache 64 MiB at 0x").nth(1))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .expect("the ExCache's address in p0's log");
    let excache = format!("{:x}", 0xffff_8880_0000_0000u64 + excache_gpa);
    for args in [
        vec!["ffffffff80200000"],
        vec!["ffffffff80200000", "write"],
        vec!["ffff888000004000", "write"],
        vec![excache.as_str()],
        vec![excache.as_str(), "write"],
    ] {
        let mut v = vec![prog("kernel-musl")];
        v.extend(args.iter().map(|s| s.to_string()));
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        let o = run(&rt, name, &v);
        assert_eq!(status(&o), 139, "{args:?}: {}{}", stdout(&o), stderr(&o));
        assert!(
            !stdout(&o).contains("monitor's memory"),
            "{args:?}: {}",
            stdout(&o)
        );
    }

    // An unknown syscall: ENOSYS, and one line in the pComponent's log.
    let o = run(&rt, name, &[&prog("nosys-glibc")]);
    assert_eq!(status(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let logs = stdout(&rt.lego(&["logs", "--name", name, "p0"]));
    assert!(
        logs.contains("unknown syscall 425 (io_uring_setup)"),
        "{logs}"
    );

    // ELF files that are not static x86-64 executables: one clear line each, status 126.
    let hello = std::fs::read(prog("hello-glibc")).expect("read hello");
    let bad = rt.dir.path().join("bad");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (hello[..100].to_vec(), "truncated"),
        (
            b"#!/bin/sh\necho hi\n garbage garbage garbage".to_vec(),
            "not an ELF",
        ),
        (
            {
                let mut h = hello.clone();
                h[18] = 183; // e_machine: EM_AARCH64
                h
            },
            "aarch64",
        ),
    ];
    for (bytes, want) in cases {
        std::fs::write(&bad, &bytes).expect("write a bad program");
        let o = run(&rt, name, &[&bad.display().to_string()]);
        assert_eq!(status(&o), 126, "{want}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.to_lowercase().contains(&want.to_lowercase()),
            "{want}: {err}"
        );
    }
    if std::path::Path::new("/bin/true").exists() {
        let o = run(&rt, name, &["/bin/true"]);
        assert_eq!(status(&o), 126, "{}", stderr(&o));
        assert!(
            stderr(&o).contains(
                "dynamically linked (needs /lib64/ld-linux-x86-64.so.2): build it with -static"
            ),
            "{}",
            stderr(&o)
        );
    }
    let o = run(&rt, name, &["/no/such/program"]);
    assert_eq!(status(&o), 127, "{}", stderr(&o));

    // A working set four times the ExCache: each policy evicts and flushes, both mComponents
    // hold part of the memory, and the output is the native run's, byte for byte.
    let n = "524288"; // 2 MiB of integers + 2 MiB of merge buffer
    let want = native("sort-musl", &[n]);
    assert!(want.status.success());
    // Each with another fault-around width: pages mapped around first touches are evicted
    // and refilled like the others.
    for (policy, around_width) in [("fifo", "8"), ("lru", "16"), ("random", "1")] {
        let o = run(
            &rt,
            name,
            &[
                "--excache",
                "1M",
                "--policy",
                policy,
                "--fault-around",
                around_width,
                "--json",
                &prog("sort-musl"),
                n,
            ],
        );
        assert_eq!(status(&o), 0, "{policy}: {}", stderr(&o));
        let out = stdout(&o);
        let (program, json) = out.split_at(out.find('{').expect("JSON at the end"));
        assert_eq!(program.as_bytes(), want.stdout, "{policy}");
        let v: serde_json::Value = serde_json::from_str(json).expect("run JSON");
        let s = &v["stats"];
        for k in ["misses", "evictions", "flushes", "plocal_fills"] {
            assert!(s[k].as_u64().unwrap_or(0) > 0, "{policy}: {k} in {s}");
        }
        let around = s["fault_around"].as_u64().unwrap_or(0);
        assert_eq!(
            around > 0,
            around_width != "1",
            "{policy}: fault_around in {s}"
        );
        let owners = s["owners"].as_array().expect("owners");
        // The data is in one vRegion, the stack in another (on the other mComponent). FIFO
        // and LRU always evict stack lines at some point; random eviction may keep the few
        // hot ones all along, and then only the data's owner saw traffic (it did once).
        let want_owners = if policy == "random" { 1..=2 } else { 2..=2 };
        assert!(
            want_owners.contains(&owners.len()),
            "{policy}: memory on both mComponents: {s}"
        );
        assert!(
            owners
                .iter()
                .any(|o| o["fetched"].as_u64().unwrap_or(0) > 0),
            "{policy}: {s}"
        );
        if policy != "random" {
            for o in owners {
                assert!(o["fetched"].as_u64().unwrap_or(0) > 0, "{policy}: {s}");
            }
        }
    }

    // --stats prints the table on stderr.
    let o = run(&rt, name, &["--stats", &prog("hello-glibc")]);
    let err = stderr(&o);
    for k in [
        "ExCache",
        "misses",
        "p-local",
        "evictions",
        "miss ",
        "syscalls",
    ] {
        assert!(err.contains(k), "--stats without {k}: {err}");
    }
    let _ = rt.lego(&["down", "--name", name]);
}

#[test]
fn output_into_a_closed_pipe_and_a_failed_pcomponent_end_the_run() {
    require_kvm();
    let rt = Rt::new();
    let name = "ends";
    up(&rt, name, &[]);
    // A writer whose reader goes away: SIGPIPE, as in a shell pipeline.
    let cmd = format!(
        "{} run --name {name} {} | head -c 20 > /dev/null; echo ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_lego"),
        prog("yes-musl")
    );
    let o = Command::new("bash")
        .args(["-c", &cmd])
        .env("LEGO_RUNTIME_DIR", rt.dir.path())
        .env("LEGO_STATE_DIR", rt.state.path())
        .output()
        .expect("bash");
    assert_eq!(stdout(&o).trim(), "141", "{}", stderr(&o));
    // A program that computes for longer than the managers' hang timeout (1 s) without a
    // syscall is preempted by the timer: the monitor keeps reporting and the result is right.
    let n = "700000000";
    let o = run(&rt, name, &["--stats", &prog("spin-musl"), n]);
    assert_eq!(status(&o), 0, "{}", stderr(&o));
    let first = |o: &Output| stdout(o).split_whitespace().next().map(str::to_owned);
    assert_eq!(
        first(&o),
        first(&native("spin-musl", &[n])),
        "{}",
        stderr(&o)
    );
    let err = stderr(&o);
    let interrupts: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("interrupts"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no interrupt count: {err}"));
    assert!(
        interrupts > 10,
        "a long computation was not preempted: {err}"
    );
    let st = rt.lego(&["status", "--name", name]);
    let p0 = stdout(&st)
        .lines()
        .find(|l| l.starts_with("p0 "))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        p0.contains("ready"),
        "p0 after a long computation: {}",
        stdout(&st)
    );
    // The pComponent dies under a running program: one line, status 1, its memory freed.
    let mut c = Command::new(env!("CARGO_BIN_EXE_lego"));
    c.args(["run", "--name", name, &prog("spin-musl"), "100000000000"])
        .env("LEGO_RUNTIME_DIR", rt.dir.path())
        .env("LEGO_STATE_DIR", rt.state.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().expect("lego run");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let k = rt.lego(&["kill", "--name", name, "p0"]);
    assert!(k.status.success(), "{}", stderr(&k));
    let o = child.wait_with_output().expect("lego run");
    assert_eq!(status(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("p0 failed while running the program"), "{err}");
    let _ = rt.lego(&["down", "--name", name]);
}

#[test]
fn memory_runs_out_cleanly_and_interrupts_keep_registers() {
    require_kvm();
    let rt = Rt::new();
    let name = "small";
    up(
        &rt,
        name,
        &["-m", "1", "--mmon-mem", "192M", "--no-isolation"],
    );
    // An interrupt that lands in the return trampoline must not lose the program's
    // registers. Without isolation the entry switches no page table, so an interrupt owed at
    // entry (a doorbell of a flush reply, while the program faults on every page) arrives at
    // the trampoline's first instruction: when it lost them, one run in three hung.
    for _ in 0..3 {
        let o = Command::new("timeout")
            .arg("60")
            .arg(env!("CARGO_BIN_EXE_lego"))
            .args(["run", "--name", name, "--excache", "2M", "--no-piggyback"])
            .args([prog("missbench-glibc").as_str(), "dirty", "8192"])
            .env("LEGO_RUNTIME_DIR", rt.dir.path())
            .env("LEGO_STATE_DIR", rt.state.path())
            .stdin(Stdio::null())
            .output()
            .expect("lego run");
        assert_eq!(status(&o), 0, "{}", stderr(&o));
        assert!(stdout(&o).starts_with("dirty 8192 "), "{}", stdout(&o));
    }
    // Allocates and touches 16 MiB at a time until something gives: the program sees malloc
    // fail or is killed; it never hangs, and the next program runs.
    let o = run(&rt, name, &[&prog("alloc-musl"), "16"]);
    let st = status(&o);
    assert!(
        st == 0 && stdout(&o).contains("malloc failed") || st > 128,
        "status {st}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    let o = run(&rt, name, &[&prog("hello-glibc")]);
    assert_eq!(status(&o), 1, "the next run: {}", stderr(&o));
    // A fork bomb meets the process limit (EAGAIN), its children die with it, and the
    // cluster carries on.
    let o = run(&rt, name, &[&prog("forkbomb-musl")]);
    assert_eq!(status(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("then Resource temporarily unavailable"),
        "{}",
        stdout(&o)
    );
    let o = run(&rt, name, &[&prog("hello-glibc")]);
    assert_eq!(status(&o), 1, "the run after the fork bomb: {}", stderr(&o));
    // Far more memory than the cluster has: refused, and the program goes on.
    let o = run(&rt, name, &[&prog("hugemap-musl")]);
    assert_eq!(status(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o),
        "mmap 1 TiB: ENOMEM\nmmap 4 TiB: ENOMEM\nbrk +1 TiB: refused\n1 MiB after: ok\n"
    );
    // Random syscalls with random arguments for 10 s (children that die are replaced): no
    // monitor crashes, and the next program runs.
    let o = run(&rt, name, &[&prog("sysfuzz-musl"), "10", "7"]);
    assert_eq!(status(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("sysfuzz: done"), "{}", stdout(&o));
    eprintln!("{}", stderr(&o).trim());
    let o = run(&rt, name, &[&prog("hello-glibc")]);
    assert_eq!(status(&o), 1, "the run after the fuzzer: {}", stderr(&o));
    let st = rt.lego(&["status", "--name", name]);
    let text = stdout(&st);
    assert!(
        st.status.success() && !text.contains("failed") && !text.contains("restart"),
        "a component did not survive the fuzzer:\n{text}"
    );
    let _ = rt.lego(&["down", "--name", name]);
}

#[test]
fn without_a_cluster_run_says_how_to_start_one() {
    let rt = Rt::new();
    let o = run(&rt, "nothing", &[&prog("hello-musl")]);
    assert_eq!(status(&o), 1);
    assert!(stderr(&o).contains("lego up"), "{}", stderr(&o));
}

#[test]
fn bench_abi_reports_both_sides() {
    require_kvm();
    let rt = Rt::new();
    let v = rt.json(&[
        "bench",
        "abi",
        "--syscalls",
        "300",
        "--forks",
        "3",
        "--pipe-mib",
        "2",
        "--json",
    ]);
    for key in ["syscall_getpid", "fork_exec_wait"] {
        let r = &v[key];
        for side in ["pcomponent", "host"] {
            let p50 = r[side]["p50_ns"].as_f64().unwrap_or(-1.0);
            let p99 = r[side]["p99_ns"].as_f64().unwrap_or(-1.0);
            assert!(p50 > 0.0 && p99 >= p50, "{key} {side}: {v}");
        }
        assert!(r["ratio_p50"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
    }
    let pipe = &v["pipe_mb_per_s"];
    assert!(pipe["pcomponent"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
    assert!(pipe["host"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
    assert!(
        v["trap_floor"]["p50_ns"].as_f64().unwrap_or(0.0) > 0.0,
        "{v}"
    );
    // Its cluster is gone.
    let ls = rt.lego(&["ls"]);
    assert!(!stdout(&ls).contains("bench-abi"), "{}", stdout(&ls));
}

#[test]
fn ps_lists_processes_and_signal_reaches_one() {
    require_kvm();
    let rt = Rt::new();
    let name = "ps";
    up(&rt, name, &[]);
    // A program with 4 threads computing for a while, in the background.
    let child = Command::new(env!("CARGO_BIN_EXE_lego"))
        .args(["run", "--name", name])
        .args([prog("threads-musl").as_str(), "4", "40000000000"])
        .env("LEGO_RUNTIME_DIR", rt.dir.path())
        .env("LEGO_STATE_DIR", rt.state.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lego run");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let row = loop {
        let v = rt.json(&["ps", "--name", name, "--json"]);
        let found = v.as_array().and_then(|rows| {
            rows.iter()
                .find(|r| r["comm"] == "threads-musl" && r["threads"] == 5)
                .cloned()
        });
        if let Some(r) = found {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "lego ps never showed the program's 5 threads: {v}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(row["component"], "p0", "{row}");
    assert_eq!(row["pid"], row["session"], "{row}");
    assert!(row["excache_bytes"].as_u64().unwrap_or(0) > 0, "{row}");
    let pid = row["pid"].as_u64().expect("a pid").to_string();
    // The table as text has a line for it.
    let text = rt.lego(&["ps", "--name", name]);
    assert!(
        stdout(&text)
            .lines()
            .any(|l| l.contains("threads-musl") && l.contains(&pid)),
        "{}",
        stdout(&text)
    );
    // Bad requests: an unknown process, something that is not a signal.
    let o = rt.lego(&["signal", "--name", name, "999999", "TERM"]);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(stderr(&o).contains("no process 999999"), "{}", stderr(&o));
    let o = rt.lego(&["signal", "--name", name, &pid, "NOTASIGNAL"]);
    assert_eq!(status(&o), 2, "{}", stderr(&o));
    // SIGTERM ends it as a shell would see it.
    let o = rt.lego(&["signal", "--name", name, &pid, "SIGTERM"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = child.wait_with_output().expect("lego run ends");
    assert_eq!(status(&out), 143, "{}", stderr(&out));
    let _ = rt.lego(&["down", "--name", name]);
}
