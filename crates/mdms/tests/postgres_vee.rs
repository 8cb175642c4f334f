//! VEE on `PgStore`: each scenario runs on a fresh PostgreSQL scratch schema and on an
//! in-memory `SqliteStore`, asserts the expected findings, estimates, versions and audit
//! entries on both, and requires everything observable (exceptions queue, findings of every
//! interval, histories with their audit entries, validated readings, the audit trail and
//! the reports) to be identical on the two backends, store clocks aside.
#![cfg(feature = "postgres")]

mod postgres_support;
mod vee_support;

use jiff::Timestamp;
use mdms::editing::{AuditAction, AuditFilter, EditError, EditRefusal};
use mdms::estimation::EstimationMethod;
use mdms::vee::{
    EstimationConfig, ExceptionFilter, FindingStatus, MeterClass, RuleConfig, RuleId, RuleSpec, SeriesPoint, VeeConfig,
};
use mdms::{MeterDataStore, SqliteStore, StoreSummary};
use model::{IntervalReading, MeterId, MeterReading, ReadingType, RegisterRead};
use postgres_support::{client, fresh_store};
use vee_support::*;

const AP: ReadingType = ReadingType::ActiveEnergyImport;
const DAY: &str = "2025-01-06T00:00:00Z";

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

/// One UTC day of 10 Wh per interval from 1000 Wh at midnight: 97 values.
fn day() -> Vec<SeriesPoint> {
    cumulative(ts(DAY), 1000.0, &[10.0; 96])
}

fn at(k: i64) -> Timestamp {
    plus(ts(DAY), 900 * k)
}

type Queue = Vec<(RuleId, Timestamp, Timestamp, u32)>;

fn q(store: &dyn MeterDataStore) -> Queue {
    store
        .vee_exceptions(&ExceptionFilter::default())
        .unwrap()
        .iter()
        .map(|e| (e.rule, e.first_interval_end, e.last_interval_end, e.intervals))
        .collect()
}

/// Everything observable about meter M1's +A channel between `at(-200)` and `at(400)`,
/// without the store clocks (run, ingest and audit times), as lines of text.
fn snapshot(store: &dyn MeterDataStore) -> Vec<String> {
    let mut out = Vec::new();
    for e in store.vee_exceptions(&ExceptionFilter::default()).unwrap() {
        out.push(format!(
            "queue {} {} {:?} {} {} {} {:?} {:?}",
            e.meter,
            e.reading_type,
            e.rule,
            e.first_interval_end,
            e.last_interval_end,
            e.intervals,
            e.measured,
            e.limit
        ));
    }
    let (from, to) = (at(-200), at(400));
    for s in store.validated_interval_readings(&m1(), AP, from, to).unwrap() {
        out.push(format!("value {} {} {:#x} v{} {}", s.interval_end, s.value, s.quality.0, s.version, s.source));
        for v in store.interval_history_detail(&m1(), AP, s.interval_end).unwrap() {
            let audit = v.audit.map(|a| format!("{} {} {} {}", a.user, a.action, a.reason, a.detail));
            out.push(format!(
                "  v{} {} {:#x} {} {:?}",
                v.interval.version, v.interval.value, v.interval.quality.0, v.interval.source, audit
            ));
            for f in v.findings {
                out.push(format!(
                    "    {:?} v{} {:?} {:?} {:?} {}",
                    f.rule, f.version, f.measured, f.limit, f.status, f.detected_by
                ));
            }
        }
    }
    // Findings on interval ends without a value (gaps, version 0).
    let mut t = from;
    while t < to {
        for f in store.interval_findings(&m1(), AP, t).unwrap().into_iter().filter(|f| f.version == 0) {
            out.push(format!("gap {} {:?} {:?} {:?}", t, f.rule, f.status, f.detected_by));
        }
        t = plus(t, 900);
    }
    for a in store.audit_log(&AuditFilter::default()).unwrap() {
        out.push(format!(
            "audit {} {} {} {} {:?} {:?} {:?} {}",
            a.user, a.action, a.reason, a.meter, a.reading_type, a.first_interval_end, a.last_interval_end, a.detail
        ));
    }
    out.push(format!("{:?}", store.summary().unwrap()));
    out
}

/// Runs `scenario` on both backends configured with `class`: it asserts the expected
/// behaviour and returns a log of what it saw; logs and final snapshots must be equal.
fn on_both(class: MeterClass, scenario: impl Fn(&mut dyn MeterDataStore) -> Vec<String>) {
    let config = config_of(class);
    let mut sqlite = SqliteStore::open_in_memory().unwrap();
    sqlite.set_vee_config(&config).unwrap();
    let mut pg = fresh_store();
    pg.set_vee_config(&config).unwrap();
    let on_sqlite = scenario(&mut sqlite);
    let on_pg = scenario(&mut pg);
    assert_eq!(on_pg, on_sqlite, "the scenario's log differs between PostgreSQL and SQLite");
    let (snap_pg, snap_sqlite) = (snapshot(&pg), snapshot(&sqlite));
    assert!(snap_sqlite.len() > 1, "the scenario stored nothing");
    assert_eq!(snap_pg, snap_sqlite, "the stores differ between PostgreSQL and SQLite");
}

#[test]
fn gaps_are_queued_and_closed_by_late_data() {
    on_both(class(vec![RuleConfig::MissingInterval], false), |store| {
        let truth = day();
        let missing = [at(10), at(11), at(40)];
        let delivered: Vec<_> = truth.iter().filter(|p| !missing.contains(&p.interval_end)).cloned().collect();
        let outcome = store.ingest_validated(&reading(at(97), intervals(&delivered), vec![]), "hes").unwrap();
        assert_eq!(outcome.ingest.intervals_new, 94);
        assert_eq!((outcome.validation.channels, outcome.validation.findings_new), (1, 3));
        assert_eq!(
            q(store),
            vec![(RuleId::MissingInterval, at(10), at(11), 2), (RuleId::MissingInterval, at(40), at(40), 1)]
        );
        let replay = store.ingest_validated(&reading(at(97), intervals(&delivered), vec![]), "hes").unwrap();
        assert_eq!((replay.ingest.intervals_duplicate, replay.validation.channels), (94, 0));
        let late: Vec<_> = truth.iter().filter(|p| missing.contains(&p.interval_end)).cloned().collect();
        let outcome = store.ingest_validated(&reading(at(100), intervals(&late), vec![]), "hes").unwrap();
        assert_eq!(outcome.validation.findings_superseded, 3);
        assert!(q(store).is_empty());
        vec![format!("{outcome:?}")]
    });
}

#[test]
fn automatic_estimation_fills_bracketed_gaps_and_validates_the_estimates() {
    let rules = vec![RuleConfig::MissingInterval, RuleConfig::MeterAdvance { max_demand_w: 4000.0 }];
    on_both(class(rules, true), |store| {
        let truth = day();
        let missing = [at(10), at(11), at(12)];
        let delivered: Vec<_> = truth.iter().filter(|p| !missing.contains(&p.interval_end)).cloned().collect();
        let outcome = store.ingest_validated(&reading(at(97), intervals(&delivered), vec![]), "hes").unwrap();
        assert_eq!(outcome.validation.intervals_estimated, 3);
        assert!(q(store).is_empty());
        let stored = store.interval_readings(&m1(), AP, at(10), at(13)).unwrap();
        let got: Vec<(f64, u32, &str)> = stored.iter().map(|s| (s.value, s.version, s.source.as_str())).collect();
        assert_eq!(got, vec![(1100.0, 1, "estimation"), (1110.0, 1, "estimation"), (1120.0, 1, "estimation")]);
        assert!(
            stored.iter().all(|s| s.quality.estimation_method() == Some(EstimationMethod::LinearInterpolation.code()))
        );
        let late: Vec<_> = truth.iter().filter(|p| missing.contains(&p.interval_end)).cloned().collect();
        store.ingest(&reading(at(120), intervals(&late), vec![])).unwrap();
        let history = store.interval_history(&m1(), AP, at(11)).unwrap();
        let versions: Vec<(u32, &str)> = history.iter().map(|h| (h.version, h.source.as_str())).collect();
        assert_eq!(versions, vec![(1, "estimation"), (2, "hes")]);
        vec![format!("{outcome:?}")]
    });
}

#[test]
fn estimates_that_fail_validation_stay_in_the_queue() {
    let rules = vec![RuleConfig::MissingInterval, RuleConfig::MeterAdvance { max_demand_w: 4000.0 }];
    on_both(class(rules, true), |store| {
        let mut points = day();
        for p in points.iter_mut().skip(13) {
            p.value += 9960.0;
        }
        let missing = [at(10), at(11), at(12)];
        let delivered: Vec<_> = points.iter().filter(|p| !missing.contains(&p.interval_end)).cloned().collect();
        let outcome = store.ingest_validated(&reading(at(97), intervals(&delivered), vec![]), "hes").unwrap();
        assert_eq!(outcome.validation.intervals_estimated, 3);
        assert_eq!(q(store), vec![(RuleId::MeterAdvance, at(10), at(13), 4)]);
        vec![format!("{outcome:?}")]
    });
}

fn glitch_rules() -> Vec<RuleConfig> {
    vec![
        RuleConfig::Spike { threshold_percent: 400.0, min_peak: 50.0 },
        RuleConfig::NegativeConsumption { tolerance: 0.001 },
    ]
}

/// A day whose value at interval 30 is 5000 Wh too high: a spike there and a negative
/// consumption at interval 31.
fn ingest_glitched_day(store: &mut dyn MeterDataStore) {
    let mut points = day();
    points[30].value += 5000.0;
    store.ingest(&reading(at(97), intervals(&points), vec![])).unwrap();
}

#[test]
fn edits_estimates_and_acceptance_with_an_audit_trail() {
    on_both(class(glitch_rules(), false), |store| {
        ingest_glitched_day(store);
        let mut log = Vec::new();
        assert_eq!(
            q(store),
            vec![(RuleId::NegativeConsumption, at(31), at(31), 1), (RuleId::Spike, at(30), at(30), 1)]
        );
        let validated = store.validated_interval_readings(&m1(), AP, at(29), at(33)).unwrap();
        let rules: Vec<Option<u8>> = validated.iter().map(|s| s.quality.suspect_rule()).collect();
        assert_eq!(rules, vec![None, Some(RuleId::Spike.code()), Some(RuleId::NegativeConsumption.code()), None]);

        let edit =
            store.edit_interval(&m1(), AP, at(30), 1300.0, "alice", "glitch: value from the neighbours").unwrap();
        assert_eq!((edit.interval.version, edit.interval.value, edit.interval.source.as_str()), (2, 1300.0, "edit"));
        assert_eq!((edit.validation.findings_superseded, edit.validation.findings_cleared), (1, 1));
        log.push(format!("{:?}", edit.validation));
        store.edit_interval(&m1(), AP, at(30), 1301.0, "bob", "rounding from the register").unwrap();
        let detail = store.interval_history_detail(&m1(), AP, at(30)).unwrap();
        assert_eq!(detail.len(), 3);
        assert_eq!(detail[1].audit.as_ref().map(|a| a.detail.as_str()), Some("value 6300 -> 1300 (version 1 -> 2)"));
        let newest = store.audit_log(&AuditFilter { limit: Some(1), ..AuditFilter::default() }).unwrap();
        assert_eq!(newest[0].user, "bob");
        let at_interval = AuditFilter { interval_end: Some(at(30)), ..AuditFilter::default() };
        assert_eq!(store.audit_log(&at_interval).unwrap().len(), 2);

        // A manual estimation of the edited value, then a gap filled by hand.
        let estimate = store.estimate_range(&m1(), AP, at(30), at(31), "carol", "estimate it").unwrap();
        assert_eq!(
            estimate.estimated.iter().map(|e| (e.interval_end, e.value, e.version)).collect::<Vec<_>>(),
            vec![(at(30), 1300.0, 4)]
        );
        log.push(format!("{:?} {:?}", estimate.validation, estimate.estimated.len()));
        let filled = store.edit_interval(&m1(), AP, at(200), 5000.0, "alice", "manual read").unwrap();
        assert_eq!(filled.interval.version, 1);
        log.push(format!("{:?}", filled.validation));

        let refused = store.edit_interval(&MeterId::from("nobody"), AP, at(30), 1.0, "a", "b");
        assert!(matches!(refused, Err(EditError::Refused(EditRefusal::UnknownMeter(_)))));
        let refused = store.estimate_range(&m1(), ReadingType::VoltageL1, at(1), at(2), "c", "r");
        assert!(matches!(refused, Err(EditError::Refused(EditRefusal::NotCumulative(_)))));
        log
    });
}

#[test]
fn accepted_exceptions_leave_the_queue_for_good() {
    on_both(class(glitch_rules(), false), |store| {
        ingest_glitched_day(store);
        let spikes = ExceptionFilter { rule: Some(RuleId::Spike), ..ExceptionFilter::default() };
        assert_eq!(store.accept_exceptions(&spikes, "dave", "real load: kettle and oven").unwrap(), 1);
        assert_eq!(q(store), vec![(RuleId::NegativeConsumption, at(31), at(31), 1)]);
        let report = store.validate_range(&m1(), at(0), at(97)).unwrap();
        assert_eq!(report.findings_new, 0);
        let findings = store.interval_findings(&m1(), AP, at(30)).unwrap();
        assert_eq!(findings.iter().map(|f| f.status).collect::<Vec<_>>(), vec![FindingStatus::Accepted]);
        let audit =
            store.audit_log(&AuditFilter { action: Some(AuditAction::Accept), ..AuditFilter::default() }).unwrap();
        assert_eq!(audit[0].detail, "1 findings accepted (spike)");
        let none = ExceptionFilter { meter: Some(MeterId::from("nobody")), ..ExceptionFilter::default() };
        assert_eq!(store.accept_exceptions(&none, "dave", "x").unwrap(), 0);
        vec![format!("{report:?}")]
    });
}

#[test]
fn revalidation_after_a_configuration_change_and_vee_off() {
    let spike = |threshold_percent| RuleConfig::Spike { threshold_percent, min_peak: 10.0 };
    on_both(class(vec![spike(400.0)], false), |store| {
        let mut consumption = [10.0; 96];
        consumption[50] = 30.0;
        store.ingest(&reading(at(97), intervals(&cumulative(ts(DAY), 0.0, &consumption)), vec![])).unwrap();
        assert!(q(store).is_empty());
        let mut log = Vec::new();
        store.set_vee_config(&config_of(class(vec![spike(100.0), RuleConfig::MissingInterval], false))).unwrap();
        let everything = (ts("2000-01-01T00:00:00Z"), ts("2100-01-01T00:00:00Z"));
        let report = store.validate_range(&m1(), everything.0, everything.1).unwrap();
        assert_eq!((report.channels, report.findings_new), (1, 1));
        assert_eq!(q(store), vec![(RuleId::Spike, at(51), at(51), 1)]);
        log.push(format!("{report:?}"));
        // VEE off on ingest: a gap is stored without a finding until re-validation.
        let mut off = store.vee_config().clone();
        off.enabled = false;
        store.set_vee_config(&off).unwrap();
        let next_day = cumulative(at(96), 2000.0, &[10.0; 96]);
        let delivered: Vec<_> = next_day.into_iter().filter(|p| p.interval_end != at(100)).collect();
        let outcome = store.ingest_validated(&reading(at(193), intervals(&delivered), vec![]), "hes").unwrap();
        assert_eq!(outcome.validation.channels, 0);
        let report = store.validate_range(&m1(), at(97), at(193)).unwrap();
        log.push(format!("{report:?}"));
        assert!(q(store).contains(&(RuleId::MissingInterval, at(100), at(100), 1)));
        log
    });
}

#[test]
fn clock_errors_and_conflicting_re_reads_on_ingest() {
    let rules = vec![RuleConfig::TimeTolerance { max_clock_error_s: 120 }, RuleConfig::DuplicateInterval];
    on_both(class(rules, false), |store| {
        let points = day();
        let mut drifted = reading(at(10), intervals(&points[..9]), vec![]);
        drifted.clock_drift_ms = Some(300_000);
        store.ingest(&drifted).unwrap();
        assert_eq!(q(store), vec![(RuleId::TimeTolerance, at(0), at(8), 9)]);
        let mut reread = points[7..20].to_vec();
        reread[0].value += 1.0;
        reread[1].value += 1.0;
        let outcome = store.ingest_validated(&reading(at(21), intervals(&reread), vec![]), "hes").unwrap();
        assert_eq!(
            q(store),
            vec![(RuleId::DuplicateInterval, at(7), at(8), 2), (RuleId::TimeTolerance, at(0), at(6), 7)]
        );
        vec![format!("{outcome:?}")]
    });
}

#[test]
fn sum_check_on_ingest_pairs_with_the_previous_days_register_read() {
    let rules = vec![RuleConfig::SumCheck { tolerance_percent: 1.0, tolerance_abs: 10.0 }];
    on_both(class(rules, false), |store| {
        let points = cumulative(ts(DAY), 1000.0, &[10.0; 192]);
        let read = |k: i64, value: f64| RegisterRead { reading_type: AP, read_at: at(k), value };
        store.ingest(&reading(at(96), intervals(&points[..97]), vec![read(96, 1960.0)])).unwrap();
        let outcome = store
            .ingest_validated(&reading(at(192), intervals(&points[97..]), vec![read(192, 3460.0)]), "hes")
            .unwrap();
        assert_eq!(q(store), vec![(RuleId::SumCheck, at(97), at(192), 96)]);
        let f = &store.interval_findings(&m1(), AP, at(100)).unwrap()[0];
        assert_eq!((f.measured, f.limit), (Some(960.0), Some(1500.0)));
        vec![format!("{outcome:?}")]
    });
}

#[test]
fn replace_rules_estimate_rejected_meter_values_once() {
    let mut c = class(glitch_rules(), true);
    c.estimation.replace_rules = vec![RuleId::Spike];
    on_both(c, |store| {
        let mut points = day();
        points[30].value += 5000.0;
        let outcome = store.ingest_validated(&reading(at(97), intervals(&points[..60]), vec![]), "hes").unwrap();
        assert_eq!(outcome.validation.intervals_estimated, 1);
        assert!(q(store).is_empty());
        let history = store.interval_history(&m1(), AP, at(30)).unwrap();
        let versions: Vec<(u32, f64, &str)> = history.iter().map(|h| (h.version, h.value, h.source.as_str())).collect();
        assert_eq!(versions, vec![(1, 6300.0, "hes"), (2, 1300.0, "estimation")]);
        let again = store.ingest_validated(&reading(at(98), intervals(&points[60..]), vec![]), "hes").unwrap();
        assert_eq!(again.validation.intervals_estimated, 0);
        vec![format!("{outcome:?}"), format!("{again:?}")]
    });
}

#[test]
fn a_long_gap_is_estimated_from_like_days_in_a_batch() {
    // Eight days with a daily shape; six hours of the last day missing: too long to
    // interpolate (two hours by default), so like days fill it. Delivered as one batch.
    on_both(class(vec![RuleConfig::MissingInterval], true), |store| {
        let shape: Vec<f64> = (0..96).map(|k| if (28..40).contains(&k) { 40.0 } else { 10.0 }).collect();
        let consumption: Vec<f64> = (0..8).flat_map(|_| shape.clone()).collect();
        let points = cumulative(at(-7 * 96), 0.0, &consumption);
        let gap = |p: &&SeriesPoint| (at(20)..at(44)).contains(&p.interval_end);
        let days: Vec<MeterReading> = points
            .chunks(96)
            .enumerate()
            .map(|(d, chunk)| {
                let kept: Vec<SeriesPoint> = chunk.iter().filter(|p| !gap(p)).cloned().collect();
                reading(plus(at(-6 * 96), 86_400 * d as i64), intervals(&kept), vec![])
            })
            .collect();
        let outcomes = store.ingest_batch(&days, "hes").unwrap();
        let estimated: u64 = outcomes.iter().map(|o| o.validation.intervals_estimated).sum();
        assert_eq!(estimated, 24);
        let filled = store.interval_readings(&m1(), AP, at(20), at(44)).unwrap();
        assert_eq!(filled.len(), 24);
        assert!(filled.iter().all(|s| s.quality.estimation_method() == Some(EstimationMethod::LikeDayAverage.code())));
        // The like days have exactly this shape, so the estimate is the truth.
        let truth: Vec<f64> = points.iter().filter(|p| gap(p)).map(|p| p.value).collect();
        let got: Vec<f64> = filled.iter().map(|s| s.value).collect();
        assert!(got.iter().zip(&truth).all(|(a, b)| (a - b).abs() < 1e-6), "{got:?} != {truth:?}");
        outcomes.iter().map(|o| format!("{o:?}")).collect()
    });
}

#[test]
fn standard_rules_over_batches_of_days_with_register_reads() {
    // Ten days with midnight register reads under the standard rules, delivered three days
    // per batch, so each batch validates against history, neighbours and register reads
    // stored by earlier batches (and by itself). The last day uses ten times the usual
    // energy and misses three intervals (estimated automatically); a re-read of that day
    // then delivers them (new versions over the estimates).
    let standard = MeterClass { rules: MeterClass::standard_rules(), ..class(vec![], true) };
    on_both(standard, |store| {
        let consumption: Vec<f64> = (0..10).flat_map(|d| vec![if d == 9 { 100.0 } else { 10.0 }; 96]).collect();
        let points = cumulative(at(-8 * 96), 0.0, &consumption);
        let gap = [at(96 + 30), at(96 + 31), at(96 + 32)];
        let day_reading = |d: usize, skip: &[Timestamp], late_s: i64| {
            let chunk = &points[d * 96 + 1..=(d + 1) * 96];
            let kept: Vec<SeriesPoint> = chunk.iter().filter(|p| !skip.contains(&p.interval_end)).cloned().collect();
            let last = &chunk[95];
            let read = RegisterRead { reading_type: AP, read_at: last.interval_end, value: last.value };
            reading(plus(last.interval_end, 300 + late_s), intervals(&kept), vec![read])
        };
        let days: Vec<MeterReading> = (0..10).map(|d| day_reading(d, &gap, 0)).collect();
        let mut log = Vec::new();
        let (mut new, mut estimated) = (0, 0);
        for batch in days.chunks(3) {
            for o in store.ingest_batch(batch, "hes").unwrap() {
                new += o.ingest.intervals_new;
                estimated += o.validation.intervals_estimated;
                log.push(format!("{o:?}"));
            }
        }
        assert_eq!((new, estimated), (957, 3));
        assert!(
            q(store).iter().any(|e| e.0 == RuleId::HighLowUsage),
            "the last day's usage is flagged: {:?}",
            q(store)
        );
        let reread = store.ingest_batch(&[day_reading(9, &[], 3600)], "hes").unwrap();
        assert_eq!((reread[0].ingest.intervals_revised, reread[0].ingest.intervals_duplicate), (3, 93));
        let history = store.interval_history(&m1(), AP, gap[1]).unwrap();
        assert_eq!(
            history.iter().map(|h| (h.version, h.source.as_str())).collect::<Vec<_>>(),
            vec![(1, "estimation"), (2, "hes")]
        );
        log.push(format!("{reread:?}"));
        log
    });
}

#[test]
fn a_failed_ingest_rolls_back_findings_too() {
    let mut store = fresh_store();
    let schema = store.schema().unwrap().to_string();
    store.set_vee_config(&config_of(class(vec![RuleConfig::MissingInterval], false))).unwrap();
    let mut c = client();
    c.batch_execute(&format!(
        "CREATE FUNCTION \"{schema}\".refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'injected'; END $$; \
         CREATE TRIGGER no_findings BEFORE INSERT ON \"{schema}\".vee_finding \
         FOR EACH ROW EXECUTE FUNCTION \"{schema}\".refuse();"
    ))
    .unwrap();
    let delivered: Vec<_> = day().into_iter().filter(|p| p.interval_end != at(5)).collect();
    assert!(matches!(
        store.ingest(&reading(at(97), intervals(&delivered), vec![])),
        Err(mdms::StoreError::Postgres { context: "recording a finding", .. })
    ));
    assert_eq!(store.summary().unwrap(), StoreSummary::default());
    c.batch_execute(&format!("DROP TRIGGER no_findings ON \"{schema}\".vee_finding")).unwrap();
    store.ingest(&reading(at(97), intervals(&delivered), vec![])).unwrap();
    assert_eq!(q(&store).len(), 1);
}
