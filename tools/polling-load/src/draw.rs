//! Draws without generator state: a number in, a well-spread number out, so
//! the same run numbers always give the same choices.

/// SplitMix64's finalizer of `n`: well spread, no generator state.
pub(crate) fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// An option index drawn by `weights`, from the number `n`.
pub(crate) fn weighted_pick(weights: &[u32], n: u64) -> usize {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum::<u64>().max(1);
    let mut ticket = mix(n) % total;
    for (i, &w) in weights.iter().enumerate() {
        if ticket < u64::from(w) {
            return i;
        }
        ticket -= u64::from(w);
    }
    weights.len().saturating_sub(1)
}

/// A run's id: random (a voter id's 128 bits), so that two runs neither
/// replay each other's idempotency keys nor draw the same choices, and the
/// keys made from it are unguessable, as the server requires of a request
/// without a voter cookie.
pub(crate) fn unique_run_id() -> String {
    polling_core::VoterId::generate().as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_follow_the_weights() {
        let weights = [1, 0, 3];
        let mut counts = [0u32; 3];
        for n in 0..40_000 {
            counts[weighted_pick(&weights, n)] += 1;
        }
        assert_eq!(counts[1], 0, "a zero weight is never picked");
        let ratio = f64::from(counts[2]) / f64::from(counts[0]);
        assert!((2.7..3.3).contains(&ratio), "{counts:?}");
        assert_eq!(weighted_pick(&[5], 7), 0);
    }

    #[test]
    fn neighbouring_numbers_mix_apart() {
        assert_ne!(mix(1) % 21, mix(2) % 21);
        assert_eq!(mix(7), mix(7));
    }
}
