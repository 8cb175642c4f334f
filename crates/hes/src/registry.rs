//! The meter registry: what the HES must know to open a session with each meter.

use std::collections::HashMap;
use std::net::SocketAddr;

use dlms::association::Authentication;
use dlms::security::SecuritySettings;
use model::MeterId;

use crate::transport::LinkLayer;

/// How to reach and authenticate to one meter over the TCP wrapper (IEC 62056-47).
#[derive(Debug, Clone)]
pub struct MeterEndpoint {
    /// The meter's serial number (its identity in the MDMS). Collection checks it
    /// against the serial the meter reports in 0.0.96.1.0.255.
    pub serial: MeterId,
    /// IP address and TCP port of the meter's DLMS server (port 4059 by convention).
    pub address: SocketAddr,
    /// Client SAP = wrapper source wPort (16 public client, 1 management client).
    pub client_sap: u16,
    /// Server SAP = wrapper destination wPort (1 = management logical device).
    pub server_sap: u16,
    /// Authentication for the association (none, LLS password or HLS-GMAC). Never
    /// logged.
    pub authentication: Authentication,
    /// The link layer on the meter's TCP stream: wrapper (default) or HDLC.
    pub link: LinkLayer,
    /// Security suite 0 settings (keys, system titles, policy, the invocation-counter
    /// store shared by every session to this meter); required for HLS-GMAC and for
    /// ciphered associations, `None` for an unciphered association. Keys are never
    /// logged (their `Debug` is redacted).
    pub security: Option<SecuritySettings>,
}

/// The set of meters the HES collects. In-memory for the single-process deployment; the
/// fleet simulator or a provisioning import fills it. Adding, replacing and finding a meter
/// by serial take constant time (an index by serial), so 10⁵ meters load in well under a
/// second.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    meters: Vec<MeterEndpoint>,
    /// Position of each serial in `meters`.
    index: HashMap<MeterId, usize>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Adds or replaces (by serial) a meter.
    pub fn upsert(&mut self, endpoint: MeterEndpoint) {
        match self.index.get(&endpoint.serial).and_then(|&i| self.meters.get_mut(i)) {
            Some(m) => *m = endpoint,
            None => {
                self.index.insert(endpoint.serial.clone(), self.meters.len());
                self.meters.push(endpoint);
            }
        }
    }

    /// The meter with this serial.
    pub fn get(&self, serial: &MeterId) -> Option<&MeterEndpoint> {
        self.index.get(serial).and_then(|&i| self.meters.get(i))
    }

    /// All meters, in insertion order.
    pub fn meters(&self) -> &[MeterEndpoint] {
        &self.meters
    }

    /// Number of meters.
    pub fn len(&self) -> usize {
        self.meters.len()
    }

    /// True when there are no meters.
    pub fn is_empty(&self) -> bool {
        self.meters.is_empty()
    }
}
