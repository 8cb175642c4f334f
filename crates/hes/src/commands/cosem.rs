//! The COSEM objects the commands use (IEC 62056-6-2 class ids and logical names) and small
//! typed helpers around [`DlmsSession`] GET/SET/ACTION that turn refusals into
//! [`CommandError`]s.

use dlms::Obis;
use dlms::data::Data;
use dlms::datetime::{ClockStatus, CosemDateTime};
use dlms::obis::codes;
use dlms::xdlms::{CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult};
use jiff::Timestamp;

use super::error::CommandError;
use crate::session::DlmsSession;

/// Clock (class 8) 0.0.1.0.0.255.
pub const CLOCK: (u16, Obis) = (8, codes::CLOCK);
/// Disconnect control (class 70) 0.0.96.3.10.255.
pub const DISCONNECT_CONTROL: (u16, Obis) = (70, codes::DISCONNECT_CONTROL);
/// Activity calendar (class 20) 0.0.13.0.0.255.
pub const ACTIVITY_CALENDAR: (u16, Obis) = (20, Obis::new(0, 0, 13, 0, 0, 255));
/// Tariffication script table (class 9) 0.0.10.0.100.255: script 1 = T1, 2 = T2.
pub const TARIFFICATION_SCRIPT_TABLE: Obis = Obis::new(0, 0, 10, 0, 100, 255);
/// Disconnect control script table (class 9) 0.0.10.0.106.255: script 1 disconnect, 2
/// reconnect.
pub const DISCONNECT_SCRIPT_TABLE: Obis = Obis::new(0, 0, 10, 0, 106, 255);
/// Limiter (class 71) 0.0.17.0.0.255.
pub const LIMITER: (u16, Obis) = (71, Obis::new(0, 0, 17, 0, 0, 255));
/// Image transfer (class 18) 0.0.44.0.0.255.
pub const IMAGE_TRANSFER: (u16, Obis) = (18, Obis::new(0, 0, 44, 0, 0, 255));
/// Active firmware identifier (Data, class 1) 1.0.0.2.0.255.
pub const ACTIVE_FIRMWARE_IDENTIFIER: (u16, Obis) = (1, Obis::new(1, 0, 0, 2, 0, 255));

/// Reads attribute `attribute` of object `(class, ln)`.
///
/// # Errors
/// [`CommandError::Session`] (including a refused GET).
pub async fn get(s: &mut DlmsSession, object: (u16, Obis), attribute: i8) -> Result<Data, CommandError> {
    Ok(s.get(CosemAttributeDescriptor::new(object.0, object.1, attribute), None).await?)
}

/// Writes attribute `attribute` of object `(class, ln)`; `what` names it in errors.
///
/// # Errors
/// [`CommandError::SetRefused`] unless the meter answers success; session errors.
pub async fn set(
    s: &mut DlmsSession,
    object: (u16, Obis),
    attribute: i8,
    value: Data,
    what: &'static str,
) -> Result<(), CommandError> {
    match s.set(CosemAttributeDescriptor::new(object.0, object.1, attribute), value).await? {
        DataAccessResult::Success => Ok(()),
        result => Err(CommandError::SetRefused { what, result }),
    }
}

/// Invokes method `method` of object `(class, ln)`; `what` names it in errors.
///
/// # Errors
/// [`CommandError::ActionRefused`] unless the meter answers success; session errors.
pub async fn act(
    s: &mut DlmsSession,
    object: (u16, Obis),
    method: i8,
    parameters: Option<Data>,
    what: &'static str,
) -> Result<Option<Data>, CommandError> {
    s.action(CosemMethodDescriptor::new(object.0, object.1, method), parameters)
        .await?
        .map_err(|result| CommandError::ActionRefused { what, result })
}

/// The value as u32 (unsigned integer types), else [`CommandError::Value`].
///
/// # Errors
/// [`CommandError::Value`].
pub fn as_u32(d: &Data, what: &'static str) -> Result<u32, CommandError> {
    d.as_integer()
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| CommandError::Value { what, detail: format!("{d:?}") })
}

/// The enum value, else [`CommandError::Value`].
///
/// # Errors
/// [`CommandError::Value`].
pub fn as_enum(d: &Data, what: &'static str) -> Result<u8, CommandError> {
    match d {
        Data::Enum(v) => Ok(*v),
        other => Err(CommandError::Value { what, detail: format!("{other:?}") }),
    }
}

/// A date-time value (octet-string(12) or date-time) and the instant it names.
///
/// # Errors
/// [`CommandError::Value`] when it is not a date-time of one concrete instant.
pub fn as_instant(d: &Data, what: &'static str) -> Result<(CosemDateTime, Timestamp), CommandError> {
    let dt = d.as_date_time().ok_or_else(|| CommandError::Value { what, detail: format!("{d:?}") })?;
    let t = dt.to_utc().map_err(|e| CommandError::Value { what, detail: format!("{dt}: {e}") })?;
    Ok((dt, t))
}

/// The date-time octet-string of instant `t` as a device at `deviation` minutes from UTC
/// (the meter's, from its clock) shows it; clock status OK.
///
/// # Errors
/// [`CommandError::Invalid`] for an unrepresentable instant or deviation.
pub fn date_time(t: Timestamp, deviation: Option<i16>) -> Result<Data, CommandError> {
    CosemDateTime::from_utc(t, deviation, ClockStatus::OK)
        .map(|dt| Data::OctetString(dt.to_octets()))
        .map_err(|e| CommandError::Invalid(format!("date-time {t}: {e}")))
}

/// Reads the meter's clock and returns its deviation (minutes, IEC 62056-6-2 §4.1.6.1),
/// `None` when the meter leaves it unspecified.
///
/// # Errors
/// Session errors, [`CommandError::Value`] for a clock that is not a date-time.
pub async fn meter_deviation(s: &mut DlmsSession) -> Result<Option<i16>, CommandError> {
    let clock = get(s, CLOCK, 2).await?;
    let dt = clock.as_date_time().ok_or_else(|| CommandError::Value { what: "clock", detail: format!("{clock:?}") })?;
    Ok(dt.deviation_minutes())
}
