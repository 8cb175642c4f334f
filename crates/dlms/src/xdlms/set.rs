//! The SET service APDUs (IEC 62056-5-3 §9.3.7 SET service, §9.5 ASN.1 `Set-Request`,
//! `Set-Response`, `DataBlock-SA`): writing attribute values, with block transfer and
//! lists.

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};
use crate::data::Data;
use crate::xdlms::apdu::{
    expect_apdu_tag, put_boolean, put_octet_string, put_optional, put_sequence_of, read_boolean, read_choice,
    read_octet_string, read_presence, read_sequence_of, tag,
};
use crate::xdlms::descriptor::{AttributeDescriptorWithSelection, CosemAttributeDescriptor, DataAccessResult};
use crate::xdlms::invoke_id::InvokeIdAndPriority;
use crate::xdlms::selective_access::SelectiveAccess;

/// `DataBlock-SA ::= SEQUENCE { last-block BOOLEAN, block-number Unsigned32, raw-data
/// OCTET STRING }` (IEC 62056-5-3 §9.5): one block of a SET or ACTION with block
/// transfer. Concatenating the raw-data of blocks 1..=n gives the encoded value(s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataBlockSA {
    /// True on the final block.
    pub last_block: bool,
    /// Block number, 1-based.
    pub block_number: u32,
    /// This block's slice of the encoded data.
    pub raw_data: Vec<u8>,
}

impl Codec for DataBlockSA {
    fn encode(&self, out: &mut Vec<u8>) {
        put_boolean(out, self.last_block);
        out.extend_from_slice(&self.block_number.to_be_bytes());
        put_octet_string(out, &self.raw_data);
    }

    /// # Errors
    /// Truncated input or a raw-data length beyond the input.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(DataBlockSA {
            last_block: read_boolean(r, "DataBlock-SA last-block")?,
            block_number: r.u32("DataBlock-SA block-number")?,
            raw_data: read_octet_string(r, "DataBlock-SA raw-data")?,
        })
    }
}

/// `Set-Request ::= CHOICE` (IEC 62056-5-3 §9.5), APDU tag 0xC1.
///
/// Wire form: `C1`, the CHOICE index (1..=5 in variant order), then the fields in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum SetRequest {
    /// set-request-normal [1]: write one attribute.
    Normal {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The attribute to write.
        attribute_descriptor: CosemAttributeDescriptor,
        /// Selective access; `None` = the whole attribute.
        access_selection: Option<SelectiveAccess>,
        /// The new value.
        value: Data,
    },
    /// set-request-with-first-datablock [2]: first block of a long write.
    WithFirstDataBlock {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The attribute to write.
        attribute_descriptor: CosemAttributeDescriptor,
        /// Selective access; `None` = the whole attribute.
        access_selection: Option<SelectiveAccess>,
        /// Block 1 of the encoded value.
        datablock: DataBlockSA,
    },
    /// set-request-with-datablock [3]: a further block of a long write.
    WithDataBlock {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The block.
        datablock: DataBlockSA,
    },
    /// set-request-with-list [4]: write several attributes at once.
    WithList {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The attributes, each with optional selective access.
        attribute_descriptor_list: Vec<AttributeDescriptorWithSelection>,
        /// The values, one per attribute, in the same order.
        value_list: Vec<Data>,
    },
    /// set-request-with-list-and-first-datablock [5]: first block of a long list write
    /// (the blocks carry the encoded SEQUENCE OF Data).
    WithListAndFirstDataBlock {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The attributes, each with optional selective access.
        attribute_descriptor_list: Vec<AttributeDescriptorWithSelection>,
        /// Block 1 of the encoded value list.
        datablock: DataBlockSA,
    },
}

impl SetRequest {
    /// The request's invoke-id-and-priority.
    pub fn invoke_id_and_priority(&self) -> InvokeIdAndPriority {
        match self {
            SetRequest::Normal { invoke_id_and_priority, .. }
            | SetRequest::WithFirstDataBlock { invoke_id_and_priority, .. }
            | SetRequest::WithDataBlock { invoke_id_and_priority, .. }
            | SetRequest::WithList { invoke_id_and_priority, .. }
            | SetRequest::WithListAndFirstDataBlock { invoke_id_and_priority, .. } => *invoke_id_and_priority,
        }
    }
}

fn read_access_selection(r: &mut Reader<'_>) -> Result<Option<SelectiveAccess>, DecodeError> {
    if read_presence(r, "access-selection")? { Ok(Some(SelectiveAccess::decode(r)?)) } else { Ok(None) }
}

fn read_attribute_list(r: &mut Reader<'_>) -> Result<Vec<AttributeDescriptorWithSelection>, DecodeError> {
    read_sequence_of(
        r,
        "attribute-descriptor-list",
        AttributeDescriptorWithSelection::MIN_ENCODED_LEN,
        AttributeDescriptorWithSelection::decode,
    )
}

impl Codec for SetRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::SET_REQUEST);
        match self {
            SetRequest::Normal { invoke_id_and_priority, attribute_descriptor, access_selection, value } => {
                out.push(1);
                invoke_id_and_priority.encode(out);
                attribute_descriptor.encode(out);
                put_optional(out, access_selection.as_ref(), |s, out| s.encode(out));
                value.encode(out);
            }
            SetRequest::WithFirstDataBlock {
                invoke_id_and_priority,
                attribute_descriptor,
                access_selection,
                datablock,
            } => {
                out.push(2);
                invoke_id_and_priority.encode(out);
                attribute_descriptor.encode(out);
                put_optional(out, access_selection.as_ref(), |s, out| s.encode(out));
                datablock.encode(out);
            }
            SetRequest::WithDataBlock { invoke_id_and_priority, datablock } => {
                out.push(3);
                invoke_id_and_priority.encode(out);
                datablock.encode(out);
            }
            SetRequest::WithList { invoke_id_and_priority, attribute_descriptor_list, value_list } => {
                out.push(4);
                invoke_id_and_priority.encode(out);
                put_sequence_of(out, attribute_descriptor_list, |a, out| a.encode(out));
                put_sequence_of(out, value_list, |d, out| d.encode(out));
            }
            SetRequest::WithListAndFirstDataBlock { invoke_id_and_priority, attribute_descriptor_list, datablock } => {
                out.push(5);
                invoke_id_and_priority.encode(out);
                put_sequence_of(out, attribute_descriptor_list, |a, out| a.encode(out));
                datablock.encode(out);
            }
        }
    }

    /// # Errors
    /// Truncated input; [`DecodeError::UnknownTag`] for a tag other than 0xC1 or a CHOICE
    /// index other than 1..=5; [`DecodeError::Invalid`] for a bad presence flag; any
    /// `Data` error.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        expect_apdu_tag(r, tag::SET_REQUEST, "Set-Request APDU")?;
        Ok(match read_choice(r, "Set-Request CHOICE")? {
            1 => SetRequest::Normal {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                attribute_descriptor: CosemAttributeDescriptor::decode(r)?,
                access_selection: read_access_selection(r)?,
                value: Data::decode(r)?,
            },
            2 => SetRequest::WithFirstDataBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                attribute_descriptor: CosemAttributeDescriptor::decode(r)?,
                access_selection: read_access_selection(r)?,
                datablock: DataBlockSA::decode(r)?,
            },
            3 => SetRequest::WithDataBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                datablock: DataBlockSA::decode(r)?,
            },
            4 => SetRequest::WithList {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                attribute_descriptor_list: read_attribute_list(r)?,
                value_list: read_sequence_of(r, "value-list", 1, Data::decode)?,
            },
            5 => SetRequest::WithListAndFirstDataBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                attribute_descriptor_list: read_attribute_list(r)?,
                datablock: DataBlockSA::decode(r)?,
            },
            other => return Err(DecodeError::UnknownTag { what: "Set-Request CHOICE", tag: other }),
        })
    }
}

/// `Set-Response ::= CHOICE` (IEC 62056-5-3 §9.5), APDU tag 0xC5.
///
/// Wire form: `C5`, the CHOICE index (1..=5 in variant order), then the fields in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SetResponse {
    /// set-response-normal [1].
    Normal {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The outcome.
        result: DataAccessResult,
    },
    /// set-response-datablock [2]: block `block_number` received, send the next.
    DataBlock {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The block acknowledged.
        block_number: u32,
    },
    /// set-response-last-datablock [3]: the last block was received; the outcome.
    LastDataBlock {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The outcome of the whole write.
        result: DataAccessResult,
        /// The last block's number.
        block_number: u32,
    },
    /// set-response-last-datablock-with-list [4]: the last block of a list write was
    /// received; one outcome per attribute.
    LastDataBlockWithList {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// One outcome per attribute, in request order.
        result: Vec<DataAccessResult>,
        /// The last block's number.
        block_number: u32,
    },
    /// set-response-with-list [5]: one outcome per attribute.
    WithList {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// One outcome per attribute, in request order.
        result: Vec<DataAccessResult>,
    },
}

impl SetResponse {
    /// The response's invoke-id-and-priority.
    pub fn invoke_id_and_priority(&self) -> InvokeIdAndPriority {
        match self {
            SetResponse::Normal { invoke_id_and_priority, .. }
            | SetResponse::DataBlock { invoke_id_and_priority, .. }
            | SetResponse::LastDataBlock { invoke_id_and_priority, .. }
            | SetResponse::LastDataBlockWithList { invoke_id_and_priority, .. }
            | SetResponse::WithList { invoke_id_and_priority, .. } => *invoke_id_and_priority,
        }
    }
}

impl Codec for SetResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::SET_RESPONSE);
        match self {
            SetResponse::Normal { invoke_id_and_priority, result } => {
                out.push(1);
                invoke_id_and_priority.encode(out);
                result.encode(out);
            }
            SetResponse::DataBlock { invoke_id_and_priority, block_number } => {
                out.push(2);
                invoke_id_and_priority.encode(out);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            SetResponse::LastDataBlock { invoke_id_and_priority, result, block_number } => {
                out.push(3);
                invoke_id_and_priority.encode(out);
                result.encode(out);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            SetResponse::LastDataBlockWithList { invoke_id_and_priority, result, block_number } => {
                out.push(4);
                invoke_id_and_priority.encode(out);
                put_sequence_of(out, result, |e, out| e.encode(out));
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            SetResponse::WithList { invoke_id_and_priority, result } => {
                out.push(5);
                invoke_id_and_priority.encode(out);
                put_sequence_of(out, result, |e, out| e.encode(out));
            }
        }
    }

    /// # Errors
    /// Truncated input; [`DecodeError::UnknownTag`] for a tag other than 0xC5 or a CHOICE
    /// index other than 1..=5; [`DecodeError::Invalid`] for undefined Data-Access-Result
    /// values.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        expect_apdu_tag(r, tag::SET_RESPONSE, "Set-Response APDU")?;
        Ok(match read_choice(r, "Set-Response CHOICE")? {
            1 => SetResponse::Normal {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                result: DataAccessResult::decode(r)?,
            },
            2 => SetResponse::DataBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                block_number: r.u32("block-number")?,
            },
            3 => SetResponse::LastDataBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                result: DataAccessResult::decode(r)?,
                block_number: r.u32("block-number")?,
            },
            4 => SetResponse::LastDataBlockWithList {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                result: read_sequence_of(r, "Set-Response result list", 1, DataAccessResult::decode)?,
                block_number: r.u32("block-number")?,
            },
            5 => SetResponse::WithList {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                result: read_sequence_of(r, "Set-Response result list", 1, DataAccessResult::decode)?,
            },
            other => return Err(DecodeError::UnknownTag { what: "Set-Response CHOICE", tag: other }),
        })
    }
}

/// proptest strategies for the SET APDUs (test builds only).
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    use super::*;
    use crate::proptest_strategies::data;
    use crate::xdlms::descriptor::strategies::{attribute_descriptor, attribute_with_selection, data_access_result};
    use crate::xdlms::get::strategies::invoke;
    use crate::xdlms::selective_access::strategies::selective_access;

    /// Any DataBlock-SA.
    pub fn data_block_sa() -> impl Strategy<Value = DataBlockSA> {
        (any::<bool>(), any::<u32>(), prop::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(last_block, block_number, raw_data)| DataBlockSA { last_block, block_number, raw_data })
    }

    /// Any Set-Request.
    pub fn set_request() -> impl Strategy<Value = SetRequest> {
        prop_oneof![
            (invoke(), attribute_descriptor(), proptest::option::of(selective_access()), data()).prop_map(
                |(i, a, s, v)| SetRequest::Normal {
                    invoke_id_and_priority: i,
                    attribute_descriptor: a,
                    access_selection: s,
                    value: v
                }
            ),
            (invoke(), attribute_descriptor(), proptest::option::of(selective_access()), data_block_sa()).prop_map(
                |(i, a, s, b)| SetRequest::WithFirstDataBlock {
                    invoke_id_and_priority: i,
                    attribute_descriptor: a,
                    access_selection: s,
                    datablock: b
                }
            ),
            (invoke(), data_block_sa())
                .prop_map(|(i, b)| SetRequest::WithDataBlock { invoke_id_and_priority: i, datablock: b }),
            (invoke(), prop::collection::vec(attribute_with_selection(), 0..4), prop::collection::vec(data(), 0..4))
                .prop_map(|(i, l, v)| SetRequest::WithList {
                    invoke_id_and_priority: i,
                    attribute_descriptor_list: l,
                    value_list: v
                }),
            (invoke(), prop::collection::vec(attribute_with_selection(), 0..4), data_block_sa()).prop_map(
                |(i, l, b)| SetRequest::WithListAndFirstDataBlock {
                    invoke_id_and_priority: i,
                    attribute_descriptor_list: l,
                    datablock: b
                }
            ),
        ]
    }

    /// Any Set-Response.
    pub fn set_response() -> impl Strategy<Value = SetResponse> {
        prop_oneof![
            (invoke(), data_access_result())
                .prop_map(|(i, r)| SetResponse::Normal { invoke_id_and_priority: i, result: r }),
            (invoke(), any::<u32>())
                .prop_map(|(i, b)| SetResponse::DataBlock { invoke_id_and_priority: i, block_number: b }),
            (invoke(), data_access_result(), any::<u32>()).prop_map(|(i, r, b)| SetResponse::LastDataBlock {
                invoke_id_and_priority: i,
                result: r,
                block_number: b
            }),
            (invoke(), prop::collection::vec(data_access_result(), 0..6), any::<u32>()).prop_map(|(i, r, b)| {
                SetResponse::LastDataBlockWithList { invoke_id_and_priority: i, result: r, block_number: b }
            }),
            (invoke(), prop::collection::vec(data_access_result(), 0..6))
                .prop_map(|(i, r)| SetResponse::WithList { invoke_id_and_priority: i, result: r }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use crate::obis::Obis;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn set_request_normal_known_answer() {
        // Write the Clock time (class 8, 0.0.1.0.0.255, attribute 2):
        // C1 01 C1 | 0008 0000010000FF 02 | 00 (no selection) | 09 0C 07E8 01 01 01 00 00 00 00 0000 00
        let bytes = hex("C101C100080000010000FF0200090C07E801010100000000000000");
        let want = SetRequest::Normal {
            invoke_id_and_priority: InvokeIdAndPriority(0xC1),
            attribute_descriptor: CosemAttributeDescriptor::new(8, Obis::new(0, 0, 1, 0, 0, 255), 2),
            access_selection: None,
            value: Data::OctetString(hex("07E801010100000000000000")),
        };
        assert_eq!(SetRequest::from_bytes(&bytes), Ok(want.clone()));
        assert_eq!(want.to_bytes(), bytes);
    }

    #[test]
    fn set_responses_known_answers() {
        // C5 01 C1 00: success
        assert_eq!(
            SetResponse::from_bytes(&hex("C501C100")),
            Ok(SetResponse::Normal {
                invoke_id_and_priority: InvokeIdAndPriority(0xC1),
                result: DataAccessResult::Success
            })
        );
        // C5 03 C1 03 00000002: last block acknowledged, read-write-denied
        assert_eq!(
            SetResponse::from_bytes(&hex("C503C10300000002")),
            Ok(SetResponse::LastDataBlock {
                invoke_id_and_priority: InvokeIdAndPriority(0xC1),
                result: DataAccessResult::ReadWriteDenied,
                block_number: 2
            })
        );
        // C5 05 C1 02 00 0C: with-list, success and type-unmatched
        let wl = SetResponse::WithList {
            invoke_id_and_priority: InvokeIdAndPriority(0xC1),
            result: vec![DataAccessResult::Success, DataAccessResult::TypeUnmatched],
        };
        assert_eq!(wl.to_bytes(), hex("C505C102000C"));
    }

    #[test]
    fn set_request_with_datablock_known_answer() {
        // C1 03 C1 | 01 (last) 00000002 | 03 AABBCC
        let want = SetRequest::WithDataBlock {
            invoke_id_and_priority: InvokeIdAndPriority(0xC1),
            datablock: DataBlockSA { last_block: true, block_number: 2, raw_data: vec![0xAA, 0xBB, 0xCC] },
        };
        assert_eq!(want.to_bytes(), hex("C103C1010000000203AABBCC"));
        assert_eq!(SetRequest::from_bytes(&hex("C103C1010000000203AABBCC")), Ok(want));
    }

    #[test]
    fn unknown_choices_are_typed_errors() {
        assert_eq!(
            SetRequest::from_bytes(&hex("C106C1")),
            Err(DecodeError::UnknownTag { what: "Set-Request CHOICE", tag: 6 })
        );
        assert_eq!(
            SetResponse::from_bytes(&hex("C500C100")),
            Err(DecodeError::UnknownTag { what: "Set-Response CHOICE", tag: 0 })
        );
        assert!(matches!(SetResponse::from_bytes(&hex("C501C107")), Err(DecodeError::Invalid { .. })));
    }

    proptest! {
        #[test]
        fn set_request_round_trips(a in set_request()) {
            let bytes = a.to_bytes();
            prop_assert_eq!(SetRequest::from_bytes(&bytes).unwrap(), a);
            for n in 0..bytes.len() {
                prop_assert!(SetRequest::from_bytes(&bytes[..n]).is_err());
            }
        }

        #[test]
        fn set_response_round_trips(a in set_response()) {
            let bytes = a.to_bytes();
            prop_assert_eq!(SetResponse::from_bytes(&bytes).unwrap(), a);
            for n in 0..bytes.len() {
                prop_assert!(SetResponse::from_bytes(&bytes[..n]).is_err());
            }
        }
    }
}
