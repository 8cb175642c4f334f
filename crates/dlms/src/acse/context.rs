//! The application context name of an association (IEC 62056-5-3 §9.4.2.2.2): which
//! referencing (logical or short names) and whether the xDLMS APDUs are ciphered. Sent
//! by the client in the AARQ `[1]` and echoed (or corrected) by the server in the AARE.

use std::fmt;

use serde::Serialize;

use crate::acse::oid::ObjectIdentifier;

/// `application-context-name` (IEC 62056-5-3 §9.4.2.2.2): the OID
/// `2.16.756.5.8.1.<id>`, encoded `A1 09 06 07 60 85 74 05 08 01 <id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum ApplicationContextName {
    /// `.1` Logical_Name_Referencing_No_Ciphering.
    LogicalNameNoCiphering,
    /// `.2` Short_Name_Referencing_No_Ciphering.
    ShortNameNoCiphering,
    /// `.3` Logical_Name_Referencing_With_Ciphering (glo-/ded- APDUs).
    LogicalNameWithCiphering,
    /// `.4` Short_Name_Referencing_With_Ciphering.
    ShortNameWithCiphering,
    /// Any other OID, kept so a server can answer "application-context-name not
    /// supported".
    Other(ObjectIdentifier),
}

impl ApplicationContextName {
    /// The last arc of a DLMS application context (1..=4); `None` for `Other`.
    pub fn id(&self) -> Option<u8> {
        match self {
            ApplicationContextName::LogicalNameNoCiphering => Some(1),
            ApplicationContextName::ShortNameNoCiphering => Some(2),
            ApplicationContextName::LogicalNameWithCiphering => Some(3),
            ApplicationContextName::ShortNameWithCiphering => Some(4),
            ApplicationContextName::Other(_) => None,
        }
    }

    /// True for the two logical-name contexts.
    pub fn is_logical_name(&self) -> bool {
        matches!(
            self,
            ApplicationContextName::LogicalNameNoCiphering | ApplicationContextName::LogicalNameWithCiphering
        )
    }

    /// True for the two ciphered contexts.
    pub fn is_ciphered(&self) -> bool {
        matches!(
            self,
            ApplicationContextName::LogicalNameWithCiphering | ApplicationContextName::ShortNameWithCiphering
        )
    }

    /// The OID.
    pub fn oid(&self) -> ObjectIdentifier {
        match (self, self.id()) {
            (ApplicationContextName::Other(oid), _) => oid.clone(),
            (_, Some(id)) => ObjectIdentifier::dlms_ua(1, id),
            (_, None) => ObjectIdentifier(Vec::new()),
        }
    }

    /// Maps an OID: `2.16.756.5.8.1.1..=4` to the named contexts, anything else to
    /// `Other`.
    pub fn from_oid(oid: ObjectIdentifier) -> Self {
        match oid.dlms_ua_parts() {
            Some((1, 1)) => ApplicationContextName::LogicalNameNoCiphering,
            Some((1, 2)) => ApplicationContextName::ShortNameNoCiphering,
            Some((1, 3)) => ApplicationContextName::LogicalNameWithCiphering,
            Some((1, 4)) => ApplicationContextName::ShortNameWithCiphering,
            _ => ApplicationContextName::Other(oid),
        }
    }
}

impl fmt::Display for ApplicationContextName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplicationContextName::LogicalNameNoCiphering => f.write_str("LN referencing, no ciphering"),
            ApplicationContextName::ShortNameNoCiphering => f.write_str("SN referencing, no ciphering"),
            ApplicationContextName::LogicalNameWithCiphering => f.write_str("LN referencing, with ciphering"),
            ApplicationContextName::ShortNameWithCiphering => f.write_str("SN referencing, with ciphering"),
            ApplicationContextName::Other(oid) => write!(f, "unknown application context {oid}"),
        }
    }
}
