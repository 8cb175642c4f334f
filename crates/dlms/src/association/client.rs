//! The client (HES side) association state machine.
//!
//! Life cycle: [`ClientAssociation::associate`] queues an AARQ; the AARE moves the
//! machine to [`ClientState::Associated`] (or reports the rejection); then one confirmed
//! request at a time (GET, GET with list, SET, ACTION) is queued and completed by its
//! response; a GET whose value does not fit in one APDU is completed by the block
//! transfer of IEC 62056-5-3 §9.3.7 (get-request-next until last-block), transparently;
//! [`ClientAssociation::release`] queues an RLRQ and the RLRE ends the association.
//!
//! With [`ClientConfig::security`] the AARQ proposes the ciphered LN context with the
//! client system title as calling-AP-title and a glo-initiateRequest (optionally carrying
//! a dedicated key); with [`Authentication::HighGmac`] the machine also performs HLS
//! passes 3 and 4 (reply_to_HLS_authentication with f(StoC), verifying f(CtoS)) before it
//! reports [`ClientEvent::Associated`]. Every xDLMS APDU is then protected and every
//! received one deciphered and verified; only an exception-response or
//! confirmed-service-error may arrive unciphered. Security failures are
//! [`ClientError::Security`] and close the association.

use std::collections::VecDeque;

use thiserror::Error;

use crate::acse::{
    Aare, Aarq, AcseServiceUserDiagnostic, ApplicationContextName, AssociateSourceDiagnostic, AssociationResult,
    MechanismName, Rlrq, UserInformation,
};
use crate::apdu::Apdu;
use crate::association::Authentication;
use crate::codec::{Codec, DecodeError};
use crate::data::Data;
use crate::security::ciphered_apdu::is_ciphered_tag;
use crate::security::context::apdu_name;
use crate::security::hls_gmac::{self, REPLY_TO_HLS_AUTHENTICATION};
use crate::security::{AesKey, KeyId, SecurityContext, SecurityError, SecuritySettings};
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
    /// Security suite 0 settings (keys, system titles, policy, counter store): `Some`
    /// selects the ciphered application context; required by
    /// [`Authentication::HighGmac`].
    pub security: Option<SecuritySettings>,
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
            security: None,
        }
    }
}

/// Where the association is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// No association; `associate` may be called.
    Idle,
    /// AARQ sent, waiting for the AARE (with HLS: or for the answer to
    /// reply_to_HLS_authentication).
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
    /// A security check failed: a ciphered APDU that does not verify (wrong key,
    /// tampered), a replayed invocation counter, an unciphered APDU where protection is
    /// required, a wrong f(CtoS), a missing or unexpected system title, or a counter
    /// store failure. A security event: log it.
    #[error("security: {0}")]
    Security(#[from] SecurityError),
    /// The server refused the client's f(StoC) in HLS pass 3 (reply_to_HLS_authentication
    /// answered with this action result): the keys do not match the meter's.
    #[error("HLS authentication refused by the server: {0:?}")]
    AuthenticationRefused(ActionResult),
}

#[derive(Debug)]
enum Pending {
    Associate { ctos: Option<Vec<u8>> },
    HlsReply { invoke: InvokeIdAndPriority, initiate: InitiateResponse, ctos: Vec<u8> },
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
    security: Option<SecurityContext>,
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
            security: None,
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

    /// The security context of a ciphered association (own and server system titles,
    /// policy, counters), from [`ClientAssociation::associate`] until release.
    pub fn security(&self) -> Option<&SecurityContext> {
        self.security.as_ref()
    }

    /// Queues the AARQ.
    ///
    /// # Errors
    /// [`ClientError::InvalidState`] unless the machine is idle;
    /// [`ClientError::Security`] when [`Authentication::HighGmac`] is configured without
    /// security settings, the settings are unusable, or the random generator or the
    /// counter store fails.
    pub fn associate(&mut self) -> Result<(), ClientError> {
        self.require(ClientState::Idle, "associate")?;
        let mut initiate = InitiateRequest::new(self.config.proposed_conformance, self.config.max_receive_pdu_size);
        let Some(settings) = &self.config.security else {
            let aarq = match &self.config.authentication {
                Authentication::None => Aarq::no_authentication(initiate),
                Authentication::Low { password } => Aarq::low_level_security(password, initiate),
                Authentication::HighGmac => {
                    return Err(SecurityError::MissingKey(
                        "global unicast encryption (HLS-GMAC needs security settings)",
                    )
                    .into());
                }
            };
            self.send(Apdu::Aarq(aarq))?;
            self.pending = Some(Pending::Associate { ctos: None });
            self.state = ClientState::AssociationPending;
            return Ok(());
        };
        let mut ctx = SecurityContext::new(settings)?;
        if settings.use_dedicated_key {
            let key = AesKey::random()?;
            initiate.dedicated_key = Some(key.as_bytes().to_vec());
            ctx.set_dedicated_key(Some(key));
        }
        let user_information = UserInformation::Ciphered(ctx.protect(&initiate.to_bytes())?);
        let mut aarq = Aarq::new(ApplicationContextName::LogicalNameWithCiphering, user_information)
            .with_calling_ap_title(ctx.own_system_title().0);
        let mut ctos = None;
        match &self.config.authentication {
            Authentication::None => {}
            Authentication::Low { password } => aarq = aarq.with_authentication(MechanismName::Lls, password.clone()),
            Authentication::HighGmac => {
                let challenge = hls_gmac::new_challenge(ctx.challenge_len())?;
                aarq = aarq.with_authentication(MechanismName::HlsGmac, challenge.clone());
                ctos = Some(challenge);
            }
        }
        self.security = Some(ctx);
        self.send(Apdu::Aarq(aarq))?;
        self.pending = Some(Pending::Associate { ctos });
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
        })))?;
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
        })))?;
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
        })))?;
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
        })))?;
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
        self.send(Apdu::Rlrq(Rlrq::normal()))?;
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
        // The last global unicast counter accepted before this APDU: f(CtoS) must be above.
        let floor = match (&self.security, &self.pending) {
            (Some(ctx), Some(Pending::HlsReply { .. })) => ctx.last_incoming_counter(KeyId::GlobalUnicastEncryption)?,
            _ => None,
        };
        let apdu = match self.open(bytes) {
            Ok(apdu) => apdu,
            Err(e @ ClientError::Security(_)) => return Err(self.fail(e)),
            Err(e) => return Err(e),
        };
        if let Apdu::Xdlms(XdlmsApdu::DataNotification(n)) = apdu {
            return Ok(Some(ClientEvent::DataNotification(n)));
        }
        let Some(pending) = self.pending.take() else {
            return Err(ClientError::Unexpected { expected: "nothing", got: apdu.kind() });
        };
        match (pending, apdu) {
            (Pending::Associate { ctos }, Apdu::Aare(aare)) => self.on_aare(aare, ctos),
            (Pending::HlsReply { invoke, initiate, ctos }, Apdu::Xdlms(XdlmsApdu::ActionResponse(resp))) => {
                match self.on_hls_reply(invoke, initiate, &ctos, resp, floor) {
                    Ok(event) => Ok(event),
                    Err(e) => Err(self.fail(e)),
                }
            }
            (Pending::Release, Apdu::Rlre(_)) => {
                self.state = ClientState::Closed;
                // Gives the unused invocation counter reservation back to the store.
                self.security = None;
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
                                    let next = Apdu::Xdlms(XdlmsApdu::GetRequest(GetRequest::Next {
                                        invoke_id_and_priority: invoke,
                                        block_number: block.block_number,
                                    }));
                                    if let Err(e) = self.send(next) {
                                        return Err(self.fail(e));
                                    }
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

    /// Decodes a received APDU, deciphering it when it is ciphered; with a security
    /// context, refuses unciphered xDLMS APDUs the policy requires protected (an
    /// exception-response may come in clear: a server that cannot decipher cannot
    /// protect its answer either).
    fn open(&mut self, bytes: &[u8]) -> Result<Apdu, ClientError> {
        let Some(ctx) = self.security.as_mut() else {
            return Ok(Apdu::from_bytes(bytes)?);
        };
        match bytes.first() {
            Some(&t) if is_ciphered_tag(t) => {
                let opened = ctx.unprotect(bytes)?;
                Ok(Apdu::from_bytes(&opened.apdu)?)
            }
            _ => {
                let apdu = Apdu::from_bytes(bytes)?;
                if let Apdu::Xdlms(x) = &apdu {
                    if !matches!(x, XdlmsApdu::ExceptionResponse(_)) && ctx.required_protection(x.tag()).is_some() {
                        return Err(SecurityError::Unprotected { apdu: apdu_name(x.tag()) }.into());
                    }
                }
                Ok(apdu)
            }
        }
    }

    /// Closes the association after an error and returns the error.
    fn fail(&mut self, e: ClientError) -> ClientError {
        self.state = ClientState::Closed;
        self.pending = None;
        e
    }

    fn on_aare(&mut self, aare: Aare, ctos: Option<Vec<u8>>) -> Result<Option<ClientEvent>, ClientError> {
        if !aare.is_accepted() {
            self.state = ClientState::Closed;
            let initiate_error = match &aare.user_information {
                Some(UserInformation::ConfirmedServiceError(e)) => Some(*e),
                Some(UserInformation::Ciphered(c)) => self.open_ciphered_service_error(&aare, c),
                _ => None,
            };
            return Err(ClientError::AssociationRejected {
                result: aare.result,
                diagnostic: aare.result_source_diagnostic,
                initiate_error,
            });
        }
        if self.security.is_none() {
            return match aare.initiate_response().cloned() {
                Some(initiate) => {
                    self.negotiated = Some(initiate.clone());
                    self.state = ClientState::Associated;
                    Ok(Some(ClientEvent::Associated(initiate)))
                }
                None => {
                    self.state = ClientState::Closed;
                    Err(ClientError::AssociationRejected {
                        result: aare.result,
                        diagnostic: aare.result_source_diagnostic,
                        initiate_error: None,
                    })
                }
            };
        }
        match self.on_ciphered_aare(&aare, ctos) {
            Ok(event) => Ok(event),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The AARE of a ciphered association: server system title, glo-initiateResponse,
    /// and with HLS-GMAC the StoC challenge answered by reply_to_HLS_authentication.
    fn on_ciphered_aare(&mut self, aare: &Aare, ctos: Option<Vec<u8>>) -> Result<Option<ClientEvent>, ClientError> {
        if aare.application_context_name != ApplicationContextName::LogicalNameWithCiphering {
            return Err(ClientError::Unexpected { expected: "AARE with the ciphered LN context", got: "AARE" });
        }
        let Some(ctx) = self.security.as_mut() else {
            return Err(ClientError::Unexpected { expected: "nothing", got: "AARE" });
        };
        let title = aare.responding_ap_title.as_deref().ok_or(SecurityError::MissingSystemTitle)?;
        ctx.set_peer_system_title(title)?;
        let initiate = match &aare.user_information {
            Some(UserInformation::Ciphered(c)) => InitiateResponse::from_bytes(&ctx.unprotect(c)?.apdu)?,
            Some(UserInformation::InitiateResponse(_)) => {
                return Err(SecurityError::Unprotected { apdu: "InitiateResponse" }.into());
            }
            _ => return Err(ClientError::Unexpected { expected: "AARE with a glo-initiateResponse", got: "AARE" }),
        };
        let authentication_required = aare.result_source_diagnostic
            == AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::AuthenticationRequired);
        let Some(ctos) = ctos else {
            if authentication_required {
                return Err(ClientError::Unexpected {
                    expected: "AARE accepting the association",
                    got: "AARE requiring HLS authentication",
                });
            }
            self.negotiated = Some(initiate.clone());
            self.state = ClientState::Associated;
            return Ok(Some(ClientEvent::Associated(initiate)));
        };
        if !authentication_required {
            return Err(SecurityError::HlsNotPerformed("the AARE did not ask for the HLS-GMAC exchange").into());
        }
        if aare.mechanism_name.as_ref().is_some_and(|m| *m != MechanismName::HlsGmac) {
            return Err(SecurityError::HlsNotPerformed("the AARE names another mechanism").into());
        }
        let stoc = aare
            .responding_authentication_value
            .as_ref()
            .and_then(|v| v.as_bytes())
            .ok_or(SecurityError::HlsNotPerformed("the AARE carries no StoC challenge"))?;
        let f_stoc = ctx.hls_response(stoc)?;
        let invoke = self.next_invoke();
        self.send(Apdu::Xdlms(XdlmsApdu::ActionRequest(ActionRequest::Normal {
            invoke_id_and_priority: invoke,
            method_descriptor: REPLY_TO_HLS_AUTHENTICATION,
            method_invocation_parameters: Some(Data::OctetString(f_stoc.to_bytes())),
        })))?;
        self.pending = Some(Pending::HlsReply { invoke, initiate, ctos });
        Ok(None)
    }

    /// HLS pass 4: the server's answer to reply_to_HLS_authentication carries f(CtoS).
    fn on_hls_reply(
        &mut self,
        invoke: InvokeIdAndPriority,
        initiate: InitiateResponse,
        ctos: &[u8],
        resp: ActionResponse,
        floor: Option<u32>,
    ) -> Result<Option<ClientEvent>, ClientError> {
        check_invoke(invoke, resp.invoke_id_and_priority())?;
        let ActionResponse::Normal { single_response, .. } = resp else {
            return Err(ClientError::Unexpected { expected: "action-response-normal", got: "another action-response" });
        };
        if single_response.result != ActionResult::Success {
            return Err(ClientError::AuthenticationRefused(single_response.result));
        }
        let Some(GetDataResult::Data(Data::OctetString(f_ctos))) = single_response.return_parameters else {
            return Err(SecurityError::HlsNotPerformed("no f(CtoS) in the reply_to_HLS_authentication response").into());
        };
        let Some(ctx) = self.security.as_mut() else {
            return Err(ClientError::Unexpected { expected: "nothing", got: "action-response" });
        };
        ctx.verify_hls_response(&f_ctos, ctos, floor)?;
        self.negotiated = Some(initiate.clone());
        self.state = ClientState::Associated;
        Ok(Some(ClientEvent::Associated(initiate)))
    }

    /// The ConfirmedServiceError of a rejecting AARE whose user-information is a
    /// glo-confirmedServiceError, when it deciphers; `None` otherwise.
    fn open_ciphered_service_error(&mut self, aare: &Aare, ciphered: &[u8]) -> Option<ConfirmedServiceError> {
        let ctx = self.security.as_mut()?;
        ctx.set_peer_system_title(aare.responding_ap_title.as_deref()?).ok()?;
        ConfirmedServiceError::from_bytes(&ctx.unprotect(ciphered).ok()?.apdu).ok()
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

    /// Queues an APDU, protected when it is an xDLMS APDU of a ciphered association.
    fn send(&mut self, apdu: Apdu) -> Result<(), ClientError> {
        let bytes = apdu.to_bytes();
        let bytes = match (&mut self.security, &apdu) {
            (Some(ctx), Apdu::Xdlms(_)) => ctx.protect(&bytes)?,
            _ => bytes,
        };
        self.transmit.push_back(bytes);
        Ok(())
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
        Pending::Associate { .. } => "AARE",
        Pending::HlsReply { .. } => "action-response to reply_to_HLS_authentication",
        Pending::Get { .. } | Pending::GetWithList { .. } => "get-response",
        Pending::Set { .. } => "set-response",
        Pending::Action { .. } => "action-response",
        Pending::Release => "RLRE",
    }
}
