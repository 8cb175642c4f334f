//! The server's ACTION service (IEC 62056-5-3:2017 §9.3.8): action-request-normal,
//! -with-list, and the block transfer of long parameters (action-request-with-first-pblock
//! / -with-list-and-first-pblock / -with-pblock), acknowledged block by block
//! (action-response-next-pblock) and checked for sequence. Responses are never sent in
//! pblocks: one that does not fit the client's max receive PDU size goes in
//! General-Block-Transfer blocks when negotiated, else is replaced by other-reason.

use super::{CosemServer, LongWrite, MAX_ASSEMBLED_REQUEST_LEN, ServerAssociation};
use crate::apdu::Apdu;
use crate::association::datablock::{DataBlockAssembler, decode_data_list};
use crate::codec::Codec;
use crate::data::Data;
use crate::xdlms::action::{ActionRequest, ActionResponse, ActionResponseWithOptionalData};
use crate::xdlms::apdu::XdlmsApdu;
use crate::xdlms::conformance::Conformance;
use crate::xdlms::descriptor::{ActionResult, CosemMethodDescriptor};
use crate::xdlms::exception::{ExceptionServiceError, StateError};
use crate::xdlms::get::GetDataResult;
use crate::xdlms::invoke_id::InvokeIdAndPriority;
use crate::xdlms::set::DataBlockSA;

/// What a long ACTION invokes.
#[derive(Debug)]
pub(super) enum ActionTarget {
    Method(CosemMethodDescriptor),
    List(Vec<CosemMethodDescriptor>),
}

impl ServerAssociation {
    pub(super) fn on_action(&mut self, req: ActionRequest, server: &mut impl CosemServer) {
        if !self.negotiated.contains(Conformance::ACTION) {
            return self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported);
        }
        if !matches!(req, ActionRequest::WithPBlock { .. }) {
            self.long_action = None;
        }
        let blocks = self.negotiated.contains(Conformance::BLOCK_TRANSFER_WITH_ACTION);
        let lists = self.negotiated.contains(Conformance::MULTIPLE_REFERENCES);
        match req {
            ActionRequest::Normal { invoke_id_and_priority, method_descriptor, method_invocation_parameters } => {
                let single_response =
                    self.invoke_method(&method_descriptor, method_invocation_parameters.as_ref(), server);
                self.send_action_response(ActionResponse::Normal { invoke_id_and_priority, single_response });
            }
            ActionRequest::WithList {
                invoke_id_and_priority,
                method_descriptor_list,
                method_invocation_parameters,
            } if lists => {
                let list_of_responses =
                    self.invoke_list(&method_descriptor_list, Some(method_invocation_parameters), server);
                self.send_action_response(ActionResponse::WithList { invoke_id_and_priority, list_of_responses });
            }
            ActionRequest::WithFirstPBlock { invoke_id_and_priority, method_descriptor, pblock } if blocks => {
                self.start_long_action(
                    invoke_id_and_priority,
                    ActionTarget::Method(method_descriptor),
                    &pblock,
                    server,
                );
            }
            ActionRequest::WithListAndFirstPBlock { invoke_id_and_priority, method_descriptor_list, pblock }
                if blocks && lists =>
            {
                let target = ActionTarget::List(method_descriptor_list);
                self.start_long_action(invoke_id_and_priority, target, &pblock, server);
            }
            ActionRequest::WithPBlock { invoke_id_and_priority: invoke, pblock } if blocks => {
                let Some(mut long) = self.long_action.take() else {
                    return self.send_action_refusal(invoke, None, ActionResult::NoLongActionInProgress);
                };
                let pushed = if long.invoke.invoke_id() == invoke.invoke_id() {
                    long.assembler.push(&pblock).map_err(|_| ActionResult::LongActionAborted)
                } else {
                    Err(ActionResult::LongActionAborted)
                };
                match pushed {
                    Err(e) => self.send_action_refusal(invoke, Some(&long.target), e),
                    Ok(()) if pblock.last_block => {
                        let parameters = long.assembler.into_bytes();
                        self.finish_long_action(invoke, long.target, &parameters, server);
                    }
                    Ok(()) => {
                        self.long_action = Some(long);
                        self.send(Apdu::Xdlms(XdlmsApdu::ActionResponse(ActionResponse::NextPBlock {
                            invoke_id_and_priority: invoke,
                            block_number: pblock.block_number,
                        })));
                    }
                }
            }
            // The server never sends action-response-with-pblock.
            ActionRequest::NextPBlock { invoke_id_and_priority, .. } => {
                self.send_action_refusal(invoke_id_and_priority, None, ActionResult::NoLongActionInProgress);
            }
            _ => self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported),
        }
    }

    /// The first block of a long ACTION.
    pub(super) fn start_long_action(
        &mut self,
        invoke: InvokeIdAndPriority,
        target: ActionTarget,
        block: &DataBlockSA,
        server: &mut impl CosemServer,
    ) {
        match DataBlockAssembler::first(block, MAX_ASSEMBLED_REQUEST_LEN) {
            Err(_) => self.send_action_refusal(invoke, Some(&target), ActionResult::LongActionAborted),
            Ok(assembler) if block.last_block => {
                self.finish_long_action(invoke, target, &assembler.into_bytes(), server);
            }
            Ok(assembler) => {
                self.long_action = Some(LongWrite { invoke, target, assembler });
                self.send(Apdu::Xdlms(XdlmsApdu::ActionResponse(ActionResponse::NextPBlock {
                    invoke_id_and_priority: invoke,
                    block_number: block.block_number,
                })));
            }
        }
    }

    /// The last block of a long ACTION arrived: invoke with the assembled parameters.
    pub(super) fn finish_long_action(
        &mut self,
        invoke: InvokeIdAndPriority,
        target: ActionTarget,
        parameters: &[u8],
        server: &mut impl CosemServer,
    ) {
        let response = match target {
            ActionTarget::Method(method) => {
                let single_response = match Data::from_bytes(parameters) {
                    Ok(p) => self.invoke_method(&method, Some(&p), server),
                    Err(_) => {
                        ActionResponseWithOptionalData { result: ActionResult::TypeUnmatched, return_parameters: None }
                    }
                };
                ActionResponse::Normal { invoke_id_and_priority: invoke, single_response }
            }
            ActionTarget::List(list) => {
                let list_of_responses = self.invoke_list(&list, decode_data_list(parameters).ok(), server);
                ActionResponse::WithList { invoke_id_and_priority: invoke, list_of_responses }
            }
        };
        self.send_action_response(response);
    }

    pub(super) fn invoke_method(
        &mut self,
        method: &CosemMethodDescriptor,
        parameters: Option<&Data>,
        server: &mut impl CosemServer,
    ) -> ActionResponseWithOptionalData {
        match server.action(&self.ctx, method, parameters) {
            Ok(ret) => ActionResponseWithOptionalData {
                result: ActionResult::Success,
                return_parameters: ret.map(GetDataResult::Data),
            },
            Err(e) => ActionResponseWithOptionalData { result: e, return_parameters: None },
        }
    }

    /// Invokes each method of an ACTION with list; a null-data parameter is passed as
    /// "no parameters". `parameters` `None` (undecodable) or of another length than the
    /// list refuses every item.
    pub(super) fn invoke_list(
        &mut self,
        list: &[CosemMethodDescriptor],
        parameters: Option<Vec<Data>>,
        server: &mut impl CosemServer,
    ) -> Vec<ActionResponseWithOptionalData> {
        let refused = |result| vec![ActionResponseWithOptionalData { result, return_parameters: None }; list.len()];
        match parameters {
            Some(parameters) if parameters.len() == list.len() => list
                .iter()
                .zip(&parameters)
                .map(|(m, p)| self.invoke_method(m, Some(p).filter(|p| **p != Data::NullData), server))
                .collect(),
            Some(_) => refused(ActionResult::OtherReason),
            None => refused(ActionResult::TypeUnmatched),
        }
    }

    /// Ends a long ACTION with `result` (for a list: for every item).
    pub(super) fn send_action_refusal(
        &mut self,
        invoke: InvokeIdAndPriority,
        target: Option<&ActionTarget>,
        result: ActionResult,
    ) {
        self.long_action = None;
        let refusal = ActionResponseWithOptionalData { result, return_parameters: None };
        let response = match target {
            Some(ActionTarget::List(list)) => ActionResponse::WithList {
                invoke_id_and_priority: invoke,
                list_of_responses: vec![refusal; list.len()],
            },
            _ => ActionResponse::Normal { invoke_id_and_priority: invoke, single_response: refusal },
        };
        self.send(Apdu::Xdlms(XdlmsApdu::ActionResponse(response)));
    }

    /// Sends an action-response; one too long for the client's max receive PDU (and no
    /// general-block-transfer to carry it) is replaced by other-reason results.
    pub(super) fn send_action_response(&mut self, response: ActionResponse) {
        let apdu = Apdu::Xdlms(XdlmsApdu::ActionResponse(response));
        if apdu.to_bytes().len() <= self.pdu_budget() || self.negotiated.contains(Conformance::GENERAL_BLOCK_TRANSFER) {
            return self.send(apdu);
        }
        let other = ActionResponseWithOptionalData { result: ActionResult::OtherReason, return_parameters: None };
        let response = match apdu {
            Apdu::Xdlms(XdlmsApdu::ActionResponse(ActionResponse::WithList {
                invoke_id_and_priority,
                list_of_responses,
            })) => ActionResponse::WithList {
                invoke_id_and_priority,
                list_of_responses: vec![other; list_of_responses.len()],
            },
            Apdu::Xdlms(x) => ActionResponse::Normal {
                invoke_id_and_priority: x.invoke_id_and_priority().unwrap_or(InvokeIdAndPriority(0)),
                single_response: other,
            },
            _ => return,
        };
        self.send(Apdu::Xdlms(XdlmsApdu::ActionResponse(response)));
    }
}
