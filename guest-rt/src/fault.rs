//! Fatal faults in the monitor: CPU exceptions and panics. Both print to the console and leave a
//! [`FaultReport`] for the VMM, which stops the guest and reports the vector, RIP and location.
//! Only the first faulting CPU reports; others stop quietly (their fault is likely a consequence).

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

use lego_abi::report::{FAULT_MESSAGE_LEN, FaultKind, FaultReport, vector_name};

use crate::arch::trap::TrapFrame;
use crate::fmtbuf::FmtBuf;
use crate::{console, percpu, platform, power};

static FAULTING: AtomicBool = AtomicBool::new(false);

fn first_fault() -> bool {
    !FAULTING.swap(true, Ordering::SeqCst)
}

/// Reports a CPU exception in the monitor and stops.
pub fn exception(f: &TrapFrame) -> ! {
    let _ = platform::irq_save();
    if !first_fault() {
        power::halt_forever();
    }
    let cpu = percpu::this().cpu() as u32;
    let mut r = FaultReport::new(FaultKind::Exception, cpu);
    r.vector = f.vector;
    r.error_code = f.error_code;
    r.rip = f.rip;
    r.cr2 = if f.vector == 14 {
        platform::fault_address()
    } else {
        0
    };
    r.rsp = f.rsp;
    r.rflags = f.rflags;
    r.cs = f.cs;
    r.push_message(vector_name(f.vector));
    console::write_fmt_emergency(format_args!(
        "FAULT: {} (vector {}) on cpu {} at rip {:#x}, cr2 {:#x}, error code {:#x}\n",
        vector_name(f.vector),
        f.vector,
        cpu,
        f.rip,
        r.cr2,
        f.error_code
    ));
    power::report_fault(&r)
}

/// The panic handler of every monitor.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let _ = platform::irq_save();
    if !first_fault() {
        power::halt_forever();
    }
    let cpu = percpu::this().cpu() as u32;
    let mut msg = [0u8; FAULT_MESSAGE_LEN];
    let mut w = FmtBuf::new(&mut msg);
    let _ = write!(w, "{info}");
    let mut r = FaultReport::new(FaultKind::Panic, cpu);
    r.push_message(w.as_str());
    console::write_fmt_emergency(format_args!("PANIC on cpu {cpu}: {}\n", w.as_str()));
    power::report_fault(&r)
}
