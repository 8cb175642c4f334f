//! The server (meter side) association state machine.
//!
//! One [`ServerAssociation`] serves one client SAP on one connection. It checks the
//! AARQ (application context, authentication mechanism and secret, DLMS version,
//! conformance, PDU size) and answers with an AARE (IEC 62056-5-3 §7.3.2); then it
//! decodes GET/SET/ACTION requests, calls the [`CosemServer`] (the COSEM object model),
//! and encodes the responses, splitting a GET value that exceeds the client's max
//! receive PDU size into blocks (IEC 62056-5-3 §9.3.7, get-response-with-datablock /
//! get-request-next); RLRQ is answered with RLRE.
//!
//! Errors in the client's requests are answered on the wire, never by a panic:
//! requests outside an association get an exception-response (state-error
//! service-not-allowed); undecodable APDUs get an exception-response (service-unknown).

use std::collections::VecDeque;

use crate::acse::{Aare, Aarq, AcseServiceUserDiagnostic, ApplicationContextName, MechanismName, Rlre};
use crate::apdu::Apdu;
use crate::association::Authentication;
use crate::codec::Codec;
use crate::data::Data;
use crate::xdlms::action::{ActionRequest, ActionResponse, ActionResponseWithOptionalData};
use crate::xdlms::apdu::XdlmsApdu;
use crate::xdlms::conformance::Conformance;
use crate::xdlms::exception::{ExceptionResponse, ExceptionServiceError, StateError};
use crate::xdlms::get::{DataBlockG, DataBlockGResult, GetDataResult, GetRequest, GetResponse};
use crate::xdlms::initiate::InitiateResponse;
use crate::xdlms::invoke_id::InvokeIdAndPriority;
use crate::xdlms::service_error::InitiateError;
use crate::xdlms::set::{SetRequest, SetResponse};
use crate::xdlms::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, SelectiveAccess};

/// Who is asking: passed to the object model so it can apply per-association access
/// rights (e.g. the public client 16 may read but not write or act).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The client SAP (wrapper source wPort / HDLC client address), e.g. 16 = public
    /// client, 1 = management client.
    pub client_sap: u16,
    /// The authentication mechanism the association was opened with.
    pub mechanism: MechanismName,
}

/// The COSEM object model behind a server association (a meter's logical device).
pub trait CosemServer {
    /// Reads an attribute, with optional selective access (IEC 62056-6-2 per class).
    ///
    /// # Errors
    /// The Data-Access-Result to return to the client (object-undefined,
    /// read-write-denied, ...).
    fn get(
        &mut self,
        ctx: &RequestContext,
        attribute: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult>;

    /// Writes an attribute; returns the Data-Access-Result (success or the reason).
    fn set(
        &mut self,
        ctx: &RequestContext,
        attribute: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
        value: &Data,
    ) -> DataAccessResult;

    /// Invokes a method; returns its return parameters, if any.
    ///
    /// # Errors
    /// The Action-Result to return to the client.
    fn action(
        &mut self,
        ctx: &RequestContext,
        method: &CosemMethodDescriptor,
        parameters: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult>;
}

/// What the server accepts from one client SAP.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The authentication this client must use (mechanism and secret).
    pub authentication: Authentication,
    /// The services the server supports; the negotiated block is the intersection with
    /// the client's proposal.
    pub conformance: Conformance,
    /// The server's max receive PDU size, bytes.
    pub max_receive_pdu_size: u16,
}

impl ServerConfig {
    /// The conformance a gridedge meter offers: get, set, action, selective access,
    /// block transfer with get, multiple references, attribute 0 with get, priority
    /// management, event and data notification.
    pub const METER_CONFORMANCE: Conformance = Conformance::GET
        .union(Conformance::SET)
        .union(Conformance::ACTION)
        .union(Conformance::SELECTIVE_ACCESS)
        .union(Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ)
        .union(Conformance::MULTIPLE_REFERENCES)
        .union(Conformance::PRIORITY_MGMT_SUPPORTED)
        .union(Conformance::EVENT_NOTIFICATION)
        .union(Conformance::DATA_NOTIFICATION);

    /// A public-client style configuration: no authentication.
    pub fn public() -> Self {
        ServerConfig {
            authentication: Authentication::None,
            conformance: Self::METER_CONFORMANCE,
            max_receive_pdu_size: 1024,
        }
    }
}

/// Where the association is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// Waiting for an AARQ.
    Idle,
    /// Associated: serving requests.
    Associated,
    /// Released by RLRQ (a new AARQ may open a new association).
    Released,
}

/// Smallest client max-receive-PDU-size gridedge accepts (bytes): a block must carry
/// the get-response-with-datablock header (≤ 12 bytes) and some data.
pub const MIN_CLIENT_PDU_SIZE: u16 = 64;

/// The lowest DLMS version the server accepts (IEC 62056-5-3: version 6).
pub const DLMS_VERSION: u8 = 6;

#[derive(Debug)]
struct LongGet {
    invoke: InvokeIdAndPriority,
    encoded: Vec<u8>,
    offset: usize,
    last_sent_block: u32,
}

/// The server association state machine (see the module docs).
#[derive(Debug)]
pub struct ServerAssociation {
    config: ServerConfig,
    ctx: RequestContext,
    state: ServerState,
    negotiated: Conformance,
    client_max_pdu: usize,
    long_get: Option<LongGet>,
    transmit: VecDeque<Vec<u8>>,
}

impl ServerAssociation {
    /// A new machine for the client at `client_sap`, in [`ServerState::Idle`].
    pub fn new(config: ServerConfig, client_sap: u16) -> Self {
        let mechanism = config.authentication.mechanism();
        ServerAssociation {
            config,
            ctx: RequestContext { client_sap, mechanism },
            state: ServerState::Idle,
            negotiated: Conformance::EMPTY,
            client_max_pdu: 0,
            long_get: None,
            transmit: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// The negotiated conformance (empty before association).
    pub fn negotiated_conformance(&self) -> Conformance {
        self.negotiated
    }

    /// The next APDU to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// Feeds one received APDU; the response (if the APDU calls for one) is then
    /// available from [`ServerAssociation::poll_transmit`]. Never fails: protocol errors
    /// are answered on the wire.
    pub fn handle_apdu(&mut self, bytes: &[u8], server: &mut impl CosemServer) {
        let apdu = match Apdu::from_bytes(bytes) {
            Ok(a) => a,
            Err(_) => {
                self.exception(StateError::ServiceUnknown, ExceptionServiceError::OtherReason);
                return;
            }
        };
        match apdu {
            Apdu::Aarq(aarq) => self.on_aarq(&aarq),
            Apdu::Rlrq(_) if self.state == ServerState::Associated => {
                self.state = ServerState::Released;
                self.long_get = None;
                self.send(Apdu::Rlre(Rlre::normal()));
            }
            Apdu::Xdlms(x) if x.is_request() => {
                if self.state != ServerState::Associated {
                    self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::OperationNotPossible);
                    return;
                }
                match x {
                    XdlmsApdu::GetRequest(r) => self.on_get(r, server),
                    XdlmsApdu::SetRequest(r) => self.on_set(r, server),
                    XdlmsApdu::ActionRequest(r) => self.on_action(r, server),
                    _ => self.exception(StateError::ServiceUnknown, ExceptionServiceError::ServiceNotSupported),
                }
            }
            _ => self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported),
        }
    }

    fn on_aarq(&mut self, aarq: &Aarq) {
        let context = aarq.application_context_name.clone();
        if context != ApplicationContextName::LogicalNameNoCiphering {
            return self.reject(AcseServiceUserDiagnostic::ApplicationContextNameNotSupported);
        }
        let mechanism = aarq.mechanism_name.clone().unwrap_or(MechanismName::None);
        match (&self.config.authentication, &mechanism) {
            (Authentication::None, MechanismName::None) => {}
            (Authentication::Low { password }, MechanismName::Lls) => {
                let given = aarq.calling_authentication_value.as_ref().and_then(|v| v.as_bytes());
                if given != Some(password.as_slice()) {
                    return self.reject(AcseServiceUserDiagnostic::AuthenticationFailure);
                }
            }
            (Authentication::Low { .. }, MechanismName::None) => {
                return self.reject(AcseServiceUserDiagnostic::AuthenticationMechanismNameRequired);
            }
            _ => return self.reject(AcseServiceUserDiagnostic::AuthenticationMechanismNameNotRecognised),
        }
        let Some(initiate) = aarq.initiate_request() else {
            return self.refuse_initiate(InitiateError::Other);
        };
        if initiate.proposed_dlms_version_number < DLMS_VERSION {
            return self.refuse_initiate(InitiateError::DlmsVersionTooLow);
        }
        if initiate.client_max_receive_pdu_size != 0 && initiate.client_max_receive_pdu_size < MIN_CLIENT_PDU_SIZE {
            return self.refuse_initiate(InitiateError::PduSizeTooShort);
        }
        let negotiated = initiate.proposed_conformance.intersection(self.config.conformance);
        if negotiated.is_empty() {
            return self.refuse_initiate(InitiateError::IncompatibleConformance);
        }
        self.negotiated = negotiated;
        // 0 means "no limit" in the InitiateRequest; use the largest wrapper payload.
        self.client_max_pdu = match initiate.client_max_receive_pdu_size {
            0 => 0xFFFF,
            n => n as usize,
        };
        self.ctx.mechanism = mechanism;
        self.state = ServerState::Associated;
        self.long_get = None;
        let response = InitiateResponse::new(negotiated, self.config.max_receive_pdu_size);
        self.send(Apdu::Aare(Aare::accepted(ApplicationContextName::LogicalNameNoCiphering, response)));
    }

    fn reject(&mut self, diagnostic: AcseServiceUserDiagnostic) {
        self.state = ServerState::Idle;
        self.send(Apdu::Aare(Aare::rejected(ApplicationContextName::LogicalNameNoCiphering, diagnostic)));
    }

    fn refuse_initiate(&mut self, reason: InitiateError) {
        self.state = ServerState::Idle;
        self.send(Apdu::Aare(Aare::initiate_refused(ApplicationContextName::LogicalNameNoCiphering, reason)));
    }

    fn on_get(&mut self, req: GetRequest, server: &mut impl CosemServer) {
        if !self.negotiated.contains(Conformance::GET) {
            return self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported);
        }
        match req {
            GetRequest::Normal { invoke_id_and_priority: invoke, attribute_descriptor, access_selection } => {
                self.long_get = None;
                let result = if access_selection.is_some() && !self.negotiated.contains(Conformance::SELECTIVE_ACCESS) {
                    Err(DataAccessResult::ScopeOfAccessViolated)
                } else {
                    server.get(&self.ctx, &attribute_descriptor, access_selection.as_ref())
                };
                let response = match result {
                    Ok(data) => {
                        GetResponse::Normal { invoke_id_and_priority: invoke, result: GetDataResult::Data(data) }
                    }
                    Err(e) => GetResponse::Normal {
                        invoke_id_and_priority: invoke,
                        result: GetDataResult::DataAccessResult(e),
                    },
                };
                let bytes = Apdu::Xdlms(XdlmsApdu::GetResponse(response.clone())).to_bytes();
                if bytes.len() <= self.client_max_pdu {
                    self.transmit.push_back(bytes);
                } else if let (true, GetResponse::Normal { result: GetDataResult::Data(data), .. }) =
                    (self.negotiated.contains(Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ), &response)
                {
                    self.long_get = Some(LongGet { invoke, encoded: data.to_bytes(), offset: 0, last_sent_block: 0 });
                    self.send_next_block();
                } else {
                    self.send_get_error(invoke, DataAccessResult::OtherReason);
                }
            }
            GetRequest::Next { invoke_id_and_priority: invoke, block_number } => match &self.long_get {
                Some(lg) if lg.invoke.invoke_id() == invoke.invoke_id() && lg.last_sent_block == block_number => {
                    self.send_next_block();
                }
                Some(_) => {
                    self.long_get = None;
                    self.send_block_error(invoke, block_number + 1, DataAccessResult::LongGetAborted);
                }
                None => self.send_block_error(invoke, block_number + 1, DataAccessResult::NoLongGetInProgress),
            },
            GetRequest::WithList { invoke_id_and_priority: invoke, attribute_descriptor_list } => {
                self.long_get = None;
                if !self.negotiated.contains(Conformance::MULTIPLE_REFERENCES) {
                    return self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported);
                }
                let results: Vec<GetDataResult> = attribute_descriptor_list
                    .iter()
                    .map(|item| {
                        match server.get(&self.ctx, &item.attribute_descriptor, item.access_selection.as_ref()) {
                            Ok(d) => GetDataResult::Data(d),
                            Err(e) => GetDataResult::DataAccessResult(e),
                        }
                    })
                    .collect();
                let count = results.len();
                let bytes = Apdu::Xdlms(XdlmsApdu::GetResponse(GetResponse::WithList {
                    invoke_id_and_priority: invoke,
                    result: results,
                }))
                .to_bytes();
                if bytes.len() <= self.client_max_pdu {
                    self.transmit.push_back(bytes);
                } else {
                    // Too long for one APDU: report every attribute as not deliverable
                    // rather than exceed the client's buffer.
                    self.send(Apdu::Xdlms(XdlmsApdu::GetResponse(GetResponse::WithList {
                        invoke_id_and_priority: invoke,
                        result: vec![GetDataResult::DataAccessResult(DataAccessResult::OtherReason); count],
                    })));
                }
            }
        }
    }

    fn send_next_block(&mut self) {
        let max = self.client_max_pdu;
        let Some(lg) = self.long_get.as_mut() else { return };
        // C4 02 invoke | last(1) | block(4) | choice(1) | length(≤ 5) | raw-data
        let room = max.saturating_sub(13).max(1);
        let end = (lg.offset + room).min(lg.encoded.len());
        let chunk = lg.encoded[lg.offset..end].to_vec();
        let last = end == lg.encoded.len();
        lg.offset = end;
        lg.last_sent_block += 1;
        let block =
            DataBlockG { last_block: last, block_number: lg.last_sent_block, result: DataBlockGResult::RawData(chunk) };
        let invoke = lg.invoke;
        if last {
            self.long_get = None;
        }
        self.send(Apdu::Xdlms(XdlmsApdu::GetResponse(GetResponse::WithDataBlock {
            invoke_id_and_priority: invoke,
            result: block,
        })));
    }

    fn send_block_error(&mut self, invoke: InvokeIdAndPriority, block_number: u32, e: DataAccessResult) {
        self.send(Apdu::Xdlms(XdlmsApdu::GetResponse(GetResponse::WithDataBlock {
            invoke_id_and_priority: invoke,
            result: DataBlockG { last_block: true, block_number, result: DataBlockGResult::DataAccessResult(e) },
        })));
    }

    fn send_get_error(&mut self, invoke: InvokeIdAndPriority, e: DataAccessResult) {
        self.send(Apdu::Xdlms(XdlmsApdu::GetResponse(GetResponse::Normal {
            invoke_id_and_priority: invoke,
            result: GetDataResult::DataAccessResult(e),
        })));
    }

    fn on_set(&mut self, req: SetRequest, server: &mut impl CosemServer) {
        if !self.negotiated.contains(Conformance::SET) {
            return self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported);
        }
        match req {
            SetRequest::Normal { invoke_id_and_priority, attribute_descriptor, access_selection, value } => {
                let result = server.set(&self.ctx, &attribute_descriptor, access_selection.as_ref(), &value);
                self.send(Apdu::Xdlms(XdlmsApdu::SetResponse(SetResponse::Normal { invoke_id_and_priority, result })));
            }
            _ => self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported),
        }
    }

    fn on_action(&mut self, req: ActionRequest, server: &mut impl CosemServer) {
        if !self.negotiated.contains(Conformance::ACTION) {
            return self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported);
        }
        match req {
            ActionRequest::Normal { invoke_id_and_priority, method_descriptor, method_invocation_parameters } => {
                let single_response =
                    match server.action(&self.ctx, &method_descriptor, method_invocation_parameters.as_ref()) {
                        Ok(ret) => ActionResponseWithOptionalData {
                            result: ActionResult::Success,
                            return_parameters: ret.map(GetDataResult::Data),
                        },
                        Err(e) => ActionResponseWithOptionalData { result: e, return_parameters: None },
                    };
                self.send(Apdu::Xdlms(XdlmsApdu::ActionResponse(ActionResponse::Normal {
                    invoke_id_and_priority,
                    single_response,
                })));
            }
            _ => self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported),
        }
    }

    fn exception(&mut self, state_error: StateError, service_error: ExceptionServiceError) {
        self.send(Apdu::Xdlms(XdlmsApdu::ExceptionResponse(ExceptionResponse { state_error, service_error })));
    }

    fn send(&mut self, apdu: Apdu) {
        self.transmit.push_back(apdu.to_bytes());
    }
}
