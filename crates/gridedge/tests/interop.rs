//! Interop with real peers (issue: the spine's section 6): the Python `gurux-dlms` and
//! `dlms-cosem` clients read our simulated meter over TCP, and `gridedge read` reads a
//! meter built on gurux-dlms's server classes. The values must equal what each meter
//! holds. A pass against these lenient peers is necessary, not sufficient: the strict
//! checks are the known-answer tests of the `dlms` crate.

mod common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use meter::{MeterConfig, SimulatedMeter};
use serde_json::Value;

const SERIAL: &str = "GE12345678";
const SEED: u64 = 42;

/// A past, whole-interval window: [t - 2 h, t] where t is the last quarter hour at
/// least 30 minutes ago (so both ends exist in the profile whatever the meter's drift).
fn past_window() -> (Timestamp, Timestamp) {
    let now = Timestamp::now().as_second();
    let to = (now - 1800).div_euclid(900) * 900;
    (Timestamp::from_second(to - 7200).unwrap(), Timestamp::from_second(to).unwrap())
}

/// What our meter holds for that window, from its object model (the reference the
/// wire path must reproduce): for each capture time, A+, A-, R+, R- in Wh / varh.
fn expected_profile(from: Timestamp, to: Timestamp) -> Vec<(Timestamp, [u64; 4])> {
    let m = SimulatedMeter::new(SERIAL, SEED, MeterConfig::default()).unwrap();
    let mut out = vec![];
    let mut t = from;
    while t <= to {
        // A capture at meter time t holds the registers at meter time t.
        let r = m.metrology().registers(t.as_millisecond());
        out.push((t, [r.active_import_wh, r.active_export_wh, r.reactive_import_varh, r.reactive_export_varh]));
        t += SignedDuration::from_mins(15);
    }
    out
}

fn check_python_client_against_our_meter(script: &str) {
    let (_meter, port) = spawn_our_meter(SERIAL, SEED);
    let (from, to) = past_window();
    let before = Timestamp::now();
    let mut cmd = python();
    cmd.arg(interop_script(script)).args([
        "127.0.0.1",
        &port.to_string(),
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
    ]);
    let got = run_json(cmd);
    let after = Timestamp::now();

    assert_eq!(got["serial"], SERIAL);
    // Clock: the meter's drift is within ±5 s of true time.
    let clock: Timestamp = got["clock"].as_str().unwrap().parse().unwrap();
    assert!(clock >= before - SignedDuration::from_secs(7) && clock <= after + SignedDuration::from_secs(7), "{clock}");
    // A+ with scaler/unit: Wh, scaler 0; between the register at the start and end of the read.
    assert_eq!(got["unit"], 30, "unit Wh");
    assert_eq!(got["scaler"], 0);
    let meter = SimulatedMeter::new(SERIAL, SEED, MeterConfig::default()).unwrap();
    let lo = meter.registers(before - SignedDuration::from_secs(1)).active_import_wh as f64;
    let hi = meter.registers(after + SignedDuration::from_secs(1)).active_import_wh as f64;
    let a_plus = got["active_energy_import_wh"].as_f64().unwrap();
    assert!(lo <= a_plus && a_plus <= hi, "A+ {a_plus} outside [{lo}, {hi}]");

    // Load profile by range: every capture in [from, to], 15 minutes apart, equal to the
    // meter's own values.
    let profile = got["profile"].as_array().unwrap();
    let want = expected_profile(from, to);
    assert_eq!(profile.len(), want.len(), "entries in [{from}, {to}]");
    for (row, (t, values)) in profile.iter().zip(&want) {
        let time: Timestamp = row["time"].as_str().unwrap().parse().unwrap();
        assert_eq!(time, *t);
        let got_values: Vec<u64> = row["values"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(got_values, values.to_vec(), "values at {t}");
    }
    // Consecutive captures differ by the interval's energy: never negative.
    for w in want.windows(2) {
        assert!(w[1].1[0] >= w[0].1[0]);
    }
}

#[test]
fn gurux_dlms_client_reads_our_meter() {
    check_python_client_against_our_meter("gurux_client_read.py");
}

#[test]
fn dlms_cosem_client_reads_our_meter() {
    check_python_client_against_our_meter("dlms_cosem_client_read.py");
}

fn spawn_gurux_meter(extra: &[&str]) -> (Guard, u16, Value) {
    let mut dump = python();
    dump.arg(interop_script("gurux_meter.py")).arg("0").args(extra).arg("--dump-expected");
    let expected = run_json(dump);
    let mut cmd = python();
    cmd.arg(interop_script("gurux_meter.py")).arg("0").args(extra).args(["--lifetime", "240"]);
    let (guard, line) = spawn_until(cmd, "READY");
    let port = line.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("READY <port>");
    (guard, port, expected)
}

fn check_gridedge_read(extra_meter: &[&str], extra_read: &[&str]) {
    let (_meter, port, expected) = spawn_gurux_meter(extra_meter);
    let mut cmd = gridedge();
    cmd.args(["read", "--host", "127.0.0.1", "--port", &port.to_string(), "--obis", "1.0.1.8.0.255"])
        .args(["--from", "2024-01-01T00:00:00Z", "--to", "2025-01-01T00:00:00Z"])
        .args(extra_read);
    let got = run_json(cmd);

    assert_eq!(got["serial"], expected["serial"]);
    let reg = &got["registers"][0];
    assert_eq!(reg["obis"], "1.0.1.8.0.255");
    assert_eq!(reg["raw"].as_f64(), expected["active_energy_import_wh"].as_f64().map(|_| 123456.0));
    assert_eq!(reg["unit"], expected["unit"]);
    assert_eq!(reg["scaler"], expected["scaler"]);
    let scale = 10f64.powi(expected["scaler"].as_i64().unwrap() as i32);
    assert_eq!(reg["value"].as_f64().unwrap(), 123456.0 * scale);

    let want = expected["profile"].as_array().unwrap();
    let entries = got["load_profile"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), want.len());
    for (row, w) in entries.iter().zip(want) {
        assert_eq!(
            row[0]["utc"].as_str().map(|s| s.parse::<Timestamp>().unwrap()),
            w["time"].as_str().map(|s| s.parse().unwrap())
        );
        assert_eq!(row[1].as_f64(), w["status"].as_f64());
        let values: Vec<f64> = row.as_array().unwrap()[2..].iter().map(|v| v.as_f64().unwrap()).collect();
        let want_values: Vec<f64> = w["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(values, want_values);
    }
}

#[test]
fn gridedge_read_reads_a_gurux_meter_as_public_client() {
    check_gridedge_read(&[], &[]);
}

#[test]
fn gridedge_read_reads_a_gurux_meter_with_lls_and_block_transfer() {
    // A small server PDU forces the gurux meter to send the profile in blocks.
    check_gridedge_read(
        &["--password", "Secr3t!!", "--max-pdu", "128"],
        &["--client-address", "1", "--auth", "low", "--password", "Secr3t!!"],
    );
}

#[test]
fn gridedge_read_reports_a_refused_password() {
    let (_meter, port, _) = spawn_gurux_meter(&["--password", "right-pw"]);
    let mut cmd = gridedge();
    cmd.args(["read", "--host", "127.0.0.1", "--port", &port.to_string(), "--client-address", "1"]).args([
        "--auth",
        "low",
        "--password",
        "wrong-pw",
        "--timeout",
        "5",
        "--no-profile",
    ]);
    let out = run(cmd);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot associate"), "{stderr}");
}
