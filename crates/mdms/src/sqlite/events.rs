//! [`EventStore`] on SQLite: the `end_device_event` table and its details.
//!
//! Layout (created with `CREATE TABLE IF NOT EXISTS` at open; independent of the schema
//! version of the reading tables):
//! - `end_device_event`: one row per event key (meter mRID, dotted `EndDeviceEventType`
//!   code, `occurred_at` in UTC milliseconds, source), with `received_at`, DLMS event code,
//!   alarm bits and the store time. The unique key makes inserts idempotent; indexes serve
//!   queries by meter and time, and by type and time (outage correlation reads the power
//!   events of a time range).
//! - `end_device_event_detail`: the name/value details of an event.

use std::collections::BTreeMap;

use jiff::Timestamp;
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params_from_iter, types::Value};

use super::SqliteStore;
use super::timestamp::{floor_millisecond, from_millisecond};
use crate::StoreError;
use crate::error::SqliteContext;
use crate::events::{EventInsertReport, EventQuery, EventStore, StoredEvent};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS end_device_event (
    id              INTEGER PRIMARY KEY,
    meter           TEXT NOT NULL CHECK (meter <> ''),
    event_type      TEXT NOT NULL,
    occurred_at_ms  INTEGER NOT NULL,
    source          TEXT NOT NULL,
    received_at_ms  INTEGER NOT NULL,
    dlms_event_code INTEGER,
    alarm_bits      INTEGER,
    stored_at_ms    INTEGER NOT NULL,
    UNIQUE (meter, event_type, occurred_at_ms, source)
);
CREATE INDEX IF NOT EXISTS end_device_event_by_meter ON end_device_event (meter, occurred_at_ms);
CREATE INDEX IF NOT EXISTS end_device_event_by_type ON end_device_event (event_type, occurred_at_ms);
CREATE TABLE IF NOT EXISTS end_device_event_detail (
    event_id INTEGER NOT NULL REFERENCES end_device_event(id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (event_id, name)
) WITHOUT ROWID;
"#;

/// Creates the event tables if they do not exist.
///
/// Errors: [`StoreError::Sqlite`].
pub(crate) fn create_tables(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(SCHEMA).context("creating the end device event tables")
}

/// A JSON array of strings, for `IN (SELECT value FROM json_each(?))` with any number of
/// values in one parameter.
pub(super) fn json_string_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push(']');
    out
}

/// The WHERE clause and parameters of `query` (without limit).
fn where_clause(query: &EventQuery) -> (String, Vec<Value>) {
    let mut sql = String::from("occurred_at_ms >= ? AND occurred_at_ms < ?");
    // `[from, to)` on millisecond keys: a fractional bound rounds up.
    let ceil_ms = |t: Timestamp| {
        let ms = floor_millisecond(t);
        if Timestamp::from_millisecond(ms).is_ok_and(|f| f < t) { ms + 1 } else { ms }
    };
    let mut params = vec![Value::Integer(ceil_ms(query.from)), Value::Integer(ceil_ms(query.to))];
    if !query.meters.is_empty() {
        sql.push_str(" AND meter IN (SELECT value FROM json_each(?))");
        params.push(Value::Text(json_string_array(query.meters.iter().map(|m| m.0.as_str()))));
    }
    if !query.event_types.is_empty() {
        let codes: Vec<String> = query.event_types.iter().map(ToString::to_string).collect();
        sql.push_str(" AND event_type IN (SELECT value FROM json_each(?))");
        params.push(Value::Text(json_string_array(codes.iter().map(String::as_str))));
    }
    if let Some(after) = query.after_id {
        sql.push_str(" AND id > ?");
        params.push(Value::Integer(after));
    }
    (sql, params)
}

fn limit_clause(query: &EventQuery) -> String {
    match query.limit {
        Some(n) => format!(" LIMIT {}", i64::try_from(n).unwrap_or(i64::MAX)),
        None => String::new(),
    }
}

/// A stored row before its details are attached.
struct EventRow {
    id: i64,
    meter: String,
    event_type: String,
    occurred_at_ms: i64,
    source: String,
    received_at_ms: i64,
    dlms_event_code: Option<i64>,
    alarm_bits: Option<i64>,
    stored_at_ms: i64,
}

impl EventRow {
    fn decode(self, details: BTreeMap<String, String>) -> Result<StoredEvent, StoreError> {
        let event_type: EndDeviceEventType =
            self.event_type.parse().map_err(|e| StoreError::Corrupt(format!("end device event {}: {e}", self.id)))?;
        let dlms_event_code = self
            .dlms_event_code
            .map(|c| u16::try_from(c).map_err(|_| StoreError::Corrupt(format!("DLMS event code {c} out of range"))))
            .transpose()?;
        let alarm_bits = self
            .alarm_bits
            .map(|b| u32::try_from(b).map_err(|_| StoreError::Corrupt(format!("alarm bits {b} out of range"))))
            .transpose()?;
        Ok(StoredEvent {
            id: self.id,
            event: EndDeviceEvent {
                meter: MeterId(self.meter),
                event_type,
                occurred_at: from_millisecond(self.occurred_at_ms)?,
                received_at: from_millisecond(self.received_at_ms)?,
                source: self.source,
                dlms_event_code,
                alarm_bits,
                details,
            },
            stored_at: from_millisecond(self.stored_at_ms)?,
        })
    }
}

impl EventStore for SqliteStore {
    fn insert_events(&mut self, events: &[EndDeviceEvent]) -> Result<EventInsertReport, StoreError> {
        if events.iter().any(|e| e.meter.0.is_empty()) {
            return Err(StoreError::EmptyMeterId);
        }
        let stored_at_ms = floor_millisecond(Timestamp::now());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting an event insert transaction")?;
        let mut report = EventInsertReport::default();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO end_device_event (meter, event_type, occurred_at_ms, source, received_at_ms, \
                     dlms_event_code, alarm_bits, stored_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                     ON CONFLICT (meter, event_type, occurred_at_ms, source) DO NOTHING RETURNING id",
                )
                .context("preparing the event insert")?;
            let mut detail = tx
                .prepare_cached("INSERT INTO end_device_event_detail (event_id, name, value) VALUES (?1, ?2, ?3)")
                .context("preparing the event detail insert")?;
            for event in events {
                let id: Option<i64> = insert
                    .query_row(
                        rusqlite::params![
                            event.meter.0,
                            event.event_type.to_string(),
                            floor_millisecond(event.occurred_at),
                            event.source,
                            floor_millisecond(event.received_at),
                            event.dlms_event_code.map(i64::from),
                            event.alarm_bits.map(i64::from),
                            stored_at_ms,
                        ],
                        |row| row.get(0),
                    )
                    .optional()
                    .context("inserting an end device event")?;
                let Some(id) = id else {
                    report.duplicates += 1;
                    continue;
                };
                report.inserted += 1;
                for (name, value) in &event.details {
                    detail.execute(rusqlite::params![id, name, value]).context("inserting an event detail")?;
                }
            }
        }
        tx.commit().context("committing end device events")?;
        Ok(report)
    }

    fn events(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        let (clause, params) = where_clause(query);
        let sql = format!(
            "SELECT id, meter, event_type, occurred_at_ms, source, received_at_ms, dlms_event_code, alarm_bits, \
             stored_at_ms FROM end_device_event WHERE {clause} ORDER BY occurred_at_ms, id{}",
            limit_clause(query)
        );
        let mut stmt = self.conn.prepare_cached(&sql).context("preparing an event query")?;
        let rows = stmt
            .query_map(params_from_iter(params), |row| {
                Ok(EventRow {
                    id: row.get(0)?,
                    meter: row.get(1)?,
                    event_type: row.get(2)?,
                    occurred_at_ms: row.get(3)?,
                    source: row.get(4)?,
                    received_at_ms: row.get(5)?,
                    dlms_event_code: row.get(6)?,
                    alarm_bits: row.get(7)?,
                    stored_at_ms: row.get(8)?,
                })
            })
            .context("running an event query")?
            .collect::<Result<Vec<_>, _>>()
            .context("reading events")?;
        let mut details = details_of(&self.conn, rows.iter().map(|r| r.id))?;
        rows.into_iter()
            .map(|row| {
                let d = details.remove(&row.id).unwrap_or_default();
                row.decode(d)
            })
            .collect()
    }

    fn count_events(&self, query: &EventQuery) -> Result<u64, StoreError> {
        let (clause, params) = where_clause(query);
        let sql =
            format!("SELECT COUNT(*) FROM (SELECT 1 FROM end_device_event WHERE {clause}{})", limit_clause(query));
        let n: i64 = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params_from_iter(params), |row| row.get(0)))
            .context("counting events")?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative event count {n}")))
    }
}

/// The details of the events `ids`, by event id.
fn details_of(
    conn: &Connection,
    ids: impl Iterator<Item = i64>,
) -> Result<BTreeMap<i64, BTreeMap<String, String>>, StoreError> {
    let ids: Vec<String> = ids.map(|id| id.to_string()).collect();
    let mut out: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = format!("[{}]", ids.join(","));
    let mut stmt = conn
        .prepare_cached(
            "SELECT event_id, name, value FROM end_device_event_detail \
             WHERE event_id IN (SELECT value FROM json_each(?1))",
        )
        .context("preparing the event detail query")?;
    let rows = stmt
        .query_map([list], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?)))
        .context("reading event details")?;
    for row in rows {
        let (id, name, value) = row.context("reading event details")?;
        out.entry(id).or_default().insert(name, value);
    }
    Ok(out)
}
