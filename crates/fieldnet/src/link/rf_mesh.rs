//! RF mesh preset: IEEE 802.15.4g SUN FSK radios in a Wi-SUN FAN style mesh, meters
//! routing for each other to the border router in the DCU.

use std::time::Duration;

use crate::availability::Availability;
use crate::latency::Latency;
use crate::link::{Airtime, LinkKind, LinkModel, Medium};

impl LinkModel {
    /// RF mesh with `hops` hops (IEEE 802.15.4g-2012 SUN FSK, 863–870 MHz / 902–928 MHz;
    /// Wi-SUN FAN 1.0 profile).
    ///
    /// * Bit rate 50 kbit/s: 802.15.4g FSK operating mode #1 (50 kbit/s 2-FSK), the
    ///   mandatory mode of Wi-SUN FAN in Europe (modes up to 300 kbit/s exist).
    /// * 30 bytes of overhead (802.15.4 MAC header with 64-bit addresses, FCS, 6LoWPAN
    ///   IPHC/UDP); the 6LoWPAN MTU of 1280 bytes fits a whole DLMS frame, so no
    ///   fragmentation.
    /// * Per-hop latency log-normal around 30 ms (CSMA-CA backoff, frequency-hopping
    ///   dwell, MAC acknowledgement); loss 2 % per hop after MAC retries, compounded over
    ///   the hops (gridedge assumptions; per-hop figures of this order are typical of
    ///   published mesh AMI trials).
    pub fn rf_mesh(hops: u8) -> LinkModel {
        LinkModel {
            kind: LinkKind::RfMesh,
            airtime: Airtime::Bitrate { bits_per_second: 50_000 },
            frame_overhead: 30,
            max_payload: None,
            hops: hops.max(1),
            hop_latency: Latency::LogNormal { median: Duration::from_millis(30), sigma: 0.6 },
            hop_loss: 0.02,
            duty_cycle: None,
            medium: Medium::SharedHalfDuplex,
            radio: None,
            availability: Availability::AlwaysUp,
        }
    }
}
