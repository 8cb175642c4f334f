//! Building the push APDUs from the meter's state (pure: the caller supplies the true UTC
//! time): the data-notification of the Push setup's `push_object_list`
//! (IEC 62056-5-3:2017 §9.3.10 DataNotification) and the event-notification of one
//! attribute (§9.3.11 EventNotification).

use dlms::xdlms::{
    CosemAttributeDescriptor, DataAccessResult, DataNotification, EventNotificationRequest, LongInvokeIdAndPriority,
};
use dlms::{Data, Obis};
use jiff::Timestamp;

use crate::SimulatedMeter;
use crate::push::setup::{PushObject, PushSetup};

/// The data-notification of the meter's Push setup at true time `now`: the body is a
/// structure with one element per `push_object_list` entry, in order (an attribute that
/// cannot be read, or a `data_index` beyond the value's elements, is pushed as
/// null-data); the long-invoke-id is the Push setup's push counter (unconfirmed, normal
/// priority); with `with_date_time` the date-time field carries the meter clock's local
/// date-time (deviation and status included), else it is empty. `None` when the meter
/// has no Push setup.
pub fn data_notification(meter: &mut SimulatedMeter, now: Timestamp, with_date_time: bool) -> Option<DataNotification> {
    let objects = meter.push_setup()?.push_object_list.clone();
    let invoke_id = meter.push_setup_mut()?.next_invoke_id();
    let values = objects.iter().map(|o| push_value(meter, now, o)).collect();
    let date_time = with_date_time.then(|| meter.config().time_zone.to_cosem(meter.meter_time(now)));
    Some(DataNotification {
        long_invoke_id_and_priority: LongInvokeIdAndPriority::new(invoke_id, false, false),
        date_time,
        notification_body: Data::Structure(values),
    })
}

/// The data-notification of the meter's Push setup whose logical name is `setup` (the Push
/// setup 0.0.25.9.0.255 of [`crate::MeterConfig::push`] or the alarm Push setup
/// 0.4.25.9.0.255 of [`crate::alarm`]), built as [`data_notification`] does; its push counter
/// gives the long-invoke-id. `None` when the meter has no Push setup of that name.
pub fn data_notification_of(
    meter: &mut SimulatedMeter,
    now: Timestamp,
    setup: Obis,
    with_date_time: bool,
) -> Option<DataNotification> {
    let objects = setup_of(meter, setup)?.push_object_list.clone();
    let invoke_id = setup_of_mut(meter, setup)?.next_invoke_id();
    let values = objects.iter().map(|o| push_value(meter, now, o)).collect();
    let date_time = with_date_time.then(|| meter.config().time_zone.to_cosem(meter.meter_time(now)));
    Some(DataNotification {
        long_invoke_id_and_priority: LongInvokeIdAndPriority::new(invoke_id, false, false),
        date_time,
        notification_body: Data::Structure(values),
    })
}

/// The meter's Push setup named `ln`: the configured one or the alarm Push setup.
pub(crate) fn setup_of(meter: &SimulatedMeter, ln: Obis) -> Option<&PushSetup> {
    match meter.push_setup() {
        Some(p) if p.logical_name == ln => Some(p),
        _ => Some(meter.alarms().push_setup()).filter(|p| p.logical_name == ln),
    }
}

fn setup_of_mut(meter: &mut SimulatedMeter, ln: Obis) -> Option<&mut PushSetup> {
    if meter.push_setup().is_some_and(|p| p.logical_name == ln) {
        return meter.push_setup_mut();
    }
    Some(meter.alarms_mut().push_setup_mut()).filter(|p| p.logical_name == ln)
}

/// The event-notification-request reporting `attribute` at true time `now` (e.g. the
/// Disconnect control's output_state after a relay operation), with the meter clock's
/// local date-time when `with_time`.
///
/// # Errors
/// The Data-Access-Result of reading the attribute (object undefined, not readable, …).
pub fn event_notification(
    meter: &mut SimulatedMeter,
    now: Timestamp,
    attribute: CosemAttributeDescriptor,
    with_time: bool,
) -> Result<EventNotificationRequest, DataAccessResult> {
    let attribute_value = meter.get(now, &attribute, None)?;
    let time = with_time.then(|| meter.config().time_zone.to_cosem(meter.meter_time(now)));
    Ok(EventNotificationRequest { time, attribute_descriptor: attribute, attribute_value })
}

/// The value of one push object: the attribute, or its element `data_index` (1-based).
fn push_value(meter: &mut SimulatedMeter, now: Timestamp, o: &PushObject) -> Data {
    let descriptor = CosemAttributeDescriptor::new(o.class_id, o.logical_name, o.attribute_index);
    match (meter.get(now, &descriptor, None), o.data_index) {
        (Ok(v), 0) => v,
        (Ok(v), n) => {
            v.as_sequence().and_then(|items| items.get(usize::from(n) - 1)).cloned().unwrap_or(Data::NullData)
        }
        (Err(_), _) => Data::NullData,
    }
}
