//! Operation codes. LegoOS reuses Linux syscall numbers for syscall-derived requests; ours are
//! grouped by range.

/// Reply with the request's bytes.
pub const ECHO: u32 = 1;
/// Reply with the CRC-32 of the request (4 bytes, little endian).
pub const CHECKSUM: u32 = 2;
/// Reply with the CRC-32 of one of the server's test regions (request: region index, u32).
pub const CHECKSUM_REGION: u32 = 3;
/// Fill one of the server's test regions with a pattern (request: region index u32, seed u32).
pub const FILL_REGION: u32 = 4;
/// A monitor's load report to the managers (request: `mgmt::LoadReport`; reply: empty).
pub const LOAD_REPORT: u32 = 16;
/// Highest opcode a dispatcher table holds.
pub const MAX: u32 = 255;
/// Busy the server for the given milliseconds (u32) before replying: tests call deadlines.
pub const STALL: u32 = 5;
/// SEND back to the caller `len` (u32) bytes of `test_pattern(seed)` (u32), with immediate
/// `imm` (u32) if it is nonzero, into the next receive buffer the caller posted.
pub const SEND_BACK: u32 = 6;

/// Test regions a server registers with `test_regions=1`: `(tag offset, bytes, writable)`.
/// Region `i` has tag `virtio_rdma::abi::mr::tags::USER + i` and starts filled with
/// [`test_pattern`]`(TEST_SEED + i, _)`.
pub const TEST_REGIONS: [(u32, u64, bool); 2] = [(0, 1 << 20, true), (1, 64 << 10, false)];
/// Seed of the test regions' initial pattern.
pub const TEST_SEED: u32 = 0x1000;

/// The byte at offset `i` of the test pattern `seed` (cheap, position-dependent).
pub const fn test_pattern(seed: u32, i: u64) -> u8 {
    let x = (i as u32).wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503);
    (x >> 13) as u8
}
