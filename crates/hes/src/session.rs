//! One DLMS/COSEM association with one meter: the sans-I/O [`ClientAssociation`] driven
//! over a [`WrapperTransport`] or an [`HdlcTransport`] on any [`ByteStream`] (TCP, a
//! serial port, an in-memory duplex), with a timeout on every exchange.

use std::time::Duration;

use dlms::association::{ClientAssociation, ClientConfig, ClientError, ClientEvent};
use dlms::data::Data;
use dlms::security::{KeyId, raise_outgoing_counter};
use dlms::xdlms::{
    ActionResult, AttributeDescriptorWithSelection, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult,
    InitiateResponse, SelectiveAccess,
};
use dlms::xdlms::{ExceptionResponse, ExceptionServiceError};
use thiserror::Error;
use tokio::net::TcpStream;

use crate::hdlc_transport::HdlcTransport;
use crate::registry::MeterEndpoint;
use crate::transport::{ByteStream, LinkLayer, TransportError, WrapperTransport};

/// The link layer of an open session.
enum Link {
    Wrapper(WrapperTransport<Box<dyn ByteStream>>),
    Hdlc(Box<HdlcTransport<Box<dyn ByteStream>>>),
}

impl Link {
    async fn send(&mut self, apdu: Vec<u8>) -> Result<(), TransportError> {
        match self {
            Link::Wrapper(t) => t.send(apdu).await,
            Link::Hdlc(t) => t.send(apdu).await,
        }
    }

    async fn recv(&mut self) -> Result<Vec<u8>, TransportError> {
        match self {
            Link::Wrapper(t) => t.recv().await,
            Link::Hdlc(t) => t.recv().await,
        }
    }

    async fn close(&mut self) {
        if let Link::Hdlc(t) = self {
            t.close().await;
        }
    }
}

/// Time limits of a session.
#[derive(Debug, Clone, Copy)]
pub struct SessionTimeouts {
    /// TCP connect.
    pub connect: Duration,
    /// One request/response exchange (for a block transfer: each block).
    pub response: Duration,
}

impl Default for SessionTimeouts {
    /// 5 s to connect, 10 s per response: generous for loopback and LAN, short enough to
    /// free a concurrency slot from a dead meter quickly.
    fn default() -> Self {
        SessionTimeouts { connect: Duration::from_secs(5), response: Duration::from_secs(10) }
    }
}

/// Why a session operation failed.
#[derive(Debug, Error)]
pub enum SessionError {
    /// TCP connect failed.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// The meter's address.
        address: std::net::SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// An operation did not complete in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, &'static str),
    /// The wrapper transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The DLMS association failed (rejected, malformed or unexpected APDU, exception).
    #[error(transparent)]
    Protocol(#[from] ClientError),
    /// The meter refused a GET.
    #[error("meter refused GET of class {class_id} {obis} attribute {attribute}: {result:?}")]
    GetRefused {
        /// Interface class.
        class_id: u16,
        /// Logical name.
        obis: dlms::Obis,
        /// Attribute index.
        attribute: i8,
        /// The meter's Data-Access-Result.
        result: DataAccessResult,
    },
    /// The meter answered with an event the request did not ask for.
    #[error("unexpected response: {0}")]
    UnexpectedEvent(&'static str),
}

/// An open association with one meter.
pub struct DlmsSession {
    transport: Link,
    association: ClientAssociation,
    timeouts: SessionTimeouts,
}

impl DlmsSession {
    /// Connects to the meter over TCP (`endpoint.address`, within `timeouts.connect`) and
    /// opens the association over that connection with [`DlmsSession::open_over`]. When
    /// the meter refuses our invocation counter, `open_over` raised it: connect and
    /// associate once more.
    ///
    /// # Errors
    /// Connect failures, timeouts, a rejected association.
    pub async fn open(endpoint: &MeterEndpoint, timeouts: SessionTimeouts) -> Result<Self, SessionError> {
        match Self::open_over(Self::connect_tcp(endpoint, timeouts).await?, endpoint, timeouts).await {
            Err(e) if counter_refused(&e).is_some() => {
                Self::open_over(Self::connect_tcp(endpoint, timeouts).await?, endpoint, timeouts).await
            }
            result => result,
        }
    }

    async fn connect_tcp(
        endpoint: &MeterEndpoint,
        timeouts: SessionTimeouts,
    ) -> Result<Box<dyn ByteStream>, SessionError> {
        let stream = tokio::time::timeout(timeouts.connect, TcpStream::connect(endpoint.address))
            .await
            .map_err(|_| SessionError::Timeout(timeouts.connect, "TCP connect"))?
            .map_err(|source| SessionError::Connect { address: endpoint.address, source })?;
        stream.set_nodelay(true).ok();
        Ok(Box::new(stream))
    }

    /// Opens the association over an already connected byte stream: a TCP stream, a
    /// serial port to an optical probe or RS-485 bus (`hes::serial::open_serial`, feature
    /// `serial`), or an in-memory duplex in tests. Runs `endpoint.link` on it (wrapper
    /// framing, or HDLC SNRM/UA within `timeouts.response`, IEC 62056-46), then AARQ/AARE
    /// with the endpoint's authentication (IEC 62056-5-3 §7). `endpoint.address` is not
    /// used. When the meter answers the AARQ with invocation-counter-error (IEC 62056-5-3
    /// §9.5 ExceptionResponse; our counter store was lost), our outgoing counter is raised
    /// to the value it names and the error is returned: a new connection then associates.
    ///
    /// # Errors
    /// I/O errors, timeouts, a refused HDLC link, a rejected association.
    pub async fn open_over(
        stream: Box<dyn ByteStream>,
        endpoint: &MeterEndpoint,
        timeouts: SessionTimeouts,
    ) -> Result<Self, SessionError> {
        let config = ClientConfig {
            authentication: endpoint.authentication.clone(),
            security: endpoint.security.clone(),
            ..ClientConfig::default()
        };
        let max_apdu = config.max_receive_pdu_size as usize;
        let transport = match endpoint.link {
            LinkLayer::Wrapper => {
                Link::Wrapper(WrapperTransport::new(stream, endpoint.client_sap, endpoint.server_sap, max_apdu))
            }
            LinkLayer::Hdlc { server_physical } => Link::Hdlc(Box::new(
                tokio::time::timeout(
                    timeouts.response,
                    HdlcTransport::connect(
                        stream,
                        endpoint.client_sap,
                        endpoint.server_sap,
                        server_physical,
                        timeouts.response.min(std::time::Duration::from_secs(3)),
                        max_apdu,
                    ),
                )
                .await
                .map_err(|_| SessionError::Timeout(timeouts.response, "HDLC UA"))??,
            )),
        };
        let mut session = DlmsSession { transport, association: ClientAssociation::new(config), timeouts };
        match session.associate().await {
            Ok(()) => Ok(session),
            Err(e) => {
                // Drop the association first: it hands its unused counter reservation back
                // to the store, which must not undo the raise below.
                drop(session);
                if let Some(expected) = counter_refused(&e) {
                    let Some(security) = &endpoint.security else {
                        return Err(SessionError::UnexpectedEvent("invocation-counter-error without security"));
                    };
                    tracing::warn!(meter = %endpoint.serial, expected, "meter refused our invocation counter; raising it");
                    raise_outgoing_counter(&security.counters, KeyId::GlobalUnicastEncryption, expected)
                        .map_err(|e| SessionError::Protocol(ClientError::Security(e)))?;
                }
                Err(e)
            }
        }
    }

    /// Sends the AARQ and waits for an accepting AARE.
    async fn associate(&mut self) -> Result<(), SessionError> {
        self.association.associate()?;
        match self.run("AARE").await? {
            ClientEvent::Associated(_) => Ok(()),
            _ => Err(SessionError::UnexpectedEvent("expected AARE")),
        }
    }

    /// The negotiated parameters (conformance, server max receive PDU size).
    pub fn negotiated(&self) -> Option<&InitiateResponse> {
        self.association.negotiated()
    }

    /// Reads one attribute (block transfer is handled transparently).
    ///
    /// # Errors
    /// Transport/protocol errors and timeouts; [`SessionError::GetRefused`] when the
    /// meter answers with a Data-Access-Result.
    pub async fn get(
        &mut self,
        attribute: CosemAttributeDescriptor,
        access: Option<SelectiveAccess>,
    ) -> Result<Data, SessionError> {
        self.association.get(attribute, access)?;
        match self.run("get-response").await? {
            ClientEvent::Get(Ok(d)) => Ok(d),
            ClientEvent::Get(Err(result)) => Err(SessionError::GetRefused {
                class_id: attribute.class_id,
                obis: attribute.instance_id,
                attribute: attribute.attribute_id,
                result,
            }),
            _ => Err(SessionError::UnexpectedEvent("expected get-response")),
        }
    }

    /// Reads several attributes in one GET with list when the meter negotiated
    /// multiple references, else one GET each. Results are in request order.
    ///
    /// # Errors
    /// Transport/protocol errors and timeouts (per-attribute refusals are in the results).
    pub async fn get_many(
        &mut self,
        attributes: &[CosemAttributeDescriptor],
    ) -> Result<Vec<Result<Data, DataAccessResult>>, SessionError> {
        let multiple = self
            .negotiated()
            .is_some_and(|n| n.negotiated_conformance.contains(dlms::xdlms::Conformance::MULTIPLE_REFERENCES));
        if multiple && attributes.len() > 1 {
            let items = attributes
                .iter()
                .map(|a| AttributeDescriptorWithSelection { attribute_descriptor: *a, access_selection: None })
                .collect();
            self.association.get_with_list(items)?;
            match self.run("get-response-with-list").await? {
                ClientEvent::GetWithList(v) => Ok(v),
                _ => Err(SessionError::UnexpectedEvent("expected get-response-with-list")),
            }
        } else {
            let mut out = Vec::with_capacity(attributes.len());
            for a in attributes {
                self.association.get(*a, None)?;
                match self.run("get-response").await? {
                    ClientEvent::Get(r) => out.push(r),
                    _ => return Err(SessionError::UnexpectedEvent("expected get-response")),
                }
            }
            Ok(out)
        }
    }

    /// Writes one attribute; returns the meter's Data-Access-Result.
    ///
    /// # Errors
    /// Transport/protocol errors and timeouts.
    pub async fn set(
        &mut self,
        attribute: CosemAttributeDescriptor,
        value: Data,
    ) -> Result<DataAccessResult, SessionError> {
        self.association.set(attribute, value)?;
        match self.run("set-response").await? {
            ClientEvent::Set(r) => Ok(r),
            _ => Err(SessionError::UnexpectedEvent("expected set-response")),
        }
    }

    /// Invokes a method; returns its return parameters or the meter's Action-Result.
    ///
    /// # Errors
    /// Transport/protocol errors and timeouts.
    pub async fn action(
        &mut self,
        method: CosemMethodDescriptor,
        parameters: Option<Data>,
    ) -> Result<Result<Option<Data>, ActionResult>, SessionError> {
        self.association.action(method, parameters)?;
        match self.run("action-response").await? {
            ClientEvent::Action(r) => Ok(r),
            _ => Err(SessionError::UnexpectedEvent("expected action-response")),
        }
    }

    /// Releases the association (RLRQ/RLRE) and closes the connection.
    ///
    /// # Errors
    /// Transport/protocol errors and timeouts.
    pub async fn release(mut self) -> Result<(), SessionError> {
        self.association.release()?;
        let released = match self.run("RLRE").await? {
            ClientEvent::Released => Ok(()),
            _ => Err(SessionError::UnexpectedEvent("expected RLRE")),
        };
        self.transport.close().await;
        released
    }

    /// Sends what the association queued and feeds responses until an exchange
    /// completes. Data-notifications arriving meanwhile are ignored here (the push
    /// listener handles pushes).
    async fn run(&mut self, waiting_for: &'static str) -> Result<ClientEvent, SessionError> {
        loop {
            while let Some(apdu) = self.association.poll_transmit() {
                self.transport.send(apdu).await?;
            }
            let apdu = tokio::time::timeout(self.timeouts.response, self.transport.recv())
                .await
                .map_err(|_| SessionError::Timeout(self.timeouts.response, waiting_for))??;
            match self.association.handle_apdu(&apdu)? {
                None | Some(ClientEvent::DataNotification(_)) => continue,
                Some(ev) => return Ok(ev),
            }
        }
    }
}

/// The lowest invocation counter the meter accepts, when `error` is its
/// invocation-counter-error exception (IEC 62056-5-3 §9.5 ExceptionResponse).
fn counter_refused(error: &SessionError) -> Option<u32> {
    match error {
        SessionError::Protocol(ClientError::Exception(ExceptionResponse {
            service_error: ExceptionServiceError::InvocationCounterError(expected),
            ..
        })) => Some(*expected),
        _ => None,
    }
}
