//! Billing periods: local-day bounds as UTC instants across DST, monthly cycles.

mod billing_support;

use billing_support::*;
use jiff::tz::TimeZone;
use mdms::billing::{BillingError, BillingPeriod};

fn london() -> TimeZone {
    TimeZone::get("Europe/London").unwrap()
}

fn intervals(bounds: (jiff::Timestamp, jiff::Timestamp)) -> i64 {
    (bounds.1.as_second() - bounds.0.as_second()) / 900
}

#[test]
fn calendar_months_in_london_follow_dst() {
    // March 2025: starts at midnight GMT, ends at midnight BST (23:00Z on the 31st):
    // 31 × 24 − 1 = 743 hours, 2 972 intervals.
    let march = BillingPeriod::calendar_month(2025, 3).unwrap();
    assert_eq!((march.first_day, march.last_day), (date("2025-03-01"), date("2025-03-31")));
    let b = march.utc_bounds(&london()).unwrap();
    assert_eq!(b, (ts("2025-03-01T00:00:00Z"), ts("2025-03-31T23:00:00Z")));
    assert_eq!(intervals(b), 2972);

    // October 2025: starts at midnight BST (23:00Z on 30 September), ends at midnight GMT:
    // 31 × 24 + 1 = 745 hours, 2 980 intervals.
    let b = BillingPeriod::calendar_month(2025, 10).unwrap().utc_bounds(&london()).unwrap();
    assert_eq!(b, (ts("2025-09-30T23:00:00Z"), ts("2025-11-01T00:00:00Z")));
    assert_eq!(intervals(b), 2980);

    // June 2025: all BST, 30 × 96 intervals.
    let b = BillingPeriod::calendar_month(2025, 6).unwrap().utc_bounds(&london()).unwrap();
    assert_eq!(b, (ts("2025-05-31T23:00:00Z"), ts("2025-06-30T23:00:00Z")));
    assert_eq!(intervals(b), 2880);

    // February of a leap year.
    let feb = BillingPeriod::calendar_month(2024, 2).unwrap();
    assert_eq!(feb.last_day, date("2024-02-29"));
    assert_eq!(feb.day_count(), 29);
}

#[test]
fn one_day_bounds_on_dst_days() {
    let spring = one_day("2025-03-30").utc_bounds(&london()).unwrap();
    assert_eq!(spring, (ts("2025-03-30T00:00:00Z"), ts("2025-03-30T23:00:00Z")));
    assert_eq!(intervals(spring), 92);
    let fall = one_day("2025-10-26").utc_bounds(&london()).unwrap();
    assert_eq!(fall, (ts("2025-10-25T23:00:00Z"), ts("2025-10-27T00:00:00Z")));
    assert_eq!(intervals(fall), 100);
}

#[test]
fn monthly_cycle_clamps_to_short_months_and_returns() {
    let periods = BillingPeriod::monthly(date("2025-01-31"), 4).unwrap();
    let days: Vec<_> = periods.iter().map(|p| (p.first_day, p.last_day)).collect();
    assert_eq!(
        days,
        [
            (date("2025-01-31"), date("2025-02-27")),
            (date("2025-02-28"), date("2025-03-30")),
            (date("2025-03-31"), date("2025-04-29")),
            (date("2025-04-30"), date("2025-05-30")),
        ]
    );
    let cycle = BillingPeriod::monthly(date("2025-11-15"), 2).unwrap();
    assert_eq!(cycle[0], BillingPeriod::new(date("2025-11-15"), date("2025-12-14")).unwrap());
    assert_eq!(cycle[1], BillingPeriod::new(date("2025-12-15"), date("2026-01-14")).unwrap());
    assert_eq!(cycle[1].day_count(), 31);
    assert!(BillingPeriod::monthly(date("2025-11-15"), 0).unwrap().is_empty());
}

#[test]
fn backwards_periods_are_refused() {
    assert!(matches!(
        BillingPeriod::new(date("2025-03-02"), date("2025-03-01")),
        Err(BillingError::InvalidPeriod { .. })
    ));
    let backwards = BillingPeriod { first_day: date("2025-03-02"), last_day: date("2025-03-01") };
    assert!(matches!(backwards.utc_bounds(&london()), Err(BillingError::InvalidPeriod { .. })));
    assert!(BillingPeriod::calendar_month(2025, 13).is_err());
    assert_eq!(one_day("2025-03-02").day_count(), 1);
}

#[test]
fn serde_uses_local_dates() {
    let p = BillingPeriod::calendar_month(2025, 3).unwrap();
    let v = serde_json::to_value(p).unwrap();
    assert_eq!(v, serde_json::json!({ "first_day": "2025-03-01", "last_day": "2025-03-31" }));
}
