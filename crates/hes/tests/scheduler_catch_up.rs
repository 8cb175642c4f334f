//! The scheduler with the real DLMS executor against a simulated meter over loopback TCP:
//! a meter the MDMS last heard from five days ago is unreachable (its breaker opens and
//! its job waits out the cool-down), then comes back and is caught up completely, in
//! one-day chunks, every interval exactly once; the billing registers of a billing day
//! are read once even when a second billing job for the same day runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hes::registry_store::{MeterRecord, RegistryStore};
use hes::scheduler::{
    BreakerConfig, BreakerState, DlmsExecutor, ExecutorConfig, JobKind, JobSpec, JobState, JobStore, MemorySink,
    Priority, ReadingSink, RetryPolicy, RunMode, Scheduler, SchedulerConfig, SystemClock, billing_instant,
};
use hes::session::SessionTimeouts;
use jiff::{SignedDuration, Timestamp};
use meter::tcp_server::{MeterServerConfig, serve};
use meter::{MeterConfig, SimulatedMeter};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType};

const SERIAL: &str = "GE00000001";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_meter_is_caught_up_completely_when_it_returns() {
    let port = free_port();
    let mut registry = RegistryStore::open_in_memory().unwrap();
    let mut record = MeterRecord::new(SERIAL, "127.0.0.1", port);
    record.dcu = Some("DCU-1".into());
    record.time_zone = "Europe/London".into();
    registry.upsert(&record).unwrap();

    // The MDMS last stored an interval five days ago.
    let now = Timestamp::now();
    let last_stored =
        Timestamp::from_second(now.as_second().div_euclid(900) * 900).unwrap() - SignedDuration::from_hours(120);
    let sink = Arc::new(MemorySink::new());
    sink.deliver(&MeterReading {
        meter: MeterId(SERIAL.into()),
        collected_at: last_stored,
        clock_drift_ms: None,
        interval_length_s: 900,
        registers: vec![],
        intervals: vec![IntervalReading {
            reading_type: ReadingType::ActiveEnergyImport,
            interval_end: last_stored,
            value: 0.0,
            quality: QualityFlags::default(),
        }],
    })
    .unwrap();

    let executor_config = ExecutorConfig {
        timeouts: SessionTimeouts { connect: Duration::from_secs(2), response: Duration::from_secs(10) },
        history: SignedDuration::from_hours(24),
        chunk: SignedDuration::from_hours(24),
        ..ExecutorConfig::default()
    };
    let dyn_sink: Arc<dyn ReadingSink> = sink.clone();
    let executor = Arc::new(DlmsExecutor::new(registry, None, dyn_sink, executor_config).unwrap());
    let mut jobs = JobStore::open_in_memory().unwrap();
    let zone = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let (midnight, date) = billing_instant(now, &zone).unwrap();
    let job = jobs
        .enqueue(
            &JobSpec {
                serial: SERIAL.into(),
                kind: JobKind::DailyBilling,
                priority: Priority::Scheduled,
                cycle: Some(date),
                due_at: now,
                billing_instant: Some(midnight),
            },
            now,
        )
        .unwrap()
        .id;
    // Long enough that no half-open probe fits into the first run, even when a loaded
    // machine stalls it for a second or two.
    let cool_down = Duration::from_secs(5);
    let config = SchedulerConfig {
        retry: RetryPolicy {
            max_attempts: 10,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(100),
        },
        breaker: BreakerConfig { failure_threshold: 2, cool_down },
        ..SchedulerConfig::default()
    };
    let mut scheduler = Scheduler::new(jobs, executor, SystemClock, config);
    scheduler.idle_poll = Duration::from_millis(50);

    // Unreachable: two refused connections open the breaker, and the job is deferred past
    // the short horizon of this run.
    let report = scheduler
        .run(RunMode::UntilIdle { horizon: Duration::from_millis(500) }, std::future::pending())
        .await
        .unwrap();
    assert_eq!((report.attempts, report.retried, report.succeeded), (2, 2, 0), "{report:?}");
    let health = scheduler.store().health(SERIAL).unwrap();
    assert!(matches!(health.breaker, BreakerState::Open { .. }), "{health:?}");
    assert!(health.last_error.as_deref().unwrap_or_default().contains("connect"), "{health:?}");
    assert_eq!(scheduler.store().job(job).unwrap().unwrap().state, JobState::Queued);

    // The meter comes back on its address.
    let meter = Arc::new(Mutex::new(SimulatedMeter::new(SERIAL, 3, MeterConfig::default()).unwrap()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let server = tokio::spawn(serve(listener, meter.clone(), Arc::new(MeterServerConfig::default())));

    let report =
        scheduler.run(RunMode::UntilIdle { horizon: Duration::from_secs(30) }, std::future::pending()).await.unwrap();
    assert_eq!((report.succeeded, report.failed), (1, 0), "{report:?}");
    let done = scheduler.store().job(job).unwrap().unwrap();
    assert_eq!((done.state, done.attempts), (JobState::Succeeded, 3));
    let result = done.result.expect("a result summary");
    assert!(result["chunks"].as_u64().unwrap() >= 5, "five days in one-day chunks: {result}");
    assert_eq!(scheduler.store().health(SERIAL).unwrap().breaker, BreakerState::Closed);

    // Every 15-minute interval from the last stored one to the meter's time, once.
    let meter_id = MeterId(SERIAL.into());
    let ends = sink.interval_ends(&meter_id, ReadingType::ActiveEnergyImport);
    assert_eq!(ends.first(), Some(&last_stored));
    assert!(ends.windows(2).all(|w| w[1].duration_since(w[0]) == SignedDuration::from_secs(900)), "no gap");
    let newest = *ends.last().unwrap();
    let floor_now = Timestamp::from_second(Timestamp::now().as_second().div_euclid(900) * 900).unwrap();
    assert!(newest >= floor_now - SignedDuration::from_secs(900), "caught up to {newest}, now {floor_now}");
    assert!(ends.len() >= 5 * 96, "{} intervals", ends.len());
    assert_eq!(result["intervals"].as_u64().unwrap() as usize, ends.len() - 1);
    // The meter's own capture times agree (capture j is at epoch + j × 900 s).
    let window = meter.lock().unwrap().profile_window(Timestamp::now());
    let last_capture = window.epoch_ms + window.last as i64 * 900_000;
    assert!(newest.as_millisecond() <= last_capture);
    assert!((newest.as_millisecond() - window.epoch_ms) % 900_000 == 0);
    assert_eq!(sink.register_count(&meter_id), 6, "the six billing registers");

    // A second billing job for the same billing day: the registers are not read again,
    // and the profile delivers nothing it already has.
    let deliveries = sink.deliveries();
    scheduler
        .store()
        .enqueue(
            &JobSpec {
                serial: SERIAL.into(),
                kind: JobKind::DailyBilling,
                priority: Priority::Scheduled,
                cycle: Some("rerun".into()),
                due_at: Timestamp::now(),
                billing_instant: Some(midnight),
            },
            Timestamp::now(),
        )
        .unwrap();
    let report =
        scheduler.run(RunMode::UntilIdle { horizon: Duration::from_secs(1) }, std::future::pending()).await.unwrap();
    assert_eq!(report.succeeded, 1);
    assert_eq!(sink.register_count(&meter_id), 6, "billing registers read once per billing day");
    assert!(sink.deliveries() <= deliveries + 1, "at most the interval that closed meanwhile");
    server.abort();
}
