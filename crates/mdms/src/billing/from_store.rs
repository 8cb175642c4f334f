//! Billing determinants read from a [`MeterDataStore`]: the thin wrapper around the pure
//! computation in [`super::determinants`].

use jiff::SignedDuration;
use model::{MeterId, ReadingType};

use super::determinants::{BillingDeterminants, determinants_from_series};
use super::error::{BillingError, time_error};
use super::period::BillingPeriod;
use super::series::{ChannelSeries, IntervalValue};
use super::tou::TouSchedule;
use crate::MeterDataStore;

/// Load-profile interval length the store's energy channels are billed at, seconds (the
/// 15-minute profile, IEC 61968-9 measuringPeriod 2 of the stored reading types).
pub const BILLING_INTERVAL_S: i64 = 900;

/// Computes the billing determinants of `meter` for `period` under `schedule` from the
/// latest versions of its A+, A−, R+ and R− interval values in `store` (15-minute
/// intervals, [`BILLING_INTERVAL_S`]); see [`determinants_from_series`] for the rules.
///
/// Values are read with their validation results folded into the quality
/// ([`MeterDataStore::validated_interval_readings`]): a value with open VEE findings is
/// [`model::QualityFlags::SUSPECT`], so its period is not bill-ready until the exception
/// is estimated, edited or accepted.
///
/// Reads each channel over `[start, end]` of the period (the value at `start` is the
/// opening read). An unknown meter yields a not-bill-ready result with every A+ value
/// missing, not an error.
///
/// Errors: [`BillingError::Store`] from the store, and those of
/// [`determinants_from_series`].
pub fn compute_billing_determinants<S: MeterDataStore + ?Sized>(
    store: &S,
    meter: &MeterId,
    period: &BillingPeriod,
    schedule: &TouSchedule,
) -> Result<BillingDeterminants, BillingError> {
    let (start, end) = period.utc_bounds(schedule.time_zone())?;
    // Store ranges are half-open: one second past the end includes the last interval end.
    let to = end.checked_add(SignedDuration::from_secs(1)).map_err(time_error("extending the period end"))?;
    let read = |reading_type| -> Result<Vec<IntervalValue>, BillingError> {
        Ok(store.validated_interval_readings(meter, reading_type, start, to)?.iter().map(IntervalValue::from).collect())
    };
    let series = ChannelSeries {
        active_import: read(ReadingType::ActiveEnergyImport)?,
        active_export: read(ReadingType::ActiveEnergyExport)?,
        reactive_import: read(ReadingType::ReactiveEnergyImport)?,
        reactive_export: read(ReadingType::ReactiveEnergyExport)?,
    };
    determinants_from_series(meter, period, schedule, BILLING_INTERVAL_S, &series)
}
