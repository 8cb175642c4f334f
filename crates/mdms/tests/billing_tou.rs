//! TOU schedules: loading from JSON, day types, seasons, rule matching at local wall time,
//! and the checks that refuse inconsistent schedules.

mod billing_support;

use billing_support::*;
use mdms::billing::{BillingError, DayType, MonthDay, TimeOfDay, TouSchedule};
use serde_json::json;

fn economy() -> TouSchedule {
    schedule(json!({
        "name": "economy",
        "time_zone": "Europe/London",
        "default_period": "off_peak",
        "holidays": ["2025-12-25", "2025-12-26"],
        "seasons": [
            { "name": "winter", "first_day": "10-01", "last_day": "03-31" },
            { "name": "summer", "first_day": "04-01", "last_day": "09-30" }
        ],
        "rules": [
            { "period": "peak", "day_types": ["weekday"], "seasons": ["winter"], "from": "16:00", "to": "19:00" },
            { "period": "shoulder", "day_types": ["weekday", "weekend"], "from": "07:00", "to": "23:00" },
            { "period": "night", "from": "23:00", "to": "07:00" }
        ],
        "demand": { "rolling_window_minutes": 60 }
    }))
}

fn local(s: &str) -> jiff::civil::DateTime {
    s.parse().unwrap_or_else(|e| panic!("bad local time {s:?}: {e}"))
}

#[test]
fn loads_from_json_with_periods_in_rule_order() {
    let s = economy();
    assert_eq!(s.name(), "economy");
    assert_eq!(s.time_zone_name(), "Europe/London");
    assert_eq!(s.periods(), ["peak", "shoulder", "night", "off_peak"]);
    assert_eq!(s.demand().rolling_window_minutes, 60);
}

#[test]
fn demand_window_defaults_to_30_minutes() {
    let s = schedule(json!({ "name": "flat", "time_zone": "UTC", "default_period": "all" }));
    assert_eq!(s.demand().rolling_window_minutes, 30);
    assert_eq!(s.periods(), ["all"]);
    assert_eq!(s.period_at(ts("2025-06-02T12:00:00Z")), "all");
}

#[test]
fn day_types_weekday_weekend_holiday() {
    let s = economy();
    // 2025-12-22 is a Monday, 2025-12-20 a Saturday, 2025-12-21 a Sunday,
    // 2025-12-25 a Thursday listed as a holiday, 2025-12-27 a Saturday.
    assert_eq!(s.day_type(date("2025-12-22")), DayType::Weekday);
    assert_eq!(s.day_type(date("2025-12-19")), DayType::Weekday);
    assert_eq!(s.day_type(date("2025-12-20")), DayType::Weekend);
    assert_eq!(s.day_type(date("2025-12-21")), DayType::Weekend);
    assert_eq!(s.day_type(date("2025-12-25")), DayType::Holiday);
    assert_eq!(s.day_type(date("2025-12-26")), DayType::Holiday);
    assert_eq!(s.day_type(date("2025-12-27")), DayType::Weekend);
}

#[test]
fn rules_match_in_order_with_half_open_ranges() {
    let s = economy();
    // Monday 2025-12-22, winter.
    assert_eq!(s.period_at_local(local("2025-12-22T06:59")), "night");
    assert_eq!(s.period_at_local(local("2025-12-22T07:00")), "shoulder");
    assert_eq!(s.period_at_local(local("2025-12-22T15:59")), "shoulder");
    assert_eq!(s.period_at_local(local("2025-12-22T16:00")), "peak");
    assert_eq!(s.period_at_local(local("2025-12-22T18:59")), "peak");
    assert_eq!(s.period_at_local(local("2025-12-22T19:00")), "shoulder");
    assert_eq!(s.period_at_local(local("2025-12-22T22:59")), "shoulder");
    assert_eq!(s.period_at_local(local("2025-12-22T23:00")), "night");
    assert_eq!(s.period_at_local(local("2025-12-22T00:00")), "night");
    // Saturday: no peak, shoulder in the day.
    assert_eq!(s.period_at_local(local("2025-12-20T17:00")), "shoulder");
    // Holiday: neither peak nor shoulder names holidays; night still applies to every day
    // type, the rest falls to the default.
    assert_eq!(s.period_at_local(local("2025-12-25T17:00")), "off_peak");
    assert_eq!(s.period_at_local(local("2025-12-25T03:00")), "night");
}

#[test]
fn seasons_select_rules_and_wrap_the_year_end() {
    let s = economy();
    // Summer weekday 17:00: the winter-only peak rule does not apply.
    assert_eq!(s.period_at_local(local("2025-06-02T17:00")), "shoulder");
    // Season bounds are inclusive; winter wraps from 10-01 to 03-31.
    assert_eq!(s.period_at_local(local("2025-03-31T17:00")), "peak"); // Monday
    assert_eq!(s.period_at_local(local("2025-04-01T17:00")), "shoulder"); // Tuesday
    assert_eq!(s.period_at_local(local("2025-09-30T17:00")), "shoulder"); // Tuesday
    assert_eq!(s.period_at_local(local("2025-10-01T17:00")), "peak"); // Wednesday
    assert_eq!(s.period_at_local(local("2026-01-15T17:00")), "peak"); // Thursday
}

#[test]
fn instants_are_classified_in_local_wall_time() {
    let s = economy();
    // Winter (GMT = UTC): 16:00Z is 16:00 local.
    assert_eq!(s.period_at(ts("2025-12-22T15:45:00Z")), "shoulder");
    assert_eq!(s.period_at(ts("2025-12-22T16:00:00Z")), "peak");
    // 2025-10-01 is BST (UTC+1): 15:00Z is 16:00 local.
    assert_eq!(s.period_at(ts("2025-10-01T14:45:00Z")), "shoulder");
    assert_eq!(s.period_at(ts("2025-10-01T15:00:00Z")), "peak");
    assert_eq!(s.period_at(ts("2025-10-01T18:00:00Z")), "shoulder");
    // Fall back 2025-10-26 (Sunday): 00:30Z is 01:30 BST, 01:30Z is 01:30 GMT, both night;
    // 06:00Z is 06:00 GMT (night), 07:00Z is 07:00 GMT (shoulder).
    assert_eq!(s.period_at(ts("2025-10-26T00:30:00Z")), "night");
    assert_eq!(s.period_at(ts("2025-10-26T01:30:00Z")), "night");
    assert_eq!(s.period_at(ts("2025-10-26T06:45:00Z")), "night");
    assert_eq!(s.period_at(ts("2025-10-26T07:00:00Z")), "shoulder");
    // Spring forward 2025-03-30 (Sunday): 06:00Z is 07:00 BST.
    assert_eq!(s.period_at(ts("2025-03-30T05:45:00Z")), "night");
    assert_eq!(s.period_at(ts("2025-03-30T06:00:00Z")), "shoulder");
}

#[test]
fn wrapping_rule_uses_the_day_type_of_the_local_date() {
    let s = schedule(json!({
        "name": "weekday nights",
        "time_zone": "UTC",
        "default_period": "day",
        "rules": [{ "period": "night", "day_types": ["weekday"], "from": "23:00", "to": "07:00" }]
    }));
    assert_eq!(s.period_at_local(local("2025-06-06T23:30")), "night"); // Friday
    assert_eq!(s.period_at_local(local("2025-06-07T02:00")), "day"); // Saturday
    assert_eq!(s.period_at_local(local("2025-06-09T02:00")), "night"); // Monday
    assert_eq!(s.period_at_local(local("2025-06-09T07:00")), "day");
}

#[test]
fn end_of_day_and_time_strings() {
    let t: TimeOfDay = "24:00".parse().unwrap();
    assert_eq!(t, TimeOfDay::END_OF_DAY);
    assert_eq!(t.minutes(), 1440);
    assert_eq!("07:05".parse::<TimeOfDay>().unwrap().minutes(), 425);
    assert_eq!(TimeOfDay::new(7, 5).unwrap().to_string(), "07:05");
    for bad in ["24:01", "7:00", "07:60", "0700", "07:00:00", "ab:cd", ""] {
        assert!(bad.parse::<TimeOfDay>().is_err(), "{bad:?} accepted");
    }
    let md: MonthDay = "02-29".parse().unwrap();
    assert_eq!((md.month(), md.day()), (2, 29));
    assert_eq!(md.to_string(), "02-29");
    for bad in ["02-30", "13-01", "00-10", "2-1", "12/25"] {
        assert!(bad.parse::<MonthDay>().is_err(), "{bad:?} accepted");
    }

    let s = schedule(json!({
        "name": "evening", "time_zone": "UTC", "default_period": "off",
        "rules": [{ "period": "evening", "from": "20:00", "to": "24:00" }]
    }));
    assert_eq!(s.period_at_local(local("2025-06-02T19:59")), "off");
    assert_eq!(s.period_at_local(local("2025-06-02T20:00")), "evening");
    assert_eq!(s.period_at_local(local("2025-06-02T23:59")), "evening");
    assert_eq!(s.period_at_local(local("2025-06-03T00:00")), "off");
}

#[test]
fn serializes_back_to_the_same_schedule() {
    let s = economy();
    let text = serde_json::to_string(&s).unwrap();
    let again: TouSchedule = serde_json::from_str(&text).unwrap();
    assert_eq!(again, s);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["rules"][0]["from"], "16:00");
    assert_eq!(value["seasons"][0]["first_day"], "10-01");
    assert_eq!(value["holidays"][0], "2025-12-25");
}

fn load_error(json: serde_json::Value) -> String {
    match serde_json::from_value::<TouSchedule>(json) {
        Ok(s) => panic!("schedule {:?} accepted", s.name()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn inconsistent_schedules_are_refused() {
    let base = || json!({ "name": "x", "time_zone": "UTC", "default_period": "off" });
    let with = |key: &str, value: serde_json::Value| {
        let mut v = base();
        v[key] = value;
        v
    };
    let e = load_error(with("time_zone", json!("Mars/Olympus_Mons")));
    assert!(e.contains("unknown time zone"), "{e}");
    let e =
        load_error(with("rules", json!([{ "period": "p", "seasons": ["winter"], "from": "01:00", "to": "02:00" }])));
    assert!(e.contains("season \"winter\" is not defined"), "{e}");
    let e = load_error(with("rules", json!([{ "period": "p", "from": "01:00", "to": "01:00" }])));
    assert!(e.contains("from and to are both 01:00"), "{e}");
    let e = load_error(with("rules", json!([{ "period": "p", "from": "24:00", "to": "01:00" }])));
    assert!(e.contains("from cannot be 24:00"), "{e}");
    let e = load_error(with("rules", json!([{ "period": "", "from": "01:00", "to": "02:00" }])));
    assert!(e.contains("empty period name"), "{e}");
    let e = load_error(with("rules", json!([{ "period": "p", "from": "1:00", "to": "02:00" }])));
    assert!(e.contains("\"1:00\""), "{e}");
    let e =
        load_error(with("rules", json!([{ "period": "p", "day_types": ["workday"], "from": "01:00", "to": "02:00" }])));
    assert!(e.contains("workday"), "{e}");
    let e = load_error(with("default_period", json!(" ")));
    assert!(e.contains("default_period is empty"), "{e}");
    let e = load_error(with(
        "seasons",
        json!([
            { "name": "a", "first_day": "01-01", "last_day": "06-30" },
            { "name": "a", "first_day": "07-01", "last_day": "12-31" }
        ]),
    ));
    assert!(e.contains("defined twice"), "{e}");
    // A typo in a key is an error, not a silently ignored field.
    let e = load_error(with("holiday", json!(["2025-12-25"])));
    assert!(e.contains("holiday"), "{e}");
    let e = load_error(with("demand", json!({ "rolling_window": 60 })));
    assert!(e.contains("rolling_window"), "{e}");
}

#[test]
fn new_reports_unknown_time_zone_as_typed_error() {
    let spec = economy().spec().clone();
    let mut bad = spec.clone();
    bad.time_zone = "Nowhere/Atlantis".into();
    assert!(
        matches!(TouSchedule::new(bad), Err(BillingError::UnknownTimeZone { ref name, .. }) if name == "Nowhere/Atlantis")
    );
    assert!(TouSchedule::new(spec).is_ok());
}
