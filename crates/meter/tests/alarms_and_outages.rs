//! Alarm register 1, filter, descriptor and the alarm Push setup through the meter's COSEM
//! dispatch and push builders; grid supply loss: registers stop, profile intervals carry
//! the power-down status bit and no consumption, the DLMS server goes dark; alarm pushes
//! over UDP.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{BUFFER, attr, rows, ts};
use dlms::association::{ClientAssociation, ClientConfig};
use dlms::obis::codes;
use dlms::wrapper::WrapperFrame;
use dlms::xdlms::{CosemAttributeDescriptor, DataAccessResult, XdlmsApdu};
use dlms::{Codec, Data, Obis};
use jiff::{SignedDuration, Timestamp};
use meter::alarm::{
    ALARM_DESCRIPTOR_1, ALARM_FILTER_1, ALARM_PUSH_SETUP, ALARM_REGISTER_1, AlarmBit, AlarmConfig, AlarmNotification,
    AlarmValue, STATUS_POWER_DOWN, VOLTAGE_SAG, prepare_alarm_push, push_alarm, tamper_cover_opened,
};
use meter::push::SendDestinationAndMethod;
use meter::push::sender::{PushDelivery, PushTransport};
use meter::tcp_server::{MeterServerConfig, serve};
use meter::{MeterConfig, SimulatedMeter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const NOW: &str = "2024-06-12T10:07:00Z";

fn alarm_meter(serial: &str, seed: u64, alarm: AlarmConfig) -> SimulatedMeter {
    let config = MeterConfig { max_clock_drift_ms: 0, alarm, ..MeterConfig::default() };
    SimulatedMeter::new(serial, seed, config).unwrap()
}

fn u32_of(m: &mut SimulatedMeter, now: Timestamp, ln: Obis) -> u32 {
    match m.get(now, &attr(1, ln, 2), None) {
        Ok(Data::DoubleLongUnsigned(v)) => v,
        other => panic!("{ln}: {other:?}"),
    }
}

/// The APDU a prepared push carries, decoded.
fn apdu_of(frame: &[u8]) -> XdlmsApdu {
    let (frame, used) = WrapperFrame::parse(frame).unwrap().unwrap();
    assert_eq!((frame.source_wport, frame.destination_wport), (1, 102));
    assert!(used > 8);
    XdlmsApdu::from_bytes(&frame.apdu).unwrap()
}

#[test]
fn alarm_objects_answer_get_and_set_through_the_object_tree() {
    let now = ts(NOW);
    let mut m = alarm_meter("AL0001", 1, AlarmConfig::default());
    let Ok(Data::Array(list)) = m.get(now, &attr(15, codes::ASSOCIATION_LN, 2), None) else { panic!() };
    let listed: Vec<(u16, Vec<u8>)> = list
        .iter()
        .map(|e| match e.as_sequence() {
            Some([Data::LongUnsigned(c), _, Data::OctetString(ln), _]) => (*c, ln.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    for (class, ln) in [(1, [0, 0, 97, 98, 0, 255]), (1, [0, 0, 97, 98, 10, 255]), (1, [0, 0, 97, 98, 20, 255])] {
        assert!(listed.contains(&(class, ln.to_vec())), "{ln:?} listed");
    }
    assert!(listed.contains(&(40, vec![0, 4, 25, 9, 0, 255])));

    assert_eq!(u32_of(&mut m, now, ALARM_REGISTER_1), 0);
    assert_eq!(u32_of(&mut m, now, ALARM_FILTER_1), 0xFFFF, "every assigned alarm enabled");
    m.alarms_mut().raise(tamper_cover_opened() | VOLTAGE_SAG);
    assert_eq!(u32_of(&mut m, now, ALARM_REGISTER_1), 0x6040);
    // A head-end resets alarms by writing: bits written as 0 clear, bits written as 1 stay.
    let register = attr(1, ALARM_REGISTER_1, 2);
    assert_eq!(m.set(now, &register, None, &Data::DoubleLongUnsigned(0x0040)), DataAccessResult::Success);
    assert_eq!(u32_of(&mut m, now, ALARM_REGISTER_1), 0x0040);
    assert_eq!(m.set(now, &register, None, &Data::DoubleLongUnsigned(0)), DataAccessResult::Success);
    assert_eq!(u32_of(&mut m, now, ALARM_REGISTER_1), 0);
    assert_eq!(m.set(now, &register, None, &Data::LongUnsigned(0)), DataAccessResult::TypeUnmatched);
    let descriptor = attr(1, ALARM_DESCRIPTOR_1, 2);
    assert_eq!(m.set(now, &descriptor, None, &Data::DoubleLongUnsigned(0)), DataAccessResult::ReadWriteDenied);
    let filter = attr(1, ALARM_FILTER_1, 2);
    assert_eq!(m.set(now, &filter, None, &Data::DoubleLongUnsigned(0x0024)), DataAccessResult::Success);
    assert_eq!(m.alarms().filter(), 0x0024);
    // The alarm Push setup: the IDIS alarm layout.
    let Ok(Data::Array(objects)) = m.get(now, &attr(40, ALARM_PUSH_SETUP, 2), None) else { panic!() };
    let lns: Vec<Data> = objects.iter().map(|o| o.as_sequence().unwrap()[1].clone()).collect();
    assert_eq!(
        lns,
        [ALARM_PUSH_SETUP, codes::LOGICAL_DEVICE_NAME, ALARM_REGISTER_1, ALARM_DESCRIPTOR_1]
            .map(|ln| Data::OctetString(ln.as_bytes().to_vec()))
    );
}

#[test]
fn the_filter_decides_which_alarms_are_pushed() {
    let now = ts(NOW);
    let mut config = AlarmConfig::pushing_to(SendDestinationAndMethod::tcp("127.0.0.1:4059"));
    config.filter = AlarmBit::PowerDown.mask() | AlarmBit::PowerUp.mask();
    let mut m = alarm_meter("AL0002", 2, config);
    m.alarms_mut().raise(VOLTAGE_SAG);
    assert_eq!(prepare_alarm_push(&mut m, now, &PushDelivery::default()).unwrap(), None, "sag filtered out");
    assert_eq!(m.alarms().register(), VOLTAGE_SAG, "but recorded");
    assert!(m.lose_supply(now));
    let push = prepare_alarm_push(&mut m, now, &PushDelivery::default()).unwrap().expect("last gasp due");
    assert_eq!(push.transport, PushTransport::Tcp);
    assert_eq!(push.destination, "127.0.0.1:4059");
    assert_eq!(m.alarms().descriptor(), AlarmBit::PowerDown.mask());
}

#[test]
fn the_alarm_data_notification_carries_name_register_and_descriptor() {
    let now = ts(NOW);
    let mut m = alarm_meter("AL0003", 3, AlarmConfig::pushing_to(SendDestinationAndMethod::tcp("127.0.0.1:4059")));
    m.alarms_mut().raise(VOLTAGE_SAG);
    prepare_alarm_push(&mut m, now, &PushDelivery::default()).unwrap().unwrap();
    m.alarms_mut().raise(tamper_cover_opened());
    let push = prepare_alarm_push(&mut m, now, &PushDelivery::default()).unwrap().unwrap();
    let XdlmsApdu::DataNotification(n) = apdu_of(&push.frame) else { panic!("data-notification") };
    assert_eq!(n.long_invoke_id_and_priority.invoke_id(), 1, "the second alarm push");
    assert_eq!(n.date_time.unwrap().to_utc().unwrap(), now, "meter time (no drift)");
    assert_eq!(
        n.notification_body,
        Data::Structure(vec![
            Data::OctetString(vec![0, 4, 25, 9, 0, 255]),
            Data::OctetString(b"GRDAL0003".to_vec()),
            Data::DoubleLongUnsigned(0x6040), // the register: sag still latched
            Data::DoubleLongUnsigned(0x6000), // the descriptor: this push's alarms
        ])
    );
}

#[test]
fn the_alarm_event_notification_reports_the_chosen_alarm_value() {
    let now = ts(NOW);
    let mut config = AlarmConfig::pushing_to(SendDestinationAndMethod::udp("127.0.0.1:4059"));
    config.notification = AlarmNotification::EventNotification(AlarmValue::Descriptor);
    let mut m = alarm_meter("AL0004", 4, config);
    m.alarms_mut().raise(AlarmBit::MagneticField.mask() | AlarmBit::FraudAttempt.mask());
    let push = prepare_alarm_push(&mut m, now, &PushDelivery::default()).unwrap().unwrap();
    assert_eq!(push.transport, PushTransport::Udp);
    let XdlmsApdu::EventNotificationRequest(e) = apdu_of(&push.frame) else { panic!("event-notification") };
    assert_eq!(e.attribute_descriptor, CosemAttributeDescriptor::new(1, ALARM_DESCRIPTOR_1, 2));
    assert_eq!(e.attribute_value, Data::DoubleLongUnsigned(0xA000));
    assert_eq!(e.time.unwrap().to_utc().unwrap(), now);
    m.alarms_mut().set_notification(AlarmNotification::EventNotification(AlarmValue::Register));
    m.alarms_mut().raise(VOLTAGE_SAG);
    let push = prepare_alarm_push(&mut m, now, &PushDelivery::default()).unwrap().unwrap();
    let XdlmsApdu::EventNotificationRequest(e) = apdu_of(&push.frame) else { panic!("event-notification") };
    assert_eq!(e.attribute_descriptor.instance_id, ALARM_REGISTER_1);
    assert_eq!(e.attribute_value, Data::DoubleLongUnsigned(0xA040));
    // Without a destination the push cannot be built and the alarms stay pending.
    let mut m = alarm_meter("AL0005", 5, AlarmConfig::default());
    m.alarms_mut().raise(VOLTAGE_SAG);
    assert!(prepare_alarm_push(&mut m, now, &PushDelivery::default()).is_err());
    assert_eq!(m.alarms().pending(), VOLTAGE_SAG);
}

#[test]
fn an_outage_stops_the_registers_and_marks_the_profile() {
    let down = ts("2024-06-12T10:07:00Z");
    let up = ts("2024-06-12T12:07:00Z");
    let read_at = ts("2024-06-12T14:00:00Z");
    let mut reference = alarm_meter("REF001", 42, AlarmConfig::default());
    let mut m = alarm_meter("OUT001", 42, AlarmConfig::default());
    assert!(m.lose_supply(down));
    assert!(!m.lose_supply(down + SignedDuration::from_mins(1)), "already dark");
    assert!(!m.is_energised());
    let during = down + SignedDuration::from_mins(90);
    assert_eq!(m.registers(during), m.registers(down), "registers stand still");
    assert!(reference.registers(during).active_import_wh > reference.registers(down).active_import_wh);
    assert_eq!(m.instantaneous(during).voltage_dv, 0);
    let status = m.get(during, &attr(1, codes::LOAD_PROFILE_STATUS, 2), None).unwrap();
    assert_eq!(status, Data::Unsigned(STATUS_POWER_DOWN | 0x08), "power down, summer time");
    assert!(m.restore_supply(up));
    assert!(!m.restore_supply(up), "supply was back already");
    assert_eq!(m.alarms().register(), AlarmBit::PowerDown.mask() | AlarmBit::PowerUp.mask());

    let buffer = |meter: &mut SimulatedMeter| rows(&meter.get(read_at, &BUFFER, None).unwrap());
    let (with_outage, without) = (buffer(&mut m), buffer(&mut reference));
    assert_eq!(with_outage.len(), without.len());
    let (first, last) = (ts("2024-06-12T10:15:00Z"), ts("2024-06-12T12:15:00Z"));
    let zone = m.config().time_zone;
    let mut touched = 0;
    for i in 1..with_outage.len() {
        let end = zone.from_cosem(&with_outage[i].time).unwrap();
        let delta = |r: &[common::Row]| r[i].import_wh.wrapping_sub(r[i - 1].import_wh);
        let in_outage = end >= first && end <= last;
        assert_eq!(with_outage[i].status & STATUS_POWER_DOWN != 0, in_outage, "interval ending {end}");
        if in_outage {
            touched += 1;
            if end > first && end < last {
                assert_eq!(delta(&with_outage), 0, "no consumption in the interval ending {end}");
            }
        } else {
            assert_eq!(delta(&with_outage), delta(&without), "interval ending {end} unaffected");
        }
    }
    assert_eq!(touched, 9, "10:15 ..= 12:15");
    // The first and last intervals count only the minutes with supply.
    let advance = |r: &[common::Row]| r[r.len() - 1].import_wh - r[0].import_wh;
    assert!(advance(&with_outage) < advance(&without));
}

#[test]
fn a_long_outage_invalidates_the_clock() {
    let config = AlarmConfig { clock_reserve_s: 3_600, ..AlarmConfig::default() };
    let mut m = alarm_meter("CLK001", 9, config);
    m.lose_supply(ts(NOW));
    m.alarms_mut().begin_push();
    m.restore_supply(ts(NOW) + SignedDuration::from_hours(2));
    assert_eq!(m.alarms().pending(), AlarmBit::PowerUp.mask() | AlarmBit::ClockInvalid.mask());
}

async fn associates(address: std::net::SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(address).await else { return false };
    let mut client = ClientAssociation::new(ClientConfig::default());
    client.associate().unwrap();
    let aarq = client.poll_transmit().unwrap();
    let frame = WrapperFrame::new(16, 1, aarq).unwrap().to_bytes();
    if stream.write_all(&frame).await.is_err() {
        return false;
    }
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => WrapperFrame::parse(&buf[..n]).is_ok_and(|f| f.is_some()),
        _ => false,
    }
}

#[tokio::test]
async fn a_dark_meter_does_not_answer() {
    let meter = Arc::new(Mutex::new(alarm_meter("DARK01", 11, AlarmConfig::default())));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener, meter.clone(), Arc::new(MeterServerConfig::default())));
    assert!(associates(address).await, "with supply the meter answers the AARQ");
    // A connection opened before the outage gets no answer to its next frame either.
    let mut open = TcpStream::connect(address).await.unwrap();
    meter.lock().unwrap().lose_supply(Timestamp::now());
    assert!(!associates(address).await, "dark: no AARE");
    let mut client = ClientAssociation::new(ClientConfig::default());
    client.associate().unwrap();
    open.write_all(&WrapperFrame::new(16, 1, client.poll_transmit().unwrap()).unwrap().to_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), open.read(&mut buf)).await.unwrap().unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    meter.lock().unwrap().restore_supply(Timestamp::now());
    assert!(associates(address).await, "back with supply");
    server.abort();
}

#[tokio::test]
async fn alarm_pushes_go_over_udp_as_one_wrapper_datagram() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let destination = socket.local_addr().unwrap().to_string();
    let config = AlarmConfig::pushing_to(SendDestinationAndMethod::udp(&destination));
    let meter = Mutex::new(alarm_meter("UDP001", 12, config));
    let now = ts(NOW);
    assert_eq!(push_alarm(&meter, now, &PushDelivery::default()).await.unwrap(), None, "nothing pending");
    meter.lock().unwrap().lose_supply(now);
    let report = push_alarm(&meter, now, &PushDelivery::default()).await.unwrap().expect("last gasp");
    assert_eq!(report.attempts, 1);
    let mut buf = vec![0u8; 2048];
    let (n, _) = tokio::time::timeout(Duration::from_secs(10), socket.recv_from(&mut buf)).await.unwrap().unwrap();
    let XdlmsApdu::DataNotification(n) = apdu_of(&buf[..n]) else { panic!("data-notification") };
    let Data::Structure(body) = n.notification_body else { panic!() };
    assert_eq!(body[3], Data::DoubleLongUnsigned(AlarmBit::PowerDown.mask()));
}
