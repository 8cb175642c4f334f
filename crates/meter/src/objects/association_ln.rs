//! The current association, Association LN 0.0.40.0.0.255 (interface class 15 version 1,
//! IEC 62056-6-2 §4.4): the object list with access rights, the partners and the context
//! the server's association state machine negotiated.
//!
//! Attributes: 2 `object_list` = array of `object_list_element` structure { class_id
//! long-unsigned, version unsigned, logical_name octet-string(6), access_rights structure {
//! array of attribute_access_item structure { attribute_id integer, access_mode enum,
//! access_selectors (null-data | array of integer) }, array of method_access_item structure {
//! method_id integer, access_mode enum } } }; 3 `associated_partners_id` structure {
//! client_SAP integer, server_SAP long-unsigned }; 4 `application_context_name`
//! octet-string (the BER encoding of the OBJECT IDENTIFIER value, 2.16.756.5.8.1.x);
//! 5 `xDLMS_context_info` structure { conformance bit-string(24), max_receive_pdu_size
//! long-unsigned, max_send_pdu_size long-unsigned, dlms_version_number unsigned,
//! quality_of_service integer, cyphering_info octet-string }; 6
//! `authentication_mechanism_name` octet-string (2.16.756.5.8.2.x); 8 `association_status`
//! enum (0 non-associated, 1 association-pending, 2 associated).

use dlms::Data;
use dlms::data::BitString;

use crate::objects::CosemObject;

/// Attribute 8 `association_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum AssociationStatus {
    /// (0) non-associated.
    NonAssociated = 0,
    /// (1) association-pending (HLS pass 3/4 outstanding).
    AssociationPending = 1,
    /// (2) associated.
    Associated = 2,
}

/// What the server's association state machine tells the object tree about the current
/// association; shown by Association LN attributes 3..=6 and 8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationContext {
    /// The client's SAP (e.g. 16 public client, 1 management client).
    pub client_sap: i8,
    /// The server's (logical device's) SAP; 1 = management logical device.
    pub server_sap: u16,
    /// Last arc of the application context name 2.16.756.5.8.1.x (1 LN without ciphering,
    /// 3 LN with ciphering).
    pub application_context_id: u8,
    /// Last arc of the authentication mechanism name 2.16.756.5.8.2.x (0 lowest, 1 low,
    /// 5 HLS GMAC, 7 HLS ECDSA).
    pub mechanism_id: u8,
    /// Negotiated conformance block, 24 bits (bit 0 = most significant), e.g. 0x00101D =
    /// block-transfer-with-get, get, set, selective-access, action.
    pub conformance: u32,
    /// Server max_receive_pdu_size, bytes.
    pub max_receive_pdu_size: u16,
    /// Client max_receive_pdu_size = the server's max send size, bytes.
    pub max_send_pdu_size: u16,
    /// DLMS version number (6).
    pub dlms_version: u8,
    /// Association status.
    pub status: AssociationStatus,
}

impl Default for AssociationContext {
    /// A management client (SAP 1) associated to the management logical device (SAP 1) with
    /// LN referencing, no ciphering, lowest-level security.
    fn default() -> Self {
        AssociationContext {
            client_sap: 1,
            server_sap: 1,
            application_context_id: 1,
            mechanism_id: 0,
            conformance: 0x00_10_1D,
            max_receive_pdu_size: 1024,
            max_send_pdu_size: 1024,
            dlms_version: 6,
            status: AssociationStatus::Associated,
        }
    }
}

/// BER encoding of the OBJECT IDENTIFIER prefix 2.16.756.5.8 ({joint-iso-ccitt(2)
/// country(16) country-name(756) identified-organization(5) DLMS-UA(8)}).
const DLMS_UA_OID_PREFIX: [u8; 5] = [0x60, 0x85, 0x74, 0x05, 0x08];

impl AssociationContext {
    fn oid(group: u8, id: u8) -> Data {
        let mut v = DLMS_UA_OID_PREFIX.to_vec();
        v.extend_from_slice(&[group, id]);
        Data::OctetString(v)
    }

    /// Attribute 3..=6 or 8 as Data (`None` for other indices).
    pub fn attribute(&self, id: i8) -> Option<Data> {
        Some(match id {
            3 => Data::Structure(vec![Data::Integer(self.client_sap), Data::LongUnsigned(self.server_sap)]),
            4 => Self::oid(1, self.application_context_id),
            5 => {
                let c = self.conformance.to_be_bytes();
                Data::Structure(vec![
                    Data::BitString(BitString { bits: 24, bytes: c[1..].to_vec() }),
                    Data::LongUnsigned(self.max_receive_pdu_size),
                    Data::LongUnsigned(self.max_send_pdu_size),
                    Data::Unsigned(self.dlms_version),
                    Data::Integer(0),
                    Data::OctetString(Vec::new()),
                ])
            }
            6 => Self::oid(2, self.mechanism_id),
            8 => Data::Enum(self.status as u8),
            _ => return None,
        })
    }
}

/// One `object_list_element` for `o`.
pub fn object_list_element(o: &CosemObject) -> Data {
    let attributes = o
        .attributes
        .iter()
        .map(|a| {
            let selectors = if a.selectors.is_empty() {
                Data::NullData
            } else {
                Data::Array(a.selectors.iter().map(|&s| Data::Integer(s as i8)).collect())
            };
            Data::Structure(vec![Data::Integer(a.attribute_id), Data::Enum(a.mode as u8), selectors])
        })
        .collect();
    let methods =
        o.methods.iter().map(|m| Data::Structure(vec![Data::Integer(m.method_id), Data::Enum(m.mode as u8)])).collect();
    Data::Structure(vec![
        Data::LongUnsigned(o.class_id),
        Data::Unsigned(o.version),
        Data::OctetString(o.logical_name.0.to_vec()),
        Data::Structure(vec![Data::Array(attributes), Data::Array(methods)]),
    ])
}

/// Attribute 2 `object_list` for a list of objects.
pub fn object_list(objects: &[CosemObject]) -> Data {
    Data::Array(objects.iter().map(object_list_element).collect())
}
