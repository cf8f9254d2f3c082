//! Shared mappings of memfds (our own guest memory and directory, or a peer's).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A `MAP_SHARED` mapping, unmapped on drop.
#[derive(Debug)]
pub struct SharedMap {
    ptr: *mut u8,
    len: usize,
    writable: bool,
}

// SAFETY: the mapping is plain shared memory; all access goes through raw pointers whose users
// synchronise with atomics (the directory's seqlock, the QPCB rings).
unsafe impl Send for SharedMap {}
// SAFETY: as above.
unsafe impl Sync for SharedMap {}

impl SharedMap {
    /// Maps `len` bytes of `fd` from offset 0.
    pub fn map(fd: &impl AsRawFd, len: usize, writable: bool) -> io::Result<SharedMap> {
        Self::map_range(fd, 0, len, writable)
    }

    /// Maps `len` bytes of `fd` from `offset` (page aligned), read-only unless `writable`.
    pub fn map_range(
        fd: &impl AsRawFd,
        offset: u64,
        len: usize,
        writable: bool,
    ) -> io::Result<SharedMap> {
        let off = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        if len == 0 || !offset.is_multiple_of(4096) {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a fresh mapping chosen by the kernel; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                off,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(SharedMap {
            ptr: ptr.cast(),
            len,
            writable,
        })
    }

    /// Replaces the mapping, in place and in one step, with private anonymous memory of the
    /// same size and protection: the file's pages are let go (a dead peer's memory can be freed
    /// by the host), while pointers into the range stay valid (reads see zeros, writes land in
    /// memory nobody else sees). For mappings that stale pointers may still reach.
    pub fn retire(&self) -> io::Result<()> {
        let prot = if self.writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: MAP_FIXED over exactly the range this object mapped and owns: the kernel
        // swaps the pages atomically (concurrent accesses see the old or the new mapping,
        // never a hole); nothing outside the range is touched.
        let ptr = unsafe {
            libc::mmap(
                self.ptr.cast(),
                self.len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never: zero-length maps are refused).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `map` mapped; nothing refers to it after drop.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// Creates a sealed-size memfd of `len` bytes named `name`.
pub fn memfd(name: &str, len: u64) -> io::Result<File> {
    let cname =
        std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid NUL-terminated name; the result is checked.
    let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is fresh and owned by nobody else.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.set_len(len)?;
    Ok(file)
}

/// The size of a file behind a descriptor.
pub fn fd_size(fd: &impl AsRawFd) -> io::Result<u64> {
    // SAFETY: an all-zero `stat` is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on a descriptor we hold, into a properly sized struct.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    u64::try_from(st.st_size).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_maps_of_one_memfd_share_bytes() {
        let f = memfd("test", 8192).unwrap();
        assert_eq!(fd_size(&f).unwrap(), 8192);
        let a = SharedMap::map(&f, 8192, true).unwrap();
        let b = SharedMap::map(&f, 8192, false).unwrap();
        // SAFETY: both maps are 8192 bytes long; offset 100 is inside.
        unsafe { a.as_ptr().add(100).write(42) };
        // SAFETY: as above.
        assert_eq!(unsafe { b.as_ptr().add(100).read() }, 42);
    }

    /// The memfds this process maps, by name (from /proc/self/maps).
    fn mapped(name: &str) -> usize {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter(|l| l.contains(&format!("/memfd:{name} ")))
            .count()
    }

    #[test]
    fn a_retired_map_lets_go_of_the_file_and_stays_readable() {
        let f = memfd("shm-retire-test", 8192).unwrap();
        let a = SharedMap::map(&f, 8192, true).unwrap();
        // SAFETY: inside the 8192-byte mapping.
        unsafe { a.as_ptr().add(10).write(7) };
        assert_eq!(mapped("shm-retire-test"), 1);
        a.retire().unwrap();
        assert_eq!(mapped("shm-retire-test"), 0, "the file is no longer mapped");
        // SAFETY: the range is still mapped (anonymous now).
        unsafe {
            assert_eq!(a.as_ptr().add(10).read(), 0);
            a.as_ptr().add(10).write(9);
        }
        let b = SharedMap::map(&f, 8192, false).unwrap();
        // SAFETY: inside the mapping.
        let byte = unsafe { b.as_ptr().add(10).read() };
        assert_eq!(byte, 7, "the file did not change");
    }
}
