//! [`OutageStore`] on PostgreSQL: the `outage` and `outage_meter` tables (schema version
//! 3), with the same keys, ordering and sync results as the SQLite store.
//!
//! Times are stored at millisecond resolution (UTC), as on SQLite: an outage reads back
//! with its times truncated to whole milliseconds and its meters in mRID order. A sync
//! holds a transaction-level advisory lock, so two processes refreshing outages at once
//! apply their syncs one after the other.

use std::collections::BTreeMap;

use jiff::Timestamp;
use model::MeterId;
use postgres::{GenericClient, Row};

use super::PgStore;
use super::context::{Db, Params, PgContext, get};
use super::convert::truncate_to_millisecond;
use crate::StoreError;
use crate::outage::{
    AffectedMeter, Outage, OutageChange, OutageChangeKind, OutageClass, OutageQuery, OutageScope, OutageState,
    OutageStore, OutageSyncReport, RestoreEvidence, ScopeKind,
};

/// Advisory lock key (single `bigint` form, a key space apart from the store's two-key
/// locks) serialising outage syncs: "MDMSOUTG" in ASCII.
const SYNC_LOCK: i64 = 0x4D44_4D53_4F55_5447;

const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";

/// Outage columns in the order [`decode`] reads them.
macro_rules! select_outage {
    ($where:literal) => {
        concat!(
            "SELECT id, scope_kind, scope_id, started_at, ended_at, state, class, customers_interrupted, \
             customer_minutes, reporting_meters FROM outage WHERE ",
            $where
        )
    };
}

/// `$1`: first start included.
const SELECT_FROM: &str = select_outage!("started_at >= $1");

/// `$1`..`$2` the half-open start range, `$3` the state and `$4` the scope kind (NULL: any),
/// `$5` the limit (NULL: none).
const SELECT_QUERY: &str = select_outage!(
    "started_at >= $1 AND started_at < $2 AND ($3::text IS NULL OR state = $3) \
     AND ($4::text IS NULL OR scope_kind = $4) ORDER BY started_at, id LIMIT $5"
);

/// `$1`: `to`, `$2`: `from`.
const SELECT_OVERLAPPING: &str =
    select_outage!("started_at < $1 AND (ended_at IS NULL OR ended_at > $2) ORDER BY started_at, id");

const SELECT_ONE: &str = select_outage!("id = $1");

const SELECT_METERS: &str = "SELECT outage_id, meter, reported_down_at, restored_at, restore FROM outage_meter \
    WHERE outage_id = ANY($1) ORDER BY outage_id, meter";

const DELETE: &str = "DELETE FROM outage WHERE id = $1";

const INSERT: &str = "INSERT INTO outage (id, scope_kind, scope_id, started_at, ended_at, state, class, \
    customers_interrupted, customer_minutes, reporting_meters, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

const INSERT_METER: &str = "INSERT INTO outage_meter (outage_id, meter, reported_down_at, restored_at, restore) \
    VALUES ($1, $2, $3, $4, $5)";

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("stored outage: {what}"))
}

/// One `outage` row, without its meters.
fn decode(row: &Row, meters: Vec<AffectedMeter>) -> Result<Outage, StoreError> {
    const CTX: &str = "reading an outage";
    let scope_kind: String = get(row, 1, CTX)?;
    let kind = ScopeKind::parse(&scope_kind).ok_or_else(|| corrupt(&scope_kind))?;
    let state: String = get(row, 5, CTX)?;
    let state = match state.as_str() {
        "open" => OutageState::Open,
        "closed" => OutageState::Closed,
        other => return Err(corrupt(other)),
    };
    let class: Option<String> = get(row, 6, CTX)?;
    let class = match class.as_deref() {
        None => None,
        Some("momentary") => Some(OutageClass::Momentary),
        Some("sustained") => Some(OutageClass::Sustained),
        Some(other) => return Err(corrupt(other)),
    };
    let customers: i64 = get(row, 7, CTX)?;
    let reporting: i64 = get(row, 9, CTX)?;
    Ok(Outage {
        id: get(row, 0, CTX)?,
        scope: OutageScope::from_parts(kind, get(row, 2, CTX)?),
        started_at: get(row, 3, CTX)?,
        ended_at: get(row, 4, CTX)?,
        state,
        class,
        customers_interrupted: u64::try_from(customers).map_err(corrupt)?,
        customer_minutes: get(row, 8, CTX)?,
        reporting_meters: u64::try_from(reporting).map_err(corrupt)?,
        meters,
    })
}

/// Runs an outage `sql` (one of the `SELECT_*` statements) and reads the outages it
/// selects with their meters.
fn read_outages<C: GenericClient>(
    db: &mut Db<'_, C>,
    sql: &'static str,
    params: &Params<'_>,
) -> Result<Vec<Outage>, StoreError> {
    const CTX: &str = "reading outage meters";
    let rows = db.query(sql, params, "running an outage query")?;
    let ids: Vec<String> = rows.iter().map(|r| get(r, 0, "reading an outage id")).collect::<Result<_, _>>()?;
    let mut meters: BTreeMap<String, Vec<AffectedMeter>> = BTreeMap::new();
    if !ids.is_empty() {
        for r in db.query(SELECT_METERS, &[&ids], CTX)? {
            let restore: Option<String> = get(&r, 4, CTX)?;
            let restore = restore.map(|r| RestoreEvidence::parse(&r).ok_or_else(|| corrupt(r))).transpose()?;
            meters.entry(get(&r, 0, CTX)?).or_default().push(AffectedMeter {
                meter: MeterId(get(&r, 1, CTX)?),
                reported_down_at: get(&r, 2, CTX)?,
                restored_at: get(&r, 3, CTX)?,
                restore,
            });
        }
    }
    rows.iter().zip(ids).map(|(row, id)| decode(row, meters.remove(&id).unwrap_or_default())).collect()
}

/// Replaces the row of `outage` (already as stored, see [`as_stored`]) and its meters.
fn write_outage<C: GenericClient>(db: &mut Db<'_, C>, outage: &Outage, now: Timestamp) -> Result<(), StoreError> {
    db.execute(DELETE, &[&outage.id], "replacing an outage")?;
    let customers = i64::try_from(outage.customers_interrupted).unwrap_or(i64::MAX);
    let reporting = i64::try_from(outage.reporting_meters).unwrap_or(i64::MAX);
    db.execute(
        INSERT,
        &[
            &outage.id,
            &outage.scope.kind().as_str(),
            &outage.scope.id(),
            &outage.started_at,
            &outage.ended_at,
            &outage.state.as_str(),
            &outage.class.map(OutageClass::as_str),
            &customers,
            &outage.customer_minutes,
            &reporting,
            &now,
        ],
        "writing an outage",
    )?;
    for m in &outage.meters {
        db.execute(
            INSERT_METER,
            &[&outage.id, &m.meter.0, &m.reported_down_at, &m.restored_at, &m.restore.map(RestoreEvidence::as_str)],
            "writing outage meters",
        )?;
    }
    Ok(())
}

/// An outage as it reads back from the store (times truncated to milliseconds, meters in
/// mRID order), for comparison with what is stored.
fn as_stored(outage: &Outage) -> Result<Outage, StoreError> {
    let mut o = outage.clone();
    o.started_at = truncate_to_millisecond(o.started_at)?;
    o.ended_at = o.ended_at.map(truncate_to_millisecond).transpose()?;
    for m in &mut o.meters {
        m.reported_down_at = m.reported_down_at.map(truncate_to_millisecond).transpose()?;
        m.restored_at = m.restored_at.map(truncate_to_millisecond).transpose()?;
    }
    o.meters.sort_by(|a, b| a.meter.cmp(&b.meter));
    Ok(o)
}

impl OutageStore for PgStore {
    fn sync_outages(&mut self, from: Timestamp, outages: &[Outage]) -> Result<OutageSyncReport, StoreError> {
        let now = truncate_to_millisecond(Timestamp::now())?;
        let from_ms = truncate_to_millisecond(from)?;
        let mut wanted: BTreeMap<String, Outage> = BTreeMap::new();
        for outage in outages.iter().filter(|o| o.started_at >= from) {
            wanted.insert(outage.id.clone(), as_stored(outage)?);
        }
        let conn = self.conn.get_mut();
        let mut tx = conn.client.transaction().context("starting an outage sync")?;
        let mut report = OutageSyncReport::default();
        {
            let mut db = Db { client: &mut tx, statements: &mut conn.statements };
            db.execute(LOCK, &[&SYNC_LOCK], "locking the outages for a sync")?;
            let existing: BTreeMap<String, Outage> =
                read_outages(&mut db, SELECT_FROM, &[&from_ms])?.into_iter().map(|o| (o.id.clone(), o)).collect();
            for (id, old) in &existing {
                if !wanted.contains_key(id) {
                    db.execute(DELETE, &[id], "deleting a superseded outage")?;
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
                write_outage(&mut db, new, now)?;
                report.changes.push(OutageChange { id: id.clone(), kind });
            }
        }
        tx.commit().context("committing an outage sync")?;
        report.changes.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(report)
    }

    fn outages(&self, query: &OutageQuery) -> Result<Vec<Outage>, StoreError> {
        let from = truncate_to_millisecond(query.from)?;
        let to = truncate_to_millisecond(query.to)?;
        let state = query.state.map(OutageState::as_str);
        let scope = query.scope.map(ScopeKind::as_str);
        let limit = query.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut conn = self.conn.borrow_mut();
        read_outages(&mut conn.db(), SELECT_QUERY, &[&from, &to, &state, &scope, &limit])
    }

    fn outages_overlapping(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Outage>, StoreError> {
        let from = truncate_to_millisecond(from)?;
        let to = truncate_to_millisecond(to)?;
        let mut conn = self.conn.borrow_mut();
        read_outages(&mut conn.db(), SELECT_OVERLAPPING, &[&to, &from])
    }

    fn outage(&self, id: &str) -> Result<Option<Outage>, StoreError> {
        let mut conn = self.conn.borrow_mut();
        Ok(read_outages(&mut conn.db(), SELECT_ONE, &[&id])?.into_iter().next())
    }
}
