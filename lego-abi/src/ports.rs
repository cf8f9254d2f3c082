//! I/O ports the guest writes to reach the VMM. Each write is an exit to the VMM's userspace
//! (7-10 us on the PVM host, ~42 us after VIF registration), so they are used only for rare
//! events: console flushes (one per line at most), reports, power-off.

/// Legacy COM1 data port: one byte per exit. Only for output before the console ring is set up.
pub const SERIAL_COM1: u16 = 0x3f8;
/// The console ring has new bytes: the VMM drains it. The value written is ignored.
pub const CONSOLE_DOORBELL: u16 = 0x510;
/// A report is in the mailbox; the value written is a [`crate::report::ReportKind`].
pub const REPORT: u16 = 0x511;
/// Power off; the value written (32 bits) is the guest's exit code.
pub const POWEROFF: u16 = 0x512;

/// Power-off codes the runtime itself uses (monitors use 0 for success).
pub mod exit_code {
    /// The boot info failed validation (wrong magic, version, role or vCPU count).
    pub const BAD_BOOT_INFO: u32 = 0xb0;
    /// A vCPU index beyond what the runtime supports.
    pub const BAD_CPU_INDEX: u32 = 0xb1;
}
