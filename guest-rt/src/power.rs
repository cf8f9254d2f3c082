//! Talking to the VMM: reports in the mailbox page, power-off.

use lego_abi::layout::{MAILBOX_GPA, phys_to_virt};
use lego_abi::ports;
use lego_abi::report::{
    FAULT_OFFSET, FaultReport, READY_OFFSET, RESULT_MAX, RESULT_OFFSET, ReadyReport, ReportKind,
};
use zerocopy::IntoBytes;

use crate::{arch, platform};

fn write_mailbox(offset: u64, bytes: &[u8]) {
    let dst = phys_to_virt(MAILBOX_GPA + offset) as *mut u8;
    // SAFETY: the mailbox page is reserved by the VMM for reports and mapped by the direct map;
    // reports are smaller than their slots (checked in lego_abi).
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
}

/// Reports ready.
pub fn report_ready(r: &ReadyReport) {
    write_mailbox(READY_OFFSET, r.as_bytes());
    arch::outl(ports::REPORT, ReportKind::Ready as u32);
}

/// Reports a line of results (truncated to `RESULT_MAX` bytes).
pub fn report_result(text: &str) {
    let mut n = text.len().min(RESULT_MAX);
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    write_mailbox(RESULT_OFFSET, &(n as u32).to_le_bytes());
    write_mailbox(RESULT_OFFSET + 4, &text.as_bytes()[..n]);
    arch::outl(ports::REPORT, ReportKind::Result as u32);
}

/// Reports a fatal fault; the VMM stops the guest. Never returns.
pub fn report_fault(r: &FaultReport) -> ! {
    write_mailbox(FAULT_OFFSET, r.as_bytes());
    arch::outl(ports::REPORT, ReportKind::Fault as u32);
    halt_forever()
}

/// Powers the guest off with `code` (0: success). Never returns.
pub fn poweroff(code: u32) -> ! {
    arch::outl(ports::POWEROFF, code);
    halt_forever()
}

/// Stops this CPU for good.
pub fn halt_forever() -> ! {
    let _ = platform::irq_save();
    loop {
        arch::hlt();
    }
}
