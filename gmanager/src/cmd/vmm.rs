//! `lego vmm`: one VMM process. Prints its guest's events as JSON lines on stdout; the guest's
//! console goes where the configuration says. Exit status: 0 powered off cleanly or stopped on
//! request, 1 setup failed, 3 guest fault, 4 guest crash, 5 guest powered off with a nonzero code.

use std::io::Write;
use std::time::Instant;

use vmm::{Vm, VmConfig, VmEvent};

use crate::cli::VmmArgs;
use crate::exit;

fn emit(e: &VmEvent) {
    if let Ok(line) = serde_json::to_string(e) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn code_for(e: &VmEvent) -> u8 {
    match e {
        VmEvent::PowerOff { code: 0 } | VmEvent::Stopped => exit::OK,
        VmEvent::PowerOff { .. } => 5,
        VmEvent::Fault(_) => exit::GUEST_FAULT,
        VmEvent::Crash { .. } => exit::GUEST_CRASH,
        VmEvent::SetupFailed { .. } | VmEvent::Ready(_) | VmEvent::Result { .. } => exit::ERROR,
    }
}

/// Runs the VMM; returns the exit code.
pub fn run(a: &VmmArgs) -> u8 {
    let started = crate::STARTED.get().copied().unwrap_or_else(Instant::now);
    if a.floor {
        return match vmm::floor::run(&a.kvm.kvm_device) {
            Ok(()) => exit::OK,
            Err(e) => {
                emit(&VmEvent::SetupFailed {
                    message: e.to_string(),
                });
                exit::ERROR
            }
        };
    }
    let cfg: VmConfig = match a.config.as_deref().map(serde_json::from_str) {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            emit(&VmEvent::SetupFailed {
                message: format!("bad VMM configuration: {e}"),
            });
            return exit::ERROR;
        }
        None => {
            emit(&VmEvent::SetupFailed {
                message: "no VMM configuration given".into(),
            });
            return exit::ERROR;
        }
    };
    vmm::install_stop_handlers();
    let vm = match Vm::create(&cfg, started) {
        Ok(vm) => vm,
        Err(e) => {
            emit(&VmEvent::SetupFailed {
                message: e.to_string(),
            });
            return exit::ERROR;
        }
    };
    let last = vm.run(emit);
    code_for(&last)
}
