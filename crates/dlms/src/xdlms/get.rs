//! The GET service APDUs (IEC 62056-5-3 §9.3.6 GET service, §9.5 ASN.1 `Get-Request`,
//! `Get-Response`): reading attribute values, with selective access, block transfer
//! (get-request-next / get-response-with-datablock) and lists.

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

/// `Get-Request ::= CHOICE` (IEC 62056-5-3 §9.5), APDU tag 0xC0.
///
/// Wire form: `C0`, the CHOICE index (1 normal, 2 next, 3 with-list), then the fields
/// in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum GetRequest {
    /// get-request-normal [1]: read one attribute.
    Normal {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The attribute to read.
        attribute_descriptor: CosemAttributeDescriptor,
        /// Selective access (e.g. a load-profile range); `None` = the whole attribute.
        access_selection: Option<SelectiveAccess>,
    },
    /// get-request-next [2]: ask for the block after `block_number` of a long GET.
    Next {
        /// Invoke id, service class and priority (same as the first request).
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The number of the block last received (Unsigned32).
        block_number: u32,
    },
    /// get-request-with-list [3]: read several attributes at once.
    WithList {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The attributes, each with optional selective access.
        attribute_descriptor_list: Vec<AttributeDescriptorWithSelection>,
    },
}

impl GetRequest {
    /// The request's invoke-id-and-priority.
    pub fn invoke_id_and_priority(&self) -> InvokeIdAndPriority {
        match self {
            GetRequest::Normal { invoke_id_and_priority, .. }
            | GetRequest::Next { invoke_id_and_priority, .. }
            | GetRequest::WithList { invoke_id_and_priority, .. } => *invoke_id_and_priority,
        }
    }
}

impl Codec for GetRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::GET_REQUEST);
        match self {
            GetRequest::Normal { invoke_id_and_priority, attribute_descriptor, access_selection } => {
                out.push(1);
                invoke_id_and_priority.encode(out);
                attribute_descriptor.encode(out);
                put_optional(out, access_selection.as_ref(), |s, out| s.encode(out));
            }
            GetRequest::Next { invoke_id_and_priority, block_number } => {
                out.push(2);
                invoke_id_and_priority.encode(out);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            GetRequest::WithList { invoke_id_and_priority, attribute_descriptor_list } => {
                out.push(3);
                invoke_id_and_priority.encode(out);
                put_sequence_of(out, attribute_descriptor_list, |a, out| a.encode(out));
            }
        }
    }

    /// # Errors
    /// Truncated input; [`DecodeError::UnknownTag`] for a tag other than 0xC0 or a CHOICE
    /// index other than 1..=3; [`DecodeError::Invalid`] for a bad presence flag;
    /// [`DecodeError::Oversized`] for a list count beyond the input.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        expect_apdu_tag(r, tag::GET_REQUEST, "Get-Request APDU")?;
        Ok(match read_choice(r, "Get-Request CHOICE")? {
            1 => {
                let invoke_id_and_priority = InvokeIdAndPriority::decode(r)?;
                let attribute_descriptor = CosemAttributeDescriptor::decode(r)?;
                let access_selection =
                    if read_presence(r, "access-selection")? { Some(SelectiveAccess::decode(r)?) } else { None };
                GetRequest::Normal { invoke_id_and_priority, attribute_descriptor, access_selection }
            }
            2 => GetRequest::Next {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                block_number: r.u32("block-number")?,
            },
            3 => GetRequest::WithList {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                attribute_descriptor_list: read_sequence_of(
                    r,
                    "attribute-descriptor-list",
                    AttributeDescriptorWithSelection::MIN_ENCODED_LEN,
                    AttributeDescriptorWithSelection::decode,
                )?,
            },
            other => return Err(DecodeError::UnknownTag { what: "Get-Request CHOICE", tag: other }),
        })
    }
}

/// `Get-Data-Result ::= CHOICE { data [0] Data, data-access-result [1] Data-Access-Result }`
/// (IEC 62056-5-3 §9.5): the value read, or why it could not be read. Also the
/// return-parameters of an ACTION.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum GetDataResult {
    /// [0] the attribute value.
    Data(Data),
    /// [1] the reason the value could not be read.
    DataAccessResult(DataAccessResult),
}

impl GetDataResult {
    /// Smallest encoding: CHOICE index + one byte.
    pub const MIN_ENCODED_LEN: usize = 2;
}

impl Codec for GetDataResult {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            GetDataResult::Data(d) => {
                out.push(0);
                d.encode(out);
            }
            GetDataResult::DataAccessResult(e) => {
                out.push(1);
                e.encode(out);
            }
        }
    }

    /// # Errors
    /// Truncated input, a CHOICE index other than 0/1 ([`DecodeError::UnknownTag`]), an
    /// undefined Data-Access-Result or malformed `Data`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match read_choice(r, "Get-Data-Result CHOICE")? {
            0 => GetDataResult::Data(Data::decode(r)?),
            1 => GetDataResult::DataAccessResult(DataAccessResult::decode(r)?),
            other => return Err(DecodeError::UnknownTag { what: "Get-Data-Result CHOICE", tag: other }),
        })
    }
}

/// The result CHOICE of `DataBlock-G` (IEC 62056-5-3 §9.5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum DataBlockGResult {
    /// [0] raw-data: the next slice of the A-XDR encoded attribute value.
    RawData(Vec<u8>),
    /// [1] data-access-result: the long GET failed.
    DataAccessResult(DataAccessResult),
}

/// `DataBlock-G ::= SEQUENCE { last-block BOOLEAN, block-number Unsigned32, result CHOICE
/// { raw-data [0] OCTET STRING, data-access-result [1] Data-Access-Result } }`
/// (IEC 62056-5-3 §9.5): one block of a GET with block transfer. Concatenating the
/// raw-data of blocks 1..=n (last-block set on n) gives the encoded `Data` value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataBlockG {
    /// True on the final block.
    pub last_block: bool,
    /// Block number, 1-based.
    pub block_number: u32,
    /// The block contents or an error.
    pub result: DataBlockGResult,
}

impl Codec for DataBlockG {
    fn encode(&self, out: &mut Vec<u8>) {
        put_boolean(out, self.last_block);
        out.extend_from_slice(&self.block_number.to_be_bytes());
        match &self.result {
            DataBlockGResult::RawData(b) => {
                out.push(0);
                put_octet_string(out, b);
            }
            DataBlockGResult::DataAccessResult(e) => {
                out.push(1);
                e.encode(out);
            }
        }
    }

    /// # Errors
    /// Truncated input, a result CHOICE other than 0/1, an undefined
    /// Data-Access-Result, an octet-string length beyond the input.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let last_block = read_boolean(r, "DataBlock-G last-block")?;
        let block_number = r.u32("DataBlock-G block-number")?;
        let result = match read_choice(r, "DataBlock-G result CHOICE")? {
            0 => DataBlockGResult::RawData(read_octet_string(r, "DataBlock-G raw-data")?),
            1 => DataBlockGResult::DataAccessResult(DataAccessResult::decode(r)?),
            other => return Err(DecodeError::UnknownTag { what: "DataBlock-G result CHOICE", tag: other }),
        };
        Ok(DataBlockG { last_block, block_number, result })
    }
}

/// `Get-Response ::= CHOICE` (IEC 62056-5-3 §9.5), APDU tag 0xC4.
///
/// Wire form: `C4`, the CHOICE index (1 normal, 2 with-datablock, 3 with-list), then the
/// fields in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum GetResponse {
    /// get-response-normal [1]: the value (or error) of one attribute.
    Normal {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The value or the data-access-result.
        result: GetDataResult,
    },
    /// get-response-with-datablock [2]: one block of a long value.
    WithDataBlock {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The block.
        result: DataBlockG,
    },
    /// get-response-with-list [3]: one result per requested attribute, in request order.
    WithList {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The results.
        result: Vec<GetDataResult>,
    },
}

impl GetResponse {
    /// The response's invoke-id-and-priority.
    pub fn invoke_id_and_priority(&self) -> InvokeIdAndPriority {
        match self {
            GetResponse::Normal { invoke_id_and_priority, .. }
            | GetResponse::WithDataBlock { invoke_id_and_priority, .. }
            | GetResponse::WithList { invoke_id_and_priority, .. } => *invoke_id_and_priority,
        }
    }
}

impl Codec for GetResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::GET_RESPONSE);
        match self {
            GetResponse::Normal { invoke_id_and_priority, result } => {
                out.push(1);
                invoke_id_and_priority.encode(out);
                result.encode(out);
            }
            GetResponse::WithDataBlock { invoke_id_and_priority, result } => {
                out.push(2);
                invoke_id_and_priority.encode(out);
                result.encode(out);
            }
            GetResponse::WithList { invoke_id_and_priority, result } => {
                out.push(3);
                invoke_id_and_priority.encode(out);
                put_sequence_of(out, result, |g, out| g.encode(out));
            }
        }
    }

    /// # Errors
    /// Truncated input; [`DecodeError::UnknownTag`] for a tag other than 0xC4 or an
    /// unknown CHOICE index; [`DecodeError::Invalid`] for undefined Data-Access-Result
    /// values; any `Data` error.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        expect_apdu_tag(r, tag::GET_RESPONSE, "Get-Response APDU")?;
        Ok(match read_choice(r, "Get-Response CHOICE")? {
            1 => GetResponse::Normal {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                result: GetDataResult::decode(r)?,
            },
            2 => GetResponse::WithDataBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                result: DataBlockG::decode(r)?,
            },
            3 => GetResponse::WithList {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                result: read_sequence_of(r, "Get-Response result list", GetDataResult::MIN_ENCODED_LEN, |r| {
                    GetDataResult::decode(r)
                })?,
            },
            other => return Err(DecodeError::UnknownTag { what: "Get-Response CHOICE", tag: other }),
        })
    }
}

/// proptest strategies for the GET APDUs (test builds only).
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    use super::*;
    use crate::proptest_strategies::data;
    use crate::xdlms::descriptor::strategies::{attribute_descriptor, attribute_with_selection, data_access_result};
    use crate::xdlms::selective_access::strategies::selective_access;

    /// Any invoke-id-and-priority byte.
    pub fn invoke() -> impl Strategy<Value = InvokeIdAndPriority> {
        any::<u8>().prop_map(InvokeIdAndPriority)
    }

    /// Any Get-Data-Result.
    pub fn get_data_result() -> impl Strategy<Value = GetDataResult> {
        prop_oneof![
            data().prop_map(GetDataResult::Data),
            data_access_result().prop_map(GetDataResult::DataAccessResult)
        ]
    }

    /// Any DataBlock-G.
    pub fn data_block_g() -> impl Strategy<Value = DataBlockG> {
        (
            any::<bool>(),
            any::<u32>(),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..300).prop_map(DataBlockGResult::RawData),
                data_access_result().prop_map(DataBlockGResult::DataAccessResult),
            ],
        )
            .prop_map(|(last_block, block_number, result)| DataBlockG { last_block, block_number, result })
    }

    /// Any Get-Request.
    pub fn get_request() -> impl Strategy<Value = GetRequest> {
        prop_oneof![
            (invoke(), attribute_descriptor(), proptest::option::of(selective_access())).prop_map(|(i, a, s)| {
                GetRequest::Normal { invoke_id_and_priority: i, attribute_descriptor: a, access_selection: s }
            }),
            (invoke(), any::<u32>()).prop_map(|(i, b)| GetRequest::Next { invoke_id_and_priority: i, block_number: b }),
            (invoke(), prop::collection::vec(attribute_with_selection(), 0..5)).prop_map(|(i, l)| {
                GetRequest::WithList { invoke_id_and_priority: i, attribute_descriptor_list: l }
            }),
        ]
    }

    /// Any Get-Response.
    pub fn get_response() -> impl Strategy<Value = GetResponse> {
        prop_oneof![
            (invoke(), get_data_result())
                .prop_map(|(i, r)| GetResponse::Normal { invoke_id_and_priority: i, result: r }),
            (invoke(), data_block_g())
                .prop_map(|(i, r)| GetResponse::WithDataBlock { invoke_id_and_priority: i, result: r }),
            (invoke(), prop::collection::vec(get_data_result(), 0..5))
                .prop_map(|(i, r)| GetResponse::WithList { invoke_id_and_priority: i, result: r }),
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
    fn get_response_normal_data_known_answer() {
        // C4 01 C1 00 06 00000001: get-response-normal, invoke 1 (confirmed, high), data
        // double-long-unsigned 1.
        let bytes = hex("C401C1000600000001");
        let want = GetResponse::Normal {
            invoke_id_and_priority: InvokeIdAndPriority(0xC1),
            result: GetDataResult::Data(Data::DoubleLongUnsigned(1)),
        };
        assert_eq!(GetResponse::from_bytes(&bytes), Ok(want.clone()));
        assert_eq!(want.to_bytes(), bytes);
    }

    #[test]
    fn get_response_normal_error_known_answer() {
        // C4 01 C1 01 04: data-access-result object-undefined (4).
        let bytes = hex("C401C10104");
        let want = GetResponse::Normal {
            invoke_id_and_priority: InvokeIdAndPriority(0xC1),
            result: GetDataResult::DataAccessResult(DataAccessResult::ObjectUndefined),
        };
        assert_eq!(GetResponse::from_bytes(&bytes), Ok(want.clone()));
        assert_eq!(want.to_bytes(), bytes);
    }

    #[test]
    fn get_response_clock_logical_name_known_answer() {
        // C4 01 81 00 09 06 0000010000FF: the Clock's logical name (attribute 1) as
        // octet-string(6), invoke-id-and-priority 0x81 (invoke id 1, unconfirmed, high priority).
        let bytes = hex("C401810009060000010000FF");
        let want = GetResponse::Normal {
            invoke_id_and_priority: InvokeIdAndPriority::new(1, false, true),
            result: GetDataResult::Data(Data::OctetString(vec![0, 0, 1, 0, 0, 0xFF])),
        };
        assert_eq!(GetResponse::from_bytes(&bytes), Ok(want.clone()));
        assert_eq!(want.to_bytes(), bytes);
    }

    #[test]
    fn get_response_with_datablock_known_answer() {
        // C4 02 C1 | last-block 00 | block 00000001 | raw-data [0] 04 01020304
        let bytes = &hex("C402C10000000001000401020304")[..];
        let want = GetResponse::WithDataBlock {
            invoke_id_and_priority: InvokeIdAndPriority(0xC1),
            result: DataBlockG {
                last_block: false,
                block_number: 1,
                result: DataBlockGResult::RawData(vec![1, 2, 3, 4]),
            },
        };
        assert_eq!(GetResponse::from_bytes(bytes), Ok(want.clone()));
        assert_eq!(want.to_bytes(), bytes);
        // last block with error long-get-aborted (15): C4 02 C1 01 00000002 01 0F
        let err = GetResponse::from_bytes(&hex("C402C10100000002010F")).unwrap();
        assert_eq!(
            err,
            GetResponse::WithDataBlock {
                invoke_id_and_priority: InvokeIdAndPriority(0xC1),
                result: DataBlockG {
                    last_block: true,
                    block_number: 2,
                    result: DataBlockGResult::DataAccessResult(DataAccessResult::LongGetAborted),
                },
            }
        );
    }

    #[test]
    fn get_response_with_list_known_answer() {
        // C4 03 C1 02 | 00 12 0102 (long-unsigned 258) | 01 03 (read-write-denied)
        let bytes = hex("C403C102001201020103");
        let want = GetResponse::WithList {
            invoke_id_and_priority: InvokeIdAndPriority(0xC1),
            result: vec![
                GetDataResult::Data(Data::LongUnsigned(258)),
                GetDataResult::DataAccessResult(DataAccessResult::ReadWriteDenied),
            ],
        };
        assert_eq!(GetResponse::from_bytes(&bytes), Ok(want.clone()));
        assert_eq!(want.to_bytes(), bytes);
    }

    #[test]
    fn get_request_with_entry_selection_known_answer() {
        // Load profile 1.0.99.1.0.255 (class 7) buffer (attribute 2), entries 1..=4, all columns:
        // C0 01 C1 0007 0100630100FF 02 | 01 (present) 02 (entry) 02 04 06 00000001 06 00000004 12 0001 12 0000
        let bytes = hex("C001C100070100630100FF020102020406000000010600000004120001120000");
        let req = GetRequest::from_bytes(&bytes).unwrap();
        let GetRequest::Normal { attribute_descriptor, access_selection: Some(SelectiveAccess::Entry(e)), .. } = &req
        else {
            panic!("unexpected {req:?}");
        };
        assert_eq!(attribute_descriptor.instance_id, Obis::new(1, 0, 99, 1, 0, 255));
        assert_eq!((e.from_entry, e.to_entry, e.from_selected_value, e.to_selected_value), (1, 4, 1, 0));
        assert_eq!(req.to_bytes(), bytes);
    }

    #[test]
    fn unknown_choice_and_wrong_tag_are_typed_errors() {
        assert_eq!(
            GetRequest::from_bytes(&hex("C004C1")),
            Err(DecodeError::UnknownTag { what: "Get-Request CHOICE", tag: 4 })
        );
        assert_eq!(
            GetRequest::from_bytes(&hex("C401C10104")),
            Err(DecodeError::UnknownTag { what: "Get-Request APDU", tag: 0xC4 })
        );
        assert_eq!(
            GetResponse::from_bytes(&hex("C401C102")),
            Err(DecodeError::UnknownTag { what: "Get-Data-Result CHOICE", tag: 2 })
        );
        assert_eq!(
            GetResponse::from_bytes(&hex("C402C10100000001020F")),
            Err(DecodeError::UnknownTag { what: "DataBlock-G result CHOICE", tag: 2 })
        );
        assert!(matches!(GetResponse::from_bytes(&hex("C401C10105")), Err(DecodeError::Invalid { .. })));
        // raw-data longer than the input
        assert!(matches!(GetResponse::from_bytes(&hex("C402C101000000010010AA")), Err(DecodeError::Oversized { .. })));
    }

    proptest! {
        #[test]
        fn get_request_round_trips(a in get_request()) {
            let bytes = a.to_bytes();
            prop_assert_eq!(GetRequest::from_bytes(&bytes).unwrap(), a);
            for n in 0..bytes.len() {
                prop_assert!(GetRequest::from_bytes(&bytes[..n]).is_err());
            }
        }

        #[test]
        fn get_response_round_trips(a in get_response()) {
            let bytes = a.to_bytes();
            prop_assert_eq!(GetResponse::from_bytes(&bytes).unwrap(), a);
            for n in 0..bytes.len() {
                prop_assert!(GetResponse::from_bytes(&bytes[..n]).is_err());
            }
        }
    }
}
