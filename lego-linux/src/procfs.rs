//! The text of `/proc` and `/sys` files as Linux writes them (`fs/proc/`): the monitor gathers
//! the numbers, these functions lay them out, so that programs parsing them (`ps`, `free`,
//! `top`, the C libraries' `get_nprocs`) read what they expect. Tested on the host.

extern crate alloc;

use alloc::format;
use alloc::string::String;
use core::fmt::Write;

/// Clock ticks per second in `/proc` times (`USER_HZ`).
pub const USER_HZ: u64 = 100;

/// What `/proc/PID/status` and `/proc/PID/stat` say of a process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskInfo {
    /// Thread group id.
    pub pid: u32,
    /// Parent.
    pub ppid: u32,
    /// Process group.
    pub pgid: u32,
    /// Session.
    pub sid: u32,
    /// Name (at most 15 bytes).
    pub comm: String,
    /// `R`, `S`, `T`, `Z`.
    pub state: char,
    /// Real, effective, saved, filesystem uid.
    pub uid: [u32; 4],
    /// Real, effective, saved, filesystem gid.
    pub gid: [u32; 4],
    /// Threads.
    pub threads: u32,
    /// Mapped bytes.
    pub vm_bytes: u64,
    /// Resident bytes.
    pub rss_bytes: u64,
    /// User and system CPU time, ns.
    pub cpu_ns: (u64, u64),
    /// Children's user and system CPU time, ns.
    pub children_ns: (u64, u64),
    /// Start, ns after boot.
    pub start_ns: u64,
    /// Nice value.
    pub nice: i32,
    /// `umask`.
    pub umask: u32,
    /// Signals pending, blocked, ignored, caught.
    pub signals: [u64; 4],
    /// CPUs it may run on, as a list (`0-1`).
    pub cpus: String,
}

fn ticks(ns: u64) -> u64 {
    ns / (1_000_000_000 / USER_HZ)
}

fn state_name(c: char) -> &'static str {
    match c {
        'R' => "R (running)",
        'S' => "S (sleeping)",
        'T' => "T (stopped)",
        'Z' => "Z (zombie)",
        _ => "D (disk sleep)",
    }
}

/// `/proc/PID/status`.
pub fn status(t: &TaskInfo) -> String {
    let kb = |b: u64| b / 1024;
    let mut s = String::new();
    let _ = write!(
        s,
        "Name:\t{}\nUmask:\t{:04o}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\n\
         TracerPid:\t0\nUid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t64\nGroups:\t\n\
         VmPeak:\t{:8} kB\nVmSize:\t{:8} kB\nVmRSS:\t{:8} kB\nThreads:\t{}\nSigQ:\t0/63413\n\
         SigPnd:\t{:016x}\nShdPnd:\t0000000000000000\nSigBlk:\t{:016x}\nSigIgn:\t{:016x}\n\
         SigCgt:\t{:016x}\nCpus_allowed_list:\t{}\nvoluntary_ctxt_switches:\t0\n\
         nonvoluntary_ctxt_switches:\t0\n",
        t.comm,
        t.umask,
        state_name(t.state),
        t.pid,
        t.pid,
        t.ppid,
        t.uid[0],
        t.uid[1],
        t.uid[2],
        t.uid[3],
        t.gid[0],
        t.gid[1],
        t.gid[2],
        t.gid[3],
        kb(t.vm_bytes),
        kb(t.vm_bytes),
        kb(t.rss_bytes),
        t.threads,
        t.signals[0],
        t.signals[1],
        t.signals[2],
        t.signals[3],
        t.cpus
    );
    s
}

/// `/proc/PID/stat`: the 52 fields of Linux 6.x (those not kept here are 0).
pub fn stat(t: &TaskInfo) -> String {
    let mut s = format!(
        "{} ({}) {} {} {} {} 0 -1 4194304 0 0 0 0 {} {} {} {} {} {} {} 0 {} {} {} {}",
        t.pid,
        t.comm,
        t.state,
        t.ppid,
        t.pgid,
        t.sid,
        ticks(t.cpu_ns.0),
        ticks(t.cpu_ns.1),
        ticks(t.children_ns.0),
        ticks(t.children_ns.1),
        20 + t.nice,
        t.nice,
        t.threads,
        ticks(t.start_ns),
        t.vm_bytes,
        t.rss_bytes / 4096,
        u64::MAX
    );
    // startcode .. exit_code: fields 26..=52.
    for _ in 26..=52 {
        s.push_str(" 0");
    }
    s.push('\n');
    s
}

/// One line of `/proc/PID/maps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapLine<'a> {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Readable, writable, executable.
    pub rwx: (bool, bool, bool),
    /// Shared (`s`) rather than private (`p`).
    pub shared: bool,
    /// File offset.
    pub offset: u64,
    /// Inode of the file (0 for anonymous memory).
    pub inode: u64,
    /// The file's path, `[stack]`, `[heap]`, or empty.
    pub name: &'a str,
}

/// Appends one `/proc/PID/maps` line, padded as Linux pads it (the name at column 73).
pub fn map_line(out: &mut String, m: &MapLine<'_>) {
    let flag = |on: bool, c: char| if on { c } else { '-' };
    let before = out.len();
    let _ = write!(
        out,
        "{:08x}-{:08x} {}{}{}{} {:08x} 00:00 {}",
        m.start,
        m.end,
        flag(m.rwx.0, 'r'),
        flag(m.rwx.1, 'w'),
        flag(m.rwx.2, 'x'),
        if m.shared { 's' } else { 'p' },
        m.offset,
        m.inode
    );
    if !m.name.is_empty() {
        let used = out.len() - before;
        let pad = 73usize.saturating_sub(used).max(1);
        for _ in 0..pad {
            out.push(' ');
        }
        out.push_str(m.name);
    }
    out.push('\n');
}

/// `/proc/meminfo` for `total` bytes of which `free` are free.
pub fn meminfo(total: u64, free: u64) -> String {
    let kb = |b: u64| b / 1024;
    let mut s = String::new();
    for (k, v) in [
        ("MemTotal", kb(total)),
        ("MemFree", kb(free)),
        ("MemAvailable", kb(free)),
        ("Buffers", 0),
        ("Cached", 0),
        ("SwapCached", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Shmem", 0),
        ("CommitLimit", kb(total)),
    ] {
        let _ = writeln!(s, "{:<16}{:>8} kB", format!("{k}:"), v);
    }
    s
}

/// `/proc/cpuinfo` for `ncpus` CPUs of this `vendor` and `model`, at `khz`, with `flags`.
pub fn cpuinfo(ncpus: u32, vendor: &str, model: &str, khz: u64, flags: &str) -> String {
    let mut s = String::new();
    for i in 0..ncpus {
        let _ = write!(
            s,
            "processor\t: {i}\nvendor_id\t: {vendor}\ncpu family\t: 6\nmodel\t\t: 0\n\
             model name\t: {model}\nstepping\t: 0\ncpu MHz\t\t: {}.{:03}\nphysical id\t: 0\n\
             siblings\t: {ncpus}\ncore id\t\t: {i}\ncpu cores\t: {ncpus}\napicid\t\t: {i}\n\
             fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\n\
             flags\t\t: {flags}\nbogomips\t: {}.00\naddress sizes\t: 46 bits physical, 48 bits virtual\n\n",
            khz / 1000,
            khz % 1000,
            khz / 500
        );
    }
    s
}

/// `/proc/uptime`: seconds up and idle, two decimals each.
pub fn uptime(up_ns: u64, idle_ns: u64) -> String {
    let cs = |ns: u64| (ns / 1_000_000_000, (ns / 10_000_000) % 100);
    let (a, b) = cs(up_ns);
    let (c, d) = cs(idle_ns);
    format!("{a}.{b:02} {c}.{d:02}\n")
}

/// `/proc/loadavg`: the averages, running/total tasks and the last pid given.
pub fn loadavg(load: [f64; 3], running: u32, total: u32, last_pid: u32) -> String {
    let hundredths = |x: f64| {
        let v = (x.max(0.0) * 100.0) as u64;
        (v / 100, v % 100)
    };
    let [a, b, c] = load.map(hundredths);
    format!(
        "{}.{:02} {}.{:02} {}.{:02} {running}/{total} {last_pid}\n",
        a.0, a.1, b.0, b.1, c.0, c.1
    )
}

/// `/proc/stat`: per-CPU times (user, system, idle ns), boot time, process counts.
pub fn system_stat(cpus: &[(u64, u64, u64)], boot_epoch_s: u64, running: u32) -> String {
    let line = |name: &str, (u, sy, id): (u64, u64, u64)| {
        format!(
            "{name} {} 0 {} {} 0 0 0 0 0 0\n",
            ticks(u),
            ticks(sy),
            ticks(id)
        )
    };
    let total = cpus
        .iter()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    let mut s = line("cpu ", total);
    for (i, c) in cpus.iter().enumerate() {
        s.push_str(&line(&format!("cpu{i}"), *c));
    }
    let _ = write!(
        s,
        "intr 0\nctxt 0\nbtime {boot_epoch_s}\nprocesses {running}\nprocs_running {running}\n\
         procs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n"
    );
    s
}

/// A CPU list as `/sys/devices/system/cpu/online` writes it: `0`, `0-3`.
pub fn cpu_list(n: u32) -> String {
    match n {
        0 | 1 => String::from("0\n"),
        n => format!("0-{}\n", n - 1),
    }
}

/// `/proc/version`.
pub const VERSION: &str =
    "Linux version 6.1.0-lego (lego@legoos) (rustc) #1 SMP LegoOS splitkernel\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> TaskInfo {
        TaskInfo {
            pid: 42,
            ppid: 1,
            pgid: 42,
            sid: 42,
            comm: String::from("a.out"),
            state: 'R',
            uid: [0, 1000, 1000, 1000],
            threads: 3,
            vm_bytes: 8 << 20,
            rss_bytes: 1 << 20,
            cpu_ns: (2_500_000_000, 10_000_000),
            cpus: String::from("0-1"),
            ..TaskInfo::default()
        }
    }

    #[test]
    fn status_has_the_lines_ps_reads() {
        let s = status(&task());
        for l in [
            "Name:\ta.out\n",
            "State:\tR (running)\n",
            "Tgid:\t42\n",
            "Pid:\t42\n",
            "PPid:\t1\n",
            "Uid:\t0\t1000\t1000\t1000\n",
            "VmSize:\t    8192 kB\n",
            "VmRSS:\t    1024 kB\n",
            "Threads:\t3\n",
        ] {
            assert!(s.contains(l), "{l:?} missing from {s}");
        }
    }

    #[test]
    fn stat_has_52_fields_with_times_in_ticks() {
        let s = stat(&task());
        assert!(s.ends_with('\n'));
        let rp = s.rfind(')').unwrap();
        assert_eq!(&s[..rp + 1], "42 (a.out)");
        let rest: alloc::vec::Vec<&str> = s[rp + 2..].split_whitespace().collect();
        // Fields 3.. after pid and comm.
        assert_eq!(rest.len(), 50);
        assert_eq!(rest[0], "R");
        assert_eq!(rest[1], "1"); // ppid
        assert_eq!(rest[11], "250"); // utime, field 14
        assert_eq!(rest[12], "1"); // stime
        assert_eq!(rest[17], "3"); // num_threads, field 20
        assert_eq!(rest[20], (8u64 << 20).to_string()); // vsize, field 23
    }

    #[test]
    fn maps_lines_pad_the_name_to_column_73() {
        let mut s = String::new();
        let m = MapLine {
            start: 0x400000,
            end: 0x401000,
            rwx: (true, false, true),
            shared: false,
            offset: 0,
            inode: 77,
            name: "/bin/prog",
        };
        map_line(&mut s, &m);
        map_line(
            &mut s,
            &MapLine {
                name: "",
                inode: 0,
                rwx: (true, true, false),
                ..m
            },
        );
        let mut lines = s.lines();
        let first = lines.next().unwrap();
        assert!(first.starts_with("00400000-00401000 r-xp 00000000 00:00 77"));
        assert_eq!(first.find('/'), Some(73));
        assert_eq!(
            lines.next(),
            Some("00400000-00401000 rw-p 00000000 00:00 0")
        );
    }

    #[test]
    fn small_files_are_formatted_like_linux() {
        let m = meminfo(2 << 30, 1 << 30);
        assert!(m.starts_with("MemTotal:        2097152 kB\nMemFree:         1048576 kB\n"));
        assert_eq!(uptime(12_345_000_000, 3_000_000_000), "12.34 3.00\n");
        assert_eq!(
            loadavg([0.5, 1.0, 0.0], 1, 3, 99),
            "0.50 1.00 0.00 1/3 99\n"
        );
        assert_eq!(cpu_list(1), "0\n");
        assert_eq!(cpu_list(4), "0-3\n");
        let c = cpuinfo(2, "GenuineIntel", "LegoOS vCPU", 2_600_000, "fpu sse");
        assert_eq!(c.matches("processor\t: ").count(), 2);
        assert!(c.contains("processor\t: 1\n") && c.contains("flags\t\t: fpu sse\n"));
        let st = system_stat(&[(1_000_000_000, 0, 0), (0, 0, 2_000_000_000)], 1000, 2);
        assert!(st.starts_with("cpu  100 0 0 200 0 0 0 0 0 0\ncpu0 100 0 0 0"));
        assert!(st.contains("btime 1000\n"));
    }
}
