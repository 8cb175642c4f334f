//! `gridedge bench collect` collects a small simulated fleet over real DLMS/COSEM sessions
//! on loopback TCP and reports the work done as JSON. Only the counts are checked, never a
//! duration or a rate.

mod common;

use common::*;
use serde_json::Value;

/// Meters in each run.
const METERS: u64 = 20;
/// Load profile 1 captures +A, −A, +R and −R (besides the clock and the status).
const CHANNELS: u64 = 4;
/// The HES reads 9 registers (billing energy and instantaneous values).
const REGISTERS: u64 = 9;
/// One day of 15-minute intervals.
const INTERVALS_PER_DAY: u64 = 96;

fn count(report: &Value, key: &str) -> u64 {
    report[key].as_u64().unwrap_or_else(|| panic!("{key} missing or not a count: {report}"))
}

/// The counts every successful run of `METERS` meters and one day must report.
fn assert_complete_collection(report: &Value) {
    assert_eq!(count(report, "meters"), METERS);
    assert_eq!(count(report, "sessions_ok"), METERS, "{report}");
    assert_eq!(count(report, "sessions_failed"), 0, "{report}");
    assert_eq!(count(report, "retries"), 0, "{report}");
    assert_eq!(count(report, "intervals"), METERS * INTERVALS_PER_DAY);
    assert_eq!(count(report, "interval_values"), METERS * INTERVALS_PER_DAY * CHANNELS);
    assert_eq!(count(report, "register_values"), METERS * REGISTERS);
    assert_eq!(count(report, "readings"), METERS * (INTERVALS_PER_DAY * CHANNELS + REGISTERS));
    // What reached the sink is what the campaign counted.
    assert_eq!(count(report, "sink_meter_readings"), METERS);
    assert_eq!(count(report, "sink_interval_values"), METERS * INTERVALS_PER_DAY * CHANNELS);
    assert_eq!(count(report, "sink_register_values"), METERS * REGISTERS);
    // One connection per meter, each meter built from its seed for it and dropped after.
    assert_eq!(count(report, "fleet_connections"), METERS);
    assert_eq!(count(report, "fleet_materialisations"), METERS);
    assert_eq!(count(report, "fleet_materialised_after"), 0);
    assert!(count(report, "fleet_accounted_bytes_per_meter") >= 16, "{report}");
    assert!(report["nofile_soft"].is_u64() || report["nofile_soft"].is_null(), "{report}");
}

#[test]
fn bench_collect_reads_every_meter_over_hls_gmac() {
    let mut cmd = gridedge();
    // An OS-assigned port, so a concurrent run on the default port 4059 cannot collide.
    cmd.args(["bench", "collect", "--meters", &METERS.to_string(), "--port", "0", "--json"]);
    let report = run_json(cmd);
    assert_eq!(report["security"], "hls-gmac");
    assert_eq!(report["days_history"], 1);
    assert_eq!(report["listen"], "per-meter", "20 listeners fit any descriptor limit: {report}");
    assert!(report.get("store").is_none());
    assert_complete_collection(&report);
}

#[test]
fn bench_collect_with_a_shared_listener_stores_every_reading_in_sqlite() {
    let mut cmd = gridedge();
    cmd.args(["bench", "collect", "--meters", &METERS.to_string(), "--port", "0", "--listen", "shared"]);
    cmd.args(["--security", "lls", "--store", "sqlite", "--json"]);
    let report = run_json(cmd);
    assert_eq!(report["security"], "lls");
    assert_eq!(report["listen"], "shared");
    assert_complete_collection(&report);
    let store = &report["store"];
    assert_eq!(count(store, "store_errors"), 0, "{report}");
    assert_eq!(count(store, "stored_interval_values"), METERS * INTERVALS_PER_DAY * CHANNELS);
    assert_eq!(count(store, "stored_register_values"), METERS * REGISTERS);
    assert_eq!(count(store, "database_interval_rows"), METERS * INTERVALS_PER_DAY * CHANNELS);
    assert_eq!(count(store, "database_register_rows"), METERS * REGISTERS);
}
