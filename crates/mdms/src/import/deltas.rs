//! Rebuilding bulk quantities (cumulative register values) from interval consumption.
//!
//! The store keeps energy channels as the register value at each interval end; files such
//! as Green Button carry the energy used within each interval. Turning N contiguous
//! interval values back into register values needs the register value at the start of the
//! first interval, the *anchor* ([`DeltaAnchor`]):
//!
//! - the value at the start of interval k+1 is the anchor plus the sum of intervals 1..=k;
//! - with [`DeltaAnchor::Fixed`] the anchor itself is stored too, at the start of the
//!   first interval (quality: no flags), so the first interval's consumption is kept: N
//!   intervals become N + 1 stored values;
//! - with [`DeltaAnchor::ContinueFromStore`] the anchor is the value already stored at
//!   that instant (an import that extends earlier data), so N intervals become N values.
//!
//! A gap or a repeated interval in the deltas is refused ([`ImportError::DeltaGap`]): the
//! consumption in a gap is unknown, so no register value after it could be right.

use jiff::{SignedDuration, Timestamp};
use model::{IntervalReading, MeterId, QualityFlags, ReadingType};

use super::ImportError;
use crate::MeterDataStore;

/// Where the register value at the start of the first imported interval comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeltaAnchor {
    /// The register held this value (in the channel's unit, Wh or varh) at the start of the
    /// first interval; it is stored there as well. `Fixed(0.0)` rebuilds a register that
    /// starts at zero with the file.
    Fixed(f64),
    /// Continue from the value stored at the start of the first interval (latest version),
    /// so a file of later intervals extends what the store holds. When the channel has no
    /// stored value at all, start from `if_empty` (stored at the start, as for `Fixed`);
    /// when it has data but none at that instant, the import fails with
    /// [`ImportError::NoAnchor`].
    ContinueFromStore {
        /// Anchor for a channel with no stored data.
        if_empty: f64,
    },
}

/// One interval's consumption as read from a file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeltaInterval {
    /// End of the interval, UTC.
    pub end: Timestamp,
    /// Energy used in the interval, in the channel's unit.
    pub value: f64,
    /// Quality of the interval (applied to the register value at its end).
    pub quality: QualityFlags,
}

/// The anchor value and whether it must be stored (at `first_start`).
///
/// Errors: [`ImportError::NoAnchor`], [`ImportError::Store`] (with `ingested` 0).
pub fn resolve_anchor(
    store: &(impl MeterDataStore + ?Sized),
    meter: &MeterId,
    reading_type: ReadingType,
    first_start: Timestamp,
    anchor: DeltaAnchor,
) -> Result<(f64, bool), ImportError> {
    let store_error = |source| ImportError::Store { meter: meter.clone(), ingested: 0, source };
    match anchor {
        DeltaAnchor::Fixed(value) => Ok((value, true)),
        DeltaAnchor::ContinueFromStore { if_empty } => {
            let next = first_start.checked_add(SignedDuration::from_secs(1)).unwrap_or(first_start);
            let at = store.interval_readings(meter, reading_type, first_start, next).map_err(store_error)?;
            if let Some(stored) = at.last() {
                return Ok((stored.value, false));
            }
            match store.last_interval_end(meter, reading_type).map_err(store_error)? {
                None => Ok((if_empty, true)),
                Some(_) => Err(ImportError::NoAnchor { meter: meter.clone(), reading_type, at: first_start }),
            }
        }
    }
}

/// The register values of one channel rebuilt from its interval deltas (any order; they
/// are sorted by end), given the register value `start_value` at the start of the first
/// interval, which is included as the first value when `include_start`.
///
/// Errors: [`ImportError::DeltaGap`] when consecutive interval ends are not exactly
/// `interval_length_s` apart (a gap or a repeated interval).
pub fn bulk_from_deltas(
    meter: &MeterId,
    reading_type: ReadingType,
    deltas: &[DeltaInterval],
    interval_length_s: u32,
    start_value: f64,
    include_start: bool,
) -> Result<Vec<IntervalReading>, ImportError> {
    let length = SignedDuration::from_secs(i64::from(interval_length_s));
    let mut sorted = deltas.to_vec();
    sorted.sort_by_key(|d| d.end);
    let mut out = Vec::with_capacity(sorted.len() + 1);
    let Some(first) = sorted.first() else {
        return Ok(out);
    };
    if include_start {
        let start = first.end.checked_sub(length).map_err(|_| ImportError::DeltaGap {
            meter: meter.clone(),
            reading_type,
            after: first.end,
            next: first.end,
        })?;
        out.push(IntervalReading {
            reading_type,
            interval_end: start,
            value: start_value,
            quality: QualityFlags::default(),
        });
    }
    let mut register = start_value;
    let mut previous: Option<Timestamp> = None;
    for d in &sorted {
        if let Some(p) = previous {
            if d.end.duration_since(p) != length {
                return Err(ImportError::DeltaGap { meter: meter.clone(), reading_type, after: p, next: d.end });
            }
        }
        register += d.value;
        out.push(IntervalReading { reading_type, interval_end: d.end, value: register, quality: d.quality });
        previous = Some(d.end);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(end_s: i64, value: f64) -> DeltaInterval {
        DeltaInterval { end: Timestamp::from_second(end_s).unwrap(), value, quality: QualityFlags(0) }
    }

    fn values(readings: &[IntervalReading]) -> Vec<(i64, f64)> {
        readings.iter().map(|r| (r.interval_end.as_second(), r.value)).collect()
    }

    #[test]
    fn fixed_anchor_adds_the_start_value() {
        let m = MeterId::from("M");
        let rt = ReadingType::ActiveEnergyImport;
        let got = bulk_from_deltas(&m, rt, &[d(1800, 2.5), d(900, 10.0)], 900, 1000.0, true).unwrap();
        assert_eq!(values(&got), vec![(0, 1000.0), (900, 1010.0), (1800, 1012.5)]);
        let got = bulk_from_deltas(&m, rt, &[d(900, 10.0)], 900, 5.0, false).unwrap();
        assert_eq!(values(&got), vec![(900, 15.0)]);
        assert!(bulk_from_deltas(&m, rt, &[], 900, 5.0, true).unwrap().is_empty());
    }

    #[test]
    fn gaps_and_repeats_are_refused() {
        let m = MeterId::from("M");
        let rt = ReadingType::ActiveEnergyImport;
        for deltas in [vec![d(900, 1.0), d(2700, 1.0)], vec![d(900, 1.0), d(900, 2.0)]] {
            match bulk_from_deltas(&m, rt, &deltas, 900, 0.0, true) {
                Err(ImportError::DeltaGap { after, .. }) => assert_eq!(after.as_second(), 900),
                other => panic!("expected a gap error, got {other:?}"),
            }
        }
    }
}
