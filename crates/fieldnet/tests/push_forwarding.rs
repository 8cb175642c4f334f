//! Meter pushes through the DCU: a simulated meter's Push setup points at its DCU's push
//! intake; the DCU carries the push over the modelled uplink and forwards it (in-process
//! bus, TCP to the HES push listener, MQTT to Mosquitto); the HES side decodes it with
//! its own push decoder.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dlms::obis::codes;
use dlms::security::{AesKey, GlobalKeys, MemoryCounterStore, SecuritySettings, SystemTitle, shared_store};
use dlms::xdlms::CosemAttributeDescriptor;
use fieldnet::push::channel::channel_bus;
use fieldnet::push::deliver_to_hes;
use fieldnet::push::tcp::TcpForwarder;
use fieldnet::{DcuSpec, Effect, Field, FieldSpec, Framing, LinkModel, MeterAttachment, MeterTarget};
use hes::PushMessage;
use hes::push_listener::{MeterIdentity, PushContent, PushListener, PushListenerConfig, PushSecurity};
use jiff::Timestamp;
use meter::push::{PushDelivery, PushSetup, push_data_notification, push_event_notification};
use meter::{MeterConfig, SimulatedMeter};
use model::MeterId;
use tokio::sync::mpsc;

const METER_TITLE: SystemTitle = SystemTitle(*b"GRD00042");
const HES_TITLE: SystemTitle = SystemTitle(*b"GRDHES01");
const OUTPUT_STATE: CosemAttributeDescriptor = CosemAttributeDescriptor::new(70, codes::DISCONNECT_CONTROL, 2);

fn keys() -> GlobalKeys {
    GlobalKeys::new(AesKey::new([0x11; 16]), AesKey::new([0x22; 16]))
}

/// A field of one RF-mesh DCU forwarding pushes to `forwarder`, with meter GE00000042
/// (system title GRD00042) registered.
async fn field(forwarder: Arc<dyn fieldnet::push::PushForwarder>) -> Field {
    let attachment = MeterAttachment {
        serial: "GE00000042".into(),
        system_title: Some(METER_TITLE),
        framing: Framing::Wrapper,
        target: MeterTarget::Tcp("127.0.0.1:9".parse().unwrap()),
    };
    let dcu = DcuSpec::new("DCU-0007", LinkModel::rf_mesh(2).with_hop_loss(0.0)).with_meter(attachment);
    Field::start(FieldSpec { time_scale: 0.01, dcus: vec![dcu], push: Some(forwarder), ..FieldSpec::new(3) })
        .await
        .unwrap()
}

/// The meter, pushing to its DCU's intake.
fn pushing_meter(field: &Field) -> Mutex<SimulatedMeter> {
    let intake = field.dcus()[0].push_intake.expect("the DCU has a push intake").to_string();
    let config = MeterConfig { push: Some(PushSetup::new(&intake)), ..MeterConfig::default() };
    Mutex::new(SimulatedMeter::new("GE00000042", 42, config).unwrap())
}

async fn next(rx: &mut mpsc::Receiver<PushMessage>) -> PushMessage {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("a push in time").expect("channel open")
}

fn hes_config() -> PushListenerConfig {
    let hes_side = SecuritySettings::new(keys(), HES_TITLE).with_counter_store(shared_store(MemoryCounterStore::new()));
    PushListenerConfig::default()
        .with_meter(METER_TITLE, PushSecurity { serial: MeterId::from("GE00000042"), settings: hes_side })
}

#[tokio::test]
async fn the_dcu_forwards_plain_and_ciphered_pushes_over_its_uplink() {
    let (forwarder, subscriber) = channel_bus(16);
    let field = field(Arc::new(forwarder)).await;
    let meter = pushing_meter(&field);
    let (tx, mut rx) = mpsc::channel(16);
    let hes = tokio::spawn(deliver_to_hes(subscriber, hes_config(), tx));
    let now = Timestamp::now();

    push_data_notification(&meter, now, &PushDelivery::default()).await.unwrap();
    let msg = next(&mut rx).await;
    assert!(!msg.ciphered);
    assert_eq!(msg.serial(), Some(&MeterId::from("GE00000042")), "named by its logical device name");
    assert_eq!(msg.source.peer, field.dcus()[0].push_intake.unwrap(), "received through the DCU");
    let PushContent::Data { values, .. } = &msg.content else { panic!("{:?}", msg.content) };
    assert_eq!(values.len(), 5);

    let ciphered =
        PushDelivery { security: Some(SecuritySettings::new(keys(), METER_TITLE)), ..PushDelivery::default() };
    push_event_notification(&meter, now, OUTPUT_STATE, &ciphered).await.unwrap();
    let msg = next(&mut rx).await;
    assert!(msg.ciphered);
    assert_eq!(
        msg.meter,
        MeterIdentity::SystemTitle { system_title: METER_TITLE, serial: MeterId::from("GE00000042") }
    );
    assert_eq!(msg.content, PushContent::Event { attribute: OUTPUT_STATE, value: dlms::data::Data::Boolean(true) });

    let stats = field.stats().total;
    assert_eq!(stats.pushes_forwarded, 2);
    assert_eq!(field.meter_stats("GE00000042").unwrap().pushes_forwarded, 1, "the ciphered push was attributed");
    assert!(!stats.modelled_delay.is_zero(), "the pushes crossed the mesh");

    // A dead DCU loses the pushes sent to it.
    let outage = field.apply(Effect::DcuOutage("DCU-0007".into()));
    push_data_notification(&meter, now, &PushDelivery::default()).await.unwrap();
    let lost = async {
        while field.stats().total.pushes_lost == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), lost).await.expect("the push is counted as lost");
    field.clear(outage);
    push_data_notification(&meter, now, &PushDelivery::default()).await.unwrap();
    let msg = next(&mut rx).await;
    let PushContent::Data { long_invoke_id, .. } = msg.content else { panic!() };
    assert_eq!(long_invoke_id, 2, "push 1 was lost with the DCU, push 2 arrives");
    drop(field);
    hes.abort();
}

#[tokio::test]
async fn the_dcu_forwards_to_the_hes_push_listener_over_tcp() {
    let listener = PushListener::bind("127.0.0.1:0", hes_config()).await.unwrap();
    let address = listener.local_addr().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let task = tokio::spawn(listener.run(tx));
    let field = field(Arc::new(TcpForwarder::new(address))).await;
    let meter = pushing_meter(&field);
    let ciphered =
        PushDelivery { security: Some(SecuritySettings::new(keys(), METER_TITLE)), ..PushDelivery::default() };
    push_data_notification(&meter, Timestamp::now(), &ciphered).await.unwrap();
    let msg = next(&mut rx).await;
    assert!(msg.ciphered);
    assert_eq!(msg.serial(), Some(&MeterId::from("GE00000042")));
    assert_ne!(msg.source.peer, field.dcus()[0].push_intake.unwrap(), "a new TCP connection from the DCU");
    task.abort();
}

#[cfg(feature = "mqtt")]
#[tokio::test]
async fn the_dcu_publishes_pushes_to_mosquitto_and_the_hes_subscribes() {
    use fieldnet::push::mqtt::{MqttConfig, MqttForwarder, MqttSubscriber};

    if tokio::net::TcpStream::connect("127.0.0.1:1883").await.is_err() {
        eprintln!("SKIPPED: no MQTT broker at 127.0.0.1:1883 (start mosquitto to run this test)");
        return;
    }
    // A prefix of our own, so parallel runs and other clients do not interfere.
    let prefix = format!("gridedge-test/{}/{}", std::process::id(), Timestamp::now().as_nanosecond());
    let config = |id: &str| MqttConfig { topic_prefix: prefix.clone(), ..MqttConfig::new("127.0.0.1", 1883, id) };
    let subscriber = MqttSubscriber::connect(&config(&format!("hes-{}", std::process::id()))).await.unwrap();
    let forwarder = MqttForwarder::connect(&config(&format!("dcu-{}", std::process::id()))).await.unwrap();
    let field = field(Arc::new(forwarder)).await;
    let meter = pushing_meter(&field);
    let (tx, mut rx) = mpsc::channel(16);
    let hes = tokio::spawn(deliver_to_hes(subscriber, hes_config(), tx));

    let ciphered =
        PushDelivery { security: Some(SecuritySettings::new(keys(), METER_TITLE)), ..PushDelivery::default() };
    push_data_notification(&meter, Timestamp::now(), &ciphered).await.unwrap();
    push_event_notification(&meter, Timestamp::now(), OUTPUT_STATE, &PushDelivery::default()).await.unwrap();
    // Two pushes on two connections may cross on the mesh: sort them by ciphering.
    let (a, b) = (next(&mut rx).await, next(&mut rx).await);
    let (first, second) = if a.ciphered { (a, b) } else { (b, a) };
    assert!(first.ciphered);
    assert_eq!(first.serial(), Some(&MeterId::from("GE00000042")));
    let PushContent::Data { values, .. } = &first.content else { panic!("{:?}", first.content) };
    assert_eq!(values.len(), 5);
    assert!(!second.ciphered);
    assert_eq!(second.content, PushContent::Event { attribute: OUTPUT_STATE, value: dlms::data::Data::Boolean(true) });
    assert_eq!(field.stats().total.pushes_forwarded, 2);
    hes.abort();
}
