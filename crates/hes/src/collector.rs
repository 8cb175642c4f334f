//! One meter's collection session (what an HES "meter read" job does):
//!
//! 1. open the association (AARQ/AARE);
//! 2. in one GET with list when the meter negotiated multiple references (else one GET
//!    each): the Clock (0.0.1.0.0.255 attr 2), the serial number (0.0.96.1.0.255), the
//!    energy and instantaneous registers with their scaler_unit, and load profile 1's
//!    capture objects and capture period; the meter's drift against the HES clock is its
//!    time minus the midpoint of that round trip; the serial is checked against the
//!    registry;
//! 3. read load profile 1 (1.0.99.1.0.255) buffer by range (selective access selector 1
//!    on the clock) from the last stored interval to the meter's current time, in one
//!    GET; block transfer handles large answers;
//! 4. release (RLRQ/RLRE).
//!
//! Round trips: AARQ, reply_to_HLS_authentication (with HLS only), the list, the profile,
//! RLRQ: four, or five with HLS, whatever the number of registers.

use std::collections::HashMap;

use dlms::Obis;
use dlms::data::Data;
use dlms::datetime::{ClockStatus, CosemDateTime};
use dlms::obis::codes;
use dlms::unit::ScalerUnit;
use dlms::xdlms::{
    CaptureObjectDefinition, CosemAttributeDescriptor, DataAccessResult, RangeDescriptor, SelectiveAccess,
};
use jiff::{SignedDuration, Timestamp};
use model::{MeterId, MeterReading, ReadingType, RegisterRead};
use thiserror::Error;

use crate::profile::{self, ProfileError};
use crate::registry::MeterEndpoint;
use crate::session::{DlmsSession, SessionError, SessionTimeouts};

/// The registers read on every collection, as (OBIS, interface class). Energy registers
/// are class 3 Register; the instantaneous values too.
pub const REGISTERS: [ReadingType; 9] = ReadingType::ELECTRICITY;

/// What to collect from one meter.
#[derive(Debug, Clone, Copy)]
pub struct CollectionPlan {
    /// The last interval end already stored for this meter (UTC): the profile is read
    /// from just after it. `None`: read `history` back from the meter's current time.
    pub since: Option<Timestamp>,
    /// How far back to read when nothing is stored yet.
    pub history: SignedDuration,
    /// Read the registers (billing and instantaneous values).
    pub registers: bool,
    /// Read the load profile.
    pub load_profile: bool,
}

/// Why a meter could not be collected.
#[derive(Debug, Error)]
pub enum CollectError {
    /// Session-level failure (connect, timeout, protocol, refused GET).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The meter's clock is not a valid, fully specified date-time.
    #[error("meter clock unusable: {0}")]
    Clock(String),
    /// The serial number the meter reports differs from the registry's.
    #[error("serial number mismatch: registry has {expected}, meter reports {reported}")]
    SerialMismatch {
        /// The registry's serial.
        expected: MeterId,
        /// What the meter reported.
        reported: String,
    },
    /// The meter answered with a value of the wrong shape.
    #[error("unexpected value for {what}: {detail}")]
    Value {
        /// What was read.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The load profile could not be interpreted.
    #[error("load profile: {0}")]
    Profile(#[from] ProfileError),
}

impl CollectError {
    /// True when retrying later may succeed (network and timeouts), false for errors
    /// that will repeat (wrong serial, malformed data, refused association).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CollectError::Session(
                SessionError::Connect { .. } | SessionError::Timeout(..) | SessionError::Transport(_)
            )
        )
    }
}

fn attr(class_id: u16, obis: Obis, attribute: i8) -> CosemAttributeDescriptor {
    CosemAttributeDescriptor::new(class_id, obis, attribute)
}

/// The meter's clock as read: (meter time as read, meter time UTC, drift ms against the
/// midpoint of the round trip from `before` to `after`).
fn clock_reading(
    clock: &Data,
    before: Timestamp,
    after: Timestamp,
) -> Result<(CosemDateTime, Timestamp, i64), CollectError> {
    let dt =
        clock.as_date_time().ok_or_else(|| CollectError::Clock(format!("clock time is not a date-time: {clock:?}")))?;
    let meter_now = dt.to_utc().map_err(|e| CollectError::Clock(e.to_string()))?;
    let midpoint = before + (after.duration_since(before) / 2);
    let drift_ms = meter_now.duration_since(midpoint).as_millis() as i64;
    Ok((dt, meter_now, drift_ms))
}

/// The value of an attribute read in a list, or the meter's refusal as the error a single
/// GET of it would have given.
fn required<'a>(
    result: Option<&'a Result<Data, DataAccessResult>>,
    attribute: &CosemAttributeDescriptor,
) -> Result<&'a Data, CollectError> {
    match result {
        Some(Ok(d)) => Ok(d),
        Some(Err(r)) => Err(CollectError::Session(SessionError::GetRefused {
            class_id: attribute.class_id,
            obis: attribute.instance_id,
            attribute: attribute.attribute_id,
            result: *r,
        })),
        None => Err(CollectError::Session(SessionError::UnexpectedEvent("get-response-with-list without this result"))),
    }
}

fn text_of(d: &Data) -> Option<String> {
    d.as_bytes().map(|b| String::from_utf8_lossy(b).trim_end_matches('\0').to_string())
}

/// Collects one meter (see the module docs).
///
/// # Errors
/// [`CollectError`]; the association is abandoned (connection dropped) on error.
pub async fn collect_meter(
    endpoint: &MeterEndpoint,
    plan: &CollectionPlan,
    timeouts: SessionTimeouts,
) -> Result<MeterReading, CollectError> {
    let mut session = DlmsSession::open(endpoint, timeouts).await?;
    let collected_at = Timestamp::now();

    // Clock, serial, every register's value and scaler_unit and the profile's layout in
    // one round trip where possible.
    let lp = codes::LOAD_PROFILE_1;
    let clock_attr = attr(8, codes::CLOCK, 2);
    let serial_attr = attr(1, codes::SERIAL_NUMBER, 2);
    let (capture_objects_attr, capture_period_attr) = (attr(7, lp, 3), attr(7, lp, 4));
    let mut descriptors = Vec::with_capacity(4 + REGISTERS.len() * 2);
    descriptors.push(clock_attr);
    descriptors.push(serial_attr);
    for t in REGISTERS {
        let obis = Obis(t.obis());
        descriptors.push(attr(3, obis, 2));
        descriptors.push(attr(3, obis, 3));
    }
    if plan.load_profile {
        descriptors.push(capture_objects_attr);
        descriptors.push(capture_period_attr);
    }
    let before = Timestamp::now();
    let results = session.get_many(&descriptors).await?;
    let after = Timestamp::now();
    let (meter_clock, meter_now, drift_ms) = clock_reading(required(results.first(), &clock_attr)?, before, after)?;

    let serial_data = required(results.get(1), &serial_attr)?;
    let serial = text_of(serial_data)
        .ok_or_else(|| CollectError::Value { what: "serial number".into(), detail: format!("{serial_data:?}") })?;
    if serial != endpoint.serial.0 {
        return Err(CollectError::SerialMismatch { expected: endpoint.serial.clone(), reported: serial });
    }

    let register_results = results.get(2..2 + REGISTERS.len() * 2).unwrap_or_default();
    let mut scalers: HashMap<Obis, ScalerUnit> = HashMap::new();
    let mut registers = Vec::new();
    for (t, pair) in REGISTERS.iter().zip(register_results.chunks(2)) {
        let [value, su] = pair else { continue };
        let (Ok(value), Ok(su)) = (value, su) else { continue };
        let su = ScalerUnit::from_data(su).map_err(|e| CollectError::Value {
            what: format!("{} scaler_unit", Obis(t.obis())),
            detail: e.to_string(),
        })?;
        scalers.insert(Obis(t.obis()), su);
        if plan.registers {
            let v = su.apply(value).ok_or_else(|| CollectError::Value {
                what: format!("{} value", Obis(t.obis())),
                detail: format!("{value:?}"),
            })?;
            registers.push(RegisterRead { reading_type: *t, read_at: meter_now, value: v });
        }
    }

    let mut intervals = Vec::new();
    let mut interval_length_s = 900;
    if plan.load_profile {
        let layout_at = 2 + REGISTERS.len() * 2;
        let capture_objects = required(results.get(layout_at), &capture_objects_attr)?;
        let columns = profile::parse_capture_objects(capture_objects)?;
        let period = required(results.get(layout_at + 1), &capture_period_attr)?;
        interval_length_s = period
            .as_integer()
            .and_then(|p| u32::try_from(p).ok())
            .filter(|p| *p > 0)
            .ok_or_else(|| CollectError::Value { what: "capture_period".into(), detail: format!("{period:?}") })?;
        let layout = profile::layout(&columns, &scalers)?;
        let from = match plan.since {
            Some(s) => s,
            None => {
                let p = interval_length_s as i64;
                let floor = meter_now.as_second().div_euclid(p) * p;
                Timestamp::from_second(floor)
                    .map_err(|e| CollectError::Clock(e.to_string()))?
                    .checked_sub(plan.history)
                    .map_err(|e| CollectError::Clock(e.to_string()))?
            }
        };
        // Range bounds in the meter's own deviation (as its clock reports it), so a
        // meter comparing local times finds the same instants.
        let deviation = meter_clock.deviation_minutes();
        let bound = |t: Timestamp| {
            CosemDateTime::from_utc(t, deviation, ClockStatus::NOT_SPECIFIED)
                .map(|d| Data::OctetString(d.to_octets()))
                .map_err(|e| CollectError::Clock(e.to_string()))
        };
        let range = SelectiveAccess::Range(RangeDescriptor {
            restricting_object: CaptureObjectDefinition {
                class_id: 8,
                logical_name: codes::CLOCK,
                attribute_index: 2,
                data_index: 0,
            },
            from_value: bound(from + SignedDuration::from_secs(1))?,
            to_value: bound(meter_now)?,
            selected_values: vec![],
        });
        let buffer = session.get(attr(7, lp, 2), Some(range)).await?;
        intervals = profile::intervals_from_buffer(&buffer, &layout, interval_length_s, Some(from))?;
    }
    session.release().await?;
    Ok(MeterReading {
        meter: endpoint.serial.clone(),
        collected_at,
        clock_drift_ms: Some(drift_ms),
        interval_length_s,
        registers,
        intervals,
    })
}
