//! Properties of the determinants over random complete days: TOU energy adds up to the
//! register difference, and demand bounds hold.

mod billing_support;

use billing_support::*;
use mdms::billing::{ChannelSeries, TouSchedule, determinants_from_series};
use model::MeterId;
use proptest::prelude::*;
use serde_json::json;

fn schedule_london() -> TouSchedule {
    schedule(json!({
        "name": "three-rate",
        "time_zone": "Europe/London",
        "default_period": "off_peak",
        "holidays": ["2025-12-25"],
        "rules": [
            { "period": "peak", "day_types": ["weekday"], "from": "16:00", "to": "19:00" },
            { "period": "night", "from": "23:30", "to": "06:30" }
        ],
        "demand": { "rolling_window_minutes": 60 }
    }))
}

/// The London days to test on, with their UTC start and interval count: an ordinary BST
/// day, both DST days, a GMT weekday and a holiday.
const DAYS: [(&str, &str, usize); 5] = [
    ("2025-06-02", "2025-06-01T23:00:00Z", 96),
    ("2025-03-30", "2025-03-30T00:00:00Z", 92),
    ("2025-10-26", "2025-10-25T23:00:00Z", 100),
    ("2025-12-22", "2025-12-22T00:00:00Z", 96),
    ("2025-12-25", "2025-12-25T00:00:00Z", 96),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn tou_energy_sums_to_the_total_and_block_demand_bounds_rolling(
        day in 0usize..DAYS.len(),
        // Quarter-Wh steps are exact in binary floating point.
        quarters in proptest::collection::vec(0u32..40_000, 100),
        opening in 0u32..1_000_000_000,
    ) {
        let (date, start, count) = DAYS[day];
        let wh: Vec<f64> = quarters[..count].iter().map(|q| f64::from(*q) / 4.0).collect();
        let series = ChannelSeries {
            active_import: cumulative(ts(start), f64::from(opening), &wh),
            ..ChannelSeries::default()
        };
        let d = determinants_from_series(&MeterId::from("P"), &one_day(date), &schedule_london(), 900, &series).unwrap();
        prop_assert!(d.is_bill_ready());
        prop_assert_eq!(d.intervals as usize, count);
        let expected_kwh: f64 = wh.iter().sum::<f64>() / 1000.0;
        let total = d.active_import.total_kwh.unwrap();
        prop_assert!((total - expected_kwh).abs() < 1e-9, "total {} vs {}", total, expected_kwh);
        let tou_sum: f64 = d.active_import.by_tou.iter().map(|t| t.kwh).sum();
        prop_assert!((tou_sum - total).abs() < 1e-9, "TOU {} vs total {}", tou_sum, total);
        let tou_intervals: u32 = d.active_import.by_tou.iter().map(|t| t.intervals).sum();
        prop_assert_eq!(tou_intervals as usize, count);
        // The block maximum is the largest interval, and no rolling average exceeds it.
        let largest = wh.iter().copied().fold(0.0, f64::max);
        let block = d.active_import.max_block_demand.unwrap();
        prop_assert!((block.kw - largest * 4.0 / 1000.0).abs() < 1e-9);
        let rolling = d.active_import.max_rolling_demand.unwrap();
        prop_assert!(rolling.kw <= block.kw + 1e-12);
        prop_assert_eq!(rolling.end.as_second() - rolling.start.as_second(), 3600);
        // Each TOU maximum is at most the overall maximum, and one of them equals it.
        let tou_max = d.active_import.by_tou.iter().filter_map(|t| t.max_block_demand).map(|p| p.kw).fold(0.0, f64::max);
        prop_assert!((tou_max - block.kw).abs() < 1e-12);
    }
}
