//! One thread per vCPU: `KVM_RUN`, and a small table from exits to devices. The data path does
//! not come here (it lives in shared memory); only console flushes, reports and power-off do.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use kvm_ioctls::{VcpuExit, VcpuFd};
use lego_abi::ports;
use vm_memory::GuestMemoryMmap;

use crate::devices::Bus;
use crate::devices::console::Console;
use crate::devices::mailbox;
use crate::events::VmEvent;

/// State the vCPU threads share.
#[derive(Debug)]
pub struct Shared {
    /// Guest memory.
    pub mem: GuestMemoryMmap,
    /// The console.
    pub console: Mutex<Console>,
    /// Set when the VM is stopping; vCPU threads leave their loop.
    pub stop: AtomicBool,
    /// Where events go.
    pub events: Mutex<mpsc::Sender<VmEvent>>,
    /// When the VMM process started (for `vmm_ready_us`).
    pub started: Instant,
    /// MMIO devices.
    pub bus: Bus,
}

impl Shared {
    fn send(&self, e: VmEvent) {
        if let Ok(tx) = self.events.lock() {
            let _ = tx.send(e);
        }
    }

    fn with_console(&self, f: impl FnOnce(&mut Console)) {
        if let Ok(mut c) = self.console.lock() {
            f(&mut c);
        }
    }
}

/// What to do after an exit.
enum Flow {
    Continue,
    Event(VmEvent),
    Stop(VmEvent),
}

fn value(data: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    let n = data.len().min(4);
    b[..n].copy_from_slice(&data[..n]);
    u32::from_le_bytes(b)
}

fn on_port_write(port: u16, data: &[u8], sh: &Shared) -> Flow {
    match port {
        ports::SERIAL_COM1 => {
            if let Some(&b) = data.first() {
                sh.with_console(|c| c.push_serial(b));
            }
            Flow::Continue
        }
        ports::CONSOLE_DOORBELL => {
            sh.with_console(Console::drain);
            Flow::Continue
        }
        ports::REPORT => {
            sh.with_console(Console::drain);
            let us = sh.started.elapsed().as_secs_f64() * 1e6;
            let e = mailbox::read_report(&sh.mem, value(data), us);
            if e.is_terminal() {
                Flow::Stop(e)
            } else {
                Flow::Event(e)
            }
        }
        ports::POWEROFF => {
            sh.with_console(Console::drain);
            Flow::Stop(VmEvent::PowerOff { code: value(data) })
        }
        _ => {
            tracing::debug!(port, "write to an unknown port ignored");
            Flow::Continue
        }
    }
}

fn handle(exit: VcpuExit<'_>, index: u32, sh: &Shared) -> Flow {
    match exit {
        VcpuExit::IoOut(port, data) => on_port_write(port, data, sh),
        VcpuExit::MmioRead(addr, data) => {
            if !sh.bus.read(addr, data) {
                // Nothing there (or a peer window that was just unmapped): reads float high.
                data.fill(0xff);
            }
            Flow::Continue
        }
        VcpuExit::MmioWrite(addr, data) => {
            if !sh.bus.write(addr, data) {
                tracing::debug!(addr, "MMIO write to nothing dropped");
            }
            Flow::Continue
        }
        VcpuExit::IoIn(_, data) => {
            data.fill(0xff);
            Flow::Continue
        }
        VcpuExit::Hlt | VcpuExit::IrqWindowOpen | VcpuExit::Intr => Flow::Continue,
        VcpuExit::Shutdown => Flow::Stop(VmEvent::Crash {
            reason: format!("vCPU {index} triple-faulted (the guest reset itself)"),
        }),
        VcpuExit::FailEntry(reason, cpu) => Flow::Stop(VmEvent::Crash {
            reason: format!(
                "vCPU {index}: VM entry failed (hardware reason {reason:#x}, cpu {cpu})"
            ),
        }),
        VcpuExit::InternalError => Flow::Stop(VmEvent::Crash {
            reason: format!("vCPU {index}: KVM internal error (emulation failure)"),
        }),
        other => Flow::Stop(VmEvent::Crash {
            reason: format!("vCPU {index}: unexpected exit {other:?}"),
        }),
    }
}

/// The vCPU thread's loop. Returns when the VM stops.
pub fn run(mut vcpu: VcpuFd, index: u32, sh: Arc<Shared>) {
    while !sh.stop.load(Ordering::Acquire) {
        let flow = match vcpu.run() {
            Ok(exit) => handle(exit, index, &sh),
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => Flow::Continue,
            Err(e) => Flow::Stop(VmEvent::Crash {
                reason: format!("vCPU {index}: KVM_RUN failed: {e}"),
            }),
        };
        match flow {
            Flow::Continue => {}
            Flow::Event(e) => sh.send(e),
            Flow::Stop(mut e) => {
                if let VmEvent::Crash { reason } = &mut e
                    && let Ok(r) = vcpu.get_regs()
                {
                    reason.push_str(&format!(" at rip {:#x}", r.rip));
                }
                sh.stop.store(true, Ordering::Release);
                sh.send(e);
                return;
            }
        }
    }
}
