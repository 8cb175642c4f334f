//! Monthly range partitions of `interval_reading`, created on demand.
//!
//! Each calendar month (UTC) of interval ends has its own partition, named
//! `interval_reading_yYYYYmMM`. Before a transaction writes interval values, the store
//! creates the partitions of every month they (and the validation windows around them) can
//! fall in, each in a short transaction of its own under an advisory lock, so concurrent
//! writers never race on the catalog and an ingest never holds the parent table's lock.
//! Dropping or detaching a month's partition is the retention tool (a DBA operation).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use postgres::Client;

use super::context::PgContext;
use super::schema::LOCK_NAMESPACE;
use crate::StoreError;

/// Second key of the advisory lock taken while creating partitions.
const PARTITION_LOCK: i32 = 2;

/// How far around the values an operation writes its validation and estimation can reach
/// (whole local days in any time zone, plus the context margin), seconds.
pub(crate) const WRITE_REACH_S: i64 = 3 * 86_400;

/// A calendar month, UTC: (year, month 1..=12).
pub(crate) type Month = (i16, i8);

fn time_error(context: &'static str) -> impl FnOnce(jiff::Error) -> StoreError {
    move |source| StoreError::Time { context, source }
}

/// The months holding any instant of `[from, to]` (seconds since the epoch, clamped to the
/// representable range).
pub(crate) fn months_between(from: i64, to: i64) -> Result<Vec<Month>, StoreError> {
    let clamp = |s: i64| s.clamp(Timestamp::MIN.as_second() + 1, Timestamp::MAX.as_second() - 1);
    let date_of = |s: i64| -> Result<Date, StoreError> {
        let ts = Timestamp::from_second(clamp(s)).map_err(time_error("finding a partition month"))?;
        Ok(ts.to_zoned(TimeZone::UTC).date())
    };
    let (first, last) = (date_of(from)?, date_of(to)?);
    let mut months = Vec::new();
    let mut d = first.first_of_month();
    while d <= last {
        months.push((d.year(), d.month()));
        d = d.checked_add(1.month()).map_err(time_error("stepping to the next partition month"))?;
    }
    Ok(months)
}

/// Seconds since the epoch of the first instant of `month`, UTC.
fn month_start(month: Month) -> Result<i64, StoreError> {
    let (y, m) = month;
    let date = Date::new(y, m, 1).map_err(time_error("computing a partition bound"))?;
    let ts = date.to_zoned(TimeZone::UTC).map_err(time_error("computing a partition bound"))?.timestamp();
    Ok(ts.as_second())
}

/// The start of the month after `month`, UTC seconds.
fn month_end(month: Month) -> Result<i64, StoreError> {
    let (y, m) = month;
    let next = if m == 12 { (y.checked_add(1).unwrap_or(y), 1) } else { (y, m + 1) };
    if next == month {
        return Err(StoreError::Corrupt(format!("no month after {y}-{m:02}")));
    }
    month_start(next)
}

/// The partition's table name.
fn partition_name(month: Month) -> String {
    format!("interval_reading_y{:04}m{:02}", month.0, month.1)
}

/// Creates the partitions of `months` that `known` does not list yet, and adds them to it.
///
/// Errors: server errors (the months created before the failure stay created; an empty
/// partition is not data).
pub(crate) fn ensure(client: &mut Client, known: &mut BTreeSet<Month>, months: &[Month]) -> Result<(), StoreError> {
    let missing: Vec<Month> = months.iter().copied().filter(|m| !known.contains(m)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut sql = format!("BEGIN; SELECT pg_advisory_xact_lock({LOCK_NAMESPACE}, {PARTITION_LOCK});");
    for &month in &missing {
        // Bounds are computed here from integers, so the statement holds no user text.
        let (from, to) = (month_start(month)?, month_end(month)?);
        let _ = write!(
            sql,
            " CREATE TABLE IF NOT EXISTS \"{}\" PARTITION OF interval_reading \
             FOR VALUES FROM (to_timestamp({from})) TO (to_timestamp({to}));",
            partition_name(month)
        );
    }
    sql.push_str(" COMMIT;");
    if let Err(e) = client.batch_execute(&sql) {
        // Leave no transaction open on the connection.
        let _ = client.batch_execute("ROLLBACK");
        return Err(e).context("creating interval partitions");
    }
    for month in missing {
        tracing::debug!(year = month.0, month = month.1, "interval partition ready");
        known.insert(month);
    }
    Ok(())
}

/// The months whose partitions exist in the schema of the connection's `search_path`.
pub(crate) fn existing(client: &mut Client) -> Result<BTreeSet<Month>, StoreError> {
    let rows = client
        .query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'interval_reading'::regclass",
            &[],
        )
        .context("listing interval partitions")?;
    let mut out = BTreeSet::new();
    for row in rows {
        let name: String = row.try_get(0).context("listing interval partitions")?;
        if let Some(month) = parse_name(&name) {
            out.insert(month);
        }
    }
    Ok(out)
}

fn parse_name(name: &str) -> Option<Month> {
    let rest = name.strip_prefix("interval_reading_y")?;
    let (y, m) = rest.rsplit_once('m')?;
    Some((y.parse().ok()?, m.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_second()
    }

    #[test]
    fn months_cover_the_range_and_names_round_trip() {
        let months = months_between(s("2024-11-30T23:00:00Z"), s("2025-02-01T00:00:00Z")).unwrap();
        assert_eq!(months, vec![(2024, 11), (2024, 12), (2025, 1), (2025, 2)]);
        assert_eq!(month_start((2025, 1)).unwrap(), s("2025-01-01T00:00:00Z"));
        assert_eq!(month_end((2024, 12)).unwrap(), s("2025-01-01T00:00:00Z"));
        assert_eq!(partition_name((2025, 3)), "interval_reading_y2025m03");
        assert_eq!(parse_name("interval_reading_y2025m03"), Some((2025, 3)));
        assert_eq!(parse_name("interval_reading_y-001m12"), Some((-1, 12)));
        assert_eq!(parse_name("other"), None);
    }
}
