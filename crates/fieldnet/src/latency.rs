//! Latency distributions: how long one hop (or a connection set-up) takes beyond the
//! frame's serialization. Sampled from the field's seeded RNG, so a scenario replays
//! identically.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// A distribution of delays (simulated time).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Latency {
    /// Always the same delay.
    Fixed(Duration),
    /// Uniform between `min` and `max` (inclusive of `min`).
    Uniform {
        /// Smallest delay.
        min: Duration,
        /// Largest delay.
        max: Duration,
    },
    /// Log-normal around `median` with shape `sigma` (the standard deviation of the
    /// delay's natural logarithm): the usual right-skewed shape of radio and PLC access
    /// delays (contention backoff, MAC retries). Samples are capped at
    /// `median × e^(4·sigma)` so one draw cannot stall a session.
    LogNormal {
        /// The median delay.
        median: Duration,
        /// Shape, ≥ 0 (0 = always the median).
        sigma: f64,
    },
}

impl Latency {
    /// No delay.
    pub const ZERO: Latency = Latency::Fixed(Duration::ZERO);

    /// A fixed delay of `ms` milliseconds.
    pub const fn fixed_ms(ms: u64) -> Latency {
        Latency::Fixed(Duration::from_millis(ms))
    }

    /// Draws one delay.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform { min, max } => {
                if max <= min {
                    return min;
                }
                let span = (max - min).as_secs_f64();
                min + Duration::from_secs_f64(span * rng.random::<f64>())
            }
            Latency::LogNormal { median, sigma } => {
                let sigma = if sigma.is_finite() { sigma.max(0.0) } else { 0.0 };
                let z = standard_normal(rng).clamp(-4.0, 4.0);
                Duration::from_secs_f64(median.as_secs_f64() * (sigma * z).exp())
            }
        }
    }

    /// The distribution with every delay multiplied by `factor` (≥ 0), for degradation.
    pub fn scaled(&self, factor: f64) -> Latency {
        let factor = if factor.is_finite() { factor.max(0.0) } else { 1.0 };
        let s = |d: Duration| Duration::from_secs_f64(d.as_secs_f64() * factor);
        match *self {
            Latency::Fixed(d) => Latency::Fixed(s(d)),
            Latency::Uniform { min, max } => Latency::Uniform { min: s(min), max: s(max) },
            Latency::LogNormal { median, sigma } => Latency::LogNormal { median: s(median), sigma },
        }
    }

    /// The median delay (the value of `Fixed`, the midpoint of `Uniform`).
    pub fn median(&self) -> Duration {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform { min, max } => min + max.saturating_sub(min) / 2,
            Latency::LogNormal { median, .. } => median,
        }
    }
}

/// One standard normal draw (Box–Muller).
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn uniform_stays_in_range_and_log_normal_has_its_median() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let u = Latency::Uniform { min: Duration::from_millis(10), max: Duration::from_millis(20) };
        for _ in 0..1000 {
            let d = u.sample(&mut rng);
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(20), "{d:?}");
        }
        let l = Latency::LogNormal { median: Duration::from_millis(100), sigma: 0.5 };
        let mut draws: Vec<Duration> = (0..4001).map(|_| l.sample(&mut rng)).collect();
        draws.sort();
        let median = draws[2000].as_secs_f64();
        assert!((0.09..0.11).contains(&median), "sample median {median}");
        assert!(draws[4000].as_secs_f64() <= 0.1 * (2.0f64).exp() + 1e-9, "capped at e^(4 sigma)");
    }

    #[test]
    fn the_same_seed_draws_the_same_delays() {
        let l = Latency::LogNormal { median: Duration::from_millis(80), sigma: 0.4 };
        let a: Vec<_> = (0..50)
            .map({
                let mut r = ChaCha8Rng::seed_from_u64(3);
                move |_| l.sample(&mut r)
            })
            .collect();
        let b: Vec<_> = (0..50)
            .map({
                let mut r = ChaCha8Rng::seed_from_u64(3);
                move |_| l.sample(&mut r)
            })
            .collect();
        assert_eq!(a, b);
    }
}
