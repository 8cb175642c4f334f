//! [`CommandStore`]: the commands and their audit log in SQLite (rusqlite, WAL), a
//! database of their own (e.g. `commands.db`), two tables:
//!
//! * `command` (id, meter, kind, parameters JSON, state, reason, result JSON, user,
//!   created_at, updated_at): one row per command, its current state;
//! * `command_audit` (seq, command_id, at, user, meter, kind, event, detail JSON): an
//!   append-only line for every state change and progress note.
//!
//! Times are RFC 3339 UTC text. State changes and their audit lines are written in one
//! transaction. A state change out of a final state (confirmed, failed) is refused.

use std::path::Path;
use std::sync::Mutex;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::error::CommandError;
use super::state::{AuditEntry, CommandId, CommandKind, CommandRecord, CommandState};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS command (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    meter       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    parameters  TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'confirmed', 'failed')),
    reason      TEXT,
    result      TEXT NOT NULL DEFAULT 'null',
    user        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS command_meter ON command (meter, id);
CREATE TABLE IF NOT EXISTS command_audit (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id  INTEGER NOT NULL REFERENCES command (id),
    at          TEXT NOT NULL,
    user        TEXT NOT NULL,
    meter       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    event       TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS command_audit_command ON command_audit (command_id, seq);
";

/// Which commands [`CommandStore::list`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandFilter {
    /// Only this meter's.
    pub meter: Option<String>,
    /// Only in this state (queued, sent, confirmed, failed).
    pub state: Option<String>,
    /// At most this many, newest first (default 100).
    pub limit: Option<u32>,
}

/// The command store (thread-safe; one connection behind a mutex).
#[derive(Debug)]
pub struct CommandStore {
    conn: Mutex<Connection>,
}

fn ts(s: &str) -> rusqlite::Result<Timestamp> {
    s.parse()
        .map_err(|e: jiff::Error| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into()))
}

fn json(s: &str) -> rusqlite::Result<serde_json::Value> {
    serde_json::from_str(s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into()))
}

fn kind(s: &str) -> rusqlite::Result<CommandKind> {
    CommandKind::parse(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, format!("command kind {s}").into())
    })
}

fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<CommandRecord> {
    let state: String = row.get("state")?;
    let reason: Option<String> = row.get("reason")?;
    let state = match state.as_str() {
        "queued" => CommandState::Queued,
        "sent" => CommandState::Sent,
        "confirmed" => CommandState::Confirmed,
        _ => CommandState::Failed(reason.unwrap_or_default()),
    };
    Ok(CommandRecord {
        id: row.get("id")?,
        meter: row.get("meter")?,
        kind: kind(&row.get::<_, String>("kind")?)?,
        parameters: json(&row.get::<_, String>("parameters")?)?,
        state,
        result: json(&row.get::<_, String>("result")?)?,
        user: row.get("user")?,
        created_at: ts(&row.get::<_, String>("created_at")?)?,
        updated_at: ts(&row.get::<_, String>("updated_at")?)?,
    })
}

impl CommandStore {
    /// Opens (creating if needed) the store at `path` (WAL journal).
    ///
    /// # Errors
    /// [`CommandError::Store`] when the file cannot be opened or the schema not created.
    pub fn open(path: impl AsRef<Path>) -> Result<CommandStore, CommandError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        Self::with_connection(conn)
    }

    /// A store in memory (tests, demos).
    ///
    /// # Errors
    /// [`CommandError::Store`].
    pub fn in_memory() -> Result<CommandStore, CommandError> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(conn: Connection) -> Result<CommandStore, CommandError> {
        conn.execute_batch(SCHEMA)?;
        Ok(CommandStore { conn: Mutex::new(conn) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A poisoned lock means a panic mid-statement; SQLite rolled back the transaction.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a new command in state queued (and its audit line with the parameters).
    ///
    /// # Errors
    /// [`CommandError::Store`], [`CommandError::Json`].
    pub fn enqueue(
        &self,
        meter: &str,
        kind: CommandKind,
        parameters: &serde_json::Value,
        user: &str,
    ) -> Result<CommandId, CommandError> {
        let now = Timestamp::now().to_string();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO command (meter, kind, parameters, state, user, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?5)",
            params![meter, kind.as_str(), serde_json::to_string(parameters)?, user, now],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO command_audit (command_id, at, user, meter, kind, event, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6)",
            params![id, now, user, meter, kind.as_str(), serde_json::to_string(parameters)?],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Moves command `id` to `state` (with the report as result when confirmed) and writes
    /// the audit line (detail: the report, the reason, or `null`).
    ///
    /// # Errors
    /// [`CommandError::Store`]; [`CommandError::Invalid`] for an unknown id or when the
    /// command is already confirmed or failed.
    pub fn transition(
        &self,
        id: CommandId,
        state: &CommandState,
        result: &serde_json::Value,
    ) -> Result<(), CommandError> {
        let now = Timestamp::now().to_string();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, String, String, String)> = tx
            .query_row("SELECT state, user, meter, kind FROM command WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((current, user, meter, kind)) = row else {
            return Err(CommandError::Invalid(format!("no command {id}")));
        };
        if matches!(current.as_str(), "confirmed" | "failed") {
            return Err(CommandError::Invalid(format!("command {id} is already {current}")));
        }
        let reason = match state {
            CommandState::Failed(r) => Some(r.as_str()),
            _ => None,
        };
        let stored_result = if *state == CommandState::Confirmed { result.clone() } else { serde_json::Value::Null };
        tx.execute(
            "UPDATE command SET state = ?2, reason = ?3, result = ?4, updated_at = ?5 WHERE id = ?1",
            params![id, state.name(), reason, serde_json::to_string(&stored_result)?, now],
        )?;
        let detail = match state {
            CommandState::Failed(r) => serde_json::json!({ "reason": r }),
            _ => result.clone(),
        };
        tx.execute(
            "INSERT INTO command_audit (command_id, at, user, meter, kind, event, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, now, user, meter, kind, state.name(), serde_json::to_string(&detail)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Appends a progress line (event `progress`) to command `id`'s audit log.
    ///
    /// # Errors
    /// [`CommandError::Store`]; [`CommandError::Invalid`] for an unknown id.
    pub fn note(&self, id: CommandId, detail: &serde_json::Value) -> Result<(), CommandError> {
        let now = Timestamp::now().to_string();
        let conn = self.lock();
        let n = conn.execute(
            "INSERT INTO command_audit (command_id, at, user, meter, kind, event, detail)
             SELECT id, ?2, user, meter, kind, 'progress', ?3 FROM command WHERE id = ?1",
            params![id, now, serde_json::to_string(detail)?],
        )?;
        if n == 0 {
            return Err(CommandError::Invalid(format!("no command {id}")));
        }
        Ok(())
    }

    /// Command `id`, if it exists.
    ///
    /// # Errors
    /// [`CommandError::Store`].
    pub fn get(&self, id: CommandId) -> Result<Option<CommandRecord>, CommandError> {
        Ok(self.lock().query_row("SELECT * FROM command WHERE id = ?1", [id], record).optional()?)
    }

    /// Commands matching `filter`, newest first.
    ///
    /// # Errors
    /// [`CommandError::Store`].
    pub fn list(&self, filter: &CommandFilter) -> Result<Vec<CommandRecord>, CommandError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT * FROM command
             WHERE (?1 IS NULL OR meter = ?1) AND (?2 IS NULL OR state = ?2)
             ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![filter.meter, filter.state, filter.limit.unwrap_or(100)], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The audit log of command `id`, oldest first.
    ///
    /// # Errors
    /// [`CommandError::Store`].
    pub fn audit(&self, id: CommandId) -> Result<Vec<AuditEntry>, CommandError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT * FROM command_audit WHERE command_id = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([id], |r| {
            Ok(AuditEntry {
                seq: r.get("seq")?,
                command_id: r.get("command_id")?,
                at: ts(&r.get::<_, String>("at")?)?,
                user: r.get("user")?,
                meter: r.get("meter")?,
                kind: kind(&r.get::<_, String>("kind")?)?,
                event: r.get("event")?,
                detail: json(&r.get::<_, String>("detail")?)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_and_audit() {
        let s = CommandStore::in_memory().unwrap();
        let id = s.enqueue("GE1", CommandKind::Disconnect, &serde_json::json!({}), "alice").unwrap();
        assert_eq!(s.get(id).unwrap().unwrap().state, CommandState::Queued);
        s.transition(id, &CommandState::Sent, &serde_json::Value::Null).unwrap();
        s.note(id, &serde_json::json!({"step": 1})).unwrap();
        s.transition(id, &CommandState::Confirmed, &serde_json::json!({"control_state": 0})).unwrap();
        let r = s.get(id).unwrap().unwrap();
        assert_eq!(
            (r.state, r.result["control_state"].as_i64(), r.user.as_str()),
            (CommandState::Confirmed, Some(0), "alice")
        );
        // A final state does not change any more.
        assert!(matches!(
            s.transition(id, &CommandState::Failed("late".into()), &serde_json::Value::Null),
            Err(CommandError::Invalid(_))
        ));
        let events: Vec<String> = s.audit(id).unwrap().into_iter().map(|a| a.event).collect();
        assert_eq!(events, ["queued", "sent", "progress", "confirmed"]);
        let failed = s.enqueue("GE2", CommandKind::TimeSync, &serde_json::json!({}), "bob").unwrap();
        s.transition(failed, &CommandState::Failed("timed out".into()), &serde_json::Value::Null).unwrap();
        assert_eq!(s.get(failed).unwrap().unwrap().state, CommandState::Failed("timed out".into()));
        let only_ge2 = s.list(&CommandFilter { meter: Some("GE2".into()), ..Default::default() }).unwrap();
        assert_eq!(only_ge2.iter().map(|r| r.id).collect::<Vec<_>>(), [failed]);
        let confirmed = s.list(&CommandFilter { state: Some("confirmed".into()), ..Default::default() }).unwrap();
        assert_eq!(confirmed.len(), 1);
        assert!(matches!(s.note(999, &serde_json::Value::Null), Err(CommandError::Invalid(_))));
    }
}
