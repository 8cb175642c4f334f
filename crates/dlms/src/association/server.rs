//! The server (meter side) association state machine.
//!
//! One [`ServerAssociation`] serves one client SAP on one connection. It checks the
//! AARQ (application context, authentication mechanism and secret, DLMS version,
//! conformance, PDU size) and answers with an AARE (IEC 62056-5-3 §7.3.2); then it
//! decodes GET/SET/ACTION requests (normal, with list, and SET/ACTION with datablocks),
//! calls the [`CosemServer`] (the COSEM object model), and encodes the responses; RLRQ
//! is answered with RLRE.
//!
//! Long messages (IEC 62056-5-3:2017 §9.3.5-§9.3.8):
//! * a GET response (normal or with list) that exceeds the client's max receive PDU size
//!   is sent in get-response-with-datablock blocks (get-request-next asks for each), or,
//!   when general-block-transfer is negotiated, in windowed General-Block-Transfer blocks
//!   ([`crate::association::gbt`]);
//! * SET values and ACTION parameters arrive in set-request-with-(first-)datablock /
//!   action-request-with-(first-)pblock blocks (also with list), acknowledged one by one
//!   and checked for sequence; the object model sees the assembled value only;
//! * any request may arrive in General-Block-Transfer blocks; the server acknowledges
//!   each window, asks for missing blocks, and answers such a request in GBT too.
//!
//! Errors in the client's requests are answered on the wire, never by a panic:
//! requests outside an association get an exception-response (state-error
//! service-not-allowed); undecodable APDUs get an exception-response (service-unknown).
//!
//! Built with [`ServerAssociation::with_security`], the machine accepts only the
//! ciphered LN context: the AARQ must carry the client system title and a
//! glo-initiateRequest (which may carry a dedicated key); the AARE carries the server
//! system title and a glo-initiateResponse. With [`Authentication::HighGmac`] or
//! [`Authentication::HighEcdsa`] (suite 1: the settings carry the server's signing key
//! and the client's public key) the AARE says `authentication-required` with a StoC
//! challenge and, until the client's f(StoC) verifies in reply_to_HLS_authentication
//! (answered with f(CtoS)), nothing else is served
//! ([`ServerState::AuthenticationPending`]). Afterwards every request must be
//! protected as the security policy requires and every response is protected in the
//! request's form. Undecipherable or replayed APDUs are answered in clear with
//! exception-response deciphering-error / invocation-counter-error (the counter the
//! server expects); every such refusal is also a security event, available from
//! [`ServerAssociation::poll_security_event`].

use std::collections::VecDeque;

mod action_service;
mod set_service;

use action_service::ActionTarget;
use set_service::SetTarget;

use crate::acse::{
    Aare, Aarq, AcseServiceUserDiagnostic, ApplicationContextName, MechanismName, Rlre, UserInformation,
};
use crate::apdu::Apdu;
use crate::association::Authentication;
use crate::association::datablock::{DataBlockAssembler, encode_get_results};
use crate::association::gbt::{
    self, BlockReceiver, BlockSender, BlockTransferError, DEFAULT_GBT_WINDOW, Received, block_size_for,
    effective_window,
};
use crate::association::hls_ecdsa;
use crate::codec::Codec;
use crate::data::Data;
use crate::security::ciphered_apdu::is_ciphered_tag;
use crate::security::context::{MAX_PROTECTION_OVERHEAD, apdu_name};
use crate::security::hls_gmac::{self, REPLY_TO_HLS_AUTHENTICATION};
use crate::security::{AesKey, CipheringForm, KeyId, KeyScope, SecurityContext, SecurityError, SecuritySettings};
use crate::xdlms::action::{ActionRequest, ActionResponse, ActionResponseWithOptionalData};
use crate::xdlms::apdu::XdlmsApdu;
use crate::xdlms::conformance::Conformance;
use crate::xdlms::exception::{ExceptionResponse, ExceptionServiceError, StateError};
use crate::xdlms::general_block_transfer::GeneralBlockTransfer;
use crate::xdlms::get::{DataBlockG, DataBlockGResult, GetDataResult, GetRequest, GetResponse};
use crate::xdlms::initiate::{InitiateRequest, InitiateResponse};
use crate::xdlms::invoke_id::InvokeIdAndPriority;
use crate::xdlms::service_error::{ConfirmedServiceError, InitiateError};
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
    /// block transfer with get, set and action, multiple references, priority
    /// management, event and data notification.
    ///
    /// General-block-transfer is supported ([`ServerConfig::METER_CONFORMANCE_WITH_GBT`])
    /// but not offered by default: some clients propose it without implementing it
    /// (dlms-cosem 25.1 does), and would then receive GBT blocks they cannot read.
    pub const METER_CONFORMANCE: Conformance = Conformance::GET
        .union(Conformance::SET)
        .union(Conformance::ACTION)
        .union(Conformance::SELECTIVE_ACCESS)
        .union(Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ)
        .union(Conformance::BLOCK_TRANSFER_WITH_SET_OR_WRITE)
        .union(Conformance::BLOCK_TRANSFER_WITH_ACTION)
        .union(Conformance::MULTIPLE_REFERENCES)
        .union(Conformance::PRIORITY_MGMT_SUPPORTED)
        .union(Conformance::EVENT_NOTIFICATION)
        .union(Conformance::DATA_NOTIFICATION);

    /// [`ServerConfig::METER_CONFORMANCE`] plus general-block-transfer (IEC 62056-5-3
    /// §9.3.5).
    pub const METER_CONFORMANCE_WITH_GBT: Conformance =
        Self::METER_CONFORMANCE.union(Conformance::GENERAL_BLOCK_TRANSFER);

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
    /// HLS: the AARE asked for authentication; only reply_to_HLS_authentication is
    /// served until the client's f(StoC) verifies.
    AuthenticationPending,
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

/// Largest request the server assembles from SET/ACTION datablocks or
/// General-Block-Transfer blocks (1 MiB); longer transfers are aborted.
pub const MAX_ASSEMBLED_REQUEST_LEN: usize = 1024 * 1024;

/// A SET or ACTION whose value arrives in datablocks.
#[derive(Debug)]
struct LongWrite<T> {
    invoke: InvokeIdAndPriority,
    target: T,
    assembler: DataBlockAssembler,
}

/// The General-Block-Transfer exchange in progress.
#[derive(Debug)]
enum ServerGbt {
    /// Receiving a request's blocks.
    Receiving { receiver: BlockReceiver },
    /// Sending a response's blocks; `request_blocks` is the block-number-ack they carry.
    Sending { sender: BlockSender, request_blocks: u16 },
}

#[derive(Debug)]
struct LongGet {
    invoke: InvokeIdAndPriority,
    encoded: Vec<u8>,
    offset: usize,
    last_sent_block: u32,
}

/// The two challenges of a pending HLS exchange.
#[derive(Debug)]
struct HlsChallenges {
    ctos: Vec<u8>,
    stoc: Vec<u8>,
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
    long_set: Option<LongWrite<SetTarget>>,
    long_action: Option<LongWrite<ActionTarget>>,
    gbt: Option<ServerGbt>,
    gbt_window: u8,
    /// The request being served arrived in GBT: (client window, its number of blocks).
    gbt_request: Option<(u8, u16)>,
    transmit: VecDeque<Vec<u8>>,
    /// Security settings: `Some` makes this a ciphered-context server.
    security: Option<SecuritySettings>,
    /// The security context of the current association.
    security_ctx: Option<SecurityContext>,
    hls: Option<HlsChallenges>,
    /// How the request being served was ciphered (the response mirrors it).
    response_form: Option<CipheringForm>,
    /// The last global unicast counter accepted before the APDU being served.
    unicast_floor: Option<u32>,
    security_events: VecDeque<SecurityError>,
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
            long_set: None,
            long_action: None,
            gbt: None,
            gbt_window: DEFAULT_GBT_WINDOW,
            gbt_request: None,
            transmit: VecDeque::new(),
            security: None,
            security_ctx: None,
            hls: None,
            response_form: None,
            unicast_floor: None,
            security_events: VecDeque::new(),
        }
    }

    /// A new machine for the client at `client_sap` that requires the ciphered LN
    /// context with `security` (keys, system titles, policy, counter store; one
    /// Security setup object). `config.authentication` may be
    /// [`Authentication::HighGmac`], [`Authentication::HighEcdsa`] (with
    /// [`crate::security::SecuritySettings::with_suite1`] keys), `Low` or `None`
    /// (ciphering without HLS).
    pub fn with_security(config: ServerConfig, client_sap: u16, security: SecuritySettings) -> Self {
        let mut s = ServerAssociation::new(config, client_sap);
        s.security = Some(security);
        s
    }

    /// Sets the General-Block-Transfer receive window this server announces (how many
    /// request blocks a client may stream before the server acknowledges; 1..=63,
    /// default [`DEFAULT_GBT_WINDOW`]). Used only when general-block-transfer is
    /// negotiated.
    pub fn with_gbt_window(mut self, window: u8) -> Self {
        self.gbt_window = effective_window(window);
        self
    }

    /// The next security event (a refused ciphered APDU, replayed counter, failed HLS
    /// authentication, unciphered request, counter store failure), oldest first. Each is
    /// also answered on the wire; callers should log them with the client's address.
    pub fn poll_security_event(&mut self) -> Option<SecurityError> {
        self.security_events.pop_front()
    }

    /// The security context of the current association (client system title, policy,
    /// counters), if ciphered.
    pub fn security(&self) -> Option<&SecurityContext> {
        self.security_ctx.as_ref()
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
        self.response_form = None;
        self.unicast_floor = None;
        self.gbt_request = None;
        if let Some(sec) = &self.security_ctx {
            match sec.last_incoming_counter(KeyId::GlobalUnicastEncryption) {
                Ok(floor) => self.unicast_floor = floor,
                Err(e) => return self.security_failure(e),
            }
        }
        self.process(bytes, server);
    }

    /// Deciphers, decodes and serves one APDU: a received one, or a request reassembled
    /// from General-Block-Transfer blocks (then `gbt_request` is set).
    fn process(&mut self, bytes: &[u8], server: &mut impl CosemServer) {
        let via_gbt = self.gbt_request.is_some();
        let deciphered;
        let bytes = match bytes.first() {
            Some(&t) if is_ciphered_tag(t) && self.security_ctx.is_some() => match self.open_ciphered(bytes) {
                Some(plain) => {
                    deciphered = plain;
                    deciphered.as_slice()
                }
                None => return,
            },
            _ => bytes,
        };
        let ciphered = self.response_form.is_some();
        let apdu = match Apdu::from_bytes(bytes) {
            Ok(a) => a,
            Err(_) => {
                self.exception(StateError::ServiceUnknown, ExceptionServiceError::OtherReason);
                return;
            }
        };
        let in_association = matches!(self.state, ServerState::Associated | ServerState::AuthenticationPending);
        match apdu {
            Apdu::Aarq(aarq) if !ciphered && !via_gbt => self.on_aarq(&aarq),
            Apdu::Rlrq(_) if in_association && !ciphered && !via_gbt => {
                self.state = ServerState::Released;
                self.end_transfers();
                self.end_security();
                self.send(Apdu::Rlre(Rlre::normal()));
            }
            Apdu::Xdlms(XdlmsApdu::GeneralBlockTransfer(block)) if !via_gbt => {
                if self.state != ServerState::Associated
                    || !self.negotiated.contains(Conformance::GENERAL_BLOCK_TRANSFER)
                {
                    self.gbt = None;
                    return self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported);
                }
                self.on_gbt(block, server);
            }
            Apdu::Xdlms(x) if x.is_request() => {
                if !via_gbt {
                    // A request in one APDU ends any General-Block-Transfer exchange.
                    self.gbt = None;
                }
                if !in_association {
                    self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::OperationNotPossible);
                    return;
                }
                if !ciphered {
                    if let Some(sec) = &self.security_ctx {
                        if sec.required_protection(x.tag()).is_some() {
                            return self.security_failure(SecurityError::Unprotected { apdu: apdu_name(x.tag()) });
                        }
                    }
                }
                if self.state == ServerState::AuthenticationPending {
                    return self.on_pending_authentication(x);
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

    /// Deciphers a ciphered request; on failure answers with the exception-response
    /// and records the security event.
    fn open_ciphered(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        let sec = self.security_ctx.as_mut()?;
        match sec.unprotect(bytes) {
            Ok(opened) => {
                self.response_form = Some(opened.form);
                Some(opened.apdu)
            }
            Err(e) => {
                self.security_failure(e);
                None
            }
        }
    }

    /// Records a security event and answers in clear: invocation-counter-error with the
    /// lowest counter the server would accept for a replay, else deciphering-error
    /// (IEC 62056-5-3 §9.5 ExceptionResponse).
    fn security_failure(&mut self, e: SecurityError) {
        let service_error = match e {
            SecurityError::Replay { last, .. } => ExceptionServiceError::InvocationCounterError(last.saturating_add(1)),
            _ => ExceptionServiceError::DecipheringError,
        };
        self.security_events.push_back(e);
        self.exception(StateError::ServiceUnknown, service_error);
    }

    /// Abandons every block transfer in progress.
    fn end_transfers(&mut self) {
        self.long_get = None;
        self.long_set = None;
        self.long_action = None;
        self.gbt = None;
    }

    /// One General-Block-Transfer APDU of an associated client with GBT negotiated.
    fn on_gbt(&mut self, block: GeneralBlockTransfer, server: &mut impl CosemServer) {
        let own = self.gbt_window;
        let peer_window = effective_window(block.block_control.window);
        // A data block numbered 1 acknowledging nothing starts a new request.
        let new_request = !block.is_ack_only() && block.block_number == 1 && block.block_number_ack == 0;
        match self.gbt.take() {
            Some(ServerGbt::Sending { mut sender, request_blocks }) if !new_request => {
                let window_end = !block.block_control.streaming || block.block_control.last_block;
                if !block.is_ack_only() && !window_end {
                    // A resent request block inside its window: answer its window end only.
                    self.gbt = Some(ServerGbt::Sending { sender, request_blocks });
                    return;
                }
                let acked = block.block_number_ack;
                if let Err(e) = sender.on_ack(acked) {
                    return self.gbt_violation(e);
                }
                if acked >= sender.total() {
                    return; // the client has the whole response
                }
                let window = sender.window_after(acked, peer_window, request_blocks, own);
                self.transmit.extend(window.iter().map(Codec::to_bytes));
                self.gbt = Some(ServerGbt::Sending { sender, request_blocks });
            }
            // An acknowledgement while receiving, or for nothing: nothing to do.
            state @ (Some(ServerGbt::Receiving { .. }) | None) if block.is_ack_only() => self.gbt = state,
            state => {
                let mut receiver = match state {
                    Some(ServerGbt::Receiving { receiver }) => receiver,
                    _ => BlockReceiver::new(own, MAX_ASSEMBLED_REQUEST_LEN, true),
                };
                match receiver.on_block(&block) {
                    Err(e) => self.gbt_violation(e),
                    Ok(Received::Continue) => self.gbt = Some(ServerGbt::Receiving { receiver }),
                    Ok(Received::Acknowledge) => {
                        self.transmit.push_back(gbt::ack(0, receiver.in_sequence(), own).to_bytes());
                        self.gbt = Some(ServerGbt::Receiving { receiver });
                    }
                    Ok(Received::Complete(request)) => {
                        self.gbt_request = Some((peer_window, receiver.in_sequence()));
                        self.process(&request, server);
                        self.gbt_request = None;
                    }
                }
            }
        }
    }

    /// Abandons the General-Block-Transfer exchange and answers with an exception.
    fn gbt_violation(&mut self, _e: BlockTransferError) {
        self.gbt = None;
        self.gbt_request = None;
        self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::OperationNotPossible);
    }

    fn end_security(&mut self) {
        self.security_ctx = None;
        self.hls = None;
    }

    /// The application context this server offers.
    fn context_name(&self) -> ApplicationContextName {
        if self.security.is_some() {
            ApplicationContextName::LogicalNameWithCiphering
        } else {
            ApplicationContextName::LogicalNameNoCiphering
        }
    }

    /// Checks the AARQ's mechanism and secret; returns the HLS challenge CtoS when
    /// HLS-GMAC (8..=64 bytes) or HLS-ECDSA (32..=64 bytes, suite 1 keys configured) is
    /// used.
    fn check_authentication(
        &self,
        aarq: &Aarq,
        mechanism: &MechanismName,
    ) -> Result<Option<Vec<u8>>, AcseServiceUserDiagnostic> {
        let given = aarq.calling_authentication_value.as_ref().and_then(|v| v.as_bytes());
        match (&self.config.authentication, mechanism) {
            (Authentication::None, MechanismName::None) => Ok(None),
            (Authentication::Low { password }, MechanismName::Lls) => {
                if given == Some(password.as_slice()) {
                    Ok(None)
                } else {
                    Err(AcseServiceUserDiagnostic::AuthenticationFailure)
                }
            }
            (Authentication::HighGmac, MechanismName::HlsGmac) if self.security.is_some() => match given {
                Some(ctos) if hls_gmac::check_challenge(ctos.len()).is_ok() => Ok(Some(ctos.to_vec())),
                _ => Err(AcseServiceUserDiagnostic::AuthenticationFailure),
            },
            (Authentication::HighEcdsa, MechanismName::HlsEcdsa)
                if self.security.as_ref().is_some_and(|s| s.suite1.is_some()) =>
            {
                match given {
                    Some(ctos) if hls_ecdsa::challenge_ok(ctos) => Ok(Some(ctos.to_vec())),
                    _ => Err(AcseServiceUserDiagnostic::AuthenticationFailure),
                }
            }
            (
                Authentication::Low { .. } | Authentication::HighGmac | Authentication::HighEcdsa,
                MechanismName::None,
            ) => Err(AcseServiceUserDiagnostic::AuthenticationMechanismNameRequired),
            _ => Err(AcseServiceUserDiagnostic::AuthenticationMechanismNameNotRecognised),
        }
    }

    /// Checks the InitiateRequest; returns the negotiated conformance.
    fn negotiate(&mut self, initiate: &InitiateRequest) -> Result<Conformance, InitiateError> {
        if initiate.proposed_dlms_version_number < DLMS_VERSION {
            return Err(InitiateError::DlmsVersionTooLow);
        }
        if initiate.client_max_receive_pdu_size != 0 && initiate.client_max_receive_pdu_size < MIN_CLIENT_PDU_SIZE {
            return Err(InitiateError::PduSizeTooShort);
        }
        let negotiated = initiate.proposed_conformance.intersection(self.config.conformance);
        if negotiated.is_empty() {
            return Err(InitiateError::IncompatibleConformance);
        }
        self.negotiated = negotiated;
        // 0 means "no limit" in the InitiateRequest; use the largest wrapper payload.
        self.client_max_pdu = match initiate.client_max_receive_pdu_size {
            0 => 0xFFFF,
            n => n as usize,
        };
        Ok(negotiated)
    }

    fn on_aarq(&mut self, aarq: &Aarq) {
        // A new AARQ ends the current association, if any.
        self.state = ServerState::Idle;
        self.end_security();
        self.end_transfers();
        if self.security.is_some() {
            return self.on_ciphered_aarq(aarq);
        }
        let context = aarq.application_context_name.clone();
        if context != ApplicationContextName::LogicalNameNoCiphering {
            return self.reject(AcseServiceUserDiagnostic::ApplicationContextNameNotSupported);
        }
        let mechanism = aarq.mechanism_name.clone().unwrap_or(MechanismName::None);
        if let Err(diagnostic) = self.check_authentication(aarq, &mechanism) {
            return self.reject(diagnostic);
        }
        let Some(initiate) = aarq.initiate_request() else {
            return self.refuse_initiate(InitiateError::Other);
        };
        let negotiated = match self.negotiate(initiate) {
            Ok(n) => n,
            Err(reason) => return self.refuse_initiate(reason),
        };
        self.ctx.mechanism = mechanism;
        self.state = ServerState::Associated;
        let response = InitiateResponse::new(negotiated, self.config.max_receive_pdu_size);
        self.send(Apdu::Aare(Aare::accepted(ApplicationContextName::LogicalNameNoCiphering, response)));
    }

    /// The AARQ of a ciphered-context server (see the module docs).
    fn on_ciphered_aarq(&mut self, aarq: &Aarq) {
        let Some(settings) = self.security.clone() else { return };
        if aarq.application_context_name != ApplicationContextName::LogicalNameWithCiphering {
            return self.reject(AcseServiceUserDiagnostic::ApplicationContextNameNotSupported);
        }
        let mechanism = aarq.mechanism_name.clone().unwrap_or(MechanismName::None);
        let ctos = match self.check_authentication(aarq, &mechanism) {
            Ok(ctos) => ctos,
            Err(diagnostic) => return self.reject(diagnostic),
        };
        let mut sec = match SecurityContext::new(&settings) {
            Ok(sec) => sec,
            Err(e) => {
                self.security_events.push_back(e);
                return self.reject(AcseServiceUserDiagnostic::NoReasonGiven);
            }
        };
        let title = aarq.calling_ap_title.as_deref().ok_or(SecurityError::MissingSystemTitle);
        if let Err(e) = title.and_then(|t| sec.set_peer_system_title(t)) {
            self.security_events.push_back(e);
            return self.reject(AcseServiceUserDiagnostic::CallingApTitleNotRecognized);
        }
        let ciphered = match &aarq.user_information {
            Some(UserInformation::Ciphered(c)) => c,
            Some(UserInformation::InitiateRequest(_)) => {
                self.security_events.push_back(SecurityError::Unprotected { apdu: "InitiateRequest" });
                return self.refuse_initiate(InitiateError::Other);
            }
            _ => return self.refuse_initiate(InitiateError::Other),
        };
        let opened = match sec.unprotect(ciphered) {
            Ok(opened) => opened,
            Err(e) => return self.security_failure(e),
        };
        self.security_ctx = Some(sec);
        let initiate = match (opened.form, InitiateRequest::from_bytes(&opened.apdu)) {
            (CipheringForm::ServiceSpecific(KeyScope::Global), Ok(initiate)) => initiate,
            _ => return self.refuse_initiate(InitiateError::Other),
        };
        if let Some(key) = &initiate.dedicated_key {
            let sc = opened.security_header.security_control;
            let key = if sc.encryption() {
                AesKey::from_slice(key)
            } else {
                Err(SecurityError::PolicyViolation { apdu: "InitiateRequest with a dedicated key", received: sc.0 })
            };
            match (key, self.security_ctx.as_mut()) {
                (Ok(key), Some(sec)) => sec.set_dedicated_key(Some(key)),
                (Err(e), _) => {
                    self.security_events.push_back(e);
                    return self.refuse_initiate(InitiateError::Other);
                }
                (Ok(_), None) => return,
            }
        }
        let negotiated = match self.negotiate(&initiate) {
            Ok(n) => n,
            Err(reason) => return self.refuse_initiate(reason),
        };
        let response = InitiateResponse::new(negotiated, self.config.max_receive_pdu_size);
        let Some(sec) = self.security_ctx.as_mut() else { return };
        let own = sec.own_system_title();
        let ecdsa = self.config.authentication == Authentication::HighEcdsa;
        let prepared = sec.protect(&response.to_bytes()).and_then(|initiate_response| {
            let stoc = match &ctos {
                Some(_) if ecdsa => Some(hls_ecdsa::new_challenge(sec.challenge_len())?),
                Some(_) => Some(hls_gmac::new_challenge(sec.challenge_len())?),
                None => None,
            };
            Ok((initiate_response, stoc))
        });
        let (ciphered_response, stoc) = match prepared {
            Ok(p) => p,
            Err(e) => {
                self.security_events.push_back(e);
                return self.reject(AcseServiceUserDiagnostic::NoReasonGiven);
            }
        };
        let context = ApplicationContextName::LogicalNameWithCiphering;
        let aare = match (ctos, stoc) {
            (Some(ctos), Some(stoc)) => {
                self.hls = Some(HlsChallenges { ctos, stoc: stoc.clone() });
                self.state = ServerState::AuthenticationPending;
                Aare::authentication_required(context, self.config.authentication.mechanism(), stoc, response)
            }
            _ => {
                self.state = ServerState::Associated;
                Aare::accepted(context, response)
            }
        };
        self.ctx.mechanism = mechanism;
        let aare =
            aare.with_responding_ap_title(own.0).with_user_information(UserInformation::Ciphered(ciphered_response));
        self.send(Apdu::Aare(aare));
    }

    /// HLS pass 3 and 4 on the server (state [`ServerState::AuthenticationPending`]).
    fn on_pending_authentication(&mut self, request: XdlmsApdu) {
        let XdlmsApdu::ActionRequest(ActionRequest::Normal {
            invoke_id_and_priority,
            method_descriptor,
            method_invocation_parameters,
        }) = request
        else {
            return self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::OperationNotPossible);
        };
        if method_descriptor != REPLY_TO_HLS_AUTHENTICATION {
            return self.send(Apdu::Xdlms(XdlmsApdu::ActionResponse(ActionResponse::Normal {
                invoke_id_and_priority,
                single_response: ActionResponseWithOptionalData {
                    result: ActionResult::ReadWriteDenied,
                    return_parameters: None,
                },
            })));
        }
        match self.verify_hls(method_invocation_parameters.as_ref()) {
            Ok(f_ctos) => {
                self.state = ServerState::Associated;
                self.hls = None;
                self.send(Apdu::Xdlms(XdlmsApdu::ActionResponse(ActionResponse::Normal {
                    invoke_id_and_priority,
                    single_response: ActionResponseWithOptionalData {
                        result: ActionResult::Success,
                        return_parameters: Some(GetDataResult::Data(Data::OctetString(f_ctos))),
                    },
                })));
            }
            Err(e) => {
                self.security_events.push_back(e);
                self.send(Apdu::Xdlms(XdlmsApdu::ActionResponse(ActionResponse::Normal {
                    invoke_id_and_priority,
                    single_response: ActionResponseWithOptionalData {
                        result: ActionResult::ReadWriteDenied,
                        return_parameters: None,
                    },
                })));
                // The association is not established: a new AARQ is needed.
                self.state = ServerState::Idle;
                self.end_security();
            }
        }
    }

    /// Verifies f(StoC) and computes f(CtoS): GMAC with the global keys, or ECDSA with
    /// the client's public key and the server's signing key.
    fn verify_hls(&mut self, parameters: Option<&Data>) -> Result<Vec<u8>, SecurityError> {
        let Some(Data::OctetString(f_stoc)) = parameters else {
            return Err(SecurityError::HlsVerificationFailed);
        };
        let (Some(sec), Some(hls)) = (self.security_ctx.as_mut(), self.hls.as_ref()) else {
            return Err(SecurityError::HlsNotPerformed("no HLS exchange in progress"));
        };
        if self.config.authentication == Authentication::HighEcdsa {
            let keys = hls_ecdsa::suite1_keys(self.security.as_ref())?;
            return hls_ecdsa::server_f_ctos(keys, sec, &hls.ctos, &hls.stoc, f_stoc);
        }
        sec.verify_hls_response(f_stoc, &hls.stoc, self.unicast_floor)?;
        Ok(sec.hls_response(&hls.ctos)?.to_bytes())
    }

    fn reject(&mut self, diagnostic: AcseServiceUserDiagnostic) {
        self.state = ServerState::Idle;
        self.end_security();
        self.send(Apdu::Aare(Aare::rejected(self.context_name(), diagnostic)));
    }

    /// Refuses the InitiateRequest; with a security context the ConfirmedServiceError
    /// travels as a glo-confirmedServiceError.
    fn refuse_initiate(&mut self, reason: InitiateError) {
        self.state = ServerState::Idle;
        let mut aare = Aare::initiate_refused(self.context_name(), reason);
        if let Some(sec) = self.security_ctx.as_mut() {
            if let Ok(c) = sec.protect(&ConfirmedServiceError::initiate(reason).to_bytes()) {
                aare = aare
                    .with_responding_ap_title(sec.own_system_title().0)
                    .with_user_information(UserInformation::Ciphered(c));
            }
        }
        self.end_security();
        self.send(Apdu::Aare(aare));
    }

    /// The largest plain APDU that, once protected, fits the client's max receive PDU.
    fn pdu_budget(&self) -> usize {
        let overhead = if self.security_ctx.is_some() { MAX_PROTECTION_OVERHEAD } else { 0 };
        self.client_max_pdu.saturating_sub(overhead)
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
                // Encoded once: sent as it is when it fits.
                let encoded = response.to_bytes();
                // With general-block-transfer, `send` splits a long response into GBT blocks.
                if encoded.len() <= self.pdu_budget() || self.negotiated.contains(Conformance::GENERAL_BLOCK_TRANSFER) {
                    self.send_encoded(encoded, true, true);
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
                    self.send_block_error(invoke, block_number.wrapping_add(1), DataAccessResult::LongGetAborted);
                }
                None => {
                    self.send_block_error(invoke, block_number.wrapping_add(1), DataAccessResult::NoLongGetInProgress)
                }
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
                let response = GetResponse::WithList { invoke_id_and_priority: invoke, result: results };
                let encoded = response.to_bytes();
                let GetResponse::WithList { result: results, .. } = response else { return };
                if encoded.len() <= self.pdu_budget() || self.negotiated.contains(Conformance::GENERAL_BLOCK_TRANSFER) {
                    self.send_encoded(encoded, true, true);
                } else if self.negotiated.contains(Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ) {
                    // The raw-data of the blocks is the encoded SEQUENCE OF Get-Data-Result.
                    let encoded = encode_get_results(&results);
                    self.long_get = Some(LongGet { invoke, encoded, offset: 0, last_sent_block: 0 });
                    self.send_next_block();
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
        let max = self.pdu_budget();
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

    fn exception(&mut self, state_error: StateError, service_error: ExceptionServiceError) {
        self.send(Apdu::Xdlms(XdlmsApdu::ExceptionResponse(ExceptionResponse { state_error, service_error })));
    }

    /// Queues an APDU. In a ciphered association xDLMS responses are protected in the
    /// form of the request; exception-responses and ACSE APDUs go in clear. If
    /// protection fails (counter store failure, exhausted counter) the security event is
    /// recorded and an exception-response is sent instead.
    fn send(&mut self, apdu: Apdu) {
        let xdlms = matches!(&apdu, Apdu::Xdlms(_));
        let protect = matches!(&apdu, Apdu::Xdlms(x) if !matches!(x, XdlmsApdu::ExceptionResponse(_)));
        self.send_encoded(apdu.to_bytes(), xdlms, protect);
    }

    /// [`ServerAssociation::send`] of an APDU already encoded: `xdlms` when it is an xDLMS
    /// APDU, `protect` when a ciphered association protects it (every xDLMS APDU but the
    /// exception-response).
    fn send_encoded(&mut self, bytes: Vec<u8>, xdlms: bool, protect: bool) {
        let Some(sec) = self.security_ctx.as_mut().filter(|_| protect) else {
            return self.emit(bytes, xdlms);
        };
        let scope = if sec.has_dedicated_key() { KeyScope::Dedicated } else { KeyScope::Global };
        let form = self.response_form.unwrap_or(CipheringForm::ServiceSpecific(scope));
        match sec.protect_as(&bytes, form) {
            Ok(protected) => self.emit(protected, xdlms),
            Err(e) => {
                self.security_events.push_back(e);
                self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::OtherReason);
            }
        }
    }

    /// Queues a (protected) APDU: an xDLMS response goes in General-Block-Transfer blocks
    /// when GBT is negotiated and the request came in GBT or the response exceeds the
    /// client's max receive PDU size; the first window is as large as the client's window
    /// (1 when the request came in one APDU: the client's window is not known yet).
    fn emit(&mut self, bytes: Vec<u8>, xdlms: bool) {
        let gbt = xdlms
            && self.state == ServerState::Associated
            && self.negotiated.contains(Conformance::GENERAL_BLOCK_TRANSFER)
            && (self.gbt_request.is_some() || bytes.len() > self.client_max_pdu);
        if !gbt {
            return self.transmit.push_back(bytes);
        }
        let (peer_window, request_blocks) = self.gbt_request.unwrap_or((1, 0));
        match BlockSender::new(&bytes, block_size_for(self.client_max_pdu)) {
            Ok(mut sender) => {
                let window = sender.window_after(0, peer_window, request_blocks, self.gbt_window);
                self.transmit.extend(window.iter().map(Codec::to_bytes));
                self.gbt = Some(ServerGbt::Sending { sender, request_blocks });
            }
            Err(e) => self.gbt_violation(e),
        }
    }
}
