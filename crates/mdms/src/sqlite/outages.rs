//! [`OutageStore`] on SQLite.
//!
//! Layout (created with `CREATE TABLE IF NOT EXISTS` at open):
//! - `outage`: one row per outage ([`Outage::id`] as key): scope kind and id, start and end
//!   (UTC milliseconds), state, class, customers interrupted, customer minutes, reporting
//!   meters, and when the row was last written.
//! - `outage_meter`: the interrupted meters of each outage with their reported power down,
//!   restoration and its evidence.

use std::collections::BTreeMap;

use jiff::Timestamp;
use model::MeterId;
use rusqlite::{Connection, TransactionBehavior, params, params_from_iter, types::Value};

use super::SqliteStore;
use super::timestamp::{floor_millisecond, from_millisecond};
use crate::StoreError;
use crate::error::SqliteContext;
use crate::outage::{
    AffectedMeter, Outage, OutageChange, OutageChangeKind, OutageClass, OutageQuery, OutageScope, OutageState,
    OutageStore, OutageSyncReport, RestoreEvidence, ScopeKind,
};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS outage (
    id                    TEXT PRIMARY KEY,
    scope_kind            TEXT NOT NULL CHECK (scope_kind IN ('feeder', 'transformer', 'meter')),
    scope_id              TEXT NOT NULL,
    started_at_ms         INTEGER NOT NULL,
    ended_at_ms           INTEGER,
    state                 TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    class                 TEXT CHECK (class IN ('momentary', 'sustained')),
    customers_interrupted INTEGER NOT NULL,
    customer_minutes      REAL,
    reporting_meters      INTEGER NOT NULL,
    updated_at_ms         INTEGER NOT NULL,
    CHECK ((state = 'open') = (ended_at_ms IS NULL))
);
CREATE INDEX IF NOT EXISTS outage_by_start ON outage (started_at_ms);
CREATE INDEX IF NOT EXISTS outage_open ON outage (started_at_ms) WHERE state = 'open';
CREATE TABLE IF NOT EXISTS outage_meter (
    outage_id        TEXT NOT NULL REFERENCES outage(id) ON DELETE CASCADE,
    meter            TEXT NOT NULL,
    reported_down_ms INTEGER,
    restored_at_ms   INTEGER,
    restore          TEXT CHECK (restore IN ('event', 'proof', 'inferred')),
    PRIMARY KEY (outage_id, meter)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outage_meter_by_meter ON outage_meter (meter);
"#;

/// Creates the outage tables if they do not exist.
///
/// Errors: [`StoreError::Sqlite`].
pub(crate) fn create_tables(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(SCHEMA).context("creating the outage tables")
}

const COLUMNS: &str = "id, scope_kind, scope_id, started_at_ms, ended_at_ms, state, class, customers_interrupted, \
                       customer_minutes, reporting_meters";

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("stored outage: {what}"))
}

struct OutageRow {
    id: String,
    scope_kind: String,
    scope_id: String,
    started_at_ms: i64,
    ended_at_ms: Option<i64>,
    state: String,
    class: Option<String>,
    customers_interrupted: i64,
    customer_minutes: Option<f64>,
    reporting_meters: i64,
}

impl OutageRow {
    fn decode(self, meters: Vec<AffectedMeter>) -> Result<Outage, StoreError> {
        let kind = ScopeKind::parse(&self.scope_kind).ok_or_else(|| corrupt(&self.scope_kind))?;
        let state = match self.state.as_str() {
            "open" => OutageState::Open,
            "closed" => OutageState::Closed,
            other => return Err(corrupt(other)),
        };
        let class = match self.class.as_deref() {
            None => None,
            Some("momentary") => Some(OutageClass::Momentary),
            Some("sustained") => Some(OutageClass::Sustained),
            Some(other) => return Err(corrupt(other)),
        };
        Ok(Outage {
            id: self.id,
            scope: OutageScope::from_parts(kind, self.scope_id),
            started_at: from_millisecond(self.started_at_ms)?,
            ended_at: self.ended_at_ms.map(from_millisecond).transpose()?,
            state,
            class,
            customers_interrupted: u64::try_from(self.customers_interrupted).map_err(corrupt)?,
            customer_minutes: self.customer_minutes,
            reporting_meters: u64::try_from(self.reporting_meters).map_err(corrupt)?,
            meters,
        })
    }
}

/// Reads outages with `where_sql` (over `outage`) and their meters.
fn read_outages(conn: &Connection, where_sql: &str, params: Vec<Value>) -> Result<Vec<Outage>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM outage WHERE {where_sql}");
    let mut stmt = conn.prepare_cached(&sql).context("preparing an outage query")?;
    let rows = stmt
        .query_map(params_from_iter(params), |row| {
            Ok(OutageRow {
                id: row.get(0)?,
                scope_kind: row.get(1)?,
                scope_id: row.get(2)?,
                started_at_ms: row.get(3)?,
                ended_at_ms: row.get(4)?,
                state: row.get(5)?,
                class: row.get(6)?,
                customers_interrupted: row.get(7)?,
                customer_minutes: row.get(8)?,
                reporting_meters: row.get(9)?,
            })
        })
        .context("running an outage query")?
        .collect::<Result<Vec<_>, _>>()
        .context("reading outages")?;
    let mut meters = meters_of(conn, rows.iter().map(|r| r.id.as_str()))?;
    rows.into_iter()
        .map(|row| {
            let m = meters.remove(&row.id).unwrap_or_default();
            row.decode(m)
        })
        .collect()
}

fn meters_of<'a>(
    conn: &Connection,
    ids: impl Iterator<Item = &'a str>,
) -> Result<BTreeMap<String, Vec<AffectedMeter>>, StoreError> {
    let list = super::events::json_string_array(ids);
    let mut stmt = conn
        .prepare_cached(
            "SELECT outage_id, meter, reported_down_ms, restored_at_ms, restore FROM outage_meter \
             WHERE outage_id IN (SELECT value FROM json_each(?1)) ORDER BY outage_id, meter",
        )
        .context("preparing the outage meter query")?;
    let rows = stmt
        .query_map([list], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<i64>>(2)?,
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, Option<String>>(4)?,
            ))
        })
        .context("reading outage meters")?;
    let mut out: BTreeMap<String, Vec<AffectedMeter>> = BTreeMap::new();
    for row in rows {
        let (id, meter, down, restored, restore) = row.context("reading outage meters")?;
        let restore = restore.map(|r| RestoreEvidence::parse(&r).ok_or_else(|| corrupt(r))).transpose()?;
        out.entry(id).or_default().push(AffectedMeter {
            meter: MeterId(meter),
            reported_down_at: down.map(from_millisecond).transpose()?,
            restored_at: restored.map(from_millisecond).transpose()?,
            restore,
        });
    }
    Ok(out)
}

fn write_outage(conn: &Connection, outage: &Outage, now_ms: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM outage WHERE id = ?1")
        .and_then(|mut s| s.execute([&outage.id]))
        .context("replacing an outage")?;
    conn.prepare_cached(&format!(
        "INSERT INTO outage ({COLUMNS}, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            outage.id,
            outage.scope.kind().as_str(),
            outage.scope.id(),
            floor_millisecond(outage.started_at),
            outage.ended_at.map(floor_millisecond),
            outage.state.as_str(),
            outage.class.map(OutageClass::as_str),
            i64::try_from(outage.customers_interrupted).unwrap_or(i64::MAX),
            outage.customer_minutes,
            i64::try_from(outage.reporting_meters).unwrap_or(i64::MAX),
            now_ms,
        ])
    })
    .context("writing an outage")?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO outage_meter (outage_id, meter, reported_down_ms, restored_at_ms, restore) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .context("writing outage meters")?;
    for m in &outage.meters {
        insert
            .execute(params![
                outage.id,
                m.meter.0,
                m.reported_down_at.map(floor_millisecond),
                m.restored_at.map(floor_millisecond),
                m.restore.map(RestoreEvidence::as_str),
            ])
            .context("writing outage meters")?;
    }
    Ok(())
}

/// An outage as it reads back from the store (times truncated to milliseconds), for
/// comparison with what is stored.
fn as_stored(outage: &Outage) -> Result<Outage, StoreError> {
    let ms = |t: Timestamp| from_millisecond(floor_millisecond(t));
    let mut o = outage.clone();
    o.started_at = ms(o.started_at)?;
    o.ended_at = o.ended_at.map(ms).transpose()?;
    for m in &mut o.meters {
        m.reported_down_at = m.reported_down_at.map(ms).transpose()?;
        m.restored_at = m.restored_at.map(ms).transpose()?;
    }
    o.meters.sort_by(|a, b| a.meter.cmp(&b.meter));
    Ok(o)
}

impl OutageStore for SqliteStore {
    fn sync_outages(&mut self, from: Timestamp, outages: &[Outage]) -> Result<OutageSyncReport, StoreError> {
        let now_ms = floor_millisecond(Timestamp::now());
        let from_ms = floor_millisecond(from);
        let tx =
            self.conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting an outage sync")?;
        let existing: BTreeMap<String, Outage> =
            read_outages(&tx, "started_at_ms >= ?1", vec![Value::Integer(from_ms)])?
                .into_iter()
                .map(|o| (o.id.clone(), o))
                .collect();
        let mut wanted: BTreeMap<String, Outage> = BTreeMap::new();
        for outage in outages.iter().filter(|o| o.started_at >= from) {
            wanted.insert(outage.id.clone(), as_stored(outage)?);
        }
        let mut report = OutageSyncReport::default();
        for (id, old) in &existing {
            if !wanted.contains_key(id) {
                tx.prepare_cached("DELETE FROM outage WHERE id = ?1")
                    .and_then(|mut s| s.execute([id]))
                    .context("deleting a superseded outage")?;
                report.changes.push(OutageChange { id: old.id.clone(), kind: OutageChangeKind::Removed });
            }
        }
        for (id, new) in &wanted {
            let kind = match existing.get(id) {
                Some(old) if old == new => {
                    report.unchanged += 1;
                    continue;
                }
                Some(old) if old.state == OutageState::Open && new.state == OutageState::Closed => {
                    OutageChangeKind::Closed
                }
                Some(_) => OutageChangeKind::Updated,
                None if new.state == OutageState::Closed => OutageChangeKind::Closed,
                None => OutageChangeKind::Opened,
            };
            write_outage(&tx, new, now_ms)?;
            report.changes.push(OutageChange { id: id.clone(), kind });
        }
        tx.commit().context("committing an outage sync")?;
        report.changes.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(report)
    }

    fn outages(&self, query: &OutageQuery) -> Result<Vec<Outage>, StoreError> {
        let mut sql = String::from("started_at_ms >= ? AND started_at_ms < ?");
        let mut params =
            vec![Value::Integer(floor_millisecond(query.from)), Value::Integer(floor_millisecond(query.to))];
        if let Some(state) = query.state {
            sql.push_str(" AND state = ?");
            params.push(Value::Text(state.as_str().to_string()));
        }
        if let Some(kind) = query.scope {
            sql.push_str(" AND scope_kind = ?");
            params.push(Value::Text(kind.as_str().to_string()));
        }
        sql.push_str(" ORDER BY started_at_ms, id");
        if let Some(limit) = query.limit {
            sql.push_str(&format!(" LIMIT {}", i64::try_from(limit).unwrap_or(i64::MAX)));
        }
        read_outages(&self.conn, &sql, params)
    }

    fn outages_overlapping(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Outage>, StoreError> {
        read_outages(
            &self.conn,
            "started_at_ms < ?1 AND (ended_at_ms IS NULL OR ended_at_ms > ?2) ORDER BY started_at_ms, id",
            vec![Value::Integer(floor_millisecond(to)), Value::Integer(floor_millisecond(from))],
        )
    }

    fn outage(&self, id: &str) -> Result<Option<Outage>, StoreError> {
        Ok(read_outages(&self.conn, "id = ?1", vec![Value::Text(id.to_string())])?.into_iter().next())
    }
}
