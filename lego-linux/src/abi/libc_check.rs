//! Our layouts and constants against the host C library's (glibc on x86-64 Linux uses the
//! kernel's values and, for these structs, the kernel's layouts).

// The C library's constants come in several integer types; comparing them through `as` casts
// to one wide type is the point here.
#![allow(
    clippy::cast_lossless,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::*;
use core::mem::{offset_of, size_of};

/// Asserts that each pair of constants has the same value (as 64-bit patterns, the C side
/// compared in the narrower of the two widths).
macro_rules! same {
    ($($ours:expr => $theirs:expr),* $(,)?) => {$(
        {
            let ours = $ours as i128;
            let theirs = $theirs as i128;
            let width = 8 * core::mem::size_of_val(&$ours).min(core::mem::size_of_val(&$theirs)) as u32;
            let mask = if width >= 128 { -1i128 } else { (1i128 << width) - 1 };
            assert_eq!(ours & mask, theirs & mask, "{}", stringify!($ours));
        }
    )*};
}

#[test]
fn struct_sizes_and_offsets() {
    assert_eq!(size_of::<stat::Stat>(), size_of::<libc::stat>());
    assert_eq!(
        offset_of!(stat::Stat, st_nlink),
        offset_of!(libc::stat, st_nlink)
    );
    assert_eq!(
        offset_of!(stat::Stat, st_mode),
        offset_of!(libc::stat, st_mode)
    );
    assert_eq!(
        offset_of!(stat::Stat, st_rdev),
        offset_of!(libc::stat, st_rdev)
    );
    assert_eq!(
        offset_of!(stat::Stat, st_size),
        offset_of!(libc::stat, st_size)
    );
    assert_eq!(
        offset_of!(stat::Stat, st_blocks),
        offset_of!(libc::stat, st_blocks)
    );
    assert_eq!(
        offset_of!(stat::Stat, st_atime),
        offset_of!(libc::stat, st_atime)
    );
    assert_eq!(
        offset_of!(stat::Stat, st_mtime_nsec),
        offset_of!(libc::stat, st_mtime_nsec)
    );
    assert_eq!(
        offset_of!(stat::Stat, st_ctime_nsec),
        offset_of!(libc::stat, st_ctime_nsec)
    );
    assert_eq!(size_of::<stat::Statx>(), size_of::<libc::statx>());
    assert_eq!(
        offset_of!(stat::Statx, stx_mode),
        offset_of!(libc::statx, stx_mode)
    );
    assert_eq!(
        offset_of!(stat::Statx, stx_ino),
        offset_of!(libc::statx, stx_ino)
    );
    assert_eq!(
        offset_of!(stat::Statx, stx_atime),
        offset_of!(libc::statx, stx_atime)
    );
    assert_eq!(
        offset_of!(stat::Statx, stx_mtime),
        offset_of!(libc::statx, stx_mtime)
    );
    assert_eq!(
        offset_of!(stat::Statx, stx_dev_minor),
        offset_of!(libc::statx, stx_dev_minor)
    );
    assert_eq!(
        offset_of!(stat::Statx, stx_mnt_id),
        offset_of!(libc::statx, stx_mnt_id)
    );
    assert_eq!(size_of::<time::Timespec>(), size_of::<libc::timespec>());
    assert_eq!(size_of::<time::Timeval>(), size_of::<libc::timeval>());
    assert_eq!(size_of::<time::Tms>(), size_of::<libc::tms>());
    assert_eq!(size_of::<utsname::Utsname>(), size_of::<libc::utsname>());
    assert_eq!(size_of::<uio::Iovec>(), size_of::<libc::iovec>());
    assert_eq!(size_of::<tty::Winsize>(), size_of::<libc::winsize>());
    assert_eq!(size_of::<resource::Rlimit>(), size_of::<libc::rlimit>());
    assert_eq!(size_of::<resource::Rusage>(), size_of::<libc::rusage>());
    assert_eq!(
        offset_of!(resource::Rusage, ru_nivcsw),
        offset_of!(libc::rusage, ru_nivcsw)
    );
    assert_eq!(size_of::<resource::Sysinfo>(), size_of::<libc::sysinfo>());
    assert_eq!(
        offset_of!(resource::Sysinfo, procs),
        offset_of!(libc::sysinfo, procs)
    );
    assert_eq!(
        offset_of!(resource::Sysinfo, totalhigh),
        offset_of!(libc::sysinfo, totalhigh)
    );
    assert_eq!(
        offset_of!(resource::Sysinfo, mem_unit),
        offset_of!(libc::sysinfo, mem_unit)
    );
    assert_eq!(size_of::<signal::StackT>(), size_of::<libc::stack_t>());
    assert_eq!(
        offset_of!(signal::StackT, ss_size),
        offset_of!(libc::stack_t, ss_size)
    );
    // The kernel's termios is the C library's minus 13 control characters and two speeds.
    assert_eq!(
        offset_of!(tty::Termios, c_cc),
        offset_of!(libc::termios, c_cc)
    );
}

/// Not compared: `O_LARGEFILE` (glibc defines it as 0 on 64-bit; the kernel's bit is what
/// programs may pass), `struct timezone` (opaque in the `libc` crate), the 64-bit `clone3`
/// flags (the `libc` crate's are truncated to `c_int`), `FUTEX_CMD_MASK` (the `libc` crate's
/// also clears bits 9 and 10; the kernel header's is `~(FUTEX_PRIVATE_FLAG |
/// FUTEX_CLOCK_REALTIME)`).
#[test]
fn constants() {
    use fcntl::*;
    same! {
        O_RDONLY => libc::O_RDONLY, O_WRONLY => libc::O_WRONLY, O_RDWR => libc::O_RDWR,
        O_ACCMODE => libc::O_ACCMODE, O_CREAT => libc::O_CREAT, O_EXCL => libc::O_EXCL,
        O_NOCTTY => libc::O_NOCTTY, O_TRUNC => libc::O_TRUNC, O_APPEND => libc::O_APPEND,
        O_NONBLOCK => libc::O_NONBLOCK, O_DSYNC => libc::O_DSYNC, O_DIRECT => libc::O_DIRECT,
        O_DIRECTORY => libc::O_DIRECTORY,
        O_NOFOLLOW => libc::O_NOFOLLOW, O_NOATIME => libc::O_NOATIME,
        O_CLOEXEC => libc::O_CLOEXEC, O_SYNC => libc::O_SYNC, O_PATH => libc::O_PATH,
        O_TMPFILE => libc::O_TMPFILE,
        AT_FDCWD => libc::AT_FDCWD, AT_SYMLINK_NOFOLLOW => libc::AT_SYMLINK_NOFOLLOW,
        AT_REMOVEDIR => libc::AT_REMOVEDIR, AT_SYMLINK_FOLLOW => libc::AT_SYMLINK_FOLLOW,
        AT_NO_AUTOMOUNT => libc::AT_NO_AUTOMOUNT, AT_EMPTY_PATH => libc::AT_EMPTY_PATH,
        AT_EACCESS => libc::AT_EACCESS, AT_RECURSIVE => libc::AT_RECURSIVE,
        AT_STATX_FORCE_SYNC => libc::AT_STATX_FORCE_SYNC,
        AT_STATX_DONT_SYNC => libc::AT_STATX_DONT_SYNC,
        F_DUPFD => libc::F_DUPFD, F_GETFD => libc::F_GETFD, F_SETFD => libc::F_SETFD,
        F_GETFL => libc::F_GETFL, F_SETFL => libc::F_SETFL, F_GETLK => libc::F_GETLK,
        F_SETLK => libc::F_SETLK, F_SETLKW => libc::F_SETLKW, F_SETOWN => libc::F_SETOWN,
        F_GETOWN => libc::F_GETOWN, F_DUPFD_CLOEXEC => libc::F_DUPFD_CLOEXEC,
        F_SETPIPE_SZ => libc::F_SETPIPE_SZ, F_GETPIPE_SZ => libc::F_GETPIPE_SZ,
        F_ADD_SEALS => libc::F_ADD_SEALS, F_GET_SEALS => libc::F_GET_SEALS,
        FD_CLOEXEC => libc::FD_CLOEXEC, F_OK => libc::F_OK, R_OK => libc::R_OK,
        W_OK => libc::W_OK, X_OK => libc::X_OK, SEEK_SET => libc::SEEK_SET,
        SEEK_CUR => libc::SEEK_CUR, SEEK_END => libc::SEEK_END, SEEK_DATA => libc::SEEK_DATA,
        SEEK_HOLE => libc::SEEK_HOLE,
    }
    use mman::*;
    same! {
        PROT_NONE => libc::PROT_NONE, PROT_READ => libc::PROT_READ,
        PROT_WRITE => libc::PROT_WRITE, PROT_EXEC => libc::PROT_EXEC,
        PROT_GROWSDOWN => libc::PROT_GROWSDOWN, PROT_GROWSUP => libc::PROT_GROWSUP,
        MAP_SHARED => libc::MAP_SHARED, MAP_PRIVATE => libc::MAP_PRIVATE,
        MAP_SHARED_VALIDATE => libc::MAP_SHARED_VALIDATE, MAP_TYPE => libc::MAP_TYPE,
        MAP_FIXED => libc::MAP_FIXED, MAP_ANONYMOUS => libc::MAP_ANONYMOUS,
        MAP_32BIT => libc::MAP_32BIT, MAP_GROWSDOWN => libc::MAP_GROWSDOWN,
        MAP_DENYWRITE => libc::MAP_DENYWRITE, MAP_EXECUTABLE => libc::MAP_EXECUTABLE,
        MAP_LOCKED => libc::MAP_LOCKED, MAP_NORESERVE => libc::MAP_NORESERVE,
        MAP_POPULATE => libc::MAP_POPULATE, MAP_NONBLOCK => libc::MAP_NONBLOCK,
        MAP_STACK => libc::MAP_STACK, MAP_HUGETLB => libc::MAP_HUGETLB,
        MAP_SYNC => libc::MAP_SYNC, MAP_FIXED_NOREPLACE => libc::MAP_FIXED_NOREPLACE,
        MREMAP_MAYMOVE => libc::MREMAP_MAYMOVE, MREMAP_FIXED => libc::MREMAP_FIXED,
        MREMAP_DONTUNMAP => libc::MREMAP_DONTUNMAP,
        MADV_NORMAL => libc::MADV_NORMAL, MADV_RANDOM => libc::MADV_RANDOM,
        MADV_SEQUENTIAL => libc::MADV_SEQUENTIAL, MADV_WILLNEED => libc::MADV_WILLNEED,
        MADV_DONTNEED => libc::MADV_DONTNEED, MADV_FREE => libc::MADV_FREE,
        MADV_REMOVE => libc::MADV_REMOVE, MADV_DONTFORK => libc::MADV_DONTFORK,
        MADV_DOFORK => libc::MADV_DOFORK, MADV_MERGEABLE => libc::MADV_MERGEABLE,
        MADV_UNMERGEABLE => libc::MADV_UNMERGEABLE, MADV_HUGEPAGE => libc::MADV_HUGEPAGE,
        MADV_NOHUGEPAGE => libc::MADV_NOHUGEPAGE, MADV_DONTDUMP => libc::MADV_DONTDUMP,
        MADV_DODUMP => libc::MADV_DODUMP, MADV_WIPEONFORK => libc::MADV_WIPEONFORK,
        MADV_KEEPONFORK => libc::MADV_KEEPONFORK, MADV_COLD => libc::MADV_COLD,
        MADV_PAGEOUT => libc::MADV_PAGEOUT, MADV_POPULATE_READ => libc::MADV_POPULATE_READ,
        MADV_POPULATE_WRITE => libc::MADV_POPULATE_WRITE, MADV_HWPOISON => libc::MADV_HWPOISON,
        MS_ASYNC => libc::MS_ASYNC, MS_INVALIDATE => libc::MS_INVALIDATE,
        MS_SYNC => libc::MS_SYNC,
    }
    use stat::*;
    same! {
        S_IFMT => libc::S_IFMT, S_IFSOCK => libc::S_IFSOCK, S_IFLNK => libc::S_IFLNK,
        S_IFREG => libc::S_IFREG, S_IFBLK => libc::S_IFBLK, S_IFDIR => libc::S_IFDIR,
        S_IFCHR => libc::S_IFCHR, S_IFIFO => libc::S_IFIFO, S_ISUID => libc::S_ISUID,
        S_ISGID => libc::S_ISGID, S_ISVTX => libc::S_ISVTX, S_IRWXU => libc::S_IRWXU,
        S_IRUSR => libc::S_IRUSR, S_IWUSR => libc::S_IWUSR, S_IXUSR => libc::S_IXUSR,
        S_IRWXG => libc::S_IRWXG, S_IRGRP => libc::S_IRGRP, S_IWGRP => libc::S_IWGRP,
        S_IXGRP => libc::S_IXGRP, S_IRWXO => libc::S_IRWXO, S_IROTH => libc::S_IROTH,
        S_IWOTH => libc::S_IWOTH, S_IXOTH => libc::S_IXOTH,
        STATX_TYPE => libc::STATX_TYPE, STATX_MODE => libc::STATX_MODE,
        STATX_NLINK => libc::STATX_NLINK, STATX_UID => libc::STATX_UID,
        STATX_GID => libc::STATX_GID, STATX_ATIME => libc::STATX_ATIME,
        STATX_MTIME => libc::STATX_MTIME, STATX_CTIME => libc::STATX_CTIME,
        STATX_INO => libc::STATX_INO, STATX_SIZE => libc::STATX_SIZE,
        STATX_BLOCKS => libc::STATX_BLOCKS, STATX_BASIC_STATS => libc::STATX_BASIC_STATS,
        STATX_BTIME => libc::STATX_BTIME, STATX_MNT_ID => libc::STATX_MNT_ID,
    }
    use dirent::*;
    same! {
        DT_UNKNOWN => libc::DT_UNKNOWN, DT_FIFO => libc::DT_FIFO, DT_CHR => libc::DT_CHR,
        DT_DIR => libc::DT_DIR, DT_BLK => libc::DT_BLK, DT_REG => libc::DT_REG,
        DT_LNK => libc::DT_LNK, DT_SOCK => libc::DT_SOCK,
        dtype_of_mode(S_IFDIR | 0o755) => libc::DT_DIR,
        dtype_of_mode(S_IFREG) => libc::DT_REG, dtype_of_mode(S_IFLNK) => libc::DT_LNK,
    }
    use time::*;
    same! {
        CLOCK_REALTIME => libc::CLOCK_REALTIME, CLOCK_MONOTONIC => libc::CLOCK_MONOTONIC,
        CLOCK_PROCESS_CPUTIME_ID => libc::CLOCK_PROCESS_CPUTIME_ID,
        CLOCK_THREAD_CPUTIME_ID => libc::CLOCK_THREAD_CPUTIME_ID,
        CLOCK_MONOTONIC_RAW => libc::CLOCK_MONOTONIC_RAW,
        CLOCK_REALTIME_COARSE => libc::CLOCK_REALTIME_COARSE,
        CLOCK_MONOTONIC_COARSE => libc::CLOCK_MONOTONIC_COARSE,
        CLOCK_BOOTTIME => libc::CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM => libc::CLOCK_REALTIME_ALARM,
        CLOCK_BOOTTIME_ALARM => libc::CLOCK_BOOTTIME_ALARM, CLOCK_TAI => libc::CLOCK_TAI,
        TIMER_ABSTIME => libc::TIMER_ABSTIME,
    }
    use tty::*;
    same! {
        TCGETS => libc::TCGETS, TCSETS => libc::TCSETS, TCSETSW => libc::TCSETSW,
        TCSETSF => libc::TCSETSF, TCXONC => libc::TCXONC, TCFLSH => libc::TCFLSH,
        TIOCSCTTY => libc::TIOCSCTTY, TIOCGPGRP => libc::TIOCGPGRP,
        TIOCSPGRP => libc::TIOCSPGRP, TIOCOUTQ => libc::TIOCOUTQ,
        TIOCGWINSZ => libc::TIOCGWINSZ, TIOCSWINSZ => libc::TIOCSWINSZ,
        FIONREAD => libc::FIONREAD, FIONBIO => libc::FIONBIO, TIOCGSID => libc::TIOCGSID,
        FIONCLEX => libc::FIONCLEX, FIOCLEX => libc::FIOCLEX, FIOASYNC => libc::FIOASYNC,
        BRKINT => libc::BRKINT, ICRNL => libc::ICRNL, IXON => libc::IXON, IUTF8 => libc::IUTF8,
        OPOST => libc::OPOST, ONLCR => libc::ONLCR, B38400 => libc::B38400, CS8 => libc::CS8,
        CREAD => libc::CREAD, HUPCL => libc::HUPCL, ISIG => libc::ISIG,
        ICANON => libc::ICANON, ECHO => libc::ECHO, ECHOE => libc::ECHOE,
        ECHOK => libc::ECHOK, ECHOCTL => libc::ECHOCTL, ECHOKE => libc::ECHOKE,
        IEXTEN => libc::IEXTEN, VINTR => libc::VINTR, VQUIT => libc::VQUIT,
        VERASE => libc::VERASE, VKILL => libc::VKILL, VEOF => libc::VEOF, VTIME => libc::VTIME,
        VMIN => libc::VMIN, VSTART => libc::VSTART, VSTOP => libc::VSTOP,
        VSUSP => libc::VSUSP, VREPRINT => libc::VREPRINT, VDISCARD => libc::VDISCARD,
        VWERASE => libc::VWERASE, VLNEXT => libc::VLNEXT,
    }
    use resource::*;
    same! {
        RLIMIT_CPU => libc::RLIMIT_CPU, RLIMIT_FSIZE => libc::RLIMIT_FSIZE,
        RLIMIT_DATA => libc::RLIMIT_DATA, RLIMIT_STACK => libc::RLIMIT_STACK,
        RLIMIT_CORE => libc::RLIMIT_CORE, RLIMIT_RSS => libc::RLIMIT_RSS,
        RLIMIT_NPROC => libc::RLIMIT_NPROC, RLIMIT_NOFILE => libc::RLIMIT_NOFILE,
        RLIMIT_MEMLOCK => libc::RLIMIT_MEMLOCK, RLIMIT_AS => libc::RLIMIT_AS,
        RLIMIT_LOCKS => libc::RLIMIT_LOCKS, RLIMIT_SIGPENDING => libc::RLIMIT_SIGPENDING,
        RLIMIT_MSGQUEUE => libc::RLIMIT_MSGQUEUE, RLIMIT_NICE => libc::RLIMIT_NICE,
        RLIMIT_RTPRIO => libc::RLIMIT_RTPRIO, RLIMIT_RTTIME => libc::RLIMIT_RTTIME,
        RLIM_INFINITY => libc::RLIM_INFINITY, RUSAGE_SELF => libc::RUSAGE_SELF,
        RUSAGE_CHILDREN => libc::RUSAGE_CHILDREN, RUSAGE_THREAD => libc::RUSAGE_THREAD,
    }
    use self::signal::*;
    same! {
        SA_NOCLDSTOP => libc::SA_NOCLDSTOP, SA_NOCLDWAIT => libc::SA_NOCLDWAIT,
        SA_SIGINFO => libc::SA_SIGINFO, SA_ONSTACK => libc::SA_ONSTACK,
        SA_RESTART => libc::SA_RESTART, SA_NODEFER => libc::SA_NODEFER,
        SA_RESETHAND => libc::SA_RESETHAND, SIG_BLOCK => libc::SIG_BLOCK,
        SIG_UNBLOCK => libc::SIG_UNBLOCK, SIG_SETMASK => libc::SIG_SETMASK,
        SS_ONSTACK => libc::SS_ONSTACK, SS_DISABLE => libc::SS_DISABLE,
        SIG_DFL => libc::SIG_DFL, SIG_IGN => libc::SIG_IGN,
    }
    use futex::*;
    same! {
        FUTEX_WAIT => libc::FUTEX_WAIT, FUTEX_WAKE => libc::FUTEX_WAKE,
        FUTEX_REQUEUE => libc::FUTEX_REQUEUE, FUTEX_CMP_REQUEUE => libc::FUTEX_CMP_REQUEUE,
        FUTEX_WAKE_OP => libc::FUTEX_WAKE_OP, FUTEX_LOCK_PI => libc::FUTEX_LOCK_PI,
        FUTEX_UNLOCK_PI => libc::FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI => libc::FUTEX_TRYLOCK_PI,
        FUTEX_WAIT_BITSET => libc::FUTEX_WAIT_BITSET,
        FUTEX_WAKE_BITSET => libc::FUTEX_WAKE_BITSET,
        FUTEX_PRIVATE_FLAG => libc::FUTEX_PRIVATE_FLAG,
        FUTEX_CLOCK_REALTIME => libc::FUTEX_CLOCK_REALTIME,
        FUTEX_WAITERS => libc::FUTEX_WAITERS,
        FUTEX_OWNER_DIED => libc::FUTEX_OWNER_DIED, FUTEX_TID_MASK => libc::FUTEX_TID_MASK,
    }
    use sched::*;
    same! {
        CSIGNAL => libc::CSIGNAL, CLONE_NEWTIME => libc::CLONE_NEWTIME,
        CLONE_VM => libc::CLONE_VM, CLONE_FS => libc::CLONE_FS,
        CLONE_FILES => libc::CLONE_FILES, CLONE_SIGHAND => libc::CLONE_SIGHAND,
        CLONE_PIDFD => libc::CLONE_PIDFD, CLONE_PTRACE => libc::CLONE_PTRACE,
        CLONE_VFORK => libc::CLONE_VFORK, CLONE_PARENT => libc::CLONE_PARENT,
        CLONE_THREAD => libc::CLONE_THREAD, CLONE_NEWNS => libc::CLONE_NEWNS,
        CLONE_SYSVSEM => libc::CLONE_SYSVSEM, CLONE_SETTLS => libc::CLONE_SETTLS,
        CLONE_PARENT_SETTID => libc::CLONE_PARENT_SETTID,
        CLONE_CHILD_CLEARTID => libc::CLONE_CHILD_CLEARTID,
        CLONE_DETACHED => libc::CLONE_DETACHED, CLONE_UNTRACED => libc::CLONE_UNTRACED,
        CLONE_CHILD_SETTID => libc::CLONE_CHILD_SETTID,
        CLONE_NEWCGROUP => libc::CLONE_NEWCGROUP, CLONE_NEWUTS => libc::CLONE_NEWUTS,
        CLONE_NEWIPC => libc::CLONE_NEWIPC, CLONE_NEWUSER => libc::CLONE_NEWUSER,
        CLONE_NEWPID => libc::CLONE_NEWPID, CLONE_NEWNET => libc::CLONE_NEWNET,
        CLONE_IO => libc::CLONE_IO,
        WNOHANG => libc::WNOHANG, WUNTRACED => libc::WUNTRACED, WSTOPPED => libc::WSTOPPED,
        WEXITED => libc::WEXITED, WCONTINUED => libc::WCONTINUED, WNOWAIT => libc::WNOWAIT,
        WNOTHREAD => libc::__WNOTHREAD, WALL => libc::__WALL, WCLONE => libc::__WCLONE,
        P_ALL => libc::P_ALL, P_PID => libc::P_PID, P_PGID => libc::P_PGID,
        P_PIDFD => libc::P_PIDFD,
        GRND_NONBLOCK => libc::GRND_NONBLOCK, GRND_RANDOM => libc::GRND_RANDOM,
        GRND_INSECURE => libc::GRND_INSECURE,
    }
    use prctl::*;
    same! {
        PR_SET_PDEATHSIG => libc::PR_SET_PDEATHSIG, PR_GET_PDEATHSIG => libc::PR_GET_PDEATHSIG,
        PR_GET_DUMPABLE => libc::PR_GET_DUMPABLE, PR_SET_DUMPABLE => libc::PR_SET_DUMPABLE,
        PR_SET_NAME => libc::PR_SET_NAME, PR_GET_NAME => libc::PR_GET_NAME,
        PR_SET_NO_NEW_PRIVS => libc::PR_SET_NO_NEW_PRIVS, PR_SET_VMA => libc::PR_SET_VMA,
    }
}

/// Values this machine's kernel headers define but the C library crate does not export.
#[test]
fn constants_from_headers() {
    let headers = [
        "/usr/include/x86_64-linux-gnu/asm/prctl.h",
        "/usr/include/x86_64-linux-gnu/asm/signal.h",
        "/usr/include/asm-generic/mman-common.h",
    ];
    let mut text = String::new();
    for h in headers {
        match std::fs::read_to_string(h) {
            Ok(t) => text.push_str(&t),
            Err(e) => {
                println!("skipped: cannot read {h}: {e}");
                return;
            }
        }
    }
    let define = |name: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name) && l.starts_with("#define"))
            .unwrap_or_else(|| panic!("{name} not in the headers"));
        let v = line.split_whitespace().nth(2).unwrap();
        match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
            None => v.parse().unwrap(),
        }
    };
    use prctl::*;
    for (name, ours) in [
        ("ARCH_SET_GS", ARCH_SET_GS),
        ("ARCH_SET_FS", ARCH_SET_FS),
        ("ARCH_GET_FS", ARCH_GET_FS),
        ("ARCH_GET_GS", ARCH_GET_GS),
        ("ARCH_GET_CPUID", ARCH_GET_CPUID),
        ("ARCH_SET_CPUID", ARCH_SET_CPUID),
        ("ARCH_GET_XCOMP_SUPP", ARCH_GET_XCOMP_SUPP),
        ("ARCH_GET_XCOMP_PERM", ARCH_GET_XCOMP_PERM),
        ("ARCH_REQ_XCOMP_PERM", ARCH_REQ_XCOMP_PERM),
        ("PROT_SEM", mman::PROT_SEM),
        ("MAP_UNINITIALIZED", mman::MAP_UNINITIALIZED),
        ("MADV_DONTNEED_LOCKED", mman::MADV_DONTNEED_LOCKED),
        ("MADV_COLLAPSE", mman::MADV_COLLAPSE),
    ] {
        assert_eq!(define(name), u64::from(ours), "{name}");
    }
    assert_eq!(define("SA_RESTORER"), signal::SA_RESTORER);
    assert_eq!(define("MINSIGSTKSZ"), signal::MINSIGSTKSZ);
    assert_eq!(define("SIGSTKSZ"), signal::SIGSTKSZ);
}

#[test]
fn helpers() {
    use time::*;
    assert_eq!(
        Timespec::from_nanos(1_500_000_001),
        Timespec {
            tv_sec: 1,
            tv_nsec: 500_000_001
        }
    );
    assert_eq!(
        Timespec {
            tv_sec: 2,
            tv_nsec: 5
        }
        .to_nanos(),
        Some(2_000_000_005)
    );
    assert_eq!(
        Timespec {
            tv_sec: 0,
            tv_nsec: 1_000_000_000
        }
        .to_nanos(),
        None
    );
    assert_eq!(
        Timespec {
            tv_sec: -1,
            tv_nsec: 0
        }
        .to_nanos(),
        None
    );
    assert_eq!(
        Timespec {
            tv_sec: i64::MAX,
            tv_nsec: 0
        }
        .to_nanos(),
        None
    );
    assert_eq!(
        Timeval::from_nanos(1_500_999_999),
        Timeval {
            tv_sec: 1,
            tv_usec: 500_999
        }
    );

    let u = utsname::Utsname::new(b"Linux", b"lego", b"6.1.0", b"#1", b"x86_64", b"(none)");
    assert_eq!(&u.sysname[..6], b"Linux\0");
    assert_eq!(&u.machine[..7], b"x86_64\0");
    let long = [b'a'; 100];
    let u = utsname::Utsname::new(&long, b"a\0b", b"", b"", b"", b"");
    assert_eq!(u.sysname[63..], [b'a', 0]);
    assert_eq!(&u.nodename[..2], b"a\0");
    assert_eq!(utsname::Utsname::zeroed().release, [0; 65]);

    let t = tty::Termios::default_tty();
    assert_eq!(
        (t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag),
        (0x500, 0x5, 0x4bf, 0x8a3b)
    );
    assert_eq!(t.c_cc[tty::VINTR], 3);
    assert!(stat::is_dir(stat::S_IFDIR | 0o755));
    assert!(stat::is_reg(stat::S_IFREG | 0o644));
    assert!(!stat::is_reg(stat::S_IFLNK | 0o777));
}
