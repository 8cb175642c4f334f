//! Jobs: what the scheduler runs, with their kinds, priorities and states.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::Serialize;

/// What a job reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// The daily billing read: the billing registers after the meter's local midnight,
    /// plus the load-profile catch-up in the same association (one session per meter
    /// per day).
    DailyBilling,
    /// Load-profile catch-up from the last interval the MDMS holds, in chunks.
    LoadProfile,
    /// Instantaneous values (power, voltage, current; flow for water and gas).
    Instantaneous,
    /// An operator's forced read (registers, instantaneous values and profile catch-up):
    /// highest priority, not held back by the circuit breaker or a suspended status.
    OnDemand,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 4] =
        [JobKind::DailyBilling, JobKind::LoadProfile, JobKind::Instantaneous, JobKind::OnDemand];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::DailyBilling => "daily_billing",
            JobKind::LoadProfile => "load_profile",
            JobKind::Instantaneous => "instantaneous",
            JobKind::OnDemand => "on_demand",
        }
    }

    /// What a job of this kind reads.
    pub fn scope(self) -> ReadScope {
        match self {
            JobKind::DailyBilling => ReadScope { billing_registers: true, instantaneous: false, load_profile: true },
            JobKind::LoadProfile => ReadScope { billing_registers: false, instantaneous: false, load_profile: true },
            JobKind::Instantaneous => ReadScope { billing_registers: false, instantaneous: true, load_profile: false },
            JobKind::OnDemand => ReadScope { billing_registers: true, instantaneous: true, load_profile: true },
        }
    }

    /// True when the job ignores the circuit breaker and a suspended status.
    pub fn is_forced(self) -> bool {
        self == JobKind::OnDemand
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown job kind {s:?}"))
    }
}

/// What one read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReadScope {
    /// The meter type's billing (cumulative) registers.
    pub billing_registers: bool,
    /// The meter type's instantaneous values.
    pub instantaneous: bool,
    /// The load profile since the last stored interval.
    pub load_profile: bool,
}

/// Job priority: lower runs first. On-demand reads go before alarm-triggered reads,
/// which go before scheduled reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// An operator's read (0).
    OnDemand = 0,
    /// A read triggered by an alarm or event from the meter (1).
    Alarm = 1,
    /// A scheduled read (2).
    Scheduled = 2,
}

impl Priority {
    /// From the stored number.
    pub fn from_i64(v: i64) -> Option<Self> {
        match v {
            0 => Some(Priority::OnDemand),
            1 => Some(Priority::Alarm),
            2 => Some(Priority::Scheduled),
            _ => None,
        }
    }

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::OnDemand => "on_demand",
            Priority::Alarm => "alarm",
            Priority::Scheduled => "scheduled",
        }
    }
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its due time (and for a free slot).
    Queued,
    /// An attempt is under way.
    Running,
    /// Done.
    Succeeded,
    /// Failed after its last attempt, or with a permanent error.
    Failed,
    /// Replaced by a newer job of the same kind for the same meter before it ran (e.g.
    /// yesterday's billing read of a meter that was unreachable: today's read catches
    /// the profile up anyway).
    Superseded,
}

impl JobState {
    /// Every state.
    pub const ALL: [JobState; 5] =
        [JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed, JobState::Superseded];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Superseded => "superseded",
        }
    }

    /// True for states a job never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed | JobState::Superseded)
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown job state {s:?}"))
    }
}

/// A job to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// The meter.
    pub serial: String,
    /// What to read.
    pub kind: JobKind,
    /// How urgent.
    pub priority: Priority,
    /// De-duplication key: at most one job per (meter, kind, cycle), e.g. the local date
    /// of a daily billing read. `None` never de-duplicates (on-demand reads).
    pub cycle: Option<String>,
    /// Earliest start, UTC (jitter included).
    pub due_at: Timestamp,
    /// For daily billing: the meter's local midnight (UTC) the billing read belongs to.
    pub billing_instant: Option<Timestamp>,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// Job id.
    pub id: i64,
    /// The meter.
    pub serial: String,
    /// What it reads.
    pub kind: JobKind,
    /// Its priority.
    pub priority: Priority,
    /// Its de-duplication key.
    pub cycle: Option<String>,
    /// Its state.
    pub state: JobState,
    /// Attempts started so far.
    pub attempts: u32,
    /// Earliest start of the next attempt, UTC.
    pub due_at: Timestamp,
    /// For daily billing: the local midnight it belongs to, UTC.
    pub billing_instant: Option<Timestamp>,
    /// When it was created, UTC.
    pub created_at: Timestamp,
    /// When its last attempt started, UTC.
    pub started_at: Option<Timestamp>,
    /// When it reached a terminal state, UTC.
    pub finished_at: Option<Timestamp>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// The successful attempt's summary (see [`JobOutcome`]).
    pub result: Option<serde_json::Value>,
}

/// What a successful job did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobOutcome {
    /// Profile entries (capture times) delivered.
    pub intervals: u64,
    /// Interval values delivered (all channels).
    pub interval_values: u64,
    /// Register values delivered.
    pub registers: u64,
    /// Profile chunks read (one GET by range each).
    pub chunks: u32,
    /// First and last interval end delivered, UTC.
    pub first_interval: Option<Timestamp>,
    /// Last interval end delivered, UTC.
    pub last_interval: Option<Timestamp>,
    /// Meter clock minus HES clock, ms.
    pub clock_drift_ms: Option<i64>,
    /// Key generation used (`None` without keys).
    pub key_generation: Option<u32>,
    /// Values read whose OBIS code the MDMS has no reading type for (water and gas
    /// stubs): `(obis, value, unit symbol)`.
    pub unstored_values: Vec<(String, f64, String)>,
    /// Remarks (e.g. "billing registers already read for this cycle").
    pub notes: Vec<String>,
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// The error, for the history.
    pub error: String,
    /// True when retrying later may help (network, timeouts, a busy store).
    pub transient: bool,
}

/// One attempt of a job, as kept in the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRecord {
    /// The job.
    pub job_id: i64,
    /// The meter.
    pub serial: String,
    /// The job's kind.
    pub kind: JobKind,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// When it started, UTC.
    pub started_at: Timestamp,
    /// When it ended, UTC (`None` while running).
    pub finished_at: Option<Timestamp>,
    /// `running`, `succeeded`, `failed` or `interrupted` (the HES stopped during it).
    pub outcome: String,
    /// Its error.
    pub error: Option<String>,
}
