//! The scheduler's policies with a scripted executor on tokio's paused clock (no real
//! waiting): priorities, per-DCU and per-link concurrency limits, retries with
//! exponential backoff, the per-meter circuit breaker (open, deferral, half-open probe,
//! forced reads passing it) and the re-queueing of jobs interrupted by a stopped HES.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hes::scheduler::{
    BreakerConfig, BreakerState, Clock, Job, JobExecutor, JobFailure, JobKind, JobOutcome, JobSpec, JobState, JobStore,
    Limits, Placement, Priority, RetryPolicy, RunMode, Scheduler, SchedulerConfig, TokioClock,
};
use jiff::{SignedDuration, Timestamp};

fn t0() -> Timestamp {
    "2026-03-02T01:00:00Z".parse().unwrap()
}

/// What the scripted meter does on each attempt.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Succeeds after this long.
    Ok(Duration),
    /// Fails transiently this many times (after 1 s each), then succeeds.
    FailTimes(u32),
    /// Fails permanently.
    Permanent,
}

#[derive(Default)]
struct Record {
    /// (serial, kind, start time) of every attempt, in order.
    starts: Vec<(String, JobKind, Timestamp)>,
    running_per_dcu: HashMap<String, usize>,
    running_per_link: HashMap<String, usize>,
    peak_per_dcu: HashMap<String, usize>,
    peak_per_link: HashMap<String, usize>,
    attempts: HashMap<String, u32>,
}

struct Scripted {
    placements: HashMap<String, Placement>,
    behaviour: Mutex<HashMap<String, Behaviour>>,
    record: Arc<Mutex<Record>>,
    clock: TokioClock,
}

impl JobExecutor for Scripted {
    fn placement(&self, serial: &str) -> Placement {
        self.placements.get(serial).cloned().unwrap_or_default()
    }

    fn execute(&self, job: Job) -> impl Future<Output = Result<JobOutcome, JobFailure>> + Send {
        let placement = self.placement(&job.serial);
        let behaviour =
            self.behaviour.lock().unwrap().get(&job.serial).copied().unwrap_or(Behaviour::Ok(Duration::from_secs(1)));
        let record = self.record.clone();
        let now = self.clock.now();
        async move {
            let attempt = {
                let mut r = record.lock().unwrap();
                r.starts.push((job.serial.clone(), job.kind, now));
                if let Some(d) = &placement.dcu {
                    let n = r.running_per_dcu.entry(d.clone()).or_default();
                    *n += 1;
                    let n = *n;
                    let p = r.peak_per_dcu.entry(d.clone()).or_default();
                    *p = (*p).max(n);
                }
                if let Some(l) = &placement.link {
                    let n = r.running_per_link.entry(l.clone()).or_default();
                    *n += 1;
                    let n = *n;
                    let p = r.peak_per_link.entry(l.clone()).or_default();
                    *p = (*p).max(n);
                }
                let a = r.attempts.entry(job.serial.clone()).or_default();
                *a += 1;
                *a
            };
            let result = match behaviour {
                Behaviour::Ok(d) => {
                    tokio::time::sleep(d).await;
                    Ok(JobOutcome::default())
                }
                Behaviour::FailTimes(n) if attempt <= n => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Err(JobFailure { error: "connect timed out".into(), transient: true })
                }
                Behaviour::FailTimes(_) => Ok(JobOutcome::default()),
                Behaviour::Permanent => Err(JobFailure { error: "serial number mismatch".into(), transient: false }),
            };
            let mut r = record.lock().unwrap();
            if let Some(d) = &placement.dcu {
                *r.running_per_dcu.entry(d.clone()).or_default() -= 1;
            }
            if let Some(l) = &placement.link {
                *r.running_per_link.entry(l.clone()).or_default() -= 1;
            }
            result
        }
    }
}

fn spec(serial: &str, kind: JobKind, priority: Priority, due: Timestamp) -> JobSpec {
    JobSpec { serial: serial.into(), kind, priority, cycle: None, due_at: due, billing_instant: None }
}

fn scripted(
    placements: &[(&str, Option<&str>, Option<&str>)],
    behaviour: &[(&str, Behaviour)],
) -> (Arc<Scripted>, Arc<Mutex<Record>>, TokioClock) {
    let clock = TokioClock::starting_at(t0());
    let record = Arc::new(Mutex::new(Record::default()));
    let executor = Arc::new(Scripted {
        placements: placements
            .iter()
            .map(|(s, d, l)| (s.to_string(), Placement { dcu: d.map(String::from), link: l.map(String::from) }))
            .collect(),
        behaviour: Mutex::new(behaviour.iter().map(|(s, b)| (s.to_string(), *b)).collect()),
        record: record.clone(),
        clock,
    });
    (executor, record, clock)
}

const UNTIL_IDLE: RunMode = RunMode::UntilIdle { horizon: Duration::from_secs(24 * 3600) };

#[tokio::test(start_paused = true)]
async fn on_demand_runs_before_alarms_before_scheduled() {
    let (executor, record, clock) = scripted(&[], &[]);
    let mut store = JobStore::open_in_memory().unwrap();
    for s in ["S1", "S2", "S3"] {
        store.enqueue(&spec(s, JobKind::DailyBilling, Priority::Scheduled, t0()), t0()).unwrap();
    }
    store.enqueue(&spec("A1", JobKind::LoadProfile, Priority::Alarm, t0()), t0()).unwrap();
    store.enqueue(&spec("D1", JobKind::OnDemand, Priority::OnDemand, t0()), t0()).unwrap();
    // Not yet due: runs last, at its time.
    store
        .enqueue(&spec("L1", JobKind::OnDemand, Priority::OnDemand, t0() + SignedDuration::from_mins(30)), t0())
        .unwrap();
    let config = SchedulerConfig { limits: Limits { max_sessions: 1, per_dcu: 1, per_link: 1 }, ..Default::default() };
    let mut scheduler = Scheduler::new(store, executor, clock, config);
    let report = scheduler.run(UNTIL_IDLE, std::future::pending()).await.unwrap();
    assert_eq!((report.succeeded, report.failed, report.attempts), (6, 0, 6));
    let r = record.lock().unwrap();
    let order: Vec<&str> = r.starts.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(order, ["D1", "A1", "S1", "S2", "S3", "L1"]);
    assert!(r.starts[5].2 >= t0() + SignedDuration::from_mins(30), "a job never starts before it is due");
}

#[tokio::test(start_paused = true)]
async fn sessions_are_limited_per_dcu_and_per_link() {
    let mut placements = Vec::new();
    let serials: Vec<String> = (0..24).map(|i| format!("M{i:02}")).collect();
    for (i, s) in serials.iter().enumerate() {
        let (dcu, link) = match i % 3 {
            0 => (Some("DCU-A"), None),
            1 => (Some("DCU-B"), Some("PLC-B1")),
            _ => (None, None),
        };
        placements.push((s.as_str(), dcu, link));
    }
    let (executor, record, clock) = scripted(&placements, &[]);
    let mut store = JobStore::open_in_memory().unwrap();
    for s in &serials {
        store.enqueue(&spec(s, JobKind::DailyBilling, Priority::Scheduled, t0()), t0()).unwrap();
    }
    let config = SchedulerConfig { limits: Limits { max_sessions: 10, per_dcu: 3, per_link: 2 }, ..Default::default() };
    let mut scheduler = Scheduler::new(store, executor, clock, config);
    let report = scheduler.run(UNTIL_IDLE, std::future::pending()).await.unwrap();
    assert_eq!(report.succeeded, 24);
    let r = record.lock().unwrap();
    assert_eq!(r.peak_per_dcu.get("DCU-A"), Some(&3), "DCU-A used to its limit and no further");
    assert_eq!(r.peak_per_dcu.get("DCU-B"), Some(&2), "DCU-B's meters share link PLC-B1 (limit 2)");
    assert_eq!(r.peak_per_link.get("PLC-B1"), Some(&2));
    assert!(report.peak_sessions <= 10 && report.peak_sessions >= 8, "peak {}", report.peak_sessions);
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_with_exponential_backoff_permanent_ones_are_not() {
    let (executor, record, clock) =
        scripted(&[], &[("FLAKY", Behaviour::FailTimes(3)), ("BROKEN", Behaviour::Permanent)]);
    let mut store = JobStore::open_in_memory().unwrap();
    let flaky = store.enqueue(&spec("FLAKY", JobKind::DailyBilling, Priority::Scheduled, t0()), t0()).unwrap().id;
    let broken = store.enqueue(&spec("BROKEN", JobKind::DailyBilling, Priority::Scheduled, t0()), t0()).unwrap().id;
    let config = SchedulerConfig {
        retry: RetryPolicy {
            max_attempts: 5,
            backoff_base: Duration::from_secs(60),
            backoff_max: Duration::from_secs(3600),
        },
        breaker: BreakerConfig { failure_threshold: 10, cool_down: Duration::from_secs(3600) },
        ..Default::default()
    };
    let mut scheduler = Scheduler::new(store, executor, clock, config);
    let report = scheduler.run(UNTIL_IDLE, std::future::pending()).await.unwrap();
    assert_eq!((report.succeeded, report.failed, report.retried), (1, 1, 3));
    let starts: Vec<Timestamp> =
        record.lock().unwrap().starts.iter().filter(|(s, _, _)| s == "FLAKY").map(|(_, _, t)| *t).collect();
    assert_eq!(starts.len(), 4);
    // Each attempt takes 1 s; then 60 s, 120 s, 240 s of backoff, each plus up to 50 %.
    for (i, base) in [60i64, 120, 240].iter().enumerate() {
        let gap = starts[i + 1].duration_since(starts[i]).as_secs() - 1;
        assert!(gap >= *base && gap <= base * 3 / 2 + 1, "retry {}: {gap} s after a {base} s base", i + 1);
    }
    let store = scheduler.store();
    let job = store.job(flaky).unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Succeeded, 4));
    let job = store.job(broken).unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Failed, 1));
    assert_eq!(job.last_error.as_deref(), Some("serial number mismatch"));
    let history = store.history(Some("FLAKY"), None).unwrap();
    let outcomes: Vec<&str> = history.iter().rev().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["failed", "failed", "failed", "succeeded"]);
}

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_defers_jobs_probes_after_the_cool_down_and_lets_forced_reads_through() {
    let (executor, record, clock) = scripted(&[], &[("DEAD", Behaviour::FailTimes(5))]);
    let mut store = JobStore::open_in_memory().unwrap();
    let job = store.enqueue(&spec("DEAD", JobKind::DailyBilling, Priority::Scheduled, t0()), t0()).unwrap().id;
    let cool_down = Duration::from_secs(1800);
    let config = SchedulerConfig {
        retry: RetryPolicy {
            max_attempts: 10,
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(10),
        },
        breaker: BreakerConfig { failure_threshold: 3, cool_down },
        ..Default::default()
    };
    let mut scheduler = Scheduler::new(store, executor.clone(), clock, config);
    // Run until the breaker has opened and deferred the job (short horizon: the run
    // stops while the job waits out the cool-down).
    let report =
        scheduler.run(RunMode::UntilIdle { horizon: Duration::from_secs(60) }, std::future::pending()).await.unwrap();
    assert_eq!(report.attempts, 3);
    assert!(report.deferred_by_breaker >= 1);
    let store = scheduler.store();
    let health = store.health("DEAD").unwrap();
    let BreakerState::Open { since } = health.breaker else { panic!("breaker should be open: {health:?}") };
    assert_eq!(health.consecutive_failures, 3);
    let queued = store.job(job).unwrap().unwrap();
    assert_eq!(queued.state, JobState::Queued);
    assert_eq!(queued.due_at, since + SignedDuration::try_from(cool_down).unwrap(), "deferred to the probe time");

    // A forced read passes the open breaker at once (it fails: attempt 4 of the meter).
    store.enqueue(&spec("DEAD", JobKind::OnDemand, Priority::OnDemand, clock.now()), clock.now()).unwrap();
    let report = scheduler.run(UNTIL_IDLE, std::future::pending()).await.unwrap();
    let r = record.lock().unwrap();
    let forced = r.starts.iter().find(|(_, k, _)| *k == JobKind::OnDemand).expect("the forced read ran");
    assert!(forced.2 < since + SignedDuration::from_mins(1), "forced read ran while the breaker was open");
    // Then the scheduled job: probe after the cool-down (fails: attempt 5, re-opens),
    // probe after another cool-down (attempt 6 succeeds, closes).
    let scheduled: Vec<Timestamp> =
        r.starts.iter().filter(|(_, k, _)| *k == JobKind::DailyBilling).map(|(_, _, t)| *t).collect();
    assert_eq!(scheduled.len(), 5, "{scheduled:?}");
    assert!(scheduled[3] >= since + SignedDuration::try_from(cool_down).unwrap());
    assert!(
        scheduled[4] >= scheduled[3] + SignedDuration::try_from(cool_down).unwrap(),
        "failed probe: another cool-down"
    );
    drop(r);
    assert_eq!(report.succeeded, 1);
    let store = scheduler.store();
    assert_eq!(store.job(job).unwrap().unwrap().state, JobState::Succeeded);
    let health = store.health("DEAD").unwrap();
    assert_eq!((health.breaker, health.consecutive_failures), (BreakerState::Closed, 0));
}

#[tokio::test(start_paused = true)]
async fn jobs_left_running_by_a_stopped_hes_are_requeued_and_finished() {
    let (executor, record, clock) = scripted(&[], &[]);
    let mut store = JobStore::open_in_memory().unwrap();
    let id = store.enqueue(&spec("M1", JobKind::DailyBilling, Priority::Scheduled, t0()), t0()).unwrap().id;
    let job = store.job(id).unwrap().unwrap();
    store.start(&[job], t0()).unwrap(); // the HES died during this attempt
    let mut scheduler = Scheduler::new(store, executor, clock, SchedulerConfig::default());
    let report = scheduler.run(UNTIL_IDLE, std::future::pending()).await.unwrap();
    assert_eq!((report.recovered, report.succeeded), (1, 1));
    assert_eq!(record.lock().unwrap().starts.len(), 1);
    let store = scheduler.store();
    let job = store.job(id).unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Succeeded, 2));
    let outcomes: Vec<String> = store.history(Some("M1"), None).unwrap().into_iter().rev().map(|a| a.outcome).collect();
    assert_eq!(outcomes, ["interrupted", "succeeded"]);
}
