//! COSEM date, time and date-time (IEC 62056-6-2 §4.1.6.1, "Date and time formats").
//!
//! The wire forms are kept exactly: every "not specified" (0xFF / 0xFFFF / 0x8000) and
//! the special month/day values (0xFD/0xFE = DST end/begin, second-last/last day) are
//! stored as sent, never guessed. Conversion to UTC is offered only when every field it
//! needs is specified.

use serde::Serialize;

use crate::codec::{DecodeError, Reader};

/// Year value meaning "not specified".
pub const YEAR_NOT_SPECIFIED: u16 = 0xFFFF;
/// Byte value meaning "not specified" for month, day, day of week, hour, minute, second,
/// hundredths and clock status.
pub const NOT_SPECIFIED: u8 = 0xFF;
/// Deviation value meaning "not specified".
pub const DEVIATION_NOT_SPECIFIED: i16 = i16::MIN; // 0x8000

/// COSEM date (5 bytes): year (u16, 0xFFFF n.s.), month (1..=12, 0xFD DST end, 0xFE DST
/// begin, 0xFF n.s.), day of month (1..=31, 0xFD second-last, 0xFE last, 0xFF n.s.),
/// day of week (1 = Monday ..= 7 = Sunday, 0xFF n.s.).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CosemDate {
    /// Year, 0xFFFF = not specified.
    pub year: u16,
    /// Month, raw.
    pub month: u8,
    /// Day of month, raw.
    pub day_of_month: u8,
    /// Day of week, raw (1 = Monday).
    pub day_of_week: u8,
}

/// COSEM time (4 bytes): hour (0..=23), minute, second, hundredths (0..=99); each 0xFF =
/// not specified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CosemTime {
    /// Hour, raw.
    pub hour: u8,
    /// Minute, raw.
    pub minute: u8,
    /// Second, raw.
    pub second: u8,
    /// Hundredths of a second, raw.
    pub hundredths: u8,
}

/// COSEM date-time (12 bytes): date, time, deviation (i16 minutes *from local time to
/// UTC*, i.e. UTC = local + deviation; −120 means UTC+02:00; 0x8000 = not specified) and
/// clock status (bit 0 invalid value, 1 doubtful, 2 different clock base, 3 invalid
/// clock status, 7 daylight saving active; 0xFF = not specified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CosemDateTime {
    /// The date part.
    pub date: CosemDate,
    /// The time part.
    pub time: CosemTime,
    /// Deviation in minutes, raw (`DEVIATION_NOT_SPECIFIED` = not specified).
    pub deviation: i16,
    /// Clock status byte, raw.
    pub clock_status: u8,
}

impl CosemDate {
    /// Encodes the 5 raw bytes (no A-XDR tag).
    pub fn encode_raw(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.year.to_be_bytes());
        out.extend_from_slice(&[self.month, self.day_of_month, self.day_of_week]);
    }

    /// Decodes the 5 raw bytes (no A-XDR tag). Values are kept as sent; ranges are not
    /// checked here (see [`CosemDate::validate`]).
    pub fn decode_raw(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let b = r.array::<5>("date")?;
        Ok(CosemDate { year: u16::from_be_bytes([b[0], b[1]]), month: b[2], day_of_month: b[3], day_of_week: b[4] })
    }
}

impl CosemTime {
    /// Encodes the 4 raw bytes (no A-XDR tag).
    pub fn encode_raw(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.hour, self.minute, self.second, self.hundredths]);
    }

    /// Decodes the 4 raw bytes (no A-XDR tag).
    pub fn decode_raw(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let b = r.array::<4>("time")?;
        Ok(CosemTime { hour: b[0], minute: b[1], second: b[2], hundredths: b[3] })
    }
}

impl CosemDateTime {
    /// Encodes the 12 raw bytes (no A-XDR tag).
    pub fn encode_raw(&self, out: &mut Vec<u8>) {
        self.date.encode_raw(out);
        self.time.encode_raw(out);
        out.extend_from_slice(&self.deviation.to_be_bytes());
        out.push(self.clock_status);
    }

    /// Decodes the 12 raw bytes (no A-XDR tag).
    pub fn decode_raw(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let date = CosemDate::decode_raw(r)?;
        let time = CosemTime::decode_raw(r)?;
        let deviation = r.u16("date-time deviation")? as i16;
        let clock_status = r.u8("date-time clock status")?;
        Ok(CosemDateTime { date, time, deviation, clock_status })
    }

    /// Decodes a date-time carried as a 12-byte octet-string value (the usual form of the
    /// Clock time attribute and of profile capture times).
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] when `bytes` is not 12 bytes long.
    pub fn from_octets(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 12 {
            return Err(DecodeError::invalid("date-time octet-string", format!("length {} is not 12", bytes.len())));
        }
        Self::decode_raw(&mut Reader::new(bytes))
    }

    /// The 12-byte octet-string form.
    pub fn to_octets(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(12);
        self.encode_raw(&mut v);
        v
    }
}
