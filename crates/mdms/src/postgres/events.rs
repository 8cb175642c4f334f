//! [`EventStore`] on PostgreSQL: the `end_device_event` table and its details (schema
//! version 2), with the same keys and results as the SQLite store.

use std::collections::BTreeMap;

use jiff::Timestamp;
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};
use postgres::Row;

use super::PgStore;
use super::context::{Db, PgContext, get};
use super::convert::{at_millisecond, truncate_to_millisecond};
use crate::StoreError;
use crate::epoch::floor_millisecond;
use crate::events::{EventInsertReport, EventQuery, EventStore, StoredEvent};

const INSERT: &str = "INSERT INTO end_device_event (meter, event_type, occurred_at, source, received_at, \
    dlms_event_code, alarm_bits, stored_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
    ON CONFLICT (meter, event_type, occurred_at, source) DO NOTHING RETURNING id";

const INSERT_DETAIL: &str = "INSERT INTO end_device_event_detail (event_id, name, value) VALUES ($1, $2, $3)";

/// Parameters: `$1`..`$2` the half-open `occurred_at` range, `$3` meters and `$4` event type
/// codes (empty arrays select all), `$5` the id cursor, `$6` the limit (NULL: none).
const SELECT: &str = "SELECT id, meter, event_type, occurred_at, source, received_at, dlms_event_code, \
    alarm_bits, stored_at FROM end_device_event \
    WHERE occurred_at >= $1 AND occurred_at < $2 \
    AND (cardinality($3::text[]) = 0 OR meter = ANY($3)) \
    AND (cardinality($4::text[]) = 0 OR event_type = ANY($4)) \
    AND ($5::bigint IS NULL OR id > $5) \
    ORDER BY occurred_at, id LIMIT $6";

const COUNT: &str = "SELECT count(*) FROM (SELECT 1 FROM end_device_event \
    WHERE occurred_at >= $1 AND occurred_at < $2 \
    AND (cardinality($3::text[]) = 0 OR meter = ANY($3)) \
    AND (cardinality($4::text[]) = 0 OR event_type = ANY($4)) \
    AND ($5::bigint IS NULL OR id > $5) \
    ORDER BY occurred_at, id LIMIT $6) AS selected";

const DETAILS: &str = "SELECT event_id, name, value FROM end_device_event_detail WHERE event_id = ANY($1)";

/// The query's parameters: the range at millisecond resolution (a fractional bound rounds
/// up, as keys are whole milliseconds), meters, type codes, cursor and limit.
struct QueryParams {
    from: Timestamp,
    to: Timestamp,
    meters: Vec<String>,
    types: Vec<String>,
    after_id: Option<i64>,
    limit: Option<i64>,
}

impl QueryParams {
    fn of(query: &EventQuery) -> Result<QueryParams, StoreError> {
        let ceil_ms = |t: Timestamp| -> Result<Timestamp, StoreError> {
            let ms = floor_millisecond(t);
            let floor = at_millisecond(ms)?;
            if floor < t { at_millisecond(ms + 1) } else { Ok(floor) }
        };
        Ok(QueryParams {
            from: ceil_ms(query.from)?,
            to: ceil_ms(query.to)?,
            meters: query.meters.iter().map(|m| m.0.clone()).collect(),
            types: query.event_types.iter().map(ToString::to_string).collect(),
            after_id: query.after_id,
            limit: query.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        })
    }
}

fn decode(row: &Row, details: BTreeMap<String, String>) -> Result<StoredEvent, StoreError> {
    const CTX: &str = "reading an end device event";
    let id: i64 = get(row, 0, CTX)?;
    let event_type: String = get(row, 2, CTX)?;
    let event_type: EndDeviceEventType =
        event_type.parse().map_err(|e| StoreError::Corrupt(format!("end device event {id}: {e}")))?;
    let code: Option<i32> = get(row, 6, CTX)?;
    let bits: Option<i64> = get(row, 7, CTX)?;
    Ok(StoredEvent {
        id,
        event: EndDeviceEvent {
            meter: MeterId(get(row, 1, CTX)?),
            event_type,
            occurred_at: get(row, 3, CTX)?,
            received_at: get(row, 5, CTX)?,
            source: get(row, 4, CTX)?,
            dlms_event_code: code
                .map(|c| u16::try_from(c).map_err(|_| StoreError::Corrupt(format!("DLMS event code {c} out of range"))))
                .transpose()?,
            alarm_bits: bits
                .map(|b| u32::try_from(b).map_err(|_| StoreError::Corrupt(format!("alarm bits {b} out of range"))))
                .transpose()?,
            details,
        },
        stored_at: get(row, 8, CTX)?,
    })
}

impl EventStore for PgStore {
    fn insert_events(&mut self, events: &[EndDeviceEvent]) -> Result<EventInsertReport, StoreError> {
        const CTX: &str = "inserting an end device event";
        if events.iter().any(|e| e.meter.0.is_empty()) {
            return Err(StoreError::EmptyMeterId);
        }
        let stored_at = truncate_to_millisecond(Timestamp::now())?;
        let conn = self.conn.get_mut();
        let mut tx = conn.client.transaction().context("starting an event insert transaction")?;
        let mut report = EventInsertReport::default();
        {
            let mut db = Db { client: &mut tx, statements: &mut conn.statements };
            for event in events {
                let occurred = truncate_to_millisecond(event.occurred_at)?;
                let received = truncate_to_millisecond(event.received_at)?;
                let code = event.dlms_event_code.map(i32::from);
                let bits = event.alarm_bits.map(i64::from);
                let row = db.query_opt(
                    INSERT,
                    &[
                        &event.meter.0,
                        &event.event_type.to_string(),
                        &occurred,
                        &event.source,
                        &received,
                        &code,
                        &bits,
                        &stored_at,
                    ],
                    CTX,
                )?;
                let Some(row) = row else {
                    report.duplicates += 1;
                    continue;
                };
                let id: i64 = get(&row, 0, CTX)?;
                report.inserted += 1;
                for (name, value) in &event.details {
                    db.execute(INSERT_DETAIL, &[&id, name, value], "inserting an event detail")?;
                }
            }
        }
        tx.commit().context("committing end device events")?;
        Ok(report)
    }

    fn events(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        let p = QueryParams::of(query)?;
        let mut conn = self.conn.borrow_mut();
        let mut db = conn.db();
        let rows =
            db.query(SELECT, &[&p.from, &p.to, &p.meters, &p.types, &p.after_id, &p.limit], "running an event query")?;
        let ids: Vec<i64> = rows.iter().map(|r| get(r, 0, "reading an event id")).collect::<Result<_, _>>()?;
        let mut details: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
        if !ids.is_empty() {
            for r in db.query(DETAILS, &[&ids], "reading event details")? {
                let id: i64 = get(&r, 0, "reading event details")?;
                details
                    .entry(id)
                    .or_default()
                    .insert(get(&r, 1, "reading event details")?, get(&r, 2, "reading event details")?);
            }
        }
        rows.iter().zip(ids).map(|(row, id)| decode(row, details.remove(&id).unwrap_or_default())).collect()
    }

    fn count_events(&self, query: &EventQuery) -> Result<u64, StoreError> {
        let p = QueryParams::of(query)?;
        let row = self.conn.borrow_mut().db().query_one(
            COUNT,
            &[&p.from, &p.to, &p.meters, &p.types, &p.after_id, &p.limit],
            "counting events",
        )?;
        let n: i64 = get(&row, 0, "counting events")?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative event count {n}")))
    }
}
