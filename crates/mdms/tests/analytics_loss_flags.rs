//! Non-technical-loss rules: a theft scenario (a customer bypasses part of its load, the
//! transformer's loss rises, both are flagged, the tamper event is tied to the drop), a
//! healthy transformer with a customer away on holiday (nothing flagged), a negative
//! balance with a day of poor coverage, and the rules' parameters.

mod analytics_support;

use analytics_support::*;
use jiff::Timestamp;
use mdms::analytics::{
    AnalyticsError, BalanceInput, EnergyBalance, LossRules, MeterEnergySeries, TamperEvent, TransformerFlag,
    analyze_losses, consumption_drop_suspects, energy_balance, tamper_consumption_drops, tamper_events_from,
    transformer_flags,
};
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};

/// 28 days of June 2025 in London (BST, 96 intervals a day), starting at the local
/// midnight of 1 June (23:00 UTC on 31 May).
const DAYS: usize = 28;
const PER_DAY: usize = 96;

fn june_start() -> Timestamp {
    ts("2025-05-31T23:00:00Z")
}

/// A meter whose interval amounts are `wh_on(day)` every interval of each day.
fn daily_series(id: &str, wh_on: impl Fn(usize) -> f64) -> MeterEnergySeries {
    let amounts: Vec<f64> = (0..DAYS * PER_DAY).map(|k| wh_on(k / PER_DAY)).collect();
    MeterEnergySeries {
        meter: MeterId::from(id),
        import: cumulative(june_start(), 900, 50_000.0, &amounts),
        export: vec![],
    }
}

fn balance_of(check: &MeterEnergySeries, customers: &[MeterEnergySeries]) -> EnergyBalance {
    let london = tz("Europe/London");
    energy_balance(&BalanceInput {
        transformer: "TX-7",
        check,
        customers,
        period: period("2025-06-01", "2025-06-28"),
        time_zone: &london,
        interval_length_s: 900,
    })
    .unwrap()
}

/// The theft scenario. True loads per interval: A 100 Wh, B 150 Wh, C 250 Wh; the LV
/// network loses 15 Wh per interval, so the check meter reads 515 Wh (2.9126 % loss).
/// From 15 June (day index 14) C bypasses 150 Wh of its 250 Wh: its meter reads 100 Wh,
/// the check meter still 515 Wh, and the loss becomes 165 Wh (32.0388 %).
fn theft() -> (MeterEnergySeries, Vec<MeterEnergySeries>) {
    let check = daily_series("CHK-7", |_| 515.0);
    let a = daily_series("A", |_| 100.0);
    let b = daily_series("B", |_| 150.0);
    let c = daily_series("C", |day| if day < 14 { 250.0 } else { 100.0 });
    (check, vec![a, b, c])
}

#[test]
fn a_bypass_raises_the_transformer_loss_and_is_flagged() {
    let (check, customers) = theft();
    let balance = balance_of(&check, &customers);
    let before = 15.0 / 515.0 * 100.0;
    let after = 165.0 / 515.0 * 100.0;
    // Day amounts by hand: check 96 × 0.515 = 49.44 kWh; loss 96 × 0.015 = 1.44 kWh before,
    // 96 × 0.165 = 15.84 kWh after.
    assert_close(balance.days[13].amounts.check_kwh, 49.44);
    assert_close(balance.days[13].amounts.loss_kwh, 1.44);
    assert_some_close(balance.days[13].amounts.loss_percent, before);
    assert_close(balance.days[14].amounts.loss_kwh, 15.84);
    assert_some_close(balance.days[14].amounts.loss_percent, after);

    let rules = LossRules::default();
    let flags = transformer_flags(&balance, &rules).unwrap();
    assert_eq!(flags.len(), 2, "{flags:#?}");
    match &flags[0] {
        TransformerFlag::SustainedLoss {
            first_day,
            last_day,
            days,
            mean_loss_percent,
            max_loss_percent,
            allowance_percent,
            excess_kwh,
        } => {
            assert_eq!((*first_day, *last_day, *days), (date("2025-06-15"), date("2025-06-28"), 14));
            assert_close(*mean_loss_percent, after);
            assert_close(*max_loss_percent, after);
            assert_eq!(*allowance_percent, 5.0);
            // 14 days × (15.84 − 5 % of 49.44) = 14 × 13.368.
            assert!((excess_kwh - 187.152).abs() < 1e-6, "{excess_kwh}");
        }
        other => panic!("expected a sustained loss first, got {other:?}"),
    }
    match &flags[1] {
        TransformerFlag::LossStepChange { day, before_percent, after_percent, change_points } => {
            assert_eq!(*day, date("2025-06-15"));
            assert_close(*before_percent, before);
            assert_close(*after_percent, after);
            assert_close(*change_points, 150.0 / 515.0 * 100.0);
        }
        other => panic!("expected a step change, got {other:?}"),
    }

    let c = MeterId::from("C");
    let a = MeterId::from("A");
    let tamper = vec![
        TamperEvent::new(c.clone(), ts("2025-06-14T10:00:00Z"), "3.12.29.39"),
        TamperEvent::new(c.clone(), ts("2025-06-14T12:00:00Z"), "3.12.66.257"),
        TamperEvent::new(a.clone(), ts("2025-06-20T09:00:00Z"), "3.12.29.39"),
        TamperEvent::new(c.clone(), ts("2025-07-10T09:00:00Z"), "3.12.29.39"), // after the period
        TamperEvent::new(MeterId::from("X"), ts("2025-06-10T09:00:00Z"), "3.12.29.39"), // not on TX-7
    ];
    let suspects = consumption_drop_suspects(&balance, &tamper, &rules).unwrap();
    assert_eq!(suspects.len(), 1, "only C: {suspects:#?}");
    let s = &suspects[0];
    assert_eq!(s.meter, c);
    assert_eq!(s.change_day, date("2025-06-15"));
    // 250 Wh × 96 = 24 kWh a day before, 100 Wh × 96 = 9.6 kWh after.
    assert_close(s.baseline_kwh_per_day, 24.0);
    assert_close(s.recent_kwh_per_day, 9.6);
    assert_close(s.drop_kwh_per_day, 14.4);
    assert_close(s.drop_percent, 60.0);
    assert_close(s.loss_before_percent, before);
    assert_close(s.loss_after_percent, after);
    assert_close(s.loss_rise_kwh_per_day, 14.4);
    // The whole new loss is C's missing consumption.
    assert_some_close(s.explained_percent, 100.0);
    let kinds: Vec<&str> = s.tamper_events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["3.12.29.39", "3.12.66.257"]);

    let correlations = tamper_consumption_drops(&balance, &tamper, &rules).unwrap();
    assert_eq!(correlations.len(), 2, "{correlations:#?}");
    let on_c = &correlations[0];
    assert_eq!((on_c.event.meter.clone(), on_c.day, on_c.events_that_day), (c, date("2025-06-14"), 2));
    // The 7 days before 14 June against the 7 days after it (the event's day left out).
    assert_some_close(on_c.before_kwh_per_day, 24.0);
    assert_some_close(on_c.after_kwh_per_day, 9.6);
    assert_some_close(on_c.drop_percent, 60.0);
    assert!(on_c.consumption_dropped);
    let on_a = &correlations[1];
    assert_eq!(on_a.event.meter, a);
    assert_some_close(on_a.drop_percent, 0.0);
    assert!(!on_a.consumption_dropped);

    let analysis = analyze_losses(balance, &tamper, &rules).unwrap();
    assert_eq!(analysis.transformer_flags, flags);
    assert_eq!(analysis.suspects, suspects);
    let json = serde_json::to_value(&analysis).unwrap();
    assert_eq!(json["transformer_flags"][0]["rule"], "sustained_loss");
    assert_eq!(json["transformer_flags"][1]["rule"], "loss_step_change");
    assert_eq!(json["suspects"][0]["meter"], "C");
}

#[test]
fn tamper_events_come_from_end_device_events() {
    let at = ts("2025-06-14T10:00:00Z");
    let events = [
        EndDeviceEvent::new(MeterId::from("C"), EndDeviceEventType::COVER_OPENED, at, at, "push"),
        EndDeviceEvent::new(MeterId::from("C"), EndDeviceEventType::POWER_DOWN, at, at, "push"),
        EndDeviceEvent::new(MeterId::from("C"), EndDeviceEventType::COVER_CLOSED, at, at, "push"),
        EndDeviceEvent::new(MeterId::from("D"), EndDeviceEventType::MAGNETIC_TAMPER, at, at, "profile"),
    ];
    let tamper = tamper_events_from(&events);
    let got: Vec<(String, String)> = tamper.iter().map(|t| (t.meter.0.clone(), t.kind.clone())).collect();
    assert_eq!(got, [("C".to_string(), "3.12.29.39".to_string()), ("D".to_string(), "3.12.66.257".to_string())]);
    assert!(tamper.iter().all(|t| t.at == at));
}

#[test]
fn a_customer_away_on_holiday_is_not_a_suspect() {
    // B is away from 11 to 17 June: its true load is zero, so the check meter drops by the
    // same 150 Wh and only the constant 15 Wh of technical loss remains: 15/365 = 4.11 %,
    // under the 5 % allowance and 1.2 points above the usual 2.91 %.
    let away = |day: usize| (10..17).contains(&day);
    let check = daily_series("CHK-7", |d| if away(d) { 365.0 } else { 515.0 });
    let customers = vec![
        daily_series("A", |_| 100.0),
        daily_series("B", |d| if away(d) { 0.0 } else { 150.0 }),
        daily_series("C", |_| 250.0),
    ];
    let balance = balance_of(&check, &customers);
    assert_some_close(balance.days[12].amounts.loss_percent, 15.0 / 365.0 * 100.0);
    let rules = LossRules::default();
    assert_eq!(transformer_flags(&balance, &rules).unwrap(), []);
    assert_eq!(consumption_drop_suspects(&balance, &[], &rules).unwrap(), []);

    // A stricter rule set (loss rise of one point is enough) does name B.
    let strict = LossRules { loss_rise_points: 1.0, ..rules };
    let suspects = consumption_drop_suspects(&balance, &[], &strict).unwrap();
    assert_eq!(suspects.len(), 1);
    assert_eq!(suspects[0].meter, MeterId::from("B"));
    assert_eq!(suspects[0].change_day, date("2025-06-11"));
    assert_close(suspects[0].drop_percent, 100.0);
}

#[test]
fn negative_balance_runs_skip_days_with_poor_coverage() {
    // The customers are credited 520 Wh per interval, the check meter delivered 500: −4 %.
    let check = daily_series("CHK-7", |_| 500.0);
    let mut a = daily_series("A", |_| 260.0);
    let b = daily_series("B", |_| 260.0);
    // A lost 20 values on 5 June (day index 4): coverage 75/96, the day is not judged.
    let day4 = june_start().as_second() + 4 * 86_400;
    for k in 1..=20 {
        remove_at(&mut a.import, Timestamp::from_second(day4 + k * 900).unwrap());
    }
    let balance = balance_of(&check, &[a, b]);
    assert_eq!(balance.days[4].amounts.counted_intervals, 96 - 21);
    let flags = transformer_flags(&balance, &LossRules::default()).unwrap();
    assert_eq!(flags.len(), 1, "{flags:#?}");
    match &flags[0] {
        TransformerFlag::NegativeBalance { first_day, last_day, days, mean_loss_percent } => {
            assert_eq!((*first_day, *last_day, *days), (date("2025-06-01"), date("2025-06-28"), 27));
            assert_close(*mean_loss_percent, -4.0);
        }
        other => panic!("expected a negative balance, got {other:?}"),
    }
    // With every day required to be judged at 50 % coverage, day 4 joins the run.
    let lenient = LossRules { min_day_coverage: 0.5, ..LossRules::default() };
    match &transformer_flags(&balance, &lenient).unwrap()[0] {
        TransformerFlag::NegativeBalance { days, .. } => assert_eq!(*days, 28),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_short_excess_is_not_sustained() {
    // Loss above the allowance on two days only (sustained_days is 3).
    let check = daily_series("CHK-7", |d| if d == 3 || d == 4 { 600.0 } else { 515.0 });
    let customers = vec![daily_series("A", |_| 500.0)];
    let balance = balance_of(&check, &customers);
    let flags = transformer_flags(&balance, &LossRules::default()).unwrap();
    assert!(flags.iter().all(|f| !matches!(f, TransformerFlag::SustainedLoss { .. })), "{flags:#?}");
    let two_days = LossRules { sustained_days: 2, ..LossRules::default() };
    let flags = transformer_flags(&balance, &two_days).unwrap();
    assert!(flags.iter().any(|f| matches!(f, TransformerFlag::SustainedLoss { days: 2, .. })), "{flags:#?}");
}

#[test]
fn rules_load_from_partial_json_and_are_checked() {
    let rules: LossRules = serde_json::from_str(r#"{"technical_loss_percent": 4.0, "sustained_days": 5}"#).unwrap();
    assert_eq!(rules.technical_loss_percent, 4.0);
    assert_eq!(rules.sustained_days, 5);
    assert_eq!(rules.window_days, LossRules::default().window_days);
    assert!(serde_json::from_str::<LossRules>(r#"{"allowance": 4.0}"#).is_err(), "unknown fields are refused");

    let (check, customers) = theft();
    let balance = balance_of(&check, &customers);
    for bad in [
        LossRules { technical_loss_percent: f64::NAN, ..LossRules::default() },
        LossRules { min_day_coverage: 1.5, ..LossRules::default() },
        LossRules { window_days: 0, ..LossRules::default() },
        LossRules { consumption_drop_percent: -1.0, ..LossRules::default() },
    ] {
        assert!(matches!(transformer_flags(&balance, &bad), Err(AnalyticsError::InvalidInput(_))), "{bad:?}");
        assert!(matches!(consumption_drop_suspects(&balance, &[], &bad), Err(AnalyticsError::InvalidInput(_))));
    }
}
