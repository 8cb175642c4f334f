//! The SQL of the two versioned value tables, `interval_reading` and `register_read`.
//!
//! Both have the same shape (meter, reading type, time in UTC seconds, version, value,
//! quality, collection), so ingest and queries share one implementation over this
//! description.

use std::sync::OnceLock;

/// Rows per multi-row `INSERT` statement of ingest, largest first: a day of 15-minute
/// intervals is one statement. Fewer, larger statements save the per-statement work of the
/// engine (cursor set-up, constraint checks' program, reset) that dominates a one-row
/// insert.
pub(crate) const INSERT_CHUNKS: [usize; 4] = [96, 24, 6, 1];

/// The multi-row inserts of each table, built once.
static INTERVAL_INSERTS: OnceLock<[String; 4]> = OnceLock::new();
static REGISTER_INSERTS: OnceLock<[String; 4]> = OnceLock::new();

/// The statements of one versioned value table. Parameters: `?1` meter id, `?2` reading
/// type id, then as noted.
///
/// The bundled SQLite is built with SQLITE_ENABLE_STAT4, so a statement whose plan choice
/// (ORDER BY, LIMIT) looked at bound parameter values is re-prepared (a full SQL parse)
/// whenever they change. Parameters of the ordered queries are written `?N + 0`, which keeps
/// them out of the planner's estimates while the primary key is still used, so each cached
/// statement is prepared once.
pub(crate) struct SeriesTable {
    /// For errors: "interval reading" or "register read".
    pub what: &'static str,
    /// Every stored version with time in `[?3, ?4]` (closed): time, version, value, quality,
    /// collection id (NULL for estimates and edits).
    pub select_for_ingest: &'static str,
    /// `INSERT INTO table (meter, reading type, time, version, value, quality, collection)
    /// VALUES ` (the rows follow; see [`SeriesTable::insert_chunk`]).
    pub insert_prefix: &'static str,
    /// Which cache of built inserts belongs to the table.
    inserts: &'static OnceLock<[String; 4]>,
    /// Every version with time in `[?3, ?4)`, by time then version, joined to its collection:
    /// time, version, value, quality, collected_at_ms, ingested_at_ms, source.
    pub select_range: &'static str,
    /// Every version at time `?3`, by version, with the same columns as `select_range`.
    pub select_history: &'static str,
    /// The greatest stored time.
    pub select_last: &'static str,
}

/// Load-profile interval values, keyed by interval end.
pub(crate) const INTERVALS: SeriesTable = SeriesTable {
    what: "interval reading",
    select_for_ingest: "SELECT interval_end, version, value, quality, collection_id FROM interval_reading \
        WHERE meter_id = ?1 AND reading_type_id = ?2 AND interval_end BETWEEN ?3 AND ?4",
    insert_prefix: "INSERT INTO interval_reading \
        (meter_id, reading_type_id, interval_end, version, value, quality, collection_id) VALUES ",
    inserts: &INTERVAL_INSERTS,
    // Versions written by an estimation or an edit have no collection: their time and
    // source come from the audit entry.
    select_range: "SELECT v.interval_end, v.version, v.value, v.quality, \
        COALESCE(c.collected_at_ms, a.at_ms), COALESCE(c.ingested_at_ms, a.at_ms), \
        COALESCE(c.source, CASE a.action WHEN 'edit' THEN 'edit' ELSE 'estimation' END) \
        FROM interval_reading v LEFT JOIN collection c ON c.id = v.collection_id \
        LEFT JOIN audit_log a ON a.id = v.audit_id \
        WHERE v.meter_id = ?1 + 0 AND v.reading_type_id = ?2 + 0 AND v.interval_end >= ?3 + 0 AND v.interval_end < ?4 + 0 \
        ORDER BY v.interval_end, v.version",
    select_history: "SELECT v.interval_end, v.version, v.value, v.quality, \
        COALESCE(c.collected_at_ms, a.at_ms), COALESCE(c.ingested_at_ms, a.at_ms), \
        COALESCE(c.source, CASE a.action WHEN 'edit' THEN 'edit' ELSE 'estimation' END) \
        FROM interval_reading v LEFT JOIN collection c ON c.id = v.collection_id \
        LEFT JOIN audit_log a ON a.id = v.audit_id \
        WHERE v.meter_id = ?1 + 0 AND v.reading_type_id = ?2 + 0 AND v.interval_end = ?3 + 0 \
        ORDER BY v.version",
    select_last: "SELECT interval_end FROM interval_reading \
        WHERE meter_id = ?1 + 0 AND reading_type_id = ?2 + 0 ORDER BY interval_end DESC LIMIT 1",
};

/// Register reads, keyed by read time.
pub(crate) const REGISTERS: SeriesTable = SeriesTable {
    what: "register read",
    select_for_ingest: "SELECT read_at, version, value, quality, collection_id FROM register_read \
        WHERE meter_id = ?1 AND reading_type_id = ?2 AND read_at BETWEEN ?3 AND ?4",
    insert_prefix: "INSERT INTO register_read \
        (meter_id, reading_type_id, read_at, version, value, quality, collection_id) VALUES ",
    inserts: &REGISTER_INSERTS,
    select_range: "SELECT v.read_at, v.version, v.value, v.quality, \
        c.collected_at_ms, c.ingested_at_ms, c.source \
        FROM register_read v JOIN collection c ON c.id = v.collection_id \
        WHERE v.meter_id = ?1 + 0 AND v.reading_type_id = ?2 + 0 AND v.read_at >= ?3 + 0 AND v.read_at < ?4 + 0 \
        ORDER BY v.read_at, v.version",
    select_history: "SELECT v.read_at, v.version, v.value, v.quality, \
        c.collected_at_ms, c.ingested_at_ms, c.source \
        FROM register_read v JOIN collection c ON c.id = v.collection_id \
        WHERE v.meter_id = ?1 + 0 AND v.reading_type_id = ?2 + 0 AND v.read_at = ?3 + 0 \
        ORDER BY v.version",
    select_last: "SELECT read_at FROM register_read \
        WHERE meter_id = ?1 + 0 AND reading_type_id = ?2 + 0 ORDER BY read_at DESC LIMIT 1",
};

impl SeriesTable {
    /// The insert of `INSERT_CHUNKS[chunk]` rows of one meter, reading type and collection:
    /// `?1` meter id, `?2` reading type id, `?3` collection id, then per row `k` (from 0)
    /// `?(4 + 4k)` time, `?(5 + 4k)` version, `?(6 + 4k)` value, `?(7 + 4k)` quality. `None`
    /// for an index past the chunk sizes.
    pub fn insert_chunk(&self, chunk: usize) -> Option<&'static str> {
        let built = self.inserts.get_or_init(|| {
            INSERT_CHUNKS.map(|rows| {
                let mut sql = String::from(self.insert_prefix);
                for k in 0..rows {
                    let p = 4 + 4 * k;
                    if k > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("(?1,?2,?{p},?{},?{},?{},?3)", p + 1, p + 2, p + 3));
                }
                sql
            })
        });
        built.get(chunk).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_inserts_number_their_parameters_per_row() {
        assert_eq!(
            REGISTERS.insert_chunk(3),
            Some(
                "INSERT INTO register_read (meter_id, reading_type_id, read_at, version, value, quality, \
                 collection_id) VALUES (?1,?2,?4,?5,?6,?7,?3)"
            )
        );
        let six = INTERVALS.insert_chunk(2).unwrap();
        assert!(six.starts_with("INSERT INTO interval_reading"));
        assert!(six.ends_with(
            "(?1,?2,?4,?5,?6,?7,?3),(?1,?2,?8,?9,?10,?11,?3),(?1,?2,?12,?13,?14,?15,?3),\
             (?1,?2,?16,?17,?18,?19,?3),(?1,?2,?20,?21,?22,?23,?3),(?1,?2,?24,?25,?26,?27,?3)"
        ));
        assert_eq!(INTERVALS.insert_chunk(0).unwrap().matches("(?1,?2,").count(), 96);
        assert_eq!(INTERVALS.insert_chunk(4), None);
    }
}
