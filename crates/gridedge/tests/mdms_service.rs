//! `gridedge mdms run` under faults, against a private nats-server (never the shared one):
//!
//! - the MDMS SIGKILLed mid-stream and restarted: every published reading is stored
//!   exactly once and acknowledged (SQLite store, and PostgreSQL in a fresh database);
//! - NATS restarted while a publisher publishes and the MDMS consumes: both resume, every
//!   reading is stored exactly once;
//! - SIGTERM: the MDMS finishes, prints its JSON summary and exits 0; command results are
//!   recorded once each in `mdms_command_result`.
//!
//! Timeouts are failure guards only (no assertion on durations).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bus::{BusMessage, CommandResultEnvelope, CommandResultState, JetStreamBus, JetStreamConfig, Publisher};
use common::nats_server::NatsServer;
use common::postgres_db::PostgresDb;
use common::*;
use jiff::Timestamp;
use mdms::{MeterDataStore, PgStore, SqliteStore};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType, RegisterRead};

/// Failure guard for every wait.
const GUARD: Duration = Duration::from_secs(120);
/// The durable consumer the MDMS uses in these tests.
const CONSUMER: &str = "mdms";

/// First day of the test data (UTC midnight).
fn first_day() -> Timestamp {
    "2025-06-02T00:00:00Z".parse().unwrap()
}

/// The cumulative +A value of meter `m` at the end of interval `i` of day `d`, Wh: a
/// known, strictly increasing series (what the stored values are compared with).
fn expected_value(m: usize, d: usize, i: usize) -> f64 {
    1_000_000.0 * m as f64 + 10_000.0 * (d * 96 + i) as f64 + 0.5
}

/// One meter-day: 96 15-minute +A values and one register read.
fn meter_day(m: usize, d: usize) -> MeterReading {
    let day = first_day() + jiff::SignedDuration::from_hours(24 * d as i64);
    let intervals = (0..96)
        .map(|i| IntervalReading {
            reading_type: ReadingType::ActiveEnergyImport,
            interval_end: day + jiff::SignedDuration::from_mins(15 * (i as i64 + 1)),
            value: expected_value(m, d, i),
            quality: QualityFlags(0),
        })
        .collect();
    let end_of_day = day + jiff::SignedDuration::from_hours(24);
    MeterReading {
        meter: MeterId(format!("T{m:05}")),
        collected_at: end_of_day + jiff::SignedDuration::from_mins(5),
        clock_drift_ms: Some(0),
        interval_length_s: 900,
        registers: vec![RegisterRead {
            reading_type: ReadingType::ActiveEnergyImport,
            read_at: end_of_day,
            value: expected_value(m, d, 95),
        }],
        intervals,
    }
}

fn fleet(meters: usize, days: usize) -> Vec<MeterReading> {
    (0..meters).flat_map(|m| (0..days).map(move |d| meter_day(m, d))).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Connects the gridedge streams on `url` (default names), retrying while the server starts.
async fn connect_bus(url: &str) -> JetStreamBus {
    let deadline = Instant::now() + GUARD;
    loop {
        match JetStreamBus::connect(JetStreamConfig::new(url)).await {
            Ok(bus) => return bus,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for JetStream: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("JetStream at {url}: {e}"),
        }
    }
}

/// Publishes `message`, repeating it (same id) until the stream confirms it.
async fn publish_until_confirmed(publisher: &bus::JetStreamPublisher, message: BusMessage) {
    let deadline = Instant::now() + GUARD;
    while let Err(e) = publisher.publish(message.clone()).await {
        assert!(Instant::now() < deadline, "publish never confirmed: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// State of the MDMS's durable consumer on `kind`'s stream: (messages in the stream,
/// acknowledged floor (stream sequence), pending delivery, delivered and unacknowledged).
async fn consumer_state(url: &str, stream: &str) -> Option<(u64, u64, u64, u64)> {
    let client = async_nats::connect(url).await.ok()?;
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(stream).await.ok()?;
    let messages = stream.info().await.ok()?.state.messages;
    let mut consumer: async_nats::jetstream::consumer::PullConsumer = stream.get_consumer(CONSUMER).await.ok()?;
    let info = consumer.info().await.ok()?;
    Some((messages, info.ack_floor.stream_sequence, info.num_pending, info.num_ack_pending as u64))
}

/// Waits until the readings consumer has acknowledged all `total` messages of the stream.
fn wait_all_acknowledged(rt: &tokio::runtime::Runtime, url: &str, total: u64) -> (u64, u64, u64, u64) {
    let deadline = Instant::now() + GUARD;
    loop {
        let state = rt.block_on(consumer_state(url, "GRIDEDGE_READINGS"));
        if let Some(s @ (messages, floor, 0, 0)) = state
            && messages == total
            && floor == total
        {
            return s;
        }
        assert!(Instant::now() < deadline, "the stream was not consumed in time: {state:?} of {total}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn write_config(dir: &Path, nats_url: &str, store: &str) -> std::path::PathBuf {
    write_config_ack_wait(dir, nats_url, store, 30)
}

/// [`write_config`] with the bus's `ack_wait_s`: short only where a killed MDMS's
/// unacknowledged messages must come back quickly.
fn write_config_ack_wait(dir: &Path, nats_url: &str, store: &str, ack_wait_s: u32) -> std::path::PathBuf {
    let path = dir.join("gridedge.toml");
    let text = format!(
        "{store}\n[bus]\ntransport = \"nats\"\nnats_url = \"{nats_url}\"\nack_wait_s = {ack_wait_s}\n\n\
         [mdms]\nconsumer = \"{CONSUMER}\"\nbatch = 8\nretry_delay_s = 1\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn sqlite_store_section(db: &Path) -> String {
    format!("[store]\nbackend = \"sqlite\"\nsqlite_path = \"{}\"\n", db.display())
}

fn postgres_store_section(conninfo: &str) -> String {
    format!("[store]\nbackend = \"postgres\"\npostgres = \"{conninfo}\"\n")
}

fn start_mdms(config: &Path) -> Child {
    gridedge()
        .args(["mdms", "run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting gridedge mdms run")
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -{name}");
}

/// SIGTERMs the MDMS and returns its one-line JSON summary (it must exit 0).
fn stop_mdms(mut child: Child) -> serde_json::Value {
    signal(&child, "TERM");
    let deadline = Instant::now() + GUARD;
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "mdms run did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "mdms run exit status {:?}", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_else(|| panic!("no summary on stdout: {stdout:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("summary is not JSON ({e}): {line}"))
}

/// Every published value is stored exactly once, with the value published.
fn assert_stored_exactly_once(store: &dyn MeterDataStore, meters: usize, days: usize) {
    let summary = store.summary().unwrap();
    assert_eq!(summary.meters, meters as u64);
    assert_eq!(summary.interval_rows, (meters * days * 96) as u64, "one row per published interval value");
    assert_eq!(summary.interval_revisions, 0, "no value stored twice as a new version");
    assert_eq!(summary.register_rows, (meters * days) as u64);
    assert_eq!(summary.register_revisions, 0);
    assert_eq!(summary.collections, (meters * days) as u64);
    let end = first_day() + jiff::SignedDuration::from_hours(24 * days as i64 + 1);
    for m in 0..meters {
        let stored = store
            .interval_readings(&MeterId(format!("T{m:05}")), ReadingType::ActiveEnergyImport, first_day(), end)
            .unwrap();
        let values: Vec<(f64, u32)> = stored.iter().map(|s| (s.value, s.version)).collect();
        let expected: Vec<(f64, u32)> =
            (0..days).flat_map(|d| (0..96).map(move |i| (expected_value(m, d, i), 1))).collect();
        assert_eq!(values, expected, "meter {m}");
    }
}

/// Publishes the whole fleet, starts the MDMS, SIGKILLs it once some (not all) readings are
/// acknowledged, restarts it and waits for the stream to be consumed; returns the final
/// run's summary.
fn kill_mid_stream_and_recover(store_section: &str, meters: usize, days: usize) -> serde_json::Value {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config_ack_wait(dir.path(), &nats.url(), store_section, 2);
    let rt = runtime();
    let readings = fleet(meters, days);
    let total = readings.len() as u64;
    rt.block_on(async {
        let bus = connect_bus(&nats.url()).await;
        let messages = readings.iter().map(|r| BusMessage::reading(r).unwrap()).collect();
        bus.publisher().publish_all(messages).await.unwrap();
    });

    let first = start_mdms(&config);
    // Watched on one connection (one round trip a poll), so the kill lands early in the
    // stream even on a loaded machine.
    rt.block_on(async {
        let deadline = Instant::now() + GUARD;
        let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
        let mut consumer = loop {
            let found = match js.get_stream("GRIDEDGE_READINGS").await {
                Ok(stream) => stream.get_consumer::<async_nats::jetstream::consumer::pull::Config>(CONSUMER).await.ok(),
                Err(_) => None,
            };
            if let Some(consumer) = found {
                break consumer;
            }
            assert!(Instant::now() < deadline, "the MDMS created no consumer");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        loop {
            if consumer.info().await.is_ok_and(|i| i.ack_floor.stream_sequence > 0) {
                break;
            }
            assert!(Instant::now() < deadline, "the MDMS acknowledged nothing");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let mut first = first;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    // What the killed process had acknowledged (nothing acknowledges while none runs).
    let (_, floor_at_kill, _, _) =
        rt.block_on(consumer_state(&nats.url(), "GRIDEDGE_READINGS")).expect("consumer state after the kill");
    assert!(floor_at_kill < total, "killed mid-stream: {floor_at_kill} of {total} acknowledged at the kill");

    let second = start_mdms(&config);
    let (messages, floor, _, _) = wait_all_acknowledged(&rt, &nats.url(), total);
    assert_eq!((messages, floor), (total, total), "every reading acknowledged");
    let summary = stop_mdms(second);
    assert_eq!(summary["mdms"], "stopped");
    assert_eq!(summary["signal"], "SIGTERM");
    assert_eq!(summary["readings"]["poison"], 0);
    let acknowledged = summary["readings"]["acknowledged"].as_u64().unwrap();
    assert!(acknowledged + floor_at_kill >= total, "the restart acknowledged the rest: {summary}");
    summary
}

#[test]
fn mdms_sigkilled_mid_stream_stores_every_reading_once_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mdms.db");
    let (meters, days) = (200, 2);
    let summary = kill_mid_stream_and_recover(&sqlite_store_section(&db), meters, days);
    assert!(summary["events"]["outage_correlation"].as_bool().unwrap());
    let store = SqliteStore::open(&db).unwrap();
    assert_stored_exactly_once(&store, meters, days);
}

#[test]
fn mdms_sigkilled_mid_stream_stores_every_reading_once_postgres() {
    let Some(db) = PostgresDb::create() else { return };
    let (meters, days) = (200, 2);
    kill_mid_stream_and_recover(&postgres_store_section(&db.conninfo()), meters, days);
    let store = PgStore::connect(&db.conninfo()).unwrap();
    assert_stored_exactly_once(&store, meters, days);
}

#[test]
fn nats_restarted_during_collection_loses_and_doubles_nothing() {
    let mut nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mdms.db");
    let config = write_config_ack_wait(dir.path(), &nats.url(), &sqlite_store_section(&db), 5);
    let (meters, days) = (100, 2);
    let readings = fleet(meters, days);
    let total = readings.len() as u64;
    let url = nats.url();
    // The streams exist before the MDMS starts its consumers.
    runtime().block_on(connect_bus(&url));
    let mdms = start_mdms(&config);

    // The HES side: one reading at a time, each confirmed (repeated with its id until it
    // is), reporting progress so the restart happens mid-collection.
    let (progress_tx, progress_rx) = std::sync::mpsc::channel::<usize>();
    let publisher = std::thread::spawn(move || {
        let rt = runtime();
        rt.block_on(async {
            let bus = connect_bus(&url).await;
            let publisher = bus.publisher();
            for (n, reading) in readings.iter().enumerate() {
                publish_until_confirmed(&publisher, BusMessage::reading(reading).unwrap()).await;
                let _ = progress_tx.send(n + 1);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
    });
    let third = total as usize / 3;
    let deadline = Instant::now() + GUARD;
    while progress_rx.recv_timeout(GUARD).expect("publisher progress") < third {
        assert!(Instant::now() < deadline);
    }
    nats.restart();
    let published_before_restart_done = progress_rx.try_iter().last().unwrap_or(third);
    assert!((published_before_restart_done as u64) < total, "restarted during the collection");
    publisher.join().expect("the publisher finished after the restart");

    let rt = runtime();
    wait_all_acknowledged(&rt, &nats.url(), total);
    let summary = stop_mdms(mdms);
    assert_eq!(summary["readings"]["poison"], 0);
    let store = SqliteStore::open(&db).unwrap();
    assert_stored_exactly_once(&store, meters, days);
}

#[test]
fn command_results_are_recorded_once_each_and_sigterm_prints_the_summary() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mdms.db");
    let config = write_config(dir.path(), &nats.url(), &sqlite_store_section(&db));
    let rt = runtime();
    let result = |state: CommandResultState| CommandResultEnvelope {
        command_id: "c-1".into(),
        meter: "T00001".into(),
        state,
        at: "2026-11-21T10:00:00Z".parse().unwrap(),
        reason: (state == CommandResultState::Failed).then(|| "read-write-denied".into()),
        detail: serde_json::json!({ "relay": "connected" }),
    };
    rt.block_on(async {
        let bus = connect_bus(&nats.url()).await;
        let publisher = bus.publisher();
        for state in [CommandResultState::Queued, CommandResultState::Sent, CommandResultState::Failed] {
            publisher.publish(result(state).to_message(4).unwrap()).await.unwrap();
        }
        // A copy under another message id (past JetStream's duplicate window) is stored once.
        let mut copy = result(CommandResultState::Sent).to_message(4).unwrap();
        copy.id.push_str("/again");
        publisher.publish(copy).await.unwrap();
        let mut poison = result(CommandResultState::Confirmed).to_message(4).unwrap();
        poison.payload = b"not json".to_vec();
        publisher.publish(poison).await.unwrap();
    });
    let mdms = start_mdms(&config);
    let deadline = Instant::now() + GUARD;
    loop {
        let done = rt.block_on(consumer_state(&nats.url(), "GRIDEDGE_COMMAND_RESULTS"));
        if matches!(done, Some((5, 5, 0, 0))) {
            break;
        }
        assert!(Instant::now() < deadline, "command results not consumed: {done:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let summary = stop_mdms(mdms);
    let results = &summary["command_results"];
    assert_eq!((results["inserted"].as_u64(), results["duplicates"].as_u64()), (Some(3), Some(1)), "{summary}");
    assert_eq!(results["poison"], 1);
    assert_eq!(summary["readings"]["acknowledged"], 0);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut rows = conn
        .prepare("SELECT state, meter, reason FROM mdms_command_result WHERE command_id = 'c-1' ORDER BY state")
        .unwrap();
    let rows: Vec<(String, String, Option<String>)> =
        rows.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(
        rows,
        vec![
            ("failed".into(), "T00001".into(), Some("read-write-denied".into())),
            ("queued".into(), "T00001".into(), None),
            ("sent".into(), "T00001".into(), None),
        ]
    );
}

#[test]
fn mdms_run_refuses_the_in_process_bus() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gridedge.toml");
    std::fs::write(&path, "[bus]\ntransport = \"in-process\"\n").unwrap();
    let out = gridedge().args(["mdms", "run", "--config"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("transport = \"nats\""), "{stderr}");
}
