//! Readings, load profile, edits and estimates, registers, billing, exports, events and
//! outages through the HTTP API, against data whose values are known by hand: meter M1
//! advances 250 Wh every 15 minutes (1 kW) from 2025-01-06T00:00Z (1000 Wh) for 2 days.

mod common;

use api::InMemoryRegistry;
use reqwest::Method;
use serde_json::json;

fn registry() -> InMemoryRegistry {
    let registry = InMemoryRegistry::new();
    let endpoint = hes::MeterEndpoint {
        serial: model::MeterId::from("M1"),
        address: "127.0.0.1:9".parse().unwrap(),
        client_sap: 1,
        server_sap: 1,
        authentication: dlms::association::Authentication::None,
        link: hes::transport::LinkLayer::Wrapper,
        security: None,
    };
    registry.insert(endpoint, Some("T1".into()), Some("F1".into()), "active");
    registry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_are_paged_with_quality_and_version() {
    let server = common::start(&[common::reading("M1", 2, 250.0)], registry(), |b, _| b).await;
    let day = "from=2025-01-06T00:00:00Z&to=2025-01-07T00:00:00Z";
    let (status, page1) = server.get(&format!("/api/v1/meters/M1/readings?{day}&limit=50"), &server.reader).await;
    assert_eq!(status, 200, "{page1}");
    let items = page1["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    assert_eq!(items[0]["interval_end"], "2025-01-06T00:00:00Z");
    assert_eq!(items[0]["value"], 1000.0);
    assert_eq!(items[9]["value"], 1000.0 + 250.0 * 9.0);
    assert_eq!(items[0]["unit"], "Wh");
    assert_eq!((items[0]["version"].as_u64(), items[0]["source"].as_str()), (Some(1), Some("hes")));
    assert_eq!(items[0]["quality"]["bits"], 0);
    assert_eq!(page1["next_cursor"], "2025-01-06T12:15:00Z");
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) =
        server.get(&format!("/api/v1/meters/M1/readings?{day}&limit=50&cursor={cursor}"), &server.reader).await;
    let items = page2["items"].as_array().unwrap();
    assert_eq!(items.len(), 46, "96 intervals end in the day");
    assert_eq!(items[0]["interval_end"], "2025-01-06T12:30:00Z");
    assert!(page2["next_cursor"].is_null());

    // Errors keep one JSON shape.
    for (path, code) in [
        ("/api/v1/meters/M1/readings?from=yesterday", "bad_request"),
        ("/api/v1/meters/M1/readings?from=2025-01-06T00:00:00", "bad_request"),
        ("/api/v1/meters/M1/readings?reading_type=nope", "bad_request"),
        ("/api/v1/meters/M1/readings?limit=0", "bad_request"),
        ("/api/v1/meters/M1/readings?versions=some", "bad_request"),
        ("/api/v1/meters/NOPE", "not_found"),
        ("/api/v1/meters/M1/load-profile?reading_type=voltage_l1", "unprocessable"),
    ] {
        let (status, body) = server.get(path, &server.reader).await;
        assert_eq!(body["error"]["code"], code, "{path}: {status} {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{path}");
        assert!([400, 404, 422].contains(&status), "{path}: {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_estimates_are_versions_with_history_and_marked_in_the_load_profile() {
    let server = common::start(&[common::reading("M1", 2, 250.0)], registry(), |b, _| b).await;
    let (status, lp) = server
        .get("/api/v1/meters/M1/load-profile?from=2025-01-06T00:00:00Z&to=2025-01-07T00:00:00Z", &server.reader)
        .await;
    assert_eq!(status, 200, "{lp}");
    let points = lp["points"].as_array().unwrap();
    // 96 interval ends in the day; the one at 00:00 has no stored start value before it.
    assert_eq!(points.len(), 95);
    assert_eq!(points[0]["start"], "2025-01-06T00:00:00Z");
    assert_eq!(points[0]["end"], "2025-01-06T00:15:00Z");
    assert!(points.iter().all(|p| p["value"] == 250.0 && p["average_kw"] == 1.0), "1 kW throughout");
    assert_eq!((lp["estimated_points"].as_u64(), lp["interval_length_s"].as_u64()), (Some(0), Some(900)));

    // An edit is a new version; the raw value stays in the history.
    let at = "2025-01-06T06:00:00Z";
    let (status, edit) = server
        .send(
            Method::PUT,
            &format!("/api/v1/meters/M1/readings/active_energy_import/{at}"),
            &server.operator,
            Some(json!({"value": 7100.0, "reason": "meter test reading"})),
        )
        .await;
    assert_eq!(status, 200, "{edit}");
    assert_eq!(edit["interval"]["version"], 2);
    let (_, history) =
        server.get(&format!("/api/v1/meters/M1/readings/active_energy_import/{at}/history"), &server.reader).await;
    let versions = history.as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["interval"]["value"], 7000.0);
    assert_eq!(versions[1]["interval"]["value"], 7100.0);
    assert_eq!(versions[1]["interval"]["source"], "edit");
    assert_eq!(versions[1]["audit"]["user"], "otto");
    assert_eq!(versions[1]["audit"]["reason"], "meter test reading");
    let (_, all) = server
        .get(
            "/api/v1/meters/M1/readings?from=2025-01-06T06:00:00Z&to=2025-01-06T06:15:00Z&versions=all&validated=false",
            &server.reader,
        )
        .await;
    let vs: Vec<(u64, f64)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["version"].as_u64().unwrap(), i["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(vs, [(1, 7000.0), (2, 7100.0)]);
    let (_, latest) = server
        .get("/api/v1/meters/M1/readings?from=2025-01-06T06:00:00Z&to=2025-01-06T06:15:00Z", &server.reader)
        .await;
    assert!(latest["items"][0]["quality"]["names"].as_array().unwrap().contains(&json!("edited")));
    // An edit without a reason is refused (422) and writes nothing.
    let (status, body) = server
        .send(
            Method::PUT,
            &format!("/api/v1/meters/M1/readings/active_energy_import/{at}"),
            &server.operator,
            Some(json!({"value": 1.0, "reason": " "})),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("unprocessable")));

    // A manual estimate of [10:00, 11:00): four interval ends get estimated versions; five
    // load-profile intervals touch an estimated value (10:00 to 11:00 end values).
    let (status, report) = server
        .send(
            Method::POST,
            "/api/v1/meters/M1/readings/active_energy_import/estimate",
            &server.operator,
            Some(json!({"from": "2025-01-06T10:00:00Z", "to": "2025-01-06T11:00:00Z", "reason": "suspected register fault"})),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["estimated"].as_array().unwrap().len(), 4);
    let (_, lp) = server
        .get("/api/v1/meters/M1/load-profile?from=2025-01-06T00:00:00Z&to=2025-01-07T00:00:00Z", &server.reader)
        .await;
    let estimated: Vec<&str> = lp["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["estimated"] == true)
        .map(|p| p["end"].as_str().unwrap())
        .collect();
    assert_eq!(
        estimated,
        [
            "2025-01-06T10:00:00Z",
            "2025-01-06T10:15:00Z",
            "2025-01-06T10:30:00Z",
            "2025-01-06T10:45:00Z",
            "2025-01-06T11:00:00Z"
        ]
    );
    assert_eq!(lp["estimated_points"], 5);
    // The MDMS audit trail lists both changes with who and why.
    let (_, trail) = server.get("/api/v1/edits?meter=M1", &server.reader).await;
    let actions: Vec<(&str, &str)> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["user"] == "otto")
        .map(|e| (e["action"].as_str().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [("edit", "meter test reading"), ("estimate", "suspected register fault")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_billing_and_exports() {
    let server = common::start(&[common::reading("M1", 2, 250.0)], registry(), |b, _| b).await;
    let (_, regs) = server
        .get("/api/v1/meters/M1/registers?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z", &server.reader)
        .await;
    assert_eq!(regs[0]["reading_type"], "active_energy_import");
    assert_eq!(regs[0]["obis"], "1-0:1.8.0.255");
    assert_eq!(regs[0]["reads"][0]["value"], 1000.0 + 250.0 * 192.0);
    assert_eq!(regs[0]["reads"][0]["read_at"], "2025-01-08T00:00:00Z");

    // Tuesday 2025-01-07 (GMT): 24 kWh at 1 kW; the default schedule's peak is weekdays
    // 16:00-19:00 (3 kWh), night 00:00-07:00 (7 kWh), day the rest (14 kWh).
    let (status, bill) =
        server.get("/api/v1/meters/M1/billing?first_day=2025-01-07&last_day=2025-01-07", &server.reader).await;
    assert_eq!(status, 200, "{bill}");
    assert_eq!(bill["active_import"]["total_kwh"], 24.0);
    let tou: Vec<(String, f64)> = bill["active_import"]["by_tou"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["period"].as_str().unwrap().to_string(), t["kwh"].as_f64().unwrap()))
        .collect();
    assert_eq!(tou, [("peak".to_string(), 3.0), ("night".to_string(), 7.0), ("day".to_string(), 14.0)]);
    assert_eq!(bill["active_import"]["max_block_demand"]["kw"], 1.0);
    assert_eq!(bill["readiness"]["bill_ready"], true);
    let (_, view) = server.get("/api/v1/billing?first_day=2025-01-07&last_day=2025-01-07", &server.reader).await;
    assert_eq!(view["lines"]["items"][0]["meter"], "M1");
    assert_eq!(view["lines"]["items"][0]["total_kwh"], 24.0);
    assert_eq!(view["lines"]["items"][0]["bill_ready"], true);
    let (status, body) = server.get("/api/v1/billing?first_day=2025-01-08&last_day=2025-01-07", &server.reader).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_request")));

    let hour = "from=2025-01-06T00:00:00Z&to=2025-01-06T01:00:00Z";
    let csv = server
        .client
        .get(format!("{}/api/v1/exports/intervals.csv?{hour}", server.base))
        .bearer_auth(&server.reader)
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "header and four intervals: {text}");
    assert!(lines[0].starts_with("meter,reading_type,obis,interval_end,value,unit,quality"));
    assert!(lines[1].starts_with("M1,active_energy_import,1-0:1.8.0.255,2025-01-06T00:00:00Z,1000,Wh,0,"));
    let cim = server
        .client
        .get(format!("{}/api/v1/exports/meter-readings.xml?{hour}", server.base))
        .bearer_auth(&server.reader)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(cim.contains("http://iec.ch/TC57/2011/MeterReadings#"), "{cim}");
    assert_eq!(cim.matches("<IntervalReadings>").count(), 4, "{cim}");
    let espi = server
        .client
        .get(format!("{}/api/v1/exports/espi/M1?{hour}", server.base))
        .bearer_auth(&server.reader)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(espi.contains("http://naesb.org/espi"), "{espi}");
    // Four whole intervals in [00:00, 01:00], 250 Wh each.
    assert_eq!(espi.matches("<espi:IntervalReading>").count() + espi.matches("<IntervalReading>").count(), 4, "{espi}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_outages_and_reliability() {
    let server = common::start(&[], registry(), |b, _| b).await;
    let batch = json!([
        {"meter": "M1", "event_type": "3.26.0.47", "occurred_at": "2025-01-06T10:00:00Z"},
        {"meter": "M1", "event_type": "3.26.0.216", "occurred_at": "2025-01-06T10:30:00Z", "details": {"note": "fuse"}},
    ]);
    let (status, rec) = server.send(Method::POST, "/api/v1/events", &server.operator, Some(batch.clone())).await;
    assert_eq!(status, 201, "{rec}");
    assert_eq!((rec["recorded"].as_u64(), rec["duplicates"].as_u64()), (Some(2), Some(0)));
    let (_, rec) = server.send(Method::POST, "/api/v1/events", &server.operator, Some(batch)).await;
    assert_eq!((rec["recorded"].as_u64(), rec["duplicates"].as_u64()), (Some(0), Some(2)));
    let (status, bad) = server
        .send(
            Method::POST,
            "/api/v1/events",
            &server.operator,
            Some(json!([{"meter": "M1", "event_type": "3.26", "occurred_at": "2025-01-06T10:00:00Z"}])),
        )
        .await;
    assert_eq!((status, bad["error"]["code"].as_str()), (422, Some("unprocessable")));

    let range = "from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z";
    let (_, events) = server.get(&format!("/api/v1/events?{range}&limit=1"), &server.reader).await;
    assert_eq!(events["items"][0]["name"], "power down");
    assert_eq!(events["items"][0]["severity"], "alarm");
    let cursor = events["next_cursor"].as_str().unwrap().to_string();
    let (_, next) = server.get(&format!("/api/v1/events?{range}&limit=1&cursor={cursor}"), &server.reader).await;
    assert_eq!(next["items"][0]["name"], "power restored");
    assert_eq!(next["items"][0]["details"]["note"], "fuse");
    assert!(next["next_cursor"].is_null());

    // M1 is the only meter of transformer T1: a 30-minute transformer outage.
    let (_, outages) = server.get(&format!("/api/v1/outages?{range}"), &server.reader).await;
    let o = &outages[0];
    assert_eq!(
        (o["scope"].as_str(), o["transformer"].as_str(), o["feeder"].as_str()),
        (Some("transformer"), Some("T1"), Some("F1"))
    );
    assert_eq!((o["duration_s"].as_i64(), o["kind"].as_str()), (Some(1800), Some("sustained")));
    // One customer, one 30-minute sustained interruption: SAIFI 1, SAIDI 30 min, CAIDI 30.
    let (_, r) = server.get(&format!("/api/v1/reliability?{range}"), &server.reader).await;
    assert_eq!((r["customers_served"].as_u64(), r["saifi"].as_f64()), (Some(1), Some(1.0)));
    assert_eq!((r["saidi_minutes"].as_f64(), r["caidi_minutes"].as_f64()), (Some(30.0), Some(30.0)));
    assert_eq!(r["maifi"].as_f64(), Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mdms_event_store_and_outage_engine_behind_the_api() {
    use mdms::topology::{FeederId, ServiceRole, Topology, TopologyStore, TransformerId};
    use model::MeterId;
    use std::sync::Arc;
    let server = common::start(&[], registry(), |b, path| {
        // A second connection to the MDMS file: the network topology, then the adapter.
        let mut store = mdms::SqliteStore::open(path).unwrap();
        let mut topology = Topology::new();
        topology.add_feeder(FeederId::from("F1")).unwrap();
        for t in ["T1", "T2"] {
            topology.add_transformer(TransformerId::from(t), FeederId::from("F1")).unwrap();
        }
        for (m, t) in [("M1", "T1"), ("M2", "T1"), ("M3", "T1"), ("M4", "T2")] {
            topology.connect_meter(MeterId::from(m), &TransformerId::from(t), ServiceRole::Customer).unwrap();
        }
        store.save_topology(&topology).unwrap();
        let mdms_events = Arc::new(api::MdmsEvents::new(store, mdms::outage::OutageConfig::default()));
        b.events(mdms_events.clone()).outages(mdms_events)
    })
    .await;
    // M1 and M2 (2 of T1's 3 customers) lose supply together and come back after 30 min.
    let batch = json!([
        {"meter": "M1", "event_type": "3.26.0.47", "occurred_at": "2025-01-06T10:00:00Z"},
        {"meter": "M2", "event_type": "3.26.0.47", "occurred_at": "2025-01-06T10:00:20Z"},
        {"meter": "M1", "event_type": "3.26.0.216", "occurred_at": "2025-01-06T10:30:00Z"},
        {"meter": "M2", "event_type": "3.26.0.216", "occurred_at": "2025-01-06T10:30:00Z"},
    ]);
    let (status, rec) = server.send(Method::POST, "/api/v1/events", &server.operator, Some(batch.clone())).await;
    assert_eq!((status, rec["recorded"].as_u64()), (201, Some(4)), "{rec}");
    let (_, rec) = server.send(Method::POST, "/api/v1/events", &server.operator, Some(batch)).await;
    assert_eq!(rec["duplicates"], 4, "the MDMS store is idempotent");
    // Stored durably: a fresh connection to the file sees them.
    use mdms::events::{EventQuery, EventStore};
    let other = mdms::SqliteStore::open(&server.db_path).unwrap();
    let range = EventQuery::range("2025-01-01T00:00:00Z".parse().unwrap(), "2025-02-01T00:00:00Z".parse().unwrap());
    assert_eq!(other.events(&range).unwrap().len(), 4);

    let q = "from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z";
    let (_, page) = server.get(&format!("/api/v1/events?{q}&limit=3"), &server.reader).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let (_, rest) = server
        .get(&format!("/api/v1/events?{q}&limit=3&cursor={}", page["next_cursor"].as_str().unwrap()), &server.reader)
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["meter"], "M2");
    assert_eq!(rest["items"][0]["name"], "power restored");

    // The MDMS engine: a transformer outage of T1 interrupting all 3 of its customers.
    let (_, outages) = server.get(&format!("/api/v1/outages?{q}"), &server.reader).await;
    let list = outages.as_array().unwrap();
    assert_eq!(list.len(), 1, "{outages}");
    let o = &list[0];
    assert_eq!(
        (o["scope"].as_str(), o["transformer"].as_str(), o["feeder"].as_str()),
        (Some("transformer"), Some("T1"), Some("F1"))
    );
    assert_eq!((o["meters_affected"].as_u64(), o["meters_served"].as_u64()), (Some(3), Some(3)));
    assert_eq!((o["kind"].as_str(), o["duration_s"].as_i64()), (Some("sustained"), Some(1800)));
    // 4 customers; 3 interrupted for 30 min: SAIFI 0.75, SAIDI 22.5 min, CAIDI 30 min.
    let (_, r) = server.get(&format!("/api/v1/reliability?{q}"), &server.reader).await;
    assert_eq!((r["customers_served"].as_u64(), r["saifi"].as_f64()), (Some(4), Some(0.75)));
    assert_eq!((r["saidi_minutes"].as_f64(), r["caidi_minutes"].as_f64()), (Some(22.5), Some(30.0)));
}
