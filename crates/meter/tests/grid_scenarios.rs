//! Grid scenarios on a running fleet, pushes received on a UDP socket: a transformer
//! outage (every meter dark, last gasps partly lost by the seeded draw, power up after the
//! duration), a sag on the other feeder, and a sag on a feeder whose meters are dark.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use common::{BUFFER, rows, ts};
use dlms::wrapper::WrapperFrame;
use dlms::xdlms::XdlmsApdu;
use dlms::{Codec, Data};
use jiff::SignedDuration;
use meter::MeterConfig;
use meter::alarm::{AlarmBit, AlarmConfig, STATUS_POWER_DOWN};
use meter::fleet::Fleet;
use meter::push::SendDestinationAndMethod;
use meter::push::sender::PushDelivery;
use meter::scenario::{GridTopology, MeterAction, PushResult, Scenario, ScenarioClock, ScenarioDelivery, run_scenario};
use meter::tcp_server::MeterServerConfig;
use tokio::net::UdpSocket;

/// (serial, alarm descriptor) of one received alarm data-notification.
fn decode(datagram: &[u8]) -> (String, u32) {
    let (frame, _) = WrapperFrame::parse(datagram).unwrap().unwrap();
    let XdlmsApdu::DataNotification(n) = XdlmsApdu::from_bytes(&frame.apdu).unwrap() else { panic!() };
    let Data::Structure(body) = n.notification_body else { panic!() };
    let (Data::OctetString(name), Data::DoubleLongUnsigned(descriptor)) = (&body[1], &body[3]) else { panic!() };
    (String::from_utf8(name[3..].to_vec()).unwrap(), *descriptor)
}

#[tokio::test]
async fn a_transformer_outage_a_sag_and_pushes_from_dark_meters() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let destination = socket.local_addr().unwrap().to_string();
    let config = MeterConfig {
        max_clock_drift_ms: 0,
        alarm: AlarmConfig::pushing_to(SendDestinationAndMethod::udp(&destination)),
        ..MeterConfig::default()
    };
    let fleet = Fleet::start(8, IpAddr::from([127, 0, 0, 1]), 77, config, MeterServerConfig::default()).await.unwrap();
    let serials: Vec<String> = fleet.meters().iter().map(|m| m.serial.clone()).collect();
    let grid = GridTopology::evenly(&serials, 2, 1);
    let tx01: BTreeSet<String> = grid.meters_of_transformer("TX01").into_iter().map(str::to_string).collect();
    let scenario = Scenario::new("outage and sags")
        .transformer_outage(SignedDuration::from_mins(5), "TX01", SignedDuration::from_mins(40))
        .feeder_sag(SignedDuration::from_mins(10), "FDR01")
        .feeder_sag(SignedDuration::from_mins(10), "FDR02")
        .with_last_gasp_loss(0.5, 3);
    let start = ts("2024-06-12T10:00:00Z");
    let clock = ScenarioClock::new(start, 60_000.0).unwrap();
    let report =
        run_scenario(&scenario, fleet.meters(), &grid, &clock, &ScenarioDelivery::uniform(PushDelivery::default()))
            .await
            .unwrap();
    assert!(report.failures().is_empty());
    let lost: BTreeSet<String> = report.lost_last_gasps().into_iter().map(str::to_string).collect();
    assert!(lost.is_subset(&tx01));
    // Dark meters do not see the FDR01 sag; the FDR02 meters push it.
    for o in &report.outcomes {
        if o.action == MeterAction::Raise(AlarmBit::VoltageSag.mask()) {
            assert_eq!(o.result == PushResult::NotSent, tx01.contains(&o.serial), "{o:?}");
        }
    }

    let mut received = Vec::new();
    let mut buf = vec![0u8; 4096];
    while received.len() < report.delivered() {
        let (n, _) = tokio::time::timeout(Duration::from_secs(10), socket.recv_from(&mut buf)).await.unwrap().unwrap();
        received.push(decode(&buf[..n]));
    }
    let with = |bit: AlarmBit| -> BTreeSet<String> {
        received.iter().filter(|(_, d)| *d == bit.mask()).map(|(s, _)| s.clone()).collect()
    };
    assert_eq!(with(AlarmBit::PowerDown), tx01.difference(&lost).cloned().collect());
    assert_eq!(with(AlarmBit::PowerUp), tx01);
    assert_eq!(with(AlarmBit::VoltageSag), serials.iter().filter(|s| !tx01.contains(*s)).cloned().collect());

    // Afterwards: TX01 meters are back, their profiles show the outage; TX02 meters never
    // lost supply.
    let read_at = start + SignedDuration::from_hours(2);
    for m in fleet.meters() {
        let mut meter = m.meter.lock().unwrap();
        assert!(meter.is_energised());
        let buffer = rows(&meter.get(read_at, &BUFFER, None).unwrap());
        let flagged = buffer.iter().filter(|r| r.status & STATUS_POWER_DOWN != 0).count();
        if tx01.contains(&m.serial) {
            // 10:05 .. 10:45: the intervals ending 10:15 ..= 10:45.
            assert_eq!(flagged, 3, "{}", m.serial);
            assert_eq!(meter.alarms().register() & AlarmBit::PowerDown.mask(), AlarmBit::PowerDown.mask());
        } else {
            assert_eq!(flagged, 0, "{}", m.serial);
            assert_eq!(meter.alarms().register(), AlarmBit::VoltageSag.mask());
        }
    }
    fleet.shutdown().await;
}
