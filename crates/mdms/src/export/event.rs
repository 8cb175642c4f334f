//! End device events as the `EndDeviceEvents` export takes them: a minimal IEC 61968-9
//! `EndDeviceEvent` (the domain `model` crate has no event type yet; when it gains one this
//! becomes a conversion from it).

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use model::MeterId;
use serde::{Deserialize, Serialize};

/// An IEC 61968-9 `EndDeviceEventType` code (Annex E): four dot-separated numbers
/// `<type>.<domain>.<subDomain>.<eventOrAction>`, e.g. `3.26.0.47`: electric meter (3),
/// power (26), no sub-domain (0), loss detected (47).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EndDeviceEventType {
    /// EndDeviceType: 3 electric meter, 0 not applicable.
    pub device_type: u16,
    /// EndDeviceDomain: 26 power, 36 clock, 31 remote connect/disconnect switch, 12
    /// security, ...
    pub domain: u16,
    /// EndDeviceSubdomain: 0 not applicable, 114 time, 116 time sync, ...
    pub sub_domain: u16,
    /// EndDeviceEventOrAction: 47 loss detected, 216 restored, 24 changed, 35 invalid,
    /// 42 connected, 68 disconnected, 257 tamper detected, ...
    pub event_or_action: u16,
}

impl EndDeviceEventType {
    /// Electric meter, power, loss detected: supply lost (power down / outage start).
    pub const POWER_DOWN: Self = Self::electric_meter(26, 0, 47);
    /// Electric meter, power, restored: supply back (power up / outage end).
    pub const POWER_RESTORED: Self = Self::electric_meter(26, 0, 216);
    /// Electric meter, clock, time sync, changed: the meter's clock was set.
    pub const CLOCK_SET: Self = Self::electric_meter(36, 116, 24);
    /// Electric meter, clock, time, invalid: the meter's clock is invalid.
    pub const CLOCK_INVALID: Self = Self::electric_meter(36, 114, 35);
    /// Electric meter, remote connect/disconnect switch, connected.
    pub const RELAY_CONNECTED: Self = Self::electric_meter(31, 0, 42);
    /// Electric meter, remote connect/disconnect switch, disconnected.
    pub const RELAY_DISCONNECTED: Self = Self::electric_meter(31, 0, 68);
    /// Electric meter, security, tamper detected.
    pub const TAMPER_DETECTED: Self = Self::electric_meter(12, 0, 257);

    /// An event of an electric meter (EndDeviceType 3).
    pub const fn electric_meter(domain: u16, sub_domain: u16, event_or_action: u16) -> Self {
        EndDeviceEventType { device_type: 3, domain, sub_domain, event_or_action }
    }
}

impl fmt::Display for EndDeviceEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}.{}", self.device_type, self.domain, self.sub_domain, self.event_or_action)
    }
}

/// The text is not four dot-separated numbers of at most 65535 each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an EndDeviceEventType code (type.domain.subDomain.eventOrAction): {0:?}")]
pub struct BadEndDeviceEventType(pub String);

impl FromStr for EndDeviceEventType {
    type Err = BadEndDeviceEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadEndDeviceEventType(s.to_string());
        let mut parts = s.split('.').map(|p| p.parse::<u16>().map_err(|_| bad()));
        let mut next = || parts.next().ok_or_else(bad)?;
        let code =
            EndDeviceEventType { device_type: next()?, domain: next()?, sub_domain: next()?, event_or_action: next()? };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(code)
    }
}

/// One event reported by a meter (IEC 61968-9 `EndDeviceEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndDeviceEvent {
    /// Identifier of this event record (CIM `mRID`), if the source gave one.
    pub mrid: Option<String>,
    /// The meter that raised the event (exported as `Assets/mRID`).
    pub meter: MeterId,
    /// When the event occurred (meter time converted to UTC): `createdDateTime`.
    pub created_at: Timestamp,
    /// What happened.
    pub event_type: EndDeviceEventType,
    /// Free-text reason, e.g. the meter's own event description.
    pub reason: Option<String>,
    /// Severity level, free text (e.g. "alarm", "info").
    pub severity: Option<String>,
    /// Name/value details (`EndDeviceEventDetails`), e.g. ("dlmsEventCode", "1").
    pub details: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_print_and_parse() {
        assert_eq!(EndDeviceEventType::POWER_DOWN.to_string(), "3.26.0.47");
        assert_eq!(EndDeviceEventType::POWER_RESTORED.to_string(), "3.26.0.216");
        for code in ["3.26.0.47", "0.0.0.0", "3.36.116.24", "65535.1.2.3"] {
            assert_eq!(code.parse::<EndDeviceEventType>().unwrap().to_string(), code);
        }
        for bad in ["", "3.26.0", "3.26.0.47.1", "3.26.x.47", "3.26.0.65536", "3..0.47", "-3.26.0.47"] {
            assert!(bad.parse::<EndDeviceEventType>().is_err(), "{bad:?}");
        }
    }
}
