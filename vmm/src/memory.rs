//! Guest memory: one memfd mapped shared, so peers can later map the same pages (the fabric's
//! one-sided reads and writes), registered as KVM slot 0 at guest physical 0.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::Arc;

use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::VmFd;
use vm_memory::mmap::MmapRegionBuilder;
use vm_memory::{FileOffset, GuestAddress, GuestMemoryMmap, GuestRegionMmap};

use crate::error::{Error, Result};

/// The guest's memory.
#[derive(Debug)]
pub struct GuestMem {
    file: Arc<File>,
    mem: GuestMemoryMmap,
    size: u64,
    host_addr: *mut u8,
}

// SAFETY: `host_addr` is only an address of the shared mapping owned by `mem`, used for
// madvise; all accesses go through `GuestMemoryMmap`, which is Send + Sync.
unsafe impl Send for GuestMem {}
// SAFETY: as above.
unsafe impl Sync for GuestMem {}

impl GuestMem {
    /// Creates `size` bytes of zeroed guest memory named `name` (visible in /proc/PID/fd).
    pub fn new(name: &str, size: u64) -> Result<GuestMem> {
        let cname = std::ffi::CString::new(format!("lego-{name}"))
            .map_err(|_| Error::Memory(format!("bad memfd name {name:?}")))?;
        // SAFETY: memfd_create with a valid NUL-terminated name; the result is checked.
        let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(Error::Io {
                op: "memfd_create",
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(size).map_err(|e| Error::Io {
            op: "sizing guest memory",
            source: e,
        })?;
        let len = usize::try_from(size).map_err(|_| Error::Memory("size overflows".into()))?;
        let file = Arc::new(file);
        let region = MmapRegionBuilder::new(len)
            .with_file_offset(FileOffset::from_arc(file.clone(), 0))
            .with_mmap_prot(libc::PROT_READ | libc::PROT_WRITE)
            .with_mmap_flags(libc::MAP_SHARED | libc::MAP_NORESERVE)
            .build()
            .map_err(|e| Error::Memory(format!("mmap of {size} bytes: {e}")))?;
        let host_addr = region.as_ptr();
        let region = GuestRegionMmap::new(region, GuestAddress(0))
            .ok_or_else(|| Error::Memory("region does not fit the guest address space".into()))?;
        let mem = GuestMemoryMmap::from_regions(vec![region])
            .map_err(|e| Error::Memory(format!("{e}")))?;
        Ok(GuestMem {
            file,
            mem,
            size,
            host_addr,
        })
    }

    /// The vm-memory view.
    pub fn mem(&self) -> &GuestMemoryMmap {
        &self.mem
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The backing memfd (for sharing with peers).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Registers the memory with KVM as slot 0.
    pub fn register(&self, vm: &VmFd) -> Result<()> {
        let region = kvm_userspace_memory_region {
            slot: 0,
            flags: 0,
            guest_phys_addr: 0,
            memory_size: self.size,
            userspace_addr: self.host_addr as u64,
        };
        // SAFETY: the mapping is valid for `size` bytes and outlives the VM: `GuestMem` is kept
        // by the `Vm` that owns the `VmFd`, and dropped after it.
        unsafe { vm.set_user_memory_region(region) }.map_err(Error::kvm("set memory region"))
    }

    /// Pre-faults `[gpa, gpa + len)` on the host (PLATFORM.md: a first guest touch of an
    /// unpopulated page costs ~15 us, of a populated one ~2.5 us). Best effort.
    pub fn populate(&self, gpa: u64, len: u64) -> std::io::Result<()> {
        if gpa.checked_add(len).is_none_or(|end| end > self.size) {
            return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
        }
        // SAFETY: `gpa < size` (checked above), so the offset stays inside our mapping.
        let start = unsafe { self.host_addr.add(gpa as usize) };
        // SAFETY: the range lies inside our mapping; MADV_POPULATE_WRITE only faults pages in.
        let r = unsafe { libc::madvise(start.cast(), len as usize, libc::MADV_POPULATE_WRITE) };
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// The memfd's descriptor number.
    pub fn raw_fd(&self) -> i32 {
        self.file.as_raw_fd()
    }
}
