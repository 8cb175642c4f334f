//! The analytics read from a [`MeterDataStore`]: thin wrappers that fetch the interval
//! series (latest versions, with open validation findings folded into the quality through
//! [`MeterDataStore::validated_interval_readings`], so suspect values do not count) and call
//! the pure functions.
//!
//! The topology (which meters a transformer or DMA holds) is an input: the caller names the
//! check meter and the customer meters, or the DMA's inlet, outlet and customer meters.

use jiff::SignedDuration;
use jiff::tz::TimeZone;
use model::{MeterId, ReadingType};

use super::energy_balance::{BalanceInput, EnergyBalance, MeterEnergySeries, energy_balance};
use super::error::{AnalyticsError, time_error};
use super::loss_rules::LossRules;
use super::night_flow::{MeterVolumeSeries, NightFlowInput, NightFlowReport, NightFlowSettings, minimum_night_flow};
use super::suspects::{LossAnalysis, analyze_losses};
use super::tamper::{TamperEvent, tamper_events_from_quality};
use super::water_balance::{WaterBalance, WaterBalanceInput, WaterBalanceSettings, water_balance};
use crate::MeterDataStore;
use crate::billing::BillingPeriod;
use crate::billing::series::IntervalValue;

/// A transformer's meters and the period to balance.
#[derive(Debug, Clone)]
pub struct TransformerRequest {
    /// Name of the transformer, reported as given.
    pub transformer: String,
    /// Its check meter.
    pub check_meter: MeterId,
    /// The meters of the customers it supplies.
    pub customer_meters: Vec<MeterId>,
    /// The local days.
    pub period: BillingPeriod,
    /// IANA time zone of the days.
    pub time_zone: TimeZone,
    /// Load-profile interval length, seconds (900).
    pub interval_length_s: i64,
    /// Balance net energy (A+ − A−) instead of A+ alone, for networks with customer
    /// generation.
    pub include_export: bool,
}

/// A DMA's meters and the period to analyse.
#[derive(Debug, Clone)]
pub struct DmaRequest {
    /// Name of the DMA, reported as given.
    pub dma: String,
    /// Meters measuring water into it.
    pub inlet_meters: Vec<MeterId>,
    /// Meters measuring water leaving it to a neighbouring DMA.
    pub outlet_meters: Vec<MeterId>,
    /// The customers' meters.
    pub customer_meters: Vec<MeterId>,
    /// The local days (one night per day).
    pub period: BillingPeriod,
    /// IANA time zone of the DMA.
    pub time_zone: TimeZone,
    /// Interval length of the volume profiles, seconds.
    pub interval_length_s: i64,
}

/// The energy balance of a transformer from the store's A+ (and, with `include_export`,
/// A−) interval values; see [`energy_balance`].
///
/// Errors: [`AnalyticsError::Store`] from the store, and those of [`energy_balance`].
pub fn transformer_energy_balance<S: MeterDataStore + ?Sized>(
    store: &S,
    request: &TransformerRequest,
) -> Result<EnergyBalance, AnalyticsError> {
    let (check, customers) = read_energy(store, request)?;
    energy_balance(&BalanceInput {
        transformer: &request.transformer,
        check: &check,
        customers: &customers,
        period: request.period,
        time_zone: &request.time_zone,
        interval_length_s: request.interval_length_s,
    })
}

/// Every loss rule on a transformer read from the store ([`analyze_losses`]). The tamper
/// events are `tamper_events` plus one per customer interval whose stored quality carries
/// [`QualityFlags::TAMPER`](model::QualityFlags::TAMPER).
///
/// Errors: as [`transformer_energy_balance`], and [`LossRules::check`].
pub fn transformer_loss_analysis<S: MeterDataStore + ?Sized>(
    store: &S,
    request: &TransformerRequest,
    tamper_events: &[TamperEvent],
    rules: &LossRules,
) -> Result<LossAnalysis, AnalyticsError> {
    rules.check()?;
    let (check, customers) = read_energy(store, request)?;
    let balance = energy_balance(&BalanceInput {
        transformer: &request.transformer,
        check: &check,
        customers: &customers,
        period: request.period,
        time_zone: &request.time_zone,
        interval_length_s: request.interval_length_s,
    })?;
    let mut events = tamper_events.to_vec();
    for c in &customers {
        events.extend(tamper_events_from_quality(&c.meter, &c.import));
    }
    events.sort();
    events.dedup();
    analyze_losses(balance, &events, rules)
}

/// The minimum night flow of a DMA from the store's water volume values
/// ([`ReadingType::WaterVolume`]); see [`minimum_night_flow`].
///
/// Errors: [`AnalyticsError::Store`], and those of [`minimum_night_flow`].
pub fn dma_night_flow<S: MeterDataStore + ?Sized>(
    store: &S,
    request: &DmaRequest,
    settings: &NightFlowSettings,
) -> Result<NightFlowReport, AnalyticsError> {
    let (inlets, outlets, customers) = read_volumes(store, request)?;
    minimum_night_flow(&NightFlowInput {
        dma: &request.dma,
        inlets: &inlets,
        outlets: &outlets,
        customers: &customers,
        nights: request.period,
        time_zone: &request.time_zone,
        interval_length_s: request.interval_length_s,
        settings,
    })
}

/// The water balance (non-revenue water) of a DMA from the store, with the night flow of
/// the same nights when `settings.night_day_factor_h` asks for a real-loss estimate; see
/// [`water_balance`].
///
/// Errors: [`AnalyticsError::Store`], and those of [`water_balance`] and
/// [`minimum_night_flow`].
pub fn dma_water_balance<S: MeterDataStore + ?Sized>(
    store: &S,
    request: &DmaRequest,
    settings: &WaterBalanceSettings,
    night: &NightFlowSettings,
) -> Result<WaterBalance, AnalyticsError> {
    let (inlets, outlets, customers) = read_volumes(store, request)?;
    let night_flow = match settings.night_day_factor_h {
        Some(_) => Some(minimum_night_flow(&NightFlowInput {
            dma: &request.dma,
            inlets: &inlets,
            outlets: &outlets,
            customers: &customers,
            nights: request.period,
            time_zone: &request.time_zone,
            interval_length_s: request.interval_length_s,
            settings: night,
        })?),
        None => None,
    };
    water_balance(&WaterBalanceInput {
        dma: &request.dma,
        inlets: &inlets,
        outlets: &outlets,
        customers: &customers,
        period: request.period,
        time_zone: &request.time_zone,
        settings,
        night_flow: night_flow.as_ref(),
    })
}

/// One channel over the period's `[start, end]` (the value at `start` is the opening one).
fn read_channel<S: MeterDataStore + ?Sized>(
    store: &S,
    meter: &MeterId,
    reading_type: ReadingType,
    period: &BillingPeriod,
    tz: &TimeZone,
) -> Result<Vec<IntervalValue>, AnalyticsError> {
    let (start, end) = period.utc_bounds(tz)?;
    // Store ranges are half-open: one second past the end includes the last interval end.
    let to = end.checked_add(SignedDuration::from_secs(1)).map_err(time_error("extending the period end"))?;
    Ok(store.validated_interval_readings(meter, reading_type, start, to)?.iter().map(IntervalValue::from).collect())
}

fn read_energy<S: MeterDataStore + ?Sized>(
    store: &S,
    request: &TransformerRequest,
) -> Result<(MeterEnergySeries, Vec<MeterEnergySeries>), AnalyticsError> {
    let read = |meter: &MeterId| -> Result<MeterEnergySeries, AnalyticsError> {
        let channel = |rt| read_channel(store, meter, rt, &request.period, &request.time_zone);
        Ok(MeterEnergySeries {
            meter: meter.clone(),
            import: channel(ReadingType::ActiveEnergyImport)?,
            export: if request.include_export { channel(ReadingType::ActiveEnergyExport)? } else { Vec::new() },
        })
    };
    let check = read(&request.check_meter)?;
    let customers = request.customer_meters.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    Ok((check, customers))
}

type Volumes = Vec<MeterVolumeSeries>;

fn read_volumes<S: MeterDataStore + ?Sized>(
    store: &S,
    request: &DmaRequest,
) -> Result<(Volumes, Volumes, Volumes), AnalyticsError> {
    let read = |meters: &[MeterId]| -> Result<Volumes, AnalyticsError> {
        meters
            .iter()
            .map(|m| {
                Ok(MeterVolumeSeries {
                    meter: m.clone(),
                    values: read_channel(store, m, ReadingType::WaterVolume, &request.period, &request.time_zone)?,
                })
            })
            .collect()
    };
    Ok((read(&request.inlet_meters)?, read(&request.outlet_meters)?, read(&request.customer_meters)?))
}
