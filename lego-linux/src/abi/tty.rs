//! Terminal structs and `ioctl` numbers (`asm-generic/termbits.h`, `asm-generic/ioctls.h`).
//!
//! The C library's `isatty` is `TCGETS` succeeding, and stdio line-buffers a terminal, so the
//! process monitor answers `TCGETS` on the user's terminal with [`Termios::default_tty`].

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Number of control characters in the kernel's `termios`.
pub const NCCS: usize = 19;

/// The kernel's `struct termios` (36 bytes), as `TCGETS` returns and `TCSETS*` take it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Termios {
    /// Input modes.
    pub c_iflag: u32,
    /// Output modes.
    pub c_oflag: u32,
    /// Control modes.
    pub c_cflag: u32,
    /// Local modes.
    pub c_lflag: u32,
    /// Line discipline.
    pub c_line: u8,
    /// Control characters (`V*` indices).
    pub c_cc: [u8; NCCS],
}

const _: () = assert!(size_of::<Termios>() == 36);

/// Window size (`TIOCGWINSZ`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Winsize {
    /// Rows.
    pub ws_row: u16,
    /// Columns.
    pub ws_col: u16,
    /// Width in pixels (unused).
    pub ws_xpixel: u16,
    /// Height in pixels (unused).
    pub ws_ypixel: u16,
}

const _: () = assert!(size_of::<Winsize>() == 8);

/// Get the terminal's `termios`.
pub const TCGETS: u32 = 0x5401;
/// Set it now.
pub const TCSETS: u32 = 0x5402;
/// Set it after output drains.
pub const TCSETSW: u32 = 0x5403;
/// Set it after output drains, discarding input.
pub const TCSETSF: u32 = 0x5404;
/// Suspend or resume output.
pub const TCXONC: u32 = 0x540A;
/// Flush queues.
pub const TCFLSH: u32 = 0x540B;
/// Make it the controlling terminal.
pub const TIOCSCTTY: u32 = 0x540E;
/// Get the foreground process group.
pub const TIOCGPGRP: u32 = 0x540F;
/// Set the foreground process group.
pub const TIOCSPGRP: u32 = 0x5410;
/// Bytes in the output queue.
pub const TIOCOUTQ: u32 = 0x5411;
/// Get the window size.
pub const TIOCGWINSZ: u32 = 0x5413;
/// Set the window size.
pub const TIOCSWINSZ: u32 = 0x5414;
/// Bytes readable now.
pub const FIONREAD: u32 = 0x541B;
/// Set or clear non-blocking mode.
pub const FIONBIO: u32 = 0x5421;
/// Get the session id.
pub const TIOCGSID: u32 = 0x5429;
/// Clear close-on-exec.
pub const FIONCLEX: u32 = 0x5450;
/// Set close-on-exec.
pub const FIOCLEX: u32 = 0x5451;
/// Set or clear asynchronous I/O.
pub const FIOASYNC: u32 = 0x5452;

/// `c_iflag`: signal interrupt on break.
pub const BRKINT: u32 = 0x002;
/// `c_iflag`: map CR to NL on input.
pub const ICRNL: u32 = 0x100;
/// `c_iflag`: XON/XOFF flow control on output.
pub const IXON: u32 = 0x400;
/// `c_iflag`: input is UTF-8.
pub const IUTF8: u32 = 0x4000;
/// `c_oflag`: output processing.
pub const OPOST: u32 = 0x01;
/// `c_oflag`: map NL to CR-NL on output.
pub const ONLCR: u32 = 0x04;
/// `c_cflag`: 38400 baud.
pub const B38400: u32 = 0x0f;
/// `c_cflag`: 8-bit characters.
pub const CS8: u32 = 0x30;
/// `c_cflag`: enable the receiver.
pub const CREAD: u32 = 0x80;
/// `c_cflag`: hang up on last close.
pub const HUPCL: u32 = 0x400;
/// `c_lflag`: generate signals for INTR, QUIT, SUSP.
pub const ISIG: u32 = 0x001;
/// `c_lflag`: canonical (line) mode.
pub const ICANON: u32 = 0x002;
/// `c_lflag`: echo input.
pub const ECHO: u32 = 0x008;
/// `c_lflag`: ERASE erases a character.
pub const ECHOE: u32 = 0x010;
/// `c_lflag`: KILL erases the line.
pub const ECHOK: u32 = 0x020;
/// `c_lflag`: echo control characters as `^X`.
pub const ECHOCTL: u32 = 0x200;
/// `c_lflag`: KILL erases the line visibly.
pub const ECHOKE: u32 = 0x800;
/// `c_lflag`: extended input processing.
pub const IEXTEN: u32 = 0x8000;

/// `c_cc` index: interrupt (`^C`).
pub const VINTR: usize = 0;
/// `c_cc` index: quit (`^\`).
pub const VQUIT: usize = 1;
/// `c_cc` index: erase (DEL).
pub const VERASE: usize = 2;
/// `c_cc` index: kill line (`^U`).
pub const VKILL: usize = 3;
/// `c_cc` index: end of file (`^D`).
pub const VEOF: usize = 4;
/// `c_cc` index: read timeout.
pub const VTIME: usize = 5;
/// `c_cc` index: read minimum.
pub const VMIN: usize = 6;
/// `c_cc` index: start output (`^Q`).
pub const VSTART: usize = 8;
/// `c_cc` index: stop output (`^S`).
pub const VSTOP: usize = 9;
/// `c_cc` index: suspend (`^Z`).
pub const VSUSP: usize = 10;
/// `c_cc` index: reprint (`^R`).
pub const VREPRINT: usize = 12;
/// `c_cc` index: discard (`^O`).
pub const VDISCARD: usize = 13;
/// `c_cc` index: erase word (`^W`).
pub const VWERASE: usize = 14;
/// `c_cc` index: literal next (`^V`).
pub const VLNEXT: usize = 15;

impl Termios {
    /// A fresh Linux terminal (`tty_std_termios`): canonical mode with echo and signals, CR to
    /// NL on input, NL to CR-NL on output, 8 bits at 38400 baud, the usual control characters.
    pub const fn default_tty() -> Termios {
        let mut c_cc = [0; NCCS];
        c_cc[VINTR] = 0x03;
        c_cc[VQUIT] = 0x1c;
        c_cc[VERASE] = 0x7f;
        c_cc[VKILL] = 0x15;
        c_cc[VEOF] = 0x04;
        c_cc[VMIN] = 1;
        c_cc[VSTART] = 0x11;
        c_cc[VSTOP] = 0x13;
        c_cc[VSUSP] = 0x1a;
        c_cc[VREPRINT] = 0x12;
        c_cc[VDISCARD] = 0x0f;
        c_cc[VWERASE] = 0x17;
        c_cc[VLNEXT] = 0x16;
        Termios {
            c_iflag: ICRNL | IXON,
            c_oflag: OPOST | ONLCR,
            c_cflag: B38400 | CS8 | CREAD | HUPCL,
            c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            c_line: 0,
            c_cc,
        }
    }
}
