//! The analytics read from a SQLite store: validation findings keep bad values out of the
//! energy balance (and an edit brings the interval back), the theft scenario with a tamper
//! status on an interval, and a water DMA's night flow and non-revenue water.

mod analytics_support;

use std::collections::BTreeMap;

use analytics_support::*;
use jiff::Timestamp;
use mdms::analytics::{
    BalanceInput, DmaRequest, INTERVAL_STATUS_TAMPER, LossRules, MeterEnergySeries, NightFlowSettings, TransformerFlag,
    TransformerRequest, WaterBalanceSettings, dma_night_flow, dma_water_balance, energy_balance, tamper_events_from,
    transformer_energy_balance, transformer_loss_analysis,
};
use mdms::billing::IntervalValue;
use mdms::vee::{ExceptionFilter, MeterClass, RuleId, VeeConfig};
use mdms::{MeterDataStore, SqliteStore};
use model::{EndDeviceEvent, EndDeviceEventType, MeterId, QualityFlags, ReadingType};

fn ingest(store: &mut SqliteStore, meter: &str, rt: ReadingType, interval_s: u32, values: &[IntervalValue]) {
    store.ingest(&reading(meter, rt, interval_s, values)).unwrap_or_else(|e| panic!("ingest {meter}: {e}"));
}

fn utc_day_request(customers: &[&str]) -> TransformerRequest {
    TransformerRequest {
        transformer: "TX-1".into(),
        check_meter: MeterId::from("CHK"),
        customer_meters: customers.iter().map(|c| MeterId::from(*c)).collect(),
        period: period("2025-06-02", "2025-06-02"),
        time_zone: tz("UTC"),
        interval_length_s: 900,
        include_export: false,
    }
}

#[test]
fn open_findings_keep_values_out_until_an_edit_fixes_them() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let start = ts("2025-06-02T00:00:00Z");
    ingest(&mut store, "CHK", ReadingType::ActiveEnergyImport, 900, &cumulative(start, 900, 1e6, &[1000.0; 96]));
    // A's 10:00 value is a misread (+3600 Wh): the interval ending 10:00 looks like a spike
    // of 4000 Wh and the next one like −3200 Wh.
    let mut a = cumulative(start, 900, 10_000.0, &[400.0; 96]);
    let misread = ts("2025-06-02T10:00:00Z");
    let correct = a.iter().find(|v| v.interval_end == misread).unwrap().value;
    a.iter_mut().find(|v| v.interval_end == misread).unwrap().value = correct + 3600.0;
    ingest(&mut store, "A", ReadingType::ActiveEnergyImport, 900, &a);
    ingest(&mut store, "B", ReadingType::ActiveEnergyImport, 900, &cumulative(start, 900, 20_000.0, &[550.0; 96]));

    let queue =
        store.vee_exceptions(&ExceptionFilter { meter: Some(MeterId::from("A")), ..Default::default() }).unwrap();
    assert!(queue.iter().any(|e| e.rule == RuleId::Spike && e.first_interval_end == misread), "{queue:#?}");
    let after = ts("2025-06-02T10:15:00Z");
    assert!(queue.iter().any(|e| e.rule == RuleId::NegativeConsumption && e.first_interval_end == after), "{queue:#?}");

    // Both suspect values are left out, with the intervals they bound (ending 10:00, 10:15
    // and 10:30).
    let request = utc_day_request(&["A", "B"]);
    let balance = transformer_energy_balance(&store, &request).unwrap();
    assert_eq!(balance.total.counted_intervals, 93);
    let out: Vec<String> =
        balance.intervals.iter().filter(|i| !i.counted).map(|i| i.interval_end.to_string()).collect();
    assert_eq!(out, ["2025-06-02T10:00:00Z", "2025-06-02T10:15:00Z", "2025-06-02T10:30:00Z"]);
    assert_close(balance.total.check_kwh, 93.0);
    assert_close(balance.total.customers_kwh, 93.0 * 0.95);
    assert_some_close(balance.total.loss_percent, 5.0);

    // Without validation (raw latest values) the misread would count, and the interval
    // ending 10:00 would show the customers taking 3600 Wh more than the transformer gave.
    let raw = |m: &str| -> Vec<IntervalValue> {
        store
            .interval_readings(&MeterId::from(m), ReadingType::ActiveEnergyImport, start, ts("2025-06-03T00:00:01Z"))
            .unwrap()
            .iter()
            .map(IntervalValue::from)
            .collect()
    };
    let check = MeterEnergySeries { meter: MeterId::from("CHK"), import: raw("CHK"), export: vec![] };
    let customers = [
        MeterEnergySeries { meter: MeterId::from("A"), import: raw("A"), export: vec![] },
        MeterEnergySeries { meter: MeterId::from("B"), import: raw("B"), export: vec![] },
    ];
    let utc = tz("UTC");
    let unvalidated = energy_balance(&BalanceInput {
        transformer: "TX-1",
        check: &check,
        customers: &customers,
        period: request.period,
        time_zone: &utc,
        interval_length_s: 900,
    })
    .unwrap();
    assert_eq!(unvalidated.total.counted_intervals, 95, "only the negative interval is refused");
    assert_some_close(unvalidated.intervals[39].loss_wh, 1000.0 - 4550.0);

    // An operator corrects the misread: the edit is billable and re-validation closes the
    // findings, so every interval counts again.
    store
        .edit_interval(&MeterId::from("A"), ReadingType::ActiveEnergyImport, misread, correct, "alice", "misread")
        .unwrap();
    let balance = transformer_energy_balance(&store, &request).unwrap();
    assert_eq!(balance.total.counted_intervals, 96);
    assert_close(balance.total.loss_kwh, 96.0 * 0.05);
}

/// 28 days of June 2025 in London; loads as in the pure theft test (A 100, B 150, C 250 Wh
/// per interval, 15 Wh technical loss, C bypasses 150 Wh from 15 June).
#[test]
fn theft_read_from_the_store_is_flagged_with_the_meters_tamper_status() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let start = ts("2025-05-31T23:00:00Z");
    let n = 28 * 96;
    let series =
        |wh: &dyn Fn(usize) -> f64| cumulative(start, 900, 1e5, &(0..n).map(|k| wh(k / 96)).collect::<Vec<_>>());
    ingest(&mut store, "CHK-7", ReadingType::ActiveEnergyImport, 900, &series(&|_| 515.0));
    ingest(&mut store, "A", ReadingType::ActiveEnergyImport, 900, &series(&|_| 100.0));
    ingest(&mut store, "B", ReadingType::ActiveEnergyImport, 900, &series(&|_| 150.0));
    let mut c = series(&|day| if day < 14 { 250.0 } else { 100.0 });
    // The meter's event log marked the interval ending 11:00 BST on 14 June (cover opened).
    let marked = ts("2025-06-14T10:00:00Z");
    set_quality(&mut c, marked, QualityFlags(QualityFlags::TAMPER));
    ingest(&mut store, "C", ReadingType::ActiveEnergyImport, 900, &c);

    let request = TransformerRequest {
        transformer: "TX-7".into(),
        check_meter: MeterId::from("CHK-7"),
        customer_meters: ["A", "B", "C"].into_iter().map(MeterId::from).collect(),
        period: period("2025-06-01", "2025-06-28"),
        time_zone: tz("Europe/London"),
        interval_length_s: 900,
        include_export: false,
    };
    // A cover-opened event delivered by the HES on the same day, and a power-down that is
    // not a tamper event.
    let at = ts("2025-06-14T09:58:00Z");
    let events = tamper_events_from(&[
        EndDeviceEvent::new(MeterId::from("C"), EndDeviceEventType::COVER_OPENED, at, at, "push"),
        EndDeviceEvent::new(MeterId::from("C"), EndDeviceEventType::POWER_DOWN, at, at, "push"),
    ]);
    let analysis = transformer_loss_analysis(&store, &request, &events, &LossRules::default()).unwrap();

    // The marked value is not billable: the two intervals around it do not count.
    let day13 = &analysis.balance.days[13].amounts;
    assert_eq!((day13.expected_intervals, day13.counted_intervals), (96, 94));
    assert_some_close(day13.loss_percent, 15.0 / 515.0 * 100.0);

    let kinds: Vec<&str> = analysis.transformer_flags.iter().map(rule_name).collect();
    assert_eq!(kinds, ["sustained_loss", "loss_step_change"]);
    assert_eq!(analysis.suspects.len(), 1);
    let s = &analysis.suspects[0];
    assert_eq!((s.meter.0.as_str(), s.change_day), ("C", date("2025-06-15")));
    assert_close(s.drop_percent, 60.0);
    assert_some_close(s.explained_percent, 100.0);
    let tamper: Vec<(Timestamp, &str)> = s.tamper_events.iter().map(|e| (e.at, e.kind.as_str())).collect();
    assert_eq!(tamper, [(at, "3.12.29.39"), (marked, INTERVAL_STATUS_TAMPER)]);
    assert_eq!(analysis.tamper.len(), 1, "one correlation per meter and day");
    assert_eq!(analysis.tamper[0].events_that_day, 2);
    assert!(analysis.tamper[0].consumption_dropped);
}

fn rule_name(flag: &TransformerFlag) -> &'static str {
    match flag {
        TransformerFlag::SustainedLoss { .. } => "sustained_loss",
        TransformerFlag::LossStepChange { .. } => "loss_step_change",
        TransformerFlag::NegativeBalance { .. } => "negative_balance",
    }
}

/// Hourly volume profiles of a DMA in London over 10 and 11 June 2025 (BST), validated on
/// ingest by a water meter class.
#[test]
fn water_dma_night_flow_and_non_revenue_water_from_the_store() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let water = MeterClass { interval_length_s: 3600, time_zone: "Europe/London".into(), ..MeterClass::default() };
    let config = VeeConfig {
        classes: BTreeMap::from([("default".to_string(), MeterClass::default()), ("water".to_string(), water)]),
        meters: ["IN-1", "C1", "C2"].iter().map(|m| (m.to_string(), "water".to_string())).collect(),
        ..VeeConfig::default()
    };
    store.set_vee_config(&config).unwrap();
    // Local hour h of day d is the interval ending at start + (24 d + h + 1) h.
    let start = ts("2025-06-09T23:00:00Z");
    let inlet_hour = |d: usize, h: usize| match (d, h) {
        (0, 2) => 6.0,
        (0, 3) => 5.0,
        (1, 2) => 5.5,
        (1, 3) => 7.0,
        _ => 6.0,
    };
    let inlet: Vec<f64> = (0..48).map(|k| inlet_hour(k / 24, k % 24)).collect();
    ingest(&mut store, "IN-1", ReadingType::WaterVolume, 3600, &cumulative(start, 3600, 12_345.0, &inlet));
    ingest(&mut store, "C1", ReadingType::WaterVolume, 3600, &cumulative(start, 3600, 100.0, &[0.2; 48]));
    ingest(&mut store, "C2", ReadingType::WaterVolume, 3600, &cumulative(start, 3600, 200.0, &[0.3; 48]));
    let queue = store.vee_exceptions(&ExceptionFilter::default()).unwrap();
    assert!(queue.is_empty(), "the water class validates the hourly profiles cleanly: {queue:#?}");

    let request = DmaRequest {
        dma: "DMA-North".into(),
        inlet_meters: vec![MeterId::from("IN-1")],
        outlet_meters: vec![],
        customer_meters: vec![MeterId::from("C1"), MeterId::from("C2")],
        period: period("2025-06-10", "2025-06-11"),
        time_zone: tz("Europe/London"),
        interval_length_s: 3600,
    };
    let night = NightFlowSettings::default();
    let report = dma_night_flow(&store, &request, &night).unwrap();
    let [first, second] = report.nights.as_slice() else { panic!("two nights: {report:#?}") };
    // Night 1: the 03:00–04:00 BST hour (02:00–03:00 UTC) has 5.0 m³; customers 0.5 m³/h.
    assert_some_close(first.mnf_m3_per_h, 5.0);
    assert_eq!(first.mnf_start, Some(ts("2025-06-10T02:00:00Z")));
    assert_some_close(first.customer_night_use_m3_per_h, 0.5);
    assert_some_close(first.night_leakage_m3_per_h, 4.5);
    // Night 2: the 02:00–03:00 BST hour has 5.5 m³.
    assert_some_close(second.mnf_m3_per_h, 5.5);
    assert_eq!(second.mnf_start, Some(ts("2025-06-11T01:00:00Z")));
    assert_some_close(second.night_leakage_m3_per_h, 5.0);
    assert_some_close(report.mean_night_leakage_m3_per_h, 4.75);

    let settings = WaterBalanceSettings { night_day_factor_h: Some(22.0), ..WaterBalanceSettings::default() };
    let wb = dma_water_balance(&store, &request, &settings, &night).unwrap();
    // Inlet: 22 × 6 + 6 + 5 = 143 on 10 June, 22 × 6 + 5.5 + 7 = 144.5 on 11 June.
    assert_some_close(wb.system_input_volume_m3, 287.5);
    // Customers: 48 h × (0.2 + 0.3).
    assert_some_close(wb.billed_metered_consumption_m3, 24.0);
    assert_some_close(wb.non_revenue_water_m3, 263.5);
    assert_some_close(wb.non_revenue_water_percent, 263.5 / 287.5 * 100.0);
    // 4.75 m³/h × 22 h/day × 2 days.
    assert_some_close(wb.real_losses_m3, 209.0);
    assert_some_close(wb.apparent_losses_m3, 263.5 - 209.0);

    // A DMA whose meters the store does not know: no data, not an error.
    let unknown = DmaRequest { inlet_meters: vec![MeterId::from("NOPE")], ..request };
    let report = dma_night_flow(&store, &unknown, &night).unwrap();
    assert!(report.nights.iter().all(|n| n.mnf_m3_per_h.is_none()));
    let wb = dma_water_balance(&store, &unknown, &WaterBalanceSettings::default(), &night).unwrap();
    assert_eq!(wb.system_input_volume_m3, None);
    assert_eq!(wb.meters_without_reads, [MeterId::from("NOPE")]);
}
