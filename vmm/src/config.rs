//! What a guest is to be: role, size, image, console. Role-shaped defaults and validation live
//! here so they are unit-tested without KVM.

use std::path::PathBuf;

use lego_abi::Role;
use lego_abi::boot::{CMDLINE_LEN, MAX_CPUS};
use lego_abi::layout::{LARGE_PAGE_SIZE, MAX_GUEST_MEMORY};
use serde::{Deserialize, Serialize};
use virtio_rdma::abi::PollMode;

use crate::error::ConfigError;

const MIB: u64 = 1 << 20;

/// A role's defaults and minimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleDefaults {
    /// vCPUs.
    pub vcpus: u32,
    /// Memory.
    pub mem_bytes: u64,
    /// ExCache (pComponents only).
    pub excache_bytes: u64,
    /// Memory the monitor itself needs besides the ExCache.
    pub reserve_bytes: u64,
}

/// Defaults per role: a pComponent has a few vCPUs and little memory, most of it ExCache; an
/// mComponent has lots of memory and one vCPU; an sComponent is small with one vCPU.
pub fn defaults(role: Role) -> RoleDefaults {
    match role {
        Role::Pmon => RoleDefaults {
            vcpus: 2,
            mem_bytes: 256 * MIB,
            excache_bytes: 64 * MIB,
            reserve_bytes: 32 * MIB,
        },
        Role::Mmon => RoleDefaults {
            vcpus: 1,
            mem_bytes: 2048 * MIB,
            excache_bytes: 0,
            reserve_bytes: 64 * MIB,
        },
        Role::Smon => RoleDefaults {
            vcpus: 1,
            mem_bytes: 128 * MIB,
            excache_bytes: 0,
            reserve_bytes: 32 * MIB,
        },
    }
}

/// How the component joins a fabric (absent: a standalone guest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FabricConfig {
    /// The inherited `SOCK_SEQPACKET` descriptor connected to the coordinator.
    pub coord_fd: i32,
    /// Bumped on every restart of this component.
    pub incarnation: u32,
    /// How receivers wait.
    #[serde(with = "poll_mode_name")]
    pub poll_mode: PollMode,
    /// Adaptive mode: nanoseconds of polling before sleeping.
    pub spin_ns: u32,
    /// Network model: one-way latency per message, ns (0: off).
    pub net_latency_ns: u32,
    /// Network model: bandwidth, Mbit/s (0: unlimited).
    pub net_bandwidth_mbps: u32,
}

impl FabricConfig {
    /// Defaults: adaptive polling for 50 us, no network model.
    pub fn new(coord_fd: i32) -> FabricConfig {
        FabricConfig {
            coord_fd,
            incarnation: 1,
            poll_mode: PollMode::Adaptive,
            spin_ns: 50_000,
            net_latency_ns: 0,
            net_bandwidth_mbps: 0,
        }
    }
}

mod poll_mode_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use virtio_rdma::abi::PollMode;

    pub fn serialize<S: Serializer>(m: &PollMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PollMode, D::Error> {
        let s = String::deserialize(d)?;
        PollMode::from_name(&s).ok_or_else(|| D::Error::custom(format!("unknown poll mode `{s}`")))
    }
}

/// A disk image attached to the guest as a virtio-blk device (`lego_abi::virtio_blk`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskConfig {
    /// The image file: a regular file whose size is a non-zero multiple of 4096 bytes.
    pub path: PathBuf,
    /// Open it with `O_DIRECT`: I/O bypasses the host's page cache and reaches the device, as
    /// on real hardware (requests must then be 4 KiB aligned).
    #[serde(default)]
    pub direct: bool,
}

/// Where the guest's console lines go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleTarget {
    /// Standard error, each line prefixed with `[name] `.
    Stderr,
    /// Appended to a file, each line prefixed with a timestamp.
    File(PathBuf),
    /// Dropped.
    Discard,
}

/// Everything needed to boot one component guest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VmConfig {
    /// Which monitor.
    #[serde(with = "role_name")]
    pub role: Role,
    /// Component id in the cluster.
    pub component_id: u32,
    /// Short name (`p0`, `m1`), used as the console prefix.
    pub name: String,
    /// vCPUs.
    pub vcpus: u32,
    /// Guest memory; rounded up to 2 MiB.
    pub mem_bytes: u64,
    /// ExCache bytes (pComponents); rounded up to 2 MiB.
    pub excache_bytes: u64,
    /// Boot flags (`lego_abi::boot::flags`).
    pub flags: u32,
    /// Guest command line (`key=value` words).
    pub cmdline: String,
    /// The guest image (an ELF file); `None` boots the built-in image of the role.
    pub image: Option<PathBuf>,
    /// The KVM device node.
    pub kvm_device: PathBuf,
    /// Console destination.
    pub console: ConsoleTarget,
    /// Fabric membership; `None` for a standalone guest.
    #[serde(default)]
    pub fabric: Option<FabricConfig>,
    /// A disk image to attach (checked and opened by `crate::disk::open` when the VM is
    /// built); `None`: no block device.
    #[serde(default)]
    pub disk: Option<DiskConfig>,
}

mod role_name {
    use lego_abi::Role;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(r: &Role, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(r.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let s = String::deserialize(d)?;
        Role::from_name(&s).ok_or_else(|| D::Error::custom(format!("unknown role `{s}`")))
    }
}

/// Rounds up to the 2 MiB granule of the boot page tables.
pub fn round_mem(bytes: u64) -> u64 {
    bytes
        .div_ceil(LARGE_PAGE_SIZE)
        .saturating_mul(LARGE_PAGE_SIZE)
}

impl VmConfig {
    /// A config with the role's defaults and its built-in image.
    pub fn new(role: Role) -> VmConfig {
        let d = defaults(role);
        VmConfig {
            role,
            component_id: 0,
            name: format!("{}0", role.letter()),
            vcpus: d.vcpus,
            mem_bytes: d.mem_bytes,
            excache_bytes: d.excache_bytes,
            flags: 0,
            cmdline: String::new(),
            image: None,
            kvm_device: PathBuf::from("/dev/kvm"),
            console: ConsoleTarget::Stderr,
            fabric: None,
            disk: None,
        }
    }

    /// Checks the request against the role and the runtime; `kvm_max_vcpus` is what KVM reports.
    pub fn validate(&self, kvm_max_vcpus: u32) -> Result<(), ConfigError> {
        let d = defaults(self.role);
        if self.vcpus == 0 {
            return Err(ConfigError::NoVcpus);
        }
        if self.vcpus > kvm_max_vcpus {
            return Err(ConfigError::TooManyVcpus {
                requested: self.vcpus,
                max: kvm_max_vcpus,
                why: "KVM's limit on this host",
            });
        }
        if self.vcpus as usize > MAX_CPUS {
            return Err(ConfigError::TooManyVcpus {
                requested: self.vcpus,
                max: MAX_CPUS as u32,
                why: "the guest runtime's limit",
            });
        }
        let mem = round_mem(self.mem_bytes);
        if mem > MAX_GUEST_MEMORY {
            return Err(ConfigError::MemoryTooLarge {
                got_mib: mem / MIB,
                max_mib: MAX_GUEST_MEMORY / MIB,
            });
        }
        if self.role != Role::Pmon && self.excache_bytes != 0 {
            return Err(ConfigError::ExCacheForbidden(self.role));
        }
        let excache = round_mem(self.excache_bytes);
        let min = d.reserve_bytes + excache;
        if mem < min {
            if self.role == Role::Pmon && mem >= d.reserve_bytes {
                return Err(ConfigError::ExCacheTooLarge {
                    excache_mib: excache / MIB,
                    mem_mib: mem / MIB,
                    reserve_mib: d.reserve_bytes / MIB,
                });
            }
            return Err(ConfigError::MemoryTooSmall {
                role: self.role.name(),
                min_mib: min / MIB,
                got_mib: self.mem_bytes / MIB,
            });
        }
        if self.cmdline.len() >= CMDLINE_LEN {
            return Err(ConfigError::CmdlineTooLong(self.cmdline.len()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(role: Role) -> VmConfig {
        VmConfig::new(role)
    }

    #[test]
    fn defaults_are_valid() {
        for r in Role::ALL {
            assert_eq!(cfg(r).validate(1024), Ok(()), "{r:?}");
        }
    }

    #[test]
    fn memory_minimum_per_role() {
        let mut c = cfg(Role::Mmon);
        c.mem_bytes = 16 * MIB;
        assert!(matches!(
            c.validate(8),
            Err(ConfigError::MemoryTooSmall { min_mib: 64, .. })
        ));
        let mut c = cfg(Role::Pmon);
        c.mem_bytes = 16 * MIB;
        assert!(matches!(
            c.validate(8),
            Err(ConfigError::MemoryTooSmall { min_mib: 96, .. })
        ));
        c.mem_bytes = 64 * MIB;
        assert!(matches!(
            c.validate(8),
            Err(ConfigError::ExCacheTooLarge { .. })
        ));
    }

    #[test]
    fn vcpu_limits() {
        let mut c = cfg(Role::Pmon);
        c.vcpus = 0;
        assert_eq!(c.validate(8), Err(ConfigError::NoVcpus));
        c.vcpus = 9;
        assert!(matches!(
            c.validate(8),
            Err(ConfigError::TooManyVcpus { max: 8, .. })
        ));
        c.vcpus = 65;
        assert!(matches!(
            c.validate(1024),
            Err(ConfigError::TooManyVcpus { max: 64, .. })
        ));
    }

    #[test]
    fn excache_only_for_pmon() {
        let mut c = cfg(Role::Smon);
        c.excache_bytes = MIB;
        assert_eq!(
            c.validate(8),
            Err(ConfigError::ExCacheForbidden(Role::Smon))
        );
    }

    #[test]
    fn too_much_memory() {
        let mut c = cfg(Role::Mmon);
        c.mem_bytes = MAX_GUEST_MEMORY + 1;
        assert!(matches!(
            c.validate(8),
            Err(ConfigError::MemoryTooLarge { .. })
        ));
    }

    #[test]
    fn mem_rounds_to_large_pages() {
        assert_eq!(round_mem(1), LARGE_PAGE_SIZE);
        assert_eq!(round_mem(LARGE_PAGE_SIZE), LARGE_PAGE_SIZE);
        assert_eq!(round_mem(0), 0);
    }

    #[test]
    fn serde_round_trip() {
        let c = cfg(Role::Smon);
        let j = serde_json::to_string(&c).unwrap();
        assert!(j.contains("\"role\":\"smon\""), "{j}");
        let back: VmConfig = serde_json::from_str(&j).unwrap();
        assert_eq!(back.role, Role::Smon);
        assert_eq!(back.mem_bytes, c.mem_bytes);
        assert_eq!(back.disk, None);
        let bad = j.replace("\"smon\"", "\"gpu\"");
        let err = serde_json::from_str::<VmConfig>(&bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown role `gpu`"), "{err}");
    }

    #[test]
    fn disk_travels_and_old_json_still_parses() {
        let mut c = cfg(Role::Smon);
        c.disk = Some(DiskConfig {
            path: PathBuf::from("/tmp/disk.img"),
            direct: true,
        });
        let j = serde_json::to_string(&c).unwrap();
        let back: VmConfig = serde_json::from_str(&j).unwrap();
        assert_eq!(back.disk, c.disk);
        // A configuration written before disks existed.
        let mut v: serde_json::Value = serde_json::from_str(&j).unwrap();
        v.as_object_mut().unwrap().remove("disk");
        let old: VmConfig = serde_json::from_value(v).unwrap();
        assert_eq!(old.disk, None);
        // `direct` defaults to off.
        let d: DiskConfig = serde_json::from_str(r#"{"path":"/x.img"}"#).unwrap();
        assert!(!d.direct);
    }
}
