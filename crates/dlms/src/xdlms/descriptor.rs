//! COSEM attribute and method descriptors and the result enumerations of the xDLMS
//! services (IEC 62056-5-3 §9.3 / §9.5 ASN.1: `Cosem-Attribute-Descriptor`,
//! `Cosem-Method-Descriptor`, `Data-Access-Result`, `Action-Result`).

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};
use crate::obis::Obis;
use crate::xdlms::apdu::{put_optional, read_presence};
use crate::xdlms::selective_access::SelectiveAccess;

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

/// Encoded size of a [`CosemAttributeDescriptor`] or [`CosemMethodDescriptor`]:
/// class id (2) + instance id (6) + attribute/method id (1).
pub const DESCRIPTOR_ENCODED_LEN: usize = 9;

fn encode_descriptor(class_id: u16, instance_id: &Obis, id: i8, out: &mut Vec<u8>) {
    out.extend_from_slice(&class_id.to_be_bytes());
    out.extend_from_slice(instance_id.as_bytes());
    out.push(id as u8);
}

impl Codec for CosemAttributeDescriptor {
    /// A-XDR: class-id Unsigned16, instance-id OCTET STRING (SIZE(6)) without length
    /// byte, attribute-id Integer8 — 9 bytes (IEC 62056-5-3 §9.5).
    fn encode(&self, out: &mut Vec<u8>) {
        encode_descriptor(self.class_id, &self.instance_id, self.attribute_id, out);
    }

    /// # Errors
    /// [`DecodeError::Truncated`] when fewer than 9 bytes remain.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let class_id = r.u16("Cosem-Attribute-Descriptor class-id")?;
        let instance_id = Obis(r.array::<6>("Cosem-Attribute-Descriptor instance-id")?);
        let attribute_id = r.u8("Cosem-Attribute-Descriptor attribute-id")? as i8;
        Ok(CosemAttributeDescriptor { class_id, instance_id, attribute_id })
    }
}

impl Codec for CosemMethodDescriptor {
    /// A-XDR: class-id Unsigned16, instance-id OCTET STRING (SIZE(6)) without length
    /// byte, method-id Integer8 — 9 bytes (IEC 62056-5-3 §9.5).
    fn encode(&self, out: &mut Vec<u8>) {
        encode_descriptor(self.class_id, &self.instance_id, self.method_id, out);
    }

    /// # Errors
    /// [`DecodeError::Truncated`] when fewer than 9 bytes remain.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let class_id = r.u16("Cosem-Method-Descriptor class-id")?;
        let instance_id = Obis(r.array::<6>("Cosem-Method-Descriptor instance-id")?);
        let method_id = r.u8("Cosem-Method-Descriptor method-id")? as i8;
        Ok(CosemMethodDescriptor { class_id, instance_id, method_id })
    }
}

/// `Cosem-Attribute-Descriptor-With-Selection` (IEC 62056-5-3 §9.5): one element of the
/// attribute list of get-request-with-list and set-request-with-list(-and-first-datablock).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeDescriptorWithSelection {
    /// The attribute.
    pub attribute_descriptor: CosemAttributeDescriptor,
    /// `access-selection Selective-Access-Descriptor OPTIONAL`.
    pub access_selection: Option<SelectiveAccess>,
}

impl AttributeDescriptorWithSelection {
    /// Smallest encoding: descriptor (9) + OPTIONAL presence flag (1).
    pub const MIN_ENCODED_LEN: usize = DESCRIPTOR_ENCODED_LEN + 1;

    /// An element without selective access.
    pub const fn new(attribute_descriptor: CosemAttributeDescriptor) -> Self {
        AttributeDescriptorWithSelection { attribute_descriptor, access_selection: None }
    }
}

impl Codec for AttributeDescriptorWithSelection {
    /// A-XDR: the 9-byte descriptor, then 0x00 (no selection) or 0x01 and the
    /// Selective-Access-Descriptor.
    fn encode(&self, out: &mut Vec<u8>) {
        self.attribute_descriptor.encode(out);
        put_optional(out, self.access_selection.as_ref(), |s, out| s.encode(out));
    }

    /// # Errors
    /// Truncated input, a presence flag other than 0x00/0x01, or a malformed
    /// Selective-Access-Descriptor.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let attribute_descriptor = CosemAttributeDescriptor::decode(r)?;
        let access_selection =
            if read_presence(r, "access-selection")? { Some(SelectiveAccess::decode(r)?) } else { None };
        Ok(AttributeDescriptorWithSelection { attribute_descriptor, access_selection })
    }
}

impl Codec for DataAccessResult {
    /// One byte, the ENUMERATED value.
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }

    /// # Errors
    /// [`DecodeError::Truncated`], or [`DecodeError::Invalid`] for a value the standard
    /// does not define.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let v = r.u8("Data-Access-Result")?;
        DataAccessResult::from_u8(v)
            .ok_or_else(|| DecodeError::invalid("Data-Access-Result", format!("value {v} is not defined")))
    }
}

impl Codec for ActionResult {
    /// One byte, the ENUMERATED value.
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }

    /// # Errors
    /// [`DecodeError::Truncated`], or [`DecodeError::Invalid`] for a value the standard
    /// does not define.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let v = r.u8("Action-Result")?;
        ActionResult::from_u8(v)
            .ok_or_else(|| DecodeError::invalid("Action-Result", format!("value {v} is not defined")))
    }
}

/// All defined [`DataAccessResult`] values, in ENUMERATED order.
pub const ALL_DATA_ACCESS_RESULTS: [DataAccessResult; 16] = {
    use DataAccessResult::*;
    [
        Success,
        HardwareFault,
        TemporaryFailure,
        ReadWriteDenied,
        ObjectUndefined,
        ObjectClassInconsistent,
        ObjectUnavailable,
        TypeUnmatched,
        ScopeOfAccessViolated,
        DataBlockUnavailable,
        LongGetAborted,
        NoLongGetInProgress,
        LongSetAborted,
        NoLongSetInProgress,
        DataBlockNumberInvalid,
        OtherReason,
    ]
};

/// All defined [`ActionResult`] values, in ENUMERATED order.
pub const ALL_ACTION_RESULTS: [ActionResult; 13] = {
    use ActionResult::*;
    [
        Success,
        HardwareFault,
        TemporaryFailure,
        ReadWriteDenied,
        ObjectUndefined,
        ObjectClassInconsistent,
        ObjectUnavailable,
        TypeUnmatched,
        ScopeOfAccessViolated,
        DataBlockUnavailable,
        LongActionAborted,
        NoLongActionInProgress,
        OtherReason,
    ]
};

/// proptest strategies for this module's types (test builds only).
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    use super::*;
    use crate::proptest_strategies::obis;

    /// Any attribute descriptor.
    pub fn attribute_descriptor() -> impl Strategy<Value = CosemAttributeDescriptor> {
        (any::<u16>(), obis(), any::<i8>()).prop_map(|(c, o, a)| CosemAttributeDescriptor::new(c, o, a))
    }

    /// Any method descriptor.
    pub fn method_descriptor() -> impl Strategy<Value = CosemMethodDescriptor> {
        (any::<u16>(), obis(), any::<i8>()).prop_map(|(c, o, m)| CosemMethodDescriptor::new(c, o, m))
    }

    /// Any attribute descriptor with optional selective access.
    pub fn attribute_with_selection() -> impl Strategy<Value = AttributeDescriptorWithSelection> {
        (attribute_descriptor(), proptest::option::of(crate::xdlms::selective_access::strategies::selective_access()))
            .prop_map(|(attribute_descriptor, access_selection)| AttributeDescriptorWithSelection {
                attribute_descriptor,
                access_selection,
            })
    }

    /// Any defined Data-Access-Result.
    pub fn data_access_result() -> impl Strategy<Value = DataAccessResult> {
        proptest::sample::select(&ALL_DATA_ACCESS_RESULTS[..])
    }

    /// Any defined Action-Result.
    pub fn action_result() -> impl Strategy<Value = ActionResult> {
        proptest::sample::select(&ALL_ACTION_RESULTS[..])
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn attribute_descriptor_known_answer() {
        // Clock 0.0.1.0.0.255 attribute 2 (time): 0008 0000010000FF 02.
        let d = CosemAttributeDescriptor::new(8, Obis::new(0, 0, 1, 0, 0, 255), 2);
        assert_eq!(d.to_bytes(), [0x00, 0x08, 0, 0, 1, 0, 0, 0xFF, 0x02]);
        // Disconnect control method 1 (remote_disconnect), class 70 = 0x46.
        let m = CosemMethodDescriptor::new(70, Obis::new(0, 0, 96, 3, 10, 255), 1);
        assert_eq!(m.to_bytes(), [0x00, 0x46, 0, 0, 96, 3, 10, 0xFF, 0x01]);
        // negative (manufacturer-specific) attribute index
        let neg = CosemAttributeDescriptor::from_bytes(&[0, 1, 0, 0, 96, 1, 0, 0xFF, 0xFE]).unwrap();
        assert_eq!(neg.attribute_id, -2);
    }

    #[test]
    fn result_enums_reject_undefined_values() {
        assert_eq!(DataAccessResult::from_bytes(&[4]), Ok(DataAccessResult::ObjectUndefined));
        assert_eq!(DataAccessResult::from_bytes(&[250]), Ok(DataAccessResult::OtherReason));
        for v in [5u8, 8, 10, 20, 249, 251, 255] {
            assert!(matches!(DataAccessResult::from_bytes(&[v]), Err(DecodeError::Invalid { .. })), "{v}");
        }
        assert_eq!(ActionResult::from_bytes(&[16]), Ok(ActionResult::NoLongActionInProgress));
        for v in [5u8, 17, 19, 255] {
            assert!(matches!(ActionResult::from_bytes(&[v]), Err(DecodeError::Invalid { .. })), "{v}");
        }
        // the tables hold every value from_u8 accepts
        let dar = (0..=255u8).filter_map(DataAccessResult::from_u8).collect::<Vec<_>>();
        assert_eq!(dar, ALL_DATA_ACCESS_RESULTS);
        let ar = (0..=255u8).filter_map(ActionResult::from_u8).collect::<Vec<_>>();
        assert_eq!(ar, ALL_ACTION_RESULTS);
    }

    #[test]
    fn presence_flag_must_be_zero_or_one() {
        let mut b = CosemAttributeDescriptor::new(1, Obis::new(0, 0, 96, 1, 0, 255), 2).to_bytes();
        b.push(0x02);
        assert!(matches!(AttributeDescriptorWithSelection::from_bytes(&b), Err(DecodeError::Invalid { .. })));
    }

    proptest! {
        #[test]
        fn descriptors_round_trip(a in attribute_descriptor(), m in method_descriptor()) {
            let ab = a.to_bytes();
            prop_assert_eq!(ab.len(), DESCRIPTOR_ENCODED_LEN);
            prop_assert_eq!(CosemAttributeDescriptor::from_bytes(&ab).unwrap(), a);
            prop_assert_eq!(CosemMethodDescriptor::from_bytes(&m.to_bytes()).unwrap(), m);
        }

        #[test]
        fn attribute_with_selection_round_trips(a in attribute_with_selection()) {
            let bytes = a.to_bytes();
            prop_assert_eq!(AttributeDescriptorWithSelection::from_bytes(&bytes).unwrap(), a);
            for n in 0..bytes.len() {
                prop_assert!(AttributeDescriptorWithSelection::from_bytes(&bytes[..n]).is_err());
            }
        }

        #[test]
        fn result_enums_round_trip(d in data_access_result(), a in action_result()) {
            prop_assert_eq!(DataAccessResult::from_bytes(&d.to_bytes()).unwrap(), d);
            prop_assert_eq!(ActionResult::from_bytes(&a.to_bytes()).unwrap(), a);
        }
    }
}
