//! The meter's DLMS/COSEM server over TCP with the IEC 62056-47 wrapper.
//!
//! One task per TCP connection. Each wrapper frame is routed by wPorts: the destination
//! must be the meter's logical device (server SAP, 1 = management logical device) and
//! the source must be a client SAP the meter is configured for; frames for other wPorts
//! are discarded silently, as a meter does for unknown SAPs. Each client SAP on a
//! connection has its own [`ServerAssociation`]. A connection idle for longer than the
//! inactivity timeout is closed. A meter without supply
//! ([`SimulatedMeter::lose_supply`]) is dark: new connections are closed at once and open
//! ones are closed at their next frame, unanswered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dlms::Codec;
use dlms::association::{Authentication, CosemServer, RequestContext, ServerAssociation, ServerConfig};
use dlms::data::Data;
use dlms::hdlc::{HdlcAddress, HdlcServer, HdlcServerConfig, ServerEvent};
use dlms::security::SecuritySettings;
use dlms::wrapper::{MAX_WRAPPER_APDU_LEN, WrapperFrame};
use dlms::xdlms::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, SelectiveAccess};
use jiff::Timestamp;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::SimulatedMeter;
use crate::objects::association_ln::{AssociationContext, AssociationStatus};
pub use crate::objects::security_setup::SharedSecurity;

/// One client SAP the meter accepts (an association of the meter's Association LN
/// objects, IEC 62056-6-2 §4.4.3).
#[derive(Debug, Clone)]
pub struct ClientPolicy {
    /// The client SAP (wrapper source wPort).
    pub client_sap: u16,
    /// The authentication the client must use.
    pub authentication: Authentication,
    /// Security suite 0 settings for this client (keys, system titles, policy and the
    /// invocation-counter store, shared by every connection of this client); required
    /// with HLS-GMAC, `None` for an unciphered association. Each new association is built
    /// from a snapshot of them; the meter's Security setup object (key_transfer,
    /// security_activate) changes them for later associations.
    pub security: Option<SharedSecurity>,
}

/// Which clients may associate and how the meter's server behaves.
#[derive(Debug, Clone)]
pub struct MeterServerConfig {
    /// Client SAPs the meter accepts, each with its authentication and security.
    pub clients: Vec<ClientPolicy>,
    /// The logical device's SAP (wrapper destination wPort), 1 = management logical device.
    pub server_sap: u16,
    /// The meter's max receive PDU size, bytes.
    pub max_receive_pdu_size: u16,
    /// Close a connection after this long without a frame.
    pub inactivity_timeout: Duration,
    /// The link layer on the TCP stream.
    pub link: MeterLink,
}

/// The link layer a meter speaks on its TCP port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MeterLink {
    /// IEC 62056-47 wrapper (the usual DLMS/COSEM over TCP, port 4059).
    #[default]
    Wrapper,
    /// HDLC (IEC 62056-46) frames directly on the TCP stream, as with a meter behind a
    /// serial-to-IP converter; server address = logical device (upper) + this physical
    /// address (lower), e.g. 1/17.
    Hdlc {
        /// The lower HDLC address of the meter (0x10..=0x3FFD; gridedge uses 17).
        physical_address: u16,
    },
}

impl MeterServerConfig {
    /// The usual pair: public client 16 without authentication (read-only) and the
    /// management client 1 with low level security and `password`.
    pub fn with_password(password: &[u8]) -> Self {
        MeterServerConfig {
            clients: vec![
                ClientPolicy { client_sap: 16, authentication: Authentication::None, security: None },
                ClientPolicy {
                    client_sap: 1,
                    authentication: Authentication::Low { password: password.to_vec() },
                    security: None,
                },
            ],
            server_sap: 1,
            max_receive_pdu_size: 1024,
            inactivity_timeout: Duration::from_secs(120),
            link: MeterLink::Wrapper,
        }
    }
}

impl MeterServerConfig {
    /// Public client 16 without authentication and the management client 1 with HLS
    /// mechanism 5 (GMAC) and suite 0 ciphering per `security`.
    pub fn with_hls_gmac(security: SecuritySettings) -> Self {
        MeterServerConfig {
            clients: vec![
                ClientPolicy { client_sap: 16, authentication: Authentication::None, security: None },
                ClientPolicy {
                    client_sap: 1,
                    authentication: Authentication::HighGmac,
                    security: Some(SharedSecurity::new(security)),
                },
            ],
            ..Self::default()
        }
    }

    /// The shared suite 0 settings of client `client_sap` (hand them to
    /// [`crate::objects::security_setup::SecuritySetup::new`]); `None` for an unknown or
    /// unciphered client.
    pub fn shared_security(&self, client_sap: u16) -> Option<SharedSecurity> {
        self.clients.iter().find(|c| c.client_sap == client_sap).and_then(|c| c.security.clone())
    }

    /// A new server association for client `client_sap`, with a snapshot of its current
    /// security settings; `None` for a client SAP the meter is not configured for.
    pub fn new_association(&self, client_sap: u16) -> Option<ServerAssociation> {
        let policy = self.clients.iter().find(|c| c.client_sap == client_sap)?;
        let server_config = ServerConfig {
            authentication: policy.authentication.clone(),
            conformance: ServerConfig::METER_CONFORMANCE,
            max_receive_pdu_size: self.max_receive_pdu_size,
        };
        Some(match &policy.security {
            Some(security) => ServerAssociation::with_security(server_config, client_sap, security.snapshot()),
            None => ServerAssociation::new(server_config, client_sap),
        })
    }
}

impl Default for MeterServerConfig {
    /// Public client 16 (no authentication) and management client 1 with the LLS
    /// password `00000000`.
    fn default() -> Self {
        Self::with_password(b"00000000")
    }
}

/// Adapts a shared [`SimulatedMeter`] to the association's [`CosemServer`] at true
/// time = the system clock.
struct MeterAdapter<'a> {
    meter: &'a Mutex<SimulatedMeter>,
    server_sap: u16,
    max_receive_pdu_size: u16,
}

impl MeterAdapter<'_> {
    fn with_meter<T>(&self, ctx: &RequestContext, f: impl FnOnce(&mut SimulatedMeter, Timestamp) -> T) -> T {
        // A poisoned lock only means another connection panicked mid-request; the
        // meter's state is plain data and still consistent enough to serve.
        let mut m = self.meter.lock().unwrap_or_else(|p| p.into_inner());
        let context = AssociationContext {
            client_sap: ctx.client_sap as i8,
            server_sap: self.server_sap,
            mechanism_id: ctx.mechanism.id().unwrap_or(0),
            max_receive_pdu_size: self.max_receive_pdu_size,
            status: AssociationStatus::Associated,
            ..m.association_context().clone()
        };
        m.set_association_context(context);
        f(&mut m, Timestamp::now())
    }
}

impl CosemServer for MeterAdapter<'_> {
    fn get(
        &mut self,
        ctx: &RequestContext,
        attribute: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        self.with_meter(ctx, |m, now| m.get(now, attribute, access))
    }

    fn set(
        &mut self,
        ctx: &RequestContext,
        attribute: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
        value: &Data,
    ) -> DataAccessResult {
        // The public client reads only (IEC 62056-6-2 §4.4.3 access rights per
        // association): writes need the management client.
        if ctx.client_sap == dlms::wrapper::WPORT_PUBLIC_CLIENT {
            return DataAccessResult::ReadWriteDenied;
        }
        self.with_meter(ctx, |m, now| m.set(now, attribute, access, value))
    }

    fn action(
        &mut self,
        ctx: &RequestContext,
        method: &CosemMethodDescriptor,
        parameters: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        if ctx.client_sap == dlms::wrapper::WPORT_PUBLIC_CLIENT {
            return Err(ActionResult::ReadWriteDenied);
        }
        self.with_meter(ctx, |m, now| m.action(now, method, parameters))
    }
}

/// Accepts connections forever, serving `meter` on each.
pub async fn serve(listener: TcpListener, meter: Arc<Mutex<SimulatedMeter>>, config: Arc<MeterServerConfig>) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                if !energised(&meter) {
                    drop(stream);
                    continue;
                }
                let meter = meter.clone();
                let config = config.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_connection(stream, &meter, &config).await {
                        tracing::debug!(error = %e, "meter connection ended");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Whether the meter has supply (a dark meter's modem does not answer).
fn energised(meter: &Mutex<SimulatedMeter>) -> bool {
    meter.lock().unwrap_or_else(|p| p.into_inner()).is_energised()
}

/// The associations of one connection, one per client SAP, created on the first APDU
/// from a SAP the meter is configured for.
struct Associations<'a> {
    config: &'a MeterServerConfig,
    meter: &'a Mutex<SimulatedMeter>,
    by_sap: Vec<(u16, ServerAssociation)>,
}

impl<'a> Associations<'a> {
    fn new(config: &'a MeterServerConfig, meter: &'a Mutex<SimulatedMeter>) -> Self {
        Associations { config, meter, by_sap: Vec::new() }
    }

    /// Serves one APDU from `client_sap`; returns the APDUs to send back. APDUs from
    /// SAPs the meter does not know are discarded silently, as meters do.
    fn handle(&mut self, client_sap: u16, apdu: &[u8]) -> Vec<Vec<u8>> {
        let index = match self.by_sap.iter().position(|(sap, _)| *sap == client_sap) {
            Some(i) => i,
            None => {
                let Some(association) = self.config.new_association(client_sap) else {
                    return Vec::new();
                };
                self.by_sap.push((client_sap, association));
                self.by_sap.len() - 1
            }
        };
        let association = &mut self.by_sap[index].1;
        let mut adapter = MeterAdapter {
            meter: self.meter,
            server_sap: self.config.server_sap,
            max_receive_pdu_size: self.config.max_receive_pdu_size,
        };
        association.handle_apdu(apdu, &mut adapter);
        // Refused ciphering, tags and replayed invocation counters are security events
        // (IEC 62056-5-3 §9.2.6): log them.
        while let Some(event) = association.poll_security_event() {
            tracing::warn!(client_sap, %event, "security event");
        }
        std::iter::from_fn(|| association.poll_transmit()).collect()
    }

    /// Forgets every association (the HDLC link was disconnected or reset).
    fn clear(&mut self) {
        self.by_sap.clear();
    }
}

/// Serves one connection until the peer closes it, the stream turns invalid or it
/// stays idle past the inactivity timeout, with the link layer of `config.link`.
///
/// # Errors
/// I/O errors and an invalid wrapper stream (the connection is then closed).
pub async fn serve_connection(
    stream: TcpStream,
    meter: &Mutex<SimulatedMeter>,
    config: &MeterServerConfig,
) -> std::io::Result<()> {
    stream.set_nodelay(true).ok();
    serve_stream(stream, meter, config).await
}

/// Serves one connection on any byte stream (TCP, a serial port, an in-memory duplex in
/// tests) exactly as [`serve_connection`] does: the link layer of `config.link`, until
/// the peer closes the stream, it turns invalid or it stays idle past the inactivity
/// timeout.
///
/// # Errors
/// I/O errors and an invalid wrapper stream (the stream is then dropped).
pub async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    meter: &Mutex<SimulatedMeter>,
    config: &MeterServerConfig,
) -> std::io::Result<()> {
    match config.link {
        MeterLink::Wrapper => serve_wrapper(stream, meter, config).await,
        MeterLink::Hdlc { physical_address } => serve_hdlc(stream, meter, config, physical_address).await,
    }
}

async fn serve_wrapper<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    meter: &Mutex<SimulatedMeter>,
    config: &MeterServerConfig,
) -> std::io::Result<()> {
    let mut associations = Associations::new(config, meter);
    let mut rx: Vec<u8> = Vec::with_capacity(4096);
    let mut buf = vec![0u8; 8192];
    let max_apdu = (config.max_receive_pdu_size as usize).clamp(64, MAX_WRAPPER_APDU_LEN);
    loop {
        // Serve every complete frame in the buffer.
        loop {
            let parsed = WrapperFrame::parse_with_limit(&rx, max_apdu)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            let Some((frame, used)) = parsed else { break };
            rx.drain(..used);
            if frame.destination_wport != config.server_sap {
                continue;
            }
            if !energised(meter) {
                return Ok(());
            }
            for apdu in associations.handle(frame.source_wport, &frame.apdu) {
                stream.write_all(&frame.reply(apdu).to_bytes()).await?;
            }
        }
        let n = match tokio::time::timeout(config.inactivity_timeout, stream.read(&mut buf)).await {
            Ok(r) => r?,
            Err(_) => return Ok(()), // inactivity timeout
        };
        if n == 0 {
            return Ok(());
        }
        rx.extend_from_slice(&buf[..n]);
    }
}

/// HDLC (IEC 62056-46) on the TCP stream: the meter's server address is the logical
/// device (`config.server_sap`, upper) and `physical_address` (lower); the client SAP
/// is the HDLC client address.
async fn serve_hdlc<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    meter: &Mutex<SimulatedMeter>,
    config: &MeterServerConfig,
    physical_address: u16,
) -> std::io::Result<()> {
    let invalid = |e: dlms::DecodeError| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    let address = HdlcAddress::server(config.server_sap, physical_address).map_err(invalid)?;
    let mut link_config = HdlcServerConfig::new(address);
    link_config.inactivity_timeout_ms = Some(config.inactivity_timeout.as_millis() as u64);
    let mut link = HdlcServer::new(link_config);
    let started = std::time::Instant::now();
    let now = || started.elapsed().as_millis() as u64;
    let mut associations = Associations::new(config, meter);
    let mut buf = vec![0u8; 8192];
    loop {
        while let Some(event) = link.poll_event() {
            match event {
                ServerEvent::ApduReceived(apdu) => {
                    if !energised(meter) {
                        return Ok(());
                    }
                    let client_sap = link.client_address().map(|a| a.upper()).unwrap_or(0);
                    for reply in associations.handle(client_sap, &apdu) {
                        if link.send_apdu(reply).is_err() {
                            break;
                        }
                    }
                }
                ServerEvent::Disconnected(reason) => {
                    tracing::debug!(?reason, "HDLC link disconnected");
                    associations.clear();
                }
                ServerEvent::Connected(_) | ServerEvent::Discarded(_) => {}
            }
        }
        while let Some(frame) = link.poll_transmit() {
            stream.write_all(&frame).await?;
        }
        let wait = match link.poll_timeout() {
            Some(at) => std::time::Duration::from_millis(at.saturating_sub(now())),
            None => config.inactivity_timeout,
        };
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(n)) => link.handle_bytes(now(), &buf[..n]),
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                if link.poll_timeout().is_none() {
                    return Ok(()); // idle and disconnected
                }
                link.handle_timeout(now());
            }
        }
    }
}
