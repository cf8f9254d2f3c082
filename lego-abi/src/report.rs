//! Reports the guest leaves in the mailbox page before writing [`crate::ports::REPORT`].

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::ABI_VERSION;

/// Offset of the [`ReadyReport`] in the mailbox page.
pub const READY_OFFSET: u64 = 0;
/// Offset of the [`FaultReport`] in the mailbox page.
pub const FAULT_OFFSET: u64 = 1024;
/// Offset of a result report (a `u32` length, then that many bytes of UTF-8 text).
pub const RESULT_OFFSET: u64 = 2048;
/// Longest result text.
pub const RESULT_MAX: usize = 2048 - 4;

/// The value written to the report port.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// The monitor finished booting: a [`ReadyReport`] is in the mailbox.
    Ready = 1,
    /// The guest faulted or panicked: a [`FaultReport`] is in the mailbox. The guest stops.
    Fault = 2,
    /// A line of results (self-tests, benchmarks) is in the mailbox; the guest goes on.
    Result = 3,
}

impl ReportKind {
    /// Decodes the wire value.
    pub fn from_u32(v: u32) -> Option<ReportKind> {
        match v {
            1 => Some(ReportKind::Ready),
            2 => Some(ReportKind::Fault),
            3 => Some(ReportKind::Result),
            _ => None,
        }
    }
}

/// Written once, when every vCPU has come up and the monitor is ready for work.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct ReadyReport {
    /// [`ABI_VERSION`].
    pub version: u32,
    /// The [`crate::Role`] value.
    pub role: u32,
    /// vCPUs configured.
    pub cpu_count: u32,
    /// The [`crate::Platform`] value.
    pub platform: u32,
    /// Bit `i` set: vCPU `i` came up and reported in.
    pub cpus_online: u64,
    /// 1 if the PVM VIF is registered on every vCPU (CPL0 native), else 0.
    pub vif: u32,
    /// Zero.
    pub _pad: u32,
    /// Nanoseconds from the first guest instruction to this report (guest TSC).
    pub guest_boot_ns: u64,
    /// Iterations of each calibration loop (0: calibration skipped).
    pub calib_iters: u64,
    /// Picoseconds per iteration of the loop run at CPL0.
    pub calib_cpl0_ps: u64,
    /// Picoseconds per iteration of the same loop run at CPL3.
    pub calib_cpl3_ps: u64,
    /// Median nanoseconds from a timer deadline to its interrupt handler, measured at boot.
    pub timer_wake_ns: u64,
    /// Heap bytes available to the monitor.
    pub heap_bytes: u64,
    /// Free page-frame bytes after boot.
    pub free_bytes: u64,
    /// ExCache bytes (pComponents).
    pub excache_bytes: u64,
    /// TSC frequency the guest used.
    pub tsc_khz: u64,
}

impl ReadyReport {
    /// A report with the version filled in.
    pub fn new() -> ReadyReport {
        ReadyReport {
            version: ABI_VERSION,
            ..Default::default()
        }
    }
}

/// What kind of fault a [`FaultReport`] describes.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// A CPU exception in the monitor.
    Exception = 1,
    /// A Rust panic in the monitor.
    Panic = 2,
}

/// Length of the message in a [`FaultReport`].
pub const FAULT_MESSAGE_LEN: usize = 256;

/// Written when the guest cannot continue.
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct FaultReport {
    /// [`ABI_VERSION`].
    pub version: u32,
    /// The [`FaultKind`] value.
    pub kind: u32,
    /// The vCPU that faulted.
    pub cpu: u32,
    /// Length of `message`.
    pub message_len: u32,
    /// Exception vector (exceptions only).
    pub vector: u64,
    /// Error code pushed by the CPU, or 0.
    pub error_code: u64,
    /// Faulting instruction.
    pub rip: u64,
    /// Faulting address (page faults only).
    pub cr2: u64,
    /// Stack pointer at the fault.
    pub rsp: u64,
    /// Flags at the fault.
    pub rflags: u64,
    /// Code segment at the fault (tells CPL).
    pub cs: u64,
    /// Panic message with location, or extra detail.
    pub message: [u8; FAULT_MESSAGE_LEN],
}

impl FaultReport {
    /// An empty report of `kind` from `cpu`.
    pub fn new(kind: FaultKind, cpu: u32) -> FaultReport {
        FaultReport {
            version: ABI_VERSION,
            kind: kind as u32,
            cpu,
            message_len: 0,
            vector: 0,
            error_code: 0,
            rip: 0,
            cr2: 0,
            rsp: 0,
            rflags: 0,
            cs: 0,
            message: [0; FAULT_MESSAGE_LEN],
        }
    }

    /// The message as text (lossy: invalid UTF-8 is cut at the first bad byte).
    pub fn message(&self) -> &str {
        let n = (self.message_len as usize).min(FAULT_MESSAGE_LEN);
        match core::str::from_utf8(&self.message[..n]) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&self.message[..e.valid_up_to()]).unwrap_or(""),
        }
    }

    /// Appends to the message, truncating at capacity.
    pub fn push_message(&mut self, s: &str) {
        let at = (self.message_len as usize).min(FAULT_MESSAGE_LEN);
        let n = s.len().min(FAULT_MESSAGE_LEN - at);
        self.message[at..at + n].copy_from_slice(&s.as_bytes()[..n]);
        self.message_len = (at + n) as u32;
    }
}

/// The conventional name of an x86 exception vector.
pub fn vector_name(vector: u64) -> &'static str {
    match vector {
        0 => "#DE divide error",
        1 => "#DB debug",
        2 => "NMI",
        3 => "#BP breakpoint",
        4 => "#OF overflow",
        5 => "#BR bound range",
        6 => "#UD invalid opcode",
        7 => "#NM device not available",
        8 => "#DF double fault",
        10 => "#TS invalid TSS",
        11 => "#NP segment not present",
        12 => "#SS stack fault",
        13 => "#GP general protection",
        14 => "#PF page fault",
        16 => "#MF x87 error",
        17 => "#AC alignment check",
        18 => "#MC machine check",
        19 => "#XM SIMD error",
        20 => "#VE virtualization",
        21 => "#CP control protection",
        _ => "unknown vector",
    }
}

const _: () = assert!(core::mem::size_of::<ReadyReport>() <= FAULT_OFFSET as usize);
const _: () = assert!(FAULT_OFFSET as usize + core::mem::size_of::<FaultReport>() <= 4096);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_truncates_and_reads_back() {
        let mut f = FaultReport::new(FaultKind::Panic, 1);
        f.push_message("panicked at src/x.rs:1:2: ");
        f.push_message(&"y".repeat(400));
        assert_eq!(f.message_len as usize, FAULT_MESSAGE_LEN);
        assert!(f.message().starts_with("panicked at"));
    }

    #[test]
    fn hostile_length_is_clamped() {
        let mut f = FaultReport::new(FaultKind::Exception, 0);
        f.message_len = u32::MAX;
        f.message[0] = 0xff;
        assert_eq!(f.message(), "");
    }

    #[test]
    fn names() {
        assert_eq!(vector_name(14), "#PF page fault");
        assert_eq!(ReportKind::from_u32(2), Some(ReportKind::Fault));
        assert_eq!(ReportKind::from_u32(0), None);
    }
}
