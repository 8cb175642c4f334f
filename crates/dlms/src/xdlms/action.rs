//! The ACTION service APDUs (IEC 62056-5-3 §9.3.8 ACTION service, §9.5 ASN.1
//! `Action-Request`, `Action-Response`): invoking methods of COSEM objects (e.g. the
//! Disconnect control's remote_disconnect, the Association's reply_to_HLS_authentication),
//! with parameter block transfer (pblock) and lists.

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};
use crate::data::Data;
use crate::xdlms::apdu::{
    expect_apdu_tag, put_optional, put_sequence_of, read_choice, read_presence, read_sequence_of, tag,
};
use crate::xdlms::descriptor::{ActionResult, CosemMethodDescriptor, DESCRIPTOR_ENCODED_LEN};
use crate::xdlms::get::GetDataResult;
use crate::xdlms::invoke_id::InvokeIdAndPriority;
use crate::xdlms::set::DataBlockSA;

/// `Action-Request ::= CHOICE` (IEC 62056-5-3 §9.5), APDU tag 0xC3.
///
/// Wire form: `C3`, the CHOICE index (1..=6 in variant order), then the fields in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ActionRequest {
    /// action-request-normal [1]: invoke one method.
    Normal {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The method to invoke.
        method_descriptor: CosemMethodDescriptor,
        /// `method-invocation-parameters Data OPTIONAL`.
        method_invocation_parameters: Option<Data>,
    },
    /// action-request-next-pblock [2]: ask for the block after `block_number` of a long
    /// action-response.
    NextPBlock {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The number of the block last received.
        block_number: u32,
    },
    /// action-request-with-list [3]: invoke several methods.
    WithList {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The methods.
        method_descriptor_list: Vec<CosemMethodDescriptor>,
        /// Their parameters, one per method, in the same order.
        method_invocation_parameters: Vec<Data>,
    },
    /// action-request-with-first-pblock [4]: first block of long method parameters.
    WithFirstPBlock {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The method to invoke.
        method_descriptor: CosemMethodDescriptor,
        /// Block 1 of the encoded parameters.
        pblock: DataBlockSA,
    },
    /// action-request-with-list-and-first-pblock [5].
    WithListAndFirstPBlock {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The methods.
        method_descriptor_list: Vec<CosemMethodDescriptor>,
        /// Block 1 of the encoded parameter list.
        pblock: DataBlockSA,
    },
    /// action-request-with-pblock [6]: a further block of long parameters.
    WithPBlock {
        /// Invoke id, service class and priority.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The block.
        pblock: DataBlockSA,
    },
}

impl ActionRequest {
    /// The request's invoke-id-and-priority.
    pub fn invoke_id_and_priority(&self) -> InvokeIdAndPriority {
        match self {
            ActionRequest::Normal { invoke_id_and_priority, .. }
            | ActionRequest::NextPBlock { invoke_id_and_priority, .. }
            | ActionRequest::WithList { invoke_id_and_priority, .. }
            | ActionRequest::WithFirstPBlock { invoke_id_and_priority, .. }
            | ActionRequest::WithListAndFirstPBlock { invoke_id_and_priority, .. }
            | ActionRequest::WithPBlock { invoke_id_and_priority, .. } => *invoke_id_and_priority,
        }
    }
}

fn read_method_list(r: &mut Reader<'_>) -> Result<Vec<CosemMethodDescriptor>, DecodeError> {
    read_sequence_of(r, "cosem-method-descriptor-list", DESCRIPTOR_ENCODED_LEN, CosemMethodDescriptor::decode)
}

impl Codec for ActionRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::ACTION_REQUEST);
        match self {
            ActionRequest::Normal { invoke_id_and_priority, method_descriptor, method_invocation_parameters } => {
                out.push(1);
                invoke_id_and_priority.encode(out);
                method_descriptor.encode(out);
                put_optional(out, method_invocation_parameters.as_ref(), |d, out| d.encode(out));
            }
            ActionRequest::NextPBlock { invoke_id_and_priority, block_number } => {
                out.push(2);
                invoke_id_and_priority.encode(out);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
            ActionRequest::WithList {
                invoke_id_and_priority,
                method_descriptor_list,
                method_invocation_parameters,
            } => {
                out.push(3);
                invoke_id_and_priority.encode(out);
                put_sequence_of(out, method_descriptor_list, |m, out| m.encode(out));
                put_sequence_of(out, method_invocation_parameters, |d, out| d.encode(out));
            }
            ActionRequest::WithFirstPBlock { invoke_id_and_priority, method_descriptor, pblock } => {
                out.push(4);
                invoke_id_and_priority.encode(out);
                method_descriptor.encode(out);
                pblock.encode(out);
            }
            ActionRequest::WithListAndFirstPBlock { invoke_id_and_priority, method_descriptor_list, pblock } => {
                out.push(5);
                invoke_id_and_priority.encode(out);
                put_sequence_of(out, method_descriptor_list, |m, out| m.encode(out));
                pblock.encode(out);
            }
            ActionRequest::WithPBlock { invoke_id_and_priority, pblock } => {
                out.push(6);
                invoke_id_and_priority.encode(out);
                pblock.encode(out);
            }
        }
    }

    /// # Errors
    /// Truncated input; [`DecodeError::UnknownTag`] for a tag other than 0xC3 or a CHOICE
    /// index other than 1..=6; [`DecodeError::Invalid`] for a bad presence flag; any
    /// `Data` error.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        expect_apdu_tag(r, tag::ACTION_REQUEST, "Action-Request APDU")?;
        Ok(match read_choice(r, "Action-Request CHOICE")? {
            1 => ActionRequest::Normal {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                method_descriptor: CosemMethodDescriptor::decode(r)?,
                method_invocation_parameters: if read_presence(r, "method-invocation-parameters")? {
                    Some(Data::decode(r)?)
                } else {
                    None
                },
            },
            2 => ActionRequest::NextPBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                block_number: r.u32("block-number")?,
            },
            3 => ActionRequest::WithList {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                method_descriptor_list: read_method_list(r)?,
                method_invocation_parameters: read_sequence_of(r, "method-invocation-parameters", 1, Data::decode)?,
            },
            4 => ActionRequest::WithFirstPBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                method_descriptor: CosemMethodDescriptor::decode(r)?,
                pblock: DataBlockSA::decode(r)?,
            },
            5 => ActionRequest::WithListAndFirstPBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                method_descriptor_list: read_method_list(r)?,
                pblock: DataBlockSA::decode(r)?,
            },
            6 => ActionRequest::WithPBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                pblock: DataBlockSA::decode(r)?,
            },
            other => return Err(DecodeError::UnknownTag { what: "Action-Request CHOICE", tag: other }),
        })
    }
}

/// `Action-Response-With-Optional-Data ::= SEQUENCE { result Action-Result,
/// return-parameters Get-Data-Result OPTIONAL }` (IEC 62056-5-3 §9.5): the outcome of one
/// method invocation and its return value, if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionResponseWithOptionalData {
    /// The outcome.
    pub result: ActionResult,
    /// The returned value (or a data-access-result); `None` when the method returns
    /// nothing.
    pub return_parameters: Option<GetDataResult>,
}

impl ActionResponseWithOptionalData {
    /// Smallest encoding: result (1) + presence flag (1).
    pub const MIN_ENCODED_LEN: usize = 2;
}

impl Codec for ActionResponseWithOptionalData {
    fn encode(&self, out: &mut Vec<u8>) {
        self.result.encode(out);
        put_optional(out, self.return_parameters.as_ref(), |g, out| g.encode(out));
    }

    /// # Errors
    /// Truncated input, an undefined Action-Result, a bad presence flag or a malformed
    /// Get-Data-Result.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let result = ActionResult::decode(r)?;
        let return_parameters =
            if read_presence(r, "return-parameters")? { Some(GetDataResult::decode(r)?) } else { None };
        Ok(ActionResponseWithOptionalData { result, return_parameters })
    }
}

/// `Action-Response ::= CHOICE` (IEC 62056-5-3 §9.5), APDU tag 0xC7.
///
/// Wire form: `C7`, the CHOICE index (1..=4 in variant order), then the fields in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ActionResponse {
    /// action-response-normal [1].
    Normal {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The outcome and optional return value.
        single_response: ActionResponseWithOptionalData,
    },
    /// action-response-with-pblock [2]: one block of a long response.
    WithPBlock {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The block.
        pblock: DataBlockSA,
    },
    /// action-response-with-list [3]: one outcome per method, in request order.
    WithList {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The outcomes.
        list_of_responses: Vec<ActionResponseWithOptionalData>,
    },
    /// action-response-next-pblock [4]: block `block_number` of the parameters
    /// received, send the next.
    NextPBlock {
        /// Copied from the request.
        invoke_id_and_priority: InvokeIdAndPriority,
        /// The block acknowledged.
        block_number: u32,
    },
}

impl ActionResponse {
    /// The response's invoke-id-and-priority.
    pub fn invoke_id_and_priority(&self) -> InvokeIdAndPriority {
        match self {
            ActionResponse::Normal { invoke_id_and_priority, .. }
            | ActionResponse::WithPBlock { invoke_id_and_priority, .. }
            | ActionResponse::WithList { invoke_id_and_priority, .. }
            | ActionResponse::NextPBlock { invoke_id_and_priority, .. } => *invoke_id_and_priority,
        }
    }
}

impl Codec for ActionResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::ACTION_RESPONSE);
        match self {
            ActionResponse::Normal { invoke_id_and_priority, single_response } => {
                out.push(1);
                invoke_id_and_priority.encode(out);
                single_response.encode(out);
            }
            ActionResponse::WithPBlock { invoke_id_and_priority, pblock } => {
                out.push(2);
                invoke_id_and_priority.encode(out);
                pblock.encode(out);
            }
            ActionResponse::WithList { invoke_id_and_priority, list_of_responses } => {
                out.push(3);
                invoke_id_and_priority.encode(out);
                put_sequence_of(out, list_of_responses, |a, out| a.encode(out));
            }
            ActionResponse::NextPBlock { invoke_id_and_priority, block_number } => {
                out.push(4);
                invoke_id_and_priority.encode(out);
                out.extend_from_slice(&block_number.to_be_bytes());
            }
        }
    }

    /// # Errors
    /// Truncated input; [`DecodeError::UnknownTag`] for a tag other than 0xC7 or a CHOICE
    /// index other than 1..=4; [`DecodeError::Invalid`] for undefined Action-Result or
    /// Data-Access-Result values or a bad presence flag; any `Data` error.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        expect_apdu_tag(r, tag::ACTION_RESPONSE, "Action-Response APDU")?;
        Ok(match read_choice(r, "Action-Response CHOICE")? {
            1 => ActionResponse::Normal {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                single_response: ActionResponseWithOptionalData::decode(r)?,
            },
            2 => ActionResponse::WithPBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                pblock: DataBlockSA::decode(r)?,
            },
            3 => ActionResponse::WithList {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                list_of_responses: read_sequence_of(
                    r,
                    "list-of-responses",
                    ActionResponseWithOptionalData::MIN_ENCODED_LEN,
                    ActionResponseWithOptionalData::decode,
                )?,
            },
            4 => ActionResponse::NextPBlock {
                invoke_id_and_priority: InvokeIdAndPriority::decode(r)?,
                block_number: r.u32("block-number")?,
            },
            other => return Err(DecodeError::UnknownTag { what: "Action-Response CHOICE", tag: other }),
        })
    }
}

/// proptest strategies for the ACTION APDUs (test builds only).
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    use super::*;
    use crate::proptest_strategies::data;
    use crate::xdlms::descriptor::strategies::{action_result, method_descriptor};
    use crate::xdlms::get::strategies::{get_data_result, invoke};
    use crate::xdlms::set::strategies::data_block_sa;

    /// Any Action-Response-With-Optional-Data.
    pub fn action_response_with_optional_data() -> impl Strategy<Value = ActionResponseWithOptionalData> {
        (action_result(), proptest::option::of(get_data_result()))
            .prop_map(|(result, return_parameters)| ActionResponseWithOptionalData { result, return_parameters })
    }

    /// Any Action-Request.
    pub fn action_request() -> impl Strategy<Value = ActionRequest> {
        prop_oneof![
            (invoke(), method_descriptor(), proptest::option::of(data())).prop_map(|(i, m, p)| ActionRequest::Normal {
                invoke_id_and_priority: i,
                method_descriptor: m,
                method_invocation_parameters: p
            }),
            (invoke(), any::<u32>())
                .prop_map(|(i, b)| ActionRequest::NextPBlock { invoke_id_and_priority: i, block_number: b }),
            (invoke(), prop::collection::vec(method_descriptor(), 0..4), prop::collection::vec(data(), 0..4)).prop_map(
                |(i, m, p)| ActionRequest::WithList {
                    invoke_id_and_priority: i,
                    method_descriptor_list: m,
                    method_invocation_parameters: p
                }
            ),
            (invoke(), method_descriptor(), data_block_sa()).prop_map(|(i, m, b)| ActionRequest::WithFirstPBlock {
                invoke_id_and_priority: i,
                method_descriptor: m,
                pblock: b
            }),
            (invoke(), prop::collection::vec(method_descriptor(), 0..4), data_block_sa()).prop_map(|(i, m, b)| {
                ActionRequest::WithListAndFirstPBlock {
                    invoke_id_and_priority: i,
                    method_descriptor_list: m,
                    pblock: b,
                }
            }),
            (invoke(), data_block_sa())
                .prop_map(|(i, b)| ActionRequest::WithPBlock { invoke_id_and_priority: i, pblock: b }),
        ]
    }

    /// Any Action-Response.
    pub fn action_response() -> impl Strategy<Value = ActionResponse> {
        prop_oneof![
            (invoke(), action_response_with_optional_data())
                .prop_map(|(i, s)| ActionResponse::Normal { invoke_id_and_priority: i, single_response: s }),
            (invoke(), data_block_sa())
                .prop_map(|(i, b)| ActionResponse::WithPBlock { invoke_id_and_priority: i, pblock: b }),
            (invoke(), prop::collection::vec(action_response_with_optional_data(), 0..4))
                .prop_map(|(i, l)| ActionResponse::WithList { invoke_id_and_priority: i, list_of_responses: l }),
            (invoke(), any::<u32>())
                .prop_map(|(i, b)| ActionResponse::NextPBlock { invoke_id_and_priority: i, block_number: b }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use crate::obis::Obis;
    use crate::xdlms::descriptor::DataAccessResult;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn action_response_success_without_data_known_answer() {
        // C7 01 C1 00 00: action-response-normal, success, no return parameters.
        let bytes = hex("C701C10000");
        let want = ActionResponse::Normal {
            invoke_id_and_priority: InvokeIdAndPriority(0xC1),
            single_response: ActionResponseWithOptionalData { result: ActionResult::Success, return_parameters: None },
        };
        assert_eq!(ActionResponse::from_bytes(&bytes), Ok(want.clone()));
        assert_eq!(want.to_bytes(), bytes);
    }

    #[test]
    fn action_response_hls_reply_known_answer() {
        // reply_to_HLS_authentication returns f(CtoS) as an octet-string:
        // C7 01 C1 00 | 01 (present) 00 (data) 09 11 | 10 01234567 FE1466AFB3DBCD4F9389E2B7
        let f_ctos = hex("1001234567FE1466AFB3DBCD4F9389E2B7");
        let mut bytes = hex("C701C10001000911");
        bytes.extend_from_slice(&f_ctos);
        let want = ActionResponse::Normal {
            invoke_id_and_priority: InvokeIdAndPriority(0xC1),
            single_response: ActionResponseWithOptionalData {
                result: ActionResult::Success,
                return_parameters: Some(GetDataResult::Data(Data::OctetString(f_ctos))),
            },
        };
        assert_eq!(ActionResponse::from_bytes(&bytes), Ok(want.clone()));
        assert_eq!(want.to_bytes(), bytes);
        // return-parameters may also be a data-access-result: C7 01 C1 00 01 01 03
        let dar = ActionResponse::from_bytes(&hex("C701C100010103")).unwrap();
        let ActionResponse::Normal { single_response, .. } = dar else { panic!("not normal") };
        assert_eq!(
            single_response.return_parameters,
            Some(GetDataResult::DataAccessResult(DataAccessResult::ReadWriteDenied))
        );
    }

    #[test]
    fn action_request_normal_known_answer() {
        // Disconnect control (class 70 = 0x46) 0.0.96.3.10.255 method 1 remote_disconnect,
        // parameter integer 0: C3 01 C1 | 0046 0000 60 03 0A FF 01 | 01 (present) 0F 00
        let want = ActionRequest::Normal {
            invoke_id_and_priority: InvokeIdAndPriority(0xC1),
            method_descriptor: CosemMethodDescriptor::new(70, Obis::new(0, 0, 96, 3, 10, 255), 1),
            method_invocation_parameters: Some(Data::Integer(0)),
        };
        let bytes = hex("C301C10046000060030AFF01010F00");
        assert_eq!(want.to_bytes(), bytes);
        assert_eq!(ActionRequest::from_bytes(&bytes), Ok(want));
        // without parameters
        let none = ActionRequest::from_bytes(&hex("C301C10046000060030AFF0100")).unwrap();
        assert_eq!(none.invoke_id_and_priority(), InvokeIdAndPriority(0xC1));
        let ActionRequest::Normal { method_invocation_parameters: None, .. } = none else { panic!("{none:?}") };
    }

    #[test]
    fn unknown_choices_and_enums_are_typed_errors() {
        assert_eq!(
            ActionRequest::from_bytes(&hex("C307C1")),
            Err(DecodeError::UnknownTag { what: "Action-Request CHOICE", tag: 7 })
        );
        assert_eq!(
            ActionResponse::from_bytes(&hex("C705C1")),
            Err(DecodeError::UnknownTag { what: "Action-Response CHOICE", tag: 5 })
        );
        // Action-Result 17 is not defined
        assert!(matches!(ActionResponse::from_bytes(&hex("C701C11100")), Err(DecodeError::Invalid { .. })));
        // presence flag 2
        assert!(matches!(ActionResponse::from_bytes(&hex("C701C10002")), Err(DecodeError::Invalid { .. })));
    }

    proptest! {
        #[test]
        fn action_request_round_trips(a in action_request()) {
            let bytes = a.to_bytes();
            prop_assert_eq!(ActionRequest::from_bytes(&bytes).unwrap(), a);
            for n in 0..bytes.len() {
                prop_assert!(ActionRequest::from_bytes(&bytes[..n]).is_err());
            }
        }

        #[test]
        fn action_response_round_trips(a in action_response()) {
            let bytes = a.to_bytes();
            prop_assert_eq!(ActionResponse::from_bytes(&bytes).unwrap(), a);
            for n in 0..bytes.len() {
                prop_assert!(ActionResponse::from_bytes(&bytes[..n]).is_err());
            }
        }
    }
}
