//! Memory regions as the driver holds them.

use virtio_rdma::abi::mr::RemoteMr;

/// One of our registered regions.
#[derive(Clone, Copy, Debug)]
pub struct LocalMr {
    /// Its key.
    pub rkey: u32,
    /// Guest-physical start.
    pub pa: u64,
    /// Virtual start.
    pub va: *mut u8,
    /// Length.
    pub len: u64,
    /// Permissions.
    pub perms: u32,
    /// Tag.
    pub tag: u32,
}

// SAFETY: `va` is a direct-map address of memory this guest owns for the MR's lifetime; sharing
// the descriptor between CPUs shares no Rust-owned data.
unsafe impl Send for LocalMr {}
// SAFETY: as above.
unsafe impl Sync for LocalMr {}

/// A peer's region, mapped here.
#[derive(Clone, Copy, Debug)]
pub struct RemoteMrHandle {
    /// What the peer registered and where our VMM mapped it.
    pub mr: RemoteMr,
    /// Its window in our address space.
    pub va: *mut u8,
    /// The peer incarnation it belongs to.
    pub incarnation: u32,
    /// The peer's MR generation at lookup.
    pub mr_generation: u32,
}

impl RemoteMrHandle {
    /// The remote address of byte `off` of the region.
    pub fn addr(&self, off: u64) -> u64 {
        self.mr.addr + off
    }
}
