//! VEE in the SQLite store: findings recorded on ingest and closed by later data, the
//! exceptions queue, automatic and manual estimation (validated again), edits as new
//! versions with an audit trail, acceptance, re-validation after a configuration change,
//! and the migration of a version-1 database.

mod vee_support;

use jiff::Timestamp;
use mdms::editing::{AuditAction, AuditFilter, EditError, EditRefusal};
use mdms::estimation::EstimationMethod;
use mdms::vee::{
    EstimationConfig, ExceptionFilter, FindingStatus, MeterClass, RuleConfig, RuleId, RuleSpec, SeriesPoint, VeeConfig,
};
use mdms::{MeterDataStore, SCHEMA_VERSION, SqliteStore, StoreSummary};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType, RegisterRead};
use vee_support::*;

const AP: ReadingType = ReadingType::ActiveEnergyImport;

fn config_of(class: MeterClass) -> VeeConfig {
    VeeConfig {
        enabled: true,
        default_class: "c".into(),
        classes: [("c".to_string(), class)].into_iter().collect(),
        meters: Default::default(),
    }
}

fn class(rules: Vec<RuleConfig>, auto: bool) -> MeterClass {
    MeterClass {
        interval_length_s: 900,
        time_zone: "UTC".into(),
        rules: rules.into_iter().map(RuleSpec::new).collect(),
        estimation: EstimationConfig { auto, ..EstimationConfig::default() },
    }
}

fn store_with(class: MeterClass) -> SqliteStore {
    let mut store = SqliteStore::open_in_memory().expect("in-memory store");
    store.set_vee_config(&config_of(class)).expect("valid configuration");
    store
}

fn intervals(points: &[SeriesPoint]) -> Vec<IntervalReading> {
    points
        .iter()
        .map(|p| IntervalReading { reading_type: AP, interval_end: p.interval_end, value: p.value, quality: p.quality })
        .collect()
}

fn reading(collected_at: Timestamp, intervals: Vec<IntervalReading>, registers: Vec<RegisterRead>) -> MeterReading {
    MeterReading {
        meter: MeterId::from("M1"),
        collected_at,
        clock_drift_ms: Some(0),
        interval_length_s: 900,
        registers,
        intervals,
    }
}

fn m1() -> MeterId {
    MeterId::from("M1")
}

fn everything() -> (Timestamp, Timestamp) {
    (ts("2000-01-01T00:00:00Z"), ts("2100-01-01T00:00:00Z"))
}

fn queue(store: &SqliteStore) -> Vec<(RuleId, Timestamp, Timestamp, u32)> {
    store
        .vee_exceptions(&ExceptionFilter::default())
        .unwrap()
        .iter()
        .map(|e| (e.rule, e.first_interval_end, e.last_interval_end, e.intervals))
        .collect()
}

const DAY: &str = "2025-01-06T00:00:00Z";

/// One UTC day of 10 Wh per interval from 1000 Wh at midnight: 97 values.
fn day() -> Vec<SeriesPoint> {
    cumulative(ts(DAY), 1000.0, &[10.0; 96])
}

fn at(k: i64) -> Timestamp {
    plus(ts(DAY), 900 * k)
}

#[test]
fn gaps_are_queued_and_closed_by_late_data() {
    let mut store = store_with(class(vec![RuleConfig::MissingInterval], false));
    let truth = day();
    let missing = [at(10), at(11), at(40)];
    let delivered: Vec<_> = truth.iter().filter(|p| !missing.contains(&p.interval_end)).cloned().collect();
    let outcome = store.ingest_validated(&reading(at(97), intervals(&delivered), vec![]), "hes").unwrap();
    assert_eq!(outcome.ingest.intervals_new, 94);
    assert_eq!((outcome.validation.channels, outcome.validation.findings_new), (1, 3));
    assert_eq!(
        queue(&store),
        vec![(RuleId::MissingInterval, at(10), at(11), 2), (RuleId::MissingInterval, at(40), at(40), 1)]
    );
    let findings = store.interval_findings(&m1(), AP, at(40)).unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(
        (findings[0].version, findings[0].status, findings[0].detected_by.as_str()),
        (0, FindingStatus::Open, "ingest")
    );
    assert_eq!(findings[0].measured, Some(1.0));

    // A replay changes nothing.
    let replay = store.ingest_validated(&reading(at(97), intervals(&delivered), vec![]), "hes").unwrap();
    assert_eq!((replay.ingest.intervals_duplicate, replay.validation.channels), (94, 0));

    // The missing values arrive late: the gap findings are superseded by version 1.
    let late: Vec<_> = truth.iter().filter(|p| missing.contains(&p.interval_end)).cloned().collect();
    let outcome = store.ingest_validated(&reading(at(100), intervals(&late), vec![]), "hes").unwrap();
    assert_eq!(outcome.validation.findings_superseded, 3);
    assert!(queue(&store).is_empty());
    let findings = store.interval_findings(&m1(), AP, at(10)).unwrap();
    assert_eq!((findings[0].version, findings[0].status), (0, FindingStatus::Superseded));
}

#[test]
fn automatic_estimation_fills_bracketed_gaps_and_validates_the_estimates() {
    let rules = vec![RuleConfig::MissingInterval, RuleConfig::MeterAdvance { max_demand_w: 4000.0 }];
    let mut store = store_with(class(rules, true));
    let truth = day();
    let missing = [at(10), at(11), at(12)];
    let delivered: Vec<_> = truth.iter().filter(|p| !missing.contains(&p.interval_end)).cloned().collect();
    let outcome = store.ingest_validated(&reading(at(97), intervals(&delivered), vec![]), "hes").unwrap();
    assert_eq!(outcome.validation.intervals_estimated, 3);
    assert!(queue(&store).is_empty(), "the gap was estimated and the estimates pass");

    let stored = store.interval_readings(&m1(), AP, at(10), at(13)).unwrap();
    let got: Vec<(f64, u32, &str)> = stored.iter().map(|s| (s.value, s.version, s.source.as_str())).collect();
    assert_eq!(got, vec![(1100.0, 1, "estimation"), (1110.0, 1, "estimation"), (1120.0, 1, "estimation")]);
    assert!(stored.iter().all(|s| s.quality.estimation_method() == Some(EstimationMethod::LinearInterpolation.code())));

    let audit = store.audit_log(&AuditFilter::default()).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].user.as_str(), audit[0].action), ("vee", AuditAction::Estimate));
    assert_eq!((audit[0].first_interval_end, audit[0].last_interval_end), (Some(at(10)), Some(at(12))));
    let detail = store.interval_history_detail(&m1(), AP, at(11)).unwrap();
    assert_eq!(detail.len(), 1);
    assert_eq!(detail[0].audit.as_ref().map(|a| a.id), Some(audit[0].id));
    // The gap's finding (version 0) was superseded by the estimate.
    assert_eq!(detail[0].findings, vec![]);
    let findings = store.interval_findings(&m1(), AP, at(11)).unwrap();
    assert_eq!(
        (findings[0].rule, findings[0].version, findings[0].status),
        (RuleId::MissingInterval, 0, FindingStatus::Superseded)
    );

    // The meter's own values arrive later: they become version 2 and the latest.
    let late: Vec<_> = truth.iter().filter(|p| missing.contains(&p.interval_end)).cloned().collect();
    store.ingest(&reading(at(120), intervals(&late), vec![])).unwrap();
    let history = store.interval_history(&m1(), AP, at(11)).unwrap();
    let versions: Vec<(u32, &str)> = history.iter().map(|h| (h.version, h.source.as_str())).collect();
    assert_eq!(versions, vec![(1, "estimation"), (2, "hes")]);
}

#[test]
fn estimates_that_fail_validation_stay_in_the_queue() {
    // 4 kW: at most 1000 Wh per interval. 10 000 Wh went through during a one-hour gap.
    let rules = vec![RuleConfig::MissingInterval, RuleConfig::MeterAdvance { max_demand_w: 4000.0 }];
    let mut store = store_with(class(rules, true));
    let mut points = day();
    for p in points.iter_mut().skip(13) {
        p.value += 9960.0;
    }
    let missing = [at(10), at(11), at(12)];
    let delivered: Vec<_> = points.iter().filter(|p| !missing.contains(&p.interval_end)).cloned().collect();
    let outcome = store.ingest_validated(&reading(at(97), intervals(&delivered), vec![]), "hes").unwrap();
    assert_eq!(outcome.validation.intervals_estimated, 3);
    // 10 000 Wh over the four intervals: 2 500 Wh each, three estimates and the closing value.
    assert_eq!(queue(&store), vec![(RuleId::MeterAdvance, at(10), at(13), 4)]);
    let on_estimate = store.interval_findings(&m1(), AP, at(11)).unwrap();
    let open: Vec<_> = on_estimate.iter().filter(|f| f.status == FindingStatus::Open).collect();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].rule, open[0].version, open[0].detected_by.as_str()), (RuleId::MeterAdvance, 1, "estimate"));
    assert_eq!((open[0].measured, open[0].limit), (Some(2500.0), Some(1000.0)));
}

/// A day whose value at interval 30 is 5000 Wh too high (a glitch): a spike there and a
/// negative consumption at interval 31.
fn glitched_store(rules: Vec<RuleConfig>) -> SqliteStore {
    let mut store = store_with(class(rules, false));
    let mut points = day();
    points[30].value += 5000.0;
    store.ingest(&reading(at(97), intervals(&points), vec![])).unwrap();
    store
}

fn glitch_rules() -> Vec<RuleConfig> {
    vec![
        RuleConfig::Spike { threshold_percent: 400.0, min_peak: 50.0 },
        RuleConfig::NegativeConsumption { tolerance: 0.001 },
    ]
}

#[test]
fn validated_readings_carry_suspect_and_the_failed_rule() {
    let store = glitched_store(glitch_rules());
    assert_eq!(
        queue(&store),
        vec![(RuleId::NegativeConsumption, at(31), at(31), 1), (RuleId::Spike, at(30), at(30), 1)]
    );
    let validated = store.validated_interval_readings(&m1(), AP, at(29), at(33)).unwrap();
    let rules: Vec<Option<u8>> = validated.iter().map(|s| s.quality.suspect_rule()).collect();
    assert_eq!(rules, vec![None, Some(RuleId::Spike.code()), Some(RuleId::NegativeConsumption.code()), None]);
    // The stored values keep the meter's quality.
    let raw = store.interval_readings(&m1(), AP, at(29), at(33)).unwrap();
    assert!(raw.iter().all(|s| s.quality == QualityFlags(0)));
}

#[test]
fn edits_are_new_versions_with_an_audit_trail() {
    let mut store = glitched_store(glitch_rules());
    let before = store.summary().unwrap();
    let outcome = store.edit_interval(&m1(), AP, at(30), 1300.0, "alice", "glitch: value from the neighbours").unwrap();
    assert_eq!((outcome.interval.version, outcome.interval.value), (2, 1300.0));
    assert_eq!(
        (outcome.interval.quality, outcome.interval.source.as_str()),
        (QualityFlags(QualityFlags::EDITED), "edit")
    );
    // The spike (on version 1) is superseded; the negative consumption after it cleared.
    assert_eq!((outcome.validation.findings_superseded, outcome.validation.findings_cleared), (1, 1));
    assert!(queue(&store).is_empty());

    let history = store.interval_history(&m1(), AP, at(30)).unwrap();
    let versions: Vec<(u32, f64, &str)> = history.iter().map(|h| (h.version, h.value, h.source.as_str())).collect();
    assert_eq!(versions, vec![(1, 6300.0, "hes"), (2, 1300.0, "edit")]);

    store.edit_interval(&m1(), AP, at(30), 1301.0, "bob", "rounding from the register").unwrap();
    let detail = store.interval_history_detail(&m1(), AP, at(30)).unwrap();
    assert_eq!(detail.len(), 3);
    assert_eq!(detail[0].interval.value, 6300.0, "the raw value is never overwritten");
    assert!(detail[0].audit.is_none());
    assert_eq!(
        detail[0].findings.iter().map(|f| (f.rule, f.status)).collect::<Vec<_>>(),
        vec![(RuleId::Spike, FindingStatus::Superseded)]
    );
    let alice = detail[1].audit.as_ref().unwrap();
    assert_eq!((alice.user.as_str(), alice.reason.as_str()), ("alice", "glitch: value from the neighbours"));
    assert_eq!(alice.detail, "value 6300 -> 1300 (version 1 -> 2)");
    assert_eq!(detail[2].audit.as_ref().unwrap().user, "bob");
    assert!(detail[2].audit.as_ref().unwrap().at >= alice.at);

    let by_user = store.audit_log(&AuditFilter { user: Some("alice".into()), ..AuditFilter::default() }).unwrap();
    assert_eq!(by_user.len(), 1);
    let at_interval = AuditFilter { interval_end: Some(at(30)), ..AuditFilter::default() };
    assert_eq!(store.audit_log(&at_interval).unwrap().len(), 2);
    let elsewhere = AuditFilter { interval_end: Some(at(31)), ..AuditFilter::default() };
    assert!(store.audit_log(&elsewhere).unwrap().is_empty());
    let newest = store.audit_log(&AuditFilter { limit: Some(1), ..AuditFilter::default() }).unwrap();
    assert_eq!(newest[0].user, "bob");

    // An interval that never had a value can be entered by hand.
    let filled = store.edit_interval(&m1(), AP, at(200), 5000.0, "alice", "manual read").unwrap();
    assert_eq!(filled.interval.version, 1);
    let after = store.summary().unwrap();
    assert_eq!(after.interval_rows, before.interval_rows + 3);
}

#[test]
fn refused_edits_write_nothing() {
    let mut store = glitched_store(glitch_rules());
    let before = (store.summary().unwrap(), store.audit_log(&AuditFilter::default()).unwrap().len());
    let refused = |r: Result<mdms::EditOutcome, EditError>| match r {
        Err(EditError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(refused(store.edit_interval(&m1(), AP, at(30), 1.0, "", "why")), EditRefusal::EmptyUser);
    assert_eq!(refused(store.edit_interval(&m1(), AP, at(30), 1.0, "alice", " ")), EditRefusal::EmptyReason);
    assert!(matches!(
        refused(store.edit_interval(&m1(), AP, at(30), f64::NAN, "a", "b")),
        EditRefusal::NonFiniteValue(_)
    ));
    let half = ts("2025-01-06T07:30:00.5Z");
    assert_eq!(refused(store.edit_interval(&m1(), AP, half, 1.0, "a", "b")), EditRefusal::FractionalSecond(half));
    let nobody = MeterId::from("nobody");
    assert_eq!(refused(store.edit_interval(&nobody, AP, at(30), 1.0, "a", "b")), EditRefusal::UnknownMeter(nobody));
    assert_eq!((store.summary().unwrap(), store.audit_log(&AuditFilter::default()).unwrap().len()), before);
}

#[test]
fn manual_estimation_replaces_a_rejected_value() {
    let mut store = glitched_store(glitch_rules());
    let report = store.estimate_range(&m1(), AP, at(30), at(31), "carol", "glitch, estimate it").unwrap();
    assert_eq!(report.estimated.len(), 1);
    let e = &report.estimated[0];
    assert_eq!((e.interval_end, e.value, e.version, e.source.as_str()), (at(30), 1300.0, 2, "estimation"));
    assert_eq!(report.validation.intervals_estimated, 1);
    assert!(queue(&store).is_empty());
    let audit =
        store.audit_log(&AuditFilter { action: Some(AuditAction::Estimate), ..AuditFilter::default() }).unwrap();
    assert_eq!((audit.len(), audit[0].user.as_str(), audit[0].reason.as_str()), (1, "carol", "glitch, estimate it"));

    let refused = |r: Result<mdms::EstimationReport, EditError>| match r {
        Err(EditError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(matches!(
        refused(store.estimate_range(&m1(), AP, at(31), at(31), "c", "r")),
        EditRefusal::EmptyRange { .. }
    ));
    assert_eq!(
        refused(store.estimate_range(&m1(), ReadingType::VoltageL1, at(1), at(2), "c", "r")),
        EditRefusal::NotCumulative(ReadingType::VoltageL1)
    );
    assert_eq!(refused(store.estimate_range(&m1(), AP, at(1), at(2), "", "r")), EditRefusal::EmptyUser);
}

#[test]
fn accepted_exceptions_leave_the_queue_for_good() {
    let mut store = glitched_store(glitch_rules());
    let spikes = ExceptionFilter { rule: Some(RuleId::Spike), ..ExceptionFilter::default() };
    assert_eq!(store.accept_exceptions(&spikes, "dave", "real load: kettle and oven").unwrap(), 1);
    assert_eq!(queue(&store), vec![(RuleId::NegativeConsumption, at(31), at(31), 1)]);
    // Re-validation finds the spike again but does not re-open it.
    let report = store.validate_range(&m1(), at(0), at(97)).unwrap();
    assert_eq!(report.findings_new, 0);
    let findings = store.interval_findings(&m1(), AP, at(30)).unwrap();
    assert_eq!(findings.iter().map(|f| f.status).collect::<Vec<_>>(), vec![FindingStatus::Accepted]);
    let audit = store.audit_log(&AuditFilter { action: Some(AuditAction::Accept), ..AuditFilter::default() }).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].detail, "1 findings accepted (spike)");
    // Nothing matches: nothing accepted, no audit entry.
    let none = ExceptionFilter { meter: Some(MeterId::from("nobody")), ..ExceptionFilter::default() };
    assert_eq!(store.accept_exceptions(&none, "dave", "x").unwrap(), 0);
}

#[test]
fn revalidation_after_a_configuration_change() {
    let spike = |threshold_percent| RuleConfig::Spike { threshold_percent, min_peak: 10.0 };
    let mut store = store_with(class(vec![spike(400.0)], false));
    let mut consumption = [10.0; 96];
    consumption[50] = 30.0; // three times the rest: 200 % above the third highest
    store.ingest(&reading(at(97), intervals(&cumulative(ts(DAY), 0.0, &consumption)), vec![])).unwrap();
    assert!(queue(&store).is_empty());

    store.set_vee_config(&config_of(class(vec![spike(100.0)], false))).unwrap();
    let (from, to) = everything();
    let report = store.validate_range(&m1(), from, to).unwrap();
    assert_eq!((report.channels, report.findings_new), (1, 1));
    assert_eq!(queue(&store), vec![(RuleId::Spike, at(51), at(51), 1)]);
    assert_eq!(store.interval_findings(&m1(), AP, at(51)).unwrap()[0].detected_by, "revalidate");

    store.set_vee_config(&config_of(class(vec![spike(400.0)], false))).unwrap();
    let report = store.validate_range(&m1(), from, to).unwrap();
    assert_eq!(report.findings_cleared, 1);
    assert!(queue(&store).is_empty());
    assert_eq!(store.interval_findings(&m1(), AP, at(51)).unwrap()[0].status, FindingStatus::Cleared);
    // An unknown meter or an empty range validates nothing.
    assert_eq!(store.validate_range(&MeterId::from("nobody"), from, to).unwrap().channels, 0);
    assert_eq!(store.validate_range(&m1(), to, from).unwrap().channels, 0);
}

#[test]
fn vee_can_be_switched_off_for_ingest() {
    let mut store = store_with(class(vec![RuleConfig::MissingInterval], false));
    let mut config = store.vee_config().clone();
    config.enabled = false;
    store.set_vee_config(&config).unwrap();
    let delivered: Vec<_> = day().into_iter().filter(|p| p.interval_end != at(5)).collect();
    let outcome = store.ingest_validated(&reading(at(97), intervals(&delivered), vec![]), "hes").unwrap();
    assert_eq!(outcome.validation.channels, 0);
    assert!(queue(&store).is_empty());
    // Re-validation on request still works.
    store.validate_range(&m1(), at(0), at(97)).unwrap();
    assert_eq!(queue(&store), vec![(RuleId::MissingInterval, at(5), at(5), 1)]);
}

#[test]
fn a_bad_configuration_is_refused_and_the_old_one_kept() {
    let mut store = store_with(class(vec![RuleConfig::MissingInterval], false));
    let mut bad = store.vee_config().clone();
    bad.default_class = "missing".into();
    assert!(store.set_vee_config(&bad).is_err());
    assert_eq!(store.vee_config().default_class, "c");
}

#[test]
fn clock_errors_and_conflicting_re_reads_on_ingest() {
    let rules = vec![RuleConfig::TimeTolerance { max_clock_error_s: 120 }, RuleConfig::DuplicateInterval];
    let mut store = store_with(class(rules, false));
    let points = day();
    let mut drifted = reading(at(10), intervals(&points[..9]), vec![]);
    drifted.clock_drift_ms = Some(300_000);
    store.ingest(&drifted).unwrap();
    assert_eq!(queue(&store), vec![(RuleId::TimeTolerance, at(0), at(8), 9)]);
    // The next session, with a good clock, re-reads 07..08 with other values and the rest.
    let mut reread = points[7..20].to_vec();
    reread[0].value += 1.0;
    reread[1].value += 1.0;
    store.ingest(&reading(at(21), intervals(&reread), vec![])).unwrap();
    assert_eq!(
        queue(&store),
        vec![(RuleId::DuplicateInterval, at(7), at(8), 2), (RuleId::TimeTolerance, at(0), at(6), 7)]
    );
}

#[test]
fn sum_check_on_ingest_pairs_with_the_previous_days_register_read() {
    let rules = vec![RuleConfig::SumCheck { tolerance_percent: 1.0, tolerance_abs: 10.0 }];
    let mut store = store_with(class(rules, false));
    let points = cumulative(ts(DAY), 1000.0, &[10.0; 192]);
    let read = |k: i64, value: f64| RegisterRead { reading_type: AP, read_at: at(k), value };
    store.ingest(&reading(at(96), intervals(&points[..97]), vec![read(96, 1960.0)])).unwrap();
    // Day two: the register says 1500 Wh were used, the profile says 960 Wh.
    store.ingest(&reading(at(192), intervals(&points[97..]), vec![read(192, 3460.0)])).unwrap();
    assert_eq!(queue(&store), vec![(RuleId::SumCheck, at(97), at(192), 96)]);
    let f = &store.interval_findings(&m1(), AP, at(100)).unwrap()[0];
    assert_eq!((f.measured, f.limit), (Some(960.0), Some(1500.0)));
}

#[test]
fn a_failed_ingest_rolls_back_findings_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdms.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    store.set_vee_config(&config_of(class(vec![RuleConfig::MissingInterval], false))).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER no_findings BEFORE INSERT ON vee_finding BEGIN SELECT RAISE(ABORT, 'injected'); END;",
    )
    .unwrap();
    let delivered: Vec<_> = day().into_iter().filter(|p| p.interval_end != at(5)).collect();
    assert!(store.ingest(&reading(at(97), intervals(&delivered), vec![])).is_err());
    assert_eq!(store.summary().unwrap(), StoreSummary::default());
    conn.execute_batch("DROP TRIGGER no_findings;").unwrap();
    store.ingest(&reading(at(97), intervals(&delivered), vec![])).unwrap();
    assert_eq!(queue(&store).len(), 1);
}

#[test]
fn a_version_1_database_is_migrated_to_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.sqlite");
    {
        // The version-1 layout, as the first gridedge release wrote it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE meter (id INTEGER PRIMARY KEY, mrid TEXT NOT NULL UNIQUE);
             CREATE TABLE reading_type (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, obis TEXT NOT NULL,
                 cim_code TEXT NOT NULL, unit TEXT NOT NULL);
             CREATE TABLE collection (id INTEGER PRIMARY KEY, meter_id INTEGER NOT NULL REFERENCES meter(id),
                 collected_at_ms INTEGER NOT NULL, clock_drift_ms INTEGER, interval_length_s INTEGER NOT NULL,
                 ingested_at_ms INTEGER NOT NULL, source TEXT NOT NULL, UNIQUE (meter_id, collected_at_ms));
             CREATE TABLE interval_reading (meter_id INTEGER NOT NULL REFERENCES meter(id),
                 reading_type_id INTEGER NOT NULL REFERENCES reading_type(id), interval_end INTEGER NOT NULL,
                 version INTEGER NOT NULL CHECK (version >= 1), value REAL NOT NULL, quality INTEGER NOT NULL,
                 collection_id INTEGER NOT NULL REFERENCES collection(id),
                 PRIMARY KEY (meter_id, reading_type_id, interval_end, version)) WITHOUT ROWID;
             CREATE TABLE register_read (meter_id INTEGER NOT NULL REFERENCES meter(id),
                 reading_type_id INTEGER NOT NULL REFERENCES reading_type(id), read_at INTEGER NOT NULL,
                 version INTEGER NOT NULL CHECK (version >= 1), value REAL NOT NULL, quality INTEGER NOT NULL,
                 collection_id INTEGER NOT NULL REFERENCES collection(id),
                 PRIMARY KEY (meter_id, reading_type_id, read_at, version)) WITHOUT ROWID;
             INSERT INTO meter (id, mrid) VALUES (1, 'M1');
             INSERT INTO reading_type (id, name, obis, cim_code, unit)
                 VALUES (1, 'active_energy_import', '1-0:1.8.0.255', '0.0.2.1.1.1.12.0.0.0.0.0.0.0.0.0.72.0', 'Wh');
             INSERT INTO collection VALUES (1, 1, 1736125200000, 0, 900, 1736125200123, 'hes');
             INSERT INTO interval_reading VALUES (1, 1, 1736121600, 1, 1000.0, 0, 1);
             INSERT INTO interval_reading VALUES (1, 1, 1736122500, 1, 1010.0, 0, 1);
             INSERT INTO interval_reading VALUES (1, 1, 1736122500, 2, 1011.0, 32, 1);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let version: i64 =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!((version, SCHEMA_VERSION), (3, 3));
    let (from, to) = everything();
    let stored = store.interval_readings(&m1(), AP, from, to).unwrap();
    let got: Vec<(Timestamp, f64, u32, &str)> =
        stored.iter().map(|s| (s.interval_end, s.value, s.version, s.source.as_str())).collect();
    assert_eq!(got, vec![(at(0), 1000.0, 1, "hes"), (at(1), 1011.0, 2, "hes")]);
    assert_eq!(stored[1].quality, QualityFlags(QualityFlags::CLOCK_ADJUSTED));
    assert_eq!(store.summary().unwrap().interval_revisions, 1);
    // The migrated file takes new data, edits and validation.
    store.ingest(&reading(at(4), intervals(&day()[2..4]), vec![])).unwrap();
    store.edit_interval(&m1(), AP, at(1), 1010.0, "migrator", "undo the clock-adjusted re-read").unwrap();
    assert_eq!(store.interval_history(&m1(), AP, at(1)).unwrap().len(), 3);
}

#[test]
fn replace_rules_estimate_rejected_meter_values_once() {
    let mut class = class(glitch_rules(), true);
    class.estimation.replace_rules = vec![RuleId::Spike];
    let mut store = store_with(class);
    let mut points = day();
    points[30].value += 5000.0;
    let outcome = store.ingest_validated(&reading(at(97), intervals(&points[..60]), vec![]), "hes").unwrap();
    assert_eq!(outcome.validation.intervals_estimated, 1);
    assert!(queue(&store).is_empty(), "the glitch was replaced and the negative step after it cleared");
    let history = store.interval_history(&m1(), AP, at(30)).unwrap();
    let versions: Vec<(u32, f64, &str)> = history.iter().map(|h| (h.version, h.value, h.source.as_str())).collect();
    assert_eq!(versions, vec![(1, 6300.0, "hes"), (2, 1300.0, "estimation")]);
    // More data for the same day re-validates it without estimating again.
    let outcome = store.ingest_validated(&reading(at(98), intervals(&points[60..]), vec![]), "hes").unwrap();
    assert_eq!(outcome.validation.intervals_estimated, 0);
    assert_eq!(store.interval_history(&m1(), AP, at(30)).unwrap().len(), 2);
}
