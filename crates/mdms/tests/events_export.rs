//! Stored end device events exported as an IEC 61968-9 `EndDeviceEvents` document.

use jiff::Timestamp;
use mdms::SqliteStore;
use mdms::events::{EventQuery, EventStore};
use mdms::export::cim::write_stored_end_device_events;
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};

mod exchange;

use exchange::parse_xml;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn stored_events_export_with_codes_and_details() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut last_gasp = EndDeviceEvent::new(
        MeterId::from("M1"),
        EndDeviceEventType::POWER_DOWN,
        ts("2025-01-01T03:00:00Z"),
        ts("2025-01-01T03:00:02Z"),
        EndDeviceEvent::SOURCE_PUSH,
    );
    last_gasp.dlms_event_code = Some(1);
    let token = EndDeviceEvent::new(
        MeterId::from("M2"),
        EndDeviceEventType::TOKEN_REJECTED,
        ts("2025-01-01T04:00:00Z"),
        ts("2025-01-01T04:00:00Z"),
        EndDeviceEvent::SOURCE_PREPAYMENT,
    );
    store.insert_events(&[token, last_gasp]).unwrap();

    let mut out = Vec::new();
    let query = EventQuery::range(ts("2025-01-01T00:00:00Z"), ts("2025-01-02T00:00:00Z"));
    assert_eq!(write_stored_end_device_events(&store, &query, &mut out).unwrap(), 2);
    let root = parse_xml(&String::from_utf8(out).unwrap());
    assert_eq!(root.name, "EndDeviceEvents");
    let list = root.all("EndDeviceEvent");
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[0].child_names(),
        [
            "createdDateTime",
            "reason",
            "Assets",
            "EndDeviceEventDetails",
            "EndDeviceEventDetails",
            "EndDeviceEventDetails",
            "EndDeviceEventType"
        ]
    );
    assert_eq!(list[0].child("createdDateTime").text, "2025-01-01T03:00:00Z");
    assert_eq!(list[0].child("reason").text, "power down");
    assert_eq!(list[0].child("Assets").child("mRID").text, "M1");
    let details = |n: &exchange::Node| -> Vec<(String, String)> {
        n.all("EndDeviceEventDetails")
            .iter()
            .map(|d| (d.child("name").text.clone(), d.child("value").text.clone()))
            .collect()
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        details(list[0]),
        [pair("source", "push"), pair("receivedDateTime", "2025-01-01T03:00:02Z"), pair("dlmsEventCode", "1")]
    );
    assert_eq!(list[0].child("EndDeviceEventType").attr("ref"), Some("3.26.0.47"));
    assert_eq!(list[1].child("reason").text, "token rejected");
    assert_eq!(list[1].child("Assets").child("mRID").text, "M2");
    assert_eq!(details(list[1]), [pair("source", "prepayment"), pair("receivedDateTime", "2025-01-01T04:00:00Z")]);
    assert_eq!(list[1].child("EndDeviceEventType").attr("ref"), Some("3.20.81.85"));
}
