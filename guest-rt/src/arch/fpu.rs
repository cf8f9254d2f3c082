//! The x87/SSE register state of user programs (`fxsave` format, 512 bytes).
//!
//! The monitors are built without SSE (soft-float), so user FPU registers survive a trap
//! untouched; what needs saving is a switch to another program, and a signal frame (the
//! handler starts from a clean state; `rt_sigreturn` puts the interrupted one back). AVX is
//! not enabled (no CR4.OSXSAVE), so `fxsave` holds all of it.

use core::arch::asm;

/// Bytes of an `fxsave` area.
pub const FXSAVE_BYTES: usize = 512;
/// MXCSR bits `fxrstor` accepts (writing others faults): the low 16, which every CPU with
/// DAZ has (`MXCSR_MASK` 0xffff).
const MXCSR_VALID: u32 = 0xffff;

/// One program's FPU state.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct FpuState(pub [u8; FXSAVE_BYTES]);

impl core::fmt::Debug for FpuState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FpuState")
            .field("fcw", &self.fcw())
            .field("mxcsr", &self.mxcsr())
            .finish()
    }
}

impl Default for FpuState {
    fn default() -> Self {
        Self::initial()
    }
}

impl FpuState {
    /// What a program starts with (Linux's `fpstate_init_fxstate`): FCW 0x37f, MXCSR 0x1f80,
    /// everything else zero.
    pub fn initial() -> FpuState {
        let mut s = FpuState([0; FXSAVE_BYTES]);
        s.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        s.0[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        s
    }

    /// The x87 control word.
    pub fn fcw(&self) -> u16 {
        u16::from_le_bytes([self.0[0], self.0[1]])
    }

    /// The SSE control/status register.
    pub fn mxcsr(&self) -> u32 {
        u32::from_le_bytes([self.0[24], self.0[25], self.0[26], self.0[27]])
    }

    /// Makes a state that came from user memory safe for `fxrstor` (reserved MXCSR bits
    /// would fault in the monitor).
    pub fn sanitize(&mut self) {
        let m = self.mxcsr() & MXCSR_VALID;
        self.0[24..28].copy_from_slice(&m.to_le_bytes());
        // MXCSR_MASK is ignored by fxrstor; keep what the CPU reports.
    }

    /// Saves this CPU's FPU registers here.
    pub fn save(&mut self) {
        // SAFETY: `self` is 512 bytes, 16-aligned (`repr(align(16))`), writable; fxsave64
        // only reads registers and writes that area. CR4.OSFXSR is set by the VMM.
        unsafe {
            asm!("fxsave64 [{}]", in(reg) self.0.as_mut_ptr(), options(nostack, preserves_flags))
        };
    }

    /// Loads this CPU's FPU registers from here.
    pub fn restore(&self) {
        // SAFETY: as for `save`; the area is either `initial`, what `save` wrote, or
        // `sanitize`d user data, so fxrstor64 cannot fault on it. The monitor itself does not
        // use these registers.
        unsafe {
            asm!("fxrstor64 [{}]", in(reg) self.0.as_ptr(), options(nostack, preserves_flags, readonly))
        };
    }
}
