//! The schema-3 migration of the SQLite store: the value tables are rebuilt without foreign
//! keys, every stored version (collected, estimated) survives, and the file keeps working.

use jiff::Timestamp;
use mdms::{MeterDataStore, SCHEMA_VERSION, SqliteStore};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType};

const AP: ReadingType = ReadingType::ActiveEnergyImport;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Foreign keys declared on `table`, as (from column, parent table).
fn foreign_keys(conn: &rusqlite::Connection, table: &str) -> Vec<(String, String)> {
    let mut stmt =
        conn.prepare(&format!("SELECT \"from\", \"table\" FROM pragma_foreign_key_list('{table}')")).unwrap();
    let mut out: Vec<(String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap();
    out.sort();
    out
}

#[test]
fn a_version_2_file_migrates_to_value_tables_without_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.sqlite");
    {
        // The version-2 value tables (the rest of the file as version 2 left it).
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE meter (id INTEGER PRIMARY KEY, mrid TEXT NOT NULL UNIQUE);
             CREATE TABLE reading_type (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, obis TEXT NOT NULL,
                 cim_code TEXT NOT NULL, unit TEXT NOT NULL);
             CREATE TABLE collection (id INTEGER PRIMARY KEY, meter_id INTEGER NOT NULL REFERENCES meter(id),
                 collected_at_ms INTEGER NOT NULL, clock_drift_ms INTEGER, interval_length_s INTEGER NOT NULL,
                 ingested_at_ms INTEGER NOT NULL, source TEXT NOT NULL, UNIQUE (meter_id, collected_at_ms));
             CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, user TEXT NOT NULL,
                 action TEXT NOT NULL CHECK (action IN ('edit', 'estimate', 'accept')), reason TEXT NOT NULL,
                 meter_id INTEGER NOT NULL REFERENCES meter(id), reading_type_id INTEGER REFERENCES reading_type(id),
                 first_end INTEGER, last_end INTEGER, detail TEXT NOT NULL);
             CREATE INDEX audit_log_by_channel ON audit_log (meter_id, reading_type_id, first_end);
             CREATE TABLE interval_reading (meter_id INTEGER NOT NULL REFERENCES meter(id),
                 reading_type_id INTEGER NOT NULL REFERENCES reading_type(id), interval_end INTEGER NOT NULL,
                 version INTEGER NOT NULL CHECK (version >= 1), value REAL NOT NULL, quality INTEGER NOT NULL,
                 collection_id INTEGER REFERENCES collection(id), audit_id INTEGER REFERENCES audit_log(id),
                 CHECK ((collection_id IS NULL) <> (audit_id IS NULL)),
                 PRIMARY KEY (meter_id, reading_type_id, interval_end, version)) WITHOUT ROWID;
             CREATE TABLE register_read (meter_id INTEGER NOT NULL REFERENCES meter(id),
                 reading_type_id INTEGER NOT NULL REFERENCES reading_type(id), read_at INTEGER NOT NULL,
                 version INTEGER NOT NULL CHECK (version >= 1), value REAL NOT NULL, quality INTEGER NOT NULL,
                 collection_id INTEGER NOT NULL REFERENCES collection(id),
                 PRIMARY KEY (meter_id, reading_type_id, read_at, version)) WITHOUT ROWID;
             CREATE TABLE vee_run (id INTEGER PRIMARY KEY, meter_id INTEGER NOT NULL REFERENCES meter(id),
                 reading_type_id INTEGER NOT NULL REFERENCES reading_type(id), at_ms INTEGER NOT NULL,
                 cause TEXT NOT NULL CHECK (cause IN ('ingest', 'revalidate', 'estimate', 'edit')),
                 meter_class TEXT NOT NULL, window_from INTEGER NOT NULL, window_to INTEGER NOT NULL);
             CREATE TABLE vee_finding (meter_id INTEGER NOT NULL REFERENCES meter(id),
                 reading_type_id INTEGER NOT NULL REFERENCES reading_type(id), interval_end INTEGER NOT NULL,
                 rule INTEGER NOT NULL, version INTEGER NOT NULL CHECK (version >= 0), measured REAL,
                 limit_value REAL, status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
                 run_id INTEGER NOT NULL REFERENCES vee_run(id), closed_run_id INTEGER REFERENCES vee_run(id),
                 closed_audit_id INTEGER REFERENCES audit_log(id),
                 PRIMARY KEY (meter_id, reading_type_id, interval_end, rule, version)) WITHOUT ROWID;
             CREATE INDEX vee_finding_open ON vee_finding (meter_id, reading_type_id, interval_end)
                 WHERE status = 0;
             INSERT INTO meter (id, mrid) VALUES (1, 'M1');
             INSERT INTO reading_type (id, name, obis, cim_code, unit)
                 VALUES (1, 'active_energy_import', '1-0:1.8.0.255', '0.0.2.1.1.1.12.0.0.0.0.0.0.0.0.0.72.0', 'Wh');
             INSERT INTO collection VALUES (1, 1, 1736125200000, 0, 900, 1736125200123, 'hes');
             INSERT INTO audit_log VALUES (1, 1736125300000, 'vee', 'estimate', 'gap', 1, 1, 1736123400,
                 1736123400, '1 intervals estimated');
             INSERT INTO interval_reading VALUES (1, 1, 1736122500, 1, 1010.0, 0, 1, NULL);
             INSERT INTO interval_reading VALUES (1, 1, 1736122500, 2, 1011.0, 32, 1, NULL);
             INSERT INTO interval_reading VALUES (1, 1, 1736123400, 1, 1020.0, 1179648, NULL, 1);
             INSERT INTO register_read VALUES (1, 1, 1736123400, 1, 1020.0, 0, 1);
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!((version, SCHEMA_VERSION), (3, 3));
    assert!(foreign_keys(&conn, "interval_reading").is_empty());
    assert!(foreign_keys(&conn, "register_read").is_empty());
    // The small tables keep theirs.
    assert_eq!(foreign_keys(&conn, "collection"), vec![("meter_id".to_string(), "meter".to_string())]);

    let m1 = MeterId::from("M1");
    let history = store.interval_history(&m1, AP, ts("2025-01-06T00:15:00Z")).unwrap();
    let got: Vec<(u32, f64, u32, &str)> =
        history.iter().map(|h| (h.version, h.value, h.quality.0, h.source.as_str())).collect();
    assert_eq!(got, vec![(1, 1010.0, 0, "hes"), (2, 1011.0, 32, "hes")]);
    let estimate = store.interval_history(&m1, AP, ts("2025-01-06T00:30:00Z")).unwrap();
    assert_eq!(
        estimate.iter().map(|h| (h.version, h.value, h.source.as_str())).collect::<Vec<_>>(),
        vec![(1, 1020.0, "estimation")]
    );
    assert_eq!(store.register_reads(&m1, AP, ts("2025-01-06T00:00:00Z"), ts("2025-01-07T00:00:00Z")).unwrap().len(), 1);

    // The checks stay: a version written by neither a collection nor an audit entry is refused.
    let refused = conn.execute("INSERT INTO interval_reading VALUES (1, 1, 1736124300, 1, 1.0, 0, NULL, NULL)", []);
    assert!(refused.is_err());

    // The migrated file takes new data.
    let t = ts("2025-01-06T00:45:00Z");
    let r = MeterReading {
        meter: m1.clone(),
        collected_at: ts("2025-01-06T02:00:00Z"),
        clock_drift_ms: Some(0),
        interval_length_s: 900,
        registers: vec![],
        intervals: vec![IntervalReading { reading_type: AP, interval_end: t, value: 1030.0, quality: QualityFlags(0) }],
    };
    assert_eq!(store.ingest(&r).unwrap().intervals_new, 1);
    assert_eq!(store.summary().unwrap().interval_rows, 4);
}
