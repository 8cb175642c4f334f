//! `gridedge bench ingest` on a tiny fleet: the counts it reports (never a duration), on
//! SQLite and PostgreSQL, over the in-process bus and NATS JetStream (a private server).

mod common;

use common::nats_server::NatsServer;
use common::postgres_db::PostgresDb;
use common::*;
use serde_json::Value;

fn phase<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["phases"]
        .as_array()
        .and_then(|phases| phases.iter().find(|p| p["phase"] == name))
        .unwrap_or_else(|| panic!("phase {name} missing: {report}"))
}

#[test]
fn bench_ingest_reports_first_ingest_and_replay_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.sqlite");
    let mut cmd = gridedge();
    cmd.args(["bench", "ingest", "--meters", "5", "--days", "2", "--batch-meters", "3", "--json", "--db"]).arg(&db);
    let report = run_json(cmd);
    assert_eq!(report["benchmark"], "ingest");
    assert_eq!(report["config"]["vee"], true);
    // 5 meters × 2 days = 10 MeterReadings of 96 intervals × 4 channels and 4 register reads.
    assert_eq!(report["data_set"]["meter_readings"], 10);
    assert_eq!(report["data_set"]["readings"], 3_840);
    assert_eq!(report["data_set"]["register_reads"], 40);

    let first = phase(&report, "first ingest");
    assert_eq!(first["readings"], 3_840);
    assert_eq!(first["meter_readings"], 10);
    assert_eq!(first["ingest"]["intervals_new"], 3_840);
    assert_eq!(first["ingest"]["intervals_duplicate"], 0);
    assert_eq!(first["ingest"]["registers_new"], 40);
    // Every channel of every meter-day is validated; at most 3 readings per transaction.
    assert_eq!(first["validation"]["channels"], 40);
    assert!(first["transactions"].as_u64().unwrap() >= 4, "{first}");

    let replay = phase(&report, "replay");
    assert_eq!(replay["ingest"]["intervals_new"], 0);
    assert_eq!(replay["ingest"]["intervals_duplicate"], 3_840);
    assert_eq!(replay["ingest"]["registers_duplicate"], 40);
    // A pure replay changes no value, so nothing is validated again.
    assert_eq!(replay["validation"]["channels"], 0);

    assert_eq!(report["stored"]["meters"], 5);
    assert_eq!(report["stored"]["interval_rows"], 3_840);
    assert_eq!(report["stored"]["register_rows"], 40);
    assert_eq!(report["stored"]["collections"], 10);
    assert_eq!(report["disk"]["stored_values"], 3_880);
    let bytes = report["disk"]["after_first_ingest"]["bytes"].as_u64().unwrap();
    assert_eq!(bytes, std::fs::metadata(&db).unwrap().len(), "checkpointed: the log is empty");
    assert_eq!(report["disk"]["after_replay"]["bytes"].as_u64(), Some(bytes), "a replay writes nothing");
    assert!(report["peak_rss_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn bench_ingest_without_vee_validates_nothing() {
    let mut cmd = gridedge();
    cmd.args(["bench", "ingest", "--meters", "2", "--days", "1", "--channels", "1", "--vee", "off"]);
    cmd.args(["--replay", "off", "--json"]);
    let report = run_json(cmd);
    let first = phase(&report, "first ingest");
    assert_eq!(first["ingest"]["intervals_new"], 192);
    assert_eq!(first["ingest"]["registers_new"], 2);
    assert_eq!(first["validation"]["channels"], 0);
    assert_eq!(report["phases"].as_array().unwrap().len(), 1);
}

/// The counts of a 3-meter × 1-day run (1,152 readings), whichever store and bus carried it.
fn assert_tiny_run_counts(report: &Value, store: &str, bus: &str) {
    assert_eq!(report["config"]["store"], store);
    assert_eq!(report["config"]["bus"], bus);
    let first = phase(report, "first ingest");
    assert_eq!(first["meter_readings"], 3);
    assert_eq!(first["ingest"]["intervals_new"], 1_152);
    assert_eq!(first["ingest"]["registers_new"], 12);
    let replay = phase(report, "replay");
    assert_eq!(replay["ingest"]["intervals_duplicate"], 1_152, "the replay crosses the bus again: {replay}");
    assert_eq!(replay["ingest"]["intervals_new"], 0);
    assert_eq!(report["stored"]["interval_rows"], 1_152);
    assert_eq!(report["stored"]["interval_revisions"], 0);
}

#[test]
fn bench_ingest_over_jetstream_stores_every_reading_once() {
    let nats = NatsServer::start();
    let mut cmd = gridedge();
    cmd.args(["bench", "ingest", "--meters", "3", "--days", "1", "--batch-meters", "2", "--json"]);
    cmd.args(["--bus", "nats", "--nats-url", &nats.url()]);
    let report = run_json(cmd);
    assert_tiny_run_counts(&report, "sqlite", "nats");
}

#[test]
fn bench_ingest_into_postgres_stores_every_reading_once() {
    let Some(db) = PostgresDb::create() else { return };
    let mut cmd = gridedge();
    cmd.args(["bench", "ingest", "--meters", "3", "--days", "1", "--json"]);
    cmd.args(["--store", "postgres", "--postgres", &db.conninfo()]);
    let report = run_json(cmd);
    assert_tiny_run_counts(&report, "postgres", "inproc");
    let schema = report["store"]["schema"].as_str().expect("schema named in the report").to_string();
    let mut client = postgres::Client::connect(&db.conninfo(), postgres::NoTls).unwrap();
    let left: i64 = client
        .query_one("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = $1", &[&schema])
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the benchmark schema is dropped without --keep");
}

#[test]
fn bench_ingest_names_an_unreachable_nats_server() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = gridedge()
        .args(["bench", "ingest", "--meters", "1", "--days", "1", "--bus", "nats", "--nats-url"])
        .arg(format!("nats://127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("connecting to NATS JetStream"), "{stderr}");
}

/// The counts of a 4-meter × 3-day run (12 MeterReadings, 4,608 readings, 48 register
/// reads) ingested by two writers: every value stored once whichever writer took it, and
/// the writers' shares adding up to the whole.
fn assert_two_writer_counts(report: &Value, bus: &str) {
    assert_eq!(report["config"]["store"], "postgres");
    assert_eq!(report["config"]["bus"], bus);
    assert_eq!(report["config"]["writers"], 2);
    assert_eq!(report["store"]["writer_connections"], 2);
    let first = phase(report, "first ingest");
    assert_eq!(first["meter_readings"], 12);
    assert_eq!(first["readings"], 4_608);
    assert_eq!(first["ingest"]["intervals_new"], 4_608);
    assert_eq!(first["ingest"]["intervals_duplicate"], 0);
    assert_eq!(first["ingest"]["intervals_revised"], 0);
    assert_eq!(first["ingest"]["registers_new"], 48);
    // VEE runs once per channel of each meter in a transaction, over all of that meter's
    // days in it. Which days share a transaction depends on how the two writers' pulls
    // interleave: each transaction validates the 4 channels of at least one meter, and at
    // most every channel of every meter-day (48) is validated on its own.
    let transactions = first["transactions"].as_u64().unwrap();
    let channels = first["validation"]["channels"].as_u64().unwrap();
    assert!((4 * transactions..=48).contains(&channels), "{first}");
    let writers = first["writers"].as_array().expect("per-writer shares");
    assert_eq!(writers.len(), 2, "{first}");
    let share = |key: &str| writers.iter().map(|w| w[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!(share("meter_readings"), 12);
    assert_eq!(share("intervals_new"), 4_608);
    assert_eq!(share("transactions"), first["transactions"].as_u64().unwrap());

    let replay = phase(report, "replay");
    assert_eq!(replay["meter_readings"], 12);
    assert_eq!(replay["ingest"]["intervals_new"], 0);
    assert_eq!(replay["ingest"]["intervals_duplicate"], 4_608);
    assert_eq!(replay["ingest"]["registers_duplicate"], 48);
    assert_eq!(replay["validation"]["channels"], 0, "a pure replay changes no value: {replay}");

    assert_eq!(report["stored"]["meters"], 4);
    assert_eq!(report["stored"]["collections"], 12);
    assert_eq!(report["stored"]["interval_rows"], 4_608);
    assert_eq!(report["stored"]["register_rows"], 48);
    assert_eq!(report["stored"]["interval_revisions"], 0);
}

#[test]
fn bench_ingest_with_two_postgres_writers_stores_every_reading_once() {
    let Some(db) = PostgresDb::create() else { return };
    let mut cmd = gridedge();
    cmd.args(["bench", "ingest", "--meters", "4", "--days", "3", "--batch-meters", "2", "--json"]);
    cmd.args(["--store", "postgres", "--postgres", &db.conninfo(), "--writers", "2"]);
    let report = run_json(cmd);
    assert_two_writer_counts(&report, "inproc");
}

#[test]
fn bench_ingest_with_two_writers_on_one_durable_consumer_stores_every_reading_once() {
    let Some(db) = PostgresDb::create() else { return };
    let nats = NatsServer::start();
    let mut cmd = gridedge();
    cmd.args(["bench", "ingest", "--meters", "4", "--days", "3", "--batch-meters", "2", "--json"]);
    cmd.args(["--store", "postgres", "--postgres", &db.conninfo(), "--writers", "2"]);
    cmd.args(["--bus", "nats", "--nats-url", &nats.url()]);
    let report = run_json(cmd);
    assert_two_writer_counts(&report, "nats");
}

#[test]
fn bench_ingest_refuses_several_sqlite_writers() {
    let out = gridedge().args(["bench", "ingest", "--meters", "1", "--days", "1", "--writers", "2"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--writers 2 needs --store postgres"), "{stderr}");
    assert!(stderr.contains("SQLite takes one writer at a time"), "{stderr}");
}
