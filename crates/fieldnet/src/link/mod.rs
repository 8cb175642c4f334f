//! Link models: what one link of the field network does to a frame.
//!
//! A [`LinkModel`] says how long a frame of `n` bytes takes to cross the link and whether
//! it arrives:
//!
//! * **serialization** per link frame: `(payload + frame_overhead) × 8 / bit rate`, or the
//!   LoRa time-on-air formula ([`Airtime`]);
//! * **fragmentation**: a DLMS frame longer than `max_payload` is sent as several link
//!   frames (LoRaWAN FRMPayload, 6LoWPAN fragments), each serialized and each able to be
//!   lost (the DLMS frame is lost when any fragment is);
//! * **hops** (PLC repeaters, RF mesh routers): store-and-forward, so the frame occupies
//!   the medium once per hop and pays `hop_latency` (MAC channel access, processing,
//!   propagation) per hop; loss is compounded: it survives with `(1 − hop_loss)^hops`;
//! * **medium**: a neighbourhood network (PLC segment, RF mesh, LoRa channel) is one
//!   half-duplex medium shared by every meter of its DCU, so sessions queue behind each
//!   other; a cellular link or a backhaul is dedicated and full duplex;
//! * **duty cycle** (LoRaWAN in EU868, ETSI EN 300 220-2): after a transmission of
//!   time-on-air `T` the transmitter stays silent until `T / duty_cycle` after its start;
//! * **radio wake-up** (cellular): the first frame after the radio went idle pays the RRC
//!   connection set-up, and a mobile-terminated one (HES → meter) first waits for the
//!   device's paging occasion (eDRX);
//! * **availability**: an up/down schedule.
//!
//! Presets with published figures: [`LinkModel::g3_plc`], [`LinkModel::prime`]
//! (`plc.rs`), [`LinkModel::rf_mesh`] (`rf_mesh.rs`), [`LinkModel::nb_iot`],
//! [`LinkModel::lte_m`] (`cellular.rs`), [`LinkModel::lorawan`] (`lorawan.rs`), and the
//! DCU backhauls [`LinkModel::fibre_backhaul`], [`LinkModel::cellular_backhaul`]
//! (`backhaul.rs`).

mod backhaul;
mod cellular;
pub mod lorawan;
mod plc;
mod rf_mesh;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::availability::Availability;
use crate::error::FieldError;
use crate::latency::Latency;
pub use lorawan::LoRaModulation;

/// The technology of a link (for reports, and to pick presets by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LinkKind {
    /// An ideal link (no delay, no loss): a meter wired straight to the HES's network.
    Ideal,
    /// DCU backhaul over fibre or Ethernet.
    Fibre,
    /// DCU backhaul over a cellular router (LTE).
    CellularBackhaul,
    /// G3-PLC (ITU-T G.9903).
    G3Plc,
    /// PRIME (ITU-T G.9904).
    Prime,
    /// RF mesh (IEEE 802.15.4g / Wi-SUN FAN).
    RfMesh,
    /// NB-IoT (3GPP Rel-13 Cat-NB1).
    NbIot,
    /// LTE-M (3GPP Rel-13 Cat-M1).
    LteM,
    /// LoRaWAN (EU868 regional parameters).
    LoRaWan,
}

impl LinkKind {
    /// A short lower-case name (`g3-plc`, `rf-mesh`, `nb-iot`, …).
    pub fn name(self) -> &'static str {
        match self {
            LinkKind::Ideal => "ideal",
            LinkKind::Fibre => "fibre",
            LinkKind::CellularBackhaul => "cellular-backhaul",
            LinkKind::G3Plc => "g3-plc",
            LinkKind::Prime => "prime",
            LinkKind::RfMesh => "rf-mesh",
            LinkKind::NbIot => "nb-iot",
            LinkKind::LteM => "lte-m",
            LinkKind::LoRaWan => "lorawan",
        }
    }

    /// The preset [`LinkModel`] of this technology.
    pub fn preset(self) -> LinkModel {
        match self {
            LinkKind::Ideal => LinkModel::ideal(),
            LinkKind::Fibre => LinkModel::fibre_backhaul(),
            LinkKind::CellularBackhaul => LinkModel::cellular_backhaul(),
            LinkKind::G3Plc => LinkModel::g3_plc(),
            LinkKind::Prime => LinkModel::prime(),
            LinkKind::RfMesh => LinkModel::rf_mesh(3),
            LinkKind::NbIot => LinkModel::nb_iot(),
            LinkKind::LteM => LinkModel::lte_m(),
            LinkKind::LoRaWan => LinkModel::lorawan(LoRaModulation::eu868(3)),
        }
    }

    /// True for a last-mile technology where each meter has its own radio link to the
    /// network (cellular): there is no shared neighbourhood medium and a "DCU" is the
    /// operator's gateway (APN), not a box in a substation.
    pub fn is_direct(self) -> bool {
        matches!(self, LinkKind::NbIot | LinkKind::LteM)
    }
}

impl std::fmt::Display for LinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How long a link frame occupies the medium.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Airtime {
    /// A bit rate: `bytes × 8 / bits_per_second`.
    Bitrate {
        /// Effective bit rate (bit/s, > 0).
        bits_per_second: u64,
    },
    /// LoRa modulation: time-on-air by Semtech AN1200.13.
    LoRa(LoRaModulation),
}

impl Airtime {
    /// Time on the medium of one link frame of `bytes` (payload and overhead).
    pub fn of(&self, bytes: usize) -> Duration {
        match self {
            Airtime::Bitrate { bits_per_second } => {
                let nanos = bytes as u128 * 8 * 1_000_000_000 / u128::from((*bits_per_second).max(1));
                Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
            Airtime::LoRa(m) => m.time_on_air(bytes),
        }
    }

    /// The airtime with the bit rate multiplied by `factor` (degradation; LoRa unchanged).
    pub fn with_rate_factor(&self, factor: f64) -> Airtime {
        match *self {
            Airtime::Bitrate { bits_per_second } => {
                let f = if factor.is_finite() && factor > 0.0 { factor } else { 1.0 };
                Airtime::Bitrate { bits_per_second: ((bits_per_second as f64 * f).round() as u64).max(1) }
            }
            lora => lora,
        }
    }
}

/// Who shares the medium of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Medium {
    /// One half-duplex medium for every meter of the DCU and both directions (PLC
    /// segment, RF mesh channel, LoRa channel).
    SharedHalfDuplex,
    /// A medium of its own per meter (or per DCU for a backhaul), one channel per
    /// direction.
    DedicatedFullDuplex,
}

/// A cellular radio's connection set-up and paging (mobile-terminated reachability).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RadioWakeUp {
    /// RRC connection set-up (random access, RRC connection request / setup / complete)
    /// paid by the first frame after the radio went idle.
    pub connection_setup: Latency,
    /// Extended DRX cycle: a frame towards an idle device (HES → meter) first waits for
    /// the device's next paging occasion, uniform in `[0, cycle)`. `None`: paged at once.
    pub paging_cycle: Option<Duration>,
    /// The network releases the RRC connection after this long without traffic.
    pub inactivity_release: Duration,
}

/// The behaviour of one link (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkModel {
    /// Technology.
    pub kind: LinkKind,
    /// Serialization per link frame.
    pub airtime: Airtime,
    /// Bytes added to each link frame (MAC, 6LoWPAN/IP/UDP or LoRaWAN headers and MIC).
    pub frame_overhead: usize,
    /// Largest payload of one link frame; longer DLMS frames are fragmented. `None`: no
    /// fragmentation.
    pub max_payload: Option<usize>,
    /// Hops between the DCU and the meter (1 = direct; PLC repeaters and mesh routers add
    /// one each).
    pub hops: u8,
    /// Delay per hop beyond serialization (channel access, MAC acknowledgement,
    /// processing, propagation).
    pub hop_latency: Latency,
    /// Probability that a link frame is lost on one hop, after the MAC's own retries
    /// (0 ≤ p < 1).
    pub hop_loss: f64,
    /// Duty-cycle limit of each transmitter (fraction of time on air, 0 < d ≤ 1).
    pub duty_cycle: Option<f64>,
    /// Who shares the medium.
    pub medium: Medium,
    /// Cellular connection set-up and paging.
    pub radio: Option<RadioWakeUp>,
    /// Up/down schedule.
    pub availability: Availability,
}

impl LinkModel {
    /// An ideal link: no delay, no loss, dedicated, always up.
    pub fn ideal() -> LinkModel {
        LinkModel {
            kind: LinkKind::Ideal,
            airtime: Airtime::Bitrate { bits_per_second: u64::MAX },
            frame_overhead: 0,
            max_payload: None,
            hops: 1,
            hop_latency: Latency::ZERO,
            hop_loss: 0.0,
            duty_cycle: None,
            medium: Medium::DedicatedFullDuplex,
            radio: None,
            availability: Availability::AlwaysUp,
        }
    }

    /// The same link with a different per-hop loss.
    pub fn with_hop_loss(mut self, hop_loss: f64) -> LinkModel {
        self.hop_loss = hop_loss;
        self
    }

    /// The same link with another per-hop latency.
    pub fn with_hop_latency(mut self, latency: Latency) -> LinkModel {
        self.hop_latency = latency;
        self
    }

    /// The same link with another number of hops.
    pub fn with_hops(mut self, hops: u8) -> LinkModel {
        self.hops = hops;
        self
    }

    /// The same link with another availability schedule.
    pub fn with_availability(mut self, availability: Availability) -> LinkModel {
        self.availability = availability;
        self
    }

    /// The probability that one link frame crosses every hop: `(1 − hop_loss)^hops`.
    pub fn frame_delivery_probability(&self) -> f64 {
        (1.0 - self.hop_loss).powi(i32::from(self.hops.max(1)))
    }

    /// The sizes of the link frames (payload + overhead) carrying a DLMS frame of
    /// `len` bytes.
    pub fn fragments(&self, len: usize) -> Vec<usize> {
        match self.max_payload {
            Some(max) if max > 0 && len > max => {
                let mut out = Vec::with_capacity(len.div_ceil(max));
                let mut rest = len;
                while rest > 0 {
                    let part = rest.min(max);
                    out.push(part + self.frame_overhead);
                    rest -= part;
                }
                out
            }
            _ => vec![len + self.frame_overhead],
        }
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`FieldError::InvalidSpec`] for a loss outside `0..1`, zero hops, a duty cycle
    /// outside `(0, 1]`, a zero bit rate or payload, a zero availability period.
    pub fn validate(&self) -> Result<(), FieldError> {
        let bad = |what: String| Err(FieldError::InvalidSpec(format!("{} link: {what}", self.kind)));
        if !(0.0..1.0).contains(&self.hop_loss) {
            return bad(format!("hop_loss {} is not in 0..1", self.hop_loss));
        }
        if self.hops == 0 {
            return bad("hops must be at least 1".into());
        }
        if let Some(d) = self.duty_cycle {
            if !(d > 0.0 && d <= 1.0) {
                return bad(format!("duty_cycle {d} is not in (0, 1]"));
            }
        }
        if let Airtime::Bitrate { bits_per_second: 0 } = self.airtime {
            return bad("bit rate is zero".into());
        }
        if let Airtime::LoRa(m) = &self.airtime {
            m.validate().map_err(|e| FieldError::InvalidSpec(format!("{} link: {e}", self.kind)))?;
        }
        if self.max_payload == Some(0) {
            return bad("max_payload is zero".into());
        }
        if let Availability::Periodic { period, .. } = &self.availability {
            if period.is_zero() {
                return bad("availability period is zero".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_split_payload_and_add_overhead_to_each() {
        let mut l = LinkModel::ideal();
        l.frame_overhead = 13;
        l.max_payload = Some(51);
        assert_eq!(l.fragments(120), vec![64, 64, 31]);
        assert_eq!(l.fragments(51), vec![64]);
        l.max_payload = None;
        assert_eq!(l.fragments(500), vec![513]);
    }

    #[test]
    fn loss_compounds_over_hops() {
        let l = LinkModel::ideal().with_hop_loss(0.1).with_hops(3);
        assert!((l.frame_delivery_probability() - 0.729).abs() < 1e-12);
    }

    #[test]
    fn every_preset_is_valid() {
        for k in [
            LinkKind::Ideal,
            LinkKind::Fibre,
            LinkKind::CellularBackhaul,
            LinkKind::G3Plc,
            LinkKind::Prime,
            LinkKind::RfMesh,
            LinkKind::NbIot,
            LinkKind::LteM,
            LinkKind::LoRaWan,
        ] {
            let p = k.preset();
            assert_eq!(p.kind, k);
            p.validate().unwrap();
        }
        assert!(LinkModel::ideal().with_hop_loss(1.0).validate().is_err());
        assert!(LinkModel::ideal().with_hops(0).validate().is_err());
    }

    #[test]
    fn bitrate_airtime_is_bytes_times_eight_over_rate() {
        let a = Airtime::Bitrate { bits_per_second: 20_000 };
        assert_eq!(a.of(250), Duration::from_millis(100));
        assert_eq!(a.with_rate_factor(0.5).of(250), Duration::from_millis(200));
    }
}
