//! Retries with exponential backoff and jitter, and the jitter that spreads scheduled
//! jobs over a window.

use std::time::Duration;

/// Retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per job (1 = no retry).
    pub max_attempts: u32,
    /// Delay before the first retry; doubles with each further attempt.
    pub backoff_base: Duration,
    /// Largest delay (before jitter).
    pub backoff_max: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 30 s doubling up to 15 minutes.
    fn default() -> Self {
        RetryPolicy { max_attempts: 4, backoff_base: Duration::from_secs(30), backoff_max: Duration::from_secs(900) }
    }
}

/// A uniform fraction in [0, 1) from a seed (splitmix64): deterministic, so a restarted
/// HES computes the same delays and due times.
pub fn unit_fraction(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A stable 64-bit hash of a text (FNV-1a), to seed jitter per meter.
pub fn text_seed(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3))
}

impl RetryPolicy {
    /// The delay after failed attempt `attempt` (1 = the first attempt failed):
    /// `min(base × 2^(attempt−1), max)`, then stretched by up to 50 % of jitter.
    pub fn delay(&self, attempt: u32, seed: u64) -> Duration {
        let exp = self.backoff_base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        exp.min(self.backoff_max).mul_f64(1.0 + 0.5 * unit_fraction(seed ^ u64::from(attempt)))
    }
}

/// An offset in `[0, window)` for `key`: where in the window a scheduled job starts.
pub fn spread(window: Duration, key: &str) -> Duration {
    if window.is_zero() { Duration::ZERO } else { window.mul_f64(unit_fraction(text_seed(key))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_within_half() {
        let p = RetryPolicy {
            max_attempts: 5,
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(60),
        };
        for (attempt, base) in [(1, 10), (2, 20), (3, 40), (4, 60), (9, 60)] {
            let d = p.delay(attempt, 42);
            assert!(d >= Duration::from_secs(base) && d < Duration::from_secs(base) * 3 / 2, "{attempt}: {d:?}");
        }
        assert_ne!(p.delay(2, 1), p.delay(2, 2), "jitter differs per seed");
    }

    #[test]
    fn spread_stays_in_the_window_and_differs_per_key() {
        let w = Duration::from_secs(3600);
        let offsets: Vec<_> = (0..100).map(|i| spread(w, &format!("GE{i:08}"))).collect();
        assert!(offsets.iter().all(|o| *o < w));
        let early = offsets.iter().filter(|o| **o < w / 2).count();
        assert!((30..=70).contains(&early), "roughly uniform: {early} of 100 in the first half");
        assert_eq!(spread(Duration::ZERO, "x"), Duration::ZERO);
    }
}
