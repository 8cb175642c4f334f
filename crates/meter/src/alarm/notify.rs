//! Pushing the meter's alarms: the alarm push is built from the alarms pending in
//! [`AlarmState`](crate::alarm::AlarmState) (they become Alarm descriptor 1), as a
//! data-notification of the alarm Push setup 0.4.25.9.0.255 or as an event-notification,
//! per [`AlarmNotification`], to the alarm Push setup's destination over TCP or UDP.
//!
//! The last gasp is the alarm push prepared right after
//! [`SimulatedMeter::lose_supply`]: the meter sends it on its reserve energy, so whether
//! it arrives is up to the field (see [`crate::scenario`]).

use std::sync::Mutex;

use dlms::xdlms::CosemAttributeDescriptor;
use jiff::Timestamp;

use crate::SimulatedMeter;
use crate::alarm::state::{ALARM_PUSH_SETUP, AlarmNotification};
use crate::push::sender::{
    PreparedPush, PushDelivery, PushError, PushReport, deliver, prepare_data_notification_of,
    prepare_event_notification_of,
};

/// Prepares the alarm push of the alarms pending at true time `now`; `Ok(None)` when none
/// is pending. The pending alarms become Alarm descriptor 1 (and stay pending when the push
/// cannot be built).
///
/// # Errors
/// The errors of [`prepare_data_notification_of`] and [`prepare_event_notification_of`]
/// (no destination, unsupported transport, outside the alarm Push setup's window, …).
pub fn prepare_alarm_push(
    meter: &mut SimulatedMeter,
    now: Timestamp,
    delivery: &PushDelivery,
) -> Result<Option<PreparedPush>, PushError> {
    let bits = meter.alarms_mut().begin_push();
    if bits == 0 {
        return Ok(None);
    }
    let prepared = match meter.alarms().notification() {
        AlarmNotification::DataNotification => prepare_data_notification_of(meter, now, ALARM_PUSH_SETUP, delivery),
        AlarmNotification::EventNotification(value) => {
            let attribute = CosemAttributeDescriptor::new(crate::objects::CLASS_DATA, value.logical_name(), 2);
            prepare_event_notification_of(meter, now, attribute, ALARM_PUSH_SETUP, delivery)
        }
    };
    match prepared {
        Ok(p) => Ok(Some(p)),
        Err(e) => {
            meter.alarms_mut().abort_push(bits);
            Err(e)
        }
    }
}

/// Prepares (under the lock) and delivers (without it) the alarm push of the shared meter
/// at true time `now`; `Ok(None)` when no alarm is pending.
///
/// # Errors
/// As [`prepare_alarm_push`] and [`deliver`].
pub async fn push_alarm(
    meter: &Mutex<SimulatedMeter>,
    now: Timestamp,
    delivery: &PushDelivery,
) -> Result<Option<PushReport>, PushError> {
    let prepared = {
        let mut m = meter.lock().unwrap_or_else(|p| p.into_inner());
        prepare_alarm_push(&mut m, now, delivery)?
    };
    match prepared {
        Some(p) => deliver(&p, delivery.connect_timeout).await.map(Some),
        None => Ok(None),
    }
}
