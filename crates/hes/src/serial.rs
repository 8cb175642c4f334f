//! A serial port as a session's byte stream (feature `serial`): an optical probe on the
//! meter's IEC 62056-21 optical port, or an RS-485 / RS-232 line, carrying HDLC
//! (IEC 62056-46) frames.
//!
//! Open the port with [`open_serial`], then run the session over it with
//! [`crate::DlmsSession::open_over`] and an endpoint whose link is
//! [`crate::transport::LinkLayer::Hdlc`] (the wrapper is for TCP/UDP only).
//!
//! Character formats:
//! * **Direct HDLC** (IEC 62056-42 / -46 "direct local connection", the usual optical
//!   probe and RS-485 setting): the HDLC link starts at once on the port, 8 data bits,
//!   no parity, 1 stop bit (8N1), most often at 9600 baud: [`SerialSettings::direct_hdlc`].
//! * **IEC 62056-21 mode E**: the port starts at 300 baud, 7E1, for the mode E opening
//!   sequence (`/?!` CR LF, the meter's identification, the acknowledgement/option
//!   select naming protocol 2 = HDLC and the baud rate); then both sides switch to that
//!   baud rate at 8N1 and HDLC follows. This module does **not** run the opening
//!   sequence: use it with meters configured for direct HDLC, or after the sign-on has
//!   been done on the port by other means, with [`SerialSettings::direct_hdlc`] at the
//!   agreed rate.
//! * Some RS-485 installations use even parity (8E1): [`SerialSettings::with_parity`].

use thiserror::Error;
use tokio_serial::{DataBits, FlowControl, Parity, SerialStream, StopBits};

use crate::transport::ByteStream;

/// The parity bit of each character on the line (always 8 data bits and 1 stop bit here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerialParity {
    /// No parity bit: 8N1, the HDLC setting of IEC 62056-42 direct local connections.
    #[default]
    None,
    /// Even parity: 8E1, used on some RS-485 installations.
    Even,
    /// Odd parity: 8O1.
    Odd,
}

/// The line settings of a serial port: baud rate and parity; data bits are 8, stop bits
/// 1, no flow control (optical probes and RS-485 have no handshake lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialSettings {
    /// Bits per second (e.g. 9600, the IEC 62056-21 mode E / direct HDLC default).
    pub baud_rate: u32,
    /// Parity of each character.
    pub parity: SerialParity,
}

impl SerialSettings {
    /// The usual baud rate of direct HDLC on an optical port or RS-485: 9600 bit/s.
    pub const DEFAULT_BAUD_RATE: u32 = 9600;

    /// Direct HDLC at `baud_rate`, 8N1 (IEC 62056-42 direct local connection; also the
    /// HDLC phase of IEC 62056-21 mode E at the baud rate agreed in the opening sequence).
    pub fn direct_hdlc(baud_rate: u32) -> Self {
        SerialSettings { baud_rate, parity: SerialParity::None }
    }

    /// The same settings with another parity (e.g. [`SerialParity::Even`] for 8E1).
    pub fn with_parity(self, parity: SerialParity) -> Self {
        SerialSettings { parity, ..self }
    }
}

impl Default for SerialSettings {
    /// Direct HDLC at 9600 baud, 8N1.
    fn default() -> Self {
        Self::direct_hdlc(Self::DEFAULT_BAUD_RATE)
    }
}

/// Why a serial port could not be opened.
#[derive(Debug, Error)]
pub enum SerialError {
    /// The operating system refused the port or its settings (no such device, busy,
    /// permission denied, unsupported baud rate).
    #[error("cannot open serial port {path}: {source}")]
    Open {
        /// The device path given (e.g. `/dev/ttyUSB0`).
        path: String,
        /// The serial port error.
        source: tokio_serial::Error,
    },
}

/// Opens the serial port at `path` (e.g. `/dev/ttyUSB0` for a USB optical probe or an
/// RS-485 adapter) with `settings`, 8 data bits, 1 stop bit and no flow control, as a
/// [`ByteStream`] for [`crate::DlmsSession::open_over`] with HDLC. Must be called within
/// a tokio runtime (the port is registered with its reactor).
///
/// # Errors
/// [`SerialError::Open`] when the device does not exist, is busy, cannot be accessed or
/// refuses the settings.
pub fn open_serial(path: &str, settings: SerialSettings) -> Result<Box<dyn ByteStream>, SerialError> {
    let parity = match settings.parity {
        SerialParity::None => Parity::None,
        SerialParity::Even => Parity::Even,
        SerialParity::Odd => Parity::Odd,
    };
    let builder = tokio_serial::new(path, settings.baud_rate)
        .data_bits(DataBits::Eight)
        .parity(parity)
        .stop_bits(StopBits::One)
        .flow_control(FlowControl::None);
    let stream = SerialStream::open(&builder).map_err(|source| SerialError::Open { path: path.to_string(), source })?;
    Ok(Box::new(stream))
}
