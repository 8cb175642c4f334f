//! Transformer energy balance: hand-computed sums over the intervals where every meter has
//! usable data, coverage, quality rules, DST days, net energy with export, bad input.

mod analytics_support;

use analytics_support::*;
use mdms::analytics::{AnalyticsError, BalanceInput, MeterEnergySeries, MeterRole, energy_balance};
use mdms::billing::BillingPeriod;
use model::{MeterId, QualityFlags};

fn meter(id: &str, import: Vec<mdms::billing::IntervalValue>) -> MeterEnergySeries {
    MeterEnergySeries { meter: MeterId::from(id), import, export: Vec::new() }
}

fn flat(start: jiff::Timestamp, n: usize, wh: f64) -> Vec<mdms::billing::IntervalValue> {
    cumulative(start, 900, 10_000.0, &vec![wh; n])
}

#[test]
fn one_day_balance_sums_only_counted_intervals() {
    let start = ts("2025-06-02T00:00:00Z");
    let check = meter("CHK", flat(start, 96, 1000.0));
    let a = meter("A", flat(start, 96, 400.0));
    let mut b = meter("B", flat(start, 96, 550.0));
    // B's value at 10:00 is missing: the intervals ending 10:00 and 10:15 cannot count.
    remove_at(&mut b.import, ts("2025-06-02T10:00:00Z"));
    let customers = [a, b];
    let utc = tz("UTC");
    let balance = energy_balance(&BalanceInput {
        transformer: "TX-1",
        check: &check,
        customers: &customers,
        period: period("2025-06-02", "2025-06-02"),
        time_zone: &utc,
        interval_length_s: 900,
    })
    .unwrap();

    assert_eq!(balance.start, start);
    assert_eq!(balance.end, ts("2025-06-03T00:00:00Z"));
    assert_eq!(balance.intervals.len(), 96);
    assert_eq!(balance.days.len(), 1);
    let day = balance.days[0].amounts;
    assert_eq!(day.expected_intervals, 96);
    assert_eq!(day.counted_intervals, 94);
    assert_close(day.coverage, 94.0 / 96.0);
    // 94 intervals: check 1 kWh each, customers 0.95 kWh each.
    assert_close(day.check_kwh, 94.0);
    assert_close(day.customers_kwh, 89.3);
    assert_close(day.loss_kwh, 4.7);
    assert_some_close(day.loss_percent, 5.0);
    assert_eq!(balance.total, day);

    // Interval 39 ends at 10:00, interval 40 at 10:15.
    let i39 = balance.intervals[39];
    assert_eq!(i39.interval_end, ts("2025-06-02T10:00:00Z"));
    assert!(!i39.counted);
    assert_eq!(i39.check_wh, Some(1000.0));
    assert_eq!(i39.customers_wh, None);
    assert!(!balance.intervals[40].counted);
    let i41 = balance.intervals[41];
    assert!(i41.counted);
    assert_some_close(i41.customers_wh, 950.0);
    assert_some_close(i41.loss_wh, 50.0);
    assert_some_close(i41.loss_percent, 5.0);

    // Per-meter data quality and own energy.
    assert_eq!(balance.meters.len(), 3);
    assert_eq!(balance.meters[0].role, MeterRole::Check);
    let b = &balance.meters[2];
    assert_eq!((b.meter.0.as_str(), b.role), ("B", MeterRole::Customer));
    assert_eq!(b.counts.missing_values, 1);
    assert_eq!(b.counts.usable_intervals, 94);
    assert_close(b.usable_kwh, 94.0 * 0.55);
    assert_eq!(b.days[0].usable_intervals, 94);
    assert_close(balance.meters[1].days[0].kwh, 96.0 * 0.4);
}

#[test]
fn estimated_and_edited_values_count_suspect_and_meter_flagged_ones_do_not() {
    let start = ts("2025-06-02T00:00:00Z");
    let mut check = meter("CHK", flat(start, 96, 1000.0));
    let mut a = meter("A", flat(start, 96, 400.0));
    let mut b = meter("B", flat(start, 96, 550.0));
    set_quality(&mut a.import, ts("2025-06-02T01:00:00Z"), QualityFlags::estimated(1, false));
    set_quality(&mut a.import, ts("2025-06-02T02:00:00Z"), QualityFlags(QualityFlags::EDITED));
    // Failed validation: suspect with rule 7 (spike).
    set_quality(&mut b.import, ts("2025-06-02T05:00:00Z"), QualityFlags(0).with_suspect_rule(7));
    // The meter itself marked a power failure on the check meter's 12:00 value.
    set_quality(&mut check.import, ts("2025-06-02T12:00:00Z"), QualityFlags(QualityFlags::POWER_DOWN));
    // Daylight saving is informational: still valid.
    set_quality(&mut b.import, ts("2025-06-02T20:00:00Z"), QualityFlags(QualityFlags::DAYLIGHT_SAVING));
    let customers = [a, b];
    let utc = tz("UTC");
    let balance = energy_balance(&BalanceInput {
        transformer: "TX-1",
        check: &check,
        customers: &customers,
        period: period("2025-06-02", "2025-06-02"),
        time_zone: &utc,
        interval_length_s: 900,
    })
    .unwrap();
    // Two intervals around B's suspect value and two around the check meter's power-down
    // value are out.
    assert_eq!(balance.total.counted_intervals, 92);
    assert_close(balance.total.check_kwh, 92.0);
    assert_close(balance.total.loss_kwh, 92.0 * 0.05);
    let not_counted: Vec<_> =
        balance.intervals.iter().filter(|i| !i.counted).map(|i| i.interval_end.to_string()).collect();
    assert_eq!(
        not_counted,
        ["2025-06-02T05:00:00Z", "2025-06-02T05:15:00Z", "2025-06-02T12:00:00Z", "2025-06-02T12:15:00Z"]
    );
    assert_eq!(balance.meters[0].counts.not_billable_values, 1);
    assert_eq!(balance.meters[1].counts.not_billable_values, 0);
    assert_eq!(balance.meters[2].counts.not_billable_values, 1);
}

#[test]
fn dst_days_have_92_and_100_intervals() {
    let london = tz("Europe/London");
    let check_wh = 100.0;
    let cases = [
        // 2025-03-30 is 23 hours long, 2025-10-26 25 hours.
        ("2025-03-29", "2025-03-31", ts("2025-03-29T00:00:00Z"), [96u32, 92, 96]),
        ("2025-10-25", "2025-10-27", ts("2025-10-24T23:00:00Z"), [96, 100, 96]),
    ];
    for (first, last, start, per_day) in cases {
        let n: usize = per_day.iter().sum::<u32>() as usize;
        let check = meter("CHK", flat(start, n, check_wh));
        let customers = [meter("A", flat(start, n, 97.0))];
        let balance = energy_balance(&BalanceInput {
            transformer: "TX-DST",
            check: &check,
            customers: &customers,
            period: period(first, last),
            time_zone: &london,
            interval_length_s: 900,
        })
        .unwrap();
        assert_eq!(balance.start, start);
        assert_eq!(balance.intervals.len(), n);
        let expected: Vec<u32> = balance.days.iter().map(|d| d.amounts.expected_intervals).collect();
        assert_eq!(expected, per_day, "{first}");
        for (d, intervals) in balance.days.iter().zip(per_day) {
            assert_eq!(d.amounts.counted_intervals, intervals);
            assert_close(d.amounts.check_kwh, f64::from(intervals) * 0.1);
            assert_close(d.amounts.loss_kwh, f64::from(intervals) * 0.003);
            assert_some_close(d.amounts.loss_percent, 3.0);
        }
        assert_close(balance.total.check_kwh, n as f64 * 0.1);
    }
}

#[test]
fn export_is_netted_when_metered() {
    let start = ts("2025-06-02T00:00:00Z");
    // A imports 200 Wh per interval and exports nothing (no export channel); C imports 100
    // and exports 50 (rooftop PV), net 50. The transformer delivers the net 250 plus 10 of
    // loss.
    let check = meter("CHK", flat(start, 96, 260.0));
    let a = meter("A", flat(start, 96, 200.0));
    let c = MeterEnergySeries {
        meter: MeterId::from("C"),
        import: flat(start, 96, 100.0),
        export: cumulative(start, 900, 500.0, &[50.0; 96]),
    };
    let customers = [a, c];
    let utc = tz("UTC");
    let balance = energy_balance(&BalanceInput {
        transformer: "TX-PV",
        check: &check,
        customers: &customers,
        period: period("2025-06-02", "2025-06-02"),
        time_zone: &utc,
        interval_length_s: 900,
    })
    .unwrap();
    assert_eq!(balance.total.counted_intervals, 96);
    assert_close(balance.total.check_kwh, 96.0 * 0.26);
    assert_close(balance.total.customers_kwh, 96.0 * 0.25);
    assert_close(balance.total.loss_kwh, 96.0 * 0.01);
    assert_some_close(balance.total.loss_percent, 10.0 / 260.0 * 100.0);
    assert_close(balance.meters[2].usable_kwh, 96.0 * 0.05);
}

#[test]
fn a_register_going_backwards_is_not_counted() {
    let start = ts("2025-06-02T00:00:00Z");
    let check = meter("CHK", flat(start, 4, 1000.0));
    let mut amounts = vec![400.0; 4];
    amounts[2] = -5000.0; // a register reset in the third interval
    let customers = [meter("A", cumulative(start, 900, 10_000.0, &amounts))];
    let utc = tz("UTC");
    // Only a one-hour span is stored; the rest of the day is missing.
    let balance = energy_balance(&BalanceInput {
        transformer: "TX-1",
        check: &check,
        customers: &customers,
        period: period("2025-06-02", "2025-06-02"),
        time_zone: &utc,
        interval_length_s: 900,
    })
    .unwrap();
    assert_eq!(balance.total.counted_intervals, 3);
    assert_eq!(balance.meters[1].counts.negative_intervals, 1);
    assert_eq!(balance.meters[1].counts.usable_intervals, 3);
    assert_close(balance.total.check_kwh, 3.0);
    assert_close(balance.total.customers_kwh, 1.2);
    assert!(!balance.intervals[2].counted);
    assert_eq!(balance.intervals[2].customers_wh, None);
}

#[test]
fn a_day_without_counted_intervals_has_no_loss_percentage() {
    let start = ts("2025-06-02T00:00:00Z");
    let check = meter("CHK", flat(start, 96, 1000.0));
    let customers = [meter("A", Vec::new())];
    let utc = tz("UTC");
    let balance = energy_balance(&BalanceInput {
        transformer: "TX-1",
        check: &check,
        customers: &customers,
        period: period("2025-06-02", "2025-06-02"),
        time_zone: &utc,
        interval_length_s: 900,
    })
    .unwrap();
    assert_eq!(balance.total.counted_intervals, 0);
    assert_eq!(balance.total.coverage, 0.0);
    assert_eq!(balance.total.loss_percent, None);
    assert_eq!(balance.meters[1].counts.missing_values, 97);
}

#[test]
fn bad_input_is_refused_with_a_typed_error() {
    let start = ts("2025-06-02T00:00:00Z");
    let check = meter("CHK", flat(start, 96, 1000.0));
    let utc = tz("UTC");
    let input = |customers: &'static [MeterEnergySeries]| BalanceInput {
        transformer: "TX-1",
        check: &check,
        customers,
        period: period("2025-06-02", "2025-06-02"),
        time_zone: &utc,
        interval_length_s: 900,
    };
    assert!(matches!(energy_balance(&input(&[])), Err(AnalyticsError::InvalidInput(_))));

    let same_as_check = [meter("CHK", Vec::new())];
    let err = energy_balance(&BalanceInput { customers: &same_as_check, ..input(&[]) }).unwrap_err();
    assert!(err.to_string().contains("CHK appears twice"), "{err}");

    let customers = [meter("A", Vec::new())];
    // 7 s does not divide a day.
    let err = energy_balance(&BalanceInput { customers: &customers, interval_length_s: 7, ..input(&[]) }).unwrap_err();
    assert!(matches!(err, AnalyticsError::IntervalGrid { interval_length_s: 7, .. }), "{err}");

    let backwards = BillingPeriod { first_day: date("2025-06-03"), last_day: date("2025-06-02") };
    let err = energy_balance(&BalanceInput { customers: &customers, period: backwards, ..input(&[]) }).unwrap_err();
    assert!(matches!(err, AnalyticsError::InvalidPeriod { .. }), "{err}");

    let err = energy_balance(&BalanceInput { customers: &customers, interval_length_s: 0, ..input(&[]) }).unwrap_err();
    assert!(matches!(err, AnalyticsError::IntervalGrid { .. }), "{err}");
}
