//! Test regions: memory a server registers so peers can test one-sided access and protection
//! against it (`lego_proto::op::TEST_REGIONS`).

use lego_proto::op::{TEST_REGIONS, TEST_SEED, test_pattern};
use virtio_rdma::abi::mr::{REMOTE_READ, REMOTE_WRITE, tags};

use crate::mm::{alloc_zeroed, phys_to_virt};
use lego_rpc::FabricError;

use crate::rdma::{Device, LocalMr};

static REGIONS: spin::Once<[LocalMr; 2]> = spin::Once::new();

fn bytes(r: &LocalMr) -> &'static mut [u8] {
    // SAFETY: the region is our allocation, `len` bytes; peers write it concurrently only in
    // tests that then ask us to checksum it after they are done.
    unsafe { core::slice::from_raw_parts_mut(r.va, r.len as usize) }
}

/// Allocates, fills and registers the test regions.
pub fn register(dev: &Device) -> Result<(), FabricError> {
    let mut out = [None, None];
    for (slot, &(i, len, writable)) in out.iter_mut().zip(TEST_REGIONS.iter()) {
        let pa = alloc_zeroed(len / 4096).ok_or(FabricError::NoMemory)?;
        let perms = if writable {
            REMOTE_READ | REMOTE_WRITE
        } else {
            REMOTE_READ
        };
        let mr = dev.reg_mr(phys_to_virt(pa), len, perms, tags::USER + i)?;
        for (k, b) in bytes(&mr).iter_mut().enumerate() {
            *b = test_pattern(TEST_SEED + i, k as u64);
        }
        *slot = Some(mr);
    }
    if let [Some(a), Some(b)] = out {
        REGIONS.call_once(|| [a, b]);
    }
    Ok(())
}

/// CRC-32 of region `i`.
pub fn checksum(i: u32) -> Option<u32> {
    let r = REGIONS.get()?.get(i as usize)?;
    Some(crc32fast::hash(bytes(r)))
}

/// Refills region `i` with pattern `seed`.
pub fn fill(i: u32, seed: u32) -> Option<()> {
    let r = REGIONS.get()?.get(i as usize)?;
    for (k, b) in bytes(r).iter_mut().enumerate() {
        *b = test_pattern(seed, k as u64);
    }
    Some(())
}
