//! HDLC (IEC 62056-46) as the HES's link layer over any byte stream (TCP to a meter or a
//! DCU, or a serial port for an optical probe / RS-485): the sans-I/O
//! [`dlms::hdlc::HdlcClient`] driven with real time. SNRM/UA on connect, I-frames with
//! segmentation and N(S)/N(R) recovery for each APDU, DISC/UA on close.

use std::time::{Duration, Instant};

use dlms::hdlc::{HdlcAddress, HdlcClient, HdlcClientConfig, LinkEvent};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::transport::TransportError;

/// The HDLC link of one session.
pub struct HdlcTransport<S> {
    stream: S,
    link: HdlcClient,
    started: Instant,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> HdlcTransport<S> {
    /// Opens the link: SNRM, then waits for the UA (the link's own retries and response
    /// timeout apply: see [`link_retry_ms`]). `client_sap` is the HDLC client address (16 public, 1 management);
    /// the server address is `server_logical` (upper) and, when given, `server_physical`
    /// (lower; gridedge meters use 17), which makes a 2-byte address.
    ///
    /// # Errors
    /// Invalid addresses, I/O errors, a refused or unanswered SNRM.
    pub async fn connect(
        stream: S,
        client_sap: u16,
        server_logical: u16,
        server_physical: Option<u16>,
        response_timeout: Duration,
        max_apdu_len: usize,
    ) -> Result<Self, TransportError> {
        let bad = |e: dlms::DecodeError| TransportError::Frame(e);
        let client = HdlcAddress::client(client_sap as u8).map_err(bad)?;
        let server = match server_physical {
            Some(lower) => HdlcAddress::server(server_logical, lower),
            None => HdlcAddress::one_byte(u8::try_from(server_logical).unwrap_or(u8::MAX)),
        }
        .map_err(bad)?;
        let mut config = HdlcClientConfig::new(client, server);
        config.response_timeout_ms = link_retry_ms(response_timeout, config.max_retries);
        config.max_apdu_len = max_apdu_len;
        let mut t =
            HdlcTransport { stream, link: HdlcClient::new(config), started: Instant::now(), buf: vec![0; 4096] };
        let now = t.now_ms();
        t.link.connect(now).map_err(|e| TransportError::Link(format!("{e:?}")))?;
        match t.next_event().await? {
            LinkEvent::Connected(_) => Ok(t),
            other => Err(TransportError::Link(format!("HDLC connection refused: {other:?}"))),
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    async fn flush(&mut self) -> Result<(), TransportError> {
        while let Some(frame) = self.link.poll_transmit() {
            self.stream.write_all(&frame).await?;
        }
        Ok(())
    }

    /// Drives the link until it reports an event (sending what it queues, feeding what
    /// arrives, firing its timers).
    async fn next_event(&mut self) -> Result<LinkEvent, TransportError> {
        loop {
            self.flush().await?;
            if let Some(ev) = self.link.poll_event() {
                match ev {
                    LinkEvent::Discarded(reason) => {
                        tracing::debug!(?reason, "HDLC frame discarded");
                        continue;
                    }
                    other => return Ok(other),
                }
            }
            let wait = match self.link.poll_timeout() {
                Some(at) => Duration::from_millis(at.saturating_sub(self.now_ms())),
                None => Duration::from_secs(3600),
            };
            match tokio::time::timeout(wait, self.stream.read(&mut self.buf)).await {
                Ok(Ok(0)) => return Err(TransportError::Closed),
                Ok(Ok(n)) => {
                    let now = self.now_ms();
                    let bytes = self.buf[..n].to_vec();
                    self.link.handle_bytes(now, &bytes);
                }
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => {
                    let now = self.now_ms();
                    self.link.handle_timeout(now);
                }
            }
        }
    }

    /// Sends one APDU (segmented as negotiated).
    ///
    /// # Errors
    /// I/O errors, a link that is not connected.
    pub async fn send(&mut self, apdu: Vec<u8>) -> Result<(), TransportError> {
        let now = self.now_ms();
        self.link.send_apdu(now, apdu).map_err(|e| TransportError::Link(format!("{e:?}")))?;
        self.flush().await
    }

    /// Receives the next APDU.
    ///
    /// # Errors
    /// I/O errors, the link going down (DM, DISC, FRMR, no response).
    pub async fn recv(&mut self) -> Result<Vec<u8>, TransportError> {
        loop {
            match self.next_event().await? {
                LinkEvent::Apdu(apdu) => return Ok(apdu),
                LinkEvent::UnnumberedInformation(_) | LinkEvent::Connected(_) => continue,
                other => return Err(TransportError::Link(format!("HDLC link lost: {other:?}"))),
            }
        }
    }

    /// Disconnects the link (DISC/UA), best effort.
    pub async fn close(&mut self) {
        let now = self.now_ms();
        if self.link.disconnect(now).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), self.next_event()).await;
        }
    }
}

/// The HDLC link's own response timeout (IEC 62056-46 §6.4.4: the time after which the
/// primary station polls again with P = 1), ms, for a session whose response timeout is
/// `session_timeout`: the session's budget shared by the first try and `max_retries` polls
/// (10 s and 3 retries give 2.5 s), at least 500 ms. A lost frame on a lossy link (PLC,
/// RF) is then recovered by N(S)/N(R) and polling well before the session gives up on the
/// response; with the whole session timeout as the link's timer, the first lost frame
/// would already exhaust it.
pub fn link_retry_ms(session_timeout: Duration, max_retries: u32) -> u64 {
    let total = session_timeout.as_millis().min(u128::from(u64::MAX)) as u64;
    (total / (u64::from(max_retries) + 1)).max(500)
}

#[cfg(test)]
mod link_retry_tests {
    use super::*;

    #[test]
    fn the_link_retries_several_times_within_the_session_timeout() {
        assert_eq!(link_retry_ms(Duration::from_secs(10), 3), 2_500);
        assert_eq!(link_retry_ms(Duration::from_secs(30), 2), 10_000);
        assert_eq!(link_retry_ms(Duration::from_millis(800), 3), 500, "never below 500 ms");
    }
}
