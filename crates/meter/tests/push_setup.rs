//! The Push setup object (class 40, 0.0.25.9.0.255) in the meter's object model and the
//! push APDUs the meter builds: object list and access rights, GET/SET of the
//! attributes through the meter's dispatch, the data-notification's wire form with and
//! without date-time, data_index selection, and the event-notification.

mod common;

use common::{meter, ts};
use dlms::Codec;
use dlms::Data;
use dlms::obis::codes;
use dlms::xdlms::{CosemAttributeDescriptor, DataAccessResult, XdlmsApdu};
use meter::push::notification::{data_notification, event_notification};
use meter::push::setup::{CLASS_PUSH_SETUP, PUSH_SETUP};
use meter::push::{PushObject, PushSetup};
use meter::{MeterConfig, SimulatedMeter};

const NOW: &str = "2024-06-12T10:15:30Z";

fn pushing(serial: &str) -> SimulatedMeter {
    let config =
        MeterConfig { push: Some(PushSetup::new("10.0.0.1:4059")), max_clock_drift_ms: 0, ..MeterConfig::default() };
    SimulatedMeter::new(serial, 7, config).unwrap()
}

fn push_attr(id: i8) -> CosemAttributeDescriptor {
    CosemAttributeDescriptor::new(CLASS_PUSH_SETUP, PUSH_SETUP, id)
}

#[test]
fn only_pushing_meters_list_the_push_setup() {
    let now = ts(NOW);
    let list =
        |m: &mut SimulatedMeter| match m.get(now, &CosemAttributeDescriptor::new(15, codes::ASSOCIATION_LN, 2), None) {
            Ok(Data::Array(l)) => l,
            other => panic!("{other:?}"),
        };
    let mut plain = meter(1);
    let mut push = pushing("P1");
    let (a, b) = (list(&mut plain), list(&mut push));
    assert_eq!(b.len(), a.len() + 1);
    assert_eq!(&b[..a.len()], &a[..]);
    // The element: { 40, version 0, 0.0.25.9.0.255, { attributes 1 read, 2..=7 read-write }, { method 1 access } }.
    let Some([Data::LongUnsigned(40), Data::Unsigned(0), Data::OctetString(ln), Data::Structure(rights)]) =
        b.last().and_then(Data::as_sequence)
    else {
        panic!("{:?}", b.last())
    };
    assert_eq!(ln, &vec![0, 0, 25, 9, 0, 255]);
    let [Data::Array(attrs), Data::Array(methods)] = rights.as_slice() else { panic!() };
    let modes: Vec<_> = attrs.iter().map(|a| a.as_sequence().unwrap()[1].clone()).collect();
    assert_eq!(modes, [1, 3, 3, 3, 3, 3, 3].map(Data::Enum));
    assert_eq!(methods.len(), 1);
    // Every listed attribute answers GET; the object is unknown to a meter without push.
    for id in 1..=7 {
        assert!(push.get(now, &push_attr(id), None).is_ok(), "attribute {id}");
    }
    assert_eq!(plain.get(now, &push_attr(1), None), Err(DataAccessResult::ObjectUndefined));
    assert_eq!(push.get(now, &push_attr(8), None), Err(DataAccessResult::ObjectUnavailable));
}

#[test]
fn attributes_are_written_through_set() {
    let now = ts(NOW);
    let mut m = pushing("P2");
    let only_serial = Data::Array(vec![Data::Structure(vec![
        Data::LongUnsigned(1),
        Data::OctetString(codes::SERIAL_NUMBER.as_bytes().to_vec()),
        Data::Integer(2),
        Data::LongUnsigned(0),
    ])]);
    assert_eq!(m.set(now, &push_attr(2), None, &only_serial), DataAccessResult::Success);
    assert_eq!(m.get(now, &push_attr(2), None), Ok(only_serial));
    assert_eq!(m.set(now, &push_attr(6), None, &Data::Unsigned(9)), DataAccessResult::Success);
    assert_eq!(m.push_setup().unwrap().number_of_retries, 9);
    assert_eq!(m.set(now, &push_attr(1), None, &Data::OctetString(vec![0; 6])), DataAccessResult::ReadWriteDenied);
    assert_eq!(m.set(now, &push_attr(7), None, &Data::Boolean(true)), DataAccessResult::TypeUnmatched);
}

#[test]
fn data_notification_wire_form() {
    let now = ts(NOW);
    let mut m = pushing("P3");
    m.push_setup_mut().unwrap().push_object_list = vec![
        PushObject::new(CLASS_PUSH_SETUP, PUSH_SETUP, 1),
        PushObject::new(1, codes::SERIAL_NUMBER, 2),
        // data_index 1 of the Register's scaler_unit structure: the scaler (integer 0).
        PushObject { data_index: 1, ..PushObject::new(3, codes::ACTIVE_ENERGY_IMPORT, 3) },
        // beyond the elements, and an object the meter does not have: null-data.
        PushObject { data_index: 5, ..PushObject::new(3, codes::ACTIVE_ENERGY_IMPORT, 3) },
        PushObject::new(1, dlms::Obis::new(0, 0, 96, 99, 9, 255), 2),
    ];
    let n = data_notification(&mut m, now, false).unwrap();
    // 0F | 00000000 (push 0, unconfirmed, normal priority) | 00 (no date-time) |
    // 02 05 | 09 06 0000190900FF | 09 02 "P3" | 0F 00 | 00 | 00
    let want = [
        0x0F, 0, 0, 0, 0, 0x00, 0x02, 0x05, 0x09, 0x06, 0, 0, 25, 9, 0, 255, 0x09, 0x02, b'P', b'3', 0x0F, 0x00, 0x00,
        0x00,
    ];
    assert_eq!(XdlmsApdu::DataNotification(n).to_bytes(), want);
    // With date-time: 0F 00000001 0C <12 bytes of the meter's local time> ...
    let n = data_notification(&mut m, now, true).unwrap();
    let bytes = XdlmsApdu::DataNotification(n.clone()).to_bytes();
    assert_eq!(&bytes[..6], &[0x0F, 0, 0, 0, 1, 0x0C]);
    // No drift configured: the meter's clock is true UTC; 11:15:30 BST, deviation -60, DST.
    let dt = n.date_time.unwrap();
    assert_eq!((dt.date.year, dt.date.month, dt.date.day_of_month), (2024, 6, 12));
    assert_eq!((dt.time.hour, dt.time.minute, dt.time.second), (11, 15, 30));
    assert_eq!((dt.deviation, dt.clock_status), (-60, 0x80));
    assert_eq!(dt.to_utc().unwrap(), now);
    assert_eq!(&bytes[18..], &want[6..]);
    // A meter without push builds nothing.
    assert!(data_notification(&mut meter(2), now, true).is_none());
}

#[test]
fn event_notification_of_one_attribute() {
    let now = ts(NOW);
    let mut m = pushing("P4");
    let output_state = CosemAttributeDescriptor::new(70, codes::DISCONNECT_CONTROL, 2);
    let e = event_notification(&mut m, now, output_state, false).unwrap();
    // C2 | 00 (no time) | 0046 00006003 0AFF 02 | 03 01 (connected)
    assert_eq!(
        XdlmsApdu::EventNotificationRequest(e).to_bytes(),
        [0xC2, 0x00, 0x00, 0x46, 0, 0, 96, 3, 10, 255, 0x02, 0x03, 0x01]
    );
    let e = event_notification(&mut m, now, output_state, true).unwrap();
    assert_eq!(e.time.unwrap().to_utc().unwrap(), now);
    let unknown = CosemAttributeDescriptor::new(1, dlms::Obis::new(0, 0, 96, 99, 9, 255), 2);
    assert_eq!(event_notification(&mut m, now, unknown, false), Err(DataAccessResult::ObjectUndefined));
}
