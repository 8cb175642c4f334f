//! Durability: what `ingest` acknowledged is there after the store is dropped and reopened.

use mdms::{MeterDataStore, StoreSummary};
use model::ReadingType;

use super::fixtures::*;

/// `open` must open the same persistent database each time it is called.
pub fn acknowledged_data_survives_reopen<S: MeterDataStore>(mut open: impl FnMut() -> S) {
    let m = meter("M1");
    let first = ts("2025-01-20T00:15:00Z");
    let t = ts("2025-01-20T06:00:00Z");
    {
        let mut store = open();
        store.ingest(&reading("M1", ts("2025-01-21T00:05:00Z"), energy_ramp(first, 96, 0.0, 25.0), vec![])).unwrap();
        let revision = reading(
            "M1",
            ts("2025-01-21T01:05:00Z"),
            vec![iv(ReadingType::ActiveEnergyImport, t, 1.5, 0)],
            vec![reg(ReadingType::ActiveEnergyImport, t, 2400.0)],
        );
        store.ingest(&revision).unwrap();
    } // dropped: connection closed without any explicit flush

    let store = open();
    assert_eq!(
        store.summary().unwrap(),
        StoreSummary {
            meters: 1,
            interval_rows: 97,
            interval_revisions: 1,
            register_rows: 1,
            register_revisions: 0,
            collections: 2
        }
    );
    let all = store.interval_readings(&m, ReadingType::ActiveEnergyImport, t_min(), t_max()).unwrap();
    assert_eq!(all.len(), 96);
    assert_eq!(all[95].value, 2375.0);
    let history: Vec<f64> =
        store.interval_history(&m, ReadingType::ActiveEnergyImport, t).unwrap().iter().map(|h| h.value).collect();
    // 06:00 is the 24th interval end (k = 23): 23 * 25 Wh.
    assert_eq!(history, vec![575.0, 1.5]);
    assert_eq!(store.last_interval_end(&m, ReadingType::ActiveEnergyImport).unwrap(), Some(ts("2025-01-21T00:00:00Z")));
    assert_eq!(store.clock_drift_history(&m).unwrap().len(), 2);
}
