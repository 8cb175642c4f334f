//! [`Scheduler`]: the loop that starts due jobs within the limits and records their
//! outcomes.
//!
//! Each turn it takes the queued jobs that are due, best first (priority, then due time,
//! then age), and starts each one whose meter is idle (one association per meter), whose
//! DCU and link have a free slot, and whose meter's circuit breaker admits it; a job
//! held back by an open breaker is deferred to the end of the cool-down, one held back
//! by a limit stays queued for the next turn (lower-priority jobs on other DCUs may pass
//! it, jobs on the same DCU never do). Started attempts are recorded before they run;
//! outcomes when they end: success, a retry after exponential backoff with jitter for a
//! transient error (until the attempts are spent), or failure. Every state change is in
//! the [`JobStore`], so a killed HES resumes: [`Scheduler::run`] first re-queues what
//! was running.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tokio::task::JoinSet;

use super::breaker::{Admission, BreakerConfig, BreakerState, MeterHealth};
use super::clock::Clock;
use super::error::SchedulerError;
use super::executor::{JobExecutor, Placement};
use super::job::{Job, JobFailure, JobOutcome};
use super::job_store::JobStore;
use super::retry_policy::RetryPolicy;

/// Concurrency limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Sessions open at once, in total.
    pub max_sessions: usize,
    /// Sessions at once through one DCU.
    pub per_dcu: usize,
    /// Sessions at once on one shared link.
    pub per_link: usize,
}

impl Default for Limits {
    /// 64 sessions, 8 per DCU, 4 per link.
    fn default() -> Self {
        Limits { max_sessions: 64, per_dcu: 8, per_link: 4 }
    }
}

/// Scheduler settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct SchedulerConfig {
    /// Concurrency limits.
    pub limits: Limits,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// The per-meter circuit breaker.
    pub breaker: BreakerConfig,
}

/// When [`Scheduler::run`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// When nothing runs and no queued job is due within `horizon` (e.g. a collection
    /// cycle with its retries; jobs deferred further, such as those behind an open
    /// breaker, stay queued for the next run).
    UntilIdle {
        /// How far ahead a queued job keeps the run going.
        horizon: Duration,
    },
    /// Until the shutdown future completes.
    Forever,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Jobs found running at start (a previous HES stopped during them) and re-queued.
    pub recovered: usize,
    /// Attempts started.
    pub attempts: u64,
    /// Jobs that succeeded.
    pub succeeded: u64,
    /// Jobs that failed for good.
    pub failed: u64,
    /// Attempts that failed and were re-queued.
    pub retried: u64,
    /// Times a job was deferred by an open breaker.
    pub deferred_by_breaker: u64,
    /// Queued jobs left when the run ended.
    pub queued_left: u64,
    /// Largest number of sessions open at once.
    pub peak_sessions: usize,
    /// Largest number of sessions open at once through one DCU.
    pub peak_per_dcu: usize,
    /// Wall time, ms.
    pub elapsed_ms: u64,
}

/// Most queued jobs looked at per turn (so a deep queue blocked on one DCU does not
/// starve the others, and a turn stays bounded).
const MAX_SCAN: usize = 20_000;

struct Running {
    serial: String,
    placement: Placement,
    probe: bool,
}

/// The scheduler (see the module docs).
pub struct Scheduler<E: JobExecutor, C: Clock> {
    store: JobStore,
    executor: Arc<E>,
    clock: C,
    config: SchedulerConfig,
    /// How often to look for new jobs when none is due sooner (jobs added by another
    /// process, e.g. the CLI).
    pub idle_poll: Duration,
    planner: Option<(Duration, PlannerHook)>,
    admission: Option<AdmissionHook>,
}

/// A function that plans jobs (e.g. [`super::planner::plan_jobs`] over the registry),
/// called by a running scheduler at its planning interval.
pub type PlannerHook = Box<dyn FnMut(&mut JobStore, Timestamp) -> Result<(), SchedulerError> + Send>;

/// Whether a job of the meter with this serial may start now (e.g. this HES holds the
/// lease on the meter's shard); jobs refused stay queued. Checked at every dispatch, so
/// a meter gained is started at the next turn and one lost is not started again (an
/// attempt already running finishes).
pub type AdmissionHook = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

impl<E: JobExecutor, C: Clock> Scheduler<E, C> {
    /// A scheduler over `store`, running jobs with `executor`.
    pub fn new(store: JobStore, executor: Arc<E>, clock: C, config: SchedulerConfig) -> Self {
        Scheduler { store, executor, clock, config, idle_poll: Duration::from_secs(5), planner: None, admission: None }
    }

    /// Starts jobs only for meters `admit` accepts (see [`AdmissionHook`]).
    pub fn with_admission(mut self, admit: AdmissionHook) -> Self {
        self.admission = Some(admit);
        self
    }

    /// Calls `planner` when a run starts and then every `every` while it runs.
    pub fn with_planner(mut self, every: Duration, planner: PlannerHook) -> Self {
        self.planner = Some((every, planner));
        self
    }

    /// The job store (to enqueue, list, read history).
    pub fn store(&mut self) -> &mut JobStore {
        &mut self.store
    }

    /// Gives the job store back.
    pub fn into_store(self) -> JobStore {
        self.store
    }

    /// Runs jobs until `mode` says stop or `shutdown` completes. Jobs still running at
    /// shutdown are abandoned as they are (the next run re-queues them).
    ///
    /// # Errors
    /// [`SchedulerError`] when the job store fails (job failures are not errors).
    pub async fn run(
        &mut self,
        mode: RunMode,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<RunReport, SchedulerError> {
        let started = Instant::now();
        let mut report =
            RunReport { recovered: self.store.recover_interrupted(self.clock.now())?, ..Default::default() };
        let mut tasks: JoinSet<(Job, Result<JobOutcome, JobFailure>)> = JoinSet::new();
        let mut running: HashMap<i64, Running> = HashMap::new();
        tokio::pin!(shutdown);
        let mut next_plan = self.clock.now();
        loop {
            if let Some((every, planner)) = &mut self.planner {
                let now = self.clock.now();
                if now >= next_plan {
                    planner(&mut self.store, now)?;
                    next_plan = now.checked_add(signed(*every)).unwrap_or(Timestamp::MAX);
                }
            }
            self.dispatch(&mut tasks, &mut running, &mut report)?;
            let now = self.clock.now();
            let next_due = self.store.next_due()?;
            if running.is_empty() {
                if let RunMode::UntilIdle { horizon } = mode {
                    let keep_going =
                        next_due.is_some_and(|d| d <= now.checked_add(signed(horizon)).unwrap_or(Timestamp::MAX));
                    if !keep_going {
                        break;
                    }
                }
            }
            // Due jobs that could not start (limits, busy meters) wait for a completion or
            // the poll; otherwise sleep until the next due time.
            let mut wait = match next_due {
                Some(d) if d > now => {
                    Duration::try_from(d.duration_since(now)).unwrap_or(self.idle_poll).min(self.idle_poll)
                }
                _ => self.idle_poll,
            };
            if self.planner.is_some() {
                wait = wait.min(Duration::try_from(next_plan.duration_since(now)).unwrap_or(Duration::ZERO));
            }
            tokio::select! {
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    match joined {
                        Ok((job, result)) => self.finish(job, result, &mut running, &mut report)?,
                        Err(e) => tracing::error!(error = %e, "a job task panicked or was cancelled"),
                    }
                }
                _ = tokio::time::sleep(wait) => {}
                _ = &mut shutdown => break,
            }
        }
        report.queued_left = self.store.counts()?.get("queued").copied().unwrap_or(0);
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// Starts what may start now.
    fn dispatch(
        &mut self,
        tasks: &mut JoinSet<(Job, Result<JobOutcome, JobFailure>)>,
        running: &mut HashMap<i64, Running>,
        report: &mut RunReport,
    ) -> Result<(), SchedulerError> {
        let limits = self.config.limits;
        let free = limits.max_sessions.max(1).saturating_sub(running.len());
        if free == 0 {
            return Ok(());
        }
        let now = self.clock.now();
        let page = free * 8 + 64;
        let mut per_dcu: HashMap<String, usize> = HashMap::new();
        let mut per_link: HashMap<String, usize> = HashMap::new();
        let mut busy: std::collections::HashSet<String> = std::collections::HashSet::new();
        for r in running.values() {
            busy.insert(r.serial.clone());
            if let Some(d) = &r.placement.dcu {
                *per_dcu.entry(d.clone()).or_default() += 1;
            }
            if let Some(l) = &r.placement.link {
                *per_link.entry(l.clone()).or_default() += 1;
            }
        }
        let mut chosen: Vec<(Job, Placement, bool)> = Vec::new();
        let mut offset = 0;
        'pages: while chosen.len() < free && offset < MAX_SCAN {
            let candidates = self.store.due_jobs_page(now, page, offset)?;
            let last_page = candidates.len() < page;
            offset += candidates.len();
            for job in candidates {
                if chosen.len() >= free {
                    break 'pages;
                }
                if busy.contains(&job.serial) || self.admission.as_ref().is_some_and(|admit| !admit(&job.serial)) {
                    continue;
                }
                let placement = self.executor.placement(&job.serial);
                if placement.dcu.as_ref().is_some_and(|d| per_dcu.get(d).copied().unwrap_or(0) >= limits.per_dcu.max(1))
                {
                    continue;
                }
                if placement
                    .link
                    .as_ref()
                    .is_some_and(|l| per_link.get(l).copied().unwrap_or(0) >= limits.per_link.max(1))
                {
                    continue;
                }
                let mut health = self.store.health(&job.serial)?;
                let probe = match health.admit(now, &self.config.breaker, job.kind.is_forced()) {
                    Admission::Allow => false,
                    Admission::Probe => {
                        if health.breaker != BreakerState::HalfOpen {
                            health.breaker = BreakerState::HalfOpen;
                            self.store.save_health(&health)?;
                        }
                        true
                    }
                    Admission::Defer(until) => {
                        self.store.defer(job.id, until)?;
                        report.deferred_by_breaker += 1;
                        continue;
                    }
                };
                busy.insert(job.serial.clone());
                if let Some(d) = &placement.dcu {
                    *per_dcu.entry(d.clone()).or_default() += 1;
                }
                if let Some(l) = &placement.link {
                    *per_link.entry(l.clone()).or_default() += 1;
                }
                chosen.push((job, placement, probe));
            }
            if last_page {
                break;
            }
        }
        if chosen.is_empty() {
            return Ok(());
        }
        let jobs: Vec<Job> = chosen.iter().map(|(j, _, _)| j.clone()).collect();
        let started = self.store.start(&jobs, now)?;
        for (job, (_, placement, probe)) in started.into_iter().zip(chosen) {
            report.attempts += 1;
            running.insert(job.id, Running { serial: job.serial.clone(), placement, probe });
            let executor = self.executor.clone();
            tasks.spawn(async move {
                let result = executor.execute(job.clone()).await;
                (job, result)
            });
        }
        report.peak_sessions = report.peak_sessions.max(running.len());
        report.peak_per_dcu = report.peak_per_dcu.max(per_dcu.values().copied().max().unwrap_or(0));
        Ok(())
    }

    /// Records an attempt's outcome.
    fn finish(
        &mut self,
        job: Job,
        result: Result<JobOutcome, JobFailure>,
        running: &mut HashMap<i64, Running>,
        report: &mut RunReport,
    ) -> Result<(), SchedulerError> {
        let was = running.remove(&job.id);
        let now = self.clock.now();
        match record_outcome(&mut self.store, &job, &result, &self.config, now)? {
            AttemptEnd::Succeeded => report.succeeded += 1,
            AttemptEnd::Retry(_) => report.retried += 1,
            AttemptEnd::Failed => report.failed += 1,
        }
        if result.is_err() && was.is_some_and(|r| r.probe) {
            tracing::info!(meter = %job.serial, "breaker probe failed; open again");
        }
        Ok(())
    }
}

/// How an attempt ended, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    /// The job succeeded.
    Succeeded,
    /// The job was re-queued for this time.
    Retry(Timestamp),
    /// The job failed for good.
    Failed,
}

/// Records the outcome of one attempt of `job` (whose `attempts` counts it): the job's
/// new state (succeeded; re-queued after backoff for a transient error with attempts
/// left — never for a forced job, which reports to its operator at once; failed) and
/// the meter's health and breaker.
///
/// # Errors
/// [`SchedulerError::Sqlite`].
pub fn record_outcome(
    store: &mut JobStore,
    job: &Job,
    result: &Result<JobOutcome, JobFailure>,
    config: &SchedulerConfig,
    now: Timestamp,
) -> Result<AttemptEnd, SchedulerError> {
    let mut health: MeterHealth = store.health(&job.serial)?;
    let end = match result {
        Ok(outcome) => {
            store.succeed(job, outcome, now)?;
            health.on_success(now);
            AttemptEnd::Succeeded
        }
        Err(failure) => {
            health.on_failure(now, &failure.error, &config.breaker);
            let retry = failure.transient && !job.kind.is_forced() && job.attempts < config.retry.max_attempts;
            let retry_at = retry.then(|| {
                let delay = config.retry.delay(job.attempts, job.id as u64);
                now.checked_add(signed(delay)).unwrap_or(Timestamp::MAX)
            });
            store.fail(job, &failure.error, retry_at, now)?;
            match retry_at {
                Some(at) => {
                    tracing::debug!(job = job.id, meter = %job.serial, attempt = job.attempts, error = %failure.error, retry_at = %at, "attempt failed; retrying");
                    AttemptEnd::Retry(at)
                }
                None => {
                    tracing::warn!(job = job.id, meter = %job.serial, attempt = job.attempts, error = %failure.error, "job failed");
                    AttemptEnd::Failed
                }
            }
        }
    };
    store.save_health(&health)?;
    Ok(end)
}
