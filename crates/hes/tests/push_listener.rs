//! A simulated meter with a Push setup (class 40, 0.0.25.9.0.255) pushes to the HES push
//! listener over loopback TCP, in process: data-notifications with and without
//! date-time, an event-notification after a relay operation, the push asked for by the
//! Push setup's method 1, ciphered pushes (identified by system title, replays refused),
//! retries, the communication window; and the pure decoder against the Landis+Gyr GBT
//! push of the shared captures.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dlms::Obis;
use dlms::data::Data;
use dlms::datetime::CosemDateTime;
use dlms::hdlc::FrameReader;
use dlms::obis::codes;
use dlms::security::{AesKey, GlobalKeys, SecurityError, SecuritySettings, SystemTitle, shared_store};
use dlms::xdlms::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor};
use hes::push_listener::{
    MeterIdentity, PushContent, PushDecodeError, PushDecoder, PushListener, PushListenerConfig, PushMessage,
    PushSecurity, PushSource,
};
use jiff::Timestamp;
use meter::push::sender::{PushDelivery, PushError, prepare_data_notification};
use meter::push::setup::{CommunicationWindow, PUSH_SETUP};
use meter::push::{PushSetup, push_data_notification, push_event_notification, push_requested};
use meter::{MeterConfig, SimulatedMeter};
use model::MeterId;
use tokio::sync::mpsc;

const NOW: &str = "2024-06-12T10:15:30Z";
const METER_TITLE: SystemTitle = SystemTitle(*b"GRD00042");
const HES_TITLE: SystemTitle = SystemTitle(*b"GRDHES01");
const OUTPUT_STATE: CosemAttributeDescriptor = CosemAttributeDescriptor::new(70, codes::DISCONNECT_CONTROL, 2);

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn keys() -> GlobalKeys {
    GlobalKeys::new(AesKey::new([0x11; 16]), AesKey::new([0x22; 16]))
}

fn pushing_meter(serial: &str, destination: &str) -> SimulatedMeter {
    let config = MeterConfig { push: Some(PushSetup::new(destination)), ..MeterConfig::default() };
    SimulatedMeter::new(serial, 42, config).unwrap()
}

/// A listener on a free loopback port and the channel it feeds.
async fn listener(config: PushListenerConfig) -> (String, mpsc::Receiver<PushMessage>, tokio::task::JoinHandle<()>) {
    let l = PushListener::bind("127.0.0.1:0", config).await.unwrap();
    let address = l.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel(16);
    let task = tokio::spawn(l.run(tx));
    (address, rx, task)
}

async fn next(rx: &mut mpsc::Receiver<PushMessage>) -> PushMessage {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("a push in time").expect("channel open")
}

fn cosem_time(m: &SimulatedMeter) -> CosemDateTime {
    m.config().time_zone.to_cosem(m.meter_time(now()))
}

#[tokio::test]
async fn data_notifications_with_and_without_date_time_reach_the_listener() {
    let (address, mut rx, _task) = listener(PushListenerConfig::default()).await;
    let meter = Mutex::new(pushing_meter("GE00000042", &address));
    // What the meter holds at NOW, read through its own GET.
    let (clock, import, export, meter_time) = {
        let mut m = meter.lock().unwrap();
        let get = |m: &mut SimulatedMeter, class, ln, a| {
            m.get(now(), &CosemAttributeDescriptor::new(class, ln, a), None).unwrap()
        };
        let clock = get(&mut m, 8, codes::CLOCK, 2);
        let import = get(&mut m, 3, codes::ACTIVE_ENERGY_IMPORT, 2);
        let export = get(&mut m, 3, codes::ACTIVE_ENERGY_EXPORT, 2);
        (clock, import, export, cosem_time(&m))
    };

    let with = PushDelivery { with_date_time: true, ..PushDelivery::default() };
    let report = push_data_notification(&meter, now(), &with).await.unwrap();
    assert_eq!(report.attempts, 1);
    let msg = next(&mut rx).await;
    assert_eq!(msg.source.source_wport, 1);
    assert!(!msg.ciphered);
    assert_eq!(
        msg.meter,
        MeterIdentity::LogicalDeviceName { name: "GRDGE00000042".into(), serial: MeterId::from("GE00000042") }
    );
    assert_eq!(msg.serial(), Some(&MeterId::from("GE00000042")));
    assert_eq!(msg.date_time, Some(meter_time));
    // The meter's UTC time, to the centisecond the date-time carries.
    let meter_utc = meter.lock().unwrap().meter_time(now());
    assert_eq!(msg.time.map(|t| t.as_millisecond() / 10), Some(meter_utc.as_millisecond() / 10));
    let PushContent::Data { long_invoke_id, push_setup, values } = &msg.content else { panic!("{:?}", msg.content) };
    assert_eq!((*long_invoke_id, *push_setup), (0, Some(PUSH_SETUP)));
    assert_eq!(
        values,
        &vec![
            Data::OctetString(vec![0, 0, 25, 9, 0, 255]),
            Data::OctetString(b"GRDGE00000042".to_vec()),
            clock,
            import.clone(),
            export.clone()
        ]
    );
    let Data::DoubleLongUnsigned(wh) = import else { panic!("{import:?}") };
    assert!(wh > 0, "the household has used energy since commissioning");

    let without = PushDelivery { with_date_time: false, ..PushDelivery::default() };
    push_data_notification(&meter, now(), &without).await.unwrap();
    let msg = next(&mut rx).await;
    assert_eq!((msg.date_time, msg.time), (None, None));
    let PushContent::Data { long_invoke_id, values, .. } = &msg.content else { panic!() };
    assert_eq!(*long_invoke_id, 1, "the push number counts up");
    assert_eq!(values[3], import);
}

#[tokio::test]
async fn an_event_notification_follows_a_remote_disconnect() {
    let (address, mut rx, _task) = listener(PushListenerConfig::default()).await;
    let meter = Mutex::new(pushing_meter("GE00000007", &address));
    let disconnect = CosemMethodDescriptor::new(70, codes::DISCONNECT_CONTROL, 1);
    assert_eq!(meter.lock().unwrap().action(now(), &disconnect, Some(&Data::Integer(0))), Ok(None));
    push_event_notification(&meter, now(), OUTPUT_STATE, &PushDelivery::default()).await.unwrap();
    let msg = next(&mut rx).await;
    assert_eq!(msg.content, PushContent::Event { attribute: OUTPUT_STATE, value: Data::Boolean(false) });
    assert_eq!(msg.date_time, Some(cosem_time(&meter.lock().unwrap())));
    assert_eq!(msg.meter, MeterIdentity::Unidentified, "an unciphered event names no meter");
    // An attribute that cannot be read is not pushed.
    let missing = CosemAttributeDescriptor::new(1, Obis::new(0, 0, 96, 99, 0, 255), 2);
    assert!(matches!(
        push_event_notification(&meter, now(), missing, &PushDelivery::default()).await,
        Err(PushError::Unreadable(_))
    ));
}

#[tokio::test]
async fn method_1_push_triggers_a_data_notification() {
    let (address, mut rx, _task) = listener(PushListenerConfig::default()).await;
    let meter = Mutex::new(pushing_meter("GE00000001", &address));
    let push = CosemMethodDescriptor::new(40, PUSH_SETUP, 1);
    {
        let mut m = meter.lock().unwrap();
        assert_eq!(m.action(now(), &push, Some(&Data::Integer(0))), Ok(None));
        assert_eq!(m.action(now(), &push, Some(&Data::Integer(3))), Err(ActionResult::TypeUnmatched));
        // The destination is a writable attribute: write it back unchanged through SET.
        let destination = m.get(now(), &CosemAttributeDescriptor::new(40, PUSH_SETUP, 3), None).unwrap();
        let set = m.set(now(), &CosemAttributeDescriptor::new(40, PUSH_SETUP, 3), None, &destination);
        assert_eq!(set, dlms::xdlms::DataAccessResult::Success);
    }
    let reports = push_requested(&meter, now(), &PushDelivery::default()).await;
    assert_eq!(reports.len(), 1);
    assert!(reports[0].is_ok());
    let msg = next(&mut rx).await;
    assert_eq!(msg.serial(), Some(&MeterId::from("GE00000001")));
    assert!(push_requested(&meter, now(), &PushDelivery::default()).await.is_empty(), "one push per request");
    // A meter without a Push setup has no such object and cannot push.
    let mut plain = SimulatedMeter::new("GE00000002", 1, MeterConfig::default()).unwrap();
    assert_eq!(plain.action(now(), &push, None), Err(ActionResult::ObjectUndefined));
    assert!(matches!(
        prepare_data_notification(&mut plain, now(), &PushDelivery::default()),
        Err(PushError::NoPushSetup)
    ));
}

#[tokio::test]
async fn ciphered_pushes_are_identified_by_system_title_and_replays_refused() {
    let hes_counters = shared_store(dlms::security::MemoryCounterStore::new());
    let hes_side = SecuritySettings::new(keys(), HES_TITLE).with_counter_store(hes_counters);
    let config = PushListenerConfig { require_ciphering: true, ..PushListenerConfig::default() }
        .with_meter(METER_TITLE, PushSecurity { serial: MeterId::from("GE00000042"), settings: hes_side });
    let (address, mut rx, _task) = listener(config.clone()).await;
    let meter = Mutex::new(pushing_meter("GE00000042", &address));
    let delivery =
        PushDelivery { security: Some(SecuritySettings::new(keys(), METER_TITLE)), ..PushDelivery::default() };
    let report = push_data_notification(&meter, now(), &delivery).await.unwrap();
    assert_eq!(report.apdu[0], dlms::security::ciphered_apdu::tag::GENERAL_GLO_CIPHERING);
    let msg = next(&mut rx).await;
    assert!(msg.ciphered);
    assert_eq!(
        msg.meter,
        MeterIdentity::SystemTitle { system_title: METER_TITLE, serial: MeterId::from("GE00000042") }
    );
    let PushContent::Data { values, .. } = &msg.content else { panic!() };
    assert_eq!(values.len(), 5);
    // An unciphered push is dropped (ciphering required); the ciphered one after it arrives.
    push_data_notification(&meter, now(), &PushDelivery::default()).await.unwrap();
    push_event_notification(&meter, now(), OUTPUT_STATE, &delivery).await.unwrap();
    let msg = next(&mut rx).await;
    assert!(msg.ciphered && matches!(msg.content, PushContent::Event { .. }));

    // The pure decoder: the same ciphered APDU twice is a replay; unknown titles and
    // wrong keys are refused.
    let source = PushSource { peer: "127.0.0.1:1".parse().unwrap(), source_wport: 1 };
    let fresh_hes = SecuritySettings::new(keys(), HES_TITLE);
    let config = Arc::new(
        PushListenerConfig::default()
            .with_meter(METER_TITLE, PushSecurity { serial: MeterId::from("GE00000042"), settings: fresh_hes }),
    );
    let prepared = prepare_data_notification(&mut meter.lock().unwrap(), now(), &delivery).unwrap();
    let mut decoder = PushDecoder::new(config);
    assert!(decoder.decode(&prepared.apdu, source).unwrap().is_some());
    assert!(matches!(
        decoder.decode(&prepared.apdu, source),
        Err(PushDecodeError::Security(SecurityError::Replay { .. }))
    ));
    let mut stranger = PushDecoder::new(Arc::new(PushListenerConfig::default()));
    assert_eq!(stranger.decode(&prepared.apdu, source), Err(PushDecodeError::UnknownSystemTitle(METER_TITLE)));
    let wrong_keys = GlobalKeys::new(AesKey::new([0x33; 16]), AesKey::new([0x22; 16]));
    let mut wrong = PushDecoder::new(Arc::new(PushListenerConfig::default().with_meter(
        METER_TITLE,
        PushSecurity { serial: MeterId::from("x"), settings: SecuritySettings::new(wrong_keys, HES_TITLE) },
    )));
    assert!(matches!(wrong.decode(&prepared.apdu, source), Err(PushDecodeError::Security(_))));
}

#[tokio::test]
async fn retries_then_reports_an_unreachable_destination() {
    // A port that refuses connections: bind, note the address, close.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let meter = Mutex::new(pushing_meter("GE00000003", &closed));
    {
        let mut m = meter.lock().unwrap();
        let p = m.push_setup_mut().unwrap();
        p.number_of_retries = 2;
        p.repetition_delay_s = 0;
    }
    match push_data_notification(&meter, now(), &PushDelivery::default()).await {
        Err(PushError::Send { attempts, .. }) => assert_eq!(attempts, 3),
        other => panic!("{other:?}"),
    }
    // Destinations that are not host:port, and transports other than TCP and UDP.
    for (bad, want) in [(b"no-port".to_vec(), "destination"), (b"host:99999".to_vec(), "destination")] {
        let mut m = meter.lock().unwrap();
        m.push_setup_mut().unwrap().send_destination_and_method.destination = bad;
        let e = prepare_data_notification(&mut m, now(), &PushDelivery::default()).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    let mut m = meter.lock().unwrap();
    m.push_setup_mut().unwrap().send_destination_and_method.transport_service = 2;
    assert!(matches!(
        prepare_data_notification(&mut m, now(), &PushDelivery::default()),
        Err(PushError::UnsupportedTransport(2))
    ));
}

#[tokio::test]
async fn pushes_wait_for_the_communication_window() {
    let mut m = pushing_meter("GE00000004", "127.0.0.1:1");
    let local = cosem_time(&m);
    let at = |hour: u8| {
        let mut t = local;
        t.time.hour = hour;
        t.time.minute = 0;
        t.time.second = 0;
        t.time.hundredths = 0;
        t
    };
    // NOW is 11:15 BST at the meter: a window 13:00-14:00 excludes it, 11:00-12:00 includes it.
    assert_eq!(local.time.hour, 11);
    m.push_setup_mut().unwrap().communication_window = vec![CommunicationWindow { start: at(13), end: at(14) }];
    assert!(matches!(
        prepare_data_notification(&mut m, now(), &PushDelivery::default()),
        Err(PushError::OutsideCommunicationWindow)
    ));
    m.push_setup_mut().unwrap().communication_window = vec![CommunicationWindow { start: at(11), end: at(12) }];
    assert!(prepare_data_notification(&mut m, now(), &PushDelivery::default()).is_ok());
}

/// The Landis+Gyr push of `amsreader/landis-gyr/gh740.hex` arrives in three
/// General-Block-Transfer blocks; the decoder yields one data-notification after the
/// third, and refuses blocks out of order.
#[test]
fn gbt_pushes_are_reassembled() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/han/amsreader/landis-gyr/gh740.hex");
    let text = std::fs::read_to_string(path).unwrap();
    let bytes = hex::decode(text.chars().filter(|c| !c.is_whitespace()).collect::<String>()).unwrap();
    let mut reader = FrameReader::new();
    reader.push(&bytes);
    let mut apdus = Vec::new();
    while let Some(frame) = reader.next_frame() {
        let info = frame.unwrap().information;
        apdus.push(info.strip_prefix(&[0xE6, 0xE7, 0x00][..]).unwrap_or(info.as_slice()).to_vec());
    }
    assert_eq!(apdus.len(), 3);
    let source = PushSource { peer: "192.0.2.1:4059".parse().unwrap(), source_wport: 1 };
    let mut decoder = PushDecoder::new(Arc::new(PushListenerConfig::default()));
    assert_eq!(decoder.decode(&apdus[0], source), Ok(None));
    assert_eq!(decoder.decode(&apdus[1], source), Ok(None));
    let msg = decoder.decode(&apdus[2], source).unwrap().expect("the whole push");
    let PushContent::Data { long_invoke_id, values, .. } = &msg.content else { panic!() };
    // 0F 0021A433 0C 07E8 02 1D 04 16 30 32 FF 8000 00: 2024-02-29 22:48:50, deviation
    // not specified, so not a UTC instant.
    assert_eq!(*long_invoke_id, 0x0021_A433);
    let dt = msg.date_time.expect("date-time");
    assert_eq!(
        (dt.date.year, dt.date.month, dt.date.day_of_month, dt.time.hour, dt.time.minute),
        (2024, 2, 29, 22, 48)
    );
    assert_eq!(msg.time, None);
    // Element 1 is the push object list itself (14 capture definitions, the first one the
    // Push setup 0.8.25.9.0.255 attribute 2), then the 13 values it names.
    assert_eq!(values.len(), 14);
    let Data::Array(list) = &values[0] else { panic!("{:?}", values[0]) };
    assert_eq!(list.len(), 14);
    assert_eq!(
        list[0],
        Data::Structure(vec![
            Data::LongUnsigned(40),
            Data::OctetString(vec![0, 8, 25, 9, 0, 255]),
            Data::Integer(2),
            Data::LongUnsigned(0)
        ])
    );
    assert_eq!(msg.meter, MeterIdentity::Unidentified);
    // Block 2 first: out of order.
    let mut decoder = PushDecoder::new(Arc::new(PushListenerConfig::default()));
    assert_eq!(decoder.decode(&apdus[1], source), Err(PushDecodeError::BlockOutOfOrder { expected: 1, got: 2 }));
    // Not a push at all.
    let get = [0xC0, 0x01, 0xC1, 0x00, 0x01, 0x00, 0x00, 0x2B, 0x01, 0x00, 0xFF, 0x02, 0x00];
    assert_eq!(decoder.decode(&get, source), Err(PushDecodeError::NotAPush("get-request")));
    assert!(matches!(decoder.decode(&[0x0F, 0x00], source), Err(PushDecodeError::Decode(_))));
}
