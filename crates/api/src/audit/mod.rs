//! The audit log of state-changing API calls, hash-chained so tampering is detectable.
//!
//! Every `POST`, `PUT`, `PATCH` and `DELETE` under `/api/v1` is recorded after it finished,
//! refused or not: who (token id and name), when (UTC, ms), the route template, the
//! target, the HTTP status and the outcome ([`layer`]). Entries are appended in one
//! `IMMEDIATE` transaction each, chained by SHA-256 ([`chain`]); [`verify`] walks the chain
//! and reports the first entry that does not match (an edited, deleted or inserted row).
//! Request bodies are never recorded (they may hold passwords or keys).
//!
//! Limits: truncating the newest entries leaves a valid (shorter) chain; compare the
//! reported head hash with one kept elsewhere (e.g. in a monitoring system) to detect it.

pub mod chain;
pub mod layer;

use std::path::Path;

use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use utoipa::ToSchema;

pub use chain::{AuditEntry, GENESIS_HASH, canonical, entry_hash, outcome_of};

use crate::db::{ApiDb, to_ms};

/// What is recorded about one call (the log adds `seq` and the chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The calling token, if one was valid.
    pub token_id: Option<i64>,
    /// The token's name, or `anonymous`.
    pub actor: String,
    /// HTTP method.
    pub method: String,
    /// Route template.
    pub route: String,
    /// What the call acted on.
    pub target: String,
    /// HTTP status.
    pub status: u16,
}

/// A stored entry with its chain fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChainedEntry {
    /// The entry.
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// Hash of the previous entry (hex; 64 zeros for the first).
    pub prev_hash: String,
    /// This entry's hash (hex).
    pub hash: String,
}

/// The result of verifying the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Hash of the last entry when the whole chain is intact.
    pub head_hash: Option<String>,
    /// The first broken link, `null` when the chain is intact.
    pub first_broken: Option<BrokenLink>,
}

impl VerifyReport {
    /// True when every entry matched.
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BrokenLink {
    /// `seq` of the first entry that does not verify (for a gap: the first missing one).
    pub seq: i64,
    /// What does not match.
    pub reason: String,
}

/// Why the audit log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// SQLite failed.
    #[error("audit log: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file has no audit log table.
    #[error("{0} has no audit log (table api_audit)")]
    NoAuditLog(String),
}

/// The audit log in the API database.
#[derive(Debug, Clone)]
pub struct AuditLog {
    db: ApiDb,
}

impl AuditLog {
    /// The audit log of `db`.
    pub fn new(db: ApiDb) -> AuditLog {
        AuditLog { db }
    }

    /// Appends `record` at time `at`, chained to the last entry, in one `IMMEDIATE`
    /// transaction (so two processes on one file cannot fork the chain).
    ///
    /// Errors: [`AuditError::Sqlite`].
    pub fn append(&self, record: AuditRecord, at: Timestamp) -> Result<ChainedEntry, AuditError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<(i64, String)> = tx
            .query_row("SELECT seq, hash FROM api_audit ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS_HASH.to_string()),
        };
        let entry = AuditEntry {
            seq,
            at_ms: to_ms(at),
            token_id: record.token_id,
            actor: record.actor,
            method: record.method,
            route: record.route,
            target: record.target,
            outcome: outcome_of(record.status).to_string(),
            status: record.status,
        };
        let hash = entry_hash(&prev_hash, &entry);
        tx.execute(
            "INSERT INTO api_audit (seq, at_ms, token_id, actor, method, route, target, status, outcome, prev_hash, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                entry.seq,
                entry.at_ms,
                entry.token_id,
                entry.actor,
                entry.method,
                entry.route,
                entry.target,
                entry.status,
                entry.outcome,
                prev_hash,
                hash
            ],
        )?;
        tx.commit()?;
        Ok(ChainedEntry { entry, prev_hash, hash })
    }

    /// Entries with `seq > after`, oldest first, at most `limit`.
    ///
    /// Errors: [`AuditError::Sqlite`].
    pub fn list(&self, after: i64, limit: u32) -> Result<Vec<ChainedEntry>, AuditError> {
        let conn = self.db.lock();
        read_entries(&conn, after, Some(limit))
    }

    /// Verifies the whole chain in this database.
    ///
    /// Errors: [`AuditError::Sqlite`].
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        verify(&self.db.lock())
    }
}

/// Reads entries with `seq > after`, oldest first.
fn read_entries(conn: &Connection, after: i64, limit: Option<u32>) -> Result<Vec<ChainedEntry>, AuditError> {
    let mut stmt = conn.prepare(
        "SELECT seq, at_ms, token_id, actor, method, route, target, status, outcome, prev_hash, hash \
         FROM api_audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let limit = limit.map_or(-1, i64::from);
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok(ChainedEntry {
            entry: AuditEntry {
                seq: r.get(0)?,
                at_ms: r.get(1)?,
                token_id: r.get(2)?,
                actor: r.get(3)?,
                method: r.get(4)?,
                route: r.get(5)?,
                target: r.get(6)?,
                status: r.get(7)?,
                outcome: r.get(8)?,
            },
            prev_hash: r.get(9)?,
            hash: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Walks the chain in `conn` from the first entry and returns the first link that does not
/// hold: a `seq` that is not the previous one plus 1 (a deleted or inserted row), a
/// `prev_hash` that is not the previous entry's hash, or a `hash` that is not the hash of
/// the entry's content (an edited row).
///
/// Errors: [`AuditError::Sqlite`] (including a row whose columns have the wrong type, which
/// only a hand edit produces).
pub fn verify(conn: &Connection) -> Result<VerifyReport, AuditError> {
    let mut expected_prev = GENESIS_HASH.to_string();
    let mut expected_seq = 1;
    let mut entries = 0;
    let mut stmt = conn.prepare(
        "SELECT seq, at_ms, token_id, actor, method, route, target, status, outcome, prev_hash, hash \
         FROM api_audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let e = ChainedEntry {
            entry: AuditEntry {
                seq: r.get(0)?,
                at_ms: r.get(1)?,
                token_id: r.get(2)?,
                actor: r.get(3)?,
                method: r.get(4)?,
                route: r.get(5)?,
                target: r.get(6)?,
                status: r.get(7)?,
                outcome: r.get(8)?,
            },
            prev_hash: r.get(9)?,
            hash: r.get(10)?,
        };
        let broken = |seq: i64, reason: String| VerifyReport {
            entries,
            head_hash: None,
            first_broken: Some(BrokenLink { seq, reason }),
        };
        if e.entry.seq != expected_seq {
            return Ok(broken(
                expected_seq,
                format!("entry {expected_seq} is missing (the next stored entry is {})", e.entry.seq),
            ));
        }
        if e.prev_hash != expected_prev {
            return Ok(broken(e.entry.seq, "prev_hash does not match the previous entry's hash".to_string()));
        }
        if e.hash != entry_hash(&e.prev_hash, &e.entry) {
            return Ok(broken(e.entry.seq, "hash does not match the entry's content (the entry was altered)".into()));
        }
        entries += 1;
        expected_seq += 1;
        expected_prev = e.hash;
    }
    let head_hash = (entries > 0).then_some(expected_prev);
    Ok(VerifyReport { entries, head_hash, first_broken: None })
}

/// Opens `path` read-only and verifies its audit chain (`gridedge audit verify --db F`).
///
/// Errors: [`AuditError::Sqlite`] when the file cannot be opened; [`AuditError::NoAuditLog`]
/// when it has no `api_audit` table.
pub fn verify_file(path: &Path) -> Result<VerifyReport, AuditError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let exists: Option<String> = conn
        .query_row("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'api_audit'", [], |r| r.get(0))
        .optional()?;
    if exists.is_none() {
        return Err(AuditError::NoAuditLog(path.display().to_string()));
    }
    verify(&conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u16) -> AuditRecord {
        AuditRecord {
            token_id: Some(1),
            actor: "alice".into(),
            method: "POST".into(),
            route: "/api/v1/commands".into(),
            target: format!("meter M{n}"),
            status: 202,
        }
    }

    #[test]
    fn entries_chain_and_verify() {
        let log = AuditLog::new(ApiDb::open_in_memory().unwrap());
        assert_eq!(log.verify().unwrap(), VerifyReport { entries: 0, head_hash: None, first_broken: None });
        let t = Timestamp::from_second(1_735_689_600).unwrap();
        let a = log.append(record(1), t).unwrap();
        let b = log.append(record(2), t).unwrap();
        assert_eq!((a.entry.seq, b.entry.seq), (1, 2));
        assert_eq!(a.prev_hash, GENESIS_HASH);
        assert_eq!(b.prev_hash, a.hash);
        let report = log.verify().unwrap();
        assert!(report.is_intact());
        assert_eq!((report.entries, report.head_hash), (2, Some(b.hash.clone())));
        assert_eq!(log.list(1, 10).unwrap(), vec![b]);
    }
}
