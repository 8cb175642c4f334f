//! The meter's push sender: the I/O around [`crate::push::notification`]. A push is
//! prepared under the meter lock (window check, APDU built and, with security settings,
//! general-glo-ciphered so that it carries the meter's system title), then delivered
//! without the lock: over TCP one connection to the Push setup's destination, one IEC
//! 62056-47 wrapper frame, then the connection is closed; over UDP (transport service
//! UDP) one datagram holding the wrapper frame (IEC 62056-47 UDP, unacknowledged: an
//! attempt fails only when the datagram cannot be sent). A failed attempt is repeated
//! `number_of_retries` times, `repetition_delay` apart; the first attempt waits the
//! randomised start delay (0..=`randomisation_start_interval` seconds, drawn from the
//! meter seed and the push number, so a fleet does not push all at once).

use std::sync::Mutex;
use std::time::Duration;

use dlms::Codec;
use dlms::security::{CipheringForm, KeyScope, SecurityContext, SecurityError, SecuritySettings};
use dlms::wrapper::WrapperFrame;
use dlms::xdlms::{CosemAttributeDescriptor, DataAccessResult, XdlmsApdu};
use jiff::Timestamp;
use thiserror::Error;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

use crate::SimulatedMeter;
use crate::push::notification;
use crate::push::setup::{MESSAGE_AXDR_APDU, PushSetup, TRANSPORT_TCP, TRANSPORT_UDP};

/// The largest wrapper frame one UDP datagram carries (IPv4: 65 535 − 8 − 20 bytes).
pub const MAX_UDP_FRAME_LEN: usize = 65_507;

/// wPort the meter sends pushes from: the management logical device (SAP 1).
pub const PUSH_SOURCE_WPORT: u16 = 1;
/// wPort pushes are addressed to: gridedge's push listener accepts any; 102 (0x66) is
/// the client SAP gridedge reserves for pushes (class 40 version 0 has no push client
/// SAP attribute).
pub const PUSH_DESTINATION_WPORT: u16 = 102;

/// How this meter delivers pushes, beyond what the Push setup's attributes say.
#[derive(Debug, Clone)]
pub struct PushDelivery {
    /// Fill the data-notification's date-time field with the meter clock's time.
    pub with_date_time: bool,
    /// Wrapper source wPort ([`PUSH_SOURCE_WPORT`]).
    pub source_wport: u16,
    /// Wrapper destination wPort ([`PUSH_DESTINATION_WPORT`]).
    pub destination_wport: u16,
    /// Security suite 0 settings of the meter (its system title, keys, counters): `Some`
    /// sends every push general-glo-ciphered per the settings' policy.
    pub security: Option<SecuritySettings>,
    /// Time allowed for each TCP connect and send.
    pub connect_timeout: Duration,
}

impl Default for PushDelivery {
    /// With date-time, wPorts 1 → 102, unciphered, 10 s per attempt.
    fn default() -> Self {
        PushDelivery {
            with_date_time: true,
            source_wport: PUSH_SOURCE_WPORT,
            destination_wport: PUSH_DESTINATION_WPORT,
            security: None,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a push was not delivered.
#[derive(Debug, Error)]
pub enum PushError {
    /// The meter has no Push setup object.
    #[error("the meter has no Push setup object")]
    NoPushSetup,
    /// `transport_service` is neither TCP (0) nor UDP (1).
    #[error("transport service {0} is not supported (TCP and UDP only)")]
    UnsupportedTransport(u8),
    /// `message` is not an A-XDR encoded xDLMS APDU (0).
    #[error("message type {0} is not supported (A-XDR APDUs only)")]
    UnsupportedMessage(u8),
    /// The destination is not `host:port` text.
    #[error("destination {0:?} is not host:port")]
    InvalidDestination(String),
    /// The meter clock is outside every communication window.
    #[error("the meter clock is outside the communication window")]
    OutsideCommunicationWindow,
    /// The attribute of an event-notification cannot be read.
    #[error("the event attribute cannot be read: {0:?}")]
    Unreadable(DataAccessResult),
    /// Ciphering failed (keys, counter store).
    #[error("ciphering the push failed: {0}")]
    Security(#[from] SecurityError),
    /// The APDU does not fit one wrapper frame.
    #[error("push APDU of {0} bytes does not fit a wrapper frame")]
    TooLong(usize),
    /// Every attempt failed.
    #[error("sending to {destination} failed after {attempts} attempt(s): {source}")]
    Send {
        /// Where to.
        destination: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        source: std::io::Error,
    },
}

/// How a prepared push travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushTransport {
    /// One TCP connection per push (`transport_service` 0).
    Tcp,
    /// One UDP datagram per attempt (`transport_service` 1).
    Udp,
}

/// A push ready to deliver (built under the meter lock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedPush {
    /// TCP or UDP.
    pub transport: PushTransport,
    /// `host:port`.
    pub destination: String,
    /// The wrapper frame, encoded.
    pub frame: Vec<u8>,
    /// The APDU it carries (ciphered when the delivery has security settings).
    pub apdu: Vec<u8>,
    /// Delay before the first attempt.
    pub start_delay: Duration,
    /// Further attempts after a failure.
    pub retries: u8,
    /// Pause between attempts.
    pub repetition_delay: Duration,
}

/// A delivered push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// Where it went.
    pub destination: String,
    /// Attempts needed (1 = first time).
    pub attempts: u32,
    /// The APDU sent.
    pub apdu: Vec<u8>,
}

/// Prepares the data-notification of the meter's Push setup at true time `now`.
///
/// # Errors
/// [`PushError::NoPushSetup`], [`PushError::OutsideCommunicationWindow`], the
/// destination and method errors, [`PushError::Security`], [`PushError::TooLong`].
pub fn prepare_data_notification(
    meter: &mut SimulatedMeter,
    now: Timestamp,
    delivery: &PushDelivery,
) -> Result<PreparedPush, PushError> {
    let setup = meter.push_setup().ok_or(PushError::NoPushSetup)?;
    let local = meter.config().time_zone.to_cosem(meter.meter_time(now));
    if !setup.in_communication_window(meter.config().time_zone, &local) {
        return Err(PushError::OutsideCommunicationWindow);
    }
    let seed = meter.seed();
    let push = notification::data_notification(meter, now, delivery.with_date_time).ok_or(PushError::NoPushSetup)?;
    let setup = meter.push_setup().ok_or(PushError::NoPushSetup)?;
    let start_delay =
        start_delay(seed, push.long_invoke_id_and_priority.invoke_id(), setup.randomisation_start_interval_s);
    prepare(setup, &XdlmsApdu::DataNotification(push), start_delay, delivery)
}

/// Prepares the data-notification of the meter's Push setup named `setup` (e.g. the alarm
/// Push setup 0.4.25.9.0.255) at true time `now`, as [`prepare_data_notification`] does for
/// the configured one.
///
/// # Errors
/// As [`prepare_data_notification`]; [`PushError::NoPushSetup`] when the meter has no Push
/// setup of that name.
pub fn prepare_data_notification_of(
    meter: &mut SimulatedMeter,
    now: Timestamp,
    setup: dlms::Obis,
    delivery: &PushDelivery,
) -> Result<PreparedPush, PushError> {
    let push_setup = notification::setup_of(meter, setup).ok_or(PushError::NoPushSetup)?;
    let local = meter.config().time_zone.to_cosem(meter.meter_time(now));
    if !push_setup.in_communication_window(meter.config().time_zone, &local) {
        return Err(PushError::OutsideCommunicationWindow);
    }
    let seed = meter.seed();
    let push =
        notification::data_notification_of(meter, now, setup, delivery.with_date_time).ok_or(PushError::NoPushSetup)?;
    let push_setup = notification::setup_of(meter, setup).ok_or(PushError::NoPushSetup)?;
    let start_delay =
        start_delay(seed, push.long_invoke_id_and_priority.invoke_id(), push_setup.randomisation_start_interval_s);
    prepare(push_setup, &XdlmsApdu::DataNotification(push), start_delay, delivery)
}

/// Prepares an event-notification of `attribute` at true time `now` (with the meter time)
/// to the destination of the meter's Push setup named `setup`, without window or start
/// delay.
///
/// # Errors
/// As [`prepare_event_notification`].
pub fn prepare_event_notification_of(
    meter: &mut SimulatedMeter,
    now: Timestamp,
    attribute: CosemAttributeDescriptor,
    setup: dlms::Obis,
    delivery: &PushDelivery,
) -> Result<PreparedPush, PushError> {
    let event = notification::event_notification(meter, now, attribute, true).map_err(PushError::Unreadable)?;
    let push_setup = notification::setup_of(meter, setup).ok_or(PushError::NoPushSetup)?;
    prepare(push_setup, &XdlmsApdu::EventNotificationRequest(event), Duration::ZERO, delivery)
}

/// Prepares an event-notification of `attribute` at true time `now` (with the meter
/// time), to the Push setup's destination, without window or start delay: events go at
/// once.
///
/// # Errors
/// [`PushError::Unreadable`], [`PushError::NoPushSetup`] and the errors of
/// [`prepare_data_notification`] but the window.
pub fn prepare_event_notification(
    meter: &mut SimulatedMeter,
    now: Timestamp,
    attribute: CosemAttributeDescriptor,
    delivery: &PushDelivery,
) -> Result<PreparedPush, PushError> {
    let event = notification::event_notification(meter, now, attribute, true).map_err(PushError::Unreadable)?;
    let setup = meter.push_setup().ok_or(PushError::NoPushSetup)?;
    prepare(setup, &XdlmsApdu::EventNotificationRequest(event), Duration::ZERO, delivery)
}

fn prepare(
    setup: &PushSetup,
    apdu: &XdlmsApdu,
    start_delay: Duration,
    delivery: &PushDelivery,
) -> Result<PreparedPush, PushError> {
    let method = &setup.send_destination_and_method;
    let transport = match method.transport_service {
        TRANSPORT_TCP => PushTransport::Tcp,
        TRANSPORT_UDP => PushTransport::Udp,
        other => return Err(PushError::UnsupportedTransport(other)),
    };
    if method.message != MESSAGE_AXDR_APDU {
        return Err(PushError::UnsupportedMessage(method.message));
    }
    let destination = String::from_utf8(method.destination.clone())
        .ok()
        .filter(|d| d.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok()))
        .ok_or_else(|| PushError::InvalidDestination(String::from_utf8_lossy(&method.destination).into_owned()))?;
    let plain = apdu.to_bytes();
    let apdu = match &delivery.security {
        Some(settings) => {
            SecurityContext::new(settings)?.protect_as(&plain, CipheringForm::General(KeyScope::Global))?
        }
        None => plain,
    };
    let len = apdu.len();
    let frame = WrapperFrame::new(delivery.source_wport, delivery.destination_wport, apdu.clone())
        .map_err(|_| PushError::TooLong(len))?
        .to_bytes();
    if transport == PushTransport::Udp && frame.len() > MAX_UDP_FRAME_LEN {
        return Err(PushError::TooLong(len));
    }
    Ok(PreparedPush {
        transport,
        destination,
        frame,
        apdu,
        start_delay,
        retries: setup.number_of_retries,
        repetition_delay: Duration::from_secs(u64::from(setup.repetition_delay_s)),
    })
}

/// Delivers a prepared push: waits the start delay, then tries up to `1 + retries`
/// times.
///
/// # Errors
/// [`PushError::Send`] when every attempt failed.
pub async fn deliver(push: &PreparedPush, connect_timeout: Duration) -> Result<PushReport, PushError> {
    tokio::time::sleep(push.start_delay).await;
    let attempts = u32::from(push.retries) + 1;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let sent = match push.transport {
            PushTransport::Tcp => send_once(&push.destination, &push.frame, connect_timeout).await,
            PushTransport::Udp => send_datagram(&push.destination, &push.frame, connect_timeout).await,
        };
        match sent {
            Ok(()) => {
                return Ok(PushReport {
                    destination: push.destination.clone(),
                    attempts: attempt,
                    apdu: push.apdu.clone(),
                });
            }
            Err(source) if attempt >= attempts => {
                return Err(PushError::Send { destination: push.destination.clone(), attempts: attempt, source });
            }
            Err(e) => {
                tracing::debug!(destination = %push.destination, attempt, error = %e, "push attempt failed");
                tokio::time::sleep(push.repetition_delay).await;
            }
        }
    }
}

async fn send_once(destination: &str, frame: &[u8], timeout: Duration) -> std::io::Result<()> {
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "push connect/send timed out");
    tokio::time::timeout(timeout, async {
        let mut stream = TcpStream::connect(destination).await?;
        stream.set_nodelay(true).ok();
        stream.write_all(frame).await?;
        stream.shutdown().await
    })
    .await
    .map_err(|_| timed_out())?
}

/// Sends `frame` as one UDP datagram to `destination` from an ephemeral port of the same
/// address family.
async fn send_datagram(destination: &str, frame: &[u8], timeout: Duration) -> std::io::Result<()> {
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "push datagram send timed out");
    tokio::time::timeout(timeout, async {
        let target = tokio::net::lookup_host(destination)
            .await?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "destination does not resolve"))?;
        let local: std::net::SocketAddr =
            if target.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
        let socket = UdpSocket::bind(local).await?;
        let sent = socket.send_to(frame, target).await?;
        if sent != frame.len() {
            return Err(std::io::Error::new(std::io::ErrorKind::WriteZero, "datagram truncated"));
        }
        Ok(())
    })
    .await
    .map_err(|_| timed_out())?
}

/// Pushes the data-notification of the shared meter at true time `now` (prepared under
/// the lock, delivered without it).
///
/// # Errors
/// As [`prepare_data_notification`] and [`deliver`].
pub async fn push_data_notification(
    meter: &Mutex<SimulatedMeter>,
    now: Timestamp,
    delivery: &PushDelivery,
) -> Result<PushReport, PushError> {
    let prepared = {
        let mut m = meter.lock().unwrap_or_else(|p| p.into_inner());
        prepare_data_notification(&mut m, now, delivery)?
    };
    deliver(&prepared, delivery.connect_timeout).await
}

/// Pushes an event-notification of `attribute` of the shared meter at true time `now`.
///
/// # Errors
/// As [`prepare_event_notification`] and [`deliver`].
pub async fn push_event_notification(
    meter: &Mutex<SimulatedMeter>,
    now: Timestamp,
    attribute: CosemAttributeDescriptor,
    delivery: &PushDelivery,
) -> Result<PushReport, PushError> {
    let prepared = {
        let mut m = meter.lock().unwrap_or_else(|p| p.into_inner());
        prepare_event_notification(&mut m, now, attribute, delivery)?
    };
    deliver(&prepared, delivery.connect_timeout).await
}

/// Performs the pushes requested through the Push setup's method 1 since the last call
/// (one data-notification each), at true time `now`. The DLMS server calls this after
/// serving a request; an empty vector when nothing was requested.
pub async fn push_requested(
    meter: &Mutex<SimulatedMeter>,
    now: Timestamp,
    delivery: &PushDelivery,
) -> Vec<Result<PushReport, PushError>> {
    let requested = {
        let mut m = meter.lock().unwrap_or_else(|p| p.into_inner());
        m.push_setup_mut().map_or(0, PushSetup::take_push_requests)
    };
    let mut out = Vec::with_capacity(requested as usize);
    for _ in 0..requested {
        out.push(push_data_notification(meter, now, delivery).await);
    }
    out
}

/// The randomised start delay of push `n`: uniform-ish in 0..=`interval_s` seconds, a
/// pure function of the meter seed and the push number (splitmix64).
pub fn start_delay(seed: u64, n: u32, interval_s: u16) -> Duration {
    if interval_s == 0 {
        return Duration::ZERO;
    }
    let mut z = seed ^ (u64::from(n) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    Duration::from_secs(z % (u64::from(interval_s) + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_delays_stay_in_the_interval_and_spread() {
        assert_eq!(start_delay(7, 3, 0), Duration::ZERO);
        let delays: Vec<u64> = (0..200).map(|n| start_delay(42, n, 60).as_secs()).collect();
        assert!(delays.iter().all(|d| *d <= 60));
        let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
        assert!(distinct.len() > 40, "{} distinct delays", distinct.len());
        assert_eq!(start_delay(42, 5, 60), start_delay(42, 5, 60), "deterministic");
    }
}
