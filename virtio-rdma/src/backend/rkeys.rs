//! Remote keys of memory regions, handed out by every fabric endpoint (a VMM's and the
//! managers'): a xorshift32 stream from a per-endpoint seed, never 0 (no key) and never a key
//! still in use.

/// Advances `seed` to the next key that is neither 0 nor in `in_use`, and returns it. `seed`
/// must not be 0 (xorshift stays there).
pub fn next_rkey(seed: &mut u32, in_use: &[Option<u32>]) -> u32 {
    loop {
        let mut x = *seed;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *seed = x;
        if x != 0 && !in_use.contains(&Some(x)) {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_skip_those_in_use_and_follow_the_seed() {
        let mut a = 0x1234_5678;
        let first = next_rkey(&mut a, &[]);
        let mut b = 0x1234_5678;
        assert_eq!(
            next_rkey(&mut b, &[None]),
            first,
            "deterministic from the seed"
        );
        let mut c = 0x1234_5678;
        let skipped = next_rkey(&mut c, &[Some(first)]);
        assert_ne!(skipped, first);
        assert_eq!(
            skipped,
            next_rkey(&mut a, &[]),
            "the next one in the stream"
        );
        assert_ne!(skipped, 0);
    }
}
