//! Read queries over the versioned value tables.

use jiff::Timestamp;
use model::QualityFlags;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::series_table::SeriesTable;
use super::timestamp::{from_millisecond, from_second};
use crate::StoreError;
use crate::error::SqliteContext;

/// One stored version as read from either table, joined to its collection.
#[derive(Debug, Clone)]
pub(crate) struct VersionRow {
    pub at: Timestamp,
    pub version: u32,
    pub value: f64,
    pub quality: QualityFlags,
    pub collected_at: Timestamp,
    pub ingested_at: Timestamp,
    pub source: String,
}

/// The id of a known meter, `None` for an unknown one.
pub(crate) fn find_meter(conn: &Connection, mrid: &str) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached("SELECT id FROM meter WHERE mrid = ?1")
        .and_then(|mut s| s.query_row([mrid], |row| row.get(0)).optional())
        .context("looking up a meter")
}

/// Decodes a row of `select_range` / `select_history`. Engine errors come back as the
/// outer `Err`, undecodable stored values as the inner one.
fn decode(row: &Row<'_>) -> rusqlite::Result<Result<VersionRow, StoreError>> {
    let at: i64 = row.get(0)?;
    let version: i64 = row.get(1)?;
    let value: f64 = row.get(2)?;
    let quality: i64 = row.get(3)?;
    let collected_at_ms: i64 = row.get(4)?;
    let ingested_at_ms: i64 = row.get(5)?;
    let source: String = row.get(6)?;
    Ok((|| {
        Ok(VersionRow {
            at: from_second(at)?,
            version: u32::try_from(version)
                .map_err(|_| StoreError::Corrupt(format!("version {version} out of range")))?,
            value,
            quality: QualityFlags(
                u32::try_from(quality).map_err(|_| StoreError::Corrupt(format!("quality {quality} out of range")))?,
            ),
            collected_at: from_millisecond(collected_at_ms)?,
            ingested_at: from_millisecond(ingested_at_ms)?,
            source,
        })
    })())
}

/// Runs `sql` with `params` and decodes every row, in the query's order.
fn collect_rows(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<VersionRow>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).context("preparing a reading query")?;
    let rows = stmt.query_map(params, decode).context("running a reading query")?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.context("reading a result row")??);
    }
    Ok(out)
}

/// The latest version of each key with time in `[from_s, to_s)`, by time.
pub(crate) fn latest_in_range(
    conn: &Connection,
    table: &SeriesTable,
    meter_id: i64,
    reading_type_id: i64,
    from_s: i64,
    to_s: i64,
) -> Result<Vec<VersionRow>, StoreError> {
    if from_s >= to_s {
        return Ok(Vec::new());
    }
    let all = collect_rows(conn, table.select_range, params![meter_id, reading_type_id, from_s, to_s])?;
    // Rows come ordered by (time, version): the last row of each time is its latest version.
    let mut latest: Vec<VersionRow> = Vec::with_capacity(all.len());
    for row in all {
        match latest.last_mut() {
            Some(prev) if prev.at == row.at => *prev = row,
            _ => latest.push(row),
        }
    }
    Ok(latest)
}

/// Every version at time `at_s`, oldest first.
pub(crate) fn history(
    conn: &Connection,
    table: &SeriesTable,
    meter_id: i64,
    reading_type_id: i64,
    at_s: i64,
) -> Result<Vec<VersionRow>, StoreError> {
    collect_rows(conn, table.select_history, params![meter_id, reading_type_id, at_s])
}

/// The greatest stored time, `None` when nothing is stored.
pub(crate) fn last_time(
    conn: &Connection,
    table: &SeriesTable,
    meter_id: i64,
    reading_type_id: i64,
) -> Result<Option<Timestamp>, StoreError> {
    let last: Option<i64> = conn
        .prepare_cached(table.select_last)
        .and_then(|mut s| s.query_row(params![meter_id, reading_type_id], |row| row.get(0)).optional())
        .context("finding the last stored time")?;
    last.map(from_second).transpose()
}
