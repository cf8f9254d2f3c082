//! Where a line lives: its set, and its bucket in the tag index.
//!
//! The set function is the documented [`set_index`]:
//!
//! ```text
//! q = line / sets,  r = line % sets
//! set = (r + mix64(q * PHI ^ asid * ASID_MUL) % sets) % sets
//! ```
//!
//! Why this shape rather than plain `line % sets` or a plain hash:
//! * Within an aligned block of `sets` consecutive lines, `r` takes every value once and the
//!   offset is constant, so a sequential run of lines is spread perfectly evenly (one line per
//!   set per block), as with a modulo index. A plain hash would pile up some sets (binomial
//!   imbalance) and cause conflict misses on a working set that fits.
//! * Each block gets its own pseudo-random rotation, so strides that are a multiple of
//!   `sets` lines (a matrix column walk, power-of-two arrays), which a modulo index sends all
//!   to one set, are spread over all sets.
//! * The process id is mixed into the rotation, so two processes with the same layout (two
//!   instances of one binary) do not fight over the same sets line for line.
//! * It works for any number of sets, so the arena does not have to be a power of two.
//!
//! Cost: one 64-bit division and a multiply-xorshift mixer per lookup: tens of nanoseconds
//! against a trap of 20-48 µs.

/// Multiplier of the block number (2^64 / golden ratio).
const PHI: u64 = 0x9E37_79B9_7F4A_7C15;
/// Multiplier of the process id.
const ASID_MUL: u64 = 0xC2B2_AE3D_27D4_EB4F;
/// Salt of the index hash, so that bucket and set are independent.
const INDEX_SALT: u64 = 0x1656_67B1_9E37_79F9;

/// The 64-bit finalizer of MurmurHash3 (fmix64): every input bit affects every output bit.
pub const fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    x ^= x >> 33;
    x
}

/// The set of line number `line` (virtual address >> line shift) of process `asid` in a
/// cache of `sets` sets (see the module documentation). `sets == 0` returns 0.
pub const fn set_index(asid: u32, line: u64, sets: u32) -> u32 {
    if sets == 0 {
        return 0;
    }
    let s = sets as u64;
    let (q, r) = (line / s, line % s);
    let rot = mix64(q.wrapping_mul(PHI) ^ (asid as u64).wrapping_mul(ASID_MUL)) % s;
    // r + rot < 2 * sets <= 2^33: no overflow.
    ((r + rot) % s) as u32
}

/// The hash of a key in the tag index (its bucket is the low bits).
pub(crate) const fn index_hash(asid: u32, line: u64) -> u64 {
    mix64(line.wrapping_mul(PHI) ^ (asid as u64).wrapping_mul(ASID_MUL) ^ INDEX_SALT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix64_known_values() {
        assert_eq!(mix64(0), 0);
        // fmix64(1) of MurmurHash3.
        assert_eq!(mix64(1), 0xB456_BCFC_34C2_CB2C);
    }

    #[test]
    fn a_block_of_lines_covers_every_set_once() {
        for sets in [1u32, 3, 7, 8, 64, 100] {
            for asid in [0u32, 1, 77] {
                for block in [0u64, 1, 5, 1 << 30] {
                    let mut seen = vec![false; sets as usize];
                    for r in 0..u64::from(sets) {
                        let s = set_index(asid, block * u64::from(sets) + r, sets);
                        assert!(!seen[s as usize], "set {s} twice");
                        seen[s as usize] = true;
                    }
                }
            }
        }
    }

    #[test]
    fn strides_of_the_set_count_spread_over_sets() {
        let sets = 64u32;
        let mut hit = vec![0u32; sets as usize];
        for i in 0..1024u64 {
            hit[set_index(1, i * u64::from(sets), sets) as usize] += 1;
        }
        // 1024 lines over 64 sets: a modulo index would put all of them in one set.
        assert!(hit.iter().all(|&n| n < 40), "{hit:?}");
    }

    #[test]
    fn processes_are_rotated_apart() {
        let sets = 512u32;
        let same = (0..64u64)
            .filter(|&b| set_index(1, b * 512, sets) == set_index(2, b * 512, sets))
            .count();
        assert!(same < 4, "{same}");
    }

    #[test]
    fn extreme_lines_do_not_overflow() {
        for sets in [1u32, 2, u32::MAX, u32::MAX - 1] {
            for line in [0u64, u64::MAX, u64::MAX >> 12] {
                assert!(set_index(u32::MAX, line, sets) < sets);
            }
        }
        assert_eq!(set_index(1, 2, 0), 0);
    }
}
