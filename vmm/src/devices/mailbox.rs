//! The report mailbox: reads what the guest left in the mailbox page when it writes the report
//! port. The guest's bytes are decoded with zerocopy and validated; a garbled report becomes a
//! crash event, never a VMM failure.

use lego_abi::ABI_VERSION;
use lego_abi::layout::MAILBOX_GPA;
use lego_abi::report::{
    FAULT_OFFSET, FaultReport, READY_OFFSET, RESULT_MAX, RESULT_OFFSET, ReadyReport, ReportKind,
};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};
use zerocopy::FromBytes;

use crate::events::{FaultInfo, ReadyInfo, VmEvent};

fn read<T: FromBytes>(mem: &GuestMemoryMmap, offset: u64) -> Option<T> {
    let mut buf = vec![0u8; size_of::<T>()];
    mem.read_slice(&mut buf, GuestAddress(MAILBOX_GPA + offset))
        .ok()?;
    T::read_from_bytes(&buf).ok()
}

/// Decodes the report announced by `kind`. `vmm_ready_us` is the VMM's own clock at this exit.
pub fn read_report(mem: &GuestMemoryMmap, kind: u32, vmm_ready_us: f64) -> VmEvent {
    match ReportKind::from_u32(kind) {
        Some(ReportKind::Ready) => match read::<ReadyReport>(mem, READY_OFFSET) {
            Some(r) if r.version == ABI_VERSION => {
                VmEvent::Ready(ReadyInfo::from_report(&r, vmm_ready_us))
            }
            Some(r) => VmEvent::Crash {
                reason: format!(
                    "ready report of ABI version {}, expected {ABI_VERSION}",
                    r.version
                ),
            },
            None => VmEvent::Crash {
                reason: "unreadable ready report".into(),
            },
        },
        Some(ReportKind::Fault) => match read::<FaultReport>(mem, FAULT_OFFSET) {
            Some(r) if r.version == ABI_VERSION => VmEvent::Fault(FaultInfo::from_report(&r)),
            _ => VmEvent::Crash {
                reason: "guest reported a fault, but the report is unreadable".into(),
            },
        },
        Some(ReportKind::Result) => {
            let len = read::<u32>(mem, RESULT_OFFSET).unwrap_or(0) as usize;
            let mut buf = vec![0u8; len.min(RESULT_MAX)];
            if mem
                .read_slice(&mut buf, GuestAddress(MAILBOX_GPA + RESULT_OFFSET + 4))
                .is_err()
            {
                buf.clear();
            }
            VmEvent::Result {
                text: String::from_utf8_lossy(&buf).into_owned(),
            }
        }
        None => VmEvent::Crash {
            reason: format!("unknown report kind {kind}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lego_abi::report::FaultKind;
    use zerocopy::IntoBytes;

    fn mem() -> GuestMemoryMmap {
        GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x10000)]).unwrap()
    }

    #[test]
    fn reads_a_fault() {
        let m = mem();
        let mut f = FaultReport::new(FaultKind::Exception, 2);
        f.vector = 6;
        m.write_slice(f.as_bytes(), GuestAddress(MAILBOX_GPA + FAULT_OFFSET))
            .unwrap();
        match read_report(&m, 2, 0.0) {
            VmEvent::Fault(i) => assert_eq!((i.cpu, i.vector), (2, 6)),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn reads_a_result_and_clamps_its_length() {
        let m = mem();
        m.write_obj(5u32, GuestAddress(MAILBOX_GPA + RESULT_OFFSET))
            .unwrap();
        m.write_slice(b"hello", GuestAddress(MAILBOX_GPA + RESULT_OFFSET + 4))
            .unwrap();
        assert_eq!(
            read_report(&m, 3, 0.0),
            VmEvent::Result {
                text: "hello".into()
            }
        );
        m.write_obj(u32::MAX, GuestAddress(MAILBOX_GPA + RESULT_OFFSET))
            .unwrap();
        match read_report(&m, 3, 0.0) {
            VmEvent::Result { text } => assert!(text.len() <= RESULT_MAX),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn garbage_is_a_crash_not_a_panic() {
        let m = mem();
        assert!(
            matches!(read_report(&m, 1, 0.0), VmEvent::Crash { .. }),
            "version 0"
        );
        assert!(matches!(read_report(&m, 77, 0.0), VmEvent::Crash { .. }));
        let tiny = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x1000)]).unwrap();
        assert!(matches!(read_report(&tiny, 2, 0.0), VmEvent::Crash { .. }));
    }
}
