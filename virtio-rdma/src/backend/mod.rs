//! The VMM side of the fabric that does not depend on KVM: shared mappings, the MR directory
//! each VMM publishes for its peers, the allocator of window addresses, remote keys, and the
//! messages between VMMs and the coordinator that introduces them.

pub mod directory;
pub mod rkeys;
pub mod shm;
pub mod windows;
pub mod wire;
