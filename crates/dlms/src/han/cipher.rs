//! Deciphering encrypted HAN pushes (IEC 62056-5-3 §9.2.7.2.4, security suite 0 via
//! [`crate::security`]): a general-glo-ciphering APDU (`DB`, system title inside) or a
//! service-specific glo- APDU (system title given by the caller) is turned back into the
//! plaintext APDU, normally a Data-Notification.
//!
//! Some meters (Kaifa MA309, Poland) mark their pushes with security suite 1 and
//! encryption only (SC `0x21`). Suites 0 and 1 share the symmetric algorithm, AES-GCM-128
//! (IEC 62056-5-3 §9.2.3.7); without authentication the security control byte takes no
//! part in the computation (no additional authenticated data), so such APDUs are
//! deciphered with the suite 0 routine. Suite 1 APDUs with authentication are refused.

use std::fmt;

use serde::Serialize;

use crate::Codec;
use crate::security::suite0::{self, CipherKeys};
use crate::security::{AesKey, CipheredApdu, SecurityControl, SecurityError, SystemTitle};

use super::HanError;

/// The keys for an encrypted HAN port. `Debug` does not print them.
#[derive(Clone, PartialEq, Eq)]
pub struct HanKeys {
    /// The global unicast encryption key (GUEK), 16 bytes.
    pub encryption_key: [u8; 16],
    /// The authentication key (AK), needed when the APDU carries a GCM tag (SC bit 4).
    pub authentication_key: Option<[u8; 16]>,
    /// The meter's system title, needed for service-specific glo- APDUs and for
    /// general-glo-ciphering APDUs that omit it; when the APDU carries one, it is used.
    pub system_title: Option<[u8; 8]>,
}

impl fmt::Debug for HanKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HanKeys")
            .field("encryption_key", &"<redacted>")
            .field("authentication_key", &self.authentication_key.map(|_| "<redacted>"))
            .field("system_title", &self.system_title)
            .finish()
    }
}

/// What the security header of a deciphered APDU said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityInfo {
    /// The ciphered APDU tag (`0xDB` general-glo-ciphering, ...).
    pub ciphered_tag: u8,
    /// The sender's system title, upper-case hex.
    pub system_title: String,
    /// The security control byte.
    pub security_control: u8,
    /// The invocation counter.
    pub invocation_counter: u32,
    /// True when a GCM tag was present and verified.
    pub authenticated: bool,
    /// True when the content was encrypted.
    pub encrypted: bool,
}

/// The plaintext APDU and the security header it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deciphered {
    /// The plaintext APDU.
    pub apdu: Vec<u8>,
    /// The security header.
    pub info: SecurityInfo,
}

/// The system title a ciphered APDU names, or `None` (service-specific glo- APDUs and an
/// empty general-ciphering system title).
pub fn system_title_of(apdu: &[u8]) -> Option<[u8; 8]> {
    match CipheredApdu::from_bytes(apdu).ok()? {
        CipheredApdu::General(g) => <[u8; 8]>::try_from(g.system_title.as_slice()).ok(),
        CipheredApdu::ServiceSpecific(_) => None,
    }
}

/// Deciphers a ciphered APDU with `keys`.
///
/// # Errors
/// [`HanError::Security`] for a malformed ciphered APDU, an unsupported suite or security
/// control, a missing system title or authentication key ([`SecurityError::MissingKey`]
/// is not used: these are reported as [`HanError::KeyRequired`]), or a tag that does not
/// verify.
pub fn decipher(apdu: &[u8], keys: &HanKeys) -> Result<Deciphered, HanError> {
    let ciphered = CipheredApdu::from_bytes(apdu).map_err(|e| HanError::Security(SecurityError::Decode(e)))?;
    let carried = match &ciphered {
        CipheredApdu::General(g) if !g.system_title.is_empty() => {
            Some(SystemTitle::from_slice(&g.system_title).map_err(HanError::Security)?)
        }
        _ => None,
    };
    let system_title = carried
        .or(keys.system_title.map(SystemTitle))
        .ok_or(HanError::KeyRequired { what: "system title", system_title: None })?;
    let header = ciphered.security_header();
    let sc = header.security_control;
    let protection = sc.protection().ok_or(HanError::Security(SecurityError::UnsupportedSecurityControl(sc.0)))?;
    // Suite 1 shares AES-GCM-128 with suite 0; without authentication SC is not in the AAD.
    let effective_sc = match sc.suite_id() {
        1 if !protection.authenticated() => SecurityControl(sc.0 & !SecurityControl::SUITE_MASK),
        _ => sc,
    };
    let encryption_key = AesKey::new(keys.encryption_key);
    let authentication_key = match (protection.authenticated(), keys.authentication_key) {
        (true, None) => return Err(HanError::KeyRequired { what: "authentication key", system_title: None }),
        (_, ak) => AesKey::new(ak.unwrap_or([0; 16])),
    };
    let plain = suite0::decrypt(
        effective_sc,
        &system_title,
        header.invocation_counter,
        CipherKeys { encryption_key: &encryption_key, authentication_key: &authentication_key },
        ciphered.ciphered_information(),
    )
    .map_err(HanError::Security)?;
    Ok(Deciphered {
        apdu: plain,
        info: SecurityInfo {
            ciphered_tag: ciphered.tag(),
            system_title: system_title.as_bytes().iter().map(|b| format!("{b:02X}")).collect(),
            security_control: sc.0,
            invocation_counter: header.invocation_counter,
            authenticated: protection.authenticated(),
            encrypted: protection.encrypted(),
        },
    })
}
