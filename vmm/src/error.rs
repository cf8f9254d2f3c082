//! VMM errors. Each says what failed and, where there is one, what to do about it: they end up
//! as the one-line error a user sees.

use std::path::PathBuf;

use lego_abi::Role;

/// Everything that can stop a guest from being set up or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The KVM device node does not exist.
    #[error("{} does not exist: this host has no KVM (enable virtualization, or load the kvm module)", .0.display())]
    KvmMissing(PathBuf),
    /// The KVM device exists but we may not open it.
    #[error("permission denied opening {}: run as a user in the device's group (e.g. `sudo usermod -aG kvm $USER`, then log in again)", .0.display())]
    KvmPermission(PathBuf),
    /// The KVM device could not be opened for another reason.
    #[error("cannot open {}: {source}", path.display())]
    KvmOpen {
        /// The device path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The device node is not KVM, or speaks another API version.
    #[error("{} is not a usable KVM device: {detail}", path.display())]
    KvmNotKvm {
        /// The device path.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A KVM ioctl failed.
    #[error("KVM {op} failed: {source}")]
    Kvm {
        /// The operation.
        op: &'static str,
        /// The error.
        source: kvm_ioctls::Error,
    },
    /// The guest image is unusable.
    #[error("guest image {name}: {problem}")]
    Image {
        /// The image's name or path.
        name: String,
        /// What is wrong with it.
        problem: ImageProblem,
    },
    /// The configuration asks for something impossible.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The disk image cannot be used.
    #[error("{0}")]
    Disk(#[from] crate::disk::DiskError),
    /// Guest memory could not be set up.
    #[error("guest memory: {0}")]
    Memory(String),
    /// An OS call failed.
    #[error("{op}: {source}")]
    Io {
        /// What we were doing.
        op: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

/// What is wrong with a guest image.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageProblem {
    /// Cannot be read.
    #[error("cannot be read: {0}")]
    Unreadable(String),
    /// Does not start with the ELF magic.
    #[error("not an ELF file")]
    NotElf,
    /// ELF, but 32-bit or big-endian.
    #[error("not a 64-bit little-endian ELF file")]
    WrongClass,
    /// ELF for another machine.
    #[error("wrong architecture: ELF machine {0} ({1}), expected x86-64")]
    WrongArch(u16, &'static str),
    /// Not an executable.
    #[error("not an executable (ELF type {0})")]
    NotExecutable(u16),
    /// Headers point outside the file or overflow.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// Loadable segments outside the place the kernel must live.
    #[error(
        "segment at physical {start:#x}..{end:#x} is outside the kernel window {lo:#x}..{hi:#x} (is this a LegoOS monitor image?)"
    )]
    OutOfWindow {
        /// Segment start.
        start: u64,
        /// Segment end.
        end: u64,
        /// Lowest allowed.
        lo: u64,
        /// Highest allowed.
        hi: u64,
    },
    /// The entry point is not inside a loaded executable segment.
    #[error("entry point {0:#x} is not in a loaded segment")]
    BadEntry(u64),
    /// linux-loader refused it.
    #[error("loader: {0}")]
    Loader(String),
}

/// Impossible configurations.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Memory below the role's minimum.
    #[error("{role} needs at least {min_mib} MiB of memory, {got_mib} MiB requested")]
    MemoryTooSmall {
        /// Role name.
        role: &'static str,
        /// Minimum in MiB.
        min_mib: u64,
        /// Requested in MiB.
        got_mib: u64,
    },
    /// Memory above what the boot page tables map.
    #[error("{got_mib} MiB of guest memory requested; at most {max_mib} MiB is supported")]
    MemoryTooLarge {
        /// Requested.
        got_mib: u64,
        /// Maximum.
        max_mib: u64,
    },
    /// Zero vCPUs.
    #[error("a guest needs at least one vCPU")]
    NoVcpus,
    /// More vCPUs than KVM or the runtime allow.
    #[error("{requested} vCPUs requested; at most {max} are possible here ({why})")]
    TooManyVcpus {
        /// Requested.
        requested: u32,
        /// Allowed.
        max: u32,
        /// Whose limit.
        why: &'static str,
    },
    /// The ExCache does not fit.
    #[error(
        "ExCache of {excache_mib} MiB does not fit in {mem_mib} MiB with {reserve_mib} MiB for the monitor"
    )]
    ExCacheTooLarge {
        /// ExCache size.
        excache_mib: u64,
        /// Memory.
        mem_mib: u64,
        /// Reserved for the kernel.
        reserve_mib: u64,
    },
    /// The guest command line does not fit.
    #[error("guest command line is {0} bytes; at most 255 fit")]
    CmdlineTooLong(usize),
    /// A memory size the role cannot use.
    #[error("role {0:?} does not take an ExCache")]
    ExCacheForbidden(Role),
}

impl Error {
    /// Wraps a KVM ioctl error with the operation's name.
    pub fn kvm(op: &'static str) -> impl FnOnce(kvm_ioctls::Error) -> Error {
        move |source| Error::Kvm { op, source }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;
