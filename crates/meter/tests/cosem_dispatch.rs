//! The COSEM object tree through GET / SET / ACTION: every object and attribute the meter
//! advertises, their A-XDR types, the error results for unknown objects, classes, attributes
//! and denied access, and the Association LN object list agreeing with the dispatcher.

mod common;

use common::*;
use dlms::Data;
use dlms::datetime::CosemDateTime;
use dlms::obis::codes;
use dlms::xdlms::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult};
use dlms::{Obis, data::BitString};
use jiff::SignedDuration;
use meter::{AssociationContext, AssociationStatus, MeterTimeZone};

const NOW: &str = "2024-07-15T08:30:00Z";

#[test]
fn identification_objects() {
    let mut m = SimulatedMeterFixture::new();
    assert_eq!(m.get(1, codes::SERIAL_NUMBER, 2), Ok(Data::OctetString(b"S00000000002A".to_vec())));
    assert_eq!(m.get(1, codes::LOGICAL_DEVICE_NAME, 2), Ok(Data::OctetString(b"GRDS00000000002A".to_vec())));
    assert_eq!(m.get(1, codes::SERIAL_NUMBER, 1), Ok(Data::OctetString(vec![0, 0, 96, 1, 0, 255])));
}

#[test]
fn registers_have_the_specified_types_and_scalers() {
    let mut m = SimulatedMeterFixture::new();
    // (logical name, scaler, unit, value type tag)
    let expected = [
        (codes::ACTIVE_ENERGY_IMPORT, 0, 30, 6u8),
        (codes::ACTIVE_ENERGY_IMPORT_T1, 0, 30, 6),
        (codes::ACTIVE_ENERGY_IMPORT_T2, 0, 30, 6),
        (codes::ACTIVE_ENERGY_EXPORT, 0, 30, 6),
        (codes::REACTIVE_ENERGY_IMPORT, 0, 32, 6),
        (codes::REACTIVE_ENERGY_EXPORT, 0, 32, 6),
        (codes::VOLTAGE_L1, -1, 35, 18),
        (codes::CURRENT_L1, -2, 33, 18),
        (codes::ACTIVE_POWER_IMPORT, 0, 27, 6),
    ];
    for (ln, scaler, unit, tag) in expected {
        assert_eq!(m.get(3, ln, 3), Ok(Data::Structure(vec![Data::Integer(scaler), Data::Enum(unit)])), "{ln}");
        assert_eq!(m.get(3, ln, 2).map(|d| d.tag()), Ok(tag), "{ln}");
    }
    let Ok(Data::LongUnsigned(dv)) = m.get(3, codes::VOLTAGE_L1, 2) else { panic!() };
    assert!((2070..=2530).contains(&dv));
}

#[test]
fn clock_attributes() {
    let mut m = SimulatedMeterFixture::new();
    let Ok(Data::OctetString(b)) = m.get(8, codes::CLOCK, 2) else { panic!("time is octet-string") };
    let dt = CosemDateTime::from_octets(&b).unwrap();
    // 08:30 UTC = 09:30 BST, within the meter's drift.
    let shown = MeterTimeZone::UK.from_cosem(&dt).unwrap();
    assert!(shown.duration_since(ts(NOW)).abs() <= SignedDuration::from_secs(5));
    assert_eq!((dt.time.hour, dt.deviation, dt.clock_status), (9, -60, 0x80));
    assert_eq!(m.get(8, codes::CLOCK, 3), Ok(Data::Long(0)));
    assert_eq!(m.get(8, codes::CLOCK, 4), Ok(Data::Unsigned(0x80)));
    let Ok(Data::OctetString(begin)) = m.get(8, codes::CLOCK, 5) else { panic!() };
    assert_eq!(begin, vec![0xFF, 0xFF, 3, 0xFE, 7, 1, 0, 0, 0, 0x80, 0x00, 0xFF]);
    let Ok(Data::OctetString(end)) = m.get(8, codes::CLOCK, 6) else { panic!() };
    assert_eq!(end, vec![0xFF, 0xFF, 10, 0xFE, 7, 2, 0, 0, 0, 0x80, 0x00, 0xFF]);
    assert_eq!(m.get(8, codes::CLOCK, 7), Ok(Data::Integer(60)));
    assert_eq!(m.get(8, codes::CLOCK, 8), Ok(Data::Boolean(true)));
    assert_eq!(m.get(8, codes::CLOCK, 9), Ok(Data::Enum(1)));
}

#[test]
fn clock_synchronisation() {
    let mut m = SimulatedMeterFixture::new();
    let now = ts(NOW);
    let exact = MeterTimeZone::UK.to_cosem(now);
    let desc = attr(8, codes::CLOCK, 2);
    assert_eq!(m.meter.set(now, &desc, None, &Data::OctetString(exact.to_octets())), DataAccessResult::Success);
    assert_eq!(m.meter.meter_time(now), now);
    assert_eq!(m.meter.set(now, &desc, None, &Data::DateTime(exact)), DataAccessResult::Success);
    assert_eq!(m.meter.set(now, &desc, None, &Data::Unsigned(0)), DataAccessResult::TypeUnmatched);
    let mut wildcard = exact;
    wildcard.date.month = 0xFF;
    assert_eq!(m.meter.set(now, &desc, None, &Data::DateTime(wildcard)), DataAccessResult::OtherReason);
    // shift_time by +30 s.
    let shift = CosemMethodDescriptor::new(8, codes::CLOCK, 6);
    assert_eq!(m.meter.action(now, &shift, Some(&Data::Long(30))), Ok(None));
    assert_eq!(m.meter.meter_time(now), now + SignedDuration::from_secs(30));
    // The intervals of the adjustments carry the "clock adjusted" status bit (0x20): the set
    // to exactly 09:30:00 BST closes the interval ending 09:30, the shift to 09:30:30 lies in
    // the one ending 09:45.
    let later = now + SignedDuration::from_hours(1);
    let all = rows(&m.meter.get(later, &BUFFER, Some(&entries(5760 - 8, 0, 1, 0))).unwrap());
    let flagged: Vec<_> =
        all.iter().filter(|r| r.status & 0x20 != 0).map(|r| (r.time.time.hour, r.time.time.minute)).collect();
    assert_eq!(flagged, vec![(9, 30), (9, 45)]);
    // Other clock attributes are read-only; method 2 has no access; method 7 does not exist.
    assert_eq!(m.meter.set(now, &attr(8, codes::CLOCK, 3), None, &Data::Long(0)), DataAccessResult::ReadWriteDenied);
    let m2 = CosemMethodDescriptor::new(8, codes::CLOCK, 2);
    assert_eq!(m.meter.action(now, &m2, None), Err(ActionResult::ReadWriteDenied));
    let m7 = CosemMethodDescriptor::new(8, codes::CLOCK, 7);
    assert_eq!(m.meter.action(now, &m7, None), Err(ActionResult::ObjectUnavailable));
}

#[test]
fn profile_generic_attributes() {
    let mut m = SimulatedMeterFixture::new();
    let lp = codes::LOAD_PROFILE_1;
    let def = |class: u16, ln: [u8; 6]| {
        Data::Structure(vec![
            Data::LongUnsigned(class),
            Data::OctetString(ln.to_vec()),
            Data::Integer(2),
            Data::LongUnsigned(0),
        ])
    };
    assert_eq!(
        m.get(7, lp, 3),
        Ok(Data::Array(vec![
            def(8, [0, 0, 1, 0, 0, 255]),
            def(1, [0, 0, 96, 10, 1, 255]),
            def(3, [1, 0, 1, 8, 0, 255]),
            def(3, [1, 0, 2, 8, 0, 255]),
            def(3, [1, 0, 3, 8, 0, 255]),
            def(3, [1, 0, 4, 8, 0, 255]),
        ]))
    );
    assert_eq!(m.get(7, lp, 4), Ok(Data::DoubleLongUnsigned(900)));
    assert_eq!(m.get(7, lp, 5), Ok(Data::Enum(1)));
    assert_eq!(m.get(7, lp, 6).map(|d| d.tag()), Ok(2));
    assert_eq!(m.get(7, lp, 7), Ok(Data::DoubleLongUnsigned(5760)));
    assert_eq!(m.get(7, lp, 8), Ok(Data::DoubleLongUnsigned(5760)));
    // Buffer rows: structure { octet-string(12), unsigned, double-long-unsigned × 4 }.
    let Ok(Data::Array(v)) = m.meter.get(ts(NOW), &BUFFER, Some(&entries(1, 2, 1, 0))) else { panic!() };
    for e in v {
        let tags: Vec<u8> = e.as_sequence().unwrap().iter().map(Data::tag).collect();
        assert_eq!(tags, vec![9, 17, 6, 6, 6, 6]);
        assert_eq!(e.as_sequence().unwrap()[0].as_bytes().map(<[u8]>::len), Some(12));
    }
    assert_eq!(
        m.meter.action(ts(NOW), &CosemMethodDescriptor::new(7, lp, 1), None),
        Err(ActionResult::ReadWriteDenied)
    );
}

#[test]
fn error_results() {
    let mut m = SimulatedMeterFixture::new();
    let now = ts(NOW);
    let unknown = Obis::new(1, 0, 99, 2, 0, 255);
    assert_eq!(m.get(7, unknown, 2), Err(DataAccessResult::ObjectUndefined));
    assert_eq!(m.get(4, codes::ACTIVE_ENERGY_IMPORT, 2), Err(DataAccessResult::ObjectClassInconsistent));
    assert_eq!(m.get(3, codes::ACTIVE_ENERGY_IMPORT, 4), Err(DataAccessResult::ObjectUnavailable));
    assert_eq!(m.get(3, codes::ACTIVE_ENERGY_IMPORT, 0), Err(DataAccessResult::ObjectUnavailable));
    assert_eq!(m.get(3, codes::ACTIVE_ENERGY_IMPORT, -1), Err(DataAccessResult::ObjectUnavailable));
    assert_eq!(m.get(15, codes::ASSOCIATION_LN, 7), Err(DataAccessResult::ReadWriteDenied), "secret");
    // Selective access on an attribute without selectors.
    let reg = attr(3, codes::ACTIVE_ENERGY_IMPORT, 2);
    assert_eq!(m.meter.get(now, &reg, Some(&entries(1, 1, 1, 0))), Err(DataAccessResult::OtherReason));
    // SET: read-only registers, unknown objects, wrong class.
    assert_eq!(m.meter.set(now, &reg, None, &Data::DoubleLongUnsigned(0)), DataAccessResult::ReadWriteDenied);
    assert_eq!(m.meter.set(now, &attr(3, unknown, 2), None, &Data::NullData), DataAccessResult::ObjectUndefined);
    assert_eq!(
        m.meter.set(now, &attr(1, codes::CLOCK, 2), None, &Data::NullData),
        DataAccessResult::ObjectClassInconsistent
    );
    // ACTION: unknown object, wrong class, register reset not offered.
    assert_eq!(
        m.meter.action(now, &CosemMethodDescriptor::new(70, unknown, 1), None),
        Err(ActionResult::ObjectUndefined)
    );
    assert_eq!(
        m.meter.action(now, &CosemMethodDescriptor::new(71, codes::DISCONNECT_CONTROL, 1), None),
        Err(ActionResult::ObjectClassInconsistent)
    );
    assert_eq!(
        m.meter.action(now, &CosemMethodDescriptor::new(3, codes::ACTIVE_ENERGY_IMPORT, 1), Some(&Data::Integer(0))),
        Err(ActionResult::ReadWriteDenied)
    );
    // HLS pass 4 belongs to the association state machine.
    assert_eq!(
        m.meter.action(
            now,
            &CosemMethodDescriptor::new(15, codes::ASSOCIATION_LN, 1),
            Some(&Data::OctetString(vec![]))
        ),
        Err(ActionResult::OtherReason)
    );
}

#[test]
fn object_list_matches_what_the_meter_answers() {
    let mut m = SimulatedMeterFixture::new();
    let Ok(list) = m.get(15, codes::ASSOCIATION_LN, 2) else { panic!() };
    // The object list survives an A-XDR round trip.
    assert_eq!(Data::from_bytes(&list.to_bytes()).unwrap(), list);
    let Data::Array(elements) = list else { panic!("array") };
    assert_eq!(elements.len(), 27);
    let mut buffer_selectors = None;
    for e in &elements {
        let [Data::LongUnsigned(class), Data::Unsigned(_version), Data::OctetString(ln), Data::Structure(rights)] =
            e.as_sequence().unwrap()
        else {
            panic!("object_list_element shape: {e:?}")
        };
        let ln = Obis::from_slice(ln).expect("6-byte logical name");
        let [Data::Array(attrs), Data::Array(methods)] = rights.as_slice() else { panic!("access_rights") };
        for a in attrs {
            let [Data::Integer(id), Data::Enum(mode), selectors] = a.as_sequence().unwrap() else { panic!("{a:?}") };
            let result = m.meter.get(ts(NOW), &CosemAttributeDescriptor::new(*class, ln, *id), None);
            // Readable per the list <=> GET succeeds (the buffer without selection included).
            assert_eq!(matches!(mode, 1 | 3), result.is_ok(), "{ln} attribute {id}: {result:?}");
            if !matches!(mode, 1 | 3) {
                assert_eq!(result, Err(DataAccessResult::ReadWriteDenied));
            }
            if ln == codes::LOAD_PROFILE_1 && *id == 2 {
                buffer_selectors = Some(selectors.clone());
            } else {
                assert_eq!(selectors, &Data::NullData);
            }
        }
        for meth in methods {
            let [Data::Integer(_), Data::Enum(mode)] = meth.as_sequence().unwrap() else { panic!("{meth:?}") };
            assert!(*mode <= 1);
        }
    }
    assert_eq!(buffer_selectors, Some(Data::Array(vec![Data::Integer(1), Data::Integer(2)])));
}

#[test]
fn association_context_attributes() {
    let mut m = SimulatedMeterFixture::new();
    assert_eq!(m.get(15, codes::ASSOCIATION_LN, 3), Ok(Data::Structure(vec![Data::Integer(1), Data::LongUnsigned(1)])));
    assert_eq!(m.get(15, codes::ASSOCIATION_LN, 8), Ok(Data::Enum(2)));
    m.meter.set_association_context(AssociationContext {
        client_sap: 16,
        application_context_id: 3,
        mechanism_id: 5,
        status: AssociationStatus::AssociationPending,
        ..AssociationContext::default()
    });
    assert_eq!(
        m.get(15, codes::ASSOCIATION_LN, 3),
        Ok(Data::Structure(vec![Data::Integer(16), Data::LongUnsigned(1)]))
    );
    // 2.16.756.5.8.1.3 and 2.16.756.5.8.2.5 in BER.
    assert_eq!(m.get(15, codes::ASSOCIATION_LN, 4), Ok(Data::OctetString(vec![0x60, 0x85, 0x74, 5, 8, 1, 3])));
    assert_eq!(m.get(15, codes::ASSOCIATION_LN, 6), Ok(Data::OctetString(vec![0x60, 0x85, 0x74, 5, 8, 2, 5])));
    assert_eq!(m.get(15, codes::ASSOCIATION_LN, 8), Ok(Data::Enum(1)));
    let Ok(Data::Structure(info)) = m.get(15, codes::ASSOCIATION_LN, 5) else { panic!() };
    assert_eq!(info[0], Data::BitString(BitString { bits: 24, bytes: vec![0x00, 0x10, 0x1D] }));
    assert_eq!(info[3], Data::Unsigned(6));
}

/// A meter with seed 42 read at [`NOW`].
struct SimulatedMeterFixture {
    meter: meter::SimulatedMeter,
}

impl SimulatedMeterFixture {
    fn new() -> Self {
        SimulatedMeterFixture { meter: meter(42) }
    }

    fn get(&mut self, class: u16, ln: Obis, id: i8) -> Result<Data, DataAccessResult> {
        self.meter.get(ts(NOW), &attr(class, ln, id), None)
    }
}
