//! End to end over real TCP: the HES's tracked commands against a simulated meter —
//! remote disconnect/reconnect change the relay (read back control_state; mode 1 needs the
//! customer), time synchronisation brings a drifted clock within ±1 s, the public client is
//! refused, and the command store keeps states and the audit log across reopening.

mod command_support;

use command_support::*;
use hes::commands::{
    CommandFilter, CommandKind, CommandRequest, CommandService, CommandState, CommandStore, ControlState,
    TimeSyncParams,
};
use jiff::{SignedDuration, Timestamp};
use meter::objects::disconnect_control::ControlState as MeterState;
use meter::{ControlMode, MeterConfig};

#[tokio::test]
async fn disconnect_and_reconnect_change_the_relay() {
    let m = RunningMeter::start("GE10000001", 11, MeterConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("commands.db");
    let service = CommandService::new(CommandStore::open(&db).unwrap(), timeouts());

    let off = service.execute(&m.endpoint(), "alice", &CommandRequest::Disconnect).await.unwrap();
    assert_eq!(off.state, CommandState::Confirmed, "{off:?}");
    assert_eq!(off.result["control_state"], "disconnected");
    assert_eq!(off.result["output_state"], false);
    assert_eq!(m.lock().disconnect_control().state, MeterState::Disconnected);
    // The supply is really off: the import register stands still.
    let now = Timestamp::now();
    let frozen = m.lock().registers(now).active_import_wh;
    assert_eq!(m.lock().registers(now + SignedDuration::from_hours(3)).active_import_wh, frozen);

    let on = service.execute(&m.endpoint(), "bob", &CommandRequest::Reconnect).await.unwrap();
    assert_eq!(on.state, CommandState::Confirmed, "{on:?}");
    assert_eq!(on.result["control_state"], "connected");
    assert_eq!(m.lock().disconnect_control().state, MeterState::Connected);

    // Who, when, what, outcome — persisted: reopen the database.
    drop(service);
    let store = CommandStore::open(&db).unwrap();
    let all = store.list(&CommandFilter::default()).unwrap();
    assert_eq!(
        all.iter().map(|c| (c.kind, c.user.as_str())).collect::<Vec<_>>(),
        [(CommandKind::Reconnect, "bob"), (CommandKind::Disconnect, "alice")]
    );
    let audit = store.audit(off.id).unwrap();
    assert_eq!(audit.iter().map(|a| a.event.as_str()).collect::<Vec<_>>(), ["queued", "sent", "confirmed"]);
    assert!(audit.iter().all(|a| a.user == "alice" && a.meter == "GE10000001" && a.kind == CommandKind::Disconnect));
    assert!(audit.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(audit[2].detail["control_state"], "disconnected");
}

#[tokio::test]
async fn mode_1_reconnection_waits_for_the_customer() {
    let config = MeterConfig { control_mode: ControlMode::Mode1, ..MeterConfig::default() };
    let m = RunningMeter::start("GE10000002", 12, config).await;
    let service = service();
    service.execute(&m.endpoint(), "ops", &CommandRequest::Disconnect).await.unwrap();
    let on = service.execute(&m.endpoint(), "ops", &CommandRequest::Reconnect).await.unwrap();
    assert_eq!(on.state, CommandState::Confirmed);
    let report: hes::commands::RelayReport = serde_json::from_value(on.result.clone()).unwrap();
    assert_eq!(report.control_state, ControlState::ReadyForReconnection);
    assert!(report.manual_reconnect_required && !report.output_state);
    assert_eq!(m.lock().disconnect_control().state, MeterState::ReadyForReconnection);
    assert!(m.lock().manual_reconnect(Timestamp::now()), "the customer's button closes it");
}

#[tokio::test]
async fn the_public_client_cannot_command() {
    let m = RunningMeter::start("GE10000003", 13, MeterConfig::default()).await;
    let mut endpoint = m.endpoint();
    endpoint.client_sap = 16;
    endpoint.authentication = dlms::association::Authentication::None;
    let service = service();
    let r = service.execute(&endpoint, "mallory", &CommandRequest::Disconnect).await.unwrap();
    let CommandState::Failed(reason) = &r.state else { panic!("{r:?}") };
    assert!(reason.contains("ReadWriteDenied"), "{reason}");
    assert_eq!(m.lock().disconnect_control().state, MeterState::Connected);
    // An unreachable meter: failed without ever being sent.
    let mut gone = m.endpoint();
    gone.address = "127.0.0.1:1".parse().unwrap();
    let r = service.execute(&gone, "ops", &CommandRequest::Disconnect).await.unwrap();
    assert!(matches!(r.state, CommandState::Failed(_)));
    let events: Vec<String> = service.store().audit(r.id).unwrap().into_iter().map(|a| a.event).collect();
    assert_eq!(events, ["queued", "failed"]);
}

#[tokio::test]
async fn time_sync_brings_a_drifted_clock_within_one_second() {
    // Drift uniform in ±120 s, and a crystal 200 ppm off after each setting.
    let config = MeterConfig { max_clock_drift_ms: 120_000, max_clock_rate_ppm: 200, ..MeterConfig::default() };
    let m = RunningMeter::start("GE10000004", 9, config).await;
    let drift_ms = m.lock().clock().offset_at(Timestamp::now());
    assert!(drift_ms.abs() > 5_000, "seed 9 drifts by {drift_ms} ms");
    let service = service();
    let r = service.execute(&m.endpoint(), "ops", &CommandRequest::TimeSync(TimeSyncParams::default())).await.unwrap();
    assert_eq!(r.state, CommandState::Confirmed, "{r:?}");
    let report: hes::commands::TimeSyncReport = serde_json::from_value(r.result.clone()).unwrap();
    assert!(report.set);
    // Within half a round trip (a loaded machine may take a second or more).
    assert!((report.drift_before_s * 1000.0 - drift_ms as f64).abs() < 2_000.0, "measured {report:?} vs {drift_ms} ms");
    let after = m.lock().clock().offset_at(Timestamp::now());
    assert!(after.abs() <= 1_000, "meter clock off by {after} ms after synchronisation");
    assert!(report.drift_after_s.abs() <= 1.0);
    // Within the threshold now: a second synchronisation leaves the clock alone.
    let again =
        service.execute(&m.endpoint(), "ops", &CommandRequest::TimeSync(TimeSyncParams::default())).await.unwrap();
    assert_eq!(again.state, CommandState::Confirmed);
    assert_eq!(again.result["set"], false);
    // The meter recorded the adjustment (its load-profile interval gets "clock adjusted").
    let meter_now = m.lock().meter_time(Timestamp::now()).as_millisecond();
    assert!(m.lock().clock().adjusted_within(meter_now - 60_000, meter_now));
}

#[tokio::test]
async fn a_queued_command_is_carried_out_once() {
    let m = RunningMeter::start("GE10000005", 15, MeterConfig::default()).await;
    let service = service();
    let id = service.enqueue("GE10000005", "api", &CommandRequest::Disconnect).unwrap();
    assert_eq!(service.store().get(id).unwrap().unwrap().state, CommandState::Queued);
    assert_eq!(m.lock().disconnect_control().state, MeterState::Connected, "nothing sent while queued");
    // The request must be the queued one.
    assert!(service.carry_out(id, &m.endpoint(), &CommandRequest::Reconnect).await.is_err());
    let done = service.carry_out(id, &m.endpoint(), &CommandRequest::Disconnect).await.unwrap();
    assert_eq!(done.state, CommandState::Confirmed);
    assert_eq!(m.lock().disconnect_control().state, MeterState::Disconnected);
    // A finished command is not carried out again.
    assert!(service.carry_out(id, &m.endpoint(), &CommandRequest::Disconnect).await.is_err());
}
