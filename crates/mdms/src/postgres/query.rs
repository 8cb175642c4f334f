//! Read queries over the versioned value tables and the collections.

use jiff::Timestamp;
use model::QualityFlags;
use postgres::{Client, Row};

use super::context::{Db, get};
use super::convert::{quality_from_sql, version_from_sql};
use crate::StoreError;

/// One stored version as read from either value table, with its collection or audit facts.
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

/// The statements of one versioned value table. Parameters: `$1` meter id, `$2` reading
/// type id, then as noted. Every statement returns: time, version, value, quality,
/// collected_at, ingested_at, source.
pub(crate) struct SeriesQueries {
    /// The latest version of each key with time in `[$3, $4)`, by time.
    pub latest_in_range: &'static str,
    /// Every version at time `$3`, by version.
    pub history: &'static str,
    /// The greatest stored time (one column).
    pub last: &'static str,
}

/// Load-profile interval values. Versions written by an estimation or an edit have no
/// collection: their time and source come from the audit entry.
pub(crate) const INTERVALS: SeriesQueries = SeriesQueries {
    latest_in_range: "SELECT l.interval_end, l.version, l.value, l.quality, \
        COALESCE(c.collected_at, a.at), COALESCE(c.ingested_at, a.at), \
        COALESCE(c.source, CASE a.action WHEN 'edit' THEN 'edit' ELSE 'estimation' END) FROM ( \
          SELECT DISTINCT ON (interval_end) interval_end, version, value, quality, collection_id, audit_id \
          FROM interval_reading \
          WHERE meter_id = $1 AND reading_type_id = $2 AND interval_end >= $3 AND interval_end < $4 \
          ORDER BY interval_end, version DESC) l \
        LEFT JOIN collection c ON c.id = l.collection_id LEFT JOIN audit_log a ON a.id = l.audit_id \
        ORDER BY l.interval_end",
    history: "SELECT v.interval_end, v.version, v.value, v.quality, \
        COALESCE(c.collected_at, a.at), COALESCE(c.ingested_at, a.at), \
        COALESCE(c.source, CASE a.action WHEN 'edit' THEN 'edit' ELSE 'estimation' END) \
        FROM interval_reading v LEFT JOIN collection c ON c.id = v.collection_id \
        LEFT JOIN audit_log a ON a.id = v.audit_id \
        WHERE v.meter_id = $1 AND v.reading_type_id = $2 AND v.interval_end = $3 ORDER BY v.version",
    last: "SELECT interval_end FROM interval_reading WHERE meter_id = $1 AND reading_type_id = $2 \
        ORDER BY interval_end DESC LIMIT 1",
};

/// Register reads.
pub(crate) const REGISTERS: SeriesQueries = SeriesQueries {
    latest_in_range: "SELECT l.read_at, l.version, l.value, l.quality, c.collected_at, c.ingested_at, c.source FROM ( \
          SELECT DISTINCT ON (read_at) read_at, version, value, quality, collection_id FROM register_read \
          WHERE meter_id = $1 AND reading_type_id = $2 AND read_at >= $3 AND read_at < $4 \
          ORDER BY read_at, version DESC) l \
        JOIN collection c ON c.id = l.collection_id ORDER BY l.read_at",
    history: "SELECT v.read_at, v.version, v.value, v.quality, c.collected_at, c.ingested_at, c.source \
        FROM register_read v JOIN collection c ON c.id = v.collection_id \
        WHERE v.meter_id = $1 AND v.reading_type_id = $2 AND v.read_at = $3 ORDER BY v.version",
    last: "SELECT read_at FROM register_read WHERE meter_id = $1 AND reading_type_id = $2 \
        ORDER BY read_at DESC LIMIT 1",
};

/// Decodes a row of the [`SeriesQueries`].
pub(crate) fn decode(row: &Row) -> Result<VersionRow, StoreError> {
    const CTX: &str = "reading a stored value";
    Ok(VersionRow {
        at: get(row, 0, CTX)?,
        version: version_from_sql(get(row, 1, CTX)?)?,
        value: get(row, 2, CTX)?,
        quality: QualityFlags(quality_from_sql(get(row, 3, CTX)?)),
        collected_at: get(row, 4, CTX)?,
        ingested_at: get(row, 5, CTX)?,
        source: get(row, 6, CTX)?,
    })
}

/// Runs one of the [`SeriesQueries`] and decodes its rows.
pub(crate) fn versions(
    db: &mut Db<'_, Client>,
    sql: &'static str,
    params: &super::context::Params<'_>,
) -> Result<Vec<VersionRow>, StoreError> {
    db.query(sql, params, "running a reading query")?.iter().map(decode).collect()
}

/// The id of a known meter, `None` for an unknown one.
pub(crate) fn find_meter(db: &mut Db<'_, Client>, mrid: &str) -> Result<Option<i32>, StoreError> {
    const CTX: &str = "looking up a meter";
    match db.query_opt(super::vee_tx::FIND_METER, &[&mrid], CTX)? {
        Some(row) => Ok(Some(get(&row, 0, CTX)?)),
        None => Ok(None),
    }
}
