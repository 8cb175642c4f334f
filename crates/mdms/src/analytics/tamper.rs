//! Tamper events as the loss analytics see them: which meter, when, and what.

use jiff::Timestamp;
use model::{EndDeviceEvent, EndDeviceEventType, MeterId, QualityFlags};
use serde::Serialize;

use crate::billing::series::IntervalValue;

/// One tamper indication on a meter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TamperEvent {
    /// The meter.
    pub meter: MeterId,
    /// When it happened (the meter's event time, or the end of the interval the meter
    /// marked), UTC.
    pub at: Timestamp,
    /// What it was: an IEC 61968-9 EndDeviceEventType code (e.g. "3.12.29.39" cover
    /// opened), or `"interval_status_tamper"` for an interval whose status carried
    /// [`QualityFlags::TAMPER`].
    pub kind: String,
}

/// Quality-flag-derived events carry this kind.
pub const INTERVAL_STATUS_TAMPER: &str = "interval_status_tamper";

impl TamperEvent {
    /// A tamper event of `meter` at `at` of kind `kind`.
    pub fn new(meter: MeterId, at: Timestamp, kind: impl Into<String>) -> TamperEvent {
        TamperEvent { meter, at, kind: kind.into() }
    }
}

impl From<(MeterId, Timestamp)> for TamperEvent {
    /// A tamper event of unspecified kind ([`EndDeviceEventType::TAMPER_DETECTED`]).
    fn from((meter, at): (MeterId, Timestamp)) -> Self {
        TamperEvent { meter, at, kind: EndDeviceEventType::TAMPER_DETECTED.to_string() }
    }
}

/// True for the EndDeviceEventType codes that report tampering (IEC 61968-9 Annex E,
/// domain 12 Security): any "tamper detected" (event 257, e.g. magnetic tamper) and "cover
/// opened" (sub-domain 29 Cover, event 39), for any device type.
pub fn is_tamper(event_type: EndDeviceEventType) -> bool {
    event_type.domain == 12
        && (event_type.event_or_action == 257 || (event_type.sub_domain == 29 && event_type.event_or_action == 39))
}

/// The tamper events among `events` ([`is_tamper`]), at their `occurred_at`.
pub fn tamper_events_from(events: &[EndDeviceEvent]) -> Vec<TamperEvent> {
    events
        .iter()
        .filter(|e| is_tamper(e.event_type))
        .map(|e| TamperEvent { meter: e.meter.clone(), at: e.occurred_at, kind: e.event_type.to_string() })
        .collect()
}

/// One event per interval of `values` whose quality carries [`QualityFlags::TAMPER`] (the
/// meter's event log marked the interval), at the interval end.
pub fn tamper_events_from_quality(meter: &MeterId, values: &[IntervalValue]) -> Vec<TamperEvent> {
    values
        .iter()
        .filter(|v| v.quality.contains(QualityFlags::TAMPER))
        .map(|v| TamperEvent { meter: meter.clone(), at: v.interval_end, kind: INTERVAL_STATUS_TAMPER.to_string() })
        .collect()
}
