//! The calibration loop: the same code timed at CPL0 and at CPL3. On the PVM host, kernel code
//! is emulated (~1000x slower) unless the VIF is registered; the ratio shows which it is.

use alloc::vec;
use core::arch::global_asm;

use crate::arch::{rdtsc, usermode};
use crate::time;

/// Result: picoseconds per iteration at each privilege level.
#[derive(Clone, Copy, Debug, Default)]
pub struct Calibration {
    /// Iterations per run.
    pub iters: u64,
    /// At CPL0 (best of the runs).
    pub cpl0_ps: u64,
    /// At CPL3 (best of the runs; 0 if the user run failed).
    pub cpl3_ps: u64,
}

/// An xorshift chain: each step depends on the previous, so it cannot be vectorised or
/// folded, and it touches no memory.
#[inline(never)]
extern "C" fn body(iters: u64) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..core::hint::black_box(iters) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    core::hint::black_box(x)
}

// User-mode wrapper: times `body(rdi)` with rdtsc and returns the tick count in rax via int3.
global_asm!(
    r#"
    .section .text.calibrate, "ax"
    .global lego_calibrate_user
lego_calibrate_user:
    mov r12, rdi
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r13, rax
    mov rdi, r12
    call {body}
    rdtsc
    shl rdx, 32
    or rax, rdx
    sub rax, r13
    int3
    ud2
"#,
    body = sym body,
);

unsafe extern "C" {
    fn lego_calibrate_user();
}

fn ps_per_iter(ticks: u64, iters: u64) -> u64 {
    (u128::from(time::ticks_to_ns(ticks)) * 1000 / u128::from(iters.max(1))) as u64
}

/// Runs the loop `runs` times at each level.
pub fn run(iters: u64, runs: u32) -> Calibration {
    let mut best0 = u64::MAX;
    let mut best3 = u64::MAX;
    let stack = vec![0u8; 16 << 10];
    let stack_top = (stack.as_ptr() as u64 + stack.len() as u64) & !15;
    for _ in 0..runs {
        let t0 = rdtsc();
        body(iters);
        best0 = best0.min(rdtsc() - t0);

        let (exit, regs) = usermode::run(lego_calibrate_user as *const () as u64, iters, stack_top);
        if let usermode::Exit::Exception { vector: 3, .. } = exit {
            best3 = best3.min(regs.rax);
        } else {
            crate::println!(
                "calibration: user run ended with {:?} at {:#x}",
                exit,
                regs.rip
            );
        }
    }
    Calibration {
        iters,
        cpl0_ps: ps_per_iter(best0, iters),
        cpl3_ps: if best3 == u64::MAX {
            0
        } else {
            ps_per_iter(best3, iters)
        },
    }
}
