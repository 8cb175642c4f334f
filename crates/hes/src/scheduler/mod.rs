//! The HES scheduler: collection jobs for a fleet, persisted so a restarted HES resumes.
//!
//! Job types ([`JobKind`]): the daily billing read at each meter's local midnight (with
//! the load-profile catch-up in the same association), load-profile catch-up from the
//! last interval the MDMS holds (read in chunks, each committed before the next, so a
//! meter unreachable for days is caught up completely when it returns), instantaneous
//! values, and on-demand (forced) reads. Priorities: on-demand before alarms before
//! scheduled ([`Priority`]). Jitter spreads scheduled jobs over a window; failed
//! attempts are retried with exponential backoff and jitter ([`RetryPolicy`]); sessions
//! are limited in total, per DCU and per shared link ([`Limits`]); a per-meter circuit
//! breaker holds back jobs for a meter that keeps failing ([`breaker`]). Job state,
//! attempt history and breaker state are in SQLite ([`JobStore`]) and queryable.
//!
//! Crash safety: an attempt is recorded before it starts; the readings of a chunk are
//! committed by the MDMS (idempotent ingest) before the next chunk is read; a restart
//! re-queues interrupted jobs, which resume from the last committed interval, and a
//! daily billing job reads its billing registers only if none were stored since its
//! billing instant. A SIGKILL at any point therefore loses and duplicates nothing.
//!
//! | module | holds |
//! |---|---|
//! | [`job`] | job kinds, priorities, states, specs, outcomes |
//! | [`job_store`] | [`JobStore`]: tables `jobs`, `job_attempts`, `meter_health` |
//! | [`planner`] | daily billing (local midnight) and periodic jobs from the registry |
//! | [`runner`] | [`Scheduler`]: dispatch within limits, breaker, retries |
//! | [`breaker`] | per-meter circuit breaker |
//! | [`retry_policy`] | exponential backoff with jitter; jitter windows |
//! | [`executor`] | [`JobExecutor`], [`DlmsExecutor`] |
//! | [`reader`] | one meter's read: clock, serial, registers, chunked profile |
//! | [`sink`] | [`ReadingSink`] (the MDMS), [`MemorySink`] |
//! | [`clock`] | [`Clock`], [`SystemClock`], [`TokioClock`] |
//! | [`error`] | [`SchedulerError`] |

pub mod breaker;
pub mod clock;
pub mod error;
pub mod executor;
pub mod job;
pub mod job_store;
pub mod planner;
pub mod reader;
pub mod retry_policy;
pub mod runner;
pub mod sink;

pub use breaker::{Admission, BreakerConfig, BreakerState, MeterHealth};
pub use clock::{Clock, SystemClock, TokioClock};
pub use error::SchedulerError;
pub use executor::{DlmsExecutor, ExecutorConfig, JobExecutor, Placement};
pub use job::{AttemptRecord, Job, JobFailure, JobKind, JobOutcome, JobSpec, JobState, Priority, ReadScope};
pub use job_store::{Enqueued, JobFilter, JobStore};
pub use planner::{PlanConfig, PlanReport, billing_instant, plan_jobs};
pub use reader::{ReadError, ReadPlan, read_meter};
pub use retry_policy::RetryPolicy;
pub use runner::{AdmissionHook, AttemptEnd, Limits, RunMode, RunReport, Scheduler, SchedulerConfig, record_outcome};
pub use sink::{MemorySink, ReadingSink, SinkError};
