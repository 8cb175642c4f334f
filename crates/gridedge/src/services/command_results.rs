//! The MDMS end of the bus for command results: every state change the HES reports for a
//! command ([`CommandResultEnvelope`], `CommandResults` stream) is recorded in the MDMS
//! store's own database, in the table `mdms_command_result`, and only then acknowledged.
//!
//! Where: the same database as the meter data (the SQLite file of `[store] sqlite_path`, or
//! the PostgreSQL database of `[store] postgres`), so a deployment has one system of record
//! and the API (or an operator with `sqlite3`/`psql`) reads a command's history with
//! `SELECT * FROM mdms_command_result WHERE command_id = ? ORDER BY at_ms`.
//!
//! ```sql
//! CREATE TABLE mdms_command_result (
//!     command_id     TEXT   NOT NULL,  -- the API's id of the command
//!     state          TEXT   NOT NULL,  -- queued | sent | confirmed | failed
//!     meter          TEXT   NOT NULL,  -- the meter's serial
//!     at_ms          BIGINT NOT NULL,  -- when the HES recorded the state, Unix ms UTC
//!     reason         TEXT,             -- why it failed (failed only)
//!     detail         TEXT   NOT NULL,  -- JSON: what was read back or done
//!     received_at_ms BIGINT NOT NULL,  -- when the MDMS stored it, Unix ms UTC
//!     PRIMARY KEY (command_id, state)
//! );
//! ```
//!
//! Idempotent: one row per (command, state); a redelivered or republished state is a
//! duplicate and writes nothing (the first delivery is kept). A batch is one transaction.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bus::{BusMessage, CommandResultEnvelope};

/// `CREATE TABLE` of the command results (both backends).
const CREATE: &str = "CREATE TABLE IF NOT EXISTS mdms_command_result (
    command_id TEXT NOT NULL,
    state TEXT NOT NULL,
    meter TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    reason TEXT,
    detail TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (command_id, state)
)";

/// What one [`CommandResultStore::record`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommandResultsRecorded {
    /// States stored for the first time.
    pub inserted: u64,
    /// States already stored (redeliveries, repeats within the batch).
    pub duplicates: u64,
}

/// The `mdms_command_result` table in the MDMS store's database.
pub enum CommandResultStore {
    /// In the SQLite store file (its own connection; WAL lets it write beside the store).
    Sqlite(rusqlite::Connection),
    /// In the PostgreSQL store database (its own connection).
    Postgres(Box<postgres::Client>),
}

impl std::fmt::Debug for CommandResultStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandResultStore::Sqlite(_) => f.write_str("CommandResultStore::Sqlite"),
            CommandResultStore::Postgres(_) => f.write_str("CommandResultStore::Postgres"),
        }
    }
}

impl CommandResultStore {
    /// Opens the table in the SQLite database `path` (created when missing).
    ///
    /// Errors: the file cannot be opened or the table created.
    pub fn open_sqlite(path: &Path) -> anyhow::Result<Self> {
        let conn = rusqlite::Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(30)).context("setting the busy timeout")?;
        conn.execute_batch(CREATE).context("creating mdms_command_result")?;
        Ok(CommandResultStore::Sqlite(conn))
    }

    /// Opens the table in the PostgreSQL database `conninfo` names (created when missing).
    ///
    /// Errors: the server is unreachable or refuses the login; the table cannot be created.
    pub fn open_postgres(conninfo: &str) -> anyhow::Result<Self> {
        let mut client = postgres::Client::connect(conninfo, postgres::NoTls).context("connecting to PostgreSQL")?;
        client.batch_execute(CREATE).context("creating mdms_command_result")?;
        Ok(CommandResultStore::Postgres(Box::new(client)))
    }

    /// Records `results` in one transaction (see the module docs).
    ///
    /// Errors: a database error (nothing of the batch is stored).
    pub fn record(&mut self, results: &[CommandResultEnvelope]) -> anyhow::Result<CommandResultsRecorded> {
        let received_at = jiff::Timestamp::now().as_millisecond();
        let mut recorded = CommandResultsRecorded::default();
        let rows = results.iter().map(|r| {
            (
                r.command_id.as_str(),
                r.state.as_str(),
                r.meter.as_str(),
                r.at.as_millisecond(),
                r.reason.as_deref(),
                r.detail.to_string(),
            )
        });
        match self {
            CommandResultStore::Sqlite(conn) => {
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .context("beginning a transaction")?;
                {
                    let mut insert = tx
                        .prepare_cached(
                            "INSERT INTO mdms_command_result \
                             (command_id, state, meter, at_ms, reason, detail, received_at_ms) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                        )
                        .context("preparing the insert")?;
                    for (id, state, meter, at, reason, detail) in rows {
                        let n = insert
                            .execute(rusqlite::params![id, state, meter, at, reason, detail, received_at])
                            .context("inserting a command result")?;
                        count(&mut recorded, n as u64);
                    }
                }
                tx.commit().context("committing command results")?;
            }
            CommandResultStore::Postgres(client) => {
                let mut tx = client.transaction().context("beginning a transaction")?;
                let insert = tx
                    .prepare(
                        "INSERT INTO mdms_command_result \
                         (command_id, state, meter, at_ms, reason, detail, received_at_ms) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    )
                    .context("preparing the insert")?;
                for (id, state, meter, at, reason, detail) in rows {
                    let n = tx
                        .execute(&insert, &[&id, &state, &meter, &at, &reason, &detail, &received_at])
                        .context("inserting a command result")?;
                    count(&mut recorded, n);
                }
                tx.commit().context("committing command results")?;
            }
        }
        Ok(recorded)
    }
}

fn count(recorded: &mut CommandResultsRecorded, rows: u64) {
    if rows > 0 {
        recorded.inserted += 1;
    } else {
        recorded.duplicates += 1;
    }
}

/// Decodes a batch of `CommandResults` messages: the results, and the positions of
/// messages that do not decode (poison).
pub fn decode_command_results<'a>(
    batch: impl IntoIterator<Item = &'a BusMessage>,
) -> (Vec<CommandResultEnvelope>, Vec<usize>) {
    let mut results = Vec::new();
    let mut poison = Vec::new();
    for (index, message) in batch.into_iter().enumerate() {
        match message.decode::<CommandResultEnvelope>() {
            Ok(result) => results.push(result),
            Err(e) => {
                tracing::error!(error = %e, "a command_results message does not decode; dropped");
                poison.push(index);
            }
        }
    }
    (results, poison)
}

#[cfg(test)]
mod tests {
    use bus::CommandResultState;

    use super::*;

    fn result(id: &str, state: CommandResultState) -> CommandResultEnvelope {
        CommandResultEnvelope {
            command_id: id.into(),
            meter: "GE00000001".into(),
            state,
            at: "2026-11-21T10:00:00Z".parse().unwrap(),
            reason: (state == CommandResultState::Failed).then(|| "read-write-denied".to_string()),
            detail: serde_json::json!({"relay": "disconnected"}),
        }
    }

    #[test]
    fn each_state_is_stored_once_and_readable_by_sql() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mdms.db");
        let mut store = CommandResultStore::open_sqlite(&path).unwrap();
        let batch = [
            result("7", CommandResultState::Sent),
            result("7", CommandResultState::Failed),
            result("7", CommandResultState::Sent),
        ];
        assert_eq!(store.record(&batch).unwrap(), CommandResultsRecorded { inserted: 2, duplicates: 1 });
        assert_eq!(store.record(&batch[..1]).unwrap(), CommandResultsRecorded { inserted: 0, duplicates: 1 });
        drop(store);
        let conn = rusqlite::Connection::open(&path).unwrap();
        let (reason, at): (Option<String>, i64) = conn
            .query_row(
                "SELECT reason, at_ms FROM mdms_command_result WHERE command_id = '7' AND state = 'failed'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(reason.as_deref(), Some("read-write-denied"));
        assert_eq!(at, 1_795_255_200_000);
    }

    #[test]
    fn a_result_that_does_not_decode_is_poison() {
        let good = result("1", CommandResultState::Confirmed).to_message(4).unwrap();
        let mut bad = good.clone();
        bad.payload = b"{".to_vec();
        let (results, poison) = decode_command_results(&[bad, good]);
        assert_eq!(results.len(), 1);
        assert_eq!(poison, vec![0]);
    }
}
