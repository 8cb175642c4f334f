//! Helpers shared by fieldnet's integration tests: meters, HES endpoints, and checking
//! what the HES collected against the meters' own load profiles.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dlms::association::Authentication;
use fieldnet::{Framing, MeterAttachment, MeterTarget};
use hes::transport::LinkLayer;
use hes::{MeterEndpoint, SessionTimeouts};
use jiff::Timestamp;
use meter::tcp_server::{MeterLink, MeterServerConfig};
use meter::{MeterConfig, SimulatedMeter};
use model::{MeterId, MeterReading, ReadingType};

/// The meter server configuration of `framing` (public client 16, no authentication).
pub fn server_config(framing: Framing) -> MeterServerConfig {
    let link = match framing {
        Framing::Wrapper => MeterLink::Wrapper,
        Framing::Hdlc => MeterLink::Hdlc { physical_address: 17 },
    };
    MeterServerConfig { link, ..MeterServerConfig::default() }
}

/// The HES link layer of `framing`.
pub fn hes_link(framing: Framing) -> LinkLayer {
    match framing {
        Framing::Wrapper => LinkLayer::Wrapper,
        Framing::Hdlc => LinkLayer::Hdlc { server_physical: Some(17) },
    }
}

/// A simulated meter served in process, and its attachment to a DCU.
pub fn in_process_meter(serial: &str, seed: u64, framing: Framing) -> (Arc<Mutex<SimulatedMeter>>, MeterAttachment) {
    let meter = Arc::new(Mutex::new(SimulatedMeter::new(serial, seed, MeterConfig::default()).unwrap()));
    let attachment = MeterAttachment {
        serial: serial.into(),
        system_title: None,
        framing,
        target: MeterTarget::InProcess { meter: meter.clone(), server: Arc::new(server_config(framing)) },
    };
    (meter, attachment)
}

/// The HES endpoint of a meter reached at `address` (public client, no authentication).
pub fn endpoint(serial: &str, address: SocketAddr, framing: Framing) -> MeterEndpoint {
    MeterEndpoint {
        serial: MeterId(serial.into()),
        address,
        client_sap: dlms::wrapper::WPORT_PUBLIC_CLIENT,
        server_sap: dlms::wrapper::WPORT_MANAGEMENT_LOGICAL_DEVICE,
        authentication: Authentication::None,
        link: hes_link(framing),
        security: None,
    }
}

/// 5 s to connect, 10 s per exchange (the HES's HDLC retransmission timer is then 3 s).
pub fn timeouts() -> SessionTimeouts {
    SessionTimeouts { connect: Duration::from_secs(5), response: Duration::from_secs(10) }
}

/// The meter's own profile: active energy import (Wh, modulo 2^32 as the profile column)
/// by capture time (UTC), for its newest `entries` captures at `now`.
pub fn profile_truth(meter: &Mutex<SimulatedMeter>, now: Timestamp, entries: u64) -> HashMap<Timestamp, f64> {
    let m = meter.lock().unwrap();
    let window = m.profile_window(now);
    let first = window.last.saturating_sub(entries);
    m.profile_entries(first, window.last)
        .into_iter()
        .map(|e| {
            let t = e.capture_time.to_utc().unwrap();
            (t, (e.registers.active_import_wh % (1u64 << 32)) as f64)
        })
        .collect()
}

/// How many distinct intervals of `reading` carry exactly the meter's own import value,
/// and how many carry a wrong one.
pub fn matching_intervals(reading: &MeterReading, truth: &HashMap<Timestamp, f64>) -> (usize, usize) {
    let mut ok = 0;
    let mut wrong = 0;
    for i in reading.intervals.iter().filter(|i| i.reading_type == ReadingType::ActiveEnergyImport) {
        match truth.get(&i.interval_end) {
            Some(v) if *v == i.value => ok += 1,
            _ => wrong += 1,
        }
    }
    (ok, wrong)
}
