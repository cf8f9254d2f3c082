//! The boot info: everything a monitor needs to know at its first instruction.
//!
//! The VMM writes one [`BootInfo`] at [`crate::layout::BOOT_INFO_GPA`] and passes its virtual
//! address in `rdi` to every vCPU (the vCPU's index is in `rsi`, its stack in `rsp`).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::{ABI_VERSION, Role};

/// `b"LEGOBOOT"` as a little-endian word: the first bytes of a valid boot info.
pub const BOOT_MAGIC: u64 = u64::from_le_bytes(*b"LEGOBOOT");
/// Most vCPUs a guest can have (the VMM refuses more).
pub const MAX_CPUS: usize = 64;
/// Most memory-map entries.
pub const MAX_REGIONS: usize = 16;
/// Bytes of the guest command line (`key=value` words).
pub const CMDLINE_LEN: usize = 256;
/// Most devices.
pub const MAX_DEVICES: usize = 4;

/// A device the VMM attached.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct DeviceDesc {
    /// Its virtio device id.
    pub device_id: u32,
    /// The interrupt vector its notifications raise (0: none, the driver polls).
    pub irq_vector: u32,
    /// Guest-physical base of its virtio-mmio registers.
    pub mmio_gpa: u64,
}

/// What a range of guest physical memory is for.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Free for the guest's frame allocator.
    Usable = 1,
    /// The loaded kernel image (text, data, bss).
    Kernel = 2,
    /// Boot area: page tables, GDT, boot info, mailbox, stacks, console ring.
    Boot = 3,
    /// The pComponent's ExCache frames, pre-populated on the host.
    ExCache = 4,
}

impl RegionKind {
    /// Decodes the wire value.
    pub fn from_u32(v: u32) -> Option<RegionKind> {
        match v {
            1 => Some(RegionKind::Usable),
            2 => Some(RegionKind::Kernel),
            3 => Some(RegionKind::Boot),
            4 => Some(RegionKind::ExCache),
            _ => None,
        }
    }
}

/// One memory-map entry.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct MemRegion {
    /// Physical start, page aligned.
    pub start: u64,
    /// Length in bytes, page aligned.
    pub len: u64,
    /// A [`RegionKind`] value.
    pub kind: u32,
    /// Zero.
    pub _pad: u32,
}

impl MemRegion {
    /// A region of the given kind.
    pub fn new(start: u64, len: u64, kind: RegionKind) -> MemRegion {
        MemRegion {
            start,
            len,
            kind: kind as u32,
            _pad: 0,
        }
    }

    /// Physical end (exclusive).
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }

    /// The decoded kind, if known.
    pub fn kind(&self) -> Option<RegionKind> {
        RegionKind::from_u32(self.kind)
    }
}

/// Boot flags.
pub mod flags {
    /// Power off with code 0 right after reporting ready (`lego boot`).
    pub const SHUTDOWN_AFTER_READY: u32 = 1 << 0;
    /// Skip the CPL0/CPL3 calibration loops.
    pub const NO_CALIBRATION: u32 = 1 << 1;
}

/// Why a boot info was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    /// The magic word is wrong: not a boot info.
    BadMagic,
    /// Written by a VMM of another ABI version.
    Version(u32),
    /// Unknown role value.
    Role(u32),
    /// Zero or more than [`MAX_CPUS`] vCPUs.
    CpuCount(u32),
    /// More than [`MAX_REGIONS`] regions.
    RegionCount(u32),
}

/// The boot info itself. Fields are private: the VMM builds it with [`BootInfo::new`] and the
/// setters, the guest reads it through the getters, which validate.
#[repr(C)]
#[derive(Clone, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct BootInfo {
    magic: u64,
    version: u32,
    role: u32,
    component_id: u32,
    cpu_count: u32,
    flags: u32,
    region_count: u32,
    mem_bytes: u64,
    tsc_khz: u64,
    console_gpa: u64,
    console_len: u64,
    stacks_gpa: u64,
    stack_size: u64,
    excache_gpa: u64,
    excache_len: u64,
    regions: [MemRegion; MAX_REGIONS],
    device_count: u32,
    _pad: u32,
    devices: [DeviceDesc; MAX_DEVICES],
    cmdline: [u8; CMDLINE_LEN],
}

impl BootInfo {
    /// A boot info for a guest of `role` with `cpu_count` vCPUs and `mem_bytes` of memory.
    pub fn new(role: Role, component_id: u32, cpu_count: u32, mem_bytes: u64) -> BootInfo {
        BootInfo {
            magic: BOOT_MAGIC,
            version: ABI_VERSION,
            role: role as u32,
            component_id,
            cpu_count,
            flags: 0,
            region_count: 0,
            mem_bytes,
            tsc_khz: 0,
            console_gpa: 0,
            console_len: 0,
            stacks_gpa: 0,
            stack_size: 0,
            excache_gpa: 0,
            excache_len: 0,
            regions: [MemRegion::default(); MAX_REGIONS],
            device_count: 0,
            _pad: 0,
            devices: [DeviceDesc::default(); MAX_DEVICES],
            cmdline: [0; CMDLINE_LEN],
        }
    }

    /// Checks the header fields a guest cannot boot without.
    pub fn validate(&self) -> Result<(), BootInfoError> {
        if self.magic != BOOT_MAGIC {
            return Err(BootInfoError::BadMagic);
        }
        if self.version != ABI_VERSION {
            return Err(BootInfoError::Version(self.version));
        }
        if Role::from_u32(self.role).is_none() {
            return Err(BootInfoError::Role(self.role));
        }
        if self.cpu_count == 0 || self.cpu_count as usize > MAX_CPUS {
            return Err(BootInfoError::CpuCount(self.cpu_count));
        }
        if self.region_count as usize > MAX_REGIONS {
            return Err(BootInfoError::RegionCount(self.region_count));
        }
        Ok(())
    }

    /// Sets the boot flags ([`flags`]).
    pub fn set_flags(&mut self, flags: u32) {
        self.flags = flags;
    }
    /// Sets the TSC frequency the VMM read from KVM.
    pub fn set_tsc_khz(&mut self, khz: u64) {
        self.tsc_khz = khz;
    }
    /// Sets the console ring's physical placement.
    pub fn set_console(&mut self, gpa: u64, len: u64) {
        self.console_gpa = gpa;
        self.console_len = len;
    }
    /// Sets where the per-vCPU boot stacks are: vCPU `i`'s stack is
    /// `[gpa + i * size, gpa + (i + 1) * size)`.
    pub fn set_stacks(&mut self, gpa: u64, size: u64) {
        self.stacks_gpa = gpa;
        self.stack_size = size;
    }
    /// Sets the ExCache frames (pComponents only).
    pub fn set_excache(&mut self, gpa: u64, len: u64) {
        self.excache_gpa = gpa;
        self.excache_len = len;
    }

    /// Appends a memory-map entry. Returns `false` when the map is full.
    pub fn push_region(&mut self, r: MemRegion) -> bool {
        let n = self.region_count as usize;
        if n >= MAX_REGIONS {
            return false;
        }
        self.regions[n] = r;
        self.region_count += 1;
        true
    }

    /// Adds a device. Returns `false` when the table is full.
    pub fn push_device(&mut self, d: DeviceDesc) -> bool {
        let n = self.device_count as usize;
        if n >= MAX_DEVICES {
            return false;
        }
        self.devices[n] = d;
        self.device_count += 1;
        true
    }

    /// The devices.
    pub fn devices(&self) -> &[DeviceDesc] {
        &self.devices[..(self.device_count as usize).min(MAX_DEVICES)]
    }

    /// The first device with `device_id`.
    pub fn device(&self, device_id: u32) -> Option<DeviceDesc> {
        self.devices()
            .iter()
            .copied()
            .find(|d| d.device_id == device_id)
    }

    /// Sets the command line. Returns `false` (and leaves it unchanged) if it is too long.
    pub fn set_cmdline(&mut self, s: &str) -> bool {
        if s.len() >= CMDLINE_LEN {
            return false;
        }
        self.cmdline = [0; CMDLINE_LEN];
        self.cmdline[..s.len()].copy_from_slice(s.as_bytes());
        true
    }

    /// The role. Only valid after [`BootInfo::validate`] succeeded.
    pub fn role(&self) -> Role {
        Role::from_u32(self.role).unwrap_or(Role::Pmon)
    }
    /// The component's id in its cluster.
    pub fn component_id(&self) -> u32 {
        self.component_id
    }
    /// Number of vCPUs.
    pub fn cpu_count(&self) -> u32 {
        self.cpu_count
    }
    /// Boot flags ([`flags`]).
    pub fn flags(&self) -> u32 {
        self.flags
    }
    /// Whether a flag is set.
    pub fn has_flag(&self, f: u32) -> bool {
        self.flags & f != 0
    }
    /// Bytes of guest memory.
    pub fn mem_bytes(&self) -> u64 {
        self.mem_bytes
    }
    /// TSC frequency in kHz (0 if the VMM could not tell).
    pub fn tsc_khz(&self) -> u64 {
        self.tsc_khz
    }
    /// Console ring `(gpa, len)`.
    pub fn console(&self) -> (u64, u64) {
        (self.console_gpa, self.console_len)
    }
    /// Boot stacks `(gpa, size per vCPU)`.
    pub fn stacks(&self) -> (u64, u64) {
        (self.stacks_gpa, self.stack_size)
    }
    /// ExCache frames `(gpa, len)`; `len` is 0 for other roles.
    pub fn excache(&self) -> (u64, u64) {
        (self.excache_gpa, self.excache_len)
    }
    /// The memory map.
    pub fn regions(&self) -> &[MemRegion] {
        let n = (self.region_count as usize).min(MAX_REGIONS);
        &self.regions[..n]
    }
    /// The command line, up to its first NUL; empty if it is not UTF-8.
    pub fn cmdline(&self) -> &str {
        let n = self
            .cmdline
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(CMDLINE_LEN);
        core::str::from_utf8(&self.cmdline[..n]).unwrap_or("")
    }
    /// The value of `key=value` on the command line.
    pub fn cmdline_value(&self, key: &str) -> Option<&str> {
        self.cmdline().split_ascii_whitespace().find_map(|w| {
            let (k, v) = w.split_once('=')?;
            (k == key).then_some(v)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromBytes;

    fn sample() -> BootInfo {
        let mut b = BootInfo::new(Role::Mmon, 3, 2, 1 << 30);
        b.set_tsc_khz(2_600_000);
        assert!(b.push_region(MemRegion::new(0x20_0000, 0x10_0000, RegionKind::Kernel)));
        assert!(b.set_cmdline("fault=pagefault verbose=1"));
        b
    }

    #[test]
    fn bytes_round_trip() {
        let b = sample();
        let bytes = b.as_bytes().to_vec();
        let c = BootInfo::read_from_bytes(&bytes).unwrap();
        c.validate().unwrap();
        assert_eq!(c.role(), Role::Mmon);
        assert_eq!(c.component_id(), 3);
        assert_eq!(c.regions().len(), 1);
        assert_eq!(c.regions()[0].kind(), Some(RegionKind::Kernel));
        assert_eq!(c.cmdline_value("fault"), Some("pagefault"));
        assert_eq!(c.cmdline_value("nope"), None);
    }

    #[test]
    fn validation_rejects_garbage() {
        let mut b = sample();
        b.magic = 0;
        assert_eq!(b.validate(), Err(BootInfoError::BadMagic));
        let mut b = sample();
        b.version = 99;
        assert_eq!(b.validate(), Err(BootInfoError::Version(99)));
        let mut b = sample();
        b.cpu_count = 0;
        assert_eq!(b.validate(), Err(BootInfoError::CpuCount(0)));
        let mut b = sample();
        b.role = 7;
        assert_eq!(b.validate(), Err(BootInfoError::Role(7)));
    }

    #[test]
    fn region_table_is_bounded() {
        let mut b = BootInfo::new(Role::Pmon, 0, 1, 1 << 28);
        for i in 0..MAX_REGIONS as u64 {
            assert!(b.push_region(MemRegion::new(i << 21, 1 << 21, RegionKind::Usable)));
        }
        assert!(!b.push_region(MemRegion::new(0, 1, RegionKind::Usable)));
        assert_eq!(b.regions().len(), MAX_REGIONS);
    }

    #[test]
    fn devices_are_listed_and_bounded() {
        let mut b = BootInfo::new(Role::Pmon, 0, 1, 1 << 28);
        let d = DeviceDesc {
            device_id: 0x4c52,
            irq_vector: 0x30,
            mmio_gpa: 0x80_0000_0000,
        };
        for _ in 0..MAX_DEVICES {
            assert!(b.push_device(d));
        }
        assert!(!b.push_device(d));
        assert_eq!(b.device(0x4c52), Some(d));
        assert_eq!(b.device(1), None);
    }

    #[test]
    fn overlong_cmdline_is_refused() {
        let mut b = BootInfo::new(Role::Pmon, 0, 1, 1 << 28);
        let long = "x".repeat(CMDLINE_LEN);
        assert!(!b.set_cmdline(&long));
        assert_eq!(b.cmdline(), "");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, core::mem::size_of::<BootInfo>())) {
            if let Ok(b) = BootInfo::read_from_bytes(&bytes) {
                let _ = b.validate();
                let _ = b.regions();
                let _ = b.cmdline();
            }
        }
    }
}
