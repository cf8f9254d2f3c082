//! Debian's unmodified `busybox-static` and `bash-static` in a vNode: the OS-course busybox
//! command list, busybox pipelines (`seq | sort | uniq | md5sum`, `find`, `grep -r`, `sed`,
//! `awk`, `tar | tar`, `xargs`) and a bash script (functions, arrays, subshells, command
//! substitution, pipes, traps, `wait`, 200 fork+exec) print exactly what they print natively,
//! with the same exit status. The scripts are in `tests/shells/`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::cluster::Rt;
use common::{require_kvm, stderr};

const BUSYBOX: &str = "/bin/busybox";
const BASH: &str = "/bin/bash-static";

fn script(name: &str) -> String {
    format!("{}/../tests/shells/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The script natively, in a scratch directory, with a clean environment.
fn native(shell: &str, name: &str) -> Output {
    // `busybox sh SCRIPT`, `bash SCRIPT`.
    let applet: &[&str] = if shell == BUSYBOX { &["sh"] } else { &[] };
    let dir = tempfile::tempdir().expect("tempdir");
    Command::new(shell)
        .args(applet)
        .arg(script(name))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .output()
        .expect("run the shell natively")
}

fn compare(what: &str, want: &Output, got: &Output) {
    let (w, g) = (
        String::from_utf8_lossy(&want.stdout),
        String::from_utf8_lossy(&got.stdout),
    );
    if w != g {
        let line = w
            .lines()
            .zip(g.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(w.lines().count().min(g.lines().count()));
        panic!(
            "{what}: output differs from the native run at line {}:\n native: {:?}\n cluster: {:?}\n\
             stderr: {}",
            line + 1,
            w.lines().nth(line),
            g.lines().nth(line),
            stderr(got)
        );
    }
    assert_eq!(
        want.status.code(),
        got.status.code(),
        "{what}: exit status; stderr: {}",
        stderr(got)
    );
}

#[test]
fn busybox_and_bash_match_native_runs() {
    require_kvm();
    for (bin, pkg) in [(BUSYBOX, "busybox-static"), (BASH, "bash-static")] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: install Debian's {pkg} (`.ci/run` does)"
        );
    }
    let rt = Rt::new();
    let name = "shells";
    let o = rt.lego(&["up", "--name", name]);
    assert!(o.status.success(), "lego up: {}", stderr(&o));
    // The programs and scripts go into the default vNode (created by the first run).
    let o = rt.lego(&["run", "--name", name, BUSYBOX, "true"]);
    assert!(o.status.success(), "first run: {}", stderr(&o));
    for (local, remote) in [
        (BUSYBOX.to_string(), "default:/bin/busybox"),
        (BASH.to_string(), "default:/bin/bash"),
        (script("busybox_cmds.sh"), "default:/busybox_cmds.sh"),
        (script("pipelines.sh"), "default:/pipelines.sh"),
        (script("features.sh"), "default:/features.sh"),
    ] {
        let o = rt.lego(&["put", "--name", name, "-p", &local, remote]);
        assert!(o.status.success(), "lego put {local}: {}", stderr(&o));
    }
    let on_cluster = |args: &[&str]| {
        let mut all = vec!["run", "--name", name];
        all.extend_from_slice(args);
        rt.lego(&all)
    };
    for s in ["busybox_cmds.sh", "pipelines.sh"] {
        let want = native(BUSYBOX, s);
        assert!(
            want.status.success(),
            "{s} fails natively: {}",
            stderr(&want)
        );
        let got = on_cluster(&["default:/bin/busybox", "sh", &format!("/{s}")]);
        compare(s, &want, &got);
    }
    let want = native(BASH, "features.sh");
    let got = on_cluster(&["default:/bin/bash", "/features.sh"]);
    compare("features.sh", &want, &got);
    assert!(
        String::from_utf8_lossy(&got.stdout).contains("fork+exec loop: 200 of 200"),
        "the loop of fork+exec did not run 200 times"
    );
    let o = rt.lego(&["down", "--name", name]);
    assert!(o.status.success(), "lego down: {}", stderr(&o));
}
