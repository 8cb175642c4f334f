//! The client's handling of GET, SET and ACTION responses (IEC 62056-5-3:2017 §9.3.6-§9.3.8):
//! normal, with list, get-response-with-datablock (fetching the next block), and the
//! block acknowledgements of a long SET or ACTION (sending the next block).

use super::write_requests::{OutgoingBlocks, action_next_block, next_block_to_send, set_next_block};
use super::{ClientAssociation, ClientError, ClientEvent, ClientState, MAX_ASSEMBLED_LEN, Pending};
use crate::apdu::Apdu;
use crate::association::datablock::decode_get_results;
use crate::data::Data;
use crate::xdlms::action::{ActionResponse, ActionResponseWithOptionalData};
use crate::xdlms::apdu::XdlmsApdu;
use crate::xdlms::descriptor::{ActionResult, DataAccessResult};
use crate::xdlms::get::{DataBlockG, DataBlockGResult, GetDataResult, GetRequest, GetResponse};
use crate::xdlms::invoke_id::InvokeIdAndPriority;
use crate::xdlms::set::SetResponse;

impl ClientAssociation {
    /// A get-response to a GET (`list` = None) or a GET with list of `list` attributes.
    pub(super) fn on_get_response(
        &mut self,
        invoke: InvokeIdAndPriority,
        list: Option<usize>,
        mut assembled: Vec<u8>,
        next_block: u32,
        resp: GetResponse,
    ) -> Result<Option<ClientEvent>, ClientError> {
        check_invoke(invoke, resp.invoke_id_and_priority())?;
        match (resp, list) {
            (GetResponse::Normal { result, .. }, None) => {
                self.state = ClientState::Associated;
                Ok(Some(ClientEvent::Get(get_data_result(result))))
            }
            (GetResponse::WithList { result, .. }, Some(count)) if result.len() == count => {
                self.state = ClientState::Associated;
                Ok(Some(ClientEvent::GetWithList(result.into_iter().map(get_data_result).collect())))
            }
            (GetResponse::WithDataBlock { result: block, .. }, list) => {
                let DataBlockG { last_block, block_number, result } = block;
                if block_number != next_block {
                    return Err(ClientError::BlockNumberMismatch { expected: next_block, got: block_number });
                }
                let raw = match result {
                    DataBlockGResult::DataAccessResult(e) => {
                        self.state = ClientState::Associated;
                        return Ok(Some(match list {
                            None => ClientEvent::Get(Err(e)),
                            Some(count) => ClientEvent::GetWithList(vec![Err(e); count]),
                        }));
                    }
                    DataBlockGResult::RawData(raw) => raw,
                };
                if assembled.len() + raw.len() > MAX_ASSEMBLED_LEN {
                    return Err(ClientError::ValueTooLarge);
                }
                assembled.extend_from_slice(&raw);
                if !last_block {
                    self.send(Apdu::Xdlms(XdlmsApdu::GetRequest(GetRequest::Next {
                        invoke_id_and_priority: invoke,
                        block_number,
                    })))?;
                    self.pending = Some(match list {
                        None => Pending::Get { invoke, assembled, next_block: next_block.saturating_add(1) },
                        Some(count) => {
                            Pending::GetWithList { invoke, count, assembled, next_block: next_block.saturating_add(1) }
                        }
                    });
                    return Ok(None);
                }
                self.state = ClientState::Associated;
                match list {
                    None => Ok(Some(ClientEvent::Get(Ok(Data::from_bytes(&assembled)?)))),
                    Some(count) => {
                        let results = decode_get_results(&assembled)?;
                        if results.len() != count {
                            return Err(ClientError::Unexpected {
                                expected: "one result per attribute",
                                got: "another number of results",
                            });
                        }
                        Ok(Some(ClientEvent::GetWithList(results.into_iter().map(get_data_result).collect())))
                    }
                }
            }
            (GetResponse::WithList { .. }, None) => {
                Err(ClientError::Unexpected { expected: "get-response-normal", got: "get-response-with-list" })
            }
            (_, Some(_)) => Err(ClientError::Unexpected {
                expected: "get-response-with-list with one result per attribute",
                got: "another get-response",
            }),
        }
    }

    /// A set-response to a SET (`list` = None) or SET with list of `list` attributes,
    /// possibly sent in datablocks.
    pub(super) fn on_set_response(
        &mut self,
        invoke: InvokeIdAndPriority,
        list: Option<usize>,
        mut blocks: OutgoingBlocks,
        resp: SetResponse,
    ) -> Result<Option<ClientEvent>, ClientError> {
        check_invoke(invoke, resp.invoke_id_and_priority())?;
        let event = match (resp, list) {
            (SetResponse::DataBlock { block_number, .. }, _) => {
                let next = next_block_to_send(&mut blocks, block_number)?;
                self.send_request(XdlmsApdu::SetRequest(set_next_block(invoke, next)))?;
                self.pending = Some(Pending::Set { invoke, list, blocks });
                return Ok(None);
            }
            (SetResponse::Normal { result, .. } | SetResponse::LastDataBlock { result, .. }, None) => {
                ClientEvent::Set(result)
            }
            (SetResponse::WithList { result, .. } | SetResponse::LastDataBlockWithList { result, .. }, Some(count))
                if result.len() == count =>
            {
                ClientEvent::SetWithList(result)
            }
            // A long SET with list refused as a whole.
            (SetResponse::Normal { result, .. } | SetResponse::LastDataBlock { result, .. }, Some(count))
                if result != DataAccessResult::Success =>
            {
                ClientEvent::SetWithList(vec![result; count])
            }
            (_, None) => {
                return Err(ClientError::Unexpected { expected: "set-response-normal", got: "another set-response" });
            }
            (_, Some(_)) => {
                return Err(ClientError::Unexpected {
                    expected: "set-response-with-list with one result per attribute",
                    got: "another set-response",
                });
            }
        };
        self.state = ClientState::Associated;
        Ok(Some(event))
    }

    /// An action-response to an ACTION (`list` = None) or ACTION with list of `list`
    /// methods, possibly sent in pblocks.
    pub(super) fn on_action_response(
        &mut self,
        invoke: InvokeIdAndPriority,
        list: Option<usize>,
        mut blocks: OutgoingBlocks,
        resp: ActionResponse,
    ) -> Result<Option<ClientEvent>, ClientError> {
        check_invoke(invoke, resp.invoke_id_and_priority())?;
        let event = match (resp, list) {
            (ActionResponse::NextPBlock { block_number, .. }, _) => {
                let next = next_block_to_send(&mut blocks, block_number)?;
                self.send_request(XdlmsApdu::ActionRequest(action_next_block(invoke, next)))?;
                self.pending = Some(Pending::Action { invoke, list, blocks });
                return Ok(None);
            }
            (ActionResponse::Normal { single_response, .. }, None) => {
                ClientEvent::Action(action_outcome(single_response))
            }
            (ActionResponse::WithList { list_of_responses, .. }, Some(count)) if list_of_responses.len() == count => {
                ClientEvent::ActionWithList(list_of_responses.into_iter().map(action_outcome).collect())
            }
            // A long ACTION with list refused as a whole.
            (ActionResponse::Normal { single_response, .. }, Some(count))
                if single_response.result != ActionResult::Success =>
            {
                ClientEvent::ActionWithList(vec![Err(single_response.result); count])
            }
            (ActionResponse::WithPBlock { .. }, _) => {
                return Err(ClientError::Unexpected {
                    expected: "action-response-normal or -with-list",
                    got: "action-response-with-pblock",
                });
            }
            (_, None) => {
                return Err(ClientError::Unexpected {
                    expected: "action-response-normal",
                    got: "another action-response",
                });
            }
            (_, Some(_)) => {
                return Err(ClientError::Unexpected {
                    expected: "action-response-with-list with one result per method",
                    got: "another action-response",
                });
            }
        };
        self.state = ClientState::Associated;
        Ok(Some(event))
    }
}

pub(super) fn check_invoke(expected: InvokeIdAndPriority, got: InvokeIdAndPriority) -> Result<(), ClientError> {
    if expected.invoke_id() == got.invoke_id() {
        Ok(())
    } else {
        Err(ClientError::InvokeIdMismatch { expected: expected.invoke_id(), got: got.invoke_id() })
    }
}

pub(super) fn get_data_result(r: GetDataResult) -> Result<Data, DataAccessResult> {
    match r {
        GetDataResult::Data(d) => Ok(d),
        GetDataResult::DataAccessResult(e) => Err(e),
    }
}

/// The outcome of one method invocation as the client reports it.
pub(super) fn action_outcome(r: ActionResponseWithOptionalData) -> Result<Option<Data>, ActionResult> {
    match r.result {
        ActionResult::Success => match r.return_parameters {
            None => Ok(None),
            Some(GetDataResult::Data(d)) => Ok(Some(d)),
            Some(GetDataResult::DataAccessResult(_)) => Err(ActionResult::OtherReason),
        },
        other => Err(other),
    }
}
