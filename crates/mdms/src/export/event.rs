//! End device events in the shape the IEC 61968-9 `EndDeviceEvents` message carries them
//! ([`EndDeviceEvent`], written by [`write_end_device_events`](super::cim::write_end_device_events)),
//! and their conversion from the domain event [`model::EndDeviceEvent`] that the HES
//! delivers and the event store keeps.
//!
//! The `EndDeviceEventType` code itself lives in the `model` crate and is re-exported here.

use jiff::Timestamp;
use model::MeterId;
use serde::{Deserialize, Serialize};

pub use model::{BadEndDeviceEventType, EndDeviceEventType};

/// Detail name of the delivery path (`model::EndDeviceEvent::source`).
pub const DETAIL_SOURCE: &str = "source";
/// Detail name of the HES receive time (RFC 3339, UTC).
pub const DETAIL_RECEIVED: &str = "receivedDateTime";
/// Detail name of the meter's DLMS event code (decimal).
pub const DETAIL_DLMS_EVENT_CODE: &str = "dlmsEventCode";
/// Detail name of the alarm register bits (hexadecimal, `0x` and 8 digits).
pub const DETAIL_ALARM_BITS: &str = "alarmBits";

/// One event as an IEC 61968-9 `EndDeviceEvent` message element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndDeviceEvent {
    /// Identifier of this event record (CIM `mRID`), if the source gave one.
    pub mrid: Option<String>,
    /// The meter that raised the event (exported as `Assets/mRID`).
    pub meter: MeterId,
    /// When the event occurred (meter time converted to UTC): `createdDateTime`.
    pub created_at: Timestamp,
    /// What happened.
    pub event_type: EndDeviceEventType,
    /// Free-text reason, e.g. the meter's own event description.
    pub reason: Option<String>,
    /// Severity level, free text (e.g. "alarm", "info").
    pub severity: Option<String>,
    /// Name/value details (`EndDeviceEventDetails`), e.g. ("dlmsEventCode", "1").
    pub details: Vec<(String, String)>,
}

impl From<&model::EndDeviceEvent> for EndDeviceEvent {
    /// The message form of a domain event: `createdDateTime` is `occurred_at`; `reason` is
    /// the code's English name when it is one of the named codes; the details carry, in
    /// this order, [`DETAIL_SOURCE`], [`DETAIL_RECEIVED`], [`DETAIL_DLMS_EVENT_CODE`] and
    /// [`DETAIL_ALARM_BITS`] (when present), then the event's own details in name order.
    /// No `mRID` (the domain event has none; its key is meter, type, time and source).
    fn from(event: &model::EndDeviceEvent) -> Self {
        let mut details = vec![
            (DETAIL_SOURCE.to_string(), event.source.clone()),
            (DETAIL_RECEIVED.to_string(), event.received_at.to_string()),
        ];
        if let Some(code) = event.dlms_event_code {
            details.push((DETAIL_DLMS_EVENT_CODE.to_string(), code.to_string()));
        }
        if let Some(bits) = event.alarm_bits {
            details.push((DETAIL_ALARM_BITS.to_string(), format!("{bits:#010x}")));
        }
        details.extend(event.details.iter().map(|(k, v)| (k.clone(), v.clone())));
        EndDeviceEvent {
            mrid: None,
            meter: event.meter.clone(),
            created_at: event.occurred_at,
            event_type: event.event_type,
            reason: event.event_type.name().map(str::to_string),
            severity: None,
            details,
        }
    }
}

impl From<model::EndDeviceEvent> for EndDeviceEvent {
    /// As `From<&model::EndDeviceEvent>`.
    fn from(event: model::EndDeviceEvent) -> Self {
        EndDeviceEvent::from(&event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_events_convert_with_their_details() {
        let mut event = model::EndDeviceEvent::new(
            MeterId::from("M7"),
            EndDeviceEventType::POWER_DOWN,
            "2025-03-01T10:00:00Z".parse().unwrap(),
            "2025-03-01T10:00:03Z".parse().unwrap(),
            model::EndDeviceEvent::SOURCE_PUSH,
        );
        event.dlms_event_code = Some(1);
        event.alarm_bits = Some(0x0000_0100);
        event.details.insert("phase".into(), "L1".into());
        let cim = EndDeviceEvent::from(&event);
        assert_eq!(cim.created_at, event.occurred_at);
        assert_eq!(cim.reason.as_deref(), Some("power down"));
        let pairs: Vec<(&str, &str)> = cim.details.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("source", "push"),
                ("receivedDateTime", "2025-03-01T10:00:03Z"),
                ("dlmsEventCode", "1"),
                ("alarmBits", "0x00000100"),
                ("phase", "L1"),
            ]
        );
    }
}
