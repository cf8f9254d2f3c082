//! Linux errno values, their names and what they mean.
//!
//! A syscall that fails returns `-errno` in `rax` ([`neg`]); the C library turns that into
//! `errno` and `-1`. The process monitor returns these for the Linux programs it runs, and the
//! file protocol (`lego-proto`) carries the same numbers, so a storage error reaches a program
//! unchanged. Names and values are those of `asm-generic/errno-base.h` and `asm-generic/errno.h`
//! (x86-64 uses the generic ones); the descriptions are the C library's `strerror` texts, which
//! is what a program's `perror` prints. Values 41 and 58 are unused on Linux.

use core::fmt;

/// A Linux errno value (1..=4095; Linux never returns more, see [`MAX_ERRNO`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Errno(u16);

/// The largest errno a syscall can return: returns in `-4095..=-1` are errors (`IS_ERR_VALUE`).
pub const MAX_ERRNO: u16 = 4095;

/// Declares the constants and the (value, name, description) table from one list.
macro_rules! errnos {
    ($($konst:ident = $nr:literal => $desc:literal,)*) => {
        $(
            #[doc = concat!("`", stringify!($konst), "`: ", $desc, ".")]
            pub const $konst: Errno = Errno($nr);
        )*
        /// Every (errno, name, description), in ascending order, aliases excluded.
        pub const ALL: &[(Errno, &str, &str)] = &[$((Errno($nr), stringify!($konst), $desc)),*];
    };
}

errnos! {
    EPERM = 1 => "Operation not permitted",
    ENOENT = 2 => "No such file or directory",
    ESRCH = 3 => "No such process",
    EINTR = 4 => "Interrupted system call",
    EIO = 5 => "Input/output error",
    ENXIO = 6 => "No such device or address",
    E2BIG = 7 => "Argument list too long",
    ENOEXEC = 8 => "Exec format error",
    EBADF = 9 => "Bad file descriptor",
    ECHILD = 10 => "No child processes",
    EAGAIN = 11 => "Resource temporarily unavailable",
    ENOMEM = 12 => "Cannot allocate memory",
    EACCES = 13 => "Permission denied",
    EFAULT = 14 => "Bad address",
    ENOTBLK = 15 => "Block device required",
    EBUSY = 16 => "Device or resource busy",
    EEXIST = 17 => "File exists",
    EXDEV = 18 => "Invalid cross-device link",
    ENODEV = 19 => "No such device",
    ENOTDIR = 20 => "Not a directory",
    EISDIR = 21 => "Is a directory",
    EINVAL = 22 => "Invalid argument",
    ENFILE = 23 => "Too many open files in system",
    EMFILE = 24 => "Too many open files",
    ENOTTY = 25 => "Inappropriate ioctl for device",
    ETXTBSY = 26 => "Text file busy",
    EFBIG = 27 => "File too large",
    ENOSPC = 28 => "No space left on device",
    ESPIPE = 29 => "Illegal seek",
    EROFS = 30 => "Read-only file system",
    EMLINK = 31 => "Too many links",
    EPIPE = 32 => "Broken pipe",
    EDOM = 33 => "Numerical argument out of domain",
    ERANGE = 34 => "Numerical result out of range",
    EDEADLK = 35 => "Resource deadlock avoided",
    ENAMETOOLONG = 36 => "File name too long",
    ENOLCK = 37 => "No locks available",
    ENOSYS = 38 => "Function not implemented",
    ENOTEMPTY = 39 => "Directory not empty",
    ELOOP = 40 => "Too many levels of symbolic links",
    ENOMSG = 42 => "No message of desired type",
    EIDRM = 43 => "Identifier removed",
    ECHRNG = 44 => "Channel number out of range",
    EL2NSYNC = 45 => "Level 2 not synchronized",
    EL3HLT = 46 => "Level 3 halted",
    EL3RST = 47 => "Level 3 reset",
    ELNRNG = 48 => "Link number out of range",
    EUNATCH = 49 => "Protocol driver not attached",
    ENOCSI = 50 => "No CSI structure available",
    EL2HLT = 51 => "Level 2 halted",
    EBADE = 52 => "Invalid exchange",
    EBADR = 53 => "Invalid request descriptor",
    EXFULL = 54 => "Exchange full",
    ENOANO = 55 => "No anode",
    EBADRQC = 56 => "Invalid request code",
    EBADSLT = 57 => "Invalid slot",
    EBFONT = 59 => "Bad font file format",
    ENOSTR = 60 => "Device not a stream",
    ENODATA = 61 => "No data available",
    ETIME = 62 => "Timer expired",
    ENOSR = 63 => "Out of streams resources",
    ENONET = 64 => "Machine is not on the network",
    ENOPKG = 65 => "Package not installed",
    EREMOTE = 66 => "Object is remote",
    ENOLINK = 67 => "Link has been severed",
    EADV = 68 => "Advertise error",
    ESRMNT = 69 => "Srmount error",
    ECOMM = 70 => "Communication error on send",
    EPROTO = 71 => "Protocol error",
    EMULTIHOP = 72 => "Multihop attempted",
    EDOTDOT = 73 => "RFS specific error",
    EBADMSG = 74 => "Bad message",
    EOVERFLOW = 75 => "Value too large for defined data type",
    ENOTUNIQ = 76 => "Name not unique on network",
    EBADFD = 77 => "File descriptor in bad state",
    EREMCHG = 78 => "Remote address changed",
    ELIBACC = 79 => "Can not access a needed shared library",
    ELIBBAD = 80 => "Accessing a corrupted shared library",
    ELIBSCN = 81 => ".lib section in a.out corrupted",
    ELIBMAX = 82 => "Attempting to link in too many shared libraries",
    ELIBEXEC = 83 => "Cannot exec a shared library directly",
    EILSEQ = 84 => "Invalid or incomplete multibyte or wide character",
    ERESTART = 85 => "Interrupted system call should be restarted",
    ESTRPIPE = 86 => "Streams pipe error",
    EUSERS = 87 => "Too many users",
    ENOTSOCK = 88 => "Socket operation on non-socket",
    EDESTADDRREQ = 89 => "Destination address required",
    EMSGSIZE = 90 => "Message too long",
    EPROTOTYPE = 91 => "Protocol wrong type for socket",
    ENOPROTOOPT = 92 => "Protocol not available",
    EPROTONOSUPPORT = 93 => "Protocol not supported",
    ESOCKTNOSUPPORT = 94 => "Socket type not supported",
    EOPNOTSUPP = 95 => "Operation not supported",
    EPFNOSUPPORT = 96 => "Protocol family not supported",
    EAFNOSUPPORT = 97 => "Address family not supported by protocol",
    EADDRINUSE = 98 => "Address already in use",
    EADDRNOTAVAIL = 99 => "Cannot assign requested address",
    ENETDOWN = 100 => "Network is down",
    ENETUNREACH = 101 => "Network is unreachable",
    ENETRESET = 102 => "Network dropped connection on reset",
    ECONNABORTED = 103 => "Software caused connection abort",
    ECONNRESET = 104 => "Connection reset by peer",
    ENOBUFS = 105 => "No buffer space available",
    EISCONN = 106 => "Transport endpoint is already connected",
    ENOTCONN = 107 => "Transport endpoint is not connected",
    ESHUTDOWN = 108 => "Cannot send after transport endpoint shutdown",
    ETOOMANYREFS = 109 => "Too many references: cannot splice",
    ETIMEDOUT = 110 => "Connection timed out",
    ECONNREFUSED = 111 => "Connection refused",
    EHOSTDOWN = 112 => "Host is down",
    EHOSTUNREACH = 113 => "No route to host",
    EALREADY = 114 => "Operation already in progress",
    EINPROGRESS = 115 => "Operation now in progress",
    ESTALE = 116 => "Stale file handle",
    EUCLEAN = 117 => "Structure needs cleaning",
    ENOTNAM = 118 => "Not a XENIX named type file",
    ENAVAIL = 119 => "No XENIX semaphores available",
    EISNAM = 120 => "Is a named type file",
    EREMOTEIO = 121 => "Remote I/O error",
    EDQUOT = 122 => "Disk quota exceeded",
    ENOMEDIUM = 123 => "No medium found",
    EMEDIUMTYPE = 124 => "Wrong medium type",
    ECANCELED = 125 => "Operation canceled",
    ENOKEY = 126 => "Required key not available",
    EKEYEXPIRED = 127 => "Key has expired",
    EKEYREVOKED = 128 => "Key has been revoked",
    EKEYREJECTED = 129 => "Key was rejected by service",
    EOWNERDEAD = 130 => "Owner died",
    ENOTRECOVERABLE = 131 => "State not recoverable",
    ERFKILL = 132 => "Operation not possible due to RF-kill",
    EHWPOISON = 133 => "Memory page has hardware error",
    ERESTARTSYS = 512 => "Interrupted system call (kernel-internal: restart if SA_RESTART)",
    ERESTARTNOINTR = 513 => "Interrupted system call (kernel-internal: always restart)",
    ERESTARTNOHAND = 514 => "Interrupted system call (kernel-internal: restart if no handler ran)",
    ENOIOCTLCMD = 515 => "Unknown ioctl command (kernel-internal)",
    ERESTART_RESTARTBLOCK = 516 => "Interrupted system call (kernel-internal: restart through restart_syscall)",
}

/// `EWOULDBLOCK` is `EAGAIN` on Linux.
pub const EWOULDBLOCK: Errno = EAGAIN;
/// `EDEADLOCK` is `EDEADLK` on x86-64.
pub const EDEADLOCK: Errno = EDEADLK;
/// `ENOTSUP` is `EOPNOTSUPP` on Linux.
pub const ENOTSUP: Errno = EOPNOTSUPP;

impl Errno {
    /// The errno with value `raw`, if it is in 1..=[`MAX_ERRNO`] (named or not).
    pub const fn new(raw: u16) -> Option<Errno> {
        if raw >= 1 && raw <= MAX_ERRNO {
            Some(Errno(raw))
        } else {
            None
        }
    }

    /// The value (`ENOENT.raw() == 2`).
    pub const fn raw(self) -> u16 {
        self.0
    }

    /// The syscall return value for this error: `-errno` as the 64-bit `rax`.
    pub const fn neg(self) -> u64 {
        (-(self.0 as i64)) as u64
    }

    /// The errno a syscall return value encodes, if it is an error (`-4095..=-1`).
    pub const fn from_ret(ret: u64) -> Option<Errno> {
        let signed = ret as i64;
        if signed < 0 && signed >= -(MAX_ERRNO as i64) {
            Some(Errno((-signed) as u16))
        } else {
            None
        }
    }

    /// The name (`"ENOENT"`), or `None` for a value Linux does not name.
    pub fn name(self) -> Option<&'static str> {
        lookup(self).map(|(_, name, _)| *name)
    }

    /// The C library's text for it (`"No such file or directory"`), or `None` if unnamed.
    pub fn description(self) -> Option<&'static str> {
        lookup(self).map(|(_, _, desc)| *desc)
    }
}

/// The table entry of `e`.
fn lookup(e: Errno) -> Option<&'static (Errno, &'static str, &'static str)> {
    ALL.binary_search_by_key(&e, |(v, _, _)| *v)
        .ok()
        .and_then(|i| ALL.get(i))
}

/// The syscall return value for `e`: `-e` as the 64-bit `rax`.
pub const fn neg(e: Errno) -> u64 {
    e.neg()
}

/// The name of `e` (`"ENOENT"`), or `"EUNKNOWN"` for a value Linux does not name.
pub fn errno_name(e: Errno) -> &'static str {
    e.name().unwrap_or("EUNKNOWN")
}

/// What `e` means (`"No such file or directory"`), or `"Unknown error"` if unnamed.
pub fn errno_description(e: Errno) -> &'static str {
    e.description().unwrap_or("Unknown error")
}

/// The errno called `name` (`"ENOENT"`), aliases included.
pub fn by_name(name: &str) -> Option<Errno> {
    match name {
        "EWOULDBLOCK" => Some(EWOULDBLOCK),
        "EDEADLOCK" => Some(EDEADLOCK),
        "ENOTSUP" => Some(ENOTSUP),
        _ => ALL.iter().find(|(_, n, _)| *n == name).map(|(e, _, _)| *e),
    }
}

/// `ENOENT (No such file or directory)`, or `errno 999` for an unnamed value.
impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match lookup(*self) {
            Some((_, name, desc)) => write!(f, "{name} ({desc})"),
            None => write!(f, "errno {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table_is_sorted() {
        for pair in ALL.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{:?}", pair[1]);
        }
        assert_eq!(ALL.iter().filter(|(e, _, _)| e.raw() <= 133).count(), 131);
    }

    #[test]
    fn names_and_texts() {
        assert_eq!(ENOENT.raw(), 2);
        assert_eq!(errno_name(ENOENT), "ENOENT");
        assert_eq!(errno_description(ENOENT), "No such file or directory");
        assert_eq!(errno_name(ERFKILL), "ERFKILL");
        assert_eq!(ERFKILL.raw(), 132);
        assert_eq!(EHWPOISON.raw(), 133);
        assert_eq!(errno_name(Errno(41)), "EUNKNOWN");
        assert_eq!(EWOULDBLOCK, EAGAIN);
        assert_eq!(by_name("ENOTSUP"), Some(EOPNOTSUPP));
        assert_eq!(by_name("E2BIG"), Some(E2BIG));
        assert_eq!(by_name("EFOO"), None);
        assert_eq!(ENOSYS.to_string(), "ENOSYS (Function not implemented)");
        assert_eq!(Errno(999).to_string(), "errno 999");
        assert_eq!(Errno::new(0), None);
        assert_eq!(Errno::new(4096), None);
        assert_eq!(Errno::new(4095), Some(Errno(4095)));
    }

    #[test]
    fn negative_returns() {
        assert_eq!(neg(EPERM), u64::MAX);
        assert_eq!(neg(ENOENT), (-2i64) as u64);
        assert_eq!(Errno::from_ret(neg(EINVAL)), Some(EINVAL));
        assert_eq!(Errno::from_ret(0), None);
        assert_eq!(Errno::from_ret(4096), None);
        assert_eq!(Errno::from_ret((-4096i64) as u64), None);
        assert_eq!(Errno::from_ret((-4095i64) as u64), Some(Errno(4095)));
    }

    /// The values and texts are this machine's C library's.
    #[test]
    fn agrees_with_libc() {
        for &(e, name, desc) in ALL.iter().filter(|(e, _, _)| e.raw() < 512) {
            // SAFETY: strerror returns a pointer to a NUL-terminated string the C library owns;
            // it is copied out at once, on one thread per call of this test.
            let text = unsafe { std::ffi::CStr::from_ptr(libc::strerror(i32::from(e.raw()))) };
            assert_eq!(text.to_str().unwrap(), desc, "{name}");
        }
        let known = [
            (libc::EPERM, EPERM),
            (libc::ENOENT, ENOENT),
            (libc::EAGAIN, EAGAIN),
            (libc::ENOSYS, ENOSYS),
            (libc::ELOOP, ELOOP),
            (libc::ENOMSG, ENOMSG),
            (libc::EBFONT, EBFONT),
            (libc::EOPNOTSUPP, EOPNOTSUPP),
            (libc::ENOTSUP, ENOTSUP),
            (libc::EDEADLOCK, EDEADLOCK),
            (libc::ETIMEDOUT, ETIMEDOUT),
            (libc::ERFKILL, ERFKILL),
            (libc::EHWPOISON, EHWPOISON),
        ];
        for (c, ours) in known {
            assert_eq!(c, i32::from(ours.raw()), "{ours}");
        }
    }

    proptest! {
        #[test]
        fn neg_round_trips(raw in 1u16..=MAX_ERRNO) {
            let e = Errno::new(raw).unwrap();
            prop_assert_eq!(Errno::from_ret(e.neg()), Some(e));
            // Display never panics and names what it can.
            let shown = e.to_string();
            prop_assert!(!shown.is_empty());
        }

        #[test]
        fn only_error_range_decodes(ret in any::<u64>()) {
            let decoded = Errno::from_ret(ret);
            prop_assert_eq!(decoded.is_some(), ret >= (-4095i64) as u64);
        }
    }
}
