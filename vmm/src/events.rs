//! What a running guest tells its owner. The VMM process prints these as JSON lines on its
//! standard output; `lego` reads them.

use lego_abi::report::{FaultKind, FaultReport, ReadyReport, vector_name};
use lego_abi::{Platform, Role};
use serde::{Deserialize, Serialize};

/// The monitor finished booting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadyInfo {
    /// Role name.
    pub role: String,
    /// vCPUs configured.
    pub vcpus: u32,
    /// vCPUs that reported in.
    pub cpus_online: Vec<u32>,
    /// `kvm` or `pvm`.
    pub platform: String,
    /// Whether the PVM VIF is registered (kernel code native).
    pub vif: bool,
    /// Guest time from first instruction to ready, in microseconds.
    pub guest_boot_us: f64,
    /// VMM process time from start to the ready report, in microseconds.
    pub vmm_ready_us: f64,
    /// Calibration loop iterations per run.
    pub calib_iters: u64,
    /// Calibration loop at CPL0, ns per iteration.
    pub calib_cpl0_ns: f64,
    /// The same loop at CPL3, ns per iteration.
    pub calib_cpl3_ns: f64,
    /// Median timer lateness at boot, in microseconds.
    pub timer_wake_us: f64,
    /// Guest heap bytes.
    pub heap_bytes: u64,
    /// Free frame bytes in the guest.
    pub free_bytes: u64,
    /// ExCache bytes.
    pub excache_bytes: u64,
    /// TSC frequency used by the guest.
    pub tsc_khz: u64,
}

impl ReadyInfo {
    /// Converts the guest's report.
    pub fn from_report(r: &ReadyReport, vmm_ready_us: f64) -> ReadyInfo {
        let role = Role::from_u32(r.role)
            .map_or("unknown", Role::name)
            .to_string();
        ReadyInfo {
            role,
            vcpus: r.cpu_count,
            cpus_online: (0..64)
                .filter(|i| r.cpus_online & (1u64 << i) != 0)
                .collect(),
            platform: Platform::from_u32(r.platform).name().to_string(),
            vif: r.vif != 0,
            guest_boot_us: r.guest_boot_ns as f64 / 1e3,
            vmm_ready_us,
            calib_iters: r.calib_iters,
            calib_cpl0_ns: r.calib_cpl0_ps as f64 / 1e3,
            calib_cpl3_ns: r.calib_cpl3_ps as f64 / 1e3,
            timer_wake_us: r.timer_wake_ns as f64 / 1e3,
            heap_bytes: r.heap_bytes,
            free_bytes: r.free_bytes,
            excache_bytes: r.excache_bytes,
            tsc_khz: r.tsc_khz,
        }
    }
}

/// The guest stopped on an exception or a panic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultInfo {
    /// `exception` or `panic`.
    pub kind: String,
    /// The vCPU.
    pub cpu: u32,
    /// Exception vector.
    pub vector: u64,
    /// Its conventional name.
    pub vector_name: String,
    /// Error code.
    pub error_code: u64,
    /// Faulting instruction.
    pub rip: u64,
    /// Faulting address (page faults).
    pub cr2: u64,
    /// Stack pointer.
    pub rsp: u64,
    /// Code segment (tells the privilege level).
    pub cs: u64,
    /// Panic message with location, or the exception's name.
    pub message: String,
}

impl FaultInfo {
    /// Converts the guest's report.
    pub fn from_report(r: &FaultReport) -> FaultInfo {
        let panic = r.kind == FaultKind::Panic as u32;
        FaultInfo {
            kind: if panic { "panic" } else { "exception" }.to_string(),
            cpu: r.cpu,
            vector: r.vector,
            vector_name: if panic {
                String::new()
            } else {
                vector_name(r.vector).to_string()
            },
            error_code: r.error_code,
            rip: r.rip,
            cr2: r.cr2,
            rsp: r.rsp,
            cs: r.cs,
            // Panic messages put the payload on its own line; reports are one line.
            message: r.message().replace('\n', " ").trim().to_string(),
        }
    }

    /// One line for humans.
    pub fn summary(&self) -> String {
        if self.kind == "panic" {
            format!("guest panicked on cpu {}: {}", self.cpu, self.message)
        } else if self.vector == 14 {
            format!(
                "guest fault: {} (vector {}) on cpu {} at rip {:#x}, address {:#x}, error code {:#x}",
                self.vector_name, self.vector, self.cpu, self.rip, self.cr2, self.error_code
            )
        } else {
            format!(
                "guest fault: {} (vector {}) on cpu {} at rip {:#x}, error code {:#x}",
                self.vector_name, self.vector, self.cpu, self.rip, self.error_code
            )
        }
    }
}

/// Events, in the order they happen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum VmEvent {
    /// The monitor is ready.
    Ready(ReadyInfo),
    /// The guest stopped on a fault (terminal).
    Fault(FaultInfo),
    /// A line of results from the guest (self-tests, benchmarks).
    Result {
        /// The text.
        text: String,
    },
    /// The guest powered off (terminal).
    PowerOff {
        /// Its exit code.
        code: u32,
    },
    /// The VM died in a way the guest did not report: triple fault, KVM error (terminal).
    Crash {
        /// What happened.
        reason: String,
    },
    /// The VMM was asked to stop (terminal).
    Stopped,
    /// The VMM could not build the guest; nothing ran (terminal).
    SetupFailed {
        /// The error, one line.
        message: String,
    },
}

impl VmEvent {
    /// Whether the guest is gone after this event.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, VmEvent::Ready(_) | VmEvent::Result { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_report_converts() {
        let mut r = ReadyReport::new();
        r.role = 2;
        r.cpu_count = 2;
        r.cpus_online = 0b11;
        r.platform = 2;
        r.calib_cpl0_ps = 1500;
        let i = ReadyInfo::from_report(&r, 12.5);
        assert_eq!(i.role, "mmon");
        assert_eq!(i.cpus_online, vec![0, 1]);
        assert_eq!(i.platform, "pvm");
        assert!((i.calib_cpl0_ns - 1.5).abs() < 1e-9);
    }

    #[test]
    fn fault_summary_names_vector_and_rip() {
        let mut r = FaultReport::new(FaultKind::Exception, 1);
        r.vector = 14;
        r.rip = 0xffff_ffff_8020_1234;
        r.cr2 = 0xdead_b000;
        let s = FaultInfo::from_report(&r).summary();
        assert!(s.contains("#PF page fault (vector 14)"), "{s}");
        assert!(s.contains("rip 0xffffffff80201234"), "{s}");
        assert!(s.contains("address 0xdeadb000"), "{s}");
    }

    #[test]
    fn events_are_tagged_json() {
        let e = VmEvent::PowerOff { code: 3 };
        let j = serde_json::to_string(&e).unwrap();
        assert_eq!(j, r#"{"event":"power_off","code":3}"#);
        assert!(e.is_terminal());
    }
}
