//! The Security setup interface class (class_id 64, IEC 62056-6-2 §5.3.7; DLMS UA Blue
//! Book §4.4.7), instance `0.0.43.0.0.255` for the current association: pure helpers to
//! encode and decode its attributes and method parameters. The meter's object model holds
//! the object; these functions hold the wire shapes.
//!
//! | attribute | name | type |
//! |---|---|---|
//! | 1 | logical_name | octet-string(6) |
//! | 2 | security_policy | enum (see [`SecurityPolicy`]) |
//! | 3 | security_suite | enum (0 AES-GCM-128, 1 ECDH-ECDSA-AES-GCM-128-SHA-256, 2 …-256-SHA-384) |
//! | 4 | client_system_title | octet-string(8) |
//! | 5 | server_system_title | octet-string(8) |
//! | 6 | certificates (version 1) | array of certificate_info |
//!
//! | method | name | parameter |
//! |---|---|---|
//! | 1 | security_activate | security_policy enum |
//! | 2 | key_transfer | array of key_data: structure { key_id enum, key_wrapped octet-string } |
//! | 3 | key_agreement | (suite 1/2) |
//! | 4-8 | certificate management | (suite 1/2) |

use crate::data::Data;
use crate::obis::Obis;
use crate::security::control::SecuritySuite;
use crate::security::error::SecurityError;
use crate::security::key_wrap::{unwrap_key, wrap_key};
use crate::security::keys::{AesKey, KeyId, SystemTitle};
use crate::security::policy::SecurityPolicy;
use crate::xdlms::{CosemAttributeDescriptor, CosemMethodDescriptor};

/// Security setup interface class id.
pub const SECURITY_SETUP_CLASS_ID: u16 = 64;
/// The Security setup object of the current association, `0.0.43.0.0.255`.
pub const SECURITY_SETUP_OBIS: Obis = Obis::new(0, 0, 43, 0, 0, 255);

/// Attribute indexes of Security setup.
pub mod attribute {
    /// 1 logical_name.
    pub const LOGICAL_NAME: i8 = 1;
    /// 2 security_policy.
    pub const SECURITY_POLICY: i8 = 2;
    /// 3 security_suite.
    pub const SECURITY_SUITE: i8 = 3;
    /// 4 client_system_title.
    pub const CLIENT_SYSTEM_TITLE: i8 = 4;
    /// 5 server_system_title.
    pub const SERVER_SYSTEM_TITLE: i8 = 5;
    /// 6 certificates (version 1).
    pub const CERTIFICATES: i8 = 6;
}

/// Method indexes of Security setup.
pub mod method {
    /// 1 security_activate.
    pub const SECURITY_ACTIVATE: i8 = 1;
    /// 2 key_transfer.
    pub const KEY_TRANSFER: i8 = 2;
    /// 3 key_agreement.
    pub const KEY_AGREEMENT: i8 = 3;
}

/// The descriptor of attribute `attribute` of the Security setup object `obis`.
pub fn attribute_descriptor(obis: Obis, attribute: i8) -> CosemAttributeDescriptor {
    CosemAttributeDescriptor::new(SECURITY_SETUP_CLASS_ID, obis, attribute)
}

/// The descriptor of method `method` of the Security setup object `obis`.
pub fn method_descriptor(obis: Obis, method: i8) -> CosemMethodDescriptor {
    CosemMethodDescriptor::new(SECURITY_SETUP_CLASS_ID, obis, method)
}

fn invalid(what: &'static str, detail: impl Into<String>) -> SecurityError {
    SecurityError::Decode(crate::codec::DecodeError::invalid(what, detail))
}

/// Attribute 2 (and the security_activate parameter) for object `version` 0 or 1:
/// `enum` with the version 0 value (0..=3) or the version 1 bits.
///
/// # Errors
/// [`SecurityError::UnsupportedPolicy`] when `version` is 0 and the policy has no
/// version 0 equivalent, or `version` is above 1.
pub fn security_policy_to_data(policy: SecurityPolicy, version: u8) -> Result<Data, SecurityError> {
    match version {
        0 => policy.to_version0().map(Data::Enum).ok_or(SecurityError::UnsupportedPolicy(policy.bits())),
        1 => Ok(Data::Enum(policy.bits())),
        _ => Err(SecurityError::UnsupportedPolicy(policy.bits())),
    }
}

/// Reads attribute 2 (or a security_activate parameter) of a version 0 or 1 object.
///
/// # Errors
/// [`SecurityError::Decode`] when `data` is not an `enum`;
/// [`SecurityError::UnsupportedPolicy`] for undefined values or versions.
pub fn security_policy_from_data(data: &Data, version: u8) -> Result<SecurityPolicy, SecurityError> {
    let Data::Enum(v) = data else {
        return Err(invalid("security_policy", "expected enum"));
    };
    match version {
        0 => SecurityPolicy::from_version0(*v),
        1 => SecurityPolicy::from_bits(*v),
        _ => Err(SecurityError::UnsupportedPolicy(*v)),
    }
}

/// Attribute 3: `enum` suite id.
pub fn security_suite_to_data(suite: SecuritySuite) -> Data {
    Data::Enum(suite as u8)
}

/// Reads attribute 3.
///
/// # Errors
/// [`SecurityError::Decode`] when not an `enum`; [`SecurityError::UnsupportedSecuritySuite`]
/// above 2.
pub fn security_suite_from_data(data: &Data) -> Result<SecuritySuite, SecurityError> {
    let Data::Enum(v) = data else {
        return Err(invalid("security_suite", "expected enum"));
    };
    SecuritySuite::from_u8(*v).ok_or(SecurityError::UnsupportedSecuritySuite(*v))
}

/// Attributes 4 and 5: `octet-string(8)`.
pub fn system_title_to_data(title: &SystemTitle) -> Data {
    Data::OctetString(title.as_bytes().to_vec())
}

/// Reads attribute 4 or 5. A client_system_title not yet known reads as an empty
/// octet-string: that is `Ok(None)`.
///
/// # Errors
/// [`SecurityError::Decode`] when not an octet-string;
/// [`SecurityError::InvalidSystemTitle`] for a length other than 0 or 8.
pub fn system_title_from_data(data: &Data) -> Result<Option<SystemTitle>, SecurityError> {
    let Data::OctetString(b) = data else {
        return Err(invalid("system_title", "expected octet-string"));
    };
    if b.is_empty() { Ok(None) } else { SystemTitle::from_slice(b).map(Some) }
}

/// One `key_data` element of key_transfer: which key, wrapped with the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyData {
    /// The key being transferred.
    pub key_id: KeyId,
    /// The RFC 3394 wrapped key (24 bytes for AES-128).
    pub key_wrapped: Vec<u8>,
}

/// The key_transfer (method 2) parameter: `array of structure { enum key_id,
/// octet-string key_wrapped }`.
pub fn key_transfer_parameters(keys: &[KeyData]) -> Data {
    Data::Array(
        keys.iter()
            .map(|k| Data::Structure(vec![Data::Enum(k.key_id as u8), Data::OctetString(k.key_wrapped.clone())]))
            .collect(),
    )
}

/// Reads a key_transfer parameter.
///
/// # Errors
/// [`SecurityError::Decode`] when the shape is not an array of 2-element structures of
/// `enum` and `octet-string`, when it is empty, or when a key_id is undefined.
pub fn parse_key_transfer_parameters(data: &Data) -> Result<Vec<KeyData>, SecurityError> {
    let what = "key_transfer parameter";
    let Data::Array(items) = data else {
        return Err(invalid(what, "expected array of key_data"));
    };
    if items.is_empty() {
        return Err(invalid(what, "empty array"));
    }
    items
        .iter()
        .map(|item| match item {
            Data::Structure(fields) => match fields.as_slice() {
                [Data::Enum(id), Data::OctetString(wrapped)] => Ok(KeyData {
                    key_id: KeyId::from_u8(*id).ok_or_else(|| invalid(what, format!("undefined key_id {id}")))?,
                    key_wrapped: wrapped.clone(),
                }),
                _ => Err(invalid(what, "key_data must be structure { enum, octet-string }")),
            },
            _ => Err(invalid(what, "key_data must be a structure")),
        })
        .collect()
}

/// Builds a key_transfer parameter: each key wrapped with the master key `kek`.
pub fn wrap_keys_for_transfer(kek: &AesKey, keys: &[(KeyId, AesKey)]) -> Data {
    let data: Vec<KeyData> =
        keys.iter().map(|(id, k)| KeyData { key_id: *id, key_wrapped: wrap_key(kek, k).to_vec() }).collect();
    key_transfer_parameters(&data)
}

/// Reads and unwraps a key_transfer parameter with the master key `kek` (what the
/// server does before installing the new keys). All keys are checked before any is
/// returned, so a caller can apply them all or none.
///
/// # Errors
/// The errors of [`parse_key_transfer_parameters`]; [`SecurityError::KeyUnwrap`] when a
/// key does not unwrap under `kek`.
pub fn unwrap_key_transfer(kek: &AesKey, data: &Data) -> Result<Vec<(KeyId, AesKey)>, SecurityError> {
    parse_key_transfer_parameters(data)?.into_iter().map(|k| Ok((k.key_id, unwrap_key(kek, &k.key_wrapped)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_and_suite_attributes() {
        let p = SecurityPolicy::ALL_AUTHENTICATED_ENCRYPTED;
        assert_eq!(security_policy_to_data(p, 1), Ok(Data::Enum(0x6C)));
        assert_eq!(security_policy_to_data(p, 0), Ok(Data::Enum(3)));
        assert_eq!(security_policy_from_data(&Data::Enum(3), 0), Ok(p));
        assert_eq!(security_policy_from_data(&Data::Enum(0x6C), 1), Ok(p));
        assert!(security_policy_from_data(&Data::Unsigned(3), 0).is_err());
        assert!(security_policy_to_data(SecurityPolicy::from_bits(0x2C).unwrap(), 0).is_err());
        assert_eq!(security_suite_to_data(SecuritySuite::Suite0), Data::Enum(0));
        assert_eq!(security_suite_from_data(&Data::Enum(1)), Ok(SecuritySuite::Suite1));
        assert!(security_suite_from_data(&Data::Enum(3)).is_err());
    }

    #[test]
    fn system_titles() {
        let st = SystemTitle([0x4D, 0x4D, 0x4D, 0, 0, 0xBC, 0x61, 0x4E]);
        assert_eq!(system_title_from_data(&system_title_to_data(&st)), Ok(Some(st)));
        assert_eq!(system_title_from_data(&Data::OctetString(vec![])), Ok(None));
        assert!(system_title_from_data(&Data::OctetString(vec![1; 5])).is_err());
        assert!(system_title_from_data(&Data::VisibleString(vec![1; 8])).is_err());
    }

    #[test]
    fn key_transfer_round_trip_and_shape_errors() {
        let kek = AesKey::new([9; 16]);
        let keys =
            vec![(KeyId::GlobalUnicastEncryption, AesKey::new([1; 16])), (KeyId::Authentication, AesKey::new([2; 16]))];
        let param = wrap_keys_for_transfer(&kek, &keys);
        let Data::Array(items) = &param else { panic!("{param:?}") };
        assert_eq!(items.len(), 2);
        assert!(
            matches!(&items[0], Data::Structure(f) if f[0] == Data::Enum(0) && f[1].as_bytes().map(<[u8]>::len) == Some(24))
        );
        assert_eq!(unwrap_key_transfer(&kek, &param), Ok(keys));
        assert!(matches!(unwrap_key_transfer(&AesKey::new([8; 16]), &param), Err(SecurityError::KeyUnwrap(_))));
        for bad in [
            Data::Array(vec![]),
            Data::Structure(vec![]),
            Data::Array(vec![Data::Structure(vec![Data::Enum(9), Data::OctetString(vec![0; 24])])]),
            Data::Array(vec![Data::Structure(vec![Data::Unsigned(0), Data::OctetString(vec![0; 24])])]),
            Data::Array(vec![Data::Enum(0)]),
        ] {
            assert!(matches!(parse_key_transfer_parameters(&bad), Err(SecurityError::Decode(_))), "{bad:?}");
        }
    }
}
