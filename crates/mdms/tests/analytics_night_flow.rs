//! Minimum night flow of a DMA (ordinary night, both Europe/Paris DST nights, allowances)
//! and the IWA water balance (non-revenue water), with hand-computed values.

mod analytics_support;

use analytics_support::*;
use jiff::Timestamp;
use mdms::analytics::{
    AnalyticsError, MeterVolumeSeries, NightFlowInput, NightFlowReport, NightFlowSettings, WaterBalanceInput,
    WaterBalanceSettings, minimum_night_flow, water_balance,
};
use mdms::billing::{BillingPeriod, IntervalValue};
use model::{MeterId, QualityFlags};

fn volumes(id: &str, values: Vec<IntervalValue>) -> MeterVolumeSeries {
    MeterVolumeSeries { meter: MeterId::from(id), values }
}

fn run(
    inlets: &[MeterVolumeSeries],
    outlets: &[MeterVolumeSeries],
    customers: &[MeterVolumeSeries],
    nights: BillingPeriod,
    zone: &str,
    settings: &NightFlowSettings,
) -> Result<NightFlowReport, AnalyticsError> {
    let zone = tz(zone);
    minimum_night_flow(&NightFlowInput {
        dma: "DMA-North",
        inlets,
        outlets,
        customers,
        nights,
        time_zone: &zone,
        interval_length_s: 900,
        settings,
    })
}

#[test]
fn ordinary_night_minimum_hour_and_leakage() {
    // London in June is UTC+1: the night 02:00–04:00 is 01:00–03:00 UTC. Inlet volumes per
    // 15 minutes from 00:00 UTC; the 1.0 m³ intervals lie outside the window.
    let start = ts("2025-06-10T00:00:00Z");
    let mut inlet = vec![1.0; 16];
    inlet[4..12].copy_from_slice(&[3.0, 2.8, 2.5, 2.4, 2.5, 2.6, 2.9, 3.1]);
    let inlets = [volumes("IN-1", cumulative(start, 900, 5_000.0, &inlet))];
    let outlets = [volumes("OUT-1", cumulative(start, 900, 800.0, &[0.25; 16]))];
    let mut c3 = cumulative(start, 900, 30.0, &[0.015; 16]);
    remove_at(&mut c3, ts("2025-06-10T02:00:00Z"));
    let customers = [
        volumes("C1", cumulative(start, 900, 10.0, &[0.01; 16])),
        volumes("C2", cumulative(start, 900, 20.0, &[0.02; 16])),
        volumes("C3", c3),
    ];
    let settings = NightFlowSettings {
        unmetered_properties: 10,
        exceptional_night_use_m3_per_h: 0.5,
        ..NightFlowSettings::default()
    };
    let report =
        run(&inlets, &outlets, &customers, period("2025-06-10", "2025-06-11"), "Europe/London", &settings).unwrap();
    assert_eq!(report.nights.len(), 2);
    let n = &report.nights[0];
    assert_eq!(n.night, date("2025-06-10"));
    assert_eq!((n.window_start, n.window_end), (ts("2025-06-10T01:00:00Z"), ts("2025-06-10T03:00:00Z")));
    assert_close(n.window_hours, 2.0);
    assert_eq!((n.intervals_in_window, n.inflow_intervals_usable), (8, 8));
    // Net hourly volumes (inlet − 1.0 m³/h outlet) for the five hours sliding by 15 min:
    // 9.7, 9.2, 9.0, 9.4, 10.1. The minimum is 01:30–02:30 UTC.
    assert_some_close(n.mnf_m3_per_h, 9.0);
    assert_eq!((n.mnf_start, n.mnf_end), (Some(ts("2025-06-10T01:30:00Z")), Some(ts("2025-06-10T02:30:00Z"))));
    // C1 and C2 measured (0.04 + 0.08 m³ in the hour); C3 lacks its 02:00 value.
    assert_eq!((n.customers_measured, n.customers_without_data), (2, 1));
    assert_some_close(n.customer_night_use_m3_per_h, 0.12);
    // (1 + 10 properties) × 1.7 l/h + 0.5 m³/h exceptional use.
    assert_close(n.allowance_m3_per_h, 0.5187);
    assert_some_close(n.legitimate_night_use_m3_per_h, 0.6387);
    assert_some_close(n.night_leakage_m3_per_h, 9.0 - 0.6387);

    // No data for the second night.
    let second = &report.nights[1];
    assert_eq!((second.intervals_in_window, second.inflow_intervals_usable), (8, 0));
    assert_eq!(second.mnf_m3_per_h, None);
    assert_eq!(second.night_leakage_m3_per_h, None);
    assert_eq!(second.customers_without_data, 3);
    assert_some_close(report.mean_night_leakage_m3_per_h, 9.0 - 0.6387);
    assert_eq!(report.nights_with_leakage, 1);
    assert_eq!(report.time_zone, "Europe/London");
}

#[test]
fn spring_forward_night_is_one_hour_long() {
    // Europe/Paris, 30 March 2025: 02:00 CET jumps to 03:00 CEST, so 02:00–04:00 local is
    // 03:00–04:00 CEST = 01:00–02:00 UTC. Lower flows around it must not count.
    let start = ts("2025-03-29T23:00:00Z");
    let mut inlet = vec![0.5; 16];
    inlet[8..12].copy_from_slice(&[1.0, 1.1, 1.2, 1.3]); // ends 01:15..02:00 UTC
    let inlets = [volumes("IN-1", cumulative(start, 900, 100.0, &inlet))];
    let settings = NightFlowSettings::default();
    let report = run(&inlets, &[], &[], period("2025-03-29", "2025-03-30"), "Europe/Paris", &settings).unwrap();
    let ordinary = &report.nights[0];
    assert_eq!((ordinary.window_start, ordinary.window_end), (ts("2025-03-29T01:00:00Z"), ts("2025-03-29T03:00:00Z")));
    assert_close(ordinary.window_hours, 2.0);
    let dst = &report.nights[1];
    assert_eq!(dst.night, date("2025-03-30"));
    assert_eq!((dst.window_start, dst.window_end), (ts("2025-03-30T01:00:00Z"), ts("2025-03-30T02:00:00Z")));
    assert_close(dst.window_hours, 1.0);
    assert_eq!(dst.intervals_in_window, 4);
    assert_some_close(dst.mnf_m3_per_h, 4.6);
    assert_eq!(dst.mnf_start, Some(ts("2025-03-30T01:00:00Z")));
    // No customers: legitimate use is the (zero) allowance.
    assert_some_close(dst.night_leakage_m3_per_h, 4.6);

    // A two-hour average does not fit in a one-hour night.
    let two_hours = NightFlowSettings { averaging_minutes: 120, ..settings };
    let report = run(&inlets, &[], &[], period("2025-03-30", "2025-03-30"), "Europe/Paris", &two_hours).unwrap();
    assert_eq!(report.nights[0].mnf_m3_per_h, None);
}

#[test]
fn fall_back_night_is_three_hours_long_and_keeps_the_repeated_hour() {
    // Europe/Paris, 26 October 2025: 03:00 CEST falls back to 02:00 CET. 02:00–04:00 local
    // runs from 02:00 CEST (00:00 UTC) to 04:00 CET (03:00 UTC). The lowest hour is the
    // first 02:00–03:00 (CEST), 00:00–01:00 UTC.
    let start = ts("2025-10-25T23:00:00Z");
    let mut inlet = vec![0.1; 20];
    inlet[4..16].copy_from_slice(&[0.6, 0.6, 0.6, 0.6, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    let inlets = [volumes("IN-1", cumulative(start, 900, 100.0, &inlet))];
    let report =
        run(&inlets, &[], &[], period("2025-10-26", "2025-10-26"), "Europe/Paris", &NightFlowSettings::default())
            .unwrap();
    let n = &report.nights[0];
    assert_eq!((n.window_start, n.window_end), (ts("2025-10-26T00:00:00Z"), ts("2025-10-26T03:00:00Z")));
    assert_close(n.window_hours, 3.0);
    assert_eq!(n.intervals_in_window, 12);
    assert_some_close(n.mnf_m3_per_h, 2.4);
    assert_eq!((n.mnf_start, n.mnf_end), (Some(ts("2025-10-26T00:00:00Z")), Some(ts("2025-10-26T01:00:00Z"))));
}

#[test]
fn suspect_inlet_values_leave_the_night_without_a_minimum() {
    let start = ts("2025-06-10T00:00:00Z");
    let mut inlet = cumulative(start, 900, 5_000.0, &[2.0; 16]);
    // Every hour of the window contains the interval ending 02:00 or 02:15 UTC.
    set_quality(&mut inlet, ts("2025-06-10T02:00:00Z"), QualityFlags(0).with_suspect_rule(6));
    let inlets = [volumes("IN-1", inlet)];
    let report =
        run(&inlets, &[], &[], period("2025-06-10", "2025-06-10"), "Europe/London", &NightFlowSettings::default())
            .unwrap();
    assert_eq!(report.nights[0].inflow_intervals_usable, 6);
    assert_eq!(report.nights[0].mnf_m3_per_h, None);
}

#[test]
fn night_flow_settings_are_checked() {
    let inlets = [volumes("IN-1", vec![])];
    let nights = period("2025-06-10", "2025-06-10");
    let ok = NightFlowSettings::default();
    assert!(matches!(run(&[], &[], &[], nights, "UTC", &ok), Err(AnalyticsError::InvalidInput(_))));
    let bad = [
        NightFlowSettings { averaging_minutes: 50, ..ok },
        NightFlowSettings { averaging_minutes: 0, ..ok },
        NightFlowSettings { window_from: ok.window_to, window_to: ok.window_from, ..ok },
        NightFlowSettings { allowance_l_per_property_h: -1.0, ..ok },
        NightFlowSettings { exceptional_night_use_m3_per_h: f64::INFINITY, ..ok },
    ];
    for settings in bad {
        let err = run(&inlets, &[], &[], nights, "UTC", &settings).unwrap_err();
        assert!(matches!(err, AnalyticsError::InvalidInput(_)), "{settings:?}: {err}");
    }
    let parsed: NightFlowSettings =
        serde_json::from_str(r#"{"window_from": "01:00", "window_to": "05:00", "unmetered_properties": 4}"#).unwrap();
    assert_eq!(parsed.window_from.to_string(), "01:00");
    assert_eq!(parsed.averaging_minutes, 60);
}

/// Bulk values at the two period bounds.
fn bounds(id: &str, start: Timestamp, end: Timestamp, opening: f64, used: f64) -> MeterVolumeSeries {
    volumes(
        id,
        vec![
            IntervalValue { interval_end: start, value: opening, quality: QualityFlags(0) },
            IntervalValue { interval_end: end, value: opening + used, quality: QualityFlags(0) },
        ],
    )
}

#[test]
fn water_balance_in_iwa_terms() {
    let (start, end) = (ts("2025-06-01T00:00:00Z"), ts("2025-06-03T00:00:00Z"));
    let inlets = [bounds("IN-1", start, end, 1_000.0, 300.0), bounds("IN-2", start, end, 50.0, 100.0)];
    let outlets = [bounds("OUT-1", start, end, 7.0, 50.0)];
    let customers = [
        bounds("C1", start, end, 10.0, 100.0),
        bounds("C2", start, end, 20.0, 80.0),
        bounds("C3", start, end, 30.0, 90.0),
    ];
    let settings =
        WaterBalanceSettings { billed_unmetered_m3: 5.0, unbilled_authorized_m3: 10.0, night_day_factor_h: Some(20.0) };
    let night = NightFlowReport {
        dma: "DMA-North".into(),
        time_zone: "UTC".into(),
        interval_length_s: 900,
        settings: NightFlowSettings::default(),
        nights: vec![],
        mean_night_leakage_m3_per_h: Some(0.5),
        nights_with_leakage: 2,
    };
    let utc = tz("UTC");
    let input = WaterBalanceInput {
        dma: "DMA-North",
        inlets: &inlets,
        outlets: &outlets,
        customers: &customers,
        period: period("2025-06-01", "2025-06-02"),
        time_zone: &utc,
        settings: &settings,
        night_flow: Some(&night),
    };
    let wb = water_balance(&input).unwrap();
    assert_eq!((wb.start, wb.end), (start, end));
    assert_some_close(wb.inlet_volume_m3, 400.0);
    assert_some_close(wb.outlet_volume_m3, 50.0);
    assert_some_close(wb.system_input_volume_m3, 350.0);
    assert_some_close(wb.billed_metered_consumption_m3, 270.0);
    assert_some_close(wb.billed_authorized_consumption_m3, 275.0);
    assert_some_close(wb.authorized_consumption_m3, 285.0);
    assert_some_close(wb.water_losses_m3, 65.0);
    assert_some_close(wb.non_revenue_water_m3, 75.0);
    assert_some_close(wb.non_revenue_water_percent, 75.0 / 350.0 * 100.0);
    // 0.5 m³/h × 20 h/day × 2 days.
    assert_some_close(wb.real_losses_m3, 20.0);
    assert_some_close(wb.apparent_losses_m3, 45.0);
    assert!(wb.meters_without_reads.is_empty());

    // A customer's closing value failed validation: billed consumption is unknown.
    let mut c2 = bounds("C2", start, end, 20.0, 80.0);
    set_quality(&mut c2.values, end, QualityFlags(0).with_suspect_rule(7));
    let customers = [customers[0].clone(), c2, customers[2].clone()];
    let wb = water_balance(&WaterBalanceInput { customers: &customers, night_flow: None, ..input }).unwrap();
    assert_some_close(wb.system_input_volume_m3, 350.0);
    assert_eq!(wb.billed_metered_consumption_m3, None);
    assert_eq!(wb.non_revenue_water_m3, None);
    assert_eq!(wb.real_losses_m3, None);
    assert_eq!(wb.meters_without_reads, [MeterId::from("C2")]);

    let bad = WaterBalanceSettings { billed_unmetered_m3: -1.0, ..settings };
    assert!(matches!(
        water_balance(&WaterBalanceInput { settings: &bad, ..input }),
        Err(AnalyticsError::InvalidInput(_))
    ));
    assert!(matches!(water_balance(&WaterBalanceInput { inlets: &[], ..input }), Err(AnalyticsError::InvalidInput(_))));
}
