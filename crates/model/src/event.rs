//! End device events: what a meter reports besides readings (IEC 61968-9 `EndDeviceEvent`).
//!
//! An event is typed by an IEC 61968-9 `EndDeviceEventType` code (IEC 61968-9:2013 Annex E):
//! four dot-separated numbers `<EndDeviceType>.<EndDeviceDomain>.<EndDeviceSubdomain>.
//! <EndDeviceEventOrAction>`, each taken from its Annex E enumeration (tables E.2 to E.5).
//! The code is compositional: e.g. `3.26.0.47` reads "electric meter (3), power (26), no
//! sub-domain (0), loss detected (47)". The constants on [`EndDeviceEventType`] are the
//! codes gridedge emits; each names its four parts.
//!
//! The enumeration values used here (from the Annex E tables):
//! - EndDeviceType: 3 ElectricMeter, 4 GasMeter, 24 WaterMeter.
//! - EndDeviceDomain: 11 Firmware, 12 Security, 15 LoadControl, 20 Billing, 26 Power,
//!   31 RCDSwitch (remote connect/disconnect), 36 Clock.
//! - EndDeviceSubdomain: 0 not applicable, 29 Cover, 32 SecurityKey, 66 MagneticSwitch,
//!   79 PhaseVoltage (phase-independent voltage), 81 PrepaymentCredit, 114 Time,
//!   116 TimeSync, 261 Threshold, 283 Activation.
//! - EndDeviceEventOrAction: 4 Activated, 16 Closed, 24 Changed, 35 Invalid, 39 Opened,
//!   42 Connected, 44 Processed, 47 LossDetected, 68 Disconnected, 85 Failed,
//!   139 Exceeded, 150 MinLimitReached, 216 Restored, 223 SagStarted, 224 SagStopped,
//!   248 SwellStarted, 249 SwellStopped, 257 TamperDetected.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::MeterId;

/// An IEC 61968-9 `EndDeviceEventType` code (IEC 61968-9:2013 Annex E): four dot-separated
/// numbers `<type>.<domain>.<subDomain>.<eventOrAction>`, e.g. `3.26.0.47`: electric meter
/// (3), power (26), no sub-domain (0), loss detected (47).
///
/// Serialised (serde) as its dotted text form, e.g. `"3.26.0.47"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndDeviceEventType {
    /// EndDeviceType (Annex E table E.2): 3 electric meter, 4 gas meter, 24 water meter,
    /// 0 not applicable.
    pub device_type: u16,
    /// EndDeviceDomain (table E.3): 26 power, 36 clock, 31 remote connect/disconnect
    /// switch, 12 security, 20 billing, ...
    pub domain: u16,
    /// EndDeviceSubdomain (table E.4): 0 not applicable, 114 time, 116 time sync, ...
    pub sub_domain: u16,
    /// EndDeviceEventOrAction (table E.5): 47 loss detected, 216 restored, 24 changed,
    /// 35 invalid, 42 connected, 68 disconnected, 257 tamper detected, ...
    pub event_or_action: u16,
}

impl EndDeviceEventType {
    /// EndDeviceType 3: electric meter.
    pub const ELECTRIC_METER: u16 = 3;
    /// EndDeviceType 4: gas meter.
    pub const GAS_METER: u16 = 4;
    /// EndDeviceType 24: water meter.
    pub const WATER_METER: u16 = 24;

    /// `3.26.0.47` electric meter / Power / – / LossDetected: supply lost. The power down
    /// (last gasp) a meter reports when its mains supply fails; starts an outage.
    pub const POWER_DOWN: Self = Self::electric_meter(26, 0, 47);
    /// `3.26.0.85` electric meter / Power / – / Failed: power failure. Some head-ends and
    /// meter event logs report the power failure under this code instead of
    /// [`POWER_DOWN`](Self::POWER_DOWN); outage correlation treats both alike.
    pub const POWER_FAILURE: Self = Self::electric_meter(26, 0, 85);
    /// `3.26.0.216` electric meter / Power / – / Restored: supply back (power up); ends an
    /// outage.
    pub const POWER_RESTORED: Self = Self::electric_meter(26, 0, 216);
    /// `3.12.0.257` electric meter / Security / – / TamperDetected: tamper of an unspecified
    /// kind.
    pub const TAMPER_DETECTED: Self = Self::electric_meter(12, 0, 257);
    /// `3.12.29.39` electric meter / Security / Cover / Opened: meter or terminal cover
    /// opened (tamper).
    pub const COVER_OPENED: Self = Self::electric_meter(12, 29, 39);
    /// `3.12.29.16` electric meter / Security / Cover / Closed: the cover was closed again.
    pub const COVER_CLOSED: Self = Self::electric_meter(12, 29, 16);
    /// `3.12.66.257` electric meter / Security / MagneticSwitch / TamperDetected: strong
    /// magnetic field detected (magnetic tamper).
    pub const MAGNETIC_TAMPER: Self = Self::electric_meter(12, 66, 257);
    /// `3.26.79.223` electric meter / Power / PhaseVoltage / SagStarted: voltage sag (dip),
    /// phase-independent.
    pub const VOLTAGE_SAG_STARTED: Self = Self::electric_meter(26, 79, 223);
    /// `3.26.79.224` electric meter / Power / PhaseVoltage / SagStopped: the sag ended.
    pub const VOLTAGE_SAG_STOPPED: Self = Self::electric_meter(26, 79, 224);
    /// `3.26.79.248` electric meter / Power / PhaseVoltage / SwellStarted: voltage swell,
    /// phase-independent.
    pub const VOLTAGE_SWELL_STARTED: Self = Self::electric_meter(26, 79, 248);
    /// `3.26.79.249` electric meter / Power / PhaseVoltage / SwellStopped: the swell ended.
    pub const VOLTAGE_SWELL_STOPPED: Self = Self::electric_meter(26, 79, 249);
    /// `3.36.114.35` electric meter / Clock / Time / Invalid: the meter's clock is invalid
    /// (e.g. after a long power failure that exhausted the clock's reserve).
    pub const CLOCK_INVALID: Self = Self::electric_meter(36, 114, 35);
    /// `3.36.116.24` electric meter / Clock / TimeSync / Changed: the meter's clock was set.
    pub const CLOCK_SET: Self = Self::electric_meter(36, 116, 24);
    /// `3.31.0.42` electric meter / RCDSwitch / – / Connected: the supply relay (disconnect
    /// control, COSEM class 70) closed.
    pub const RELAY_CONNECTED: Self = Self::electric_meter(31, 0, 42);
    /// `3.31.0.68` electric meter / RCDSwitch / – / Disconnected: the supply relay opened.
    pub const RELAY_DISCONNECTED: Self = Self::electric_meter(31, 0, 68);
    /// `3.11.283.4` electric meter / Firmware / Activation / Activated: a new firmware image
    /// was activated (image transfer, COSEM class 18).
    pub const FIRMWARE_ACTIVATED: Self = Self::electric_meter(11, 283, 4);
    /// `3.20.81.44` electric meter / Billing / PrepaymentCredit / Processed: a prepayment
    /// token (IEC 62055-41 STS) was accepted and applied.
    pub const TOKEN_ACCEPTED: Self = Self::electric_meter(20, 81, 44);
    /// `3.20.81.85` electric meter / Billing / PrepaymentCredit / Failed: a prepayment token
    /// was rejected (bad decryption, already used, expired key, ...).
    pub const TOKEN_REJECTED: Self = Self::electric_meter(20, 81, 85);
    /// `3.20.81.150` electric meter / Billing / PrepaymentCredit / MinLimitReached: credit
    /// fell to the low-credit threshold.
    pub const LOW_CREDIT: Self = Self::electric_meter(20, 81, 150);
    /// `3.12.32.24` electric meter / Security / SecurityKey / Changed: a security key (DLMS
    /// global key or STS decoder key) was changed.
    pub const KEY_CHANGED: Self = Self::electric_meter(12, 32, 24);
    /// `3.15.261.139` electric meter / LoadControl / Threshold / Exceeded: the load limit
    /// (COSEM limiter, class 71) threshold was exceeded.
    pub const LOAD_LIMIT_EXCEEDED: Self = Self::electric_meter(15, 261, 139);

    /// Every named code above, with a short English name, for display and lookups.
    pub const KNOWN: [(Self, &'static str); 21] = [
        (Self::POWER_DOWN, "power down"),
        (Self::POWER_FAILURE, "power failure"),
        (Self::POWER_RESTORED, "power restored"),
        (Self::TAMPER_DETECTED, "tamper detected"),
        (Self::COVER_OPENED, "cover opened"),
        (Self::COVER_CLOSED, "cover closed"),
        (Self::MAGNETIC_TAMPER, "magnetic tamper"),
        (Self::VOLTAGE_SAG_STARTED, "voltage sag started"),
        (Self::VOLTAGE_SAG_STOPPED, "voltage sag stopped"),
        (Self::VOLTAGE_SWELL_STARTED, "voltage swell started"),
        (Self::VOLTAGE_SWELL_STOPPED, "voltage swell stopped"),
        (Self::CLOCK_INVALID, "clock invalid"),
        (Self::CLOCK_SET, "clock set"),
        (Self::RELAY_CONNECTED, "relay connected"),
        (Self::RELAY_DISCONNECTED, "relay disconnected"),
        (Self::FIRMWARE_ACTIVATED, "firmware activated"),
        (Self::TOKEN_ACCEPTED, "token accepted"),
        (Self::TOKEN_REJECTED, "token rejected"),
        (Self::LOW_CREDIT, "low credit"),
        (Self::KEY_CHANGED, "key changed"),
        (Self::LOAD_LIMIT_EXCEEDED, "load limit exceeded"),
    ];

    /// An event of an electric meter (EndDeviceType 3).
    pub const fn electric_meter(domain: u16, sub_domain: u16, event_or_action: u16) -> Self {
        EndDeviceEventType { device_type: Self::ELECTRIC_METER, domain, sub_domain, event_or_action }
    }

    /// The same event for another EndDeviceType, e.g.
    /// `EndDeviceEventType::COVER_OPENED.for_device_type(EndDeviceEventType::WATER_METER)`.
    pub const fn for_device_type(self, device_type: u16) -> Self {
        EndDeviceEventType { device_type, ..self }
    }

    /// Whether this code reports loss of supply (Power / – / LossDetected or Failed, any
    /// device type): the power-down / last-gasp events that open outages.
    pub const fn is_power_down(self) -> bool {
        self.domain == 26 && self.sub_domain == 0 && (self.event_or_action == 47 || self.event_or_action == 85)
    }

    /// Whether this code reports supply back (Power / – / Restored, any device type).
    pub const fn is_power_restored(self) -> bool {
        self.domain == 26 && self.sub_domain == 0 && self.event_or_action == 216
    }

    /// The short English name of a code in [`KNOWN`](Self::KNOWN) (compared ignoring the
    /// device type), or `None`.
    pub fn name(self) -> Option<&'static str> {
        Self::KNOWN.iter().find(|(code, _)| code.for_device_type(self.device_type) == self).map(|(_, name)| *name)
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

    /// Parses the dotted form `type.domain.subDomain.eventOrAction` (decimal, no sign).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadEndDeviceEventType(s.to_string());
        let mut parts = s.split('.').map(|p| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse::<u16>().map_err(|_| bad())
        });
        let mut next = || parts.next().ok_or_else(bad)?;
        let code =
            EndDeviceEventType { device_type: next()?, domain: next()?, sub_domain: next()?, event_or_action: next()? };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(code)
    }
}

impl Serialize for EndDeviceEventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EndDeviceEventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One event reported by (or about) a meter: the domain form of an IEC 61968-9
/// `EndDeviceEvent`, as the HES hands it to the MDMS.
///
/// The MDMS stores an event once per key (meter, event type, `occurred_at`, source): an
/// event delivered twice by the same path is a duplicate; the same event arriving by two
/// paths (a push and later the event-log profile) is kept once per path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndDeviceEvent {
    /// The meter that raised the event (its CIM `EndDevice.mRID`).
    pub meter: MeterId,
    /// What happened.
    pub event_type: EndDeviceEventType,
    /// When it happened by the meter's clock, converted to UTC (CIM `createdDateTime`).
    pub occurred_at: Timestamp,
    /// When the HES received it, UTC (HES clock).
    pub received_at: Timestamp,
    /// Which path delivered it: [`EndDeviceEvent::SOURCE_PUSH`], `SOURCE_PROFILE`,
    /// `SOURCE_PREPAYMENT`, `SOURCE_COMMAND`, or another short lower-case name.
    pub source: String,
    /// The meter's own event code from its event log (DLMS/COSEM event code, e.g. IDIS
    /// standard event log code 1 "power down"), when the event came from a DLMS meter.
    pub dlms_event_code: Option<u16>,
    /// Alarm register bits (DLMS alarm register 1, 0.0.97.98.0.255) that raised a pushed
    /// alarm, when the event came from an alarm push.
    pub alarm_bits: Option<u32>,
    /// Free-form name/value details (CIM `EndDeviceEventDetails`), e.g. ("phase", "L2") or
    /// ("tokenId", "...").
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

impl EndDeviceEvent {
    /// Source: a DLMS event-notification or data-notification push received by the HES.
    pub const SOURCE_PUSH: &'static str = "push";
    /// Source: an entry of an event-log profile (COSEM profile generic) read by the HES.
    pub const SOURCE_PROFILE: &'static str = "profile";
    /// Source: the prepayment (STS token) path.
    pub const SOURCE_PREPAYMENT: &'static str = "prepayment";
    /// Source: the result of a command the HES sent (relay operation, clock set, ...).
    pub const SOURCE_COMMAND: &'static str = "command";

    /// An event with no DLMS code, alarm bits or details.
    pub fn new(
        meter: MeterId,
        event_type: EndDeviceEventType,
        occurred_at: Timestamp,
        received_at: Timestamp,
        source: impl Into<String>,
    ) -> Self {
        EndDeviceEvent {
            meter,
            event_type,
            occurred_at,
            received_at,
            source: source.into(),
            dlms_event_code: None,
            alarm_bits: None,
            details: BTreeMap::new(),
        }
    }
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
        for bad in ["", "3.26.0", "3.26.0.47.1", "3.26.x.47", "3.26.0.65536", "3..0.47", "-3.26.0.47", "+3.26.0.47"] {
            assert!(bad.parse::<EndDeviceEventType>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn known_codes_are_distinct_and_named() {
        for (i, (a, _)) in EndDeviceEventType::KNOWN.iter().enumerate() {
            for (b, _) in &EndDeviceEventType::KNOWN[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(EndDeviceEventType::TOKEN_REJECTED.name(), Some("token rejected"));
        let water = EndDeviceEventType::COVER_OPENED.for_device_type(EndDeviceEventType::WATER_METER);
        assert_eq!(water.to_string(), "24.12.29.39");
        assert_eq!(water.name(), Some("cover opened"));
        assert_eq!("3.99.0.1".parse::<EndDeviceEventType>().unwrap().name(), None);
    }

    #[test]
    fn power_classification() {
        assert!(EndDeviceEventType::POWER_DOWN.is_power_down());
        assert!(EndDeviceEventType::POWER_FAILURE.is_power_down());
        assert!(!EndDeviceEventType::POWER_RESTORED.is_power_down());
        assert!(EndDeviceEventType::POWER_RESTORED.is_power_restored());
        assert!(!EndDeviceEventType::VOLTAGE_SAG_STARTED.is_power_down());
    }

    #[test]
    fn serde_uses_the_dotted_code() {
        let mut event = EndDeviceEvent::new(
            MeterId::from("M1"),
            EndDeviceEventType::POWER_DOWN,
            "2025-01-01T00:00:00Z".parse().unwrap(),
            "2025-01-01T00:00:02Z".parse().unwrap(),
            EndDeviceEvent::SOURCE_PUSH,
        );
        event.dlms_event_code = Some(1);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event_type"], "3.26.0.47");
        assert_eq!(json["meter"], "M1");
        let back: EndDeviceEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        assert!(serde_json::from_str::<EndDeviceEventType>("\"3.26.0\"").is_err());
    }
}
