//! The client (HES side) association state machine.
//!
//! Life cycle: [`ClientAssociation::associate`] queues an AARQ; the AARE moves the
//! machine to [`ClientState::Associated`] (or reports the rejection); then one confirmed
//! request at a time (GET, GET with list, SET, ACTION) is queued and completed by its
//! response; a GET whose value does not fit in one APDU is completed by the block
//! transfer of IEC 62056-5-3 §9.3.7 (get-request-next until last-block), transparently;
//! [`ClientAssociation::release`] queues an RLRQ and the RLRE ends the association.

use std::collections::VecDeque;

use thiserror::Error;

use crate::acse::{Aarq, AssociateSourceDiagnostic, AssociationResult, Rlrq};
use crate::apdu::Apdu;
use crate::association::Authentication;
use crate::codec::{Codec, DecodeError};
use crate::data::Data;
use crate::xdlms::apdu::XdlmsApdu;
use crate::xdlms::conformance::Conformance;
use crate::xdlms::descriptor::AttributeDescriptorWithSelection;
use crate::xdlms::exception::ExceptionResponse;
use crate::xdlms::get::{DataBlockGResult, GetDataResult, GetRequest, GetResponse};
use crate::xdlms::initiate::{InitiateRequest, InitiateResponse};
use crate::xdlms::invoke_id::InvokeIdAndPriority;
use crate::xdlms::notification::DataNotification;
use crate::xdlms::service_error::ConfirmedServiceError;
use crate::xdlms::set::{SetRequest, SetResponse};
use crate::xdlms::{
    ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, SelectiveAccess,
    action::{ActionRequest, ActionResponse},
};

/// Largest value assembled from GET blocks (16 MiB); protects the client against a
/// server that never sets last-block.
pub const MAX_ASSEMBLED_LEN: usize = 16 * 1024 * 1024;

/// What the client proposes in its AARQ.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Authentication mechanism and secret.
    pub authentication: Authentication,
    /// Proposed conformance block.
    pub proposed_conformance: Conformance,
    /// The client's max receive PDU size, bytes (the server must not send larger APDUs).
    pub max_receive_pdu_size: u16,
}

impl Default for ClientConfig {
    /// No authentication, the usual LN client conformance (get, set, action, selective
    /// access, block transfer with get, multiple references, ...), 0xFFFF bytes.
    fn default() -> Self {
        ClientConfig {
            authentication: Authentication::None,
            proposed_conformance: Conformance::GET
                .union(Conformance::SET)
                .union(Conformance::ACTION)
                .union(Conformance::SELECTIVE_ACCESS)
                .union(Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ)
                .union(Conformance::MULTIPLE_REFERENCES)
                .union(Conformance::PRIORITY_MGMT_SUPPORTED)
                .union(Conformance::ATTRIBUTE0_SUPPORTED_WITH_GET)
                .union(Conformance::EVENT_NOTIFICATION)
                .union(Conformance::DATA_NOTIFICATION),
            max_receive_pdu_size: 0xFFFF,
        }
    }
}

/// Where the association is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// No association; `associate` may be called.
    Idle,
    /// AARQ sent, waiting for the AARE.
    AssociationPending,
    /// Associated and ready for a request.
    Associated,
    /// A request is outstanding.
    RequestPending,
    /// RLRQ sent, waiting for the RLRE.
    ReleasePending,
    /// The association was released or refused; a new one needs a new machine.
    Closed,
}

/// A completed exchange.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The server accepted the association with these negotiated parameters.
    Associated(InitiateResponse),
    /// The value of a GET (assembled from all blocks), or the server's refusal.
    Get(Result<Data, DataAccessResult>),
    /// The results of a GET with list, in request order.
    GetWithList(Vec<Result<Data, DataAccessResult>>),
    /// The result of a SET.
    Set(DataAccessResult),
    /// The result of an ACTION and its return parameters, if any.
    Action(Result<Option<Data>, ActionResult>),
    /// The RLRE arrived: the association is released.
    Released,
    /// An unsolicited data-notification (push) arrived on the association.
    DataNotification(DataNotification),
}

/// Why the client machine could not proceed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ClientError {
    /// A request was made in a state that does not allow it.
    #[error("cannot {action} in state {state:?}")]
    InvalidState {
        /// What was attempted.
        action: &'static str,
        /// The state the machine was in.
        state: ClientState,
    },
    /// The received bytes are not a valid APDU.
    #[error("malformed APDU from the server: {0}")]
    Decode(#[from] DecodeError),
    /// The server refused the association.
    #[error("association rejected: {result:?}, diagnostic {diagnostic:?}{}", .initiate_error.map(|e| format!(", {e}")).unwrap_or_default())]
    AssociationRejected {
        /// `result` of the AARE.
        result: AssociationResult,
        /// `result-source-diagnostic` of the AARE.
        diagnostic: AssociateSourceDiagnostic,
        /// The ConfirmedServiceError in the AARE user-information, if any.
        initiate_error: Option<ConfirmedServiceError>,
    },
    /// The server answered with an APDU that does not answer the outstanding request.
    #[error("unexpected {got} while waiting for {expected}")]
    Unexpected {
        /// What the machine was waiting for.
        expected: &'static str,
        /// What arrived.
        got: &'static str,
    },
    /// The response's invoke-id differs from the request's.
    #[error("response invoke-id {got} does not match request invoke-id {expected}")]
    InvokeIdMismatch {
        /// The request's invoke-id.
        expected: u8,
        /// The response's.
        got: u8,
    },
    /// A GET block arrived out of sequence.
    #[error("GET block {got} received, block {expected} expected")]
    BlockNumberMismatch {
        /// The expected block number.
        expected: u32,
        /// The one received.
        got: u32,
    },
    /// The blocks of a GET add up to more than [`MAX_ASSEMBLED_LEN`].
    #[error("GET value exceeds {MAX_ASSEMBLED_LEN} bytes")]
    ValueTooLarge,
    /// The server answered with an exception-response.
    #[error("exception-response from the server: {0:?}")]
    Exception(ExceptionResponse),
    /// The server answered with a confirmed-service-error.
    #[error("confirmed-service-error from the server: {0}")]
    ServiceError(ConfirmedServiceError),
    /// The service is not in the negotiated conformance block.
    #[error("service {0} was not negotiated with the server")]
    NotNegotiated(&'static str),
}

#[derive(Debug)]
enum Pending {
    Associate,
    Get { invoke: InvokeIdAndPriority, assembled: Vec<u8>, next_block: u32 },
    GetWithList { invoke: InvokeIdAndPriority, count: usize },
    Set { invoke: InvokeIdAndPriority },
    Action { invoke: InvokeIdAndPriority },
    Release,
}

/// The client association state machine (see the module docs).
#[derive(Debug)]
pub struct ClientAssociation {
    config: ClientConfig,
    state: ClientState,
    negotiated: Option<InitiateResponse>,
    pending: Option<Pending>,
    next_invoke_id: u8,
    transmit: VecDeque<Vec<u8>>,
}

impl ClientAssociation {
    /// A new machine in [`ClientState::Idle`].
    pub fn new(config: ClientConfig) -> Self {
        ClientAssociation {
            config,
            state: ClientState::Idle,
            negotiated: None,
            pending: None,
            next_invoke_id: 1,
            transmit: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The server's InitiateResponse once associated (negotiated conformance, server max
    /// receive PDU size).
    pub fn negotiated(&self) -> Option<&InitiateResponse> {
        self.negotiated.as_ref()
    }

    /// The next APDU to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// Queues the AARQ.
    ///
    /// # Errors
    /// [`ClientError::InvalidState`] unless the machine is idle.
    pub fn associate(&mut self) -> Result<(), ClientError> {
        self.require(ClientState::Idle, "associate")?;
        let initiate = InitiateRequest::new(self.config.proposed_conformance, self.config.max_receive_pdu_size);
        let aarq = match &self.config.authentication {
            Authentication::None => Aarq::no_authentication(initiate),
            Authentication::Low { password } => Aarq::low_level_security(password, initiate),
        };
        self.send(Apdu::Aarq(aarq));
        self.pending = Some(Pending::Associate);
        self.state = ClientState::AssociationPending;
        Ok(())
    }

    /// Queues a GET of one attribute, with optional selective access.
    ///
    /// # Errors
    /// [`ClientError::InvalidState`] unless associated and idle;
    /// [`ClientError::NotNegotiated`] when GET (or selective access) was not negotiated.
    pub fn get(
        &mut self,
        attribute: CosemAttributeDescriptor,
        access: Option<SelectiveAccess>,
    ) -> Result<(), ClientError> {
        self.require(ClientState::Associated, "get")?;
        self.require_conformance(Conformance::GET, "get")?;
        if access.is_some() {
            self.require_conformance(Conformance::SELECTIVE_ACCESS, "selective-access")?;
        }
        let invoke = self.next_invoke();
        self.send(Apdu::Xdlms(XdlmsApdu::GetRequest(GetRequest::Normal {
            invoke_id_and_priority: invoke,
            attribute_descriptor: attribute,
            access_selection: access,
        })));
        self.pending = Some(Pending::Get { invoke, assembled: Vec::new(), next_block: 1 });
        self.state = ClientState::RequestPending;
        Ok(())
    }

    /// Queues a GET with list (several attributes in one request; needs the
    /// multiple-references conformance bit).
    ///
    /// # Errors
    /// As [`ClientAssociation::get`], plus `NotNegotiated("multiple-references")`.
    pub fn get_with_list(&mut self, items: Vec<AttributeDescriptorWithSelection>) -> Result<(), ClientError> {
        self.require(ClientState::Associated, "get-with-list")?;
        self.require_conformance(Conformance::GET, "get")?;
        self.require_conformance(Conformance::MULTIPLE_REFERENCES, "multiple-references")?;
        let invoke = self.next_invoke();
        let count = items.len();
        self.send(Apdu::Xdlms(XdlmsApdu::GetRequest(GetRequest::WithList {
            invoke_id_and_priority: invoke,
            attribute_descriptor_list: items,
        })));
        self.pending = Some(Pending::GetWithList { invoke, count });
        self.state = ClientState::RequestPending;
        Ok(())
    }

    /// Queues a SET of one attribute.
    ///
    /// # Errors
    /// [`ClientError::InvalidState`] unless associated and idle; `NotNegotiated("set")`.
    pub fn set(&mut self, attribute: CosemAttributeDescriptor, value: Data) -> Result<(), ClientError> {
        self.require(ClientState::Associated, "set")?;
        self.require_conformance(Conformance::SET, "set")?;
        let invoke = self.next_invoke();
        self.send(Apdu::Xdlms(XdlmsApdu::SetRequest(SetRequest::Normal {
            invoke_id_and_priority: invoke,
            attribute_descriptor: attribute,
            access_selection: None,
            value,
        })));
        self.pending = Some(Pending::Set { invoke });
        self.state = ClientState::RequestPending;
        Ok(())
    }

    /// Queues an ACTION (method invocation) with optional parameters.
    ///
    /// # Errors
    /// [`ClientError::InvalidState`] unless associated and idle; `NotNegotiated("action")`.
    pub fn action(&mut self, method: CosemMethodDescriptor, parameters: Option<Data>) -> Result<(), ClientError> {
        self.require(ClientState::Associated, "action")?;
        self.require_conformance(Conformance::ACTION, "action")?;
        let invoke = self.next_invoke();
        self.send(Apdu::Xdlms(XdlmsApdu::ActionRequest(ActionRequest::Normal {
            invoke_id_and_priority: invoke,
            method_descriptor: method,
            method_invocation_parameters: parameters,
        })));
        self.pending = Some(Pending::Action { invoke });
        self.state = ClientState::RequestPending;
        Ok(())
    }

    /// Queues the RLRQ (normal release).
    ///
    /// # Errors
    /// [`ClientError::InvalidState`] unless associated and idle.
    pub fn release(&mut self) -> Result<(), ClientError> {
        self.require(ClientState::Associated, "release")?;
        self.send(Apdu::Rlrq(Rlrq::normal()));
        self.pending = Some(Pending::Release);
        self.state = ClientState::ReleasePending;
        Ok(())
    }

    /// Feeds one received APDU. Returns the completed exchange, or `None` when the APDU
    /// was an intermediate step (a GET block: the next get-request-next is queued).
    ///
    /// # Errors
    /// Malformed APDUs, APDUs that answer nothing outstanding, mismatched invoke-ids or
    /// block numbers, exception-responses, refused associations. After an error the
    /// association should be abandoned.
    pub fn handle_apdu(&mut self, bytes: &[u8]) -> Result<Option<ClientEvent>, ClientError> {
        let apdu = Apdu::from_bytes(bytes)?;
        if let Apdu::Xdlms(XdlmsApdu::DataNotification(n)) = apdu {
            return Ok(Some(ClientEvent::DataNotification(n)));
        }
        let Some(pending) = self.pending.take() else {
            return Err(ClientError::Unexpected { expected: "nothing", got: apdu.kind() });
        };
        match (pending, apdu) {
            (Pending::Associate, Apdu::Aare(aare)) => {
                let initiate = aare.initiate_response().cloned();
                match (aare.is_accepted(), initiate) {
                    (true, Some(initiate)) => {
                        self.negotiated = Some(initiate.clone());
                        self.state = ClientState::Associated;
                        Ok(Some(ClientEvent::Associated(initiate)))
                    }
                    _ => {
                        self.state = ClientState::Closed;
                        let initiate_error = match &aare.user_information {
                            Some(crate::acse::UserInformation::ConfirmedServiceError(e)) => Some(*e),
                            _ => None,
                        };
                        Err(ClientError::AssociationRejected {
                            result: aare.result,
                            diagnostic: aare.result_source_diagnostic,
                            initiate_error,
                        })
                    }
                }
            }
            (Pending::Release, Apdu::Rlre(_)) => {
                self.state = ClientState::Closed;
                Ok(Some(ClientEvent::Released))
            }
            (Pending::Get { invoke, mut assembled, next_block }, Apdu::Xdlms(XdlmsApdu::GetResponse(resp))) => {
                check_invoke(invoke, resp.invoke_id_and_priority())?;
                match resp {
                    GetResponse::Normal { result, .. } => {
                        self.state = ClientState::Associated;
                        Ok(Some(ClientEvent::Get(get_data_result(result))))
                    }
                    GetResponse::WithDataBlock { result: block, .. } => {
                        if block.block_number != next_block {
                            self.state = ClientState::Closed;
                            return Err(ClientError::BlockNumberMismatch {
                                expected: next_block,
                                got: block.block_number,
                            });
                        }
                        match block.result {
                            DataBlockGResult::DataAccessResult(e) => {
                                self.state = ClientState::Associated;
                                Ok(Some(ClientEvent::Get(Err(e))))
                            }
                            DataBlockGResult::RawData(raw) => {
                                if assembled.len() + raw.len() > MAX_ASSEMBLED_LEN {
                                    self.state = ClientState::Closed;
                                    return Err(ClientError::ValueTooLarge);
                                }
                                assembled.extend_from_slice(&raw);
                                if block.last_block {
                                    self.state = ClientState::Associated;
                                    let data = Data::from_bytes(&assembled)?;
                                    Ok(Some(ClientEvent::Get(Ok(data))))
                                } else {
                                    self.send(Apdu::Xdlms(XdlmsApdu::GetRequest(GetRequest::Next {
                                        invoke_id_and_priority: invoke,
                                        block_number: block.block_number,
                                    })));
                                    self.pending = Some(Pending::Get { invoke, assembled, next_block: next_block + 1 });
                                    Ok(None)
                                }
                            }
                        }
                    }
                    GetResponse::WithList { .. } => {
                        self.state = ClientState::Closed;
                        Err(ClientError::Unexpected { expected: "get-response-normal", got: "get-response-with-list" })
                    }
                }
            }
            (Pending::GetWithList { invoke, count }, Apdu::Xdlms(XdlmsApdu::GetResponse(resp))) => {
                check_invoke(invoke, resp.invoke_id_and_priority())?;
                match resp {
                    GetResponse::WithList { result, .. } if result.len() == count => {
                        self.state = ClientState::Associated;
                        Ok(Some(ClientEvent::GetWithList(result.into_iter().map(get_data_result).collect())))
                    }
                    _ => {
                        self.state = ClientState::Closed;
                        Err(ClientError::Unexpected {
                            expected: "get-response-with-list with one result per attribute",
                            got: "another get-response",
                        })
                    }
                }
            }
            (Pending::Set { invoke }, Apdu::Xdlms(XdlmsApdu::SetResponse(resp))) => {
                check_invoke(invoke, resp.invoke_id_and_priority())?;
                match resp {
                    SetResponse::Normal { result, .. } => {
                        self.state = ClientState::Associated;
                        Ok(Some(ClientEvent::Set(result)))
                    }
                    _ => {
                        self.state = ClientState::Closed;
                        Err(ClientError::Unexpected { expected: "set-response-normal", got: "another set-response" })
                    }
                }
            }
            (Pending::Action { invoke }, Apdu::Xdlms(XdlmsApdu::ActionResponse(resp))) => {
                check_invoke(invoke, resp.invoke_id_and_priority())?;
                match resp {
                    ActionResponse::Normal { single_response, .. } => {
                        self.state = ClientState::Associated;
                        let out = match single_response.result {
                            ActionResult::Success => match single_response.return_parameters {
                                None => Ok(None),
                                Some(GetDataResult::Data(d)) => Ok(Some(d)),
                                Some(GetDataResult::DataAccessResult(_)) => Err(ActionResult::OtherReason),
                            },
                            other => Err(other),
                        };
                        Ok(Some(ClientEvent::Action(out)))
                    }
                    _ => {
                        self.state = ClientState::Closed;
                        Err(ClientError::Unexpected {
                            expected: "action-response-normal",
                            got: "another action-response",
                        })
                    }
                }
            }
            (_, Apdu::Xdlms(XdlmsApdu::ExceptionResponse(e))) => {
                self.state = ClientState::Closed;
                Err(ClientError::Exception(e))
            }
            (_, Apdu::ConfirmedServiceError(e)) => {
                self.state = ClientState::Closed;
                Err(ClientError::ServiceError(e))
            }
            (pending, other) => {
                self.state = ClientState::Closed;
                Err(ClientError::Unexpected { expected: pending_name(&pending), got: other.kind() })
            }
        }
    }

    fn require(&self, state: ClientState, action: &'static str) -> Result<(), ClientError> {
        if self.state == state { Ok(()) } else { Err(ClientError::InvalidState { action, state: self.state }) }
    }

    fn require_conformance(&self, bit: Conformance, name: &'static str) -> Result<(), ClientError> {
        match &self.negotiated {
            Some(n) if n.negotiated_conformance.contains(bit) => Ok(()),
            _ => Err(ClientError::NotNegotiated(name)),
        }
    }

    fn next_invoke(&mut self) -> InvokeIdAndPriority {
        let id = self.next_invoke_id;
        self.next_invoke_id = if id >= 15 { 1 } else { id + 1 };
        InvokeIdAndPriority::new(id, true, true)
    }

    fn send(&mut self, apdu: Apdu) {
        self.transmit.push_back(apdu.to_bytes());
    }
}

fn check_invoke(expected: InvokeIdAndPriority, got: InvokeIdAndPriority) -> Result<(), ClientError> {
    if expected.invoke_id() == got.invoke_id() {
        Ok(())
    } else {
        Err(ClientError::InvokeIdMismatch { expected: expected.invoke_id(), got: got.invoke_id() })
    }
}

fn get_data_result(r: GetDataResult) -> Result<Data, DataAccessResult> {
    match r {
        GetDataResult::Data(d) => Ok(d),
        GetDataResult::DataAccessResult(e) => Err(e),
    }
}

fn pending_name(p: &Pending) -> &'static str {
    match p {
        Pending::Associate => "AARE",
        Pending::Get { .. } | Pending::GetWithList { .. } => "get-response",
        Pending::Set { .. } => "set-response",
        Pending::Action { .. } => "action-response",
        Pending::Release => "RLRE",
    }
}
