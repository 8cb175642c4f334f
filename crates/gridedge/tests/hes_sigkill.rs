//! Crash safety of the HES scheduler: `gridedge hes run --once` collecting a fleet of 50
//! simulated meters (20 days of 15-minute load profile each, in the test process over
//! loopback TCP) is killed with SIGKILL mid-collection and started again; the second run
//! re-queues the interrupted jobs and finishes the collection. Every interval of every
//! meter is then stored exactly once, with the meter's own value, and each meter's
//! billing registers once.

mod common;

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use jiff::{SignedDuration, Timestamp};
use mdms::{MeterDataStore, SqliteStore};
use meter::MeterConfig;
use meter::fleet::Fleet;
use meter::tcp_server::MeterServerConfig;
use model::{MeterId, ReadingType};

const METERS: usize = 50;
const HISTORY_DAYS: i64 = 20;

fn floor_15(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second().div_euclid(900) * 900).unwrap()
}

fn run_hes(db: &std::path::Path, mdms: &std::path::Path) -> std::process::Command {
    let mut cmd = gridedge();
    cmd.args(["hes", "run", "--once", "--jitter-s", "0", "--history-days", &HISTORY_DAYS.to_string()])
        .args(["--max-sessions", "2", "--per-dcu", "2", "--backoff-base-ms", "200", "--backoff-max-s", "1"])
        .arg("--db")
        .arg(db)
        .arg("--mdms-db")
        .arg(mdms)
        .env_remove("GRIDEDGE_HES_KEK");
    cmd
}

/// The HES plans daily jobs by the meters' local date (Europe/London here): two runs on
/// either side of local midnight would plan two cycles. Started within 10 minutes of it,
/// the test waits until it has passed (a failure guard, not a timing assertion).
fn away_from_local_midnight() {
    let zone = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let now = Timestamp::now().to_zoned(zone.clone());
    let midnight = now.date().tomorrow().unwrap().to_zoned(zone).unwrap().timestamp();
    let left = midnight.duration_since(now.timestamp());
    if left < SignedDuration::from_mins(10) {
        let wait = (left + SignedDuration::from_secs(30)).unsigned_abs();
        eprintln!("waiting {} s for local midnight to pass", wait.as_secs());
        std::thread::sleep(wait);
    }
}

#[test]
fn a_killed_hes_finishes_the_collection_with_nothing_lost_or_duplicated() {
    away_from_local_midnight();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let fleet = rt
        .block_on(Fleet::start(
            METERS,
            [127, 0, 0, 1].into(),
            100,
            MeterConfig::default(),
            MeterServerConfig::default(),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (db, mdms_db, csv) = (dir.path().join("hes.db"), dir.path().join("mdms.db"), dir.path().join("fleet.csv"));
    let mut text = String::from("serial,host,port,dcu,time_zone\n");
    for (i, m) in fleet.meters().iter().enumerate() {
        text.push_str(&format!("{},127.0.0.1,{},DCU-{},Europe/London\n", m.serial, m.address.port(), i % 5));
    }
    std::fs::write(&csv, text).unwrap();
    let mut import = gridedge();
    import.args(["hes", "registry", "import", "--csv"]).arg(&csv).arg("--db").arg(&db);
    assert_eq!(run_json(import)["inserted"], METERS);

    // First run: killed once ten meters are done.
    let started = Timestamp::now();
    let mut child = run_hes(&db, &mdms_db).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        assert!(child.try_wait().unwrap().is_none(), "the collection finished before it could be killed");
        assert!(Instant::now() < deadline, "the collection made no progress");
        let done = hes::scheduler::JobStore::open(&db)
            .and_then(|s| s.counts())
            .map(|c| c.get("succeeded").copied().unwrap_or(0))
            .unwrap_or(0);
        if done >= 10 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let counts = hes::scheduler::JobStore::open(&db).unwrap().counts().unwrap();
    let (running, succeeded) = (counts["running"], counts["succeeded"]);
    assert!(running >= 1, "killed mid-collection: {counts:?}");
    assert!(succeeded < METERS as u64, "{counts:?}");

    // Second run: resumes and finishes.
    let second = run_json(run_hes(&db, &mdms_db));
    assert_eq!(second["run"]["recovered"].as_u64(), Some(running), "{second}");
    assert_eq!(second["jobs"]["succeeded"].as_u64(), Some(METERS as u64), "{second}");
    assert_eq!(second["jobs"]["failed"], 0);
    assert_eq!(second["plan"]["created"], 0, "the same cycle's jobs are reused, not duplicated");
    let mut history = gridedge();
    history.args(["hes", "jobs", "history", "--limit", "1000", "--db"]).arg(&db);
    let history = run_json(history);
    let interrupted = history.as_array().unwrap().iter().filter(|a| a["outcome"] == "interrupted").count();
    assert_eq!(interrupted as u64, running);

    // Every interval exactly once, with the meter's value.
    let store = SqliteStore::open(&mdms_db).unwrap();
    let summary = store.summary().unwrap();
    assert_eq!(summary.interval_revisions, 0, "no interval was stored twice with another value");
    let floor_start = floor_15(started);
    let mut intervals = 0u64;
    for m in fleet.meters() {
        let id = MeterId(m.serial.clone());
        let from = floor_start - SignedDuration::from_hours(24 * HISTORY_DAYS + 24);
        let stored = store
            .interval_readings(
                &id,
                ReadingType::ActiveEnergyImport,
                from,
                Timestamp::now() + SignedDuration::from_hours(1),
            )
            .unwrap();
        let ends: Vec<Timestamp> = stored.iter().map(|s| s.interval_end).collect();
        assert_eq!(ends.iter().collect::<HashSet<_>>().len(), ends.len(), "{}: an interval twice", m.serial);
        assert!(
            ends.windows(2).all(|w| w[1].duration_since(w[0]) == SignedDuration::from_secs(900)),
            "{}: a gap",
            m.serial
        );
        let (first, last) = (ends[0], *ends.last().unwrap());
        let oldest_expected = floor_start - SignedDuration::from_hours(24 * HISTORY_DAYS);
        assert!(
            first >= oldest_expected && first <= oldest_expected + SignedDuration::from_mins(30),
            "{}: starts {first}",
            m.serial
        );
        assert!(last >= floor_start - SignedDuration::from_secs(900), "{}: ends {last}", m.serial);
        assert!(stored.iter().all(|s| s.version == 1));
        // Values: the meter's own capture j is at epoch + j × 900 s.
        let meter = m.meter.lock().unwrap();
        let epoch = meter.profile_window(Timestamp::now()).epoch_ms;
        for s in stored.iter().step_by(97) {
            let j = ((s.interval_end.as_millisecond() - epoch) / 900_000) as u64;
            let entry = meter.profile_entries(j, j);
            assert_eq!(
                s.value,
                (entry[0].registers.active_import_wh % (1 << 32)) as f64,
                "{} at {}",
                m.serial,
                s.interval_end
            );
        }
        intervals += ends.len() as u64;
        let billing = store
            .register_reads(
                &id,
                ReadingType::ActiveEnergyImport,
                floor_start - SignedDuration::from_hours(1),
                Timestamp::now() + SignedDuration::from_hours(1),
            )
            .unwrap();
        assert_eq!(billing.len(), 1, "{}: billing registers read once", m.serial);
    }
    // Four profile channels per interval; nothing else in the store.
    assert_eq!(summary.interval_rows, intervals * 4);
    assert!(intervals >= (METERS as u64) * 96 * HISTORY_DAYS as u64);
    rt.block_on(fleet.shutdown());
}
