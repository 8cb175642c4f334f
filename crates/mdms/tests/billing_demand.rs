//! Block and rolling demand over interval energies, including unknown intervals.

use jiff::Timestamp;
use mdms::billing::demand::{block_demand_kw, max_demand, rolling_demand_kw};
use mdms::billing::{DemandPeak, DemandSettings};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[track_caller]
fn assert_series(actual: &[Option<f64>], expected: &[Option<f64>]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?}");
    for (a, e) in actual.iter().zip(expected) {
        match (a, e) {
            (Some(a), Some(e)) => assert!((a - e).abs() < 1e-12, "{actual:?} != {expected:?}"),
            (None, None) => {}
            _ => panic!("{actual:?} != {expected:?}"),
        }
    }
}

#[test]
fn block_demand_is_interval_wh_times_four() {
    // 15-minute intervals: kW = Wh × 4 / 1000.
    let wh = [Some(250.0), None, Some(0.0), Some(1_125.0)];
    assert_series(&block_demand_kw(&wh, 900), &[Some(1.0), None, Some(0.0), Some(4.5)]);
    // 30-minute intervals: kW = Wh × 2 / 1000.
    assert_series(&block_demand_kw(&[Some(250.0)], 1800), &[Some(0.5)]);
}

#[test]
fn rolling_windows_need_every_interval() {
    let wh = [Some(100.0), Some(300.0), Some(200.0), None, Some(400.0), Some(400.0)];
    // 30-minute window (2 × 15 min): (a + b) Wh / 0.5 h.
    assert_series(&rolling_demand_kw(&wh, 2, 900), &[None, Some(0.8), Some(1.0), None, None, Some(1.6)]);
    // 60-minute window: every full window contains the unknown interval.
    assert_series(&rolling_demand_kw(&wh, 4, 900), &[None, None, None, None, None, None]);
    let full = [Some(100.0), Some(300.0), Some(200.0), Some(200.0), Some(400.0)];
    assert_series(&rolling_demand_kw(&full, 4, 900), &[None, None, None, Some(0.8), Some(1.1)]);
    // Degenerate settings give nothing rather than a division by zero.
    assert_series(&rolling_demand_kw(&full, 0, 900), &[None; 5]);
    assert_series(&rolling_demand_kw(&full, 2, 0), &[None; 5]);
    // A window longer than the series.
    assert_series(&rolling_demand_kw(&full, 6, 900), &[None; 5]);
}

#[test]
fn maximum_is_the_earliest_of_equal_values_and_respects_the_filter() {
    let kw = [None, Some(0.8), Some(1.6), Some(1.6), Some(0.4)];
    let first_end = ts("2025-06-02T00:15:00Z");
    assert_eq!(
        max_demand(&kw, first_end, 900, 2, |_| true),
        Some(DemandPeak { kw: 1.6, start: ts("2025-06-02T00:15:00Z"), end: ts("2025-06-02T00:45:00Z") })
    );
    assert_eq!(
        max_demand(&kw, first_end, 900, 1, |i| i == 1 || i == 4),
        Some(DemandPeak { kw: 0.8, start: ts("2025-06-02T00:15:00Z"), end: ts("2025-06-02T00:30:00Z") })
    );
    assert_eq!(max_demand(&kw, first_end, 900, 1, |i| i == 0), None);
    assert_eq!(max_demand(&[], first_end, 900, 1, |_| true), None);
}

#[test]
fn default_window_is_30_minutes() {
    assert_eq!(DemandSettings::default().rolling_window_minutes, 30);
}
