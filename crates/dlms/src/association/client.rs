//! The client (HES side) association state machine.
//!
//! Life cycle: [`ClientAssociation::associate`] queues an AARQ; the AARE moves the
//! machine to [`ClientState::Associated`] (or reports the rejection); then one confirmed
//! request at a time (GET, GET/SET/ACTION with list, SET, ACTION) is queued and completed
//! by its response; [`ClientAssociation::release`] queues an RLRQ and the RLRE ends the
//! association.
//!
//! Long values travel transparently (IEC 62056-5-3:2017 §9.3.5, §9.3.6-§9.3.8):
//! * a GET response (normal or with list) that does not fit the client's max receive PDU
//!   arrives in get-response-with-datablock blocks, fetched with get-request-next;
//! * a SET value or ACTION parameter whose request does not fit the server's max receive
//!   PDU is sent in set-request-with-(first-)datablock / action-request-with-(first-)pblock
//!   blocks when the block-transfer-with-set / -with-action conformance bits were
//!   negotiated;
//! * with the general-block-transfer conformance bit, any request that does not fit is
//!   sent, and any response may arrive, in windowed General-Block-Transfer APDUs (see
//!   [`crate::association::gbt`] for the rules); the client acknowledges windows and,
//!   from [`ClientAssociation::handle_timeout`], asks for lost blocks. GBT is preferred
//!   over the service-specific blocks when both are negotiated.
//!
//! With [`ClientConfig::security`] the AARQ proposes the ciphered LN context with the
//! client system title as calling-AP-title and a glo-initiateRequest (optionally carrying
//! a dedicated key); with [`Authentication::HighGmac`] (GMAC) or
//! [`Authentication::HighEcdsa`] (ECDSA, suite 1) the machine also performs HLS passes 3
//! and 4 (reply_to_HLS_authentication with f(StoC), verifying f(CtoS)) before it reports
//! [`ClientEvent::Associated`]. Every xDLMS APDU is then protected and every
//! received one deciphered and verified; only an exception-response or
//! confirmed-service-error may arrive unciphered (and General-Block-Transfer APDUs, whose
//! assembled content is checked instead). Security failures are [`ClientError::Security`]
//! and close the association.

use std::collections::VecDeque;

use thiserror::Error;

mod responses;
mod write_requests;

use responses::check_invoke;
use write_requests::OutgoingBlocks;

use crate::acse::{
    Aare, Aarq, AcseServiceUserDiagnostic, ApplicationContextName, AssociateSourceDiagnostic, AssociationResult,
    MechanismName, Rlrq, UserInformation,
};
use crate::apdu::Apdu;
use crate::association::Authentication;
use crate::association::gbt::{
    self, BlockReceiver, BlockSender, BlockTransferError, DEFAULT_GBT_WINDOW, Received, block_size_for,
    effective_window,
};
use crate::association::hls_ecdsa;
use crate::codec::{Codec, DecodeError};
use crate::data::Data;
use crate::security::ciphered_apdu::is_ciphered_tag;
use crate::security::context::{MAX_PROTECTION_OVERHEAD, apdu_name};
use crate::security::hls_gmac::{self, REPLY_TO_HLS_AUTHENTICATION};
use crate::security::{AesKey, KeyId, SecurityContext, SecurityError, SecuritySettings};
use crate::xdlms::apdu::XdlmsApdu;
use crate::xdlms::conformance::Conformance;
use crate::xdlms::descriptor::AttributeDescriptorWithSelection;
use crate::xdlms::exception::ExceptionResponse;
use crate::xdlms::general_block_transfer::GeneralBlockTransfer;
use crate::xdlms::get::{GetDataResult, GetRequest};
use crate::xdlms::initiate::{InitiateRequest, InitiateResponse};
use crate::xdlms::invoke_id::InvokeIdAndPriority;
use crate::xdlms::notification::{DataNotification, EventNotificationRequest};
use crate::xdlms::service_error::ConfirmedServiceError;
use crate::xdlms::{
    ActionResult, CosemAttributeDescriptor, DataAccessResult, SelectiveAccess,
    action::{ActionRequest, ActionResponse},
};

/// Largest value assembled from GET blocks or General-Block-Transfer blocks (16 MiB);
/// protects the client against a server that never sets last-block.
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
    /// Security suite 0 or 1 settings (keys, system titles, policy, counter store): `Some`
    /// selects the ciphered application context; required by
    /// [`Authentication::HighGmac`], and with suite 1 keys by
    /// [`Authentication::HighEcdsa`].
    pub security: Option<SecuritySettings>,
    /// The General-Block-Transfer receive window the client announces: how many blocks
    /// the server may stream before the client acknowledges (1..=63). Used only when
    /// the general-block-transfer conformance bit is negotiated.
    pub gbt_window: u8,
}

impl Default for ClientConfig {
    /// No authentication, the usual LN client conformance (get, set, action, selective
    /// access, block transfer with get, set and action, multiple references, ...),
    /// 0xFFFF bytes, GBT window [`DEFAULT_GBT_WINDOW`]. General-block-transfer is not
    /// proposed by default: add [`Conformance::GENERAL_BLOCK_TRANSFER`] to use it.
    fn default() -> Self {
        ClientConfig {
            authentication: Authentication::None,
            proposed_conformance: Conformance::GET
                .union(Conformance::SET)
                .union(Conformance::ACTION)
                .union(Conformance::SELECTIVE_ACCESS)
                .union(Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ)
                .union(Conformance::BLOCK_TRANSFER_WITH_SET_OR_WRITE)
                .union(Conformance::BLOCK_TRANSFER_WITH_ACTION)
                .union(Conformance::MULTIPLE_REFERENCES)
                .union(Conformance::PRIORITY_MGMT_SUPPORTED)
                .union(Conformance::ATTRIBUTE0_SUPPORTED_WITH_GET)
                .union(Conformance::EVENT_NOTIFICATION)
                .union(Conformance::DATA_NOTIFICATION),
            max_receive_pdu_size: 0xFFFF,
            security: None,
            gbt_window: DEFAULT_GBT_WINDOW,
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
    /// The result of a SET (sent in one APDU or in datablocks).
    Set(DataAccessResult),
    /// The results of a SET with list, one per attribute in request order.
    SetWithList(Vec<DataAccessResult>),
    /// The result of an ACTION and its return parameters, if any.
    Action(Result<Option<Data>, ActionResult>),
    /// The results of an ACTION with list, one per method in request order.
    ActionWithList(Vec<Result<Option<Data>, ActionResult>>),
    /// The RLRE arrived: the association is released.
    Released,
    /// An unsolicited data-notification (push) arrived on the association.
    DataNotification(DataNotification),
    /// An unsolicited event-notification-request (one attribute value) arrived on the
    /// association (IEC 62056-5-3 §9.3.11).
    EventNotification(EventNotificationRequest),
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
    /// A GET block arrived out of sequence, or a SET/ACTION block acknowledgement names
    /// another block than the one sent.
    #[error("block {got} received, block {expected} expected")]
    BlockNumberMismatch {
        /// The expected block number.
        expected: u32,
        /// The one received.
        got: u32,
    },
    /// The blocks of a GET add up to more than [`MAX_ASSEMBLED_LEN`].
    #[error("GET value exceeds {MAX_ASSEMBLED_LEN} bytes")]
    ValueTooLarge,
    /// The request does not fit the server's max receive PDU size and no block transfer
    /// that could carry it was negotiated (general-block-transfer, or block transfer with
    /// set / action for SET and ACTION).
    #[error("request of {len} bytes exceeds the server's max receive PDU size {max} and no block transfer applies")]
    RequestTooLarge {
        /// The request's encoded length (protected, when ciphered), bytes.
        len: usize,
        /// The server's max receive PDU size, bytes.
        max: usize,
    },
    /// A General-Block-Transfer exchange broke the protocol or exceeded the limits.
    #[error("general block transfer: {0}")]
    BlockTransfer(#[from] BlockTransferError),
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
    Associate {
        ctos: Option<Vec<u8>>,
    },
    HlsReply {
        invoke: InvokeIdAndPriority,
        initiate: InitiateResponse,
        ctos: Vec<u8>,
        stoc: Vec<u8>,
    },
    Get {
        invoke: InvokeIdAndPriority,
        assembled: Vec<u8>,
        next_block: u32,
    },
    GetWithList {
        invoke: InvokeIdAndPriority,
        count: usize,
        assembled: Vec<u8>,
        next_block: u32,
    },
    /// `list`: the attribute count of a SET with list.
    Set {
        invoke: InvokeIdAndPriority,
        list: Option<usize>,
        blocks: OutgoingBlocks,
    },
    /// `list`: the method count of an ACTION with list.
    Action {
        invoke: InvokeIdAndPriority,
        list: Option<usize>,
        blocks: OutgoingBlocks,
    },
    Release,
}

/// The General-Block-Transfer state of the outstanding request.
#[derive(Debug)]
struct ClientGbt {
    /// The request's blocks, when the request itself went in GBT.
    sender: Option<BlockSender>,
    /// The response's blocks.
    receiver: BlockReceiver,
    /// The server's window (1 until it announces one).
    peer_window: u8,
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
    gbt: Option<ClientGbt>,
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
            gbt: None,
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
    /// security settings, [`Authentication::HighEcdsa`] without suite 1 keys
    /// ([`SecurityError::MissingKey`]) or with a challenge length outside 32..=64, the
    /// settings are unusable, or the random generator or the counter store fails.
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
                Authentication::HighEcdsa => {
                    return Err(SecurityError::MissingKey(hls_ecdsa::MISSING_SUITE1_KEYS).into());
                }
            };
            self.send(Apdu::Aarq(aarq))?;
            self.pending = Some(Pending::Associate { ctos: None });
            self.state = ClientState::AssociationPending;
            return Ok(());
        };
        if self.config.authentication == Authentication::HighEcdsa {
            hls_ecdsa::suite1_keys(Some(settings))?;
        }
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
            Authentication::HighEcdsa => {
                let challenge = hls_ecdsa::new_challenge(ctx.challenge_len())?;
                aarq = aarq.with_authentication(MechanismName::HlsEcdsa, challenge.clone());
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
    /// [`ClientError::NotNegotiated`] when GET (or selective access) was not negotiated;
    /// [`ClientError::RequestTooLarge`] when the request does not fit the server's max
    /// receive PDU and GBT was not negotiated.
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
        self.send_request(XdlmsApdu::GetRequest(GetRequest::Normal {
            invoke_id_and_priority: invoke,
            attribute_descriptor: attribute,
            access_selection: access,
        }))?;
        self.start(Pending::Get { invoke, assembled: Vec::new(), next_block: 1 });
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
        self.send_request(XdlmsApdu::GetRequest(GetRequest::WithList {
            invoke_id_and_priority: invoke,
            attribute_descriptor_list: items,
        }))?;
        self.start(Pending::GetWithList { invoke, count, assembled: Vec::new(), next_block: 1 });
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
    /// was an intermediate step (a GET block: the next get-request-next is queued; a
    /// SET/ACTION block acknowledgement: the next block is queued; a General-Block-Transfer
    /// block: an acknowledgement or the next window may be queued).
    ///
    /// # Errors
    /// Malformed APDUs, APDUs that answer nothing outstanding, mismatched invoke-ids or
    /// block numbers, General-Block-Transfer violations, exception-responses, refused
    /// associations. After an error the association should be abandoned.
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
        match apdu {
            Apdu::Xdlms(XdlmsApdu::GeneralBlockTransfer(block)) => self.on_gbt(block, floor),
            apdu => self.on_apdu(apdu, floor),
        }
    }

    /// Tells the machine that no APDU arrived within the caller's response timeout while
    /// a request is outstanding. With general-block-transfer negotiated it queues a
    /// recovery APDU: the unacknowledged request blocks again, or an acknowledgement of
    /// the response blocks received in sequence so far (which asks the server to resend
    /// the lost ones). Returns true when something was queued (send it and wait again);
    /// false when nothing can be recovered (the caller should give up).
    pub fn handle_timeout(&mut self) -> bool {
        let gbt_negotiated = self.has_conformance(Conformance::GENERAL_BLOCK_TRANSFER);
        if self.state != ClientState::RequestPending || !gbt_negotiated {
            return false;
        }
        let own = effective_window(self.config.gbt_window);
        let gbt = self.gbt.get_or_insert_with(|| ClientGbt::new(own));
        let ack_number = gbt.receiver.in_sequence();
        let mut queued = Vec::new();
        if let Some(sender) = gbt.sender.as_mut().filter(|s| !s.all_acked() && ack_number == 0) {
            queued = sender.resend(gbt.peer_window, ack_number, own);
        }
        if queued.is_empty() {
            let own_number = gbt.sender.as_ref().map_or(0, BlockSender::sent);
            queued.push(gbt::ack(own_number, ack_number, own));
        }
        for b in queued {
            self.transmit.push_back(b.to_bytes());
        }
        true
    }

    /// A General-Block-Transfer APDU from the server.
    fn on_gbt(&mut self, block: GeneralBlockTransfer, floor: Option<u32>) -> Result<Option<ClientEvent>, ClientError> {
        let Some(pending) = &self.pending else {
            return Err(ClientError::Unexpected { expected: "nothing", got: "general-block-transfer" });
        };
        if self.state != ClientState::RequestPending || !self.has_conformance(Conformance::GENERAL_BLOCK_TRANSFER) {
            let expected = pending_name(pending);
            return Err(self.fail(ClientError::Unexpected { expected, got: "general-block-transfer" }));
        }
        let own = effective_window(self.config.gbt_window);
        let gbt = self.gbt.get_or_insert_with(|| ClientGbt::new(own));
        gbt.peer_window = effective_window(block.block_control.window);
        if let Some(sender) = gbt.sender.as_mut() {
            if let Err(e) = sender.on_ack(block.block_number_ack) {
                return Err(self.fail(e.into()));
            }
        }
        let mut out = Vec::new();
        let outcome = if block.is_ack_only() {
            if let Some(sender) = gbt.sender.as_mut().filter(|s| !s.all_acked()) {
                out = sender.window_after(block.block_number_ack, gbt.peer_window, gbt.receiver.in_sequence(), own);
            }
            Ok(Received::Continue)
        } else {
            gbt.receiver.on_block(&block)
        };
        match outcome {
            Err(e) => Err(self.fail(e.into())),
            Ok(Received::Continue) => {
                for b in out {
                    self.transmit.push_back(b.to_bytes());
                }
                Ok(None)
            }
            Ok(Received::Acknowledge) => {
                let own_number = gbt.sender.as_ref().map_or(0, BlockSender::sent);
                let ack = gbt::ack(own_number, gbt.receiver.in_sequence(), own);
                self.transmit.push_back(ack.to_bytes());
                Ok(None)
            }
            Ok(Received::Complete(message)) => {
                self.gbt = None;
                let apdu = match self.open(&message) {
                    Ok(apdu) => apdu,
                    Err(e) => return Err(self.fail(e)),
                };
                if matches!(
                    apdu,
                    Apdu::Xdlms(XdlmsApdu::GeneralBlockTransfer(_))
                        | Apdu::Aarq(_)
                        | Apdu::Aare(_)
                        | Apdu::Rlrq(_)
                        | Apdu::Rlre(_)
                ) {
                    return Err(self.fail(BlockTransferError::NestedTransfer.into()));
                }
                self.on_apdu(apdu, floor)
            }
        }
    }

    /// A complete (deciphered, reassembled) APDU.
    fn on_apdu(&mut self, apdu: Apdu, floor: Option<u32>) -> Result<Option<ClientEvent>, ClientError> {
        match apdu {
            Apdu::Xdlms(XdlmsApdu::DataNotification(n)) => return Ok(Some(ClientEvent::DataNotification(n))),
            Apdu::Xdlms(XdlmsApdu::EventNotificationRequest(n)) => return Ok(Some(ClientEvent::EventNotification(n))),
            _ => {}
        }
        let Some(pending) = self.pending.take() else {
            return Err(ClientError::Unexpected { expected: "nothing", got: apdu.kind() });
        };
        // Any complete APDU ends a General-Block-Transfer exchange.
        self.gbt = None;
        let result = match (pending, apdu) {
            (Pending::Associate { ctos }, Apdu::Aare(aare)) => self.on_aare(aare, ctos),
            (Pending::HlsReply { invoke, initiate, ctos, stoc }, Apdu::Xdlms(XdlmsApdu::ActionResponse(resp))) => {
                match self.on_hls_reply(invoke, initiate, (&ctos, &stoc), resp, floor) {
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
            (Pending::Get { invoke, assembled, next_block }, Apdu::Xdlms(XdlmsApdu::GetResponse(resp))) => {
                self.on_get_response(invoke, None, assembled, next_block, resp)
            }
            (
                Pending::GetWithList { invoke, count, assembled, next_block },
                Apdu::Xdlms(XdlmsApdu::GetResponse(resp)),
            ) => self.on_get_response(invoke, Some(count), assembled, next_block, resp),
            (Pending::Set { invoke, list, blocks }, Apdu::Xdlms(XdlmsApdu::SetResponse(resp))) => {
                self.on_set_response(invoke, list, blocks, resp)
            }
            (Pending::Action { invoke, list, blocks }, Apdu::Xdlms(XdlmsApdu::ActionResponse(resp))) => {
                self.on_action_response(invoke, list, blocks, resp)
            }
            (_, Apdu::Xdlms(XdlmsApdu::ExceptionResponse(e))) => Err(ClientError::Exception(e)),
            (_, Apdu::ConfirmedServiceError(e)) => Err(ClientError::ServiceError(e)),
            (pending, other) => Err(ClientError::Unexpected { expected: pending_name(&pending), got: other.kind() }),
        };
        result.map_err(|e| self.fail(e))
    }

    /// Decodes a received APDU, deciphering it when it is ciphered; with a security
    /// context, refuses unciphered xDLMS APDUs the policy requires protected (an
    /// exception-response may come in clear: a server that cannot decipher cannot
    /// protect its answer either; a General-Block-Transfer APDU carries an APDU that is
    /// checked once reassembled).
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
                    let carrier = matches!(x, XdlmsApdu::ExceptionResponse(_) | XdlmsApdu::GeneralBlockTransfer(_));
                    if !carrier && ctx.required_protection(x.tag()).is_some() {
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
        self.gbt = None;
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
    /// and with HLS-GMAC or HLS-ECDSA the StoC challenge answered by
    /// reply_to_HLS_authentication.
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
        let ecdsa = self.config.authentication == Authentication::HighEcdsa;
        if !authentication_required {
            let why = if ecdsa {
                "the AARE did not ask for the HLS-ECDSA exchange"
            } else {
                "the AARE did not ask for the HLS-GMAC exchange"
            };
            return Err(SecurityError::HlsNotPerformed(why).into());
        }
        if aare.mechanism_name.as_ref().is_some_and(|m| *m != self.config.authentication.mechanism()) {
            return Err(SecurityError::HlsNotPerformed("the AARE names another mechanism").into());
        }
        let stoc = aare
            .responding_authentication_value
            .as_ref()
            .and_then(|v| v.as_bytes())
            .ok_or(SecurityError::HlsNotPerformed("the AARE carries no StoC challenge"))?;
        let f_stoc = if ecdsa {
            let keys = hls_ecdsa::suite1_keys(self.config.security.as_ref())?;
            hls_ecdsa::client_f_stoc(keys, ctx, &ctos, stoc)?
        } else {
            ctx.hls_response(stoc)?.to_bytes()
        };
        let stoc = stoc.to_vec();
        let invoke = self.next_invoke();
        self.send(Apdu::Xdlms(XdlmsApdu::ActionRequest(ActionRequest::Normal {
            invoke_id_and_priority: invoke,
            method_descriptor: REPLY_TO_HLS_AUTHENTICATION,
            method_invocation_parameters: Some(Data::OctetString(f_stoc)),
        })))?;
        self.pending = Some(Pending::HlsReply { invoke, initiate, ctos, stoc });
        Ok(None)
    }

    /// HLS pass 4: the server's answer to reply_to_HLS_authentication carries f(CtoS)
    /// (GMAC: checked with the global keys; ECDSA: with the server's public key).
    fn on_hls_reply(
        &mut self,
        invoke: InvokeIdAndPriority,
        initiate: InitiateResponse,
        (ctos, stoc): (&[u8], &[u8]),
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
        if self.config.authentication == Authentication::HighEcdsa {
            let keys = hls_ecdsa::suite1_keys(self.config.security.as_ref())?;
            hls_ecdsa::client_verify_f_ctos(keys, ctx, ctos, stoc, &f_ctos)?;
        } else {
            ctx.verify_hls_response(&f_ctos, ctos, floor)?;
        }
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
        if self.has_conformance(bit) { Ok(()) } else { Err(ClientError::NotNegotiated(name)) }
    }

    fn has_conformance(&self, bit: Conformance) -> bool {
        self.negotiated.as_ref().is_some_and(|n| n.negotiated_conformance.contains(bit))
    }

    fn next_invoke(&mut self) -> InvokeIdAndPriority {
        let id = self.next_invoke_id;
        self.next_invoke_id = if id >= 15 { 1 } else { id + 1 };
        InvokeIdAndPriority::new(id, true, true)
    }

    /// Records the outstanding request.
    fn start(&mut self, pending: Pending) {
        self.pending = Some(pending);
        self.state = ClientState::RequestPending;
    }

    /// The server's max receive PDU size, bytes (0 = no limit: the largest wrapper APDU).
    fn server_max_pdu(&self) -> usize {
        match self.negotiated.as_ref().map(|n| n.server_max_receive_pdu_size) {
            None | Some(0) => 0xFFFF,
            Some(n) => usize::from(n),
        }
    }

    /// Bytes protection may add to an xDLMS APDU in this association.
    fn protection_overhead(&self) -> usize {
        if self.security.is_some() { MAX_PROTECTION_OVERHEAD } else { 0 }
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

    /// Queues a request, protected when ciphered: in one APDU when it fits the server's
    /// max receive PDU size, else in General-Block-Transfer blocks when negotiated (the
    /// first block alone: the server's window is not known yet).
    fn send_request(&mut self, apdu: XdlmsApdu) -> Result<(), ClientError> {
        self.gbt = None;
        let plain = apdu.to_bytes();
        let bytes = match self.security.as_mut() {
            Some(ctx) => ctx.protect(&plain)?,
            None => plain,
        };
        let max = self.server_max_pdu();
        if bytes.len() <= max {
            self.transmit.push_back(bytes);
            return Ok(());
        }
        if !self.has_conformance(Conformance::GENERAL_BLOCK_TRANSFER) {
            return Err(ClientError::RequestTooLarge { len: bytes.len(), max });
        }
        let own = effective_window(self.config.gbt_window);
        let mut sender = BlockSender::new(&bytes, block_size_for(max))?;
        for b in sender.window_after(0, 1, 0, own) {
            self.transmit.push_back(b.to_bytes());
        }
        self.gbt = Some(ClientGbt { sender: Some(sender), ..ClientGbt::new(own) });
        Ok(())
    }
}

impl ClientGbt {
    fn new(own_window: u8) -> Self {
        ClientGbt { sender: None, receiver: BlockReceiver::new(own_window, MAX_ASSEMBLED_LEN, false), peer_window: 1 }
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
