//! One decoded push → the `EndDeviceEvent`s it reports.
//!
//! Alarm pushes recognised:
//! * a data-notification whose first element is the alarm Push setup's logical name
//!   0.4.25.9.0.255 (IDIS alarm layout: push setup name, COSEM logical device name, Alarm
//!   register 1, optionally Alarm descriptor 1): the alarms are the descriptor's bits, or,
//!   without a descriptor, the register's new bits ([`AlarmTracker`]);
//! * an event-notification of attribute 2 of Alarm descriptor 1 (0.0.97.98.20.255: its
//!   bits) or of Alarm register 1 (0.0.97.98.0.255: its new bits).
//!
//! Each alarm bit with an event type ([`AlarmBitMap`]) becomes one event of the meter the
//! push identifies (system title of a ciphered push, else the logical device name in the
//! body), at the push's date-time converted to UTC (the receipt time when the push has
//! none), source `push`, with the alarm bits that raised it.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use dlms::Obis;
use dlms::data::Data;
use jiff::Timestamp;
use model::{EndDeviceEvent, MeterId};
use thiserror::Error;

use crate::push_intake::alarm_map::AlarmBitMap;
use crate::push_intake::tracker::AlarmTracker;
use crate::push_listener::{PushContent, PushMessage};

/// Alarm register 1, 0.0.97.98.0.255.
pub const ALARM_REGISTER_1: Obis = Obis::new(0, 0, 97, 98, 0, 255);
/// Alarm descriptor 1, 0.0.97.98.20.255.
pub const ALARM_DESCRIPTOR_1: Obis = Obis::new(0, 0, 97, 98, 20, 255);
/// The alarm Push setup, 0.4.25.9.0.255.
pub const ALARM_PUSH_SETUP: Obis = Obis::new(0, 4, 25, 9, 0, 255);
/// Interface class Data.
const CLASS_DATA: u16 = 1;

/// Why a push yields no events.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MapError {
    /// Nothing in the push names the meter (an unciphered event-notification, or a body
    /// without the logical device name).
    #[error("push from {0} does not identify its meter")]
    Unidentified(SocketAddr),
    /// The push is not an alarm push (e.g. a periodic data push).
    #[error("not an alarm push")]
    NotAnAlarm,
    /// The alarm value is not a double-long-unsigned.
    #[error("alarm value {0} is not a double-long-unsigned")]
    BadAlarmValue(String),
}

/// The alarms one push carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushedAlarms {
    /// Alarm register 1 as pushed, if it was.
    pub register: Option<u32>,
    /// Alarm descriptor 1 as pushed, if it was.
    pub descriptor: Option<u32>,
    /// The alarms this push reports as new.
    pub new_bits: u32,
}

/// Turns pushes into events (keeps the [`AlarmTracker`] for register-only pushes).
#[derive(Debug, Clone, Default)]
pub struct PushEventMapper {
    bits: AlarmBitMap,
    tracker: AlarmTracker,
}

fn u32_value(d: &Data) -> Result<u32, MapError> {
    match d {
        Data::DoubleLongUnsigned(v) => Ok(*v),
        other => Err(MapError::BadAlarmValue(format!("{other:?}"))),
    }
}

impl PushEventMapper {
    /// A mapper with the bit assignment `bits`.
    pub fn new(bits: AlarmBitMap) -> Self {
        PushEventMapper { bits, tracker: AlarmTracker::new() }
    }

    /// The alarms of `message` (see the module docs).
    ///
    /// # Errors
    /// [`MapError::Unidentified`], [`MapError::NotAnAlarm`], [`MapError::BadAlarmValue`].
    pub fn alarms(&mut self, message: &PushMessage) -> Result<(MeterId, PushedAlarms), MapError> {
        let (register, descriptor) = match &message.content {
            PushContent::Data { push_setup: Some(ln), values, .. } if *ln == ALARM_PUSH_SETUP => {
                let register = values.get(2).map(u32_value).transpose()?;
                let descriptor = values.get(3).map(u32_value).transpose()?;
                if register.is_none() {
                    return Err(MapError::NotAnAlarm);
                }
                (register, descriptor)
            }
            PushContent::Event { attribute, value }
                if attribute.class_id == CLASS_DATA && attribute.attribute_id == 2 =>
            {
                match attribute.instance_id {
                    ALARM_DESCRIPTOR_1 => (None, Some(u32_value(value)?)),
                    ALARM_REGISTER_1 => (Some(u32_value(value)?), None),
                    _ => return Err(MapError::NotAnAlarm),
                }
            }
            _ => return Err(MapError::NotAnAlarm),
        };
        let meter = message.serial().cloned().ok_or(MapError::Unidentified(message.source.peer))?;
        let new_bits = match (descriptor, register) {
            (Some(d), _) => d,
            (None, Some(r)) => self.tracker.new_bits(&meter, r),
            (None, None) => 0,
        };
        Ok((meter, PushedAlarms { register, descriptor, new_bits }))
    }

    /// The events `message` reports, received at `received_at` (HES clock, UTC).
    ///
    /// # Errors
    /// As [`PushEventMapper::alarms`].
    pub fn map(&mut self, message: &PushMessage, received_at: Timestamp) -> Result<Vec<EndDeviceEvent>, MapError> {
        let (meter, alarms) = self.alarms(message)?;
        let occurred_at = message.time.unwrap_or(received_at);
        let mut details = BTreeMap::new();
        if let Some(r) = alarms.register {
            details.insert("alarm_register".to_string(), format!("0x{r:08X}"));
        }
        if let Some(d) = alarms.descriptor {
            details.insert("alarm_descriptor".to_string(), format!("0x{d:08X}"));
        }
        if message.time.is_none() {
            details.insert("occurred_at".to_string(), "receipt time (the push had no date-time)".to_string());
        }
        Ok(self
            .bits
            .events(alarms.new_bits)
            .into_iter()
            .map(|(_, event_type)| EndDeviceEvent {
                meter: meter.clone(),
                event_type,
                occurred_at,
                received_at,
                source: EndDeviceEvent::SOURCE_PUSH.to_string(),
                dlms_event_code: None,
                alarm_bits: Some(alarms.new_bits),
                details: details.clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push_intake::alarm_map::{BIT_COVER_OPENED, BIT_FRAUD_ATTEMPT, BIT_POWER_DOWN, BIT_POWER_UP};
    use crate::push_listener::{MeterIdentity, PushSource};
    use dlms::xdlms::CosemAttributeDescriptor;
    use model::EndDeviceEventType;

    fn source() -> PushSource {
        PushSource { peer: "127.0.0.1:5000".parse().unwrap(), source_wport: 1 }
    }

    fn identified() -> MeterIdentity {
        MeterIdentity::LogicalDeviceName { name: "GRDM1".into(), serial: MeterId::from("M1") }
    }

    fn data_push(values: Vec<Data>, time: Option<Timestamp>) -> PushMessage {
        PushMessage {
            source: source(),
            meter: identified(),
            ciphered: false,
            date_time: None,
            time,
            content: PushContent::Data { long_invoke_id: 0, push_setup: Some(ALARM_PUSH_SETUP), values },
        }
    }

    fn layout(register: u32, descriptor: Option<u32>) -> Vec<Data> {
        let mut v = vec![
            Data::OctetString(ALARM_PUSH_SETUP.as_bytes().to_vec()),
            Data::OctetString(b"GRDM1".to_vec()),
            Data::DoubleLongUnsigned(register),
        ];
        v.extend(descriptor.map(Data::DoubleLongUnsigned));
        v
    }

    #[test]
    fn the_descriptor_names_the_new_alarms() {
        let at: Timestamp = "2025-03-01T10:00:00Z".parse().unwrap();
        let received: Timestamp = "2025-03-01T10:00:02Z".parse().unwrap();
        let mut m = PushEventMapper::default();
        let push =
            data_push(layout(BIT_POWER_DOWN | BIT_FRAUD_ATTEMPT | BIT_COVER_OPENED, Some(BIT_POWER_DOWN)), Some(at));
        let events = m.map(&push, received).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!((e.event_type, e.occurred_at, e.received_at), (EndDeviceEventType::POWER_DOWN, at, received));
        assert_eq!((e.source.as_str(), e.alarm_bits, e.meter.0.as_str()), ("push", Some(BIT_POWER_DOWN), "M1"));
        assert_eq!(e.details["alarm_register"], "0x00006020");
        // Without a date-time the receipt time dates the event.
        let events = m.map(&data_push(layout(0, Some(BIT_POWER_UP)), None), received).unwrap();
        assert_eq!((events[0].event_type, events[0].occurred_at), (EndDeviceEventType::POWER_RESTORED, received));
    }

    #[test]
    fn register_only_pushes_report_rising_bits() {
        let at: Timestamp = "2025-03-01T10:00:00Z".parse().unwrap();
        let mut m = PushEventMapper::default();
        let types = |events: Vec<EndDeviceEvent>| events.into_iter().map(|e| e.event_type).collect::<Vec<_>>();
        assert_eq!(
            types(m.map(&data_push(layout(BIT_POWER_DOWN, None), Some(at)), at).unwrap()),
            vec![EndDeviceEventType::POWER_DOWN]
        );
        let up = layout(BIT_POWER_DOWN | BIT_POWER_UP, None);
        assert_eq!(types(m.map(&data_push(up, Some(at)), at).unwrap()), vec![EndDeviceEventType::POWER_RESTORED]);
        // The same via event-notification of the register.
        let event = PushMessage {
            content: PushContent::Event {
                attribute: CosemAttributeDescriptor::new(1, ALARM_REGISTER_1, 2),
                value: Data::DoubleLongUnsigned(BIT_POWER_DOWN | BIT_POWER_UP | BIT_FRAUD_ATTEMPT),
            },
            ..data_push(vec![], Some(at))
        };
        assert_eq!(types(m.map(&event, at).unwrap()), vec![EndDeviceEventType::TAMPER_DETECTED]);
    }

    #[test]
    fn other_pushes_and_unidentified_meters_are_refused() {
        let at: Timestamp = "2025-03-01T10:00:00Z".parse().unwrap();
        let mut m = PushEventMapper::default();
        let mut periodic = data_push(vec![Data::OctetString(vec![0, 0, 25, 9, 0, 255])], Some(at));
        if let PushContent::Data { push_setup, .. } = &mut periodic.content {
            *push_setup = Some(Obis::new(0, 0, 25, 9, 0, 255));
        }
        assert_eq!(m.map(&periodic, at), Err(MapError::NotAnAlarm));
        let anonymous = PushMessage {
            meter: MeterIdentity::Unidentified,
            content: PushContent::Event {
                attribute: CosemAttributeDescriptor::new(1, ALARM_DESCRIPTOR_1, 2),
                value: Data::DoubleLongUnsigned(BIT_POWER_DOWN),
            },
            ..data_push(vec![], Some(at))
        };
        assert_eq!(m.map(&anonymous, at), Err(MapError::Unidentified(source().peer)));
        let bad = data_push(
            vec![Data::OctetString(ALARM_PUSH_SETUP.as_bytes().to_vec()), Data::NullData, Data::Unsigned(1)],
            None,
        );
        assert!(matches!(m.map(&bad, at), Err(MapError::BadAlarmValue(_))));
    }
}
