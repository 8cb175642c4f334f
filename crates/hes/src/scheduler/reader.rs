//! The meter read behind every job, for any [`MeterType`]: one association reads
//!
//! 1. the Clock (0.0.1.0.0.255 attr 2) → the meter's time and its drift;
//! 2. the serial number (0.0.96.1.0.255), checked against the registry;
//! 3. the load profile's capture_objects and capture_period (when the profile is read);
//! 4. the requested registers' values and every needed scaler_unit in one GET with list;
//! 5. the load profile by range (selective access selector 1 on the clock column), from
//!    the last interval the MDMS holds to the meter's time, **in chunks** (one GET per
//!    chunk, default one day), each chunk delivered to the sink (and so committed)
//!    before the next is read: a meter unreachable for days is caught up completely,
//!    and a crash mid catch-up resumes from the last committed chunk.
//!
//! The billing registers of a daily billing job are read at most once per billing day:
//! when the sink already holds a register read at or after the job's billing instant
//! (the meter's local midnight), they are skipped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use dlms::Obis;
use dlms::data::Data;
use dlms::datetime::{ClockStatus, CosemDateTime};
use dlms::obis::codes;
use dlms::unit::ScalerUnit;
use dlms::xdlms::{CaptureObjectDefinition, CosemAttributeDescriptor, RangeDescriptor, SelectiveAccess};
use jiff::{SignedDuration, Timestamp};
use model::{MeterId, MeterReading, ReadingType, RegisterRead};
use thiserror::Error;

use super::job::{JobOutcome, ReadScope};
use super::sink::{ReadingSink, SinkError};
use crate::profile::{self, ProfileError};
use crate::registry_store::MeterType;
use crate::session::{DlmsSession, SessionError};

/// What to read in one association.
#[derive(Debug, Clone, Copy)]
pub struct ReadPlan {
    /// Registers, instantaneous values, profile.
    pub scope: ReadScope,
    /// Which OBIS lists apply.
    pub meter_type: MeterType,
    /// How far back to read a profile the MDMS holds nothing of.
    pub history: SignedDuration,
    /// Profile range per GET.
    pub chunk: SignedDuration,
    /// For a daily billing job: the meter's local midnight (UTC) of its billing day.
    pub billing_instant: Option<Timestamp>,
}

/// Why a read failed.
#[derive(Debug, Error)]
pub enum ReadError {
    /// Session-level failure.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The meter's clock is unusable.
    #[error("meter clock unusable: {0}")]
    Clock(String),
    /// The meter reports another serial number.
    #[error("serial number mismatch: registry has {expected}, meter reports {reported}")]
    SerialMismatch {
        /// The registry's serial.
        expected: String,
        /// The meter's.
        reported: String,
    },
    /// A value of the wrong shape.
    #[error("unexpected value for {what}: {detail}")]
    Value {
        /// What was read.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The profile could not be interpreted.
    #[error("load profile: {0}")]
    Profile(#[from] ProfileError),
    /// The sink failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl ReadError {
    /// True when a later retry may succeed: network errors, timeouts, a busy sink.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ReadError::Session(SessionError::Connect { .. } | SessionError::Timeout(..) | SessionError::Transport(_))
                | ReadError::Sink(_)
        )
    }
}

fn attr(class_id: u16, obis: Obis, attribute: i8) -> CosemAttributeDescriptor {
    CosemAttributeDescriptor::new(class_id, obis, attribute)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SinkError> + Send + 'static,
) -> Result<T, SinkError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| SinkError(format!("sink task failed: {e}")))?
}

fn floor_to(t: Timestamp, period_s: i64) -> Result<Timestamp, ReadError> {
    Timestamp::from_second(t.as_second().div_euclid(period_s) * period_s).map_err(|e| ReadError::Clock(e.to_string()))
}

/// Reads one meter over an open session per `plan`, delivering to `sink` (see the module
/// docs). The session is left open (the caller releases it).
///
/// # Errors
/// [`ReadError`]; readings delivered before the error stay delivered.
pub async fn read_meter(
    session: &mut DlmsSession,
    serial: &MeterId,
    plan: &ReadPlan,
    sink: &Arc<dyn ReadingSink>,
) -> Result<JobOutcome, ReadError> {
    let mut outcome = JobOutcome::default();
    let collected_at = Timestamp::now();
    let before = Timestamp::now();
    let clock = session.get(attr(8, codes::CLOCK, 2), None).await?;
    let after = Timestamp::now();
    let meter_clock =
        clock.as_date_time().ok_or_else(|| ReadError::Clock(format!("clock is not a date-time: {clock:?}")))?;
    let meter_now = meter_clock.to_utc().map_err(|e| ReadError::Clock(e.to_string()))?;
    let drift_ms = meter_now.duration_since(before + after.duration_since(before) / 2).as_millis() as i64;
    outcome.clock_drift_ms = Some(drift_ms);

    let reported = session.get(attr(1, codes::SERIAL_NUMBER, 2), None).await?;
    let reported = reported
        .as_bytes()
        .map(|b| String::from_utf8_lossy(b).trim_end_matches('\0').to_string())
        .ok_or_else(|| ReadError::Value { what: "serial number".into(), detail: format!("{reported:?}") })?;
    if reported != serial.0 {
        return Err(ReadError::SerialMismatch { expected: serial.0.clone(), reported });
    }

    // Which registers to read, and whether the day's billing read already happened.
    let mut billing: Vec<Obis> =
        if plan.scope.billing_registers { plan.meter_type.billing_registers().to_vec() } else { vec![] };
    if let (Some(instant), Some(first)) =
        (plan.billing_instant, billing.iter().find_map(|o| ReadingType::from_obis(*o.as_bytes())))
    {
        let (s, m) = (sink.clone(), serial.clone());
        if blocking(move || s.has_register_read(&m, first, instant)).await? {
            outcome.notes.push(format!("billing registers already read since {instant}: not read again"));
            billing.clear();
        }
    }
    let mut read_registers = billing;
    if plan.scope.instantaneous {
        read_registers.extend_from_slice(plan.meter_type.instantaneous_registers());
    }

    // The profile's columns, to know which scaler_units the layout needs.
    let lp = plan.meter_type.load_profile();
    let profile_meta = if plan.scope.load_profile {
        let columns = profile::parse_capture_objects(&session.get(attr(7, lp, 3), None).await?)?;
        let period = session.get(attr(7, lp, 4), None).await?;
        let period_s = period
            .as_integer()
            .and_then(|p| u32::try_from(p).ok())
            .filter(|p| *p > 0)
            .ok_or_else(|| ReadError::Value { what: "capture_period".into(), detail: format!("{period:?}") })?;
        Some((columns, period_s))
    } else {
        None
    };

    let mut descriptors = Vec::new();
    for o in &read_registers {
        descriptors.push(attr(3, *o, 2));
        descriptors.push(attr(3, *o, 3));
    }
    let listed: HashSet<Obis> = read_registers.iter().copied().collect();
    let profile_scalers: Vec<(u16, Obis)> = profile_meta
        .iter()
        .flat_map(|(cols, _)| cols.iter())
        .filter(|c| c.attribute == 2 && matches!(c.class_id, 3 | 4) && !listed.contains(&c.obis))
        .filter(|c| ReadingType::from_obis(*c.obis.as_bytes()).is_some())
        .map(|c| (c.class_id, c.obis))
        .collect();
    for (class_id, o) in &profile_scalers {
        descriptors.push(attr(*class_id, *o, 3));
    }
    let results = if descriptors.is_empty() { Vec::new() } else { session.get_many(&descriptors).await? };
    let mut scalers: HashMap<Obis, ScalerUnit> = HashMap::new();
    let mut registers = Vec::new();
    let (register_results, scaler_results) = results.split_at((read_registers.len() * 2).min(results.len()));
    for (o, pair) in read_registers.iter().zip(register_results.chunks(2)) {
        let [value, su] = pair else { continue };
        let (Ok(value), Ok(su)) = (value, su) else {
            outcome.notes.push(format!("{o}: refused by the meter"));
            continue;
        };
        let su = ScalerUnit::from_data(su)
            .map_err(|e| ReadError::Value { what: format!("{o} scaler_unit"), detail: e.to_string() })?;
        scalers.insert(*o, su);
        let v = su
            .apply(value)
            .ok_or_else(|| ReadError::Value { what: format!("{o} value"), detail: format!("{value:?}") })?;
        match ReadingType::from_obis(*o.as_bytes()) {
            Some(t) => registers.push(RegisterRead { reading_type: t, read_at: meter_now, value: v }),
            None => outcome.unstored_values.push((o.to_string(), v, su.unit.symbol().unwrap_or("?").to_string())),
        }
    }
    for ((_, o), su) in profile_scalers.iter().zip(scaler_results) {
        if let Ok(su) = su {
            if let Ok(su) = ScalerUnit::from_data(su) {
                scalers.insert(*o, su);
            }
        }
    }

    let mut registers = Some(registers);
    let reading = |registers: Vec<RegisterRead>, intervals, interval_length_s| MeterReading {
        meter: serial.clone(),
        collected_at,
        clock_drift_ms: Some(drift_ms),
        interval_length_s,
        registers,
        intervals,
    };
    let mut interval_length_s = 900;
    if let Some((columns, period_s)) = profile_meta {
        interval_length_s = period_s;
        let layout = profile::layout(&columns, &scalers)?;
        match layout.channels.first().map(|c| c.1) {
            None => outcome.notes.push(format!("{lp}: no channel the MDMS stores; profile not read")),
            Some(channel) => {
                let (s, m) = (sink.clone(), serial.clone());
                let since = blocking(move || s.last_interval_end(&m, channel)).await?;
                let mut cursor = match since {
                    Some(t) => t,
                    None => floor_to(meter_now, i64::from(period_s))?
                        .checked_sub(plan.history)
                        .map_err(|e| ReadError::Clock(e.to_string()))?,
                };
                let deviation = meter_clock.deviation_minutes();
                let bound = |t: Timestamp| {
                    CosemDateTime::from_utc(t, deviation, ClockStatus::NOT_SPECIFIED)
                        .map(|d| Data::OctetString(d.to_octets()))
                        .map_err(|e| ReadError::Clock(e.to_string()))
                };
                let chunk = if plan.chunk.is_positive() { plan.chunk } else { SignedDuration::from_hours(24) };
                while cursor < meter_now {
                    let to = cursor.checked_add(chunk).map_or(meter_now, |t| t.min(meter_now));
                    let range = SelectiveAccess::Range(RangeDescriptor {
                        restricting_object: CaptureObjectDefinition {
                            class_id: 8,
                            logical_name: codes::CLOCK,
                            attribute_index: 2,
                            data_index: 0,
                        },
                        from_value: bound(cursor + SignedDuration::from_secs(1))?,
                        to_value: bound(to)?,
                        selected_values: vec![],
                    });
                    let buffer = session.get(attr(7, lp, 2), Some(range)).await?;
                    let intervals = profile::intervals_from_buffer(&buffer, &layout, period_s, Some(cursor))?;
                    outcome.chunks += 1;
                    let ends: HashSet<Timestamp> = intervals.iter().map(|i| i.interval_end).collect();
                    let regs = if intervals.is_empty() { Vec::new() } else { registers.take().unwrap_or_default() };
                    if !intervals.is_empty() {
                        outcome.intervals += ends.len() as u64;
                        outcome.interval_values += intervals.len() as u64;
                        outcome.registers += regs.len() as u64;
                        let first = ends.iter().min().copied();
                        let last = ends.iter().max().copied();
                        outcome.first_interval = outcome.first_interval.or(first);
                        outcome.last_interval = last.or(outcome.last_interval);
                        let r = reading(regs, intervals, period_s);
                        let s = sink.clone();
                        blocking(move || s.deliver(&r)).await?;
                    }
                    cursor = to;
                }
            }
        }
    }
    if let Some(regs) = registers.take().filter(|r| !r.is_empty()) {
        outcome.registers += regs.len() as u64;
        let r = reading(regs, Vec::new(), interval_length_s);
        let s = sink.clone();
        blocking(move || s.deliver(&r)).await?;
    }
    Ok(outcome)
}
