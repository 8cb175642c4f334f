//! DCU backhaul presets: the wide-area link between a data concentrator and the HES.
//! The backhaul carries TCP, so its losses are retransmitted (see [`crate::transmission`]).

use std::time::Duration;

use crate::availability::Availability;
use crate::latency::Latency;
use crate::link::{Airtime, LinkKind, LinkModel, Medium};

impl LinkModel {
    /// Fibre or Ethernet backhaul (utility WAN): 100 Mbit/s, 1–3 ms one way, no loss.
    pub fn fibre_backhaul() -> LinkModel {
        LinkModel {
            kind: LinkKind::Fibre,
            airtime: Airtime::Bitrate { bits_per_second: 100_000_000 },
            frame_overhead: 40,
            max_payload: None,
            hops: 1,
            hop_latency: Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(3) },
            hop_loss: 0.0,
            duty_cycle: None,
            medium: Medium::DedicatedFullDuplex,
            radio: None,
            availability: Availability::AlwaysUp,
        }
    }

    /// LTE router backhaul (a DCU with a Cat-4 modem): 5 Mbit/s effective uplink, one-way
    /// latency log-normal around 40 ms (3GPP TR 36.913 targets < 10 ms user-plane latency
    /// in the radio network; the public-network round trip to a utility data centre
    /// is typically 50–100 ms), 0.1 % loss.
    pub fn cellular_backhaul() -> LinkModel {
        LinkModel {
            kind: LinkKind::CellularBackhaul,
            airtime: Airtime::Bitrate { bits_per_second: 5_000_000 },
            frame_overhead: 40,
            max_payload: None,
            hops: 1,
            hop_latency: Latency::LogNormal { median: Duration::from_millis(40), sigma: 0.3 },
            hop_loss: 0.001,
            duty_cycle: None,
            medium: Medium::DedicatedFullDuplex,
            radio: None,
            availability: Availability::AlwaysUp,
        }
    }
}
