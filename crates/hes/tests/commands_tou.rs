//! End to end over real TCP: a TOU change written by the HES into the passive Activity
//! calendar with an activation time; from that time on tariff register T2 (1.0.1.8.2)
//! accumulates what the load model consumes and T1 (1.0.1.8.1) stands still, in hours the
//! standard calendar counts as T1.

mod command_support;

use command_support::*;
use dlms::Data;
use dlms::obis::codes;
use hes::commands::{CommandRequest, CommandState, TouCalendar, TouChange, TouSwitch};
use hes::session::DlmsSession;
use jiff::Timestamp;
use meter::MeterConfig;

const QUARTER_MS: i64 = 900_000;

/// The load model's import over `[from, to)` (interval-aligned; UK meter, model days = UTC
/// days).
fn model_import(m: &RunningMeter, from: Timestamp, to: Timestamp) -> u64 {
    let meter = m.lock();
    let model = meter.metrology().model();
    (from.as_millisecond()..to.as_millisecond())
        .step_by(QUARTER_MS as usize)
        .map(|s| {
            u64::from(
                model.day_intervals(s.div_euclid(86_400_000))[(s.rem_euclid(86_400_000) / QUARTER_MS) as usize]
                    .active_import_wh,
            )
        })
        .sum()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn tariff_register_t2_accumulates_from_the_activation_time() {
    let config = MeterConfig { max_clock_drift_ms: 0, ..MeterConfig::default() };
    let m = RunningMeter::start("GE20000001", 21, config).await;
    // The meter's clock at 10:14:30 on Wednesday 15 January 2025 (GMT): standard T1 hours.
    m.set_clock(ts("2025-01-15T10:14:30Z"));
    let activation = ts("2025-01-15T10:15:00Z");
    let change = TouChange {
        calendar: TouCalendar::every_day("FLAT-T2", vec![TouSwitch { hour: 0, minute: 0, tariff: 2 }]),
        activation,
    };
    let service = service();
    let r = service.execute(&m.endpoint(), "tariffs", &CommandRequest::TouChange(change)).await.unwrap();
    assert_eq!(r.state, CommandState::Confirmed, "{r:?}");
    assert_eq!(r.result["pending_activation"], "2025-01-15T10:15:00Z");
    assert_eq!(r.result["active"], false);

    // Let the meter's time run on to 16:00 (a jump of its clock; its registers follow meter time).
    m.set_clock(ts("2025-01-15T16:00:00Z"));
    let read = |t: &str, ln| u64::from(u32_of(&m.read_at(ts(t), 3, ln)));
    let (t1_a, t2_a) = (
        read("2025-01-15T10:15:00Z", codes::ACTIVE_ENERGY_IMPORT_T1),
        read("2025-01-15T10:15:00Z", codes::ACTIVE_ENERGY_IMPORT_T2),
    );
    let (t1_e, t2_e) = (
        read("2025-01-15T16:00:00Z", codes::ACTIVE_ENERGY_IMPORT_T1),
        read("2025-01-15T16:00:00Z", codes::ACTIVE_ENERGY_IMPORT_T2),
    );
    let consumed = model_import(&m, activation, ts("2025-01-15T16:00:00Z"));
    assert!(consumed > 0);
    assert_eq!(t2_e - t2_a, consumed, "T2 took every Wh the load model consumed since the activation");
    assert_eq!(t1_e, t1_a, "T1 stands still from the activation");
    // Before the activation the standard calendar counted the same hours into T1.
    let t1_before = read("2025-01-15T09:00:00Z", codes::ACTIVE_ENERGY_IMPORT_T1);
    assert_eq!(t1_a - t1_before, model_import(&m, ts("2025-01-15T09:00:00Z"), activation));

    // What the HES reads over TCP agrees: the active calendar is the new one, T1 is frozen,
    // T1 + T2 = total.
    let mut s = DlmsSession::open(&m.endpoint(), timeouts()).await.unwrap();
    let get = |ln| dlms::xdlms::CosemAttributeDescriptor::new(3, ln, 2);
    let t1 = u64::from(u32_of(&s.get(get(codes::ACTIVE_ENERGY_IMPORT_T1), None).await.unwrap()));
    let t2 = u64::from(u32_of(&s.get(get(codes::ACTIVE_ENERGY_IMPORT_T2), None).await.unwrap()));
    let total = u64::from(u32_of(&s.get(get(codes::ACTIVE_ENERGY_IMPORT), None).await.unwrap()));
    let name = s
        .get(dlms::xdlms::CosemAttributeDescriptor::new(20, dlms::Obis::new(0, 0, 13, 0, 0, 255), 2), None)
        .await
        .unwrap();
    s.release().await.unwrap();
    assert_eq!(name, Data::OctetString(b"FLAT-T2".to_vec()));
    assert_eq!(t1, t1_a);
    assert!(t2 >= t2_e);
    assert_eq!(t1 + t2, total);
}

#[tokio::test]
async fn an_invalid_calendar_is_never_sent() {
    let m = RunningMeter::start("GE20000002", 22, MeterConfig::default()).await;
    let mut calendar = TouCalendar::every_day("BAD", vec![TouSwitch { hour: 7, minute: 0, tariff: 3 }]);
    calendar.weeks[0].days[6] = 9;
    let change = TouChange { calendar, activation: Timestamp::now() };
    let service = service();
    let r = service.execute(&m.endpoint(), "tariffs", &CommandRequest::TouChange(change)).await.unwrap();
    let CommandState::Failed(reason) = &r.state else { panic!("{r:?}") };
    assert!(reason.starts_with("invalid command"), "{reason}");
    let events: Vec<String> = service.store().audit(r.id).unwrap().into_iter().map(|a| a.event).collect();
    assert_eq!(events, ["queued", "failed"]);
    assert!(m.lock().activity_calendar().passive().name.is_empty(), "nothing written");
}
