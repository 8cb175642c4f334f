//! Alarm pushes from simulated meters through the HES listeners (TCP and UDP) into
//! EndDeviceEvents on the bus: data-notifications identified by the logical device name,
//! a ciphered event-notification identified by its system title, last gasp and power up,
//! tamper, a malformed datagram that is dropped, and the bus messages' stable ids.

use std::sync::Mutex;
use std::time::Duration;

use bus::{Delivery, InProcessBus, MessageKind, Subscriber};
use dlms::security::{AesKey, GlobalKeys, SecuritySettings, SystemTitle, shared_store};
use hes::push_intake::{IntakeConfig, PushEventMapper, event_id, run_push_intake};
use hes::push_listener::{MeterIdentity, PushListener, PushListenerConfig, PushMessage, PushSecurity, UdpPushListener};
use jiff::{SignedDuration, Timestamp};
use meter::alarm::{AlarmConfig, AlarmNotification, AlarmValue, VOLTAGE_SAG, push_alarm, tamper_cover_opened};
use meter::push::SendDestinationAndMethod;
use meter::push::sender::PushDelivery;
use meter::{MeterConfig, SimulatedMeter};
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

const METER_TITLE: SystemTitle = SystemTitle(*b"GRD00077");
const HES_TITLE: SystemTitle = SystemTitle(*b"GRDHES01");

fn keys() -> GlobalKeys {
    GlobalKeys::new(AesKey::new([0x41; 16]), AesKey::new([0x42; 16]))
}

fn meter(serial: &str, alarm: AlarmConfig) -> Mutex<SimulatedMeter> {
    let config = MeterConfig { max_clock_drift_ms: 0, alarm, ..MeterConfig::default() };
    Mutex::new(SimulatedMeter::new(serial, 5, config).unwrap())
}

async fn next(rx: &mut mpsc::Receiver<PushMessage>) -> PushMessage {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("a push in time").expect("open")
}

#[tokio::test]
async fn alarm_pushes_over_udp_and_tcp_become_events() {
    let t0: Timestamp = "2025-02-03T04:05:06Z".parse().unwrap();
    let hes_side = SecuritySettings::new(keys(), HES_TITLE)
        .with_counter_store(shared_store(dlms::security::MemoryCounterStore::new()));
    let config = PushListenerConfig::default()
        .with_meter(METER_TITLE, PushSecurity { serial: MeterId::from("GE00000077"), settings: hes_side });
    let udp = UdpPushListener::bind("127.0.0.1:0", config.clone()).await.unwrap();
    let tcp = PushListener::bind("127.0.0.1:0", config).await.unwrap();
    let (udp_address, tcp_address) = (udp.local_addr().unwrap().to_string(), tcp.local_addr().unwrap().to_string());
    let (tx, mut rx) = mpsc::channel(16);
    tokio::spawn(udp.run(tx.clone()));
    tokio::spawn(tcp.run(tx));

    // A meter pushing data-notifications over UDP: its last gasp, then power up.
    let a = meter("GE00000001", AlarmConfig::pushing_to(SendDestinationAndMethod::udp(&udp_address)));
    let plain = PushDelivery::default();
    a.lock().unwrap().lose_supply(t0);
    push_alarm(&a, t0, &plain).await.unwrap().expect("last gasp sent");
    let mut mapper = PushEventMapper::default();
    let gasp = next(&mut rx).await;
    assert_eq!(gasp.serial(), Some(&MeterId::from("GE00000001")));
    let received = t0 + SignedDuration::from_secs(1);
    let events = mapper.map(&gasp, received).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].event_type, events[0].occurred_at), (EndDeviceEventType::POWER_DOWN, t0));
    assert_eq!((events[0].alarm_bits, events[0].source.as_str()), (Some(0x20), "push"));
    let t1 = t0 + SignedDuration::from_mins(20);
    a.lock().unwrap().restore_supply(t1);
    push_alarm(&a, t1, &plain).await.unwrap().expect("power up sent");
    let events = mapper.map(&next(&mut rx).await, received).unwrap();
    assert_eq!(
        events.iter().map(|e| (e.event_type, e.occurred_at)).collect::<Vec<_>>(),
        vec![(EndDeviceEventType::POWER_RESTORED, t1)]
    );

    // A datagram that is not a wrapper frame is dropped; the listener goes on.
    let junk = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    junk.send_to(b"not a wrapper frame", &udp_address).await.unwrap();
    a.lock().unwrap().alarms_mut().raise(VOLTAGE_SAG);
    push_alarm(&a, t1, &plain).await.unwrap().unwrap();
    let sag = mapper.map(&next(&mut rx).await, received).unwrap();
    assert_eq!(sag[0].event_type, EndDeviceEventType::VOLTAGE_SAG_STARTED);

    // A meter sending ciphered event-notifications of its alarm descriptor over TCP.
    let mut alarm = AlarmConfig::pushing_to(SendDestinationAndMethod::tcp(&tcp_address));
    alarm.notification = AlarmNotification::EventNotification(AlarmValue::Descriptor);
    let b = meter("GE00000077", alarm);
    let ciphered =
        PushDelivery { security: Some(SecuritySettings::new(keys(), METER_TITLE)), ..PushDelivery::default() };
    b.lock().unwrap().alarms_mut().raise(tamper_cover_opened());
    push_alarm(&b, t1, &ciphered).await.unwrap().unwrap();
    let msg = next(&mut rx).await;
    assert!(msg.ciphered);
    assert!(matches!(msg.meter, MeterIdentity::SystemTitle { system_title: METER_TITLE, .. }));
    let events = mapper.map(&msg, received).unwrap();
    assert_eq!(events.len(), 1, "cover opened replaces the generic fraud attempt");
    assert_eq!((events[0].meter.0.as_str(), events[0].event_type), ("GE00000077", EndDeviceEventType::COVER_OPENED));
    // Unciphered, the event-notification names no meter: refused.
    b.lock().unwrap().alarms_mut().raise(VOLTAGE_SAG);
    push_alarm(&b, t1, &plain).await.unwrap().unwrap();
    assert!(mapper.map(&next(&mut rx).await, received).is_err());
}

#[tokio::test]
async fn the_intake_publishes_each_event_once_with_its_stable_id() {
    let t0: Timestamp = "2025-02-03T04:05:06Z".parse().unwrap();
    let udp = UdpPushListener::bind("127.0.0.1:0", PushListenerConfig::default()).await.unwrap();
    let address = udp.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel(16);
    let listener = tokio::spawn(udp.run(tx));
    let mut bus = InProcessBus::new(64);
    let mut events = bus.subscriber(MessageKind::Events).unwrap();
    let publisher = bus.publisher();
    let intake = tokio::spawn(async move {
        let mut mapper = PushEventMapper::default();
        run_push_intake(rx, &publisher, &mut mapper, IntakeConfig::default()).await
    });

    let m = meter("GE00000005", AlarmConfig::pushing_to(SendDestinationAndMethod::udp(&address)));
    m.lock().unwrap().alarms_mut().raise(tamper_cover_opened() | VOLTAGE_SAG);
    push_alarm(&m, t0, &PushDelivery::default()).await.unwrap().unwrap();
    let mut got: Vec<EndDeviceEvent> = Vec::new();
    let mut ids = Vec::new();
    while got.len() < 2 {
        for d in events.fetch(10, Duration::from_secs(10)).await.unwrap() {
            assert_eq!(d.message().kind, MessageKind::Events);
            assert_eq!(d.message().key, "GE00000005");
            let e: EndDeviceEvent = d.message().decode().unwrap();
            assert_eq!(d.message().id, event_id(&e));
            ids.push(d.message().id.clone());
            got.push(e);
            d.ack().await.unwrap();
        }
    }
    let types: Vec<_> = got.iter().map(|e| e.event_type).collect();
    assert_eq!(types, vec![EndDeviceEventType::VOLTAGE_SAG_STARTED, EndDeviceEventType::COVER_OPENED]);
    let ms = t0.as_millisecond();
    assert_eq!(ids, vec![format!("GE00000005/3.26.79.223/{ms}"), format!("GE00000005/3.12.29.39/{ms}")]);
    listener.abort();
    let stats = intake.await.unwrap();
    assert_eq!((stats.pushes, stats.alarm_pushes, stats.events, stats.publish_failures), (1, 1, 2, 0));
}
