//! `gridedge mdms`: the CLI over a store built by ingesting with the mdms crate (and one
//! built by `gridedge demo`), asserting on its JSON output and exit codes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use jiff::{SignedDuration, Timestamp};
use mdms::events::EventStore;
use mdms::vee::{MeterClass, VeeConfig};
use mdms::{MeterDataStore, SqliteStore};
use model::{EndDeviceEvent, EndDeviceEventType, IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType};
use serde_json::{Value, json};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad timestamp {s:?}: {e}"))
}

/// One collection of a cumulative channel: `opening` at `start`, then one value per
/// amount, every `interval_s` seconds; `skip` leaves values out.
fn collection(
    meter: &str,
    rt: ReadingType,
    start: Timestamp,
    interval_s: u32,
    opening: f64,
    amounts: &[f64],
    skip: &[Timestamp],
) -> MeterReading {
    let mut register = opening;
    let mut intervals =
        vec![IntervalReading { reading_type: rt, interval_end: start, value: opening, quality: QualityFlags(0) }];
    for (k, a) in amounts.iter().enumerate() {
        register += a;
        let interval_end = start + SignedDuration::from_secs(i64::from(interval_s) * (k as i64 + 1));
        if !skip.contains(&interval_end) {
            intervals.push(IntervalReading {
                reading_type: rt,
                interval_end,
                value: register,
                quality: QualityFlags(0),
            });
        }
    }
    MeterReading {
        meter: MeterId::from(meter),
        collected_at: intervals.last().map(|i| i.interval_end).unwrap_or(start),
        clock_drift_ms: Some(0),
        interval_length_s: interval_s,
        registers: vec![],
        intervals,
    }
}

/// A fresh database file in `dir`.
fn new_store(dir: &Path) -> (SqliteStore, PathBuf) {
    let db = dir.join("mdms.db");
    (SqliteStore::open(&db).unwrap(), db)
}

fn mdms(db: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = gridedge();
    cmd.arg("mdms").arg(args[0]).arg("--db").arg(db).args(&args[1..]);
    cmd
}

/// Runs a command expected to fail; returns its output.
fn run_fail(cmd: std::process::Command) -> Output {
    let out = run(cmd);
    assert!(!out.status.success(), "expected a failure, got success: {}", String::from_utf8_lossy(&out.stdout));
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-6)
}

const DAY: &str = "2025-06-02T00:00:00Z";

#[test]
fn edit_then_history_and_audit_show_who_changed_what() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, db) = new_store(dir.path());
    store
        .ingest(&collection("M1", ReadingType::ActiveEnergyImport, ts(DAY), 900, 10_000.0, &[400.0; 96], &[]))
        .unwrap();
    drop(store);

    // The 10:00 value is 10 000 + 40 × 400 = 26 000 Wh; the operator sets 26 100.
    let edit = run_json(mdms(
        &db,
        &[
            "edit",
            "--meter",
            "M1",
            "--reading-type",
            "1.0.1.8.0.255",
            "--interval-end",
            "2025-06-02T10:00:00Z",
            "--value",
            "26100",
            "--user",
            "alice",
            "--reason",
            "meter test",
        ],
    ));
    assert_eq!(edit["new_version"]["version"], 2, "{edit}");
    assert_eq!(edit["new_version"]["value"], 26100.0);
    assert_eq!(edit["new_version"]["source"], "edit");
    assert!(edit["new_version"]["quality"]["flags"].as_array().unwrap().contains(&json!("edited")), "{edit}");
    assert!(edit["audit_id"].as_i64().unwrap() > 0);

    // The same interval named by its CIM ReadingType code.
    let history = run_json(mdms(
        &db,
        &[
            "history",
            "--meter",
            "M1",
            "--reading-type",
            "0.0.2.1.1.1.12.0.0.0.0.0.0.0.0.0.72.0",
            "--interval-end",
            "2025-06-02T11:00:00+01:00",
        ],
    ));
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{history}");
    assert_eq!((versions[0]["version"].clone(), versions[0]["value"].clone()), (json!(1), json!(26000.0)));
    assert_eq!(versions[0]["source"], "hes");
    assert!(versions[0]["audit"].is_null());
    assert_eq!(versions[1]["audit"]["user"], "alice");
    assert_eq!(versions[1]["audit"]["reason"], "meter test");
    assert_eq!(versions[1]["audit"]["action"], "edit");

    let audit = run_json(mdms(&db, &["audit", "--meter", "M1", "--action", "edit"]));
    assert_eq!(audit["count"], 1, "{audit}");
    assert_eq!(audit["entries"][0]["user"], "alice");
    assert_eq!(audit["entries"][0]["reading_type"], "active_energy_import");
    assert_eq!(audit["entries"][0]["first_interval_end"], "2025-06-02T10:00:00Z");
    let none = run_json(mdms(&db, &["audit", "--user", "bob"]));
    assert_eq!(none["count"], 0);

    let table = run(mdms(
        &db,
        &[
            "history",
            "--meter",
            "M1",
            "--reading-type",
            "active_energy_import",
            "--interval-end",
            "2025-06-02T10:00:00Z",
            "--format",
            "table",
        ],
    ));
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("version"), "{text}");
    assert!(text.contains("alice") && text.contains("edited"), "{text}");
}

#[test]
fn exceptions_queue_accept_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, db) = new_store(dir.path());
    // M2's 10:00 value is misread by +3600 Wh: a spike ending 10:00, a negative interval
    // ending 10:15.
    let mut reading = collection("M2", ReadingType::ActiveEnergyImport, ts(DAY), 900, 10_000.0, &[400.0; 96], &[]);
    reading.intervals.iter_mut().find(|i| i.interval_end == ts("2025-06-02T10:00:00Z")).unwrap().value += 3600.0;
    store.ingest(&reading).unwrap();
    drop(store);

    let queue = run_json(mdms(&db, &["exceptions", "--meter", "M2"]));
    let rules: Vec<(String, String)> = queue["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["rule"].as_str().unwrap().to_string(), e["first_interval_end"].as_str().unwrap().to_string()))
        .collect();
    assert!(rules.contains(&("spike".into(), "2025-06-02T10:00:00Z".into())), "{queue}");
    assert!(rules.contains(&("negative_consumption".into(), "2025-06-02T10:15:00Z".into())), "{queue}");
    let spikes = run_json(mdms(&db, &["exceptions", "--rule", "spike"]));
    assert_eq!(spikes["count"], 1);

    // Accepting the whole queue needs --all.
    let refused = run_fail(mdms(&db, &["accept", "--user", "bob", "--reason", "ok"]));
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("--all"), "{}", stderr(&refused));

    let accepted = run_json(mdms(
        &db,
        &["accept", "--meter", "M2", "--rule", "spike", "--user", "bob", "--reason", "real kettle"],
    ));
    assert_eq!(accepted["accepted"], 1, "{accepted}");
    assert_eq!(run_json(mdms(&db, &["exceptions", "--rule", "spike"]))["count"], 0);
    let audit = run_json(mdms(&db, &["audit", "--action", "accept"]));
    assert_eq!(audit["entries"][0]["user"], "bob");

    let validated = run_json(mdms(
        &db,
        &["validate", "--meter", "M2", "--from", "2025-06-02T00:00:00Z", "--to", "2025-06-03T00:00:00Z"],
    ));
    assert_eq!(validated["meters"][0]["meter"], "M2");
    assert_eq!(validated["total"]["channels"], 1, "{validated}");
    // The negative interval still fails; the accepted spike is reported but stays accepted.
    assert!(validated["total"]["findings_reported"].as_u64().unwrap() >= 2, "{validated}");
    assert_eq!(run_json(mdms(&db, &["exceptions", "--rule", "spike"]))["count"], 0);
}

#[test]
fn estimate_fills_a_gap_by_interpolation() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, db) = new_store(dir.path());
    let gap: Vec<Timestamp> =
        ["10:15", "10:30", "10:45", "11:00"].iter().map(|t| ts(&format!("2025-06-02T{t}:00Z"))).collect();
    store
        .ingest(&collection("M3", ReadingType::ActiveEnergyImport, ts(DAY), 900, 10_000.0, &[400.0; 96], &gap))
        .unwrap();
    drop(store);
    assert_eq!(run_json(mdms(&db, &["exceptions", "--meter", "M3", "--rule", "missing_interval"]))["count"], 1);

    let report = run_json(mdms(
        &db,
        &[
            "estimate",
            "--meter",
            "M3",
            "--reading-type",
            "active_energy_import",
            "--from",
            "2025-06-02T10:15:00Z",
            "--to",
            "2025-06-02T11:15:00Z",
            "--user",
            "carol",
            "--reason",
            "gap after a comms fault",
        ],
    ));
    // 26 000 Wh at 10:00 and 28 000 Wh at 11:15 bracket five intervals of 400 Wh.
    let estimated = report["estimated"].as_array().unwrap();
    let values: Vec<(String, f64)> = estimated
        .iter()
        .map(|e| (e["interval_end"].as_str().unwrap().to_string(), e["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        values,
        [
            ("2025-06-02T10:15:00Z".to_string(), 26_400.0),
            ("2025-06-02T10:30:00Z".to_string(), 26_800.0),
            ("2025-06-02T10:45:00Z".to_string(), 27_200.0),
            ("2025-06-02T11:00:00Z".to_string(), 27_600.0),
        ],
        "{report}"
    );
    assert!(estimated.iter().all(|e| e["quality"]["estimation_method"] == "linear_interpolation"), "{report}");
    assert_eq!(run_json(mdms(&db, &["exceptions", "--meter", "M3"]))["count"], 0);
    assert_eq!(run_json(mdms(&db, &["audit", "--action", "estimate"]))["entries"][0]["user"], "carol");

    // An instantaneous channel cannot be estimated: a clear refusal, exit status 1.
    let refused = run_fail(mdms(
        &db,
        &[
            "estimate",
            "--meter",
            "M3",
            "--reading-type",
            "voltage_l1",
            "--from",
            "2025-06-02T10:15:00Z",
            "--to",
            "2025-06-02T11:15:00Z",
            "--user",
            "carol",
            "--reason",
            "x",
        ],
    ));
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("not a cumulative reading type"), "{}", stderr(&refused));
}

#[test]
fn billing_determinants_with_a_tou_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, db) = new_store(dir.path());
    store
        .ingest(&collection("M4", ReadingType::ActiveEnergyImport, ts(DAY), 900, 10_000.0, &[400.0; 96], &[]))
        .unwrap();
    let mut spiky = collection("M5", ReadingType::ActiveEnergyImport, ts(DAY), 900, 10_000.0, &[400.0; 96], &[]);
    spiky.intervals.iter_mut().find(|i| i.interval_end == ts("2025-06-02T10:00:00Z")).unwrap().value += 3600.0;
    store.ingest(&spiky).unwrap();
    drop(store);
    let schedule = dir.path().join("tou.json");
    std::fs::write(
        &schedule,
        json!({
            "name": "weekday peak",
            "time_zone": "UTC",
            "default_period": "off_peak",
            "rules": [{ "period": "peak", "day_types": ["weekday"], "from": "16:00", "to": "19:00" }]
        })
        .to_string(),
    )
    .unwrap();
    let schedule = schedule.to_str().unwrap();

    let out = run_json(mdms(
        &db,
        &[
            "billing",
            "--meter",
            "M4,M5",
            "--first-day",
            "2025-06-02",
            "--last-day",
            "2025-06-02",
            "--schedule",
            schedule,
        ],
    ));
    assert_eq!(out["schedule"], "weekday peak");
    let [m4, m5] = out["determinants"].as_array().unwrap().as_slice() else { panic!("two meters: {out}") };
    // 96 × 0.4 kWh; peak 16:00–19:00 on a Monday = 12 intervals × 0.4 kWh; 1.6 kW blocks.
    assert_eq!(m4["meter"], "M4");
    assert!(close(&m4["active_import"]["total_kwh"], 38.4), "{m4}");
    let by_tou = m4["active_import"]["by_tou"].as_array().unwrap();
    assert_eq!(by_tou[0]["period"], "peak");
    assert!(close(&by_tou[0]["kwh"], 4.8), "{m4}");
    assert!(close(&by_tou[1]["kwh"], 33.6), "{m4}");
    assert!(close(&m4["active_import"]["max_block_demand"]["kw"], 1.6), "{m4}");
    assert_eq!(m4["readiness"]["bill_ready"], true, "{m4}");
    // M5's open findings (spike, negative interval) block its bill.
    assert_eq!(m5["readiness"]["bill_ready"], false, "{m5}");
    assert!(m5["readiness"]["not_valid_values"].as_u64().unwrap() >= 2, "{m5}");

    // Without a schedule: a flat one in the given zone; a month of one day's data.
    let flat = run_json(mdms(&db, &["billing", "--meter", "M4", "--month", "2025-06", "--time-zone", "UTC"]));
    let d = &flat["determinants"][0];
    assert_eq!(d["period"]["first_day"], "2025-06-01");
    assert_eq!(d["period"]["last_day"], "2025-06-30");
    assert_eq!(d["intervals"], 30 * 96);
    assert_eq!(d["readiness"]["bill_ready"], false);

    let table = run(mdms(
        &db,
        &["billing", "--meter", "M4", "--first-day", "2025-06-02", "--last-day", "2025-06-02", "--format", "table"],
    ));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("38.400") && text.contains("all=38.400"), "{text}");

    let bad = run_fail(mdms(&db, &["billing", "--meter", "M4", "--month", "2025-13"]));
    assert_eq!(bad.status.code(), Some(2), "a malformed month is a usage error");
}

/// The theft scenario of the mdms analytics tests: 28 days of June 2025 in London, A 100,
/// B 150, C 250 Wh per interval, 15 Wh of technical loss, C bypassing 150 Wh from 15 June.
#[test]
fn energy_balance_flags_a_bypass() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, db) = new_store(dir.path());
    let start = ts("2025-05-31T23:00:00Z");
    let days = |f: &dyn Fn(usize) -> f64| (0..28 * 96).map(|k| f(k / 96)).collect::<Vec<f64>>();
    let rt = ReadingType::ActiveEnergyImport;
    store.ingest(&collection("CHK", rt, start, 900, 1e5, &days(&|_| 515.0), &[])).unwrap();
    store.ingest(&collection("A", rt, start, 900, 1e5, &days(&|_| 100.0), &[])).unwrap();
    store.ingest(&collection("B", rt, start, 900, 1e5, &days(&|_| 150.0), &[])).unwrap();
    store.ingest(&collection("C", rt, start, 900, 1e5, &days(&|d| if d < 14 { 250.0 } else { 100.0 }), &[])).unwrap();
    // The HES delivered a cover-opened event of C into the event store.
    let at = ts("2025-06-14T10:00:00Z");
    let cover = EndDeviceEvent::new(MeterId::from("C"), EndDeviceEventType::COVER_OPENED, at, at, "push");
    assert_eq!(store.insert_events(&[cover]).unwrap().inserted, 1);
    drop(store);
    let events = dir.path().join("events.json");
    std::fs::write(
        &events,
        json!([
            { "meter": "C", "event_type": "3.26.0.47", "occurred_at": "2025-06-14T10:01:00Z",
              "received_at": "2025-06-14T10:01:05Z", "source": "push" },
            { "meter": "A", "at": "2025-06-20T09:00:00Z" }
        ])
        .to_string(),
    )
    .unwrap();
    let base = [
        "energy-balance",
        "--transformer",
        "TX-7",
        "--check-meter",
        "CHK",
        "--customer",
        "A,B",
        "--customer",
        "C",
        "--first-day",
        "2025-06-01",
        "--last-day",
        "2025-06-28",
        "--time-zone",
        "Europe/London",
    ];
    let mut args = base.to_vec();
    args.extend(["--tamper-events", events.to_str().unwrap()]);
    let out = run_json(mdms(&db, &args));
    let balance = &out["balance"];
    assert!(balance.get("intervals").is_none(), "per-interval rows only with --intervals");
    assert_eq!(balance["days"].as_array().unwrap().len(), 28);
    // 14 days × 1.44 kWh + 14 days × 15.84 kWh.
    assert!(close(&balance["total"]["loss_kwh"], 241.92), "{}", balance["total"]);
    assert!(close(&balance["total"]["check_kwh"], 28.0 * 49.44), "{}", balance["total"]);
    let flags = out["transformer_flags"].as_array().unwrap();
    assert_eq!(flags[0]["rule"], "sustained_loss");
    assert_eq!(flags[0]["first_day"], "2025-06-15");
    assert_eq!(flags[1]["rule"], "loss_step_change");
    let suspect = &out["suspects"][0];
    assert_eq!(suspect["meter"], "C");
    assert_eq!(suspect["change_day"], "2025-06-15");
    assert!(close(&suspect["drop_percent"], 60.0), "{suspect}");
    // The stored cover-opened event; the power-down in the file is not a tamper event.
    assert_eq!(suspect["tamper_events"].as_array().unwrap().len(), 1, "{suspect}");
    assert_eq!(suspect["tamper_events"][0]["kind"], "3.12.29.39");
    assert_eq!(out["suspects"].as_array().unwrap().len(), 1);
    let tamper = out["tamper"].as_array().unwrap();
    assert_eq!(tamper.len(), 2);
    assert_eq!(
        (tamper[0]["event"]["meter"].clone(), tamper[0]["consumption_dropped"].clone()),
        (json!("C"), json!(true))
    );
    assert_eq!(
        (tamper[1]["event"]["meter"].clone(), tamper[1]["consumption_dropped"].clone()),
        (json!("A"), json!(false))
    );

    // A 40 % allowance: the loss (32 %) is no longer excessive, the step change remains.
    let mut lenient = base.to_vec();
    lenient.extend(["--technical-loss-percent", "40", "--intervals"]);
    let out = run_json(mdms(&db, &lenient));
    let rules: Vec<&str> =
        out["transformer_flags"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["loss_step_change"]);
    assert_eq!(out["balance"]["intervals"].as_array().unwrap().len(), 28 * 96);

    let unknown = run_fail(mdms(
        &db,
        &[
            "energy-balance",
            "--check-meter",
            "CHK",
            "--customer",
            "A,NOPE",
            "--first-day",
            "2025-06-01",
            "--last-day",
            "2025-06-02",
        ],
    ));
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("unknown meter(s) in the database: NOPE"), "{}", stderr(&unknown));
}

#[test]
fn night_flow_and_non_revenue_water() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, db) = new_store(dir.path());
    let water = MeterClass { interval_length_s: 3600, time_zone: "Europe/London".into(), ..MeterClass::default() };
    store
        .set_vee_config(&VeeConfig {
            classes: BTreeMap::from([("default".to_string(), MeterClass::default()), ("water".to_string(), water)]),
            meters: ["IN-1", "C1", "C2"].iter().map(|m| (m.to_string(), "water".to_string())).collect(),
            ..VeeConfig::default()
        })
        .unwrap();
    // 10 and 11 June 2025 in London; inlet 6 m³/h except the night hours.
    let start = ts("2025-06-09T23:00:00Z");
    let inlet: Vec<f64> = (0..48)
        .map(|k| match (k / 24, k % 24) {
            (0, 2) => 6.0,
            (0, 3) => 5.0,
            (1, 2) => 5.5,
            (1, 3) => 7.0,
            _ => 6.0,
        })
        .collect();
    let rt = ReadingType::WaterVolume;
    store.ingest(&collection("IN-1", rt, start, 3600, 12_345.0, &inlet, &[])).unwrap();
    store.ingest(&collection("C1", rt, start, 3600, 100.0, &[0.2; 48], &[])).unwrap();
    store.ingest(&collection("C2", rt, start, 3600, 200.0, &[0.3; 48], &[])).unwrap();
    drop(store);

    let out = run_json(mdms(
        &db,
        &[
            "night-flow",
            "--dma",
            "DMA-North",
            "--inlet",
            "IN-1",
            "--customer",
            "C1,C2",
            "--first-day",
            "2025-06-10",
            "--last-day",
            "2025-06-11",
            "--time-zone",
            "Europe/London",
            "--interval-length",
            "3600",
            "--night-day-factor-h",
            "22",
        ],
    ));
    let nights = out["night_flow"]["nights"].as_array().unwrap();
    assert_eq!(nights.len(), 2);
    assert_eq!(nights[0]["window_start"], "2025-06-10T01:00:00Z");
    assert!(close(&nights[0]["mnf_m3_per_h"], 5.0), "{}", nights[0]);
    assert!(close(&nights[0]["night_leakage_m3_per_h"], 4.5), "{}", nights[0]);
    assert!(close(&nights[1]["mnf_m3_per_h"], 5.5), "{}", nights[1]);
    let wb = &out["water_balance"];
    assert!(close(&wb["system_input_volume_m3"], 287.5), "{wb}");
    assert!(close(&wb["billed_metered_consumption_m3"], 24.0), "{wb}");
    assert!(close(&wb["non_revenue_water_m3"], 263.5), "{wb}");
    assert!(close(&wb["real_losses_m3"], 209.0), "{wb}");

    let table = run(mdms(
        &db,
        &[
            "night-flow",
            "--inlet",
            "IN-1",
            "--first-day",
            "2025-06-10",
            "--last-day",
            "2025-06-10",
            "--time-zone",
            "Europe/London",
            "--interval-length",
            "3600",
            "--format",
            "table",
        ],
    ));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("5.000") && text.contains("system_input_volume_m3: 143.000"), "{text}");
}

#[test]
fn bad_input_gives_clear_errors_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.db");
    let out = run_fail(mdms(&missing, &["exceptions"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no MDMS database at"), "{}", stderr(&out));
    assert!(!missing.exists(), "a read must not create a database");

    let (mut store, db) = new_store(dir.path());
    store.ingest(&collection("M1", ReadingType::ActiveEnergyImport, ts(DAY), 900, 10_000.0, &[400.0; 4], &[])).unwrap();
    drop(store);
    let edit = |extra: &[&str]| {
        let mut a = vec!["edit", "--meter", "M1", "--interval-end", "2025-06-02T00:15:00Z", "--value", "1"];
        a.extend_from_slice(extra);
        mdms(&db, &a)
    };
    let out = run_fail(edit(&["--reading-type", "kwh", "--user", "u", "--reason", "r"]));
    assert_eq!(out.status.code(), Some(2), "clap refuses the value");
    assert!(stderr(&out).contains("unknown reading type \"kwh\""), "{}", stderr(&out));
    let out = run_fail(edit(&["--reading-type", "active_energy_import", "--user", " ", "--reason", "r"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("an edit needs a user"), "{}", stderr(&out));
    let out = run_fail(mdms(
        &db,
        &[
            "edit",
            "--meter",
            "M9",
            "--reading-type",
            "active_energy_import",
            "--interval-end",
            "2025-06-02T00:15:00Z",
            "--value",
            "1",
            "--user",
            "u",
            "--reason",
            "r",
        ],
    ));
    assert!(stderr(&out).contains("unknown meter(s) in the database: M9"), "{}", stderr(&out));
    let out = run_fail(mdms(
        &db,
        &[
            "history",
            "--meter",
            "M1",
            "--reading-type",
            "active_energy_import",
            "--interval-end",
            "2025-06-02T00:15:00",
        ],
    ));
    assert!(stderr(&out).contains("RFC 3339"), "{}", stderr(&out));
    let bad_config = dir.path().join("vee.json");
    std::fs::write(&bad_config, r#"{"default_class": "missing"}"#).unwrap();
    let mut cmd =
        mdms(&db, &["validate", "--meter", "M1", "--from", DAY, "--to", "2025-06-03T00:00:00Z", "--vee-config"]);
    cmd.arg(&bad_config);
    let out = run_fail(cmd);
    assert!(stderr(&out).contains("VEE configuration"), "{}", stderr(&out));
}

/// A database collected by `gridedge demo` (3 simulated meters, 2 days over DLMS/COSEM):
/// the billed total of a whole UTC day equals the register advance stored for it.
#[test]
fn billing_on_a_demo_database_matches_the_stored_register_advance() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut cmd = gridedge();
    cmd.args(["demo", "--meters", "3", "--days", "2", "--json", "--db"]).arg(&db);
    let demo = run_json(cmd);
    assert_eq!(demo["failures"], 0, "{demo}");

    let store = SqliteStore::open(&db).unwrap();
    let meter = MeterId::from("GE00000001");
    let last = store.last_interval_end(&meter, ReadingType::ActiveEnergyImport).unwrap().unwrap();
    // The last whole UTC day before the last interval.
    let day_end = Timestamp::from_second(last.as_second() - last.as_second().rem_euclid(86_400)).unwrap();
    let day_start = day_end - SignedDuration::from_hours(24);
    let value_at = |t: Timestamp| {
        store.interval_readings(&meter, ReadingType::ActiveEnergyImport, t, t + SignedDuration::from_secs(1)).unwrap()
            [0]
        .value
    };
    let advance_kwh = (value_at(day_end) - value_at(day_start)) / 1000.0;
    drop(store);
    let day = day_start.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();

    let out = run_json(mdms(&db, &["billing", "--meter", "GE00000001", "--first-day", &day, "--last-day", &day]));
    let d = &out["determinants"][0];
    assert_eq!(d["intervals"], 96);
    assert!(close(&d["active_import"]["total_kwh"], advance_kwh), "{d} vs {advance_kwh}");
    assert_eq!(d["readiness"]["missing_values"], 0, "{d}");

    let validated = run_json(mdms(
        &db,
        &["validate", "--all-meters", "--from", &day_start.to_string(), "--to", &day_end.to_string()],
    ));
    assert_eq!(validated["meters"].as_array().unwrap().len(), 3);
    // A+, A−, R+ and R− of each meter.
    assert_eq!(validated["total"]["channels"], 12, "{validated}");
}
