//! DSMR / P1 text telegrams (Netherlands DSMR 5.0.2 "P1 Companion Standard" §6, the
//! IEC 62056-21 mode D data set format; also sent by Kamstrup, Landis+Gyr, Iskraemeco,
//! Kaifa, Elgama and NES meters on P1/HAN ports in Denmark, Sweden, Norway, Slovenia,
//! Poland and Austria).
//!
//! ```text
//! /KAM5<ident> CR LF
//! CR LF
//! 1-0:1.8.0(00009621.983*kWh) CR LF     one data line per COSEM object:
//! 0-0:1.0.0(240407122854S) CR LF        OBIS "A-B:C.D.E" then "(value[*unit])" groups
//! ...
//! !1D66 CR LF                           end, then the CRC (4 hex digits, DSMR 4+)
//! ```
//!
//! The CRC is CRC-16/ARC (polynomial x¹⁶+x¹⁵+x²+1, reflected, initial value 0) over every
//! byte from `/` through `!` inclusive, sent as four upper-case hex digits (DSMR 5.0.2
//! §6.2). Older telegrams (DSMR 2/3, and some meters in DSMR-like mode) end with a bare
//! `!`; those are accepted with [`CrcCheck::Absent`].

use serde::Serialize;
use thiserror::Error;

use crate::data::Data;
use crate::obis::Obis;
use crate::unit::{CosemUnit, ScalerUnit};

use super::meter_time::MeterTime;
use super::values::{HanValue, ObisSource, RawValue, ScalerSource, unit_symbol};

/// Why bytes are not a DSMR telegram.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DsmrError {
    /// The first byte is not `/`.
    #[error("DSMR telegram must start with '/', found byte {found:#04X}")]
    NoStart {
        /// The first byte (0 for empty input).
        found: u8,
    },
    /// No `!` end mark: the telegram is incomplete.
    #[error("DSMR telegram incomplete: no '!' end mark")]
    NoEnd,
    /// The identification line is not terminated by CR LF.
    #[error("DSMR identification line not terminated by CR LF")]
    Identification,
    /// A byte outside printable ASCII, CR and LF inside the telegram.
    #[error("DSMR telegram holds byte {byte:#04X} at offset {offset}, outside ASCII text")]
    NotText {
        /// Offset from `/`.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// The characters after `!` are neither empty nor 4 hex digits.
    #[error("DSMR CRC field {text:?} is not 4 hex digits")]
    CrcFormat {
        /// The text after `!` up to the line end.
        text: String,
    },
    /// The CRC does not match.
    #[error("DSMR CRC mismatch: telegram carries {carried:04X}, computed {computed:04X}")]
    CrcMismatch {
        /// The CRC sent.
        carried: u16,
        /// CRC-16/ARC over `/` .. `!`.
        computed: u16,
    },
    /// Bytes other than CR, LF or NUL padding follow the CRC line.
    #[error("{count} byte(s) after the DSMR telegram")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

/// The outcome of the CRC check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CrcCheck {
    /// The CRC was present and matched.
    Verified {
        /// The CRC value.
        crc: u16,
    },
    /// The telegram ends with a bare `!` (DSMR 2/3 style): nothing to check.
    Absent,
    /// The CRC was present and did not match (only from [`Telegram::parse_ignoring_crc`]).
    Mismatch {
        /// The CRC sent.
        carried: u16,
        /// The CRC computed.
        computed: u16,
    },
}

/// One `(value[*unit])` group of a data line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DsmrValue {
    /// The text before `*` (or all of it).
    pub text: String,
    /// The unit after `*`, when present.
    pub unit: Option<String>,
}

/// One data line: an OBIS code and its value groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataLine {
    /// The OBIS code (`1-0:1.8.0` → 1.0.1.8.0.255).
    pub obis: Obis,
    /// The value groups in order (several for e.g. gas readings with a capture time).
    pub values: Vec<DsmrValue>,
}

/// A line that could not be read as a data line (kept so that nothing is lost silently).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedLine {
    /// Line number within the telegram (0 = identification line).
    pub line: usize,
    /// The text of the line.
    pub text: String,
    /// Why it was skipped.
    pub reason: String,
}

/// A parsed DSMR/P1 telegram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Telegram {
    /// The identification after `/` (e.g. `KAM5`, `ISK9\2M551T-200`): three letters of
    /// manufacturer, the baud-rate digit, then the meter's identification.
    pub identification: String,
    /// The data lines in order.
    pub lines: Vec<DataLine>,
    /// Lines that were not data lines.
    pub skipped: Vec<SkippedLine>,
    /// The CRC check.
    pub crc: CrcCheck,
}

/// CRC-16/ARC (poly 0x8005 reflected = 0xA001, init 0, no final XOR; check value of
/// "123456789" = 0xBB3D), as DSMR 5.0.2 §6.2 specifies for P1 telegrams.
pub fn crc16_arc(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |mut crc, b| {
        crc ^= u16::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xA001 } else { crc >> 1 };
        }
        crc
    })
}

impl Telegram {
    /// Parses and checks a telegram: starts with `/`, ends with `!` followed by four hex
    /// digits (or nothing) and CR LF; trailing CR, LF and NUL padding is accepted.
    ///
    /// # Errors
    /// Every [`DsmrError`]; [`DsmrError::CrcMismatch`] when the CRC is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Telegram, DsmrError> {
        let t = Self::parse_ignoring_crc(bytes)?;
        match t.crc {
            CrcCheck::Mismatch { carried, computed } => Err(DsmrError::CrcMismatch { carried, computed }),
            _ => Ok(t),
        }
    }

    /// As [`Telegram::parse`] but a wrong CRC is reported in [`Telegram::crc`] instead of
    /// failing (for captures whose text was edited, e.g. a redacted meter number).
    ///
    /// # Errors
    /// Every [`DsmrError`] except [`DsmrError::CrcMismatch`].
    pub fn parse_ignoring_crc(bytes: &[u8]) -> Result<Telegram, DsmrError> {
        match bytes.first() {
            Some(b'/') => {}
            other => return Err(DsmrError::NoStart { found: other.copied().unwrap_or(0) }),
        }
        let end = bytes.iter().position(|&b| b == b'!').ok_or(DsmrError::NoEnd)?;
        let covered = bytes.get(..=end).unwrap_or_default();
        if let Some((offset, &byte)) =
            covered.iter().enumerate().find(|(_, b)| !(b.is_ascii_graphic() || matches!(b, b' ' | b'\r' | b'\n')))
        {
            return Err(DsmrError::NotText { offset, byte });
        }
        let after = bytes.get(end + 1..).unwrap_or_default();
        let crc_len = after.iter().take_while(|b| !matches!(b, b'\r' | b'\n' | 0)).count();
        let (crc_text, tail) = after.split_at(crc_len.min(after.len()));
        let crc_text = String::from_utf8_lossy(crc_text).into_owned();
        let computed = crc16_arc(covered);
        let crc = match crc_text.len() {
            0 => CrcCheck::Absent,
            4 if crc_text.bytes().all(|b| b.is_ascii_hexdigit()) => {
                let carried =
                    u16::from_str_radix(&crc_text, 16).map_err(|_| DsmrError::CrcFormat { text: crc_text })?;
                if carried == computed {
                    CrcCheck::Verified { crc: carried }
                } else {
                    CrcCheck::Mismatch { carried, computed }
                }
            }
            _ => return Err(DsmrError::CrcFormat { text: crc_text }),
        };
        let junk = tail.iter().filter(|b| !matches!(b, b'\r' | b'\n' | 0)).count();
        if junk > 0 {
            return Err(DsmrError::TrailingBytes { count: junk });
        }
        // Covered bytes are ASCII, so the text conversion is exact.
        let text = String::from_utf8_lossy(covered.get(1..end).unwrap_or_default()).into_owned();
        let mut lines = text.split("\r\n");
        let identification = lines.next().ok_or(DsmrError::Identification)?.to_string();
        if !text.contains("\r\n") || identification.contains('\n') || identification.contains('\r') {
            return Err(DsmrError::Identification);
        }
        let mut data = Vec::new();
        let mut skipped = Vec::new();
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                continue;
            }
            match parse_line(line) {
                Ok(l) => data.push(l),
                Err(reason) => skipped.push(SkippedLine { line: i + 1, text: line.to_string(), reason }),
            }
        }
        Ok(Telegram { identification, lines: data, skipped, crc })
    }

    /// The meter time from the `0-0:1.0.0` line, when present and well formed.
    pub fn meter_time(&self) -> Option<MeterTime> {
        self.lines
            .iter()
            .find(|l| (l.obis.a(), l.obis.c(), l.obis.d(), l.obis.e()) == (0, 1, 0, 0))
            .and_then(|l| l.values.first())
            .and_then(|v| MeterTime::from_dsmr(&v.text))
    }

    /// The meter number: the `0-0:96.1.0` or `0-0:96.1.1` equipment identifier (DSMR 5
    /// sends the latter as hex-encoded ASCII, which is decoded when it is printable).
    pub fn meter_id(&self) -> Option<String> {
        let find = |e: u8| {
            self.lines
                .iter()
                .find(|l| (l.obis.a(), l.obis.c(), l.obis.d(), l.obis.e()) == (0, 96, 1, e))
                .and_then(|l| l.values.first())
                .map(|v| v.text.clone())
                .filter(|t| !t.is_empty())
        };
        find(0).or_else(|| find(1).map(|t| decode_hex_ascii(&t).unwrap_or(t)))
    }

    /// The data lines as [`HanValue`]s, one per line with a single value group; numbers
    /// with a unit are scaled to the base unit (kWh → Wh, kW → W, kvarh → varh).
    pub fn values(&self) -> Vec<HanValue> {
        self.lines
            .iter()
            .filter_map(|l| match l.values.as_slice() {
                [v] => Some((l.obis, v)),
                _ => None,
            })
            .enumerate()
            .map(|(index, (obis, v))| dsmr_value(index, obis, v))
            .collect()
    }
}

fn decode_hex_ascii(t: &str) -> Option<String> {
    if t.len() % 2 != 0 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..t.len()).step_by(2).map(|i| u8::from_str_radix(t.get(i..i + 2)?, 16).ok()).collect();
    let bytes = bytes?;
    (!bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic()))
        .then(|| String::from_utf8_lossy(&bytes).into_owned())
}

/// `A-B:C.D.E(v)(v)...`: the OBIS code and its value groups.
fn parse_line(line: &str) -> Result<DataLine, String> {
    let open = line.find('(').ok_or("no '(' value group")?;
    let (id, mut rest) = line.split_at(open);
    if !id.contains(':') || id.matches(':').count() != 1 {
        return Err(format!("identifier {id:?} is not A-B:C.D.E"));
    }
    let obis: Obis = id.parse().map_err(|e: crate::obis::ObisParseError| e.to_string())?;
    let mut values = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('(').ok_or_else(|| format!("unexpected text {rest:?} after a value group"))?;
        let close = inner.find(')').ok_or("value group not closed by ')'")?;
        let (group, after) = inner.split_at(close);
        rest = after.get(1..).unwrap_or_default();
        values.push(match group.split_once('*') {
            Some((text, unit)) => DsmrValue { text: text.to_string(), unit: Some(unit.to_string()) },
            None => DsmrValue { text: group.to_string(), unit: None },
        });
    }
    Ok(DataLine { obis, values })
}

/// The COSEM unit and power of ten of a DSMR unit text (`kWh` → (Wh, 3)).
fn dsmr_unit(unit: &str) -> Option<(CosemUnit, i8)> {
    let (code, pow) = match unit.to_ascii_lowercase().as_str() {
        "kwh" => (30, 3),
        "wh" => (30, 0),
        "kw" => (27, 3),
        "w" => (27, 0),
        "kvarh" => (32, 3),
        "varh" => (32, 0),
        "kvar" => (29, 3),
        "var" => (29, 0),
        "kvah" => (31, 3),
        "vah" => (31, 0),
        "kva" => (28, 3),
        "va" => (28, 0),
        "v" => (35, 0),
        "a" => (33, 0),
        "hz" => (44, 0),
        "m3" => (13, 0),
        "gj" => (25, 9),
        "s" => (7, 0),
        _ => return None,
    };
    Some((CosemUnit(code), pow))
}

/// A decimal text `[-]digits[.digits]` as (mantissa, number of decimals).
fn decimal(text: &str) -> Option<(i64, u8)> {
    let (neg, t) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let m: i64 = format!("{int}{frac}").parse().ok()?;
    Some((if neg { -m } else { m }, u8::try_from(frac.len()).ok()?))
}

fn dsmr_value(index: usize, obis: Obis, v: &DsmrValue) -> HanValue {
    let numeric = v.unit.as_deref().and_then(dsmr_unit).and_then(|(unit, pow)| {
        let (mantissa, decimals) = decimal(&v.text)?;
        let scaler = i8::try_from(i16::from(pow) - i16::from(decimals)).ok()?;
        Some((mantissa, ScalerUnit::new(scaler, unit)))
    });
    match numeric {
        Some((mantissa, su)) => {
            let raw = Data::Long64(mantissa);
            HanValue {
                index,
                obis: Some(obis),
                obis_source: Some(ObisSource::Dsmr),
                value: su.apply(&raw),
                text: su.format_value(&raw),
                unit: unit_symbol(su.unit),
                raw: RawValue::Dsmr(v.text.clone()),
                scaler_unit: Some(su),
                scaler_source: Some(ScalerSource::DsmrUnit),
            }
        }
        None => HanValue {
            index,
            obis: Some(obis),
            obis_source: Some(ObisSource::Dsmr),
            raw: RawValue::Dsmr(v.text.clone()),
            scaler_unit: None,
            scaler_source: None,
            value: None,
            unit: v.unit.clone(),
            text: Some(match &v.unit {
                Some(u) => format!("{} {u}", v.text),
                None => v.text.clone(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn telegram(body: &str) -> Vec<u8> {
        let covered = format!("/TST5 test\r\n\r\n{body}!");
        format!("{covered}{:04X}\r\n", crc16_arc(covered.as_bytes())).into_bytes()
    }

    #[test]
    fn crc16_arc_check_value() {
        assert_eq!(crc16_arc(b"123456789"), 0xBB3D);
        assert_eq!(crc16_arc(b""), 0);
    }

    #[test]
    fn parses_values_units_and_time() {
        let t = Telegram::parse(&telegram(
            "0-0:1.0.0(240407122854S)\r\n1-0:1.8.0(00009621.983*kWh)\r\n1-0:1.7.0(0001.453*kW)\r\n\
             1-0:32.7.0(237.4*V)\r\n1-0:31.7.0(005.1*A)\r\n0-0:96.1.0(96815390)\r\n",
        ))
        .unwrap();
        assert_eq!(t.identification, "TST5 test");
        assert!(matches!(t.crc, CrcCheck::Verified { .. }));
        assert_eq!(t.meter_id().as_deref(), Some("96815390"));
        assert_eq!(t.meter_time().unwrap().local.to_string(), "2024-04-07T12:28:54");
        let v = t.values();
        assert_eq!(v[1].text.as_deref(), Some("9621983 Wh"));
        assert_eq!(v[1].value, Some(9_621_983.0));
        assert_eq!(v[2].value, Some(1453.0));
        assert_eq!((v[3].value, v[3].unit.as_deref()), (Some(237.4), Some("V")));
        assert_eq!(v[4].text.as_deref(), Some("5.1 A"));
        assert_eq!(v[5].string().as_deref(), Some("96815390"));
    }

    #[test]
    fn crc_mismatch_absent_crc_and_malformed_lines() {
        let mut bad = telegram("1-0:1.8.0(1.000*kWh)\r\n");
        let n = bad.len();
        bad[n - 3] = if bad[n - 3] == b'0' { b'1' } else { b'0' };
        assert!(matches!(Telegram::parse(&bad), Err(DsmrError::CrcMismatch { .. })));
        assert!(matches!(Telegram::parse_ignoring_crc(&bad).unwrap().crc, CrcCheck::Mismatch { .. }));
        let bare = b"/X\r\n\r\n1-0:1.8.0(1*kWh)\r\n1-0:4:24.7.0(0*kW)\r\n!\r\n";
        let t = Telegram::parse(bare).unwrap();
        assert_eq!(t.crc, CrcCheck::Absent);
        assert_eq!(t.lines.len(), 1);
        assert_eq!(t.skipped.len(), 1);
        assert_eq!(Telegram::parse(b"/X\r\n\r\n1-0:1.8.0(1*kWh)\r\n"), Err(DsmrError::NoEnd));
        assert_eq!(Telegram::parse(b"X"), Err(DsmrError::NoStart { found: b'X' }));
        assert!(matches!(Telegram::parse(b"/X\r\n!12\r\n"), Err(DsmrError::CrcFormat { .. })));
        let mut padded = telegram("");
        padded.extend_from_slice(&[0, 0, 0]);
        assert!(Telegram::parse(&padded).is_ok());
        padded.push(b'x');
        assert_eq!(Telegram::parse(&padded), Err(DsmrError::TrailingBytes { count: 1 }));
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal("00009621.983"), Some((9_621_983, 3)));
        assert_eq!(decimal("000"), Some((0, 0)));
        assert_eq!(decimal("-1.5"), Some((-15, 1)));
        assert_eq!(decimal("1.2.3"), None);
        assert_eq!(decimal(""), None);
        assert_eq!(decimal("99999999999999999999"), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = Telegram::parse(&bytes).map(|t| t.values());
        }

        #[test]
        fn text_never_panics(s in "/[ -~]{0,20}\r\n(\r\n[0-9:.\\-]{1,12}\\([ -~]{0,12}\\)){0,5}\r\n![0-9A-F]{0,5}\r\n") {
            if let Ok(t) = Telegram::parse_ignoring_crc(s.as_bytes()) {
                let _ = (t.values(), t.meter_time(), t.meter_id());
            }
        }

        #[test]
        fn energy_values_scale_exactly(int in 0u32..100_000_000, frac in 0u16..1000) {
            let line = format!("1-0:1.8.0({int:08}.{frac:03}*kWh)\r\n");
            let t = Telegram::parse(&telegram(&line)).unwrap();
            let v = t.values();
            prop_assert_eq!(v[0].value, Some(f64::from(int) * 1000.0 + f64::from(frac)));
        }
    }
}
