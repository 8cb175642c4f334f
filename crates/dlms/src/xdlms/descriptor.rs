//! COSEM attribute and method descriptors and the result enumerations of the xDLMS
//! services (IEC 62056-5-3 §9.3 / §9.5 ASN.1: `Cosem-Attribute-Descriptor`,
//! `Cosem-Method-Descriptor`, `Data-Access-Result`, `Action-Result`).

use serde::Serialize;

use crate::obis::Obis;

/// Identifies one attribute of one COSEM object in logical-name referencing:
/// `class_id` (interface class, e.g. 3 Register, 7 Profile generic, 8 Clock),
/// `instance_id` (the object's logical name) and `attribute_id` (1 = logical_name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CosemAttributeDescriptor {
    /// Interface class id (Long-unsigned).
    pub class_id: u16,
    /// Logical name of the object.
    pub instance_id: Obis,
    /// Attribute index (Integer8; negative values are manufacturer specific).
    pub attribute_id: i8,
}

impl CosemAttributeDescriptor {
    /// Shorthand constructor.
    pub const fn new(class_id: u16, instance_id: Obis, attribute_id: i8) -> Self {
        CosemAttributeDescriptor { class_id, instance_id, attribute_id }
    }
}

/// Identifies one method of one COSEM object: `class_id`, `instance_id`, `method_id`
/// (1-based method index, e.g. Disconnect control 1 = remote_disconnect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CosemMethodDescriptor {
    /// Interface class id.
    pub class_id: u16,
    /// Logical name of the object.
    pub instance_id: Obis,
    /// Method index (Integer8).
    pub method_id: i8,
}

impl CosemMethodDescriptor {
    /// Shorthand constructor.
    pub const fn new(class_id: u16, instance_id: Obis, method_id: i8) -> Self {
        CosemMethodDescriptor { class_id, instance_id, method_id }
    }
}

/// `Data-Access-Result` ENUMERATED (IEC 62056-5-3 §9.5), the outcome of a GET or SET of
/// one attribute. `Success` is 0; the others are error reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[repr(u8)]
pub enum DataAccessResult {
    /// (0)
    Success = 0,
    /// (1)
    HardwareFault = 1,
    /// (2)
    TemporaryFailure = 2,
    /// (3)
    ReadWriteDenied = 3,
    /// (4)
    ObjectUndefined = 4,
    /// (9)
    ObjectClassInconsistent = 9,
    /// (11)
    ObjectUnavailable = 11,
    /// (12)
    TypeUnmatched = 12,
    /// (13)
    ScopeOfAccessViolated = 13,
    /// (14)
    DataBlockUnavailable = 14,
    /// (15)
    LongGetAborted = 15,
    /// (16)
    NoLongGetInProgress = 16,
    /// (17)
    LongSetAborted = 17,
    /// (18)
    NoLongSetInProgress = 18,
    /// (19)
    DataBlockNumberInvalid = 19,
    /// (250)
    OtherReason = 250,
}

impl DataAccessResult {
    /// Maps the ENUMERATED value; `None` for values the standard does not define.
    pub fn from_u8(v: u8) -> Option<Self> {
        use DataAccessResult::*;
        Some(match v {
            0 => Success,
            1 => HardwareFault,
            2 => TemporaryFailure,
            3 => ReadWriteDenied,
            4 => ObjectUndefined,
            9 => ObjectClassInconsistent,
            11 => ObjectUnavailable,
            12 => TypeUnmatched,
            13 => ScopeOfAccessViolated,
            14 => DataBlockUnavailable,
            15 => LongGetAborted,
            16 => NoLongGetInProgress,
            17 => LongSetAborted,
            18 => NoLongSetInProgress,
            19 => DataBlockNumberInvalid,
            250 => OtherReason,
            _ => return None,
        })
    }
}

/// `Action-Result` ENUMERATED (IEC 62056-5-3 §9.5), the outcome of an ACTION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[repr(u8)]
pub enum ActionResult {
    /// (0)
    Success = 0,
    /// (1)
    HardwareFault = 1,
    /// (2)
    TemporaryFailure = 2,
    /// (3)
    ReadWriteDenied = 3,
    /// (4)
    ObjectUndefined = 4,
    /// (9)
    ObjectClassInconsistent = 9,
    /// (11)
    ObjectUnavailable = 11,
    /// (12)
    TypeUnmatched = 12,
    /// (13)
    ScopeOfAccessViolated = 13,
    /// (14)
    DataBlockUnavailable = 14,
    /// (15)
    LongActionAborted = 15,
    /// (16)
    NoLongActionInProgress = 16,
    /// (250)
    OtherReason = 250,
}

impl ActionResult {
    /// Maps the ENUMERATED value; `None` for values the standard does not define.
    pub fn from_u8(v: u8) -> Option<Self> {
        use ActionResult::*;
        Some(match v {
            0 => Success,
            1 => HardwareFault,
            2 => TemporaryFailure,
            3 => ReadWriteDenied,
            4 => ObjectUndefined,
            9 => ObjectClassInconsistent,
            11 => ObjectUnavailable,
            12 => TypeUnmatched,
            13 => ScopeOfAccessViolated,
            14 => DataBlockUnavailable,
            15 => LongActionAborted,
            16 => NoLongActionInProgress,
            250 => OtherReason,
            _ => return None,
        })
    }
}
