//! HAN / P1 consumer-port readings: the frames smart meters push on their customer
//! interface, decoded to OBIS code, raw value, scaler/unit, scaled value and meter time.
//!
//! [`decode`] takes the captured bytes and does every step:
//!
//! 1. **framing** ([`framing`]): HDLC frames (IEC 62056-46, LLC header, segmentation,
//!    several frames), EN 13757-2 M-Bus long frames ([`mbus`]), an LLC header or a bare
//!    APDU, or a DSMR/P1 text telegram ([`dsmr`]), detected from the first bytes or given
//!    in [`DecodeOptions::framing`];
//! 2. **reassembly** of General-Block-Transfer pushes ([`gbt`], IEC 62056-5-3 §9.3.5);
//! 3. **deciphering** of general-glo-ciphering / glo- APDUs with [`HanKeys`] ([`cipher`],
//!    security suite 0 of IEC 62056-5-3 §9.2);
//! 4. **interpretation** of the Data-Notification body ([`values`], IEC 62056-5-3
//!    §9.3.10): OBIS-coded structures, flat OBIS/value lists, capture-object pushes and
//!    positional lists ([`lists`]), with the meter time ([`meter_time`]).
//!
//! Every failure is a typed [`HanError`]; no input makes the decoder panic.
//!
//! ```
//! use dlms::han::{decode, DecodeOptions};
//! // Kaifa list 1 (Norwegian HAN): LLC, Data-Notification with a date-time, one value.
//! let bytes = [
//!     0xE6, 0xE7, 0x00, 0x0F, 0x40, 0x00, 0x00, 0x00, 0x09, 0x0C, 0x07, 0xE3, 0x02, 0x04, 0x01, 0x17, 0x34,
//!     0x16, 0xFF, 0x80, 0x00, 0x00, 0x02, 0x01, 0x06, 0x00, 0x00, 0x16, 0xDC,
//! ];
//! let reading = decode(&bytes, &DecodeOptions::default()).unwrap();
//! assert_eq!(reading.values[0].obis.unwrap().to_string(), "1.0.1.7.0.255");
//! assert_eq!(reading.values[0].text.as_deref(), Some("5852 W"));
//! assert_eq!(reading.meter_time.unwrap().local.to_string(), "2019-02-04T23:52:22");
//! ```

pub mod cipher;
pub mod dsmr;
pub mod framing;
pub mod gbt;
pub mod lists;
pub mod mbus;
pub mod meter_time;
pub mod values;

use serde::Serialize;
use thiserror::Error;

use crate::codec::{Codec, DecodeError};
use crate::datetime::CosemDateTime;
use crate::hdlc::frame::FrameErrorKind;
use crate::obis::Obis;
use crate::security::SecurityError;
use crate::security::ciphered_apdu::is_ciphered_tag;
use crate::xdlms::DataNotification;

pub use cipher::{HanKeys, SecurityInfo};
pub use dsmr::{CrcCheck, DsmrError, SkippedLine, Telegram};
pub use framing::{Carrier, Framing};
pub use gbt::GbtError;
pub use mbus::MbusError;
pub use meter_time::{MeterTime, MeterTimeSource};
pub use values::{HanValue, ListFormat, ObisSource, RawValue, ScalerSource};

/// Why captured bytes did not give a reading.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HanError {
    /// The framing could not be detected (hex of the first bytes).
    #[error("unrecognised framing (starts {0})")]
    UnknownFraming(String),
    /// An HDLC frame is malformed: format type, length, address, HCS, FCS or closing flag
    /// (IEC 62056-46 §6.4.1).
    #[error("HDLC: {0}")]
    Hdlc(FrameErrorKind),
    /// The bytes end inside a frame, a segmented HDLC sequence or a block transfer.
    #[error("incomplete: {0}")]
    Incomplete(String),
    /// M-Bus framing error (EN 13757-2).
    #[error("M-Bus: {0}")]
    Mbus(#[from] MbusError),
    /// The LLC header is not `E6 E6 00` / `E6 E7 00`.
    #[error("LLC: {0}")]
    Llc(DecodeError),
    /// General-Block-Transfer reassembly failed.
    #[error("{0}")]
    Gbt(#[from] GbtError),
    /// The DSMR telegram is malformed or its CRC does not match.
    #[error("DSMR: {0}")]
    Dsmr(#[from] DsmrError),
    /// The carrier holds no APDU (an empty information field).
    #[error("the frame carries no APDU")]
    NoApdu,
    /// The APDU is ciphered and the key material to decipher it was not given.
    #[error("ciphered APDU: {what} required{}", system_title.as_ref().map(|s| format!(" (system title {s})")).unwrap_or_default())]
    KeyRequired {
        /// What is missing: "encryption key", "authentication key" or "system title".
        what: &'static str,
        /// The system title the APDU names (hex), when it names one.
        system_title: Option<String>,
    },
    /// Deciphering failed (malformed ciphered APDU, unsupported suite, tag mismatch).
    #[error("security: {0}")]
    Security(SecurityError),
    /// The APDU (or the deciphered APDU) does not decode.
    #[error("APDU: {0}")]
    Apdu(DecodeError),
    /// The APDU is not a Data-Notification (its tag).
    #[error("APDU tag 0x{tag:02X} is not a data-notification (0x0F)")]
    NotANotification {
        /// The first byte of the APDU.
        tag: u8,
    },
}

/// How to decode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The framing; detected from the first bytes when `None`.
    pub framing: Option<Framing>,
    /// Keys for ciphered pushes.
    pub keys: Option<HanKeys>,
    /// Remove HDLC octet stuffing first (captures from gateways that stuff frames;
    /// IEC 62056-46 itself does not stuff).
    pub octet_stuffing: bool,
}

/// The header of the Data-Notification that carried the values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationHeader {
    /// long-invoke-id-and-priority.
    pub long_invoke_id_and_priority: u32,
    /// The date-time field, when not empty.
    pub date_time: Option<CosemDateTime>,
}

/// The header of a DSMR telegram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DsmrHeader {
    /// The identification line after `/`.
    pub identification: String,
    /// The CRC check.
    pub crc: CrcCheck,
    /// Lines that were not data lines.
    pub skipped_lines: Vec<SkippedLine>,
}

/// One decoded HAN/P1 reading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HanReading {
    /// The framing used.
    pub framing: Framing,
    /// Frames, telegrams and blocks that carried the APDU.
    pub carrier: Carrier,
    /// The security header, when the push was ciphered.
    pub security: Option<SecurityInfo>,
    /// The Data-Notification header (DLMS pushes).
    pub notification: Option<NotificationHeader>,
    /// The telegram header (DSMR).
    pub dsmr: Option<DsmrHeader>,
    /// How the values were laid out.
    pub list_format: ListFormat,
    /// The vendor convention used for scalers the frame does not carry.
    pub scaler_convention: Option<&'static str>,
    /// The meter number, when the reading names it.
    pub meter_id: Option<String>,
    /// The meter's time stamp.
    pub meter_time: Option<MeterTime>,
    /// The values in order.
    pub values: Vec<HanValue>,
}

impl HanReading {
    /// The value with exactly this OBIS code.
    pub fn value(&self, obis: Obis) -> Option<&HanValue> {
        self.values.iter().find(|v| v.obis == Some(obis))
    }

    /// The electricity value (A = 1, F = 255) of quantity C.D.E on any channel B:
    /// Kamstrup sends channel 1 (`1.1.1.7.0.255`) where others send `1.0.1.7.0.255`.
    pub fn quantity(&self, c: u8, d: u8, e: u8) -> Option<&HanValue> {
        self.values
            .iter()
            .find(|v| v.obis.is_some_and(|o| o.a() == 1 && o.f() == 255 && (o.c(), o.d(), o.e()) == (c, d, e)))
    }
}

/// Decodes one capture (see the module documentation).
///
/// # Errors
/// [`HanError`]: a framing, checksum, reassembly, security or APDU error.
pub fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<HanReading, HanError> {
    let framing = options
        .framing
        .or_else(|| Framing::detect(bytes))
        .ok_or_else(|| HanError::UnknownFraming(framing::first_bytes(bytes)))?;
    if framing == Framing::Dsmr {
        return decode_dsmr(&Telegram::parse(bytes)?);
    }
    let unstuffed;
    let bytes = if options.octet_stuffing && framing == Framing::Hdlc {
        unstuffed = framing::remove_octet_stuffing(bytes)?;
        unstuffed.as_slice()
    } else {
        bytes
    };
    let extracted = framing::extract_apdu(bytes, Some(framing))?;
    decode_apdu(&extracted.apdu, framing, extracted.carrier, options)
}

/// The reading of a parsed DSMR telegram.
///
/// # Errors
/// None at present; the `Result` leaves room for value checks.
pub fn decode_dsmr(t: &Telegram) -> Result<HanReading, HanError> {
    Ok(HanReading {
        framing: Framing::Dsmr,
        carrier: Carrier::default(),
        security: None,
        notification: None,
        dsmr: Some(DsmrHeader {
            identification: t.identification.clone(),
            crc: t.crc,
            skipped_lines: t.skipped.clone(),
        }),
        list_format: ListFormat::Dsmr,
        scaler_convention: None,
        meter_id: t.meter_id(),
        meter_time: t.meter_time(),
        values: t.values(),
    })
}

/// Decodes an APDU already taken out of its carrier: deciphers it when it is ciphered
/// (with `options.keys`) and interprets the Data-Notification.
///
/// # Errors
/// [`HanError::NoApdu`], [`HanError::KeyRequired`], [`HanError::Security`],
/// [`HanError::NotANotification`], [`HanError::Apdu`].
pub fn decode_apdu(
    apdu: &[u8],
    framing: Framing,
    carrier: Carrier,
    options: &DecodeOptions,
) -> Result<HanReading, HanError> {
    let tag = *apdu.first().ok_or(HanError::NoApdu)?;
    let (plain, security) = if is_ciphered_tag(tag) {
        let keys = options.keys.as_ref().ok_or_else(|| HanError::KeyRequired {
            what: "encryption key",
            system_title: cipher::system_title_of(apdu).map(|st| st.iter().map(|b| format!("{b:02X}")).collect()),
        })?;
        let d = cipher::decipher(apdu, keys)?;
        (d.apdu, Some(d.info))
    } else {
        (apdu.to_vec(), None)
    };
    match plain.first() {
        Some(&crate::xdlms::apdu::tag::DATA_NOTIFICATION) => {}
        Some(&other) => return Err(HanError::NotANotification { tag: other }),
        None => return Err(HanError::NoApdu),
    }
    let n = DataNotification::from_bytes(&plain).map_err(HanError::Apdu)?;
    let i = values::interpret_notification(&n);
    Ok(HanReading {
        framing,
        carrier,
        security,
        notification: Some(NotificationHeader {
            long_invoke_id_and_priority: n.long_invoke_id_and_priority.0,
            date_time: n.date_time,
        }),
        dsmr: None,
        list_format: i.list_format,
        scaler_convention: i.scaler_convention,
        meter_id: i.meter_id,
        meter_time: i.meter_time,
        values: i.values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&bytes, &DecodeOptions::default());
        }

        #[test]
        fn decode_never_panics_for_each_framing(
            bytes in prop::collection::vec(any::<u8>(), 0..300),
            f in prop::sample::select(vec![Framing::Hdlc, Framing::Mbus, Framing::LlcApdu, Framing::Apdu, Framing::Dsmr]),
        ) {
            let keys = HanKeys { encryption_key: [7; 16], authentication_key: Some([9; 16]), system_title: Some([1; 8]) };
            let _ = decode(&bytes, &DecodeOptions { framing: Some(f), keys: Some(keys), octet_stuffing: true });
        }

        #[test]
        fn framed_prefixes_never_panic(cut in 0usize..64, tag in prop::sample::select(vec![0x7Eu8, 0x68, 0xE6, 0x0F, 0xDB, 0xE0, b'/'])) {
            // Structured starts reach deeper into the parsers than uniform random bytes.
            let mut bytes = vec![tag, 0xA0, 0x1E, 0x68, 0xE7, 0x00, 0x0F, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02];
            bytes.extend(std::iter::repeat_n(0x02u8, cut));
            let _ = decode(&bytes, &DecodeOptions::default());
        }
    }
}
