//! virtio-blk (virtio 1.2, 5.2) as we use it: the storage component's disk. Standard device id,
//! feature bits, request header, status bytes and configuration layout, so a stock driver would
//! work too; plus where our VMM puts the device and the self-test's block pattern, shared by the
//! guest that writes it and the host tests that check the image file.
//!
//! A request is one descriptor chain: the device-readable [`ReqHeader`], then the data buffers
//! (device-readable for [`req::OUT`], device-writable for [`req::IN`] and [`req::GET_ID`]), then
//! one device-writable status byte ([`status`]).

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::layout::DEVICE_GPA_BASE;
use crate::virtio_mmio::MMIO_SIZE;

/// The virtio device id of a block device.
pub const DEVICE_ID: u32 = 2;
/// Our vendor id ("LEGO"), as the fabric device's.
pub const VENDOR_ID: u32 = 0x4f47_454c;

/// Guest-physical base of the block device's virtio-mmio registers: the page after the fabric
/// device's (which sits at [`DEVICE_GPA_BASE`]); windows onto peers start far above.
pub const BLK_DEVICE_GPA: u64 = DEVICE_GPA_BASE + MMIO_SIZE;

/// The request queue's index (virtio-blk has one queue unless VIRTIO_BLK_F_MQ).
pub const REQUEST_QUEUE: u16 = 0;
/// Entries of the request queue the device offers (a request takes 3 descriptors).
pub const QUEUE_SIZE: u16 = 256;

/// Bytes per sector: request offsets and the capacity are in these units whatever the block size.
pub const SECTOR_SIZE: u64 = 512;
/// log2 of [`SECTOR_SIZE`].
pub const SECTOR_SHIFT: u32 = 9;
/// The block size the device advertises ([`features::BLK_SIZE`]) and the unit our driver uses.
pub const BLOCK_SIZE: u64 = 4096;
/// Sectors per [`BLOCK_SIZE`] block.
pub const SECTORS_PER_BLOCK: u64 = BLOCK_SIZE / SECTOR_SIZE;
/// Bytes of the device id a GET_ID request returns (NUL-padded, not NUL-terminated if 20 long).
pub const ID_BYTES: usize = 20;

/// Feature bits (device-specific ones are below 24).
pub mod features {
    /// `seg_max` in the configuration is the most data segments in one request.
    pub const SEG_MAX: u64 = 1 << 2;
    /// `blk_size` in the configuration is the device's block size.
    pub const BLK_SIZE: u64 = 1 << 6;
    /// The device takes FLUSH requests (and caches writes until one).
    pub const FLUSH: u64 = 1 << 9;
}

/// Request types ([`ReqHeader::type_`]).
pub mod req {
    /// Read sectors into the device-writable buffers.
    pub const IN: u32 = 0;
    /// Write sectors from the device-readable buffers.
    pub const OUT: u32 = 1;
    /// Make every completed write durable.
    pub const FLUSH: u32 = 4;
    /// Return the device id string ([`super::ID_BYTES`] bytes).
    pub const GET_ID: u32 = 8;
}

/// The status byte the device writes last.
pub mod status {
    /// Success.
    pub const OK: u8 = 0;
    /// The request was invalid or the I/O failed.
    pub const IOERR: u8 = 1;
    /// Unknown request type.
    pub const UNSUPP: u8 = 2;
}

/// The header every request starts with (16 bytes, little endian).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct ReqHeader {
    /// A [`req`] value.
    pub type_: u32,
    /// Zero.
    pub reserved: u32,
    /// First sector (512-byte units) of IN and OUT requests; zero otherwise.
    pub sector: u64,
}

impl ReqHeader {
    /// A header of type `type_` at `sector`.
    pub const fn new(type_: u32, sector: u64) -> ReqHeader {
        ReqHeader {
            type_,
            reserved: 0,
            sector,
        }
    }
}

/// Bytes of [`ReqHeader`].
pub const HEADER_BYTES: usize = core::mem::size_of::<ReqHeader>();

/// The start of the configuration space (`struct virtio_blk_config`, the part we fill in).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct BlkConfig {
    /// Size of the device in 512-byte sectors (whatever `blk_size` is).
    pub capacity: u64,
    /// Largest data segment (with VIRTIO_BLK_F_SIZE_MAX, which we do not offer).
    pub size_max: u32,
    /// Most data segments in one request (with [`features::SEG_MAX`]).
    pub seg_max: u32,
    /// Legacy geometry: cylinders.
    pub cylinders: u16,
    /// Legacy geometry: heads.
    pub heads: u8,
    /// Legacy geometry: sectors per track.
    pub sectors: u8,
    /// Block size in bytes (with [`features::BLK_SIZE`]).
    pub blk_size: u32,
}

/// Configuration offsets.
pub mod config {
    /// `capacity` (u64).
    pub const CAPACITY: u64 = 0;
    /// `seg_max` (u32).
    pub const SEG_MAX: u64 = 12;
    /// `blk_size` (u32).
    pub const BLK_SIZE: u64 = 20;
}

/// Fills `out` with the self-test's deterministic pattern for block `block` of a run seeded with
/// `seed` (SplitMix64 over the pair): the guest writes it, the guest and host tests check it.
pub fn fill_pattern(seed: u64, block: u64, out: &mut [u8]) {
    let mut state = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(block.wrapping_mul(0xd1b5_4a32_d192_ed03))
        ^ 0x5851_f42d_4c95_7f2d;
    for chunk in out.chunks_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let bytes = z.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_the_standard_one() {
        assert_eq!(HEADER_BYTES, 16);
        assert_eq!(core::mem::size_of::<BlkConfig>(), 24);
        assert_eq!(
            core::mem::offset_of!(BlkConfig, seg_max) as u64,
            config::SEG_MAX
        );
        assert_eq!(
            core::mem::offset_of!(BlkConfig, blk_size) as u64,
            config::BLK_SIZE
        );
        let h = ReqHeader::new(req::OUT, 0x0102_0304_0506_0708);
        assert_eq!(
            h.as_bytes(),
            &[1, 0, 0, 0, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]
        );
    }

    #[test]
    fn device_page_is_free() {
        assert_eq!(BLK_DEVICE_GPA, DEVICE_GPA_BASE + 0x1000);
        const { assert!(BLK_DEVICE_GPA + MMIO_SIZE <= 1 << 40) };
    }

    #[test]
    fn pattern_is_deterministic_and_distinct() {
        let mut a = [0u8; 4096];
        let mut b = [0u8; 4096];
        fill_pattern(7, 3, &mut a);
        fill_pattern(7, 3, &mut b);
        assert_eq!(a, b);
        fill_pattern(7, 4, &mut b);
        assert_ne!(a, b);
        fill_pattern(8, 3, &mut b);
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != 0));
        // Known answer, so a change to the generator is a deliberate one (old images stop
        // verifying).
        let mut first = [0u8; 8];
        fill_pattern(0, 0, &mut first);
        assert_eq!(u64::from_le_bytes(first), 0xba88_94fa_3be5_9747);
    }
}
