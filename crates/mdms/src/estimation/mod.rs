//! # Estimation of missing and rejected interval values
//!
//! Pure functions, no storage. A *run* is a maximal sequence of consecutive interval ends
//! to estimate (missing, or rejected by validation). Energy channels are bulk quantities,
//! so the values just before and after a run bracket it: the run's k intervals plus the one
//! that ends at the bracket after it share exactly the bracket's advance `B_after −
//! B_before`. A register read taken exactly at an interval end inside the run is a bracket
//! too and splits the run.
//!
//! Methods (the DASMMD interval-data estimation practice):
//! - [`EstimationMethod::LinearInterpolation`] for runs of at most
//!   [`EstimationConfig::max_interpolation_s`](crate::vee::EstimationConfig) (default 2 h):
//!   the consumption of the intervals is interpolated linearly between the interval before
//!   the run and the interval after the bracket (flat when neither is known).
//! - [`EstimationMethod::LikeDayAverage`] for longer runs: the consumption at the same
//!   local time of day averaged over the nearest like days (same day type, working day or
//!   weekend/holiday; complete days of actual reads only; days with a power failure or
//!   disconnection excluded). Falls back to interpolation when no like day exists.
//!
//! Either shape is then scaled so the estimated intervals sum to the bracketing advance
//! (quality flag [`QualityFlags::ESTIMATE_SCALED`] when the factor is not 1), and the
//! estimated bulk values are the running sum from the bracket before. Estimates carry
//! [`QualityFlags::ESTIMATED`] with the method code and are validated again by the store.

mod interpolation;
mod like_day;
mod runs;

use jiff::Timestamp;
use model::{QualityFlags, ReadingType};
use serde::Serialize;

use crate::StoreError;
use crate::vee::{CompiledClass, RegisterPoint, SeriesPoint};

use self::runs::{Brackets, Run};

/// How a value was estimated; its [`code`](EstimationMethod::code) is stored in quality bits
/// 20–23.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum EstimationMethod {
    /// Linear interpolation of interval consumption across a short gap.
    LinearInterpolation = 1,
    /// Average of the nearest like days' consumption at the same local time.
    LikeDayAverage = 2,
}

impl EstimationMethod {
    /// The 4-bit code in [`QualityFlags`] bits 20–23.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The method with this code.
    pub fn from_code(code: u8) -> Option<EstimationMethod> {
        match code {
            1 => Some(EstimationMethod::LinearInterpolation),
            2 => Some(EstimationMethod::LikeDayAverage),
            _ => None,
        }
    }

    /// Stable name for the API and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            EstimationMethod::LinearInterpolation => "linear_interpolation",
            EstimationMethod::LikeDayAverage => "like_day_average",
        }
    }
}

/// One estimated interval value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The interval end, UTC.
    pub interval_end: Timestamp,
    /// The estimated value (bulk quantity), channel unit.
    pub value: f64,
    /// `ESTIMATED` with the method code, plus `ESTIMATE_SCALED` when scaled.
    pub quality: QualityFlags,
    /// The method.
    pub method: EstimationMethod,
}

/// Why a run was not estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Only cumulative (energy) channels are estimated.
    NotCumulative,
    /// No value before the run to start from.
    NoValueBefore,
    /// No value after the run: the gap is not bracketed (data may still arrive).
    NoValueAfter,
    /// The register went backwards across the run (a reset or exchange): needs an edit.
    NegativeAdvance,
    /// The run is longer than the configured maximum gap.
    TooLong,
}

/// A run of interval ends that was not estimated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedRun {
    /// First interval end of the run, UTC.
    pub first: Timestamp,
    /// Last interval end of the run, UTC.
    pub last: Timestamp,
    /// Why.
    pub reason: SkipReason,
}

/// What to estimate and from what.
#[derive(Debug, Clone, Copy)]
pub struct EstimationInput<'a> {
    /// The channel.
    pub reading_type: ReadingType,
    /// Latest stored versions, ordered by interval end without repeats: the brackets and
    /// their neighbours, and for long runs the days around them (like days are searched
    /// [`like_day_search_days`](crate::vee::EstimationConfig) before and after).
    pub points: &'a [SeriesPoint],
    /// Interval ends to estimate (on the class's grid); stored values at these ends are
    /// ignored and replaced.
    pub targets: &'a [Timestamp],
    /// Register reads of the channel; one taken exactly at a target end brackets it.
    pub registers: &'a [RegisterPoint],
    /// Runs longer than this many seconds are skipped ([`SkipReason::TooLong`]); `None` for
    /// no limit.
    pub max_gap_s: Option<u32>,
}

/// Estimates and skipped runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EstimationOutcome {
    /// New values, ordered by interval end.
    pub estimates: Vec<Estimate>,
    /// Runs left as they are.
    pub skipped: Vec<SkippedRun>,
}

/// Estimates `input.targets` with the class's settings (see the module docs). A target end
/// where a register read was taken gets the register's value (method linear interpolation,
/// scaled).
///
/// Errors: [`StoreError::Time`] for dates at the edge of the representable range.
pub fn estimate(input: &EstimationInput<'_>, class: &CompiledClass) -> Result<EstimationOutcome, StoreError> {
    let l = class.interval_length_s;
    let brackets = Brackets::new(input.points, input.targets, input.registers);
    let mut outcome = EstimationOutcome::default();
    if !input.reading_type.is_cumulative() {
        for run in runs::runs(&brackets, l) {
            outcome.skipped.push(run.skipped(SkipReason::NotCumulative));
        }
        return Ok(outcome);
    }
    for (end, value) in brackets.register_targets() {
        let method = EstimationMethod::LinearInterpolation;
        let quality = QualityFlags::estimated(method.code(), true);
        outcome.estimates.push(Estimate { interval_end: ts(end), value, quality, method });
    }
    for run in runs::runs(&brackets, l) {
        if run.len_s(l) > input.max_gap_s.map_or(i64::MAX, i64::from) {
            outcome.skipped.push(run.skipped(SkipReason::TooLong));
            continue;
        }
        match estimate_run(&brackets, &run, class)? {
            Ok(mut estimates) => outcome.estimates.append(&mut estimates),
            Err(reason) => outcome.skipped.push(run.skipped(reason)),
        }
    }
    outcome.estimates.sort_by_key(|e| e.interval_end);
    Ok(outcome)
}

/// Estimates one run, or says why it cannot be.
fn estimate_run(
    brackets: &Brackets<'_>,
    run: &Run,
    class: &CompiledClass,
) -> Result<Result<Vec<Estimate>, SkipReason>, StoreError> {
    let l = class.interval_length_s;
    let Some(before) = brackets.known(run.start - l) else { return Ok(Err(SkipReason::NoValueBefore)) };
    let Some(after) = brackets.known(run.end + l) else { return Ok(Err(SkipReason::NoValueAfter)) };
    let advance = after - before;
    if advance < 0.0 {
        return Ok(Err(SkipReason::NegativeAdvance));
    }
    // The shape of the k + 1 intervals ending at run.start, ..., run.end, run.end + l.
    let like_day = if run.len_s(l) > i64::from(class.estimation.max_interpolation_s) {
        like_day::shape(brackets, run, class)?
    } else {
        None
    };
    let (method, shape) = match like_day {
        Some(shape) => (EstimationMethod::LikeDayAverage, shape),
        None => (EstimationMethod::LinearInterpolation, interpolation::shape(brackets, run, l)),
    };
    let total: f64 = shape.iter().sum();
    let flat = !(total > 0.0 && total.is_finite());
    let factor = if flat { 0.0 } else { advance / total };
    let scaled = flat || (factor - 1.0).abs() > 1e-9;
    let quality = QualityFlags::estimated(method.code(), scaled);
    let flat_share = advance / shape.len().max(1) as f64;
    let mut value = before;
    let mut out = Vec::with_capacity(shape.len());
    // The last share belongs to the interval ending at the bracket after: not estimated.
    for (j, c) in shape.iter().take(shape.len().saturating_sub(1)).enumerate() {
        value += if flat { flat_share } else { c * factor };
        out.push(Estimate { interval_end: ts(run.start + j as i64 * l), value, quality, method });
    }
    Ok(Ok(out))
}

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)
}
