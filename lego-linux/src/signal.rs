//! Signal numbers, names, default actions and the texts a shell prints for them.
//!
//! Numbers are x86-64 Linux's (`asm/signal.h`). The kernel's real-time signals are
//! [`SIGRTMIN`]..=[`SIGRTMAX`] (32..=64); the C library keeps the first two for itself (threads
//! cancellation, `setxid`), so a program's `SIGRTMIN` is 34. Descriptions are the C library's
//! `strsignal` texts, which is what bash prints when a child dies of a signal ("Segmentation
//! fault", "Killed", with " (core dumped)" when the wait status says so), so `lego run` can
//! print the same line a user would see on Linux.

use core::fmt;

/// Declares the constants and the (number, name, description) table from one list.
macro_rules! signals {
    ($($konst:ident = $nr:literal => $desc:literal,)*) => {
        $(
            #[doc = concat!("`", stringify!($konst), "`: ", $desc, ".")]
            pub const $konst: u32 = $nr;
        )*
        /// Every standard signal as (number, name, description), 1..=31 in order.
        pub const ALL: &[(u32, &str, &str)] = &[$(($nr, stringify!($konst), $desc)),*];
    };
}

signals! {
    SIGHUP = 1 => "Hangup",
    SIGINT = 2 => "Interrupt",
    SIGQUIT = 3 => "Quit",
    SIGILL = 4 => "Illegal instruction",
    SIGTRAP = 5 => "Trace/breakpoint trap",
    SIGABRT = 6 => "Aborted",
    SIGBUS = 7 => "Bus error",
    SIGFPE = 8 => "Floating point exception",
    SIGKILL = 9 => "Killed",
    SIGUSR1 = 10 => "User defined signal 1",
    SIGSEGV = 11 => "Segmentation fault",
    SIGUSR2 = 12 => "User defined signal 2",
    SIGPIPE = 13 => "Broken pipe",
    SIGALRM = 14 => "Alarm clock",
    SIGTERM = 15 => "Terminated",
    SIGSTKFLT = 16 => "Stack fault",
    SIGCHLD = 17 => "Child exited",
    SIGCONT = 18 => "Continued",
    SIGSTOP = 19 => "Stopped (signal)",
    SIGTSTP = 20 => "Stopped",
    SIGTTIN = 21 => "Stopped (tty input)",
    SIGTTOU = 22 => "Stopped (tty output)",
    SIGURG = 23 => "Urgent I/O condition",
    SIGXCPU = 24 => "CPU time limit exceeded",
    SIGXFSZ = 25 => "File size limit exceeded",
    SIGVTALRM = 26 => "Virtual timer expired",
    SIGPROF = 27 => "Profiling timer expired",
    SIGWINCH = 28 => "Window changed",
    SIGIO = 29 => "I/O possible",
    SIGPWR = 30 => "Power failure",
    SIGSYS = 31 => "Bad system call",
}

/// `SIGIOT` is `SIGABRT`.
pub const SIGIOT: u32 = SIGABRT;
/// `SIGPOLL` is `SIGIO`.
pub const SIGPOLL: u32 = SIGIO;
/// The kernel's first real-time signal.
pub const SIGRTMIN: u32 = 32;
/// The last real-time signal (`_NSIG`).
pub const SIGRTMAX: u32 = 64;
/// The C library's first real-time signal available to programs (`SIGRTMIN` in C): glibc and
/// musl keep 32 and 33 for themselves.
pub const LIBC_SIGRTMIN: u32 = 34;
/// Number of signals (`_NSIG`): valid signals are 1..=`NSIG`.
pub const NSIG: u32 = 64;

/// Whether `sig` is a signal number (1..=64).
pub const fn is_valid(sig: u32) -> bool {
    sig >= 1 && sig <= NSIG
}

/// The name of a standard signal (`"SIGSEGV"`); `None` for real-time and invalid numbers.
pub fn name(sig: u32) -> Option<&'static str> {
    entry(sig).map(|(_, n, _)| *n)
}

/// The C library's description of a standard signal (`"Segmentation fault"`); `None` for
/// real-time and invalid numbers (see [`describe`] for those).
pub fn description(sig: u32) -> Option<&'static str> {
    entry(sig).map(|(_, _, d)| *d)
}

/// The table entry of a standard signal.
fn entry(sig: u32) -> Option<&'static (u32, &'static str, &'static str)> {
    let index = usize::try_from(sig.checked_sub(1)?).ok()?;
    ALL.get(index)
}

/// The number of the signal called `name`, with or without the `SIG` prefix (`"SEGV"`,
/// `"SIGSEGV"`), aliases (`SIGIOT`, `SIGPOLL`) and `RTMIN+n` / `RTMAX-n` (kernel numbering)
/// included.
pub fn by_name(name: &str) -> Option<u32> {
    let bare = name.strip_prefix("SIG").unwrap_or(name);
    match bare {
        "IOT" => return Some(SIGIOT),
        "POLL" => return Some(SIGPOLL),
        "RTMIN" => return Some(SIGRTMIN),
        "RTMAX" => return Some(SIGRTMAX),
        _ => {}
    }
    if let Some(n) = bare.strip_prefix("RTMIN+") {
        let n: u32 = n.parse().ok()?;
        return SIGRTMIN.checked_add(n).filter(|s| *s <= SIGRTMAX);
    }
    if let Some(n) = bare.strip_prefix("RTMAX-") {
        let n: u32 = n.parse().ok()?;
        return SIGRTMAX.checked_sub(n).filter(|s| *s >= SIGRTMIN);
    }
    ALL.iter()
        .find(|(_, n, _)| n.strip_prefix("SIG") == Some(bare))
        .map(|(nr, _, _)| *nr)
}

/// What the kernel does with a signal nobody handles (`man 7 signal`, "Standard signals").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// Terminate the process.
    Term,
    /// Terminate the process and dump core.
    Core,
    /// Ignore the signal.
    Ignore,
    /// Stop the process.
    Stop,
    /// Continue the process if it is stopped.
    Continue,
}

/// The default action of `sig` (real-time signals terminate); `None` for an invalid number.
pub const fn default_action(sig: u32) -> Option<DefaultAction> {
    Some(match sig {
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::Core,
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGCONT => DefaultAction::Continue,
        1..=NSIG => DefaultAction::Term,
        _ => return None,
    })
}

/// Whether a program can catch, block or ignore `sig` (all but `SIGKILL` and `SIGSTOP`).
pub const fn can_be_caught(sig: u32) -> bool {
    is_valid(sig) && sig != SIGKILL && sig != SIGSTOP
}

/// The bit of `sig` in a 64-bit signal set (`sigset_t` as the kernel takes it): `1 << (sig-1)`.
pub const fn mask_bit(sig: u32) -> Option<u64> {
    if is_valid(sig) {
        Some(1 << (sig - 1))
    } else {
        None
    }
}

/// The shell's exit status for a child killed by `sig`: `128 + sig` (what `$?` shows).
/// Numbers above 127 (never valid signals) give 255.
pub const fn exit_status_for(sig: u32) -> u8 {
    if sig <= 127 { 128 + sig as u8 } else { 255 }
}

/// The `wait4` status word of a process that exited with `code` (`WIFEXITED`).
pub const fn wait_status_exited(code: u8) -> i32 {
    (code as i32) << 8
}

/// The `wait4` status word of a process killed by `sig` (`WIFSIGNALED`), with `WCOREDUMP` set if
/// `core` (only meaningful when a core file was actually written).
pub const fn wait_status_signaled(sig: u32, core: bool) -> i32 {
    (sig & 0x7f) as i32 | if core { 0x80 } else { 0 }
}

/// Displays a signal's description for any number, as the C library's `strsignal` does:
/// "Segmentation fault", "Real-time signal 3" (numbered from [`LIBC_SIGRTMIN`]),
/// "Unknown signal 32".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Describe(pub u32);

/// See [`Describe`].
pub const fn describe(sig: u32) -> Describe {
    Describe(sig)
}

impl fmt::Display for Describe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sig = self.0;
        match description(sig) {
            Some(d) => f.write_str(d),
            None if (LIBC_SIGRTMIN..=SIGRTMAX).contains(&sig) => {
                write!(f, "Real-time signal {}", sig - LIBC_SIGRTMIN)
            }
            None => write!(f, "Unknown signal {sig}"),
        }
    }
}

/// The line bash prints for a child that died of `sig`: the description, then
/// " (core dumped)" if the wait status had `WCOREDUMP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Killed {
    /// The signal.
    pub sig: u32,
    /// Whether a core was dumped.
    pub core: bool,
}

impl fmt::Display for Killed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Describe(self.sig))?;
        if self.core {
            f.write_str(" (core dumped)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_and_names() {
        assert_eq!(ALL.len(), 31);
        for (i, (nr, _, _)) in ALL.iter().enumerate() {
            assert_eq!(*nr as usize, i + 1);
        }
        assert_eq!(name(SIGSEGV), Some("SIGSEGV"));
        assert_eq!(name(0), None);
        assert_eq!(name(32), None);
        assert_eq!(description(SIGKILL), Some("Killed"));
        assert_eq!(description(SIGABRT), Some("Aborted"));
        assert_eq!(description(SIGFPE), Some("Floating point exception"));
        assert_eq!(by_name("SIGSEGV"), Some(11));
        assert_eq!(by_name("KILL"), Some(9));
        assert_eq!(by_name("SIGIOT"), Some(6));
        assert_eq!(by_name("RTMIN+2"), Some(34));
        assert_eq!(by_name("SIGRTMAX-1"), Some(63));
        assert_eq!(by_name("RTMIN+40"), None);
        assert_eq!(by_name("RTMAX-99"), None);
        assert_eq!(by_name("FOO"), None);
        assert_eq!(exit_status_for(SIGSEGV), 139);
        assert_eq!(exit_status_for(SIGKILL), 137);
        assert_eq!(exit_status_for(1000), 255);
        assert_eq!(mask_bit(1), Some(1));
        assert_eq!(mask_bit(64), Some(1 << 63));
        assert_eq!(mask_bit(0), None);
        assert_eq!(mask_bit(65), None);
        assert!(!can_be_caught(SIGKILL));
        assert!(can_be_caught(SIGTERM));
        assert_eq!(default_action(SIGSEGV), Some(DefaultAction::Core));
        assert_eq!(default_action(SIGCHLD), Some(DefaultAction::Ignore));
        assert_eq!(default_action(40), Some(DefaultAction::Term));
        assert_eq!(default_action(65), None);
        let k = Killed {
            sig: SIGSEGV,
            core: true,
        };
        assert_eq!(k.to_string(), "Segmentation fault (core dumped)");
        assert_eq!(describe(35).to_string(), "Real-time signal 1");
        assert_eq!(describe(32).to_string(), "Unknown signal 32");
    }

    /// The wait status words decode with the C library's macros.
    #[test]
    fn wait_status_words() {
        let s = wait_status_exited(3);
        assert!(libc::WIFEXITED(s));
        assert_eq!(libc::WEXITSTATUS(s), 3);
        let s = wait_status_signaled(SIGSEGV, true);
        assert!(libc::WIFSIGNALED(s));
        assert_eq!(libc::WTERMSIG(s), 11);
        assert!(libc::WCOREDUMP(s));
    }

    /// Numbers agree with the C library's, and descriptions with its `strsignal`.
    #[test]
    fn agrees_with_libc() {
        let known = [
            (libc::SIGHUP, SIGHUP),
            (libc::SIGBUS, SIGBUS),
            (libc::SIGUSR1, SIGUSR1),
            (libc::SIGSEGV, SIGSEGV),
            (libc::SIGSTKFLT, SIGSTKFLT),
            (libc::SIGCHLD, SIGCHLD),
            (libc::SIGSTOP, SIGSTOP),
            (libc::SIGIO, SIGIO),
            (libc::SIGPWR, SIGPWR),
            (libc::SIGSYS, SIGSYS),
        ];
        for (c, ours) in known {
            assert_eq!(u32::try_from(c).unwrap(), ours);
        }
        assert_eq!(u32::try_from(libc::SIGRTMIN()).unwrap(), LIBC_SIGRTMIN);
        assert_eq!(u32::try_from(libc::SIGRTMAX()).unwrap(), SIGRTMAX);
        for sig in 0..=66u32 {
            // SAFETY: strsignal returns a NUL-terminated string that stays valid until the next
            // call on this thread; it is copied out at once.
            let text = unsafe {
                std::ffi::CStr::from_ptr(libc::strsignal(i32::try_from(sig).unwrap()))
                    .to_str()
                    .unwrap()
                    .to_owned()
            };
            assert_eq!(describe(sig).to_string(), text, "signal {sig}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(sig in any::<u32>(), core in any::<bool>()) {
            let _ = Killed { sig, core }.to_string();
            let _ = (name(sig), description(sig), default_action(sig), mask_bit(sig));
            prop_assert!(exit_status_for(sig) >= 128);
        }
    }
}
