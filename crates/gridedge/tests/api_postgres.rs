//! `gridedge api --config FILE` with `[store] backend = "postgres"`: readings, registers,
//! events and outages are served from the PostgreSQL MDMS store (written here with
//! `PgStore`, as `gridedge mdms run` does), events posted to the API land in PostgreSQL,
//! the API's own tables (tokens, audit log, commands) go to the SQLite `api.db` in the
//! working directory, and SIGTERM stops the server cleanly (the PostgreSQL connections are
//! closed off the runtime's threads).
//!
//! Also `gridedge mdms run --config FILE` on PostgreSQL: end-device events from a private
//! nats-server are stored and correlated into outages in PostgreSQL (as on SQLite).
//!
//! Needs PostgreSQL on loopback (or `GRIDEDGE_TEST_POSTGRES`); fails with a message saying
//! so when it is down, unless `GRIDEDGE_SKIP_POSTGRES=1`.

mod common;

use std::time::Duration;

use common::http::http_json as http;
use common::nats_server::NatsServer;
use common::postgres_db::PostgresDb;
use common::*;
use jiff::{SignedDuration, Timestamp};
use mdms::events::{EventQuery, EventStore};
use mdms::outage::{OutageConfig, OutageQuery, OutageState, OutageStore, refresh_outages};
use mdms::topology::{FeederId, ServiceRole, Topology, TopologyStore, TransformerId};
use mdms::{MeterDataStore, PgStore};
use model::{
    EndDeviceEvent, EndDeviceEventType, IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType, RegisterRead,
};

fn t0() -> Timestamp {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

fn ev(meter: &str, event_type: EndDeviceEventType, secs: i64) -> EndDeviceEvent {
    EndDeviceEvent::new(MeterId::from(meter), event_type, at(secs), at(secs + 2), EndDeviceEvent::SOURCE_PUSH)
}

/// What `gridedge mdms run` would have stored: T1 on F1 with A1..A4, four 15-min A+
/// values and an A+ register of A1, last gasps of A1..A3 at t0 restored 20 min later, and
/// the outage correlated from them.
fn fill(store: &mut PgStore) {
    let mut topology = Topology::new();
    topology.add_transformer(TransformerId::from("T1"), FeederId::from("F1")).unwrap();
    for i in 1..=4 {
        topology.connect_meter(MeterId(format!("A{i}")), &TransformerId::from("T1"), ServiceRole::Customer).unwrap();
    }
    store.save_topology(&topology).unwrap();
    let intervals = (1..=4)
        .map(|i| IntervalReading {
            reading_type: ReadingType::ActiveEnergyImport,
            interval_end: at(i * 900),
            value: 100.0 * i as f64,
            quality: QualityFlags::default(),
        })
        .collect();
    let reading = MeterReading {
        meter: MeterId::from("A1"),
        collected_at: at(3600),
        clock_drift_ms: Some(0),
        interval_length_s: 900,
        registers: vec![RegisterRead {
            reading_type: ReadingType::ActiveEnergyImport,
            read_at: at(3600),
            value: 12_345.0,
        }],
        intervals,
    };
    store.ingest(&reading).unwrap();
    let mut events: Vec<_> = (1..=3).map(|i| ev(&format!("A{i}"), EndDeviceEventType::POWER_DOWN, i - 1)).collect();
    events.extend((1..=3).map(|i| ev(&format!("A{i}"), EndDeviceEventType::POWER_RESTORED, 1200)));
    assert_eq!(store.insert_events(&events).unwrap().inserted, 6);
    let report = refresh_outages(store, &topology, &OutageConfig::default(), at(0), at(3600)).unwrap();
    assert_eq!(report.sync.changes.len(), 1);
}

#[test]
fn api_config_on_postgres_serves_readings_events_and_outages() {
    let Some(pg) = PostgresDb::create() else { return };
    let conninfo = pg.conninfo();
    {
        let mut store = PgStore::connect(&conninfo).unwrap();
        fill(&mut store);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gridedge.toml");
    std::fs::write(
        &config,
        format!("[store]\nbackend = \"postgres\"\npostgres = {conninfo:?}\n[api]\nlisten = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
    // The API's own database defaults to api.db in the working directory.
    let api_db = dir.path().join("api.db");
    let out = gridedge()
        .args(["api", "token", "create", "--name", "ops", "--role", "operator", "--json", "--db"])
        .arg(&api_db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = created["token"].as_str().unwrap().to_string();

    let mut cmd = gridedge();
    cmd.current_dir(dir.path()).args(["api", "--config"]).arg(&config);
    let (mut server, line) = spawn_until(cmd, "dashboard: ");
    let url = line.trim_start_matches("dashboard: ").trim();
    let addr = url.trim_start_matches("http://").split('/').next().unwrap().to_string();
    let token = Some(token.as_str());
    let range = "from=2025-06-01T12:00:00Z&to=2025-06-01T14:00:00Z";

    let (status, page) = http(&addr, "GET", &format!("/api/v1/meters/A1/readings?{range}"), token, None);
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    let values: Vec<f64> = items.iter().map(|i| i["value"].as_f64().unwrap()).collect();
    assert_eq!(values, [100.0, 200.0, 300.0, 400.0]);
    assert_eq!(items[0]["interval_end"], "2025-06-01T12:15:00Z");
    assert_eq!(items[3]["version"], 1);

    let (status, registers) = http(&addr, "GET", &format!("/api/v1/meters/A1/registers?{range}"), token, None);
    assert_eq!(status, 200, "{registers}");
    assert!(registers.to_string().contains("12345"), "the A+ register read is served: {registers}");

    let (status, events) = http(&addr, "GET", &format!("/api/v1/events?meter=A2&{range}"), token, None);
    assert_eq!(status, 200, "{events}");
    let types: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(types, [EndDeviceEventType::POWER_DOWN.to_string(), EndDeviceEventType::POWER_RESTORED.to_string()]);

    let (status, outages) = http(&addr, "GET", &format!("/api/v1/outages?{range}&ongoing=false"), token, None);
    assert_eq!(status, 200, "{outages}");
    let outages = outages.as_array().unwrap();
    assert_eq!(outages.len(), 1, "{outages:?}");
    assert_eq!(outages[0]["id"], format!("transformer:T1:{}", t0().as_millisecond()));
    assert_eq!(outages[0]["transformer"], "T1");
    assert_eq!(outages[0]["feeder"], "F1");
    assert_eq!(outages[0]["meters_affected"], 4);
    assert_eq!(outages[0]["restored_at"], "2025-06-01T12:20:00Z");
    assert_eq!(outages[0]["duration_s"], 1200);

    // An event posted to the API is stored in PostgreSQL.
    let body = r#"[{"meter": "A4", "event_type": "3.12.29.39", "occurred_at": "2025-06-01T13:00:00Z"}]"#;
    let (status, recorded) = http(&addr, "POST", "/api/v1/events", token, Some(body));
    assert_eq!(status, 201, "{recorded}");
    assert_eq!(recorded["recorded"], 1);
    let store = PgStore::connect(&conninfo).unwrap();
    let mut query = EventQuery::range(at(0), at(7200));
    query.meters = vec![MeterId::from("A4")];
    let stored = store.events(&query).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event.event_type.to_string(), "3.12.29.39");
    assert_eq!(stored[0].event.occurred_at, at(3600));
    drop(store);

    // SIGTERM: a clean exit.
    let pid = server.0.id().to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let mut status = None;
    for _ in 0..300 {
        if let Some(s) = server.0.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = status.expect("gridedge api exits within 30 s of SIGTERM");
    assert!(status.success(), "gridedge api exited with {status} after SIGTERM");
    assert!(api_db.exists());
}

/// A start-up failure after the PostgreSQL store is reachable (here a TOU schedule that is
/// not JSON) is a clear error and exit code 1, not a panic while the blocking PostgreSQL
/// client is dropped on a runtime thread.
#[test]
fn api_config_on_postgres_fails_cleanly_on_a_bad_tou_file() {
    let Some(pg) = PostgresDb::create() else { return };
    let conninfo = pg.conninfo();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gridedge.toml");
    std::fs::write(
        &config,
        format!("[store]\nbackend = \"postgres\"\npostgres = {conninfo:?}\n[api]\nlisten = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
    let tou = dir.path().join("tou.json");
    std::fs::write(&tou, "{not json").unwrap();
    let out = gridedge()
        .current_dir(dir.path())
        .args(["api", "--config"])
        .arg(&config)
        .arg("--tou")
        .arg(&tou)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TOU schedule") && stderr.contains("tou.json"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn mdms_run_on_postgres_correlates_outages_from_bus_events() {
    use bus::{BusMessage, JetStreamBus, JetStreamConfig, MessageKind, Publisher};
    let Some(pg) = PostgresDb::create() else { return };
    let conninfo = pg.conninfo();
    let mut topology = Topology::new();
    topology.add_transformer(TransformerId::from("T1"), FeederId::from("F1")).unwrap();
    for i in 1..=4 {
        topology.connect_meter(MeterId(format!("A{i}")), &TransformerId::from("T1"), ServiceRole::Customer).unwrap();
    }
    let mut store = PgStore::connect(&conninfo).unwrap();
    store.save_topology(&topology).unwrap();

    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gridedge.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nbackend = \"postgres\"\npostgres = {conninfo:?}\n[bus]\ntransport = \"nats\"\nnats_url = \"{}\"\n\
             ack_wait_s = 2\n[mdms]\nconsumer = \"mdms\"\nbatch = 8\nretry_delay_s = 1\n",
            nats.url()
        ),
    )
    .unwrap();
    // Last gasps of A1..A3, then the restores of all three 20 min later.
    let mut events: Vec<_> = (1..=3).map(|i| ev(&format!("A{i}"), EndDeviceEventType::POWER_DOWN, i - 1)).collect();
    events.extend((1..=3).map(|i| ev(&format!("A{i}"), EndDeviceEventType::POWER_RESTORED, 1200)));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut bus = None;
        for _ in 0..100 {
            match JetStreamBus::connect(JetStreamConfig::new(&nats.url())).await {
                Ok(b) => {
                    bus = Some(b);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        let bus = bus.expect("JetStream of the private nats-server");
        let messages = events
            .iter()
            .map(|e| {
                let id = format!("{}/{}/{}", e.meter.0, e.event_type, e.occurred_at.as_millisecond());
                BusMessage::json(MessageKind::Events, &e.meter.0, id, e).unwrap()
            })
            .collect();
        bus.publisher().publish_all(messages).await.unwrap();
    });

    let mut cmd = gridedge();
    cmd.current_dir(dir.path()).env("RUST_LOG", "warn").args(["mdms", "run", "--config"]).arg(&config);
    let mut mdms = Guard(cmd.stdout(std::process::Stdio::piped()).spawn().unwrap());
    let id = format!("transformer:T1:{}", t0().as_millisecond());
    let range = OutageQuery::range(at(-3600), at(7200));
    let mut outages = Vec::new();
    for _ in 0..600 {
        outages = store.outages(&range).unwrap();
        if outages.first().is_some_and(|o| o.state == OutageState::Closed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(outages.len(), 1, "{outages:?}");
    assert_eq!(outages[0].id, id);
    assert_eq!(outages[0].state, OutageState::Closed, "{outages:?}");
    assert_eq!(outages[0].ended_at, Some(at(1200)));
    assert_eq!(outages[0].customers_interrupted, 4);
    assert_eq!(outages[0].reporting_meters, 3);
    assert_eq!(store.events(&EventQuery::range(at(-3600), at(7200))).unwrap().len(), 6);

    let killed = std::process::Command::new("kill").args(["-TERM", &mdms.0.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let child = std::mem::replace(&mut mdms.0, std::process::Command::new("true").spawn().unwrap());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "mdms run exit status {:?}", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    assert_eq!(summary["events"]["outage_correlation"], true, "{summary}");
    assert_eq!(summary["events"]["inserted"], 6, "{summary}");
}
