//! OBIS codes (IEC 62056-6-1 §4, Object Identification System): the six value groups
//! A-B:C.D.E*F that name every COSEM object.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// An OBIS code: value groups A (medium), B (channel), C (quantity), D (processing),
/// E (tariff / classification) and F (billing period; 255 = "current / not used").
///
/// Displayed in the dotted form `1.0.1.8.0.255`; [`Obis::to_reduced`] gives the
/// `1-0:1.8.0*255` form. Parsing accepts both, plus the short forms meters print
/// (`1.8.0`, `1-0:1.8.0`, `1.8.0*255`, `1-0:1.8.0.255`), filling A=1 (electricity) when
/// omitted only if C.D.E are present, B=0 and F=255.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Obis(pub [u8; 6]);

/// Why a string is not an OBIS code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid OBIS code {input:?}: {reason}")]
pub struct ObisParseError {
    /// The text that was given.
    pub input: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl Obis {
    /// Builds a code from its six value groups.
    pub const fn new(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8) -> Self {
        Obis([a, b, c, d, e, f])
    }

    /// Value group A (medium: 0 abstract, 1 electricity, 7 gas, 8 water...).
    pub const fn a(&self) -> u8 {
        self.0[0]
    }
    /// Value group B (channel).
    pub const fn b(&self) -> u8 {
        self.0[1]
    }
    /// Value group C (physical quantity).
    pub const fn c(&self) -> u8 {
        self.0[2]
    }
    /// Value group D (processing: 7 instantaneous, 8 time integral...).
    pub const fn d(&self) -> u8 {
        self.0[3]
    }
    /// Value group E (tariff rate; 0 = total).
    pub const fn e(&self) -> u8 {
        self.0[4]
    }
    /// Value group F (billing period; 255 = not used).
    pub const fn f(&self) -> u8 {
        self.0[5]
    }

    /// The six bytes as sent in a COSEM attribute descriptor (logical name).
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// Builds from a 6-byte logical name.
    ///
    /// # Errors
    /// `None` when `bytes` is not exactly 6 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 6]>::try_from(bytes).ok().map(Obis)
    }

    /// The reduced ID form `A-B:C.D.E*F`, e.g. `1-0:1.8.0*255`.
    pub fn to_reduced(&self) -> String {
        let [a, b, c, d, e, f] = self.0;
        format!("{a}-{b}:{c}.{d}.{e}*{f}")
    }
}

impl fmt::Display for Obis {
    fn fmt(&self, fm: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, f] = self.0;
        write!(fm, "{a}.{b}.{c}.{d}.{e}.{f}")
    }
}

impl fmt::Debug for Obis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Obis({self})")
    }
}

impl FromStr for Obis {
    type Err = ObisParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ObisParseError { input: s.to_string(), reason };
        let t = s.trim();
        if t.is_empty() {
            return Err(err("empty"));
        }
        // Split off "A-B:" prefix if present.
        let (ab, rest) = match t.split_once(':') {
            Some((ab, rest)) => {
                let (a, b) = ab.split_once('-').ok_or_else(|| err("expected A-B before ':'"))?;
                (
                    Some((
                        num(a).ok_or_else(|| err("group A is not 0..=255"))?,
                        num(b).ok_or_else(|| err("group B is not 0..=255"))?,
                    )),
                    rest,
                )
            }
            None => (None, t),
        };
        // Split off "*F" suffix if present.
        let (cde, f_star) = match rest.split_once('*') {
            Some((cde, f)) => (cde, Some(num(f).ok_or_else(|| err("group F is not 0..=255"))?)),
            None => (rest, None),
        };
        let parts: Vec<&str> = cde.split(['.', ',']).collect();
        let mut groups = Vec::with_capacity(6);
        for p in &parts {
            groups.push(num(p).ok_or_else(|| err("a value group is not a number in 0..=255"))?);
        }
        let code = match (ab, groups.len(), f_star) {
            (None, 6, None) => [groups[0], groups[1], groups[2], groups[3], groups[4], groups[5]],
            (Some((a, b)), 3, f) => [a, b, groups[0], groups[1], groups[2], f.unwrap_or(255)],
            (Some((a, b)), 4, None) => [a, b, groups[0], groups[1], groups[2], groups[3]],
            (None, 3, f) => [1, 0, groups[0], groups[1], groups[2], f.unwrap_or(255)],
            (None, 5, f) => [groups[0], groups[1], groups[2], groups[3], groups[4], f.unwrap_or(255)],
            _ => return Err(err("expected A.B.C.D.E.F, A-B:C.D.E*F or a short form C.D.E")),
        };
        Ok(Obis(code))
    }
}

fn num(s: &str) -> Option<u8> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Serialize for Obis {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Obis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Well-known OBIS codes of a residential electricity meter (IEC 62056-6-1 and the
/// DLMS UA Blue Book object list).
pub mod codes {
    use super::Obis;

    /// Clock (class 8).
    pub const CLOCK: Obis = Obis::new(0, 0, 1, 0, 0, 255);
    /// Meter serial number, "device ID 1" (class 1, 0.0.96.1.0.255).
    pub const SERIAL_NUMBER: Obis = Obis::new(0, 0, 96, 1, 0, 255);
    /// COSEM logical device name (class 1, 0.0.42.0.0.255).
    pub const LOGICAL_DEVICE_NAME: Obis = Obis::new(0, 0, 42, 0, 0, 255);
    /// Current association, Association LN (class 15).
    pub const ASSOCIATION_LN: Obis = Obis::new(0, 0, 40, 0, 0, 255);
    /// Disconnect control (class 70).
    pub const DISCONNECT_CONTROL: Obis = Obis::new(0, 0, 96, 3, 10, 255);
    /// Profile status word of load profile 1 (0.0.96.10.1.255).
    pub const LOAD_PROFILE_STATUS: Obis = Obis::new(0, 0, 96, 10, 1, 255);
    /// Load profile 1, the 15-minute interval profile (class 7).
    pub const LOAD_PROFILE_1: Obis = Obis::new(1, 0, 99, 1, 0, 255);
    /// Active energy import (+A), total (Wh register).
    pub const ACTIVE_ENERGY_IMPORT: Obis = Obis::new(1, 0, 1, 8, 0, 255);
    /// Active energy import (+A), tariff 1.
    pub const ACTIVE_ENERGY_IMPORT_T1: Obis = Obis::new(1, 0, 1, 8, 1, 255);
    /// Active energy import (+A), tariff 2.
    pub const ACTIVE_ENERGY_IMPORT_T2: Obis = Obis::new(1, 0, 1, 8, 2, 255);
    /// Active energy export (−A), total.
    pub const ACTIVE_ENERGY_EXPORT: Obis = Obis::new(1, 0, 2, 8, 0, 255);
    /// Reactive energy import (+R, Q1+Q2), total (varh).
    pub const REACTIVE_ENERGY_IMPORT: Obis = Obis::new(1, 0, 3, 8, 0, 255);
    /// Reactive energy export (−R, Q3+Q4), total (varh).
    pub const REACTIVE_ENERGY_EXPORT: Obis = Obis::new(1, 0, 4, 8, 0, 255);
    /// Instantaneous active power import (+P), W.
    pub const ACTIVE_POWER_IMPORT: Obis = Obis::new(1, 0, 1, 7, 0, 255);
    /// Instantaneous current, any phase / single phase (L1: 31), A.
    pub const CURRENT_L1: Obis = Obis::new(1, 0, 31, 7, 0, 255);
    /// Instantaneous voltage, L1 (32), V.
    pub const VOLTAGE_L1: Obis = Obis::new(1, 0, 32, 7, 0, 255);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        let want = Obis::new(1, 0, 1, 8, 0, 255);
        for s in
            ["1.0.1.8.0.255", "1-0:1.8.0*255", "1-0:1.8.0", "1.8.0", "1.8.0*255", "1-0:1.8.0.255", " 1.0.1.8.0.255 "]
        {
            assert_eq!(s.parse::<Obis>().unwrap(), want, "{s}");
        }
        assert_eq!("0-0:96.1.0*255".parse::<Obis>().unwrap(), codes::SERIAL_NUMBER);
        assert_eq!("1-0:1.8.0*101".parse::<Obis>().unwrap().f(), 101);
    }

    #[test]
    fn rejects_bad_forms() {
        for s in ["", "1.0.1.8.0.256", "1.0.1.8", "a.b.c.d.e.f", "1-0:1.8", "1-:1.8.0", "1.0.1.8.0.255.1", "-1.8.0"] {
            assert!(s.parse::<Obis>().is_err(), "{s}");
        }
    }

    #[test]
    fn display_forms() {
        assert_eq!(codes::ACTIVE_ENERGY_IMPORT.to_string(), "1.0.1.8.0.255");
        assert_eq!(codes::ACTIVE_ENERGY_IMPORT.to_reduced(), "1-0:1.8.0*255");
    }

    proptest::proptest! {
        #[test]
        fn display_roundtrip(b: [u8; 6]) {
            let o = Obis(b);
            proptest::prop_assert_eq!(o.to_string().parse::<Obis>().unwrap(), o);
            proptest::prop_assert_eq!(o.to_reduced().parse::<Obis>().unwrap(), o);
        }
    }
}
