//! The link layers the HES speaks over a byte stream: the IEC 62056-47 wrapper (here)
//! and HDLC (IEC 62056-46, [`crate::hdlc_transport`]). With the wrapper each APDU
//! travels in one frame; received bytes are framed with
//! [`dlms::wrapper::WrapperFrame::parse_with_limit`]. Any `AsyncRead + AsyncWrite`
//! stream works: TCP, or a serial port for optical probes and RS-485 ([`ByteStream`]).

use dlms::wrapper::WrapperFrame;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A byte stream a session can run over: a TCP stream, a serial port (e.g. tokio-serial's
/// `SerialStream` for an optical probe or RS-485), or an in-memory duplex in tests.
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByteStream for T {}

/// Which link layer a meter speaks on its byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkLayer {
    /// The IEC 62056-47 TCP/UDP wrapper (wPorts = client and server SAPs).
    #[default]
    Wrapper,
    /// HDLC (IEC 62056-46) with the server's lower (physical) address, when it has one
    /// (gridedge meters use 17; `None` = a 1-byte server address).
    Hdlc {
        /// The lower HDLC server address.
        server_physical: Option<u16>,
    },
}

/// Why the transport failed.
#[derive(Debug, Error)]
pub enum TransportError {
    /// Socket error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection.
    #[error("connection closed by the peer")]
    Closed,
    /// The byte stream is not a valid wrapper stream (wrong version, oversized frame).
    #[error("invalid wrapper frame: {0}")]
    Frame(dlms::DecodeError),
    /// The HDLC link failed (refused connection, link lost, wrong state).
    #[error("{0}")]
    Link(String),
    /// A frame arrived for another wPort pair.
    #[error("frame for wPorts {source_wport}->{destination_wport}, expected {expected_source}->{expected_destination}")]
    WrongWport {
        /// The frame's source wPort.
        source_wport: u16,
        /// The frame's destination wPort.
        destination_wport: u16,
        /// The wPort we expected it from.
        expected_source: u16,
        /// Our wPort.
        expected_destination: u16,
    },
}

/// A wrapper connection from our wPort to the peer's wPort.
#[derive(Debug)]
pub struct WrapperTransport<S> {
    stream: S,
    local_wport: u16,
    remote_wport: u16,
    rx: Vec<u8>,
    max_apdu_len: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WrapperTransport<S> {
    /// Wraps a connected stream. `max_apdu_len` bounds what is accepted from the peer.
    pub fn new(stream: S, local_wport: u16, remote_wport: u16, max_apdu_len: usize) -> Self {
        WrapperTransport { stream, local_wport, remote_wport, rx: Vec::with_capacity(4096), max_apdu_len }
    }

    /// Sends one APDU in one frame.
    ///
    /// # Errors
    /// I/O errors, or an APDU above 65 535 bytes.
    pub async fn send(&mut self, apdu: Vec<u8>) -> Result<(), TransportError> {
        let frame = WrapperFrame::new(self.local_wport, self.remote_wport, apdu).map_err(TransportError::Frame)?;
        let mut bytes = Vec::with_capacity(frame.apdu.len() + 8);
        dlms::Codec::encode(&frame, &mut bytes);
        self.stream.write_all(&bytes).await?;
        Ok(())
    }

    /// Receives the next APDU addressed to us.
    ///
    /// # Errors
    /// I/O errors, a closed connection, an invalid stream, or a frame for other wPorts.
    pub async fn recv(&mut self) -> Result<Vec<u8>, TransportError> {
        loop {
            if let Some((frame, used)) =
                WrapperFrame::parse_with_limit(&self.rx, self.max_apdu_len).map_err(TransportError::Frame)?
            {
                self.rx.drain(..used);
                if frame.source_wport != self.remote_wport || frame.destination_wport != self.local_wport {
                    return Err(TransportError::WrongWport {
                        source_wport: frame.source_wport,
                        destination_wport: frame.destination_wport,
                        expected_source: self.remote_wport,
                        expected_destination: self.local_wport,
                    });
                }
                return Ok(frame.apdu);
            }
            let mut buf = [0u8; 8192];
            let n = self.stream.read(&mut buf).await?;
            if n == 0 {
                return Err(TransportError::Closed);
            }
            self.rx.extend_from_slice(&buf[..n]);
        }
    }
}
