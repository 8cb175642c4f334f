//! The end device event store on `PgStore`: idempotent batches, queries by meter, type and
//! half-open UTC range (millisecond keys), limits, cursors and details, each checked against
//! expected values and against the same calls on an in-memory `SqliteStore`.
#![cfg(feature = "postgres")]

mod postgres_support;

use jiff::Timestamp;
use mdms::events::{EventQuery, EventStore, StoredEvent};
use mdms::{SqliteStore, StoreError};
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};
use postgres_support::fresh_store;

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

/// What a query returned, without the store-assigned ids and times.
fn events_of(stored: &[StoredEvent]) -> Vec<EndDeviceEvent> {
    stored.iter().map(|s| s.event.clone()).collect()
}

/// The same batches on both backends, then the same queries: results must be equal.
fn on_both(batches: &[Vec<EndDeviceEvent>], queries: &[EventQuery]) -> Vec<Vec<EndDeviceEvent>> {
    let mut sqlite = SqliteStore::open_in_memory().unwrap();
    let mut pg = fresh_store();
    for batch in batches {
        assert_eq!(pg.insert_events(batch).unwrap(), sqlite.insert_events(batch).unwrap());
    }
    queries
        .iter()
        .map(|q| {
            let (a, b) = (pg.events(q).unwrap(), sqlite.events(q).unwrap());
            assert_eq!(events_of(&a), events_of(&b), "query {q:?}");
            assert_eq!(pg.count_events(q).unwrap(), sqlite.count_events(q).unwrap(), "count of {q:?}");
            events_of(&a)
        })
        .collect()
}

#[test]
fn an_event_delivered_twice_is_stored_once() {
    let mut store = fresh_store();
    let batch = vec![
        event("M1", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:00Z", "push"),
        event("M1", EndDeviceEventType::POWER_RESTORED, "2025-01-01T03:07:00Z", "push"),
        event("M2", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:01Z", "push"),
        // Repeated inside the batch, and from another source (a different key).
        event("M2", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:01Z", "push"),
        event("M2", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:01Z", "profile"),
    ];
    let first = store.insert_events(&batch).unwrap();
    assert_eq!((first.inserted, first.duplicates), (4, 1));
    let again = store.insert_events(&batch).unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 5));
    assert_eq!(store.count_events(&all()).unwrap(), 4);
    let stored = store.events(&all()).unwrap();
    assert!(stored.windows(2).all(|w| (w[0].event.occurred_at, w[0].id) < (w[1].event.occurred_at, w[1].id)));
}

#[test]
fn queries_select_by_meter_type_range_cursor_and_limit() {
    let batch = vec![
        event("M1", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:00Z", "push"),
        event("M1", EndDeviceEventType::POWER_RESTORED, "2025-01-01T03:07:00Z", "push"),
        event("M2", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:01Z", "push"),
        event("M3", EndDeviceEventType::POWER_DOWN, "2025-01-02T00:00:00.500Z", "profile"),
    ];
    let queries = vec![
        all(),
        all().for_meters([MeterId::from("M1")]),
        all().of_types([EndDeviceEventType::POWER_DOWN]),
        all().of_types([EndDeviceEventType::POWER_DOWN]).for_meters([MeterId::from("M2"), MeterId::from("M3")]),
        // Half-open at millisecond resolution: 00:00:00.500 is in [.., 00:00:00.5005) and not
        // in [00:00:00.5001, ..).
        EventQuery::range(ts("2025-01-01T03:00:00Z"), ts("2025-01-02T00:00:00.5005Z")),
        EventQuery::range(ts("2025-01-02T00:00:00.5001Z"), ts("2025-01-03T00:00:00Z")),
        all().limit(2),
    ];
    let got = on_both(&[batch], &queries);
    let meters = |events: &Vec<EndDeviceEvent>| events.iter().map(|e| e.meter.0.clone()).collect::<Vec<_>>();
    assert_eq!(meters(&got[0]), vec!["M1", "M2", "M1", "M3"]);
    assert_eq!(meters(&got[1]), vec!["M1", "M1"]);
    assert_eq!(meters(&got[2]), vec!["M1", "M2", "M3"]);
    assert_eq!(meters(&got[3]), vec!["M2", "M3"]);
    assert_eq!(got[4].len(), 4);
    assert!(got[5].is_empty());
    assert_eq!(meters(&got[6]), vec!["M1", "M2"]);

    // A cursor returns only what was stored after it.
    let mut store = fresh_store();
    store.insert_events(&[event("M1", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:00Z", "push")]).unwrap();
    let last = store.events(&all()).unwrap().last().map(|s| s.id);
    store.insert_events(&[event("M9", EndDeviceEventType::POWER_DOWN, "2024-12-31T00:00:00Z", "push")]).unwrap();
    let newer = store.events(&EventQuery { after_id: last, ..all() }).unwrap();
    assert_eq!(newer.iter().map(|s| s.event.meter.0.as_str()).collect::<Vec<_>>(), vec!["M9"]);
}

#[test]
fn codes_bits_details_and_milliseconds_round_trip() {
    let mut e = event("M1", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:00.123456Z", "push");
    e.dlms_event_code = Some(u16::MAX);
    e.alarm_bits = Some(u32::MAX);
    e.details.insert("phase".into(), "L2".into());
    e.details.insert("note".into(), "quote \" and backslash \\".into());
    let got = on_both(&[vec![e.clone()]], &[all()]);
    let stored = &got[0][0];
    assert_eq!(stored.occurred_at, ts("2025-01-01T03:00:00.123Z"));
    assert_eq!((stored.dlms_event_code, stored.alarm_bits), (Some(u16::MAX), Some(u32::MAX)));
    assert_eq!(stored.details, e.details);
}

#[test]
fn a_batch_with_an_empty_meter_id_is_refused_whole() {
    let mut store = fresh_store();
    let batch = vec![
        event("M1", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:00Z", "push"),
        event("", EndDeviceEventType::POWER_DOWN, "2025-01-01T03:00:00Z", "push"),
    ];
    assert!(matches!(store.insert_events(&batch), Err(StoreError::EmptyMeterId)));
    assert_eq!(store.count_events(&all()).unwrap(), 0);
}
