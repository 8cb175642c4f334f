//! Cellular LPWA presets: NB-IoT and LTE-M meters, each with its own radio link to the
//! operator's network (the "DCU" of such meters is the operator's gateway / APN).

use std::time::Duration;

use crate::availability::Availability;
use crate::latency::Latency;
use crate::link::{Airtime, LinkKind, LinkModel, Medium, RadioWakeUp};

impl LinkModel {
    /// NB-IoT (3GPP Rel-13 UE category NB1, TS 36.306 §4.1C).
    ///
    /// * Bit rate 25 kbit/s: Cat-NB1 peaks at about 26 kbit/s downlink and 62.5 kbit/s
    ///   uplink (multi-tone); the slower downlink bounds a request/response exchange.
    /// * 40 bytes of overhead (IPv4 + TCP headers carrying the wrapper).
    /// * One-way latency log-normal around 300 ms in normal coverage (3GPP TR 45.820
    ///   §7.3.6 analyses latencies from under 1 s to 10 s as coverage worsens and
    ///   repetitions grow), 0.5 % loss after HARQ/RLC.
    /// * Radio wake-up: RRC connection set-up log-normal around 1.5 s (random access and
    ///   RRC set-up with NB-IoT's long subframes); eDRX cycle 20.48 s, the shortest
    ///   NB-IoT eDRX value (TS 24.008 §10.5.5.32 and TS 36.304 §7.3: 20.48 s up to
    ///   10485.76 s), so an HES-initiated session waits up to 20.48 s to page the meter;
    ///   the network releases the RRC connection after 20 s of inactivity (operator
    ///   setting, commonly 10–20 s).
    pub fn nb_iot() -> LinkModel {
        LinkModel {
            kind: LinkKind::NbIot,
            airtime: Airtime::Bitrate { bits_per_second: 25_000 },
            frame_overhead: 40,
            max_payload: None,
            hops: 1,
            hop_latency: Latency::LogNormal { median: Duration::from_millis(300), sigma: 0.5 },
            hop_loss: 0.005,
            duty_cycle: None,
            medium: Medium::DedicatedFullDuplex,
            radio: Some(RadioWakeUp {
                connection_setup: Latency::LogNormal { median: Duration::from_millis(1500), sigma: 0.4 },
                paging_cycle: Some(Duration::from_millis(20_480)),
                inactivity_release: Duration::from_secs(20),
            }),
            availability: Availability::AlwaysUp,
        }
    }

    /// LTE-M (3GPP Rel-13 UE category M1, TS 36.306 §4.1A).
    ///
    /// * Bit rate 300 kbit/s effective (Cat-M1 peaks at 1 Mbit/s in both directions
    ///   half-duplex FDD; scheduling gaps bring the sustained rate to a few hundred kbit/s).
    /// * One-way latency log-normal around 50 ms (TR 36.888 puts LTE-M latency in the
    ///   10–15 ms range in the radio network; core and transport add the rest), 0.2 % loss.
    /// * RRC connection set-up log-normal around 200 ms (TR 36.913 targets < 100 ms from
    ///   idle to active; commercial networks are slower); eDRX 5.12 s, the shortest LTE-M
    ///   eDRX value (TS 24.008 §10.5.5.32); RRC released after 10 s of inactivity.
    pub fn lte_m() -> LinkModel {
        LinkModel {
            kind: LinkKind::LteM,
            airtime: Airtime::Bitrate { bits_per_second: 300_000 },
            frame_overhead: 40,
            max_payload: None,
            hops: 1,
            hop_latency: Latency::LogNormal { median: Duration::from_millis(50), sigma: 0.4 },
            hop_loss: 0.002,
            duty_cycle: None,
            medium: Medium::DedicatedFullDuplex,
            radio: Some(RadioWakeUp {
                connection_setup: Latency::LogNormal { median: Duration::from_millis(200), sigma: 0.4 },
                paging_cycle: Some(Duration::from_millis(5_120)),
                inactivity_release: Duration::from_secs(10),
            }),
            availability: Availability::AlwaysUp,
        }
    }
}
