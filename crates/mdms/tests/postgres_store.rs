//! The conformance suite on `PgStore` (each case in a fresh scratch schema), plus
//! PostgreSQL-specific behaviour: migrations and the schema version, monthly partitions,
//! durability across reconnects, atomic ingest, concurrent writers, batch ingest.
#![cfg(feature = "postgres")]

#[macro_use]
mod suite;
mod postgres_support;

use std::collections::BTreeSet;

use mdms::{IngestReport, MeterDataStore, PG_SCHEMA_VERSION, PgStore, StoreError, StoreSummary};
use model::{MeterReading, ReadingType};
use postgres_support::{SchemaGuard, client, conninfo, database_name, fresh_store, unique_schema, unreachable};
use suite::fixtures::*;

store_conformance_tests!(fresh_store);

const AP: ReadingType = ReadingType::ActiveEnergyImport;

fn open_schema(name: &str) -> PgStore {
    PgStore::connect_schema(&conninfo(), name).unwrap_or_else(|e| unreachable(&e))
}

#[test]
fn store_can_move_to_the_ingest_task() {
    fn assert_send<T: Send>() {}
    assert_send::<PgStore>();
    let boxed: Box<dyn MeterDataStore + Send> = Box::new(fresh_store());
    assert_eq!(boxed.summary().unwrap(), StoreSummary::default());
}

#[test]
fn acknowledged_data_survives_reconnect() {
    let schema = unique_schema("durable");
    let _guard = SchemaGuard(schema.clone());
    suite::durability_cases::acknowledged_data_survives_reopen(|| open_schema(&schema));
}

#[test]
fn schema_version_reading_types_and_monthly_partitions() {
    let store = fresh_store();
    let schema = store.schema().expect("a scratch store has its own schema").to_string();
    let mut store = store;
    // Values in January and March 2025: their months (and the validation reach around them)
    // get partitions, and each value lands in its month's partition.
    let jan = ts("2025-01-15T00:15:00Z");
    let mar = ts("2025-03-15T00:15:00Z");
    store.ingest(&reading("M1", mar, vec![iv(AP, jan, 1.0, 0), iv(AP, mar, 2.0, 0)], vec![])).unwrap();

    let mut c = client();
    let q = |c: &mut postgres::Client, sql: &str| c.query(sql, &[]).unwrap();
    let version: i32 = q(&mut c, &format!("SELECT max(version) FROM \"{schema}\".schema_version"))[0].get(0);
    assert_eq!((version, PG_SCHEMA_VERSION), (3, 3));
    let types: i64 = q(&mut c, &format!("SELECT count(*) FROM \"{schema}\".reading_type"))[0].get(0);
    assert_eq!(types, ReadingType::ALL.len() as i64);
    let obis: String =
        q(&mut c, &format!("SELECT obis FROM \"{schema}\".reading_type WHERE name = 'active_energy_import'"))[0].get(0);
    assert_eq!(obis, "1-0:1.8.0.255");
    let partitions: BTreeSet<String> = q(
        &mut c,
        &format!(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = '\"{schema}\".interval_reading'::regclass"
        ),
    )
    .iter()
    .map(|r| r.get(0))
    .collect();
    for month in ["interval_reading_y2025m01", "interval_reading_y2025m03"] {
        assert!(partitions.contains(month), "{month} missing from {partitions:?}");
    }
    assert!(!partitions.contains("interval_reading_y2025m06"));
    let in_march: i64 = q(&mut c, &format!("SELECT count(*) FROM \"{schema}\".interval_reading_y2025m03"))[0].get(0);
    assert_eq!(in_march, 1);
}

#[test]
fn a_newer_schema_is_refused() {
    let schema = unique_schema("newer");
    let _guard = SchemaGuard(schema.clone());
    drop(open_schema(&schema));
    client().batch_execute(&format!("INSERT INTO \"{schema}\".schema_version (version) VALUES (7)")).unwrap();
    match PgStore::connect_schema(&conninfo(), &schema) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (7, i64::from(PG_SCHEMA_VERSION)))
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn a_version_1_schema_is_migrated_to_version_2() {
    let schema = unique_schema("migrate");
    let _guard = SchemaGuard(schema.clone());
    let t = ts("2025-01-01T00:15:00Z");
    open_schema(&schema).ingest(&reading("M1", t, vec![iv(AP, t, 1.0, 0)], vec![])).unwrap();
    // Back to what schema version 1 had: no event, outage or topology tables.
    client()
        .batch_execute(&format!(
            "DROP TABLE \"{schema}\".end_device_event_detail, \"{schema}\".end_device_event; \
             DROP TABLE \"{schema}\".outage_meter, \"{schema}\".outage, \"{schema}\".topo_dma_meter, \
             \"{schema}\".topo_dma, \"{schema}\".topo_service_point, \"{schema}\".topo_transformer, \
             \"{schema}\".topo_feeder; \
             DELETE FROM \"{schema}\".schema_version WHERE version >= 2"
        ))
        .unwrap();
    let mut store = open_schema(&schema);
    let versions: Vec<i32> = client()
        .query(&format!("SELECT version FROM \"{schema}\".schema_version ORDER BY version"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, vec![1, 2, 3]);
    assert!(mdms::topology::TopologyStore::load_topology(&store).unwrap().is_empty());
    assert_eq!(store.interval_history(&meter("M1"), AP, t).unwrap().len(), 1);
    let event = model::EndDeviceEvent::new(meter("M1"), model::EndDeviceEventType::POWER_DOWN, t, t, "push");
    let report = mdms::events::EventStore::insert_events(&mut store, &[event]).unwrap();
    assert_eq!(report.inserted, 1);
}

#[test]
fn tests_run_in_a_database_of_their_own() {
    let name = database_name();
    assert!(name.starts_with(&format!("gridedge_test_{}_", std::process::id())), "{name}");
    let current: String = client().query_one("SELECT current_database()::text", &[]).unwrap().get(0);
    assert_eq!(current, name);
    let store = fresh_store();
    let schema = store.schema().unwrap().to_string();
    let in_run_db: bool =
        client().query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[&schema]).unwrap().get(0);
    assert!(in_run_db, "scratch schema {schema} is not in {name}");
}

#[test]
fn an_unreachable_server_is_a_typed_error() {
    // Port 1 on the loopback: nothing listens there.
    match PgStore::connect("host=127.0.0.1 port=1 user=postgres dbname=postgres connect_timeout=5") {
        Err(StoreError::Postgres { context, .. }) => assert_eq!(context, "connecting to the PostgreSQL server"),
        other => panic!("expected a PostgreSQL error, got {other:?}"),
    }
}

#[test]
fn a_scratch_schema_is_dropped_with_its_store() {
    let store = fresh_store();
    let schema = store.schema().unwrap().to_string();
    let exists = |c: &mut postgres::Client| -> bool {
        c.query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[&schema]).unwrap().get(0)
    };
    let mut c = client();
    assert!(exists(&mut c));
    drop(store);
    assert!(!exists(&mut c));
}

#[test]
fn a_failure_mid_ingest_rolls_back_the_whole_reading() {
    let schema = unique_schema("rollback");
    let _guard = SchemaGuard(schema.clone());
    let t = ts("2025-01-01T00:15:00Z");
    let good = reading("M1", t, vec![iv(AP, t, 1.0, 0)], vec![]);
    open_schema(&schema).ingest(&good).unwrap();

    // Make register inserts fail: the intervals of the next reading are written first, then
    // the register insert aborts the transaction.
    let mut c = client();
    c.batch_execute(&format!(
        "CREATE FUNCTION \"{schema}\".refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'injected'; END $$; \
         CREATE TRIGGER fail_registers BEFORE INSERT ON \"{schema}\".register_read \
         FOR EACH ROW EXECUTE FUNCTION \"{schema}\".refuse();"
    ))
    .unwrap();
    let mut store = open_schema(&schema);
    let later = plus(t, 900);
    let doomed = reading("M2", later, vec![iv(AP, later, 2.0, 0), iv(AP, t, 9.0, 0)], vec![reg(AP, later, 2.0)]);
    match store.ingest(&doomed) {
        Err(StoreError::Postgres { context, source }) => {
            assert_eq!(context, "writing register reads");
            assert!(source.to_string().contains("injected") || format!("{source:?}").contains("injected"));
        }
        other => panic!("expected a PostgreSQL error, got {other:?}"),
    }
    assert_eq!(
        store.summary().unwrap(),
        StoreSummary { meters: 1, interval_rows: 1, collections: 1, ..Default::default() }
    );
    assert_eq!(store.meters().unwrap(), vec![meter("M1")]);

    // The store stays usable: once the fault is gone the same reading goes in.
    c.batch_execute(&format!("DROP TRIGGER fail_registers ON \"{schema}\".register_read")).unwrap();
    let report = store.ingest(&doomed).unwrap();
    assert_eq!(report, IngestReport { intervals_new: 2, registers_new: 1, ..Default::default() });
}

/// Day `day` (0-based from 2025-01-01) of a 15-minute +A profile of `meter`, delivered by a
/// session the next morning.
fn day_reading(meter: &str, day: i64, step: f64) -> MeterReading {
    let first = plus(ts("2025-01-01T00:15:00Z"), 86_400 * day);
    let start = step * 96.0 * day as f64;
    reading(meter, plus(first, 86_400 + 300), energy_ramp(first, 96, start, step), vec![])
}

#[test]
fn a_batch_stores_what_its_readings_store_one_at_a_time() {
    let mut readings = vec![day_reading("B1", 0, 10.0), day_reading("B2", 0, 5.0), day_reading("B1", 1, 10.0)];
    // A replay, and a re-read of B1's first day with one corrected value (a new version).
    readings.push(day_reading("B2", 0, 5.0));
    let mut corrected = day_reading("B1", 0, 10.0);
    corrected.collected_at = plus(corrected.collected_at, 3600);
    corrected.intervals[10].value += 0.5;
    readings.push(corrected);

    let mut one_by_one = fresh_store();
    let sequential: Vec<IngestReport> = readings.iter().map(|r| one_by_one.ingest(r).unwrap()).collect();
    let mut batched = fresh_store();
    let outcomes = batched.ingest_batch(&readings, "hes").unwrap();
    let reports: Vec<IngestReport> = outcomes.iter().map(|o| o.ingest).collect();
    assert_eq!(reports, sequential);
    assert_eq!(
        reports.iter().map(|r| (r.intervals_new, r.intervals_duplicate, r.intervals_revised)).collect::<Vec<_>>(),
        vec![(96, 0, 0), (96, 0, 0), (96, 0, 0), (0, 96, 0), (0, 95, 1)]
    );
    assert_eq!(batched.summary().unwrap(), one_by_one.summary().unwrap());
    for m in ["B1", "B2"] {
        let a = batched.interval_readings(&meter(m), AP, t_min(), t_max()).unwrap();
        let b = one_by_one.interval_readings(&meter(m), AP, t_min(), t_max()).unwrap();
        let key = |v: &[mdms::StoredInterval]| {
            v.iter()
                .map(|s| (s.interval_end, s.value.to_bits(), s.quality, s.version, s.collected_at))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&a), key(&b));
    }
    let history = batched.interval_history(&meter("B1"), AP, plus(ts("2025-01-01T00:15:00Z"), 900 * 10)).unwrap();
    assert_eq!(history.iter().map(|h| (h.version, h.value)).collect::<Vec<_>>(), vec![(1, 100.0), (2, 100.5)]);
}

#[test]
fn concurrent_writers_of_one_meter_never_collide_on_versions() {
    let schema = unique_schema("concurrent");
    let _guard = SchemaGuard(schema.clone());
    drop(open_schema(&schema));
    let t = ts("2025-02-01T00:15:00Z");
    // Two connections each deliver 20 different values for the same interval, interleaved.
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let schema = schema.clone();
            std::thread::spawn(move || {
                let mut store = open_schema(&schema);
                for k in 0..20 {
                    let value = f64::from(w * 100 + k);
                    let collected = plus(t, i64::from(w * 100 + k) + 60);
                    let r = reading("C1", collected, vec![iv(AP, t, value, 0)], vec![]);
                    let report = store.ingest(&r).unwrap();
                    assert_eq!(report.intervals_new + report.intervals_revised, 1);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let store = open_schema(&schema);
    let history = store.interval_history(&meter("C1"), AP, t).unwrap();
    assert_eq!(history.iter().map(|h| h.version).collect::<Vec<_>>(), (1..=40).collect::<Vec<u32>>());
    let values: BTreeSet<u64> = history.iter().map(|h| h.value.to_bits()).collect();
    assert_eq!(values.len(), 40);
}
