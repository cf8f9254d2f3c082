//! Opening the KVM device with errors a user can act on.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use kvm_ioctls::{Cap, Kvm};

use crate::error::{Error, Result};

/// The KVM API version every kernel since 2.6.22 reports.
const KVM_API_VERSION: i32 = 12;

/// Opens `path` as a KVM device and checks it speaks the stable API.
pub fn open(path: &Path) -> Result<Kvm> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => Error::KvmMissing(path.to_path_buf()),
            ErrorKind::PermissionDenied => Error::KvmPermission(path.to_path_buf()),
            _ => Error::KvmOpen {
                path: path.to_path_buf(),
                source: e,
            },
        })?;
    let fd = file.into_raw_fd();
    // SAFETY: `fd` is an open descriptor we own; `Kvm` takes ownership and closes it.
    let kvm = unsafe { Kvm::from_raw_fd(fd) };
    let version = kvm.get_api_version();
    if version != KVM_API_VERSION {
        let detail = if version < 0 {
            "it does not answer the KVM_GET_API_VERSION ioctl (not a KVM device)".to_string()
        } else {
            format!("KVM API version {version}, expected {KVM_API_VERSION}")
        };
        return Err(Error::KvmNotKvm {
            path: path.to_path_buf(),
            detail,
        });
    }
    if !kvm.check_extension(Cap::Irqchip) || !kvm.check_extension(Cap::UserMemory) {
        return Err(Error::KvmNotKvm {
            path: path.to_path_buf(),
            detail: "missing the in-kernel irqchip or user memory capability".into(),
        });
    }
    Ok(kvm)
}

/// The most vCPUs KVM allows per VM.
pub fn max_vcpus(kvm: &Kvm) -> u32 {
    u32::try_from(kvm.get_max_vcpus()).unwrap_or(u32::MAX)
}
