//! The push listener: meters connect to the HES and push data-notifications and
//! event-notifications (IEC 62056-5-3:2017 §9.3.10, §9.3.11; sent by a meter's Push setup,
//! IEC 62056-6-2 §4.4.8) in IEC 62056-47 wrapper frames over TCP. Each push is
//! deciphered when the meter ciphers it (general-glo-ciphering, which names the meter's
//! system title; the HES keeps one [`PushSecurity`] per meter), reassembled when it
//! arrives in General-Block-Transfer blocks, decoded, and handed on as a typed
//! [`PushMessage`] to a tokio mpsc channel.
//!
//! The decoding is the pure [`PushDecoder`]; [`PushListener`] is the thin socket loop
//! around it (one task per connection). A push that cannot be decoded or deciphered is
//! logged and dropped; the connection stays open. [`UdpPushListener`] is the same over
//! UDP (IEC 62056-47 UDP: one wrapper frame per datagram, port 4059), with one decoder per
//! sender address and wPort.
//!
//! Meter identification: a ciphered push names its sender's system title, mapped to the
//! meter's serial by the security table. An unciphered data-notification identifies the
//! meter when its body follows the usual Push setup layout: element 1 the Push setup's
//! logical name, element 2 the COSEM logical device name (IEC 62056-6-2 §4.1.8.2: a
//! 3-character manufacturer id followed by the serial number). Otherwise only the TCP
//! peer is known.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dlms::Codec;
use dlms::Obis;
use dlms::codec::DecodeError;
use dlms::data::Data;
use dlms::datetime::CosemDateTime;
use dlms::security::ciphered_apdu::is_ciphered_tag;
use dlms::security::{CipheredApdu, SecurityContext, SecurityError, SecuritySettings, SystemTitle};
use dlms::wrapper::{MAX_WRAPPER_APDU_LEN, WrapperFrame};
use dlms::xdlms::{CosemAttributeDescriptor, GeneralBlockTransfer, XdlmsApdu};
use jiff::Timestamp;
use model::MeterId;
use thiserror::Error;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Largest push reassembled from General-Block-Transfer blocks (1 MiB).
pub const MAX_PUSH_LEN: usize = 1024 * 1024;

/// Length of the manufacturer id at the start of a COSEM logical device name.
const MANUFACTURER_ID_LEN: usize = 3;

/// How the HES opens the ciphered pushes of one meter.
#[derive(Debug, Clone)]
pub struct PushSecurity {
    /// The meter's serial number (its identity in the MDMS).
    pub serial: MeterId,
    /// The HES side of the meter's security: the meter's keys, the HES system title, the
    /// store of the meter's incoming invocation counters (replayed pushes are refused).
    pub settings: SecuritySettings,
}

/// What the listener accepts.
#[derive(Debug, Clone)]
pub struct PushListenerConfig {
    /// Security per meter, by the meter's system title.
    pub meters: HashMap<SystemTitle, PushSecurity>,
    /// Refuse unciphered pushes (when every meter ciphers).
    pub require_ciphering: bool,
    /// Largest wrapper APDU accepted, bytes.
    pub max_apdu_len: usize,
    /// A connection without a frame for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for PushListenerConfig {
    /// No ciphered meters, unciphered pushes accepted, 64 KiB APDUs, 60 s idle timeout.
    fn default() -> Self {
        PushListenerConfig {
            meters: HashMap::new(),
            require_ciphering: false,
            max_apdu_len: MAX_WRAPPER_APDU_LEN,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl PushListenerConfig {
    /// Adds (or replaces) the security of the meter with system title `title`.
    pub fn with_meter(mut self, title: SystemTitle, security: PushSecurity) -> Self {
        self.meters.insert(title, security);
        self
    }
}

/// Where a push came from on the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushSource {
    /// The meter's TCP address.
    pub peer: SocketAddr,
    /// The wrapper source wPort (the meter's logical device, 1 = management).
    pub source_wport: u16,
}

/// Who sent a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeterIdentity {
    /// A ciphered push: the system title in the ciphered APDU, and the serial the
    /// security table gives it.
    SystemTitle {
        /// The meter's system title.
        system_title: SystemTitle,
        /// Its serial number.
        serial: MeterId,
    },
    /// An unciphered push whose body carries the COSEM logical device name.
    LogicalDeviceName {
        /// The logical device name, e.g. `GRDGE00000001`.
        name: String,
        /// The serial: the name without its 3-character manufacturer id.
        serial: MeterId,
    },
    /// Nothing in the push names the meter (only [`PushSource::peer`] does).
    Unidentified,
}

/// What a push carries.
#[derive(Debug, Clone, PartialEq)]
pub enum PushContent {
    /// A data-notification: the values of the Push setup's push_object_list.
    Data {
        /// The long-invoke-id (the meter's push number).
        long_invoke_id: u32,
        /// Element 1 when it is a 6-byte octet-string: the Push setup's logical name.
        push_setup: Option<Obis>,
        /// The body: the elements of its structure (or array), or the single value.
        values: Vec<Data>,
    },
    /// An event-notification-request: one attribute's value.
    Event {
        /// The attribute reported.
        attribute: CosemAttributeDescriptor,
        /// Its value.
        value: Data,
    },
}

/// One decoded push.
#[derive(Debug, Clone, PartialEq)]
pub struct PushMessage {
    /// Where it came from.
    pub source: PushSource,
    /// Who sent it.
    pub meter: MeterIdentity,
    /// Whether it was ciphered (and its authentication tag verified).
    pub ciphered: bool,
    /// The date-time the meter put in the push (data-notification date-time or
    /// event-notification time), as sent: the meter's local time with its deviation.
    pub date_time: Option<CosemDateTime>,
    /// The same instant in UTC, when the date-time is a complete instant.
    pub time: Option<Timestamp>,
    /// The pushed values.
    pub content: PushContent,
}

impl PushMessage {
    /// The meter's serial number, when the push identifies the meter.
    pub fn serial(&self) -> Option<&MeterId> {
        match &self.meter {
            MeterIdentity::SystemTitle { serial, .. } | MeterIdentity::LogicalDeviceName { serial, .. } => Some(serial),
            MeterIdentity::Unidentified => None,
        }
    }
}

/// Why a received APDU is not a usable push.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PushDecodeError {
    /// Malformed APDU.
    #[error("malformed push APDU: {0}")]
    Decode(#[from] DecodeError),
    /// Deciphering or verifying failed (wrong key, tampered, replayed counter, policy).
    #[error("push refused: {0}")]
    Security(#[from] SecurityError),
    /// A ciphered push from a system title the HES has no keys for.
    #[error("ciphered push from unknown system title {0:?}")]
    UnknownSystemTitle(SystemTitle),
    /// A ciphered push that does not name its sender (service-specific ciphering).
    #[error("ciphered push without a system title")]
    NoSystemTitle,
    /// An unciphered push while ciphering is required.
    #[error("unciphered push refused: ciphering is required")]
    Unciphered,
    /// The APDU is not a data-notification or event-notification-request.
    #[error("{0} is not a push")]
    NotAPush(&'static str),
    /// A General-Block-Transfer block out of sequence.
    #[error("general-block-transfer block {got} received, {expected} expected")]
    BlockOutOfOrder {
        /// The block due.
        expected: u16,
        /// The block received.
        got: u16,
    },
    /// The reassembled push exceeds [`MAX_PUSH_LEN`].
    #[error("push exceeds {MAX_PUSH_LEN} bytes")]
    TooLarge,
}

/// Decodes the pushes of one connection (pure: bytes in, [`PushMessage`] out); keeps
/// the General-Block-Transfer blocks of a push that arrives in pieces.
#[derive(Debug)]
pub struct PushDecoder {
    config: Arc<PushListenerConfig>,
    blocks: Vec<u8>,
    next_block: u16,
}

impl PushDecoder {
    /// A decoder with the listener's configuration.
    pub fn new(config: Arc<PushListenerConfig>) -> Self {
        PushDecoder { config, blocks: Vec::new(), next_block: 1 }
    }

    /// Decodes one APDU received from `source`: `Ok(None)` for a General-Block-Transfer
    /// block that is not the last of its push.
    ///
    /// # Errors
    /// [`PushDecodeError`]; a block out of sequence also drops the blocks collected.
    pub fn decode(&mut self, apdu: &[u8], source: PushSource) -> Result<Option<PushMessage>, PushDecodeError> {
        if apdu.first() == Some(&dlms::xdlms::apdu::tag::GENERAL_BLOCK_TRANSFER) {
            let block = GeneralBlockTransfer::from_bytes(apdu)?;
            return match self.on_block(block)? {
                Some(whole) => self.decode_whole(&whole, source).map(Some),
                None => Ok(None),
            };
        }
        self.decode_whole(apdu, source).map(Some)
    }

    fn on_block(&mut self, block: GeneralBlockTransfer) -> Result<Option<Vec<u8>>, PushDecodeError> {
        if block.block_number == 1 {
            self.blocks.clear();
            self.next_block = 1;
        }
        if block.block_number != self.next_block {
            let expected = self.next_block;
            self.blocks.clear();
            self.next_block = 1;
            return Err(PushDecodeError::BlockOutOfOrder { expected, got: block.block_number });
        }
        if self.blocks.len() + block.block_data.len() > MAX_PUSH_LEN {
            self.blocks.clear();
            self.next_block = 1;
            return Err(PushDecodeError::TooLarge);
        }
        self.blocks.extend_from_slice(&block.block_data);
        if block.block_control.last_block {
            self.next_block = 1;
            return Ok(Some(std::mem::take(&mut self.blocks)));
        }
        self.next_block = self.next_block.saturating_add(1);
        Ok(None)
    }

    fn decode_whole(&self, apdu: &[u8], source: PushSource) -> Result<PushMessage, PushDecodeError> {
        let (plain, meter) = match apdu.first() {
            Some(&t) if is_ciphered_tag(t) => {
                let (plain, title, serial) = self.decipher(apdu)?;
                (plain, Some(MeterIdentity::SystemTitle { system_title: title, serial }))
            }
            _ if self.config.require_ciphering => return Err(PushDecodeError::Unciphered),
            _ => (apdu.to_vec(), None),
        };
        let ciphered = meter.is_some();
        let (date_time, content) = match XdlmsApdu::from_bytes(&plain)? {
            XdlmsApdu::DataNotification(n) => {
                let values = match n.notification_body {
                    Data::Structure(v) | Data::Array(v) => v,
                    other => vec![other],
                };
                let push_setup = match values.first() {
                    Some(Data::OctetString(ln)) => Obis::from_slice(ln),
                    _ => None,
                };
                let content =
                    PushContent::Data { long_invoke_id: n.long_invoke_id_and_priority.invoke_id(), push_setup, values };
                (n.date_time, content)
            }
            XdlmsApdu::EventNotificationRequest(e) => {
                (e.time, PushContent::Event { attribute: e.attribute_descriptor, value: e.attribute_value })
            }
            other => return Err(PushDecodeError::NotAPush(dlms::apdu::Apdu::Xdlms(other).kind())),
        };
        let meter = meter.unwrap_or_else(|| identity_from_body(&content));
        let time = date_time.as_ref().and_then(|d| d.to_utc().ok());
        Ok(PushMessage { source, meter, ciphered, date_time, time, content })
    }

    /// Opens a general-glo/-ded-ciphered push with the keys of the system title it names.
    fn decipher(&self, apdu: &[u8]) -> Result<(Vec<u8>, SystemTitle, MeterId), PushDecodeError> {
        let CipheredApdu::General(general) = CipheredApdu::from_bytes(apdu)? else {
            return Err(PushDecodeError::NoSystemTitle);
        };
        if general.system_title.is_empty() {
            return Err(PushDecodeError::NoSystemTitle);
        }
        let title = SystemTitle::from_slice(&general.system_title)?;
        let security = self.config.meters.get(&title).ok_or(PushDecodeError::UnknownSystemTitle(title))?;
        let mut ctx = SecurityContext::new(&security.settings)?;
        ctx.set_peer_system_title(title.as_bytes())?;
        let opened = ctx.unprotect(apdu)?;
        Ok((opened.apdu, title, security.serial.clone()))
    }
}

/// The identity an unciphered data-notification carries (see the module docs).
fn identity_from_body(content: &PushContent) -> MeterIdentity {
    let PushContent::Data { push_setup: Some(_), values, .. } = content else { return MeterIdentity::Unidentified };
    match values.get(1) {
        Some(Data::OctetString(name))
            if name.len() > MANUFACTURER_ID_LEN && name.len() <= 16 && name.iter().all(u8::is_ascii_graphic) =>
        {
            let name = String::from_utf8_lossy(name).into_owned();
            let serial = MeterId(name[MANUFACTURER_ID_LEN..].to_string());
            MeterIdentity::LogicalDeviceName { name, serial }
        }
        _ => MeterIdentity::Unidentified,
    }
}

/// A TCP listener for meter pushes.
#[derive(Debug)]
pub struct PushListener {
    listener: TcpListener,
    config: Arc<PushListenerConfig>,
}

impl PushListener {
    /// Binds the listener (e.g. `0.0.0.0:4059`, or port 0 for any free port).
    ///
    /// # Errors
    /// The socket error.
    pub async fn bind(address: impl ToSocketAddrs, config: PushListenerConfig) -> std::io::Result<Self> {
        Ok(PushListener { listener: TcpListener::bind(address).await?, config: Arc::new(config) })
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    /// The socket error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts meter connections and sends every decoded push to `tx`, until the
    /// receiver is dropped (then every connection task is stopped too). Accept errors
    /// are logged and the loop goes on.
    pub async fn run(self, tx: mpsc::Sender<PushMessage>) {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        connections.spawn(serve_connection(stream, peer, self.config.clone(), tx.clone()));
                    }
                    Err(e) => tracing::warn!(error = %e, "push listener: accept failed"),
                },
                () = tx.closed() => return,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    }
}

/// Most senders a [`UdpPushListener`] keeps a decoder for (their General-Block-Transfer
/// reassembly); beyond it the decoders are dropped and started afresh.
pub const MAX_UDP_SENDERS: usize = 100_000;

/// A UDP listener for meter pushes: each datagram holds one IEC 62056-47 wrapper frame
/// (IEC 62056-47 §7 UDP; the DLMS/COSEM port is 4059), decoded by the same
/// [`PushDecoder`] as over TCP.
#[derive(Debug)]
pub struct UdpPushListener {
    socket: UdpSocket,
    config: Arc<PushListenerConfig>,
}

impl UdpPushListener {
    /// Binds the listener (e.g. `0.0.0.0:4059`, or port 0 for any free port).
    ///
    /// # Errors
    /// The socket error.
    pub async fn bind(address: impl ToSocketAddrs, config: PushListenerConfig) -> std::io::Result<Self> {
        Ok(UdpPushListener { socket: UdpSocket::bind(address).await?, config: Arc::new(config) })
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    /// The socket error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Receives datagrams and sends every decoded push to `tx`, until the receiver is
    /// dropped. A datagram that is not exactly one wrapper frame, or whose push does not
    /// decode, is logged and dropped; receive errors are logged and the loop goes on.
    pub async fn run(self, tx: mpsc::Sender<PushMessage>) {
        let mut decoders: HashMap<(SocketAddr, u16), PushDecoder> = HashMap::new();
        let mut buf = vec![0u8; 65_536];
        loop {
            let (n, peer) = tokio::select! {
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "push listener (UDP): receive failed");
                        continue;
                    }
                },
                () = tx.closed() => return,
            };
            let datagram = buf.get(..n).unwrap_or_default();
            let frame = match WrapperFrame::parse_with_limit(datagram, self.config.max_apdu_len) {
                Ok(Some((frame, used))) if used == n => frame,
                Ok(_) => {
                    tracing::warn!(%peer, bytes = n, "push listener (UDP): datagram is not one wrapper frame");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "push listener (UDP): invalid wrapper frame");
                    continue;
                }
            };
            if decoders.len() >= MAX_UDP_SENDERS && !decoders.contains_key(&(peer, frame.source_wport)) {
                decoders.clear();
            }
            let decoder =
                decoders.entry((peer, frame.source_wport)).or_insert_with(|| PushDecoder::new(self.config.clone()));
            let source = PushSource { peer, source_wport: frame.source_wport };
            match decoder.decode(&frame.apdu, source) {
                Ok(Some(message)) => {
                    if tx.send(message).await.is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(%peer, error = %e, "push listener (UDP): push dropped"),
            }
        }
    }
}

/// Reads the wrapper frames of one meter connection until it closes, goes idle, breaks
/// the framing, or the channel closes.
async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    config: Arc<PushListenerConfig>,
    tx: mpsc::Sender<PushMessage>,
) {
    let mut decoder = PushDecoder::new(config.clone());
    let mut rx: Vec<u8> = Vec::with_capacity(4096);
    let mut buf = vec![0u8; 8192];
    loop {
        loop {
            let (frame, used) = match WrapperFrame::parse_with_limit(&rx, config.max_apdu_len) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "push listener: invalid wrapper stream, closing");
                    return;
                }
            };
            rx.drain(..used);
            let source = PushSource { peer, source_wport: frame.source_wport };
            match decoder.decode(&frame.apdu, source) {
                Ok(Some(message)) => {
                    if tx.send(message).await.is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(%peer, error = %e, "push listener: push dropped"),
            }
        }
        let n = match tokio::time::timeout(config.idle_timeout, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => return,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "push listener: read failed");
                return;
            }
        };
        rx.extend_from_slice(&buf[..n]);
    }
}
