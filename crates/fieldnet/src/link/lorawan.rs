//! LoRaWAN preset: EU868 regional parameters, time-on-air by the LoRa formula and the 1 %
//! duty cycle of the g1 sub-band.
//!
//! DLMS over LoRaWAN is a poor fit, which the model shows: a data rate's maximum
//! FRMPayload is 51–222 bytes (LoRaWAN Regional Parameters RP002-1.0.3, EU863-870
//! maximum payload size table, repeater-compatible N column), so an APDU is split into
//! many uplinks, and after each one the device must stay silent for 99 × its
//! time-on-air (ETSI EN 300 220-2 duty-cycle limit of 1 % in 868.0–868.6 MHz).
//! Devices are modelled as LoRaWAN class C (always listening), so a downlink waits only
//! for the gateway's own duty cycle; a class A device, which can only receive after its
//! own uplink, is approximated by a [`crate::link::RadioWakeUp`] paging cycle equal to
//! its uplink period.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::availability::Availability;
use crate::latency::Latency;
use crate::link::{Airtime, LinkKind, LinkModel, Medium};

/// LoRaWAN MAC overhead per uplink or downlink: MHDR (1) + FHDR without options (7) +
/// FPort (1) + MIC (4) = 13 bytes (LoRaWAN L2 1.0.4 §4).
pub const LORAWAN_MAC_OVERHEAD: usize = 13;

/// LoRa modulation parameters of one transmission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoRaModulation {
    /// Spreading factor, 7..=12.
    pub spreading_factor: u8,
    /// Bandwidth, Hz (125 000 in EU868 DR0–DR5).
    pub bandwidth_hz: u32,
    /// Coding rate 4/(4 + n), n in 1..=4 (LoRaWAN uses 1, i.e. 4/5).
    pub coding_rate: u8,
    /// Programmed preamble length, symbols (8 in LoRaWAN).
    pub preamble_symbols: u16,
    /// Explicit PHY header (LoRaWAN: yes).
    pub explicit_header: bool,
    /// PHY payload CRC (LoRaWAN: on for uplinks).
    pub crc: bool,
    /// Low data rate optimisation (mandated when the symbol time exceeds 16 ms: SF11 and
    /// SF12 at 125 kHz).
    pub low_data_rate_optimize: bool,
}

impl LoRaModulation {
    /// EU868 data rate `dr` (0..=5 → SF12..=SF7 at 125 kHz; larger values give DR5),
    /// coding rate 4/5, 8-symbol preamble, explicit header, CRC on (RP002-1.0.3 EU863-870
    /// data rate table).
    pub fn eu868(dr: u8) -> LoRaModulation {
        let sf = 12 - dr.min(5);
        LoRaModulation {
            spreading_factor: sf,
            bandwidth_hz: 125_000,
            coding_rate: 1,
            preamble_symbols: 8,
            explicit_header: true,
            crc: true,
            low_data_rate_optimize: sf >= 11,
        }
    }

    /// The largest FRMPayload of this spreading factor in EU868 (RP002-1.0.3, N column):
    /// 51 bytes for DR0–DR2 (SF12–SF10), 115 for DR3 (SF9), 222 for DR4–DR5 (SF8, SF7).
    pub fn eu868_max_payload(&self) -> usize {
        match self.spreading_factor {
            10..=12 => 51,
            9 => 115,
            _ => 222,
        }
    }

    /// Time on air of a PHY payload of `phy_payload` bytes (Semtech AN1200.13 "LoRa
    /// Modem Designer's Guide", §4; SX1276 datasheet §4.1.1.6):
    /// `T_sym = 2^SF / BW`, `T_preamble = (n_preamble + 4.25) T_sym`,
    /// `n_payload = 8 + max(⌈(8PL − 4SF + 28 + 16CRC − 20IH) / (4(SF − 2DE))⌉ (CR + 4), 0)`.
    pub fn time_on_air(&self, phy_payload: usize) -> Duration {
        let sf = i64::from(self.spreading_factor);
        let t_sym = 2f64.powi(self.spreading_factor as i32) / f64::from(self.bandwidth_hz.max(1));
        let t_preamble = (f64::from(self.preamble_symbols) + 4.25) * t_sym;
        let pl = i64::try_from(phy_payload).unwrap_or(i64::MAX / 16);
        let crc = i64::from(self.crc);
        let ih = i64::from(!self.explicit_header);
        let de = i64::from(self.low_data_rate_optimize);
        let numerator = 8 * pl - 4 * sf + 28 + 16 * crc - 20 * ih;
        let denominator = (4 * (sf - 2 * de)).max(1);
        let blocks = if numerator > 0 { (numerator + denominator - 1) / denominator } else { 0 };
        let symbols = 8 + blocks * (i64::from(self.coding_rate) + 4);
        Duration::from_secs_f64(t_preamble + symbols as f64 * t_sym)
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// A description of the first parameter out of range.
    pub fn validate(&self) -> Result<(), String> {
        if !(6..=12).contains(&self.spreading_factor) {
            return Err(format!("spreading factor {} is not in 6..=12", self.spreading_factor));
        }
        if !(1..=4).contains(&self.coding_rate) {
            return Err(format!("coding rate 4/{} is not 4/5..4/8", u16::from(self.coding_rate) + 4));
        }
        if self.bandwidth_hz == 0 {
            return Err("bandwidth is zero".into());
        }
        Ok(())
    }
}

impl LinkModel {
    /// LoRaWAN EU868 with modulation `m` (class C, one gateway hop).
    ///
    /// * Airtime by the LoRa formula, [`LORAWAN_MAC_OVERHEAD`] bytes per frame, DLMS
    ///   frames fragmented into the data rate's maximum FRMPayload.
    /// * Duty cycle 1 % per transmitter (device and gateway; ETSI EN 300 220-2, g1
    ///   sub-band 868.0–868.6 MHz).
    /// * Latency 50 ms (gateway to network server to application), 1 % frame loss
    ///   (collisions and fading; gridedge assumption).
    /// * One half-duplex channel per gateway, shared by its devices.
    pub fn lorawan(m: LoRaModulation) -> LinkModel {
        LinkModel {
            kind: LinkKind::LoRaWan,
            airtime: Airtime::LoRa(m),
            frame_overhead: LORAWAN_MAC_OVERHEAD,
            max_payload: Some(m.eu868_max_payload()),
            hops: 1,
            hop_latency: Latency::fixed_ms(50),
            hop_loss: 0.01,
            duty_cycle: Some(0.01),
            medium: Medium::SharedHalfDuplex,
            radio: None,
            availability: Availability::AlwaysUp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eu868_data_rates() {
        assert_eq!(LoRaModulation::eu868(0).spreading_factor, 12);
        assert!(LoRaModulation::eu868(0).low_data_rate_optimize);
        assert_eq!(LoRaModulation::eu868(5).spreading_factor, 7);
        assert!(!LoRaModulation::eu868(5).low_data_rate_optimize);
        assert_eq!(LoRaModulation::eu868(3).eu868_max_payload(), 115);
    }
}
