//! `lego boot`: each monitor boots standalone on /dev/kvm, reports ready, and powers off; faults
//! and bad input are reported clearly.

mod common;

use common::*;

#[test]
fn each_role_boots_and_reports_ready() {
    require_kvm();
    for (role, vcpus, mem) in [
        ("pmon", 2, 256u64 << 20),
        ("mmon", 1, 2u64 << 30),
        ("smon", 1, 128u64 << 20),
    ] {
        let r = boot_json(&["--role", role]);
        assert_eq!(r["role"], role);
        assert_eq!(r["vcpus"], vcpus, "{r}");
        assert_eq!(r["mem_bytes"], mem, "{r}");
        let online: Vec<u64> = r["cpus_online"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(online, (0..vcpus).collect::<Vec<u64>>(), "{r}");
        let platform = r["platform"].as_str().unwrap();
        assert!(platform == "kvm" || platform == "pvm", "{r}");
        let ready = r["ready_us"].as_f64().unwrap();
        assert!(ready > 0.0 && ready < 30e6, "{r}");
        if role == "pmon" {
            assert_eq!(r["excache_bytes"], 64u64 << 20, "{r}");
        }
    }
}

#[test]
fn kernel_code_runs_within_2x_of_user_code() {
    require_kvm();
    let r = boot_json(&["--role", "smon"]);
    let c = &r["calibration"];
    let cpl0 = c["cpl0_ns_per_iter"].as_f64().unwrap();
    let cpl3 = c["cpl3_ns_per_iter"].as_f64().unwrap();
    assert!(cpl0 > 0.0 && cpl3 > 0.0, "{r}");
    assert!(
        cpl0 <= 2.0 * cpl3,
        "CPL0 {cpl0} ns/iter is not within 2x of CPL3 {cpl3} ns/iter: {r}"
    );
    if r["platform"] == "pvm" {
        assert_eq!(
            r["vif"], true,
            "on PVM kernel code is native only with the VIF: {r}"
        );
    }
}

#[test]
fn four_vcpus_all_report_in() {
    require_kvm();
    let o = run(&["boot", "--role", "pmon", "--vcpus", "4", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["cpus_online"], serde_json::json!([0, 1, 2, 3]), "{r}");
    let console = stderr(&o);
    for cpu in 1..4 {
        assert!(
            console.contains(&format!("[p0] cpu {cpu} online (apic id {cpu})")),
            "{console}"
        );
    }
    assert!(console.contains("[p0] cpus online: 0xf of 4"), "{console}");
}

#[test]
fn page_fault_in_the_monitor_is_reported_with_vector_and_rip() {
    require_kvm();
    let o = run(&[
        "boot",
        "--role",
        "mmon",
        "--inject-fault",
        "pagefault",
        "-q",
    ]);
    assert_one_line_error(
        &o,
        3,
        "#PF page fault (vector 14) on cpu 0 at rip 0xffffffff8",
    );
    assert!(
        stderr(&o).contains("address 0x7fffdeadb000"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn invalid_opcode_and_panic_are_reported() {
    require_kvm();
    let o = run(&["boot", "--role", "smon", "--inject-fault", "ud", "-q"]);
    assert_one_line_error(&o, 3, "#UD invalid opcode (vector 6)");
    let o = run(&["boot", "--role", "smon", "--inject-fault", "panic", "-q"]);
    assert_one_line_error(
        &o,
        3,
        "guest panicked on cpu 0: panicked at guest-rt/src/boot.rs",
    );
    assert!(stderr(&o).contains("injected panic"));
}

#[test]
fn missing_kvm_device_is_one_clear_line() {
    let o = run(&["boot", "--role", "smon", "--kvm-device", "/nonexistent/kvm"]);
    assert_one_line_error(&o, 1, "/nonexistent/kvm does not exist");
}

#[test]
fn kvm_device_without_permission_is_one_clear_line() {
    require_kvm();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let o = if root {
        // Root may open anything: drop to nobody, for whom /dev/kvm (0600 or 0660 root) is closed.
        let meta = std::fs::metadata("/dev/kvm").unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            meta.permissions().mode() & 0o006,
            0,
            "/dev/kvm is open to everyone; this test needs it not to be"
        );
        std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                env!("CARGO_BIN_EXE_lego"),
            ])
            .args(["boot", "--role", "smon"])
            .output()
            .expect("setpriv")
    } else {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("kvm");
        std::fs::write(&dev, b"").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dev, std::fs::Permissions::from_mode(0o000)).unwrap();
        run(&[
            "boot",
            "--role",
            "smon",
            "--kvm-device",
            dev.to_str().unwrap(),
        ])
    };
    assert_one_line_error(&o, 1, "permission denied opening");
}

#[test]
fn a_file_that_is_not_kvm_is_refused() {
    let o = run(&["boot", "--role", "smon", "--kvm-device", "/dev/null"]);
    assert_one_line_error(&o, 1, "/dev/null is not a usable KVM device");
}

#[test]
fn bad_images_are_refused() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["boot", "--role", "smon", "--image", "/nonexistent/image"]);
    assert_one_line_error(
        &o,
        1,
        "guest image /nonexistent/image: cannot be read: no such file",
    );

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a kernel\n").unwrap();
    let o = run(&["boot", "--role", "smon", "--image", text.to_str().unwrap()]);
    assert_one_line_error(&o, 1, "not an ELF file");

    let mut arm = images::SMON.to_vec();
    arm[18..20].copy_from_slice(&183u16.to_le_bytes());
    let arm_path = dir.path().join("aarch64.elf");
    std::fs::write(&arm_path, &arm).unwrap();
    let o = run(&[
        "boot",
        "--role",
        "smon",
        "--image",
        arm_path.to_str().unwrap(),
    ]);
    assert_one_line_error(
        &o,
        1,
        "wrong architecture: ELF machine 183 (aarch64), expected x86-64",
    );

    let mut truncated = images::SMON.to_vec();
    truncated.truncate(2000);
    let trunc_path = dir.path().join("truncated.elf");
    std::fs::write(&trunc_path, &truncated).unwrap();
    let o = run(&[
        "boot",
        "--role",
        "smon",
        "--image",
        trunc_path.to_str().unwrap(),
    ]);
    assert_one_line_error(&o, 1, "malformed");
}

#[test]
fn a_built_in_image_of_another_role_still_boots_from_a_file() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smon.elf");
    std::fs::write(&path, images::SMON).unwrap();
    let r = boot_json(&["--role", "smon", "--image", path.to_str().unwrap()]);
    assert_eq!(r["role"], "smon");
}

#[test]
fn memory_too_small_for_the_role() {
    require_kvm();
    let o = run(&["boot", "--role", "mmon", "--mem", "16M"]);
    assert_one_line_error(
        &o,
        1,
        "mmon needs at least 64 MiB of memory, 16 MiB requested",
    );
    let o = run(&["boot", "--role", "pmon", "--mem", "64M"]);
    assert_one_line_error(&o, 1, "ExCache of 64 MiB does not fit in 64 MiB");
}

#[test]
fn more_vcpus_than_kvm_allows() {
    require_kvm();
    let o = run(&["boot", "--role", "smon", "--vcpus", "100000"]);
    assert_one_line_error(&o, 1, "100000 vCPUs requested; at most");
    let o = run(&["boot", "--role", "smon", "--vcpus", "0"]);
    assert_one_line_error(&o, 1, "at least one vCPU");
}

#[test]
fn unknown_role_is_a_usage_error() {
    let o = run(&["boot", "--role", "gpu"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: invalid value 'gpu' for '--role <ROLE>'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_sizes_are_usage_errors() {
    let o = run(&["boot", "--role", "smon", "--mem", "lots"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not a size"), "{}", stderr(&o));
}
