//! End to end over real TCP: load limiting and a demand-response event written by the HES
//! into the Limiter (class 71); the meter's demand follows its load model, so a threshold
//! below it trips the relay.

mod command_support;

use std::time::Duration;

use command_support::*;
use hes::commands::{CommandRequest, CommandState, DemandResponseEvent, LoadLimit, LoadLimitReport};
use jiff::{SignedDuration, Timestamp};
use meter::objects::disconnect_control::ControlState;
use meter::{ControlMode, MeterConfig};

fn evening_meter_config(mode: ControlMode) -> MeterConfig {
    MeterConfig { max_clock_drift_ms: 0, control_mode: mode, ..MeterConfig::default() }
}

/// Waits (up to 20 s) until the meter's relay, brought up to now, is in `state`.
async fn wait_for(m: &RunningMeter, state: ControlState) -> bool {
    // Failure guard: 60 s.
    for _ in 0..600 {
        {
            let mut meter = m.lock();
            meter.settle(Timestamp::now());
            if meter.disconnect_control().state == state {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_threshold_below_the_demand_trips_the_relay() {
    let m = RunningMeter::start("GE30000001", 31, evening_meter_config(ControlMode::Mode4)).await;
    // Monday 4 November 2024, 18:00 GMT: the household's evening demand.
    m.set_clock("2024-11-04T18:00:00Z".parse().unwrap());
    let demand_w = m.lock().instantaneous(Timestamp::now()).active_power_import_w;
    assert!(demand_w > 100, "evening demand {demand_w} W");
    let limit = LoadLimit {
        threshold_normal_w: Some(demand_w / 2),
        min_over_threshold_s: Some(1),
        min_under_threshold_s: Some(1),
        ..LoadLimit::default()
    };
    let service = service();
    let r = service.execute(&m.endpoint(), "dr", &CommandRequest::LoadLimit(limit)).await.unwrap();
    assert_eq!(r.state, CommandState::Confirmed, "{r:?}");
    let report: LoadLimitReport = serde_json::from_value(r.result.clone()).unwrap();
    assert_eq!((report.threshold_normal_w, report.threshold_active_w), (demand_w / 2, demand_w / 2));
    assert!(wait_for(&m, ControlState::ReadyForReconnection).await, "the limiter opened the relay");
    let meter = m.lock();
    let trip = meter.limiter().events()[0];
    assert!(trip.over && trip.changed);
    assert_eq!(meter.instantaneous(Timestamp::now()).active_power_import_w, 0, "no demand with the relay open");
}

#[tokio::test]
async fn a_demand_response_event_trips_only_in_its_window() {
    let m = RunningMeter::start("GE30000002", 32, evening_meter_config(ControlMode::Mode6)).await;
    m.set_clock("2024-11-04T18:00:00Z".parse().unwrap());
    // Whole seconds: a COSEM date-time carries hundredths of a second. 10 s ahead: the
    // command's session must be over before the event starts, even on a loaded machine.
    let start =
        (m.lock().meter_time(Timestamp::now()) + SignedDuration::from_secs(10)).round(jiff::Unit::Second).unwrap();
    let limit = LoadLimit {
        threshold_normal_w: Some(1_000_000),
        threshold_emergency_w: Some(1),
        min_over_threshold_s: Some(1),
        min_under_threshold_s: Some(3_600),
        event: Some(DemandResponseEvent { id: 42, start, duration_s: 600 }),
    };
    let service = service();
    let r = service.execute(&m.endpoint(), "dr", &CommandRequest::LoadLimit(limit)).await.unwrap();
    assert_eq!(r.state, CommandState::Confirmed, "{r:?}");
    assert_eq!(r.result["emergency_active"], false, "the event has not started yet");
    assert_eq!(r.result["threshold_active_w"], 1_000_000);
    assert!(wait_for(&m, ControlState::ReadyForReconnection).await, "tripped during the event");
    let meter = m.lock();
    let trip = meter.limiter().events()[0];
    // Over the emergency threshold from the event's start, for min_over = 1 s.
    assert_eq!(trip.at_ms, start.as_millisecond() + 1000);
    assert!(meter.limiter().emergency_active_at(trip.at_ms));
}
