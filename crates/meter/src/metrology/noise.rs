//! Counter-based pseudo-random numbers: every draw is a pure function of (meter seed, stream,
//! index), so any interval or day of any meter can be computed on its own in O(1), without
//! simulating history and without a `rand` dependency.
//!
//! The mixer is splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
//! generators", OOPSLA 2014); only integer operations and IEEE-exact float operations are used,
//! so the numbers are identical on every platform.

/// Independent random streams of one meter. Each quantity draws from its own stream so that
/// adding a new quantity never changes the existing ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Stream {
    /// Annual consumption of the household.
    AnnualConsumption = 1,
    /// Phase shift of the daily shape.
    PhaseShift = 2,
    /// Whether the household has PV, and its size.
    Photovoltaic = 3,
    /// Mean power factor.
    PowerFactor = 4,
    /// Reactive export share.
    ReactiveExport = 5,
    /// Static voltage offset of the connection point.
    VoltageOffset = 6,
    /// Clock drift of the meter.
    ClockDrift = 7,
    /// Day-to-day consumption factor (index: day).
    DayFactor = 8,
    /// Per-interval consumption noise (index: interval).
    IntervalNoise = 9,
    /// Appliance bursts (index: interval).
    ApplianceBurst = 10,
    /// Daily cloudiness for PV (index: day).
    Cloudiness = 11,
    /// Per-interval PV variability (index: interval).
    PvVariability = 12,
    /// Daily power-factor variation (index: day).
    DayPowerFactor = 13,
    /// Daily reactive-export variation (index: day).
    DayReactiveExport = 14,
    /// Per-interval voltage noise (index: interval).
    VoltageNoise = 15,
}

/// splitmix64 finaliser: a bijective 64-bit mixer.
pub(crate) const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit hash of (seed, stream, index).
pub(crate) fn hash(seed: u64, stream: Stream, index: i64) -> u64 {
    hash_keyed(stream_key(seed, stream), index)
}

/// The part of [`hash`] that depends on (seed, stream) only: a meter computes it once per
/// stream and draws with [`hash_keyed`] / [`uniform_keyed`], one mix per draw instead of three.
pub(crate) const fn stream_key(seed: u64, stream: Stream) -> u64 {
    splitmix64(seed ^ splitmix64(stream as u64))
}

/// `hash(seed, stream, index)` from `key = stream_key(seed, stream)`.
pub(crate) const fn hash_keyed(key: u64, index: i64) -> u64 {
    splitmix64(key ^ index as u64)
}

/// `uniform(seed, stream, index)` from `key = stream_key(seed, stream)`.
pub(crate) fn uniform_keyed(key: u64, index: i64) -> f64 {
    unit(hash_keyed(key, index))
}

/// A uniform number in [0, 1) from (seed, stream, index), with 53 random bits.
pub(crate) fn uniform(seed: u64, stream: Stream, index: i64) -> f64 {
    unit(hash(seed, stream, index))
}

/// The top 53 bits of `h` as a uniform number in [0, 1).
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// An approximately standard-normal number (Irwin-Hall sum of four uniforms, rescaled to mean 0
/// and variance 1; bounded to ±3.46). Uses four 16-bit slices of one hash.
pub(crate) fn approx_normal(seed: u64, stream: Stream, index: i64) -> f64 {
    let h = hash(seed, stream, index);
    let mut sum = 0.0;
    for i in 0..4 {
        sum += ((h >> (16 * i)) & 0xFFFF) as f64 / 65536.0;
    }
    // Each slice is uniform on {0, 1/65536, ...}: mean ~0.5, variance ~1/12.
    (sum - 2.0) * 3.0f64.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_known_answers() {
        // Reference outputs of the splitmix64 generator seeded with 0 (successive states
        // 0x9E3779B97F4A7C15 * n), as published with the algorithm (Vigna's splitmix64.c).
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn uniform_moments() {
        let n = 20_000;
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..n {
            let u = uniform(42, Stream::IntervalNoise, i);
            assert!((0.0..1.0).contains(&u));
            s += u;
            s2 += u * u;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.003, "{var}");
    }

    #[test]
    fn approx_normal_moments() {
        let n = 20_000;
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..n {
            let z = approx_normal(7, Stream::VoltageNoise, i);
            assert!(z.abs() <= 3.47);
            s += z;
            s2 += z * z;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }

    #[test]
    fn streams_are_independent() {
        assert_ne!(hash(1, Stream::DayFactor, 5), hash(1, Stream::Cloudiness, 5));
        assert_ne!(hash(1, Stream::DayFactor, 5), hash(2, Stream::DayFactor, 5));
        assert_ne!(hash(1, Stream::DayFactor, 5), hash(1, Stream::DayFactor, 6));
    }
}
