//! [`JobStore`]: job state, attempt history and meter health in the HES database
//! (tables `jobs`, `job_attempts`, `meter_health`), so a restarted HES resumes where it
//! stopped: jobs left `running` by a crash are re-queued (their attempt recorded as
//! `interrupted`), queued jobs keep their due times, breakers keep their state.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::breaker::{BreakerState, MeterHealth};
use super::error::SchedulerError;
use super::job::{AttemptRecord, Job, JobKind, JobOutcome, JobSpec, JobState, Priority};
use crate::registry_store::database::{self, Durability, from_ms, to_ms};

/// Schema version of the scheduler tables.
pub const SCHEDULER_SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id              INTEGER PRIMARY KEY,
    serial          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    cycle           TEXT,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    due_at          INTEGER NOT NULL,
    billing_instant INTEGER,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER,
    last_error      TEXT,
    result          TEXT,
    UNIQUE (serial, kind, cycle)
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(state, priority, due_at);
CREATE INDEX IF NOT EXISTS jobs_serial ON jobs(serial, id);
CREATE TABLE IF NOT EXISTS job_attempts (
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    attempt     INTEGER NOT NULL,
    serial      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    outcome     TEXT NOT NULL,
    error       TEXT,
    PRIMARY KEY (job_id, attempt)
);
CREATE INDEX IF NOT EXISTS job_attempts_serial ON job_attempts(serial, started_at);
CREATE TABLE IF NOT EXISTS meter_health (
    serial               TEXT PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL,
    breaker              TEXT NOT NULL,
    opened_at            INTEGER,
    last_success_at      INTEGER,
    last_failure_at      INTEGER,
    last_error           TEXT
);
";

const JOB_COLUMNS: &str = "id, serial, kind, priority, cycle, state, attempts, due_at, billing_instant, created_at, \
     started_at, finished_at, last_error, result";

/// Which jobs [`JobStore::list`] returns.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this meter.
    pub serial: Option<String>,
    /// Only this state.
    pub state: Option<JobState>,
    /// Only this kind.
    pub kind: Option<JobKind>,
    /// At most this many (newest first); `None` = all.
    pub limit: Option<u32>,
}

/// What [`JobStore::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The job's id (the existing job's when it was a duplicate).
    pub id: i64,
    /// False when a job with the same (meter, kind, cycle) existed.
    pub created: bool,
}

/// The scheduler's persistent state (see the module docs).
#[derive(Debug)]
pub struct JobStore {
    conn: Connection,
}

fn decode_job(row: &Row<'_>) -> Result<Job, SchedulerError> {
    let id: i64 = row.get(0)?;
    let bad = |what: &str, v: String| SchedulerError::CorruptRow { id, detail: format!("{what} {v:?}") };
    let kind: String = row.get(2)?;
    let priority: i64 = row.get(3)?;
    let state: String = row.get(5)?;
    let result: Option<String> = row.get(13)?;
    Ok(Job {
        id,
        serial: row.get(1)?,
        kind: kind.parse().map_err(|_| bad("kind", kind.clone()))?,
        priority: Priority::from_i64(priority).ok_or_else(|| bad("priority", priority.to_string()))?,
        cycle: row.get(4)?,
        state: state.parse().map_err(|_| bad("state", state.clone()))?,
        attempts: row.get(6)?,
        due_at: from_ms(row.get(7)?),
        billing_instant: row.get::<_, Option<i64>>(8)?.map(from_ms),
        created_at: from_ms(row.get(9)?),
        started_at: row.get::<_, Option<i64>>(10)?.map(from_ms),
        finished_at: row.get::<_, Option<i64>>(11)?.map(from_ms),
        last_error: row.get(12)?,
        result: result.and_then(|r| serde_json::from_str(&r).ok()),
    })
}

impl JobStore {
    /// Opens (creating if needed) the scheduler tables in the HES database at `path`,
    /// with [`Durability::Normal`] (a SIGKILL loses nothing committed; a power cut may
    /// re-run the last jobs, which the MDMS's idempotent ingest absorbs). Opening does
    /// not touch running jobs: the runner calls [`JobStore::recover_interrupted`].
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`], [`SchedulerError::SchemaTooNew`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SchedulerError> {
        Self::setup(database::open(path.as_ref(), Durability::Normal)?)
    }

    /// Scheduler tables in a private in-memory database.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn open_in_memory() -> Result<Self, SchedulerError> {
        Self::setup(database::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<Self, SchedulerError> {
        let found = database::schema_version(&conn, "scheduler")?;
        if found > SCHEDULER_SCHEMA_VERSION {
            return Err(SchedulerError::SchemaTooNew { found, supported: SCHEDULER_SCHEMA_VERSION });
        }
        conn.execute_batch(SCHEMA)?;
        database::set_schema_version(&conn, "scheduler", SCHEDULER_SCHEMA_VERSION)?;
        Ok(JobStore { conn })
    }

    /// Creates a queued job, unless one with the same (meter, kind, cycle) exists (then
    /// returns that one's id with `created: false`).
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn enqueue(&mut self, spec: &JobSpec, now: Timestamp) -> Result<Enqueued, SchedulerError> {
        let n = self.conn.execute(
            "INSERT INTO jobs (serial, kind, priority, cycle, state, due_at, billing_instant, created_at)
             VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7)
             ON CONFLICT(serial, kind, cycle) DO NOTHING",
            params![
                spec.serial,
                spec.kind.as_str(),
                spec.priority as i64,
                spec.cycle,
                to_ms(spec.due_at),
                spec.billing_instant.map(to_ms),
                to_ms(now)
            ],
        )?;
        if n == 1 {
            return Ok(Enqueued { id: self.conn.last_insert_rowid(), created: true });
        }
        let id = self.conn.query_row(
            "SELECT id FROM jobs WHERE serial = ?1 AND kind = ?2 AND cycle IS ?3",
            params![spec.serial, spec.kind.as_str(), spec.cycle],
            |r| r.get(0),
        )?;
        Ok(Enqueued { id, created: false })
    }

    /// Enqueues several jobs in one transaction (see [`JobStore::enqueue`]). With
    /// `supersede`, each newly created job supersedes the older queued jobs of the same
    /// kind for the same meter. Returns each job's outcome and the number superseded.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`] (nothing is written then).
    pub fn enqueue_many(
        &mut self,
        specs: &[JobSpec],
        supersede: bool,
        now: Timestamp,
    ) -> Result<(Vec<Enqueued>, usize), SchedulerError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(specs.len());
        let mut superseded = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO jobs (serial, kind, priority, cycle, state, due_at, billing_instant, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7)
                 ON CONFLICT(serial, kind, cycle) DO NOTHING",
            )?;
            let mut find = tx.prepare_cached("SELECT id FROM jobs WHERE serial = ?1 AND kind = ?2 AND cycle IS ?3")?;
            let mut older = tx.prepare_cached(
                "UPDATE jobs SET state = 'superseded', finished_at = ?4, last_error = 'superseded by job ' || ?3
                 WHERE serial = ?1 AND kind = ?2 AND state = 'queued' AND id < ?3",
            )?;
            for spec in specs {
                let n = insert.execute(params![
                    spec.serial,
                    spec.kind.as_str(),
                    spec.priority as i64,
                    spec.cycle,
                    to_ms(spec.due_at),
                    spec.billing_instant.map(to_ms),
                    to_ms(now)
                ])?;
                let e = if n == 1 {
                    Enqueued { id: tx.last_insert_rowid(), created: true }
                } else {
                    let id = find.query_row(params![spec.serial, spec.kind.as_str(), spec.cycle], |r| r.get(0))?;
                    Enqueued { id, created: false }
                };
                if e.created && supersede {
                    superseded += older.execute(params![spec.serial, spec.kind.as_str(), e.id, to_ms(now)])?;
                }
                out.push(e);
            }
        }
        tx.commit()?;
        Ok((out, superseded))
    }

    /// Creates a job directly in the running state with its first attempt open (an
    /// operator's on-demand read executed by the calling process itself, so a running
    /// scheduler never picks it up too).
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn claim_new(&mut self, spec: &JobSpec, now: Timestamp) -> Result<Job, SchedulerError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO jobs (serial, kind, priority, cycle, state, attempts, due_at, billing_instant, created_at,
                started_at)
             VALUES (?1, ?2, ?3, ?4, 'running', 1, ?5, ?6, ?7, ?7)",
            params![
                spec.serial,
                spec.kind.as_str(),
                spec.priority as i64,
                spec.cycle,
                to_ms(spec.due_at),
                spec.billing_instant.map(to_ms),
                to_ms(now)
            ],
        )?;
        let id = tx.last_insert_rowid();
        insert_attempt(&tx, id, 1, &spec.serial, spec.kind, now)?;
        tx.commit()?;
        self.job(id)?.ok_or(SchedulerError::UnknownJob(id))
    }

    /// Marks older queued jobs of `kind` for `serial` (other cycles, created before
    /// `newer_id`) superseded. Returns how many.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn supersede_older(
        &mut self,
        serial: &str,
        kind: JobKind,
        newer_id: i64,
        now: Timestamp,
    ) -> Result<usize, SchedulerError> {
        Ok(self.conn.execute(
            "UPDATE jobs SET state = 'superseded', finished_at = ?4, last_error = 'superseded by job ' || ?3
             WHERE serial = ?1 AND kind = ?2 AND state = 'queued' AND id < ?3",
            params![serial, kind.as_str(), newer_id, to_ms(now)],
        )?)
    }

    /// Queued jobs due at `now` or earlier, by priority, due time and id, at most `limit`.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`], [`SchedulerError::CorruptRow`].
    pub fn due_jobs(&self, now: Timestamp, limit: usize) -> Result<Vec<Job>, SchedulerError> {
        self.due_jobs_page(now, limit, 0)
    }

    /// [`JobStore::due_jobs`] from the `offset`-th job on.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`], [`SchedulerError::CorruptRow`].
    pub fn due_jobs_page(&self, now: Timestamp, limit: usize, offset: usize) -> Result<Vec<Job>, SchedulerError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'queued' AND due_at <= ?1
             ORDER BY priority, due_at, id LIMIT ?2 OFFSET ?3"
        ))?;
        let mut rows = stmt.query(params![to_ms(now), limit as i64, offset as i64])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode_job(row)?);
        }
        Ok(out)
    }

    /// The earliest due time of a queued job.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn next_due(&self) -> Result<Option<Timestamp>, SchedulerError> {
        let ms: Option<i64> =
            self.conn.query_row("SELECT MIN(due_at) FROM jobs WHERE state = 'queued'", [], |r| r.get(0))?;
        Ok(ms.map(from_ms))
    }

    /// Starts attempts of several jobs in one transaction (state running, attempts + 1,
    /// an open attempt row). Returns the updated jobs.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn start(&mut self, jobs: &[Job], now: Timestamp) -> Result<Vec<Job>, SchedulerError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let attempt = job.attempts + 1;
            tx.execute(
                "UPDATE jobs SET state = 'running', attempts = ?2, started_at = ?3 WHERE id = ?1",
                params![job.id, attempt, to_ms(now)],
            )?;
            insert_attempt(&tx, job.id, attempt, &job.serial, job.kind, now)?;
            out.push(Job { state: JobState::Running, attempts: attempt, started_at: Some(now), ..job.clone() });
        }
        tx.commit()?;
        Ok(out)
    }

    /// Records a successful attempt.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn succeed(&mut self, job: &Job, outcome: &JobOutcome, now: Timestamp) -> Result<(), SchedulerError> {
        let result = serde_json::to_string(outcome).unwrap_or_default();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE jobs SET state = 'succeeded', finished_at = ?2, result = ?3, last_error = NULL WHERE id = ?1",
            params![job.id, to_ms(now), result],
        )?;
        close_attempt(&tx, job, "succeeded", None, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed attempt: re-queued for `retry_at`, or failed for good when
    /// `retry_at` is `None`.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn fail(
        &mut self,
        job: &Job,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), SchedulerError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match retry_at {
            Some(at) => tx.execute(
                "UPDATE jobs SET state = 'queued', due_at = ?2, last_error = ?3 WHERE id = ?1",
                params![job.id, to_ms(at), error],
            )?,
            None => tx.execute(
                "UPDATE jobs SET state = 'failed', finished_at = ?2, last_error = ?3 WHERE id = ?1",
                params![job.id, to_ms(now), error],
            )?,
        };
        close_attempt(&tx, job, "failed", Some(error), now)?;
        tx.commit()?;
        Ok(())
    }

    /// Moves a queued job's due time to `until` (an open breaker).
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn defer(&mut self, job_id: i64, until: Timestamp) -> Result<(), SchedulerError> {
        self.conn
            .execute("UPDATE jobs SET due_at = ?2 WHERE id = ?1 AND state = 'queued'", params![job_id, to_ms(until)])?;
        Ok(())
    }

    /// Re-queues every job left running by a stopped HES (due at `now`), closing its open
    /// attempt as `interrupted`. The attempt still counts. Returns how many.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn recover_interrupted(&mut self, now: Timestamp) -> Result<usize, SchedulerError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE job_attempts SET outcome = 'interrupted', finished_at = ?1,
                 error = 'the HES stopped during this attempt'
             WHERE outcome = 'running'",
            [to_ms(now)],
        )?;
        let n = tx.execute(
            "UPDATE jobs SET state = 'queued', due_at = MIN(due_at, ?1),
                 last_error = 'interrupted: the HES stopped during the attempt'
             WHERE state = 'running'",
            [to_ms(now)],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// One job.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`], [`SchedulerError::CorruptRow`].
    pub fn job(&self, id: i64) -> Result<Option<Job>, SchedulerError> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"))?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(row) => Ok(Some(decode_job(row)?)),
            None => Ok(None),
        }
    }

    /// Jobs matching `filter`, newest first.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`], [`SchedulerError::CorruptRow`].
    pub fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, SchedulerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs
             WHERE (?1 IS NULL OR serial = ?1) AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR kind = ?3)
             ORDER BY id DESC LIMIT ?4"
        ))?;
        let limit = filter.limit.map_or(-1, i64::from);
        let mut rows = stmt.query(params![
            filter.serial,
            filter.state.map(JobState::as_str),
            filter.kind.map(JobKind::as_str),
            limit
        ])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode_job(row)?);
        }
        Ok(out)
    }

    /// Number of jobs per state.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn counts(&self) -> Result<BTreeMap<&'static str, u64>, SchedulerError> {
        let mut out: BTreeMap<&'static str, u64> = JobState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        let mut stmt = self.conn.prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (state, n) = row?;
            if let Ok(s) = state.parse::<JobState>() {
                out.insert(s.as_str(), n.max(0) as u64);
            }
        }
        Ok(out)
    }

    /// The attempt history of one meter (or all with `None`), newest first.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn history(&self, serial: Option<&str>, limit: Option<u32>) -> Result<Vec<AttemptRecord>, SchedulerError> {
        let mut stmt = self.conn.prepare(
            "SELECT job_id, serial, kind, attempt, started_at, finished_at, outcome, error FROM job_attempts
             WHERE ?1 IS NULL OR serial = ?1 ORDER BY started_at DESC, job_id DESC, attempt DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![serial, limit.map_or(-1, i64::from)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (job_id, serial, kind, attempt, started, finished, outcome, error) = row?;
            out.push(AttemptRecord {
                job_id,
                serial,
                kind: kind
                    .parse()
                    .map_err(|_| SchedulerError::CorruptRow { id: job_id, detail: format!("kind {kind:?}") })?,
                attempt,
                started_at: from_ms(started),
                finished_at: finished.map(from_ms),
                outcome,
                error,
            });
        }
        Ok(out)
    }

    /// The health record of a meter (a fresh one when none is stored).
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn health(&self, serial: &str) -> Result<MeterHealth, SchedulerError> {
        let row = self
            .conn
            .query_row(
                "SELECT consecutive_failures, breaker, opened_at, last_success_at, last_failure_at, last_error
                 FROM meter_health WHERE serial = ?1",
                [serial],
                |r| {
                    Ok((
                        r.get::<_, u32>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((failures, breaker, opened, success, failure, error)) = row else {
            return Ok(MeterHealth::new(serial));
        };
        let breaker = match (breaker.as_str(), opened) {
            ("open", Some(ms)) => BreakerState::Open { since: from_ms(ms) },
            ("half_open", _) => BreakerState::HalfOpen,
            _ => BreakerState::Closed,
        };
        Ok(MeterHealth {
            serial: serial.to_string(),
            consecutive_failures: failures,
            breaker,
            last_success_at: success.map(from_ms),
            last_failure_at: failure.map(from_ms),
            last_error: error,
        })
    }

    /// Stores a meter's health record.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn save_health(&mut self, h: &MeterHealth) -> Result<(), SchedulerError> {
        let (breaker, opened) = match h.breaker {
            BreakerState::Closed => ("closed", None),
            BreakerState::Open { since } => ("open", Some(to_ms(since))),
            BreakerState::HalfOpen => ("half_open", None),
        };
        self.conn.execute(
            "INSERT INTO meter_health (serial, consecutive_failures, breaker, opened_at, last_success_at,
                 last_failure_at, last_error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(serial) DO UPDATE SET consecutive_failures = excluded.consecutive_failures,
                 breaker = excluded.breaker, opened_at = excluded.opened_at,
                 last_success_at = excluded.last_success_at, last_failure_at = excluded.last_failure_at,
                 last_error = excluded.last_error",
            params![
                h.serial,
                h.consecutive_failures,
                breaker,
                opened,
                h.last_success_at.map(to_ms),
                h.last_failure_at.map(to_ms),
                h.last_error
            ],
        )?;
        Ok(())
    }

    /// Health records of every meter with a non-closed breaker or failures.
    ///
    /// # Errors
    /// [`SchedulerError::Sqlite`].
    pub fn unhealthy(&self) -> Result<Vec<MeterHealth>, SchedulerError> {
        let serials: Vec<String> = {
            let mut stmt = self.conn.prepare(
                "SELECT serial FROM meter_health WHERE breaker <> 'closed' OR consecutive_failures > 0 ORDER BY serial",
            )?;
            stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        serials.iter().map(|s| self.health(s)).collect()
    }
}

fn insert_attempt(
    tx: &Connection,
    job_id: i64,
    attempt: u32,
    serial: &str,
    kind: JobKind,
    now: Timestamp,
) -> Result<(), rusqlite::Error> {
    tx.execute(
        "INSERT INTO job_attempts (job_id, attempt, serial, kind, started_at, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, 'running')
         ON CONFLICT(job_id, attempt) DO UPDATE SET started_at = excluded.started_at, outcome = 'running',
             finished_at = NULL, error = NULL",
        params![job_id, attempt, serial, kind.as_str(), to_ms(now)],
    )?;
    Ok(())
}

fn close_attempt(
    tx: &Connection,
    job: &Job,
    outcome: &str,
    error: Option<&str>,
    now: Timestamp,
) -> Result<(), rusqlite::Error> {
    tx.execute(
        "UPDATE job_attempts SET outcome = ?3, error = ?4, finished_at = ?5 WHERE job_id = ?1 AND attempt = ?2",
        params![job.id, job.attempts, outcome, error, to_ms(now)],
    )?;
    Ok(())
}
