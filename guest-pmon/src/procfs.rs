//! `/proc` and `/sys` as a process sees them: its own `/proc/PID` (`status`, `stat`, `maps`,
//! `cmdline`, `environ`, `exe`, `cwd`, `root`, `fd/`), the system files (`meminfo`,
//! `cpuinfo`, `stat`, `uptime`, `loadavg`, `version`, `cmdline`, `sys/vm/overcommit_*`) and
//! `/sys/devices/system/cpu/{online,possible,present}`. Files are made when opened (the
//! text is `lego_linux::procfs`'s); other processes' directories are not shown.

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use guest_rt::time;
use lego_linux::errno::{self as e, Errno};
use lego_linux::procfs as pf;
use lego_proto::mem::vma_flags;

use crate::fd::Target;
use crate::process::Process;

/// What a pseudo path is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A file, with its text.
    File(Vec<u8>),
    /// A directory, with its entries (name, is a directory).
    Dir(Vec<(String, bool)>),
    /// A symbolic link to this path.
    Link(String),
}

/// Whether `path` (absolute, normalized) is under `/proc` or `/sys`.
pub fn is_pseudo(path: &str) -> bool {
    ["/proc", "/sys"]
        .iter()
        .any(|r| path == *r || path.strip_prefix(r).is_some_and(|x| x.starts_with('/')))
}

fn dir(names: &[&str], dirs: &[&str]) -> Node {
    let mut v: Vec<(String, bool)> = dirs.iter().map(|d| (d.to_string(), true)).collect();
    v.extend(names.iter().map(|n| (n.to_string(), false)));
    Node::Dir(v)
}

/// The node at `path`; `follow`: `/proc/self` and `/proc/thread-self` as the last component
/// are followed (stat, open) rather than returned (lstat, readlink). Other links (`exe`,
/// `cwd`, `fd/N`) leave /proc: they are returned, and the caller follows them. `ENOENT` for
/// what is not there.
pub fn lookup(p: &Process, path: &str, follow: bool) -> Result<Node, Errno> {
    let me = format!("/proc/{}", p.pid);
    if !follow && (path == "/proc/self" || path == "/proc/thread-self") {
        let to = canonical(p, path);
        return Ok(Node::Link(String::from(&to["/proc/".len()..])));
    }
    let path = canonical(p, path);
    let path = path.as_str();
    let cpus = 1 + crate::worker::workers().count_ones();
    let file = |s: String| Ok(Node::File(s.into_bytes()));
    match path {
        "/proc" => {
            let pid = p.pid.to_string();
            return Ok(dir(
                &[
                    "self",
                    "thread-self",
                    "meminfo",
                    "cpuinfo",
                    "stat",
                    "uptime",
                    "loadavg",
                    "version",
                    "cmdline",
                ],
                &[pid.as_str(), "sys"],
            ));
        }
        "/proc/meminfo" => return file(pf::meminfo(p.excache.0, p.lines.free_bytes())),
        "/proc/cpuinfo" => return file(cpuinfo(cpus)),
        "/proc/uptime" => {
            let up = time::now_ns();
            return file(pf::uptime(up, up.saturating_mul(u64::from(cpus)) / 2));
        }
        "/proc/loadavg" => {
            let running = 1 + p.threads.len() as u32;
            return file(pf::loadavg([0.0; 3], running, running, p.pid));
        }
        "/proc/stat" => {
            let up = time::now_ns();
            let per = (
                p.c.user_ns / u64::from(cpus),
                p.c.system_ns / u64::from(cpus),
                up,
            );
            let boot = p.clock_base.0.saturating_sub(p.clock_base.1) / 1_000_000_000;
            let all: Vec<(u64, u64, u64)> = (0..cpus).map(|_| per).collect();
            return file(pf::system_stat(&all, boot, 1 + p.threads.len() as u32));
        }
        "/proc/version" => return file(String::from(pf::VERSION)),
        "/proc/cmdline" => return file(String::from("lego splitkernel\n")),
        "/proc/sys" => return Ok(dir(&[], &["vm", "kernel"])),
        "/proc/sys/vm" => {
            return Ok(dir(
                &["overcommit_memory", "overcommit_ratio", "overcommit_kbytes"],
                &[],
            ));
        }
        "/proc/sys/vm/overcommit_memory" => return file(String::from("0\n")),
        "/proc/sys/vm/overcommit_ratio" => return file(String::from("50\n")),
        "/proc/sys/vm/overcommit_kbytes" => return file(String::from("0\n")),
        "/proc/sys/kernel" => return Ok(dir(&["ostype", "osrelease", "pid_max"], &[])),
        "/proc/sys/kernel/ostype" => return file(String::from("Linux\n")),
        "/proc/sys/kernel/osrelease" => return file(String::from("6.1.0-lego\n")),
        "/proc/sys/kernel/pid_max" => return file(String::from("4194304\n")),
        "/sys" => return Ok(dir(&[], &["devices"])),
        "/sys/devices" => return Ok(dir(&[], &["system"])),
        "/sys/devices/system" => return Ok(dir(&[], &["cpu"])),
        "/sys/devices/system/cpu" => return Ok(dir(&["online", "possible", "present"], &[])),
        "/sys/devices/system/cpu/online"
        | "/sys/devices/system/cpu/possible"
        | "/sys/devices/system/cpu/present" => return file(pf::cpu_list(cpus)),
        _ => {}
    }
    // /proc/PID/... and /proc/PID/task/TID/...: this process only.
    let rest = path.strip_prefix(&me).ok_or(e::ENOENT)?;
    // A thread's directory shows its process's files.
    let rest = match rest.strip_prefix("/task") {
        Some("") => return Ok(Node::Dir(task_ids(p))),
        Some(t) => {
            let t = t.strip_prefix('/').ok_or(e::ENOENT)?;
            let (tid, r) = t.split_at(t.find('/').unwrap_or(t.len()));
            if !tid.parse().is_ok_and(|tid| p.has_thread(tid)) {
                return Err(e::ENOENT);
            }
            r
        }
        None => rest,
    };
    // Links are returned: the caller follows them out of /proc when it should.
    let link = |to: String| Ok(Node::Link(to));
    match rest {
        "" => Ok(dir(
            &[
                "exe", "cwd", "root", "cmdline", "environ", "status", "stat", "maps", "comm",
            ],
            &["fd", "task"],
        )),
        "/exe" => link(p.exe.clone()),
        "/cwd" => link(p.cwd.clone()),
        "/root" => link(String::from("/")),
        "/cmdline" => Ok(Node::File(p.cmdline.clone())),
        "/environ" => Ok(Node::File(p.environ.clone())),
        "/comm" => file(format!("{}\n", p.comm)),
        "/status" => file(pf::status(&task_info(p, cpus))),
        "/stat" => file(pf::stat(&task_info(p, cpus))),
        "/maps" => file(maps(p)),
        "/fd" => Ok(Node::Dir(
            p.fds
                .numbers()
                .into_iter()
                .map(|fd| (fd.to_string(), false))
                .collect(),
        )),
        r => {
            let fd: i32 = r
                .strip_prefix("/fd/")
                .and_then(|n| n.parse().ok())
                .ok_or(e::ENOENT)?;
            let t = p.fds.target(fd).ok_or(e::ENOENT)?;
            link(fd_link(&t, fd))
        }
    }
}

/// `path` with `/proc/self` and `/proc/thread-self` replaced by what they name.
pub fn canonical(p: &Process, path: &str) -> String {
    let me = format!("/proc/{}", p.pid);
    for (link, to) in [
        ("/proc/self", me.clone()),
        ("/proc/thread-self", format!("{me}/task/{}", p.tid)),
    ] {
        if path == link {
            return to;
        }
        if let Some(rest) = path.strip_prefix(link).filter(|r| r.starts_with('/')) {
            return format!("{to}{rest}");
        }
    }
    String::from(path)
}

/// Where `/proc/self/fd/N` points.
pub fn fd_link(t: &Target, fd: i32) -> String {
    match t {
        Target::File(path) | Target::Dir { path, .. } => path.clone(),
        Target::Null => String::from("/dev/null"),
        Target::Zero => String::from("/dev/zero"),
        Target::Full => String::from("/dev/full"),
        Target::Random => String::from("/dev/urandom"),
        Target::Stdin | Target::Output(_) => String::from("/dev/pts/0"),
        Target::Pipe(_) => format!("pipe:[{}]", 4000 + fd),
        Target::Pseudo(_) => format!("anon_inode:[proc-{fd}]"),
        Target::Event(_) => String::from("anon_inode:[eventfd]"),
    }
}

fn task_ids(p: &Process) -> Vec<(String, bool)> {
    core::iter::once(p.tid)
        .chain(p.threads.iter().map(|t| t.tid))
        .map(|t| (t.to_string(), true))
        .collect()
}

fn task_info(p: &Process, cpus: u32) -> pf::TaskInfo {
    let u = &p.cred.uid;
    let g = &p.cred.gid;
    pf::TaskInfo {
        pid: p.pid,
        ppid: p.ppid,
        pgid: p.pgid,
        sid: p.sid,
        comm: p.comm.clone(),
        state: p.state_letter(),
        uid: [u.real, u.effective, u.saved, u.fs],
        gid: [g.real, g.effective, g.saved, g.fs],
        threads: 1 + p.threads.len() as u32,
        vm_bytes: p.mapped_bytes(),
        rss_bytes: p.excache.0 - p.lines.free_bytes().min(p.excache.0),
        cpu_ns: (p.c.user_ns, p.c.system_ns),
        children_ns: p.children_ns,
        start_ns: p.started_ns,
        nice: p.nice,
        umask: p.umask,
        signals: [
            p.sig.pending(),
            p.sig.mask,
            p.sig.ignored_set(),
            p.sig.caught_set(),
        ],
        cpus: pf::cpu_list(cpus).trim_end().to_string(),
    }
}

fn maps(p: &Process) -> String {
    let mut s = String::new();
    let heap = p
        .vmas
        .values()
        .find(|v| v.flags & vma_flags::HEAP != 0)
        .map(|v| v.start);
    for v in p.vmas.values() {
        let name = if v.flags & vma_flags::STACK != 0 {
            "[stack]"
        } else if Some(v.start) == heap {
            "[heap]"
        } else if v.flags & vma_flags::ANON == 0 {
            p.exe.as_str()
        } else {
            ""
        };
        pf::map_line(
            &mut s,
            &pf::MapLine {
                start: v.start,
                end: v.end,
                rwx: (v.prot & 1 != 0, v.prot & 2 != 0, v.prot & 4 != 0),
                shared: false,
                offset: 0,
                inode: if name.starts_with('/') { 1 } else { 0 },
                name,
            },
        );
    }
    s
}

fn cpuinfo(cpus: u32) -> String {
    let vendor = cpuid_vendor();
    pf::cpuinfo(
        cpus,
        &vendor,
        "LegoOS pComponent vCPU",
        time::tsc_khz(),
        "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx \
         fxsr sse sse2 ht syscall nx lm constant_tsc nopl cpuid pni ssse3 cx16 sse4_1 sse4_2 \
         x2apic popcnt hypervisor lahf_lm",
    )
}

fn cpuid_vendor() -> String {
    let r = core::arch::x86_64::__cpuid(0);
    let mut b = Vec::with_capacity(12);
    for w in [r.ebx, r.edx, r.ecx] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    String::from_utf8(b).unwrap_or_else(|_| String::from("unknown"))
}
