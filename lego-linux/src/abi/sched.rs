//! `clone` flags (`linux/sched.h`), `wait4`/`waitid` options (`linux/wait.h`) and `getrandom`
//! flags (`linux/random.h`).

/// Mask of the signal sent to the parent when the child exits.
pub const CSIGNAL: u64 = 0x0000_00ff;
/// New time namespace.
pub const CLONE_NEWTIME: u64 = 0x0000_0080;
/// Share the address space.
pub const CLONE_VM: u64 = 0x0000_0100;
/// Share filesystem information (cwd, root, umask).
pub const CLONE_FS: u64 = 0x0000_0200;
/// Share the file descriptor table.
pub const CLONE_FILES: u64 = 0x0000_0400;
/// Share signal handlers.
pub const CLONE_SIGHAND: u64 = 0x0000_0800;
/// Return a pidfd to the parent.
pub const CLONE_PIDFD: u64 = 0x0000_1000;
/// Continue tracing in the child.
pub const CLONE_PTRACE: u64 = 0x0000_2000;
/// Suspend the parent until the child execs or exits.
pub const CLONE_VFORK: u64 = 0x0000_4000;
/// Same parent as the caller.
pub const CLONE_PARENT: u64 = 0x0000_8000;
/// Same thread group (a thread).
pub const CLONE_THREAD: u64 = 0x0001_0000;
/// New mount namespace.
pub const CLONE_NEWNS: u64 = 0x0002_0000;
/// Share System V semaphore undo lists.
pub const CLONE_SYSVSEM: u64 = 0x0004_0000;
/// Set the child's TLS (`fs` base) from the argument.
pub const CLONE_SETTLS: u64 = 0x0008_0000;
/// Store the child's thread id in the parent's memory.
pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
/// Clear the child's thread id word and wake a futex on it when the child exits.
pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
/// Ignored.
pub const CLONE_DETACHED: u64 = 0x0040_0000;
/// Tracer cannot force `CLONE_PTRACE`.
pub const CLONE_UNTRACED: u64 = 0x0080_0000;
/// Store the child's thread id in the child's memory.
pub const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
/// New cgroup namespace.
pub const CLONE_NEWCGROUP: u64 = 0x0200_0000;
/// New UTS namespace.
pub const CLONE_NEWUTS: u64 = 0x0400_0000;
/// New IPC namespace.
pub const CLONE_NEWIPC: u64 = 0x0800_0000;
/// New user namespace.
pub const CLONE_NEWUSER: u64 = 0x1000_0000;
/// New PID namespace.
pub const CLONE_NEWPID: u64 = 0x2000_0000;
/// New network namespace.
pub const CLONE_NEWNET: u64 = 0x4000_0000;
/// Share the I/O context.
pub const CLONE_IO: u64 = 0x8000_0000;
/// `clone3`: reset signal handlers to the default.
pub const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
/// `clone3`: start in the given cgroup.
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Return at once if no child has exited.
pub const WNOHANG: u32 = 0x1;
/// Also report stopped children.
pub const WUNTRACED: u32 = 0x2;
/// `waitid`: report stopped children.
pub const WSTOPPED: u32 = WUNTRACED;
/// `waitid`: report exited children.
pub const WEXITED: u32 = 0x4;
/// Also report continued children.
pub const WCONTINUED: u32 = 0x8;
/// `waitid`: leave the child waitable.
pub const WNOWAIT: u32 = 0x0100_0000;
/// Do not wait for children of other threads.
pub const WNOTHREAD: u32 = 0x2000_0000;
/// Wait for all children, clones included.
pub const WALL: u32 = 0x4000_0000;
/// Wait only for clone children.
pub const WCLONE: u32 = 0x8000_0000;
/// `waitid`: any child.
pub const P_ALL: u32 = 0;
/// `waitid`: the child with this pid.
pub const P_PID: u32 = 1;
/// `waitid`: children in this process group.
pub const P_PGID: u32 = 2;
/// `waitid`: the child behind this pidfd.
pub const P_PIDFD: u32 = 3;

/// `getrandom`: fail with `EAGAIN` instead of blocking.
pub const GRND_NONBLOCK: u32 = 0x1;
/// `getrandom`: use the (legacy) blocking pool.
pub const GRND_RANDOM: u32 = 0x2;
/// `getrandom`: never block, even before the pool is initialized.
pub const GRND_INSECURE: u32 = 0x4;
