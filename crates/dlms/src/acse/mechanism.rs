//! The authentication mechanism name (IEC 62056-5-3 §9.4.2.2.3 and §9.2.7.4): which
//! authentication the client proposes in the AARQ `[11]` and the server confirms in the
//! AARE `[9]`.

use std::fmt;

use serde::Serialize;

use crate::acse::oid::ObjectIdentifier;

/// `mechanism-name`: the OID `2.16.756.5.8.2.<id>`, encoded IMPLICIT
/// (`8B 07 60 85 74 05 08 02 <id>` in the AARQ, `89 07 …` in the AARE).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum MechanismName {
    /// `.0` lowest level security: no authentication.
    None,
    /// `.1` low level security (LLS): a password in the calling-authentication-value.
    Lls,
    /// `.2` high level security (HLS), manufacturer specific.
    Hls,
    /// `.3` HLS with MD5 (deprecated by DLMS UA).
    HlsMd5,
    /// `.4` HLS with SHA-1 (deprecated by DLMS UA).
    HlsSha1,
    /// `.5` HLS with GMAC (security suite 0/1).
    HlsGmac,
    /// `.6` HLS with SHA-256.
    HlsSha256,
    /// `.7` HLS with ECDSA (security suite 1/2).
    HlsEcdsa,
    /// Any other OID, kept so a server can answer "authentication-mechanism-name not
    /// recognised".
    Other(ObjectIdentifier),
}

impl MechanismName {
    /// The mechanism id, the last arc (0..=7); `None` for `Other`.
    pub fn id(&self) -> Option<u8> {
        match self {
            MechanismName::None => Some(0),
            MechanismName::Lls => Some(1),
            MechanismName::Hls => Some(2),
            MechanismName::HlsMd5 => Some(3),
            MechanismName::HlsSha1 => Some(4),
            MechanismName::HlsGmac => Some(5),
            MechanismName::HlsSha256 => Some(6),
            MechanismName::HlsEcdsa => Some(7),
            MechanismName::Other(_) => None,
        }
    }

    /// The mechanism with id 0..=7; `None` otherwise.
    pub fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => MechanismName::None,
            1 => MechanismName::Lls,
            2 => MechanismName::Hls,
            3 => MechanismName::HlsMd5,
            4 => MechanismName::HlsSha1,
            5 => MechanismName::HlsGmac,
            6 => MechanismName::HlsSha256,
            7 => MechanismName::HlsEcdsa,
            _ => return None,
        })
    }

    /// True for the high-level-security mechanisms 2..=7 (a challenge exchange follows
    /// the association).
    pub fn is_hls(&self) -> bool {
        matches!(self.id(), Some(2..=7))
    }

    /// The OID.
    pub fn oid(&self) -> ObjectIdentifier {
        match (self, self.id()) {
            (MechanismName::Other(oid), _) => oid.clone(),
            (_, Some(id)) => ObjectIdentifier::dlms_ua(2, id),
            (_, None) => ObjectIdentifier(Vec::new()),
        }
    }

    /// Maps an OID: `2.16.756.5.8.2.0..=7` to the named mechanisms, anything else to
    /// `Other`.
    pub fn from_oid(oid: ObjectIdentifier) -> Self {
        match oid.dlms_ua_parts() {
            Some((2, id)) => MechanismName::from_id(id).unwrap_or(MechanismName::Other(oid)),
            _ => MechanismName::Other(oid),
        }
    }
}

impl fmt::Display for MechanismName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MechanismName::None => f.write_str("no authentication (0)"),
            MechanismName::Lls => f.write_str("LLS (1)"),
            MechanismName::Hls => f.write_str("HLS (2)"),
            MechanismName::HlsMd5 => f.write_str("HLS MD5 (3)"),
            MechanismName::HlsSha1 => f.write_str("HLS SHA-1 (4)"),
            MechanismName::HlsGmac => f.write_str("HLS GMAC (5)"),
            MechanismName::HlsSha256 => f.write_str("HLS SHA-256 (6)"),
            MechanismName::HlsEcdsa => f.write_str("HLS ECDSA (7)"),
            MechanismName::Other(oid) => write!(f, "unknown mechanism {oid}"),
        }
    }
}
