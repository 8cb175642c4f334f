//! The end-to-end demo: a fleet, the HES and the MDMS in one process over loopback
//! DLMS/COSEM, checked through the CLI's JSON summary and by reading the database
//! back with the MDMS store.

mod common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use mdms::{MeterDataStore, SqliteStore};
use model::{MeterId, QualityFlags, ReadingType};

#[test]
fn demo_collects_every_interval_of_every_meter_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let (meters, days) = (12u64, 2u64);
    let mut cmd = gridedge();
    cmd.args(["demo", "--meters", &meters.to_string(), "--days", &days.to_string(), "--json", "--db"]).arg(&db);
    let first = run_json(cmd);
    assert_eq!(first["failures"], 0, "{first}");
    assert_eq!(first["meters_read"], meters);
    assert_eq!(first["intervals_collected"], meters * days * 96);
    // 4 energy channels per interval (A+, A-, R+, R-), each stored once.
    assert_eq!(first["database_interval_rows"], meters * days * 96 * 4);
    assert_eq!(first["interval_values_stored_new"], meters * days * 96 * 4);
    assert_eq!(first["database_meters"], meters);

    // The database, read back through the store.
    let store = SqliteStore::open(&db).unwrap();
    let meter = MeterId("GE00000001".into());
    let last = store.last_interval_end(&meter, ReadingType::ActiveEnergyImport).unwrap().unwrap();
    assert_eq!(last.as_second() % 900, 0, "interval ends are quarter hours");
    let from = last - SignedDuration::from_hours(24 * days as i64);
    let a_plus = store
        .interval_readings(&meter, ReadingType::ActiveEnergyImport, from, last + SignedDuration::from_secs(1))
        .unwrap();
    assert_eq!(a_plus.len() as u64, days * 96);
    for w in a_plus.windows(2) {
        assert_eq!(w[1].interval_end.duration_since(w[0].interval_end), SignedDuration::from_mins(15));
        assert!(w[1].value >= w[0].value, "cumulative A+ never decreases");
        assert_eq!(w[1].version, 1);
    }
    assert!(a_plus.iter().all(|i| i.quality == QualityFlags::default()));
    // The A+ register read in the same session is at or after the last capture, by less
    // than 15 minutes of consumption (a household never draws 100 kW).
    let regs = store
        .register_reads(
            &meter,
            ReadingType::ActiveEnergyImport,
            Timestamp::UNIX_EPOCH,
            Timestamp::now() + SignedDuration::from_hours(1),
        )
        .unwrap();
    let reg = regs.last().unwrap();
    let last_capture = a_plus.last().unwrap().value;
    assert!(
        reg.value >= last_capture && reg.value - last_capture < 25_000.0,
        "register {} vs last capture {last_capture}",
        reg.value
    );
    // Tariff registers add up to the total.
    let t1 = store
        .register_reads(
            &meter,
            ReadingType::ActiveEnergyImportT1,
            reg.read_at,
            reg.read_at + SignedDuration::from_secs(1),
        )
        .unwrap();
    let t2 = store
        .register_reads(
            &meter,
            ReadingType::ActiveEnergyImportT2,
            reg.read_at,
            reg.read_at + SignedDuration::from_secs(1),
        )
        .unwrap();
    assert_eq!(t1[0].value + t2[0].value, reg.value);
    // The clock drift of each collection is recorded (simulated meters drift by ≤ 5 s; the
    // measurement may be off by half a round trip).
    let drift = store.clock_drift_history(&meter).unwrap();
    assert_eq!(drift.len(), 1);
    assert!(drift[0].clock_drift_ms.unwrap().abs() <= 10_000);
    drop(store);

    // A resumed run reads only what is new since the last stored interval: nothing is
    // stored twice and nothing is revised.
    let mut cmd = gridedge();
    cmd.args(["demo", "--resume", "--meters", &meters.to_string(), "--days", &days.to_string(), "--json", "--db"])
        .arg(&db);
    let second = run_json(cmd);
    assert_eq!(second["failures"], 0, "{second}");
    assert_eq!(second["interval_values_revised"], 0);
    let new = second["interval_values_stored_new"].as_u64().unwrap();
    assert!(new <= meters * 4 * 2, "only the intervals completed since the first run: {new}");
    assert_eq!(second["database_interval_rows"].as_u64().unwrap(), meters * days * 96 * 4 + new);
}

#[test]
fn demo_collects_over_hdlc() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hdlc.db");
    let mut cmd = gridedge();
    cmd.args(["demo", "--meters", "3", "--days", "1", "--transport", "hdlc", "--json", "--db"]).arg(&db);
    let v = run_json(cmd);
    assert_eq!(v["failures"], 0, "{v}");
    assert_eq!(v["intervals_collected"], 3 * 96);
    assert_eq!(v["database_interval_rows"], 3 * 96 * 4);
}

#[test]
fn demo_refuses_nonsense_arguments() {
    let mut cmd = gridedge();
    cmd.args(["demo", "--meters", "0"]);
    let out = run(cmd);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--meters"));
}

#[test]
fn read_reports_an_unreachable_meter() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = gridedge();
    cmd.args(["read", "--host", "127.0.0.1", "--port", &port.to_string(), "--timeout", "2"]);
    let out = run(cmd);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot associate") || stderr.contains("cannot connect"), "{stderr}");
}

#[test]
fn decode_prints_json_for_a_wrapper_frame_and_rejects_garbage() {
    // AARQ without authentication (vector aarq-no-security) in a wrapper frame 0x10 -> 0x01.
    let mut cmd = gridedge();
    cmd.args(["decode", "0001 0010 0001 001F 601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF"]);
    let v = run_json(cmd);
    assert_eq!(v["wrapper"]["source_wport"], 16);
    assert_eq!(v["wrapper"]["destination_wport"], 1);
    assert_eq!(v["apdu"]["apdu"], "AARQ");
    assert_eq!(v["apdu"]["fields"]["application_context_name"], "LogicalNameNoCiphering");
    // get-response-normal, data double-long-unsigned 1.
    let mut cmd = gridedge();
    cmd.args(["decode", "C401C1000600000001"]);
    let v = run_json(cmd);
    assert_eq!(v["apdu"]["apdu"], "get-response");
    assert_eq!(v["apdu"]["fields"]["Normal"]["result"]["Data"]["value"], 1.0);
    let mut cmd = gridedge();
    cmd.args(["decode", "C401"]);
    let out = run(cmd);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
}
