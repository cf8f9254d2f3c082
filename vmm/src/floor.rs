//! The host's floor for booting a guest: the smallest VM that reaches its first instruction,
//! built exactly as a monitor guest is (memory, page tables, long-mode vCPU), running two
//! instructions that power it off. Benchmarks report guest boot times next to this.

use std::path::Path;

use kvm_bindings::KVM_MAX_CPUID_ENTRIES;
use kvm_ioctls::VcpuExit;
use lego_abi::layout::{BOOT_GDT_GPA, KERNEL_PHYS_BASE, KERNEL_VIRT_BASE, phys_to_virt};
use lego_abi::ports;
use vm_memory::{Bytes, GuestAddress};
use zerocopy::IntoBytes;

use crate::boot::{gdt, paging, regs};
use crate::error::{Error, Result};
use crate::kvm;
use crate::memory::GuestMem;

/// Runs the floor VM to its power-off exit.
pub fn run(kvm_device: &Path) -> Result<()> {
    let kvm = kvm::open(kvm_device)?;
    let vm = kvm.create_vm().map_err(Error::kvm("create VM"))?;
    vm.set_tss_address(0xfffb_d000)
        .map_err(Error::kvm("set TSS address"))?;
    vm.create_irq_chip().map_err(Error::kvm("create irqchip"))?;
    let size = 4 << 20;
    let mem = GuestMem::new("floor", size)?;
    mem.register(&vm)?;
    let write = |bytes: &[u8], gpa: u64| {
        mem.mem()
            .write_slice(bytes, GuestAddress(gpa))
            .map_err(|e| Error::Memory(e.to_string()))
    };
    let tables = paging::build(size);
    for (pa, t) in &tables.pages {
        write(t.as_bytes(), *pa)?;
    }
    write(gdt::boot_gdt().as_bytes(), BOOT_GDT_GPA)?;
    // mov dx, POWEROFF; out dx, eax
    let [lo, hi] = ports::POWEROFF.to_le_bytes();
    write(&[0x66, 0xba, lo, hi, 0xef], KERNEL_PHYS_BASE)?;
    let cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(Error::kvm("get supported cpuid"))?;
    let mut vcpu = vm.create_vcpu(0).map_err(Error::kvm("create vCPU"))?;
    let start = regs::Start {
        index: 0,
        entry: KERNEL_VIRT_BASE + KERNEL_PHYS_BASE,
        stack_top: phys_to_virt(size),
        boot_info: 0,
        cr3: tables.cr3,
    };
    regs::setup(&vcpu, &cpuid, &start)?;
    loop {
        match vcpu.run() {
            Ok(VcpuExit::IoOut(port, _)) if port == ports::POWEROFF => return Ok(()),
            Ok(VcpuExit::Intr) => {}
            Ok(other) => {
                return Err(Error::Memory(format!(
                    "floor VM: unexpected exit {other:?}"
                )));
            }
            Err(e) if e.errno() == libc::EINTR => {}
            Err(e) => {
                return Err(Error::Kvm {
                    op: "run",
                    source: e,
                });
            }
        }
    }
}
