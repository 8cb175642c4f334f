//! One meter as the registry keeps it: identity, transport, security, grid location,
//! data concentrator, type and life-cycle status.

use std::fmt;
use std::str::FromStr;

use dlms::security::{SecurityPolicy, SecuritySuite, SystemTitle};
use model::MeterId;
use serde::{Deserialize, Serialize};

use super::error::RecordError;
use super::meter_type::MeterType;

/// Longest serial number the registry accepts (COSEM 0.0.96.1.0.255 is an octet-string;
/// gridedge's simulated meters use up to 13 characters).
pub const MAX_SERIAL_LEN: usize = 32;
/// Longest logical device name (IEC 62056-6-2 §6.2.4, 0.0.42.0.0.255: at most 16 octets).
pub const MAX_LOGICAL_DEVICE_NAME_LEN: usize = 16;

/// The meter's life-cycle status in the HES.
///
/// | status | collected by the scheduler | on-demand read |
/// |---|---|---|
/// | provisioned | yes (the first good read makes it active) | yes |
/// | active | yes | yes |
/// | suspended | no | yes (forced) |
/// | decommissioned | no | no |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MeterStatus {
    /// Known to the HES (imported), not yet read successfully.
    #[default]
    Provisioned,
    /// In service: read on schedule.
    Active,
    /// Temporarily out of the schedule (e.g. a site visit, a disputed account).
    Suspended,
    /// Removed from service: never read again.
    Decommissioned,
}

impl MeterStatus {
    /// Every status.
    pub const ALL: [MeterStatus; 4] =
        [MeterStatus::Provisioned, MeterStatus::Active, MeterStatus::Suspended, MeterStatus::Decommissioned];

    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            MeterStatus::Provisioned => "provisioned",
            MeterStatus::Active => "active",
            MeterStatus::Suspended => "suspended",
            MeterStatus::Decommissioned => "decommissioned",
        }
    }

    /// True when the scheduler reads the meter on its own (provisioned or active).
    pub fn is_scheduled(self) -> bool {
        matches!(self, MeterStatus::Provisioned | MeterStatus::Active)
    }

    /// True when an operator's forced read may reach the meter (any status but
    /// decommissioned).
    pub fn allows_forced_read(self) -> bool {
        self != MeterStatus::Decommissioned
    }
}

impl fmt::Display for MeterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MeterStatus {
    type Err = RecordError;
    /// Case-insensitive status name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MeterStatus::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| RecordError::invalid("status", s, "provisioned, active, suspended or decommissioned"))
    }
}

/// The link layer on the meter's byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// IEC 62056-47 TCP wrapper (wPorts = SAPs).
    #[default]
    Wrapper,
    /// HDLC (IEC 62056-46) on the TCP stream, e.g. a meter behind a serial-to-IP
    /// converter or a DCU tunnel.
    Hdlc,
}

impl TransportKind {
    /// `wrapper` or `hdlc`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Wrapper => "wrapper",
            TransportKind::Hdlc => "hdlc",
        }
    }
}

impl FromStr for TransportKind {
    type Err = RecordError;
    /// Case-insensitive `wrapper` or `hdlc`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wrapper" | "" => Ok(TransportKind::Wrapper),
            "hdlc" => Ok(TransportKind::Hdlc),
            _ => Err(RecordError::invalid("transport", s, "wrapper or hdlc")),
        }
    }
}

/// How the HES reaches the meter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportConfig {
    /// Wrapper or HDLC.
    pub kind: TransportKind,
    /// IP address or host name of the meter (or of the DCU/modem port forwarding to it).
    pub host: String,
    /// TCP port (4059 is the DLMS/COSEM port).
    pub port: u16,
    /// Client SAP = wrapper source wPort / HDLC client address (16 public client,
    /// 1 management client).
    pub client_sap: u16,
    /// Server SAP = wrapper destination wPort / HDLC upper address (1 = management
    /// logical device).
    pub server_sap: u16,
    /// HDLC lower (physical) server address, with HDLC (gridedge meters use 17; `None` =
    /// a 1-byte server address). Ignored with the wrapper.
    pub server_physical: Option<u16>,
}

/// Authentication mechanism of the HES's association (IEC 62056-5-3 §7.2.2; the LLS
/// password and the HLS keys themselves live in the key store, never here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticationKind {
    /// Lowest level security (mechanism 0).
    #[default]
    None,
    /// Low level security, a password (mechanism 1).
    Low,
    /// High level security mechanism 5, GMAC, with suite 0 (needs the meter's keys).
    HighGmac,
}

impl AuthenticationKind {
    /// `none`, `low` or `high-gmac`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthenticationKind::None => "none",
            AuthenticationKind::Low => "low",
            AuthenticationKind::HighGmac => "high-gmac",
        }
    }
}

impl FromStr for AuthenticationKind {
    type Err = RecordError;
    /// Case-insensitive `none`, `low`/`lls` or `high-gmac`/`hls-gmac`/`hls5`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "" => Ok(AuthenticationKind::None),
            "low" | "lls" => Ok(AuthenticationKind::Low),
            "high-gmac" | "high_gmac" | "hls-gmac" | "hls5" => Ok(AuthenticationKind::HighGmac),
            _ => Err(RecordError::invalid("authentication", s, "none, low or high-gmac")),
        }
    }
}

/// Ciphering of the association (the meter's Security setup 0.0.43.0.0.255 attributes 2
/// and 3, IEC 62056-6-2 §5.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityProfile {
    /// Security suite id (0 AES-GCM-128; 1 and 2 are recorded but the key store provides
    /// suite 0 keys only).
    pub suite: u8,
    /// Security policy, version 1 bits (0x6C = requests and responses authenticated and
    /// encrypted).
    pub policy: u8,
}

impl SecurityProfile {
    /// Suite 0 with requests and responses authenticated and encrypted (0x6C).
    pub const SUITE0_DEFAULT: SecurityProfile = SecurityProfile { suite: 0, policy: 0x6C };

    /// The suite as the dlms type.
    ///
    /// # Errors
    /// [`RecordError::Invalid`] above 2.
    pub fn security_suite(&self) -> Result<SecuritySuite, RecordError> {
        SecuritySuite::from_u8(self.suite)
            .ok_or_else(|| RecordError::invalid("security_suite", &self.suite.to_string(), "0, 1 or 2"))
    }

    /// The policy as the dlms type.
    ///
    /// # Errors
    /// [`RecordError::Invalid`] when bits 0 or 1 are set.
    pub fn security_policy(&self) -> Result<SecurityPolicy, RecordError> {
        SecurityPolicy::from_bits(self.policy).map_err(|_| {
            RecordError::invalid("security_policy", &format!("0x{:02X}", self.policy), "version 1 bits (bits 2..7)")
        })
    }
}

/// One meter of the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterRecord {
    /// Serial number (0.0.96.1.0.255), the meter's identity in the HES and MDMS.
    pub serial: MeterId,
    /// The meter's system title (8 bytes, IEC 62056-5-3 §4.3.4), pinned for ciphered
    /// associations and the key derivation's `info`; `None` when unknown. Serialized as
    /// 16 hex digits.
    #[serde(with = "system_title_hex")]
    pub system_title: Option<SystemTitle>,
    /// Logical device name (0.0.42.0.0.255, at most 16 characters), informative.
    pub logical_device_name: Option<String>,
    /// Electricity, water or gas.
    pub meter_type: MeterType,
    /// How to reach it.
    pub transport: TransportConfig,
    /// Authentication mechanism.
    pub authentication: AuthenticationKind,
    /// Ciphering; `None` for an unciphered association.
    pub security: Option<SecurityProfile>,
    /// Distribution transformer the meter is supplied from.
    pub transformer: Option<String>,
    /// Feeder (medium-voltage circuit) of that transformer.
    pub feeder: Option<String>,
    /// Data concentrator the meter is registered with (`None` = reached directly, e.g.
    /// cellular). Sessions through one DCU are limited together.
    pub dcu: Option<String>,
    /// The shared communication link the meter's traffic uses (e.g. a PLC segment or a
    /// DCU's backhaul); sessions on one link are limited together. `None` = no shared link.
    pub link: Option<String>,
    /// The meter's IANA time zone (e.g. `Europe/London`): its daily billing read happens
    /// at local midnight.
    pub time_zone: String,
    /// Life-cycle status.
    pub status: MeterStatus,
}

fn check_label(field: &'static str, v: &Option<String>) -> Result<(), RecordError> {
    match v {
        Some(s) if s.is_empty() || s.len() > 64 || s.chars().any(|c| c.is_control()) => {
            Err(RecordError::invalid(field, s, "1..=64 characters without control characters"))
        }
        _ => Ok(()),
    }
}

impl MeterRecord {
    /// A record with defaults: electricity, wrapper to `host:port`, public client 16 to
    /// the management logical device 1, no authentication, no ciphering, UTC, provisioned.
    pub fn new(serial: impl Into<String>, host: impl Into<String>, port: u16) -> Self {
        MeterRecord {
            serial: MeterId(serial.into()),
            system_title: None,
            logical_device_name: None,
            meter_type: MeterType::Electricity,
            transport: TransportConfig {
                kind: TransportKind::Wrapper,
                host: host.into(),
                port,
                client_sap: 16,
                server_sap: 1,
                server_physical: None,
            },
            authentication: AuthenticationKind::None,
            security: None,
            transformer: None,
            feeder: None,
            dcu: None,
            link: None,
            time_zone: "UTC".to_string(),
            status: MeterStatus::Provisioned,
        }
    }

    /// Checks the record's consistency.
    ///
    /// # Errors
    /// [`RecordError::Invalid`] for: a serial that is empty, longer than
    /// [`MAX_SERIAL_LEN`] or not printable ASCII without spaces and commas; a logical
    /// device name above 16 bytes; an empty host or port 0; an HDLC physical address
    /// outside 0x10..=0x3FFD; HLS-GMAC without a suite 0 security profile; an undefined
    /// suite or policy; an unknown time zone; empty or over-long grid labels.
    pub fn validate(&self) -> Result<(), RecordError> {
        let s = &self.serial.0;
        if s.is_empty() || s.len() > MAX_SERIAL_LEN || !s.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(RecordError::invalid("serial", s, "1..=32 printable ASCII characters, no spaces or commas"));
        }
        if let Some(ldn) = &self.logical_device_name {
            if ldn.is_empty() || ldn.len() > MAX_LOGICAL_DEVICE_NAME_LEN {
                return Err(RecordError::invalid("logical_device_name", ldn, "1..=16 bytes"));
            }
        }
        let t = &self.transport;
        if t.host.trim().is_empty() || t.host.chars().any(char::is_whitespace) {
            return Err(RecordError::invalid("host", &t.host, "an IP address or host name"));
        }
        if t.port == 0 {
            return Err(RecordError::invalid("port", "0", "1..=65535"));
        }
        if t.kind == TransportKind::Hdlc {
            if let Some(p) = t.server_physical {
                if !(0x10..=0x3FFD).contains(&p) {
                    return Err(RecordError::invalid("server_physical", &p.to_string(), "16..=16381"));
                }
            }
        }
        if let Some(sec) = &self.security {
            sec.security_suite()?;
            sec.security_policy()?;
        }
        if self.authentication == AuthenticationKind::HighGmac && !matches!(self.security, Some(s) if s.suite == 0) {
            return Err(RecordError::invalid(
                "security_suite",
                &self.security.map(|s| s.suite.to_string()).unwrap_or_default(),
                "0 with authentication high-gmac",
            ));
        }
        check_label("transformer", &self.transformer)?;
        check_label("feeder", &self.feeder)?;
        check_label("dcu", &self.dcu)?;
        check_label("link", &self.link)?;
        self.zone()?;
        Ok(())
    }

    /// The meter's time zone.
    ///
    /// # Errors
    /// [`RecordError::Invalid`] when `time_zone` is not a known IANA zone.
    pub fn zone(&self) -> Result<jiff::tz::TimeZone, RecordError> {
        jiff::tz::TimeZone::get(&self.time_zone)
            .map_err(|_| RecordError::invalid("time_zone", &self.time_zone, "an IANA time zone, e.g. Europe/London"))
    }
}

/// Parses a system title: 16 hex digits (spaces and colons allowed between bytes).
///
/// # Errors
/// [`RecordError::Invalid`] for anything else.
pub fn parse_system_title(text: &str) -> Result<SystemTitle, RecordError> {
    let bytes = parse_hex(text).ok_or_else(|| RecordError::invalid("system_title", text, "16 hex digits"))?;
    SystemTitle::from_slice(&bytes).map_err(|_| RecordError::invalid("system_title", text, "16 hex digits"))
}

/// Parses hex digits, ignoring spaces, colons and dashes; `None` for an odd count or a
/// non-hex character.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !matches!(b, b' ' | b':' | b'-')).collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some((hex_val(*hi)? << 4) | hex_val(*lo)?),
            _ => None,
        })
        .collect()
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Serde of an optional system title as 16 uppercase hex digits.
mod system_title_hex {
    use dlms::security::SystemTitle;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<SystemTitle>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&t.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTitle>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| super::parse_system_title(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_catches_inconsistent_records() {
        let ok = MeterRecord::new("GE00000001", "127.0.0.1", 4059);
        assert_eq!(ok.validate(), Ok(()));
        let mut r = ok.clone();
        r.serial = MeterId("has space".into());
        assert!(r.validate().is_err());
        let mut r = ok.clone();
        r.authentication = AuthenticationKind::HighGmac;
        assert!(r.validate().is_err(), "HLS-GMAC needs a suite 0 profile");
        r.security = Some(SecurityProfile::SUITE0_DEFAULT);
        assert_eq!(r.validate(), Ok(()));
        r.security = Some(SecurityProfile { suite: 0, policy: 0x01 });
        assert!(r.validate().is_err(), "undefined policy bit");
        let mut r = ok.clone();
        r.time_zone = "Mars/Olympus".into();
        assert!(r.validate().is_err());
        let mut r = ok.clone();
        r.transport.kind = TransportKind::Hdlc;
        r.transport.server_physical = Some(3);
        assert!(r.validate().is_err());
        let mut r = ok;
        r.logical_device_name = Some("X".repeat(17));
        assert!(r.validate().is_err());
    }

    #[test]
    fn parses_names_and_hex() {
        assert_eq!("HDLC".parse::<TransportKind>(), Ok(TransportKind::Hdlc));
        assert_eq!("hls-gmac".parse::<AuthenticationKind>(), Ok(AuthenticationKind::HighGmac));
        assert!("ntlm".parse::<AuthenticationKind>().is_err());
        assert_eq!("Suspended".parse::<MeterStatus>(), Ok(MeterStatus::Suspended));
        assert_eq!(parse_hex("4D:4D 4d-00"), Some(vec![0x4D, 0x4D, 0x4D, 0x00]));
        assert_eq!(parse_hex("ABC"), None);
        assert_eq!(parse_hex("ZZ"), None);
        assert_eq!(parse_system_title("4D4D4D0000BC614E").map(|t| t.to_string()), Ok("4D4D4D0000BC614E".into()));
        assert!(parse_system_title("4D4D").is_err());
    }
}
