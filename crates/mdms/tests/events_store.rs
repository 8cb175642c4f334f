//! The end device event store on SQLite: idempotent batches, queries by meter, type and
//! half-open UTC range, limits, cursors, details and durability across reopen.

use jiff::Timestamp;
use mdms::SqliteStore;
use mdms::events::{EventQuery, EventStore};
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn event(meter: &str, event_type: EndDeviceEventType, at: &str, source: &str) -> EndDeviceEvent {
    let occurred = ts(at);
    EndDeviceEvent::new(
        MeterId::from(meter),
        event_type,
        occurred,
        occurred + jiff::SignedDuration::from_secs(2),
        source,
    )
}

fn all() -> EventQuery {
    EventQuery::range(ts("2000-01-01T00:00:00Z"), ts("2100-01-01T00:00:00Z"))
}

#[test]
fn an_event_delivered_twice_is_stored_once() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let batch = vec![
        event("M1", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:00Z", "push"),
        event("M1", EndDeviceEventType::POWER_RESTORED, "2025-01-01T03:07:00Z", "push"),
        event("M2", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:01Z", "push"),
    ];
    let first = store.insert_events(&batch).unwrap();
    assert_eq!((first.inserted, first.duplicates), (3, 0));
    let again = store.insert_events(&batch).unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 3));
    assert_eq!(store.count_events(&all()).unwrap(), 3);

    // A repeat inside one batch, and a redelivery with another receive time and details:
    // the key is (meter, type, occurred_at, source); the first delivery is kept.
    let mut redelivered = batch[0].clone();
    redelivered.received_at = ts("2025-01-01T05:00:00Z");
    redelivered.details.insert("note".into(), "second copy".into());
    let extra = event("M3", EndDeviceEventType::TAMPER_DETECTED, "2025-01-01T04:00:00Z", "push");
    let report = store.insert_events(&[extra.clone(), extra, redelivered]).unwrap();
    assert_eq!((report.inserted, report.duplicates), (1, 2));
    let m1 = store.events(&all().for_meters([MeterId::from("M1")])).unwrap();
    assert_eq!(m1.len(), 2);
    assert_eq!(m1[0].event.received_at, ts("2025-01-01T03:00:02Z"));
    assert!(m1[0].event.details.is_empty());
}

#[test]
fn the_same_event_from_two_sources_is_kept_per_source() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let push = event("M1", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:00Z", "push");
    let profile = event("M1", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:00Z", "profile");
    let report = store.insert_events(&[push, profile]).unwrap();
    assert_eq!(report.inserted, 2);
    let sources: Vec<String> = store.events(&all()).unwrap().into_iter().map(|e| e.event.source).collect();
    assert_eq!(sources, ["push", "profile"]);
}

#[test]
fn queries_select_by_meter_type_and_half_open_range() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    store
        .insert_events(&[
            event("M2", EndDeviceEventType::POWER_DOWN, "2025-01-01T10:00:00Z", "push"),
            event("M1", EndDeviceEventType::POWER_DOWN, "2025-01-01T10:00:00Z", "push"),
            event("M1", EndDeviceEventType::POWER_RESTORED, "2025-01-01T10:30:00Z", "push"),
            event("M1", EndDeviceEventType::CLOCK_SET, "2025-01-01T11:00:00Z", "command"),
            event("M3", EndDeviceEventType::COVER_OPENED, "2025-01-01T12:00:00Z", "profile"),
        ])
        .unwrap();
    let q = EventQuery::range(ts("2025-01-01T10:00:00Z"), ts("2025-01-01T11:00:00Z"));
    let got: Vec<(String, String)> =
        store.events(&q).unwrap().into_iter().map(|e| (e.event.meter.0, e.event.event_type.to_string())).collect();
    // 11:00 is excluded; equal times keep insertion order.
    assert_eq!(
        got,
        [("M2".into(), "3.26.0.47".into()), ("M1".into(), "3.26.0.47".into()), ("M1".into(), "3.26.0.216".into())]
    );
    assert_eq!(store.count_events(&q).unwrap(), 3);

    let downs = all().of_types([EndDeviceEventType::POWER_DOWN]);
    assert_eq!(store.count_events(&downs).unwrap(), 2);
    let m1 = all().for_meters([MeterId::from("M1")]);
    assert_eq!(store.count_events(&m1).unwrap(), 3);
    let m1_power = m1.clone().of_types([EndDeviceEventType::POWER_DOWN, EndDeviceEventType::POWER_RESTORED]);
    assert_eq!(store.count_events(&m1_power).unwrap(), 2);
    assert_eq!(store.count_events(&all().for_meters([MeterId::from("nobody")])).unwrap(), 0);

    let limited = store.events(&all().limit(2)).unwrap();
    assert_eq!(limited.len(), 2);
    assert_eq!(store.count_events(&all().limit(2)).unwrap(), 2);
    // A cursor: everything stored after the second event.
    let mut after = all();
    after.after_id = Some(limited[1].id);
    let rest = store.events(&after).unwrap();
    assert_eq!(rest.len(), 3);
    assert!(rest.iter().all(|e| e.id > limited[1].id));
}

#[test]
fn codes_bits_and_details_round_trip() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut e = event("M\"1\\x", EndDeviceEventType::LOW_CREDIT, "2025-02-03T04:05:06.789Z", "prepayment");
    e.received_at = ts("2025-02-03T04:05:07.123456Z");
    e.dlms_event_code = Some(0xFFFF);
    e.alarm_bits = Some(0x8000_0001);
    e.details.insert("credit".into(), "1.50".into());
    e.details.insert("currency".into(), "EUR".into());
    store.insert_events(std::slice::from_ref(&e)).unwrap();
    let got = store.events(&all().for_meters([MeterId::from("M\"1\\x")])).unwrap();
    assert_eq!(got.len(), 1);
    let mut expected = e.clone();
    expected.received_at = ts("2025-02-03T04:05:07.123Z");
    assert_eq!(got[0].event, expected);
    // The half-open range at millisecond resolution.
    assert_eq!(
        store.count_events(&EventQuery::range(ts("2025-02-03T04:05:06.789Z"), ts("2025-02-03T04:05:06.790Z"))).unwrap(),
        1
    );
    assert_eq!(
        store.count_events(&EventQuery::range(ts("2025-02-03T04:05:06.7891Z"), ts("2025-02-04T00:00:00Z"))).unwrap(),
        0
    );
}

#[test]
fn a_batch_with_an_empty_meter_id_is_refused_whole() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let batch = [
        event("M1", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:00Z", "push"),
        event("", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:00Z", "push"),
    ];
    assert!(matches!(store.insert_events(&batch), Err(mdms::StoreError::EmptyMeterId)));
    assert_eq!(store.count_events(&all()).unwrap(), 0);
}

#[test]
fn events_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdms.sqlite");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        store
            .insert_events(&[event("M1", EndDeviceEventType::RELAY_DISCONNECTED, "2025-01-01T03:00:00Z", "command")])
            .unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let got = store.events(&all()).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event.event_type, EndDeviceEventType::RELAY_DISCONNECTED);
    let report = store
        .insert_events(&[event("M1", EndDeviceEventType::RELAY_DISCONNECTED, "2025-01-01T03:00:00Z", "command")])
        .unwrap();
    assert_eq!(report.duplicates, 1);
}
