//! The `audit_log` table: writing entries and listing them.

use std::collections::HashMap;

use model::{MeterId, ReadingType};
use rusqlite::{Connection, Row, params};

use super::timestamp::{floor_second, from_millisecond, from_second};
use crate::StoreError;
use crate::editing::{AuditAction, AuditEntry, AuditFilter};
use crate::error::SqliteContext;
use crate::vee_run::NewAudit;

/// Writes `entry` and returns its id.
pub(crate) fn insert(tx: &Connection, entry: &NewAudit<'_>) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit_log \
         (at_ms, user, action, reason, meter_id, reading_type_id, first_end, last_end, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            entry.at_ms,
            entry.user,
            entry.action.as_str(),
            entry.reason,
            entry.meter_id,
            entry.reading_type_id,
            entry.first_end,
            entry.last_end,
            entry.detail
        ])
    })
    .context("writing an audit entry")?;
    Ok(tx.last_insert_rowid())
}

const COLUMNS: &str = "SELECT a.id, a.at_ms, a.user, a.action, a.reason, m.mrid, a.reading_type_id, \
    a.first_end, a.last_end, a.detail FROM audit_log a JOIN meter m ON m.id = a.meter_id";

type RawAudit = (i64, i64, String, String, String, String, Option<i64>, Option<i64>, Option<i64>, String);

fn raw(r: &Row<'_>) -> rusqlite::Result<RawAudit> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?))
}

fn decode(raw: RawAudit, types: &HashMap<i64, ReadingType>) -> Result<AuditEntry, StoreError> {
    let (id, at_ms, user, action, reason, mrid, rt, first, last, detail) = raw;
    Ok(AuditEntry {
        id,
        at: from_millisecond(at_ms)?,
        user,
        action: AuditAction::parse(&action).ok_or_else(|| StoreError::Corrupt(format!("audit action {action:?}")))?,
        reason,
        meter: MeterId(mrid),
        reading_type: rt
            .map(|id| types.get(&id).copied().ok_or_else(|| StoreError::Corrupt(format!("reading type id {id}"))))
            .transpose()?,
        first_interval_end: first.map(from_second).transpose()?,
        last_interval_end: last.map(from_second).transpose()?,
        detail,
    })
}

/// The entry with this id.
pub(crate) fn by_id(
    conn: &Connection,
    id: i64,
    types: &HashMap<i64, ReadingType>,
) -> Result<Option<AuditEntry>, StoreError> {
    let sql = format!("{COLUMNS} WHERE a.id = ?1");
    let mut stmt = conn.prepare_cached(&sql).context("preparing an audit query")?;
    let mut rows = stmt.query([id]).context("reading an audit entry")?;
    match rows.next().context("reading an audit entry")? {
        Some(r) => Ok(Some(decode(raw(r).context("reading an audit entry")?, types)?)),
        None => Ok(None),
    }
}

/// Entries matching `filter`, oldest first (with a limit: the newest ones).
pub(crate) fn list(
    conn: &Connection,
    filter: &AuditFilter,
    meter_id: Option<i64>,
    reading_type_id: Option<i64>,
    types: &HashMap<i64, ReadingType>,
) -> Result<Vec<AuditEntry>, StoreError> {
    let sql = format!(
        "{COLUMNS} WHERE (?1 IS NULL OR a.meter_id = ?1) AND (?2 IS NULL OR a.reading_type_id = ?2) \
         AND (?3 IS NULL OR (a.first_end <= ?3 AND a.last_end >= ?3)) AND (?4 IS NULL OR a.user = ?4) \
         AND (?5 IS NULL OR a.action = ?5) AND (?6 IS NULL OR a.at_ms >= ?6) \
         ORDER BY a.id DESC LIMIT ?7"
    );
    let limit = filter.limit.map_or(-1, i64::from);
    let mut stmt = conn.prepare_cached(&sql).context("preparing the audit query")?;
    let rows = stmt
        .query_map(
            params![
                meter_id,
                reading_type_id,
                filter.interval_end.map(floor_second),
                filter.user,
                filter.action.map(AuditAction::as_str),
                filter.since.map(|t| t.as_millisecond()),
                limit
            ],
            raw,
        )
        .context("listing audit entries")?;
    let mut out = Vec::new();
    for r in rows {
        out.push(decode(r.context("listing audit entries")?, types)?);
    }
    out.reverse();
    Ok(out)
}
