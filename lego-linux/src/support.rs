//! What the process monitor does with each x86-64 syscall: implemented fully, partly (and
//! what is missing), or refused on purpose. Every number not listed is `ENOSYS` with one log
//! line. `docs/syscalls.md` is rendered from this table, and a test checks that the table
//! names exactly the syscalls `guest-pmon` dispatches, so the document stays true.

extern crate alloc;

use alloc::format;
use alloc::string::String;

use crate::sysno;

/// How far a syscall is implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// As Linux does it, for what programs can observe here.
    Full,
    /// Implemented, with this missing or different.
    Partial(&'static str),
    /// Answered with an error on purpose (the C libraries fall back), for this reason.
    Refused(&'static str),
}

use Support::{Full, Partial, Refused};

/// Every syscall the monitor handles, by name (`sysno`'s).
pub const TABLE: &[(&str, Support)] = &[
    ("read", Full),
    ("write", Full),
    (
        "open",
        Partial(
            "/proc: this process, meminfo, cpuinfo, stat, uptime, loadavg, version, sys/vm; /sys: cpu lists; /dev: null, zero, full, random, urandom, std streams",
        ),
    ),
    ("close", Full),
    ("stat", Full),
    ("fstat", Full),
    (
        "lstat",
        Partial("no symbolic links in the storage: same as stat"),
    ),
    (
        "poll",
        Partial("files, devices and the user's streams are always ready; pipes are polled"),
    ),
    ("lseek", Full),
    (
        "mmap",
        Partial("writable shared file mappings are refused (ENODEV), as in LegoOS"),
    ),
    ("mprotect", Full),
    ("munmap", Full),
    ("brk", Full),
    ("rt_sigaction", Full),
    ("rt_sigprocmask", Full),
    ("rt_sigreturn", Full),
    (
        "ioctl",
        Partial(
            "terminal queries (TCGETS, TIOCGWINSZ, TIOCGPGRP), FIONREAD, FIONBIO, FIOCLEX, FIONCLEX",
        ),
    ),
    ("pread64", Full),
    ("pwrite64", Full),
    ("readv", Full),
    ("writev", Full),
    ("access", Partial("checks existence: programs run as root")),
    ("pipe", Full),
    ("select", Partial("as poll")),
    ("sched_yield", Full),
    ("mremap", Full),
    (
        "msync",
        Partial("nothing to write back: shared file mappings are read-only"),
    ),
    (
        "mincore",
        Partial("pages never written read as not resident, read-only ones included"),
    ),
    (
        "madvise",
        Partial("DONTNEED drops pages; other advice is accepted"),
    ),
    ("dup", Full),
    ("dup2", Full),
    ("pause", Full),
    ("nanosleep", Full),
    ("getitimer", Partial("ITIMER_REAL only")),
    ("alarm", Full),
    ("setitimer", Partial("ITIMER_REAL only")),
    ("getpid", Full),
    (
        "clone",
        Partial("CLONE_VM without CLONE_THREAD gives the child a copy; no namespaces"),
    ),
    ("fork", Full),
    (
        "vfork",
        Partial("the child gets a copy of the parent's memory"),
    ),
    ("execve", Full),
    ("exit", Full),
    ("wait4", Full),
    ("kill", Partial("processes of the same pComponent")),
    ("uname", Full),
    (
        "fcntl",
        Partial("descriptor flags, status flags, DUPFD; no record locks"),
    ),
    ("flock", Partial("checked, not enforced")),
    ("fsync", Full),
    ("fdatasync", Full),
    ("truncate", Full),
    ("ftruncate", Full),
    ("getcwd", Full),
    ("chdir", Full),
    ("fchdir", Full),
    ("rename", Full),
    ("mkdir", Full),
    ("rmdir", Full),
    ("creat", Full),
    ("unlink", Full),
    (
        "readlink",
        Partial("/proc links only: no symbolic links in the storage"),
    ),
    ("umask", Full),
    ("gettimeofday", Full),
    ("getrlimit", Full),
    (
        "getrusage",
        Partial("CPU times; no page-fault or context-switch counts"),
    ),
    ("sysinfo", Full),
    ("times", Full),
    ("getuid", Full),
    ("getgid", Full),
    ("setuid", Full),
    ("setgid", Full),
    ("geteuid", Full),
    ("getegid", Full),
    ("setpgid", Full),
    ("getppid", Full),
    ("getpgrp", Full),
    ("setsid", Full),
    ("setreuid", Full),
    ("setregid", Full),
    ("getgroups", Full),
    ("setgroups", Full),
    ("setresuid", Full),
    ("getresuid", Full),
    ("setresgid", Full),
    ("getresgid", Full),
    ("getpgid", Full),
    ("setfsuid", Full),
    ("setfsgid", Full),
    ("getsid", Full),
    ("rt_sigpending", Full),
    (
        "rt_sigtimedwait",
        Partial("a handled signal with SA_RESTART restarts it instead of EINTR"),
    ),
    ("rt_sigqueueinfo", Partial("to the caller only")),
    ("rt_sigsuspend", Full),
    ("sigaltstack", Full),
    (
        "utime",
        Partial("checks the file: the storage keeps no times"),
    ),
    ("personality", Partial("recorded, no effect")),
    ("statfs", Full),
    ("fstatfs", Full),
    (
        "getpriority",
        Partial("the caller's own process, group or user"),
    ),
    (
        "setpriority",
        Partial("recorded: every thread is scheduled round robin"),
    ),
    ("sched_setparam", Partial("the caller only; recorded")),
    ("sched_getparam", Partial("the caller only")),
    ("sched_setscheduler", Partial("the caller only; recorded")),
    ("sched_getscheduler", Partial("the caller only")),
    ("sched_get_priority_max", Full),
    ("sched_get_priority_min", Full),
    (
        "sched_rr_get_interval",
        Partial("the monitor's 10 ms slice"),
    ),
    (
        "mlock",
        Partial("checked, not enforced: pages live at the mComponents"),
    ),
    ("munlock", Full),
    ("mlockall", Partial("checked, not enforced")),
    ("munlockall", Full),
    (
        "prctl",
        Partial("PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_SET_DUMPABLE"),
    ),
    ("arch_prctl", Partial("FS and GS bases")),
    (
        "setrlimit",
        Partial("RLIMIT_NOFILE is enforced; the others are kept, not enforced"),
    ),
    ("sync", Partial("the caller's open files")),
    ("gettid", Full),
    ("readahead", Full),
    (
        "tkill",
        Partial("threads of the caller; else the process of that id"),
    ),
    ("time", Full),
    (
        "futex",
        Partial("no PI futexes; private and shared are the same"),
    ),
    ("sched_setaffinity", Partial("accepted, not enforced")),
    ("sched_getaffinity", Full),
    ("getdents64", Full),
    ("set_tid_address", Full),
    ("fadvise64", Full),
    ("clock_gettime", Full),
    ("clock_getres", Full),
    ("clock_nanosleep", Full),
    ("exit_group", Full),
    (
        "tgkill",
        Partial("threads of the caller; other processes' first threads"),
    ),
    (
        "utimes",
        Partial("checks the file: the storage keeps no times"),
    ),
    ("waitid", Full),
    ("openat", Partial("as open")),
    ("mkdirat", Full),
    (
        "futimesat",
        Partial("checks the file: the storage keeps no times"),
    ),
    ("newfstatat", Full),
    ("unlinkat", Full),
    ("renameat", Full),
    ("readlinkat", Partial("as readlink")),
    ("faccessat", Partial("as access")),
    ("pselect6", Partial("as poll")),
    ("ppoll", Partial("as poll")),
    ("set_robust_list", Full),
    ("get_robust_list", Partial("the caller's threads")),
    (
        "utimensat",
        Partial("checks the file: the storage keeps no times"),
    ),
    ("dup3", Full),
    ("pipe2", Full),
    ("preadv", Full),
    ("pwritev", Full),
    ("rt_tgsigqueueinfo", Partial("threads of the caller")),
    ("prlimit64", Partial("the caller only; as setrlimit")),
    ("syncfs", Partial("the caller's open files")),
    (
        "getcpu",
        Partial("always CPU 0: the monitor answers on the boot CPU"),
    ),
    ("renameat2", Partial("no flags")),
    ("getrandom", Full),
    ("eventfd", Full),
    ("eventfd2", Full),
    (
        "membarrier",
        Partial("QUERY and the private expedited commands"),
    ),
    ("mlock2", Partial("checked, not enforced")),
    ("preadv2", Partial("RWF flags accepted and ignored")),
    ("pwritev2", Partial("RWF flags accepted and ignored")),
    ("statx", Partial("the basic fields; no birth time")),
    (
        "rseq",
        Refused("ENOSYS: the C library works without restartable sequences"),
    ),
    (
        "clone3",
        Refused("ENOSYS: the C libraries fall back to clone"),
    ),
    ("close_range", Full),
    ("execveat", Full),
    ("faccessat2", Partial("as access")),
];

/// What the monitor does with syscall `nr`: `None` for `ENOSYS`.
pub fn support_of(nr: u64) -> Option<Support> {
    let name = sysno::name(nr)?;
    TABLE.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// `docs/syscalls.md`: every x86-64 syscall number with its status.
pub fn render_markdown() -> String {
    let (mut full, mut partial, mut refused) = (0, 0, 0);
    let mut rows = String::new();
    for &(nr, name) in sysno::ALL {
        let (status, note) = match support_of(nr) {
            Some(Full) => {
                full += 1;
                ("full", "")
            }
            Some(Partial(n)) => {
                partial += 1;
                ("partial", n)
            }
            Some(Refused(n)) => {
                refused += 1;
                ("refused", n)
            }
            None => ("ENOSYS", ""),
        };
        rows.push_str(&format!("| {nr} | `{name}` | {status} | {note} |\n"));
    }
    format!(
        "# Syscalls\n\n\
         What a program gets from the process monitor for each x86-64 syscall number \
         (`guest-pmon`). Generated from `lego-linux/src/support.rs` by its test \
         (`LEGO_BLESS=1 cargo test -p lego-linux --test syscall_support` rewrites it); \
         the same test checks the table against what `guest-pmon` dispatches.\n\n\
         - **full**: as Linux does it, for what a program can observe here;\n\
         - **partial**: implemented, with the note's difference;\n\
         - **refused**: an error on purpose, for the note's reason;\n\
         - **ENOSYS**: not implemented: `-ENOSYS` and one line on the pComponent's console \
         (`lego logs p0`).\n\n\
         {} implemented ({full} full, {partial} partial), {refused} refused, {} ENOSYS, of {} \
         numbers.\n\n\
         | nr | name | status | notes |\n|---|---|---|---|\n{rows}",
        full + partial,
        sysno::ALL.len() - full - partial - refused,
        sysno::ALL.len()
    )
}
