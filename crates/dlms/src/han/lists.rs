//! Vendor list definitions for HAN pushes whose frames do not say everything: the
//! position → OBIS tables of lists that carry no OBIS codes, and the scalers of lists that
//! carry OBIS codes but no `scaler_unit`.
//!
//! Sources (facts, not code):
//! * Norwegian HAN, "OBIS list information" of NEK/NVE (the list 1/2/3 definitions the
//!   Norwegian grid operators publish for Aidon, Kaifa and Kamstrup meters): Kaifa sends
//!   lists without OBIS codes, current in mA, voltage in 0.1 V, power in W, energy in Wh;
//!   Kamstrup sends OBIS codes with channel B = 1 and no scaler, current in 0.01 A, voltage
//!   in V, power in W, energy in 0.01 kWh (10 Wh).
//! * Landis+Gyr E450 customer-interface pushes (Swiss and Austrian operators): no scalers
//!   in the frame; voltage in whole volts, current in 0.01 A, power in W, energy in Wh
//!   (reports in UtilitechAS/amsreader-firmware #782, scs/smartmeter-datacollector #40).
//!   The Austrian positional list (Netz Burgenland, amsreader-firmware #501; also posted in
//!   arendst/Tasmota #23027) is voltages L1-L3, currents L1-L3, active power +/−, active
//!   energy +/−, then the meter number as the last element.

use crate::data::Data;
use crate::obis::Obis;
use crate::unit::{CosemUnit, ScalerUnit};

/// One position of a list that carries no OBIS codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListEntry {
    /// The OBIS code the position stands for; `None` for positions the source does not name.
    pub obis: Option<Obis>,
    /// Scaler and unit of numeric values at this position (`None` for strings and times).
    pub scaler_unit: Option<ScalerUnit>,
}

/// A list definition: the meaning of each position of a notification body structure.
#[derive(Debug, Clone, Copy)]
pub struct PositionalList {
    /// A stable name, e.g. `"nve-kaifa-list-3-three-phase"`.
    pub name: &'static str,
    /// The document or report that defines it.
    pub source: &'static str,
    /// The positions, in order.
    pub entries: &'static [ListEntry],
    /// Which bodies the list applies to (besides having exactly `entries.len()` elements).
    pub matches: fn(&[Data]) -> bool,
}

const fn su(scaler: i8, unit: u8) -> Option<ScalerUnit> {
    Some(ScalerUnit::new(scaler, CosemUnit(unit)))
}

const fn e(a: u8, b: u8, c: u8, d: u8, ee: u8, f: u8, scaler_unit: Option<ScalerUnit>) -> ListEntry {
    ListEntry { obis: Some(Obis::new(a, b, c, d, ee, f)), scaler_unit }
}

const UNNAMED: ListEntry = ListEntry { obis: None, scaler_unit: None };

// Units (IEC 62056-6-2 §4.3.2 codes).
const W: u8 = 27;
const VAR: u8 = 29;
const WH: u8 = 30;
const VARH: u8 = 32;
const A: u8 = 33;
const V: u8 = 35;

/// NVE list version identifier, meter id (GS1), meter type.
const NVE_VERSION: ListEntry = e(1, 1, 0, 2, 129, 255, None);
const NVE_METER_ID: ListEntry = e(0, 0, 96, 1, 0, 255, None);
const NVE_METER_TYPE: ListEntry = e(0, 0, 96, 1, 7, 255, None);
const CLOCK: ListEntry = e(0, 0, 1, 0, 0, 255, None);

const KAIFA_P_IMPORT: ListEntry = e(1, 0, 1, 7, 0, 255, su(0, W));
const KAIFA_P_EXPORT: ListEntry = e(1, 0, 2, 7, 0, 255, su(0, W));
const KAIFA_Q_IMPORT: ListEntry = e(1, 0, 3, 7, 0, 255, su(0, VAR));
const KAIFA_Q_EXPORT: ListEntry = e(1, 0, 4, 7, 0, 255, su(0, VAR));
const KAIFA_I1: ListEntry = e(1, 0, 31, 7, 0, 255, su(-3, A));
const KAIFA_I2: ListEntry = e(1, 0, 51, 7, 0, 255, su(-3, A));
const KAIFA_I3: ListEntry = e(1, 0, 71, 7, 0, 255, su(-3, A));
const KAIFA_U1: ListEntry = e(1, 0, 32, 7, 0, 255, su(-1, V));
const KAIFA_U2: ListEntry = e(1, 0, 52, 7, 0, 255, su(-1, V));
const KAIFA_U3: ListEntry = e(1, 0, 72, 7, 0, 255, su(-1, V));
const KAIFA_A_IMPORT: ListEntry = e(1, 0, 1, 8, 0, 255, su(0, WH));
const KAIFA_A_EXPORT: ListEntry = e(1, 0, 2, 8, 0, 255, su(0, WH));
const KAIFA_R_IMPORT: ListEntry = e(1, 0, 3, 8, 0, 255, su(0, VARH));
const KAIFA_R_EXPORT: ListEntry = e(1, 0, 4, 8, 0, 255, su(0, VARH));

const NVE_SOURCE: &str = "NEK/NVE Norwegian HAN OBIS list information, Kaifa lists 1-3 (mA, 0.1 V, W, Wh)";

/// True when the first element is a string starting with the Kaifa list version `KFM_`.
fn kaifa_version_first(body: &[Data]) -> bool {
    body.first().and_then(Data::as_bytes).is_some_and(|b| b.starts_with(b"KFM_"))
}

fn single_integer(body: &[Data]) -> bool {
    matches!(body, [d] if d.as_integer().is_some())
}

/// Landis+Gyr E450 Austrian positional list: U1-U3, I1-I3, P+, P−, A+, A−, meter number.
const LG_AT_11: [ListEntry; 11] = [
    e(1, 0, 32, 7, 0, 255, su(0, V)),
    e(1, 0, 52, 7, 0, 255, su(0, V)),
    e(1, 0, 72, 7, 0, 255, su(0, V)),
    e(1, 0, 31, 7, 0, 255, su(-2, A)),
    e(1, 0, 51, 7, 0, 255, su(-2, A)),
    e(1, 0, 71, 7, 0, 255, su(-2, A)),
    e(1, 0, 1, 7, 0, 255, su(0, W)),
    e(1, 0, 2, 7, 0, 255, su(0, W)),
    e(1, 0, 1, 8, 0, 255, su(0, WH)),
    e(1, 0, 2, 8, 0, 255, su(0, WH)),
    NVE_METER_ID,
];

/// The 14-element variant (amsreader-firmware #501, Netz Burgenland): the 11 elements
/// above with three further long-unsigned values before the meter number, which the
/// source does not name.
const LG_AT_14: [ListEntry; 14] = [
    LG_AT_11[0],
    LG_AT_11[1],
    LG_AT_11[2],
    LG_AT_11[3],
    LG_AT_11[4],
    LG_AT_11[5],
    LG_AT_11[6],
    LG_AT_11[7],
    LG_AT_11[8],
    LG_AT_11[9],
    UNNAMED,
    UNNAMED,
    UNNAMED,
    NVE_METER_ID,
];

const LG_AT_SOURCE: &str = "Landis+Gyr E450 Austrian customer interface list (amsreader-firmware #501, Tasmota #23027)";

/// Three long-unsigned voltages first and a meter-number string last.
fn lg_at_shape(body: &[Data]) -> bool {
    matches!(body, [Data::LongUnsigned(_), Data::LongUnsigned(_), Data::LongUnsigned(_), .., last]
        if last.as_bytes().is_some())
}

/// Every positional list gridedge knows, tried in order.
pub const POSITIONAL_LISTS: &[PositionalList] = &[
    PositionalList {
        name: "nve-kaifa-list-1",
        source: NVE_SOURCE,
        entries: &[KAIFA_P_IMPORT],
        matches: single_integer,
    },
    PositionalList {
        name: "nve-kaifa-list-2-single-phase",
        source: NVE_SOURCE,
        entries: &[
            NVE_VERSION,
            NVE_METER_ID,
            NVE_METER_TYPE,
            KAIFA_P_IMPORT,
            KAIFA_P_EXPORT,
            KAIFA_Q_IMPORT,
            KAIFA_Q_EXPORT,
            KAIFA_I1,
            KAIFA_U1,
        ],
        matches: kaifa_version_first,
    },
    PositionalList {
        name: "nve-kaifa-list-2-three-phase",
        source: NVE_SOURCE,
        entries: &[
            NVE_VERSION,
            NVE_METER_ID,
            NVE_METER_TYPE,
            KAIFA_P_IMPORT,
            KAIFA_P_EXPORT,
            KAIFA_Q_IMPORT,
            KAIFA_Q_EXPORT,
            KAIFA_I1,
            KAIFA_I2,
            KAIFA_I3,
            KAIFA_U1,
            KAIFA_U2,
            KAIFA_U3,
        ],
        matches: kaifa_version_first,
    },
    PositionalList {
        name: "nve-kaifa-list-3-single-phase",
        source: NVE_SOURCE,
        entries: &[
            NVE_VERSION,
            NVE_METER_ID,
            NVE_METER_TYPE,
            KAIFA_P_IMPORT,
            KAIFA_P_EXPORT,
            KAIFA_Q_IMPORT,
            KAIFA_Q_EXPORT,
            KAIFA_I1,
            KAIFA_U1,
            CLOCK,
            KAIFA_A_IMPORT,
            KAIFA_A_EXPORT,
            KAIFA_R_IMPORT,
            KAIFA_R_EXPORT,
        ],
        matches: kaifa_version_first,
    },
    PositionalList {
        name: "nve-kaifa-list-3-three-phase",
        source: NVE_SOURCE,
        entries: &[
            NVE_VERSION,
            NVE_METER_ID,
            NVE_METER_TYPE,
            KAIFA_P_IMPORT,
            KAIFA_P_EXPORT,
            KAIFA_Q_IMPORT,
            KAIFA_Q_EXPORT,
            KAIFA_I1,
            KAIFA_I2,
            KAIFA_I3,
            KAIFA_U1,
            KAIFA_U2,
            KAIFA_U3,
            CLOCK,
            KAIFA_A_IMPORT,
            KAIFA_A_EXPORT,
            KAIFA_R_IMPORT,
            KAIFA_R_EXPORT,
        ],
        matches: kaifa_version_first,
    },
    PositionalList { name: "landis-gyr-e450-at-11", source: LG_AT_SOURCE, entries: &LG_AT_11, matches: lg_at_shape },
    PositionalList { name: "landis-gyr-e450-at-14", source: LG_AT_SOURCE, entries: &LG_AT_14, matches: lg_at_shape },
];

/// The first positional list whose length and shape fit `body`.
pub fn positional_list_for(body: &[Data]) -> Option<&'static PositionalList> {
    POSITIONAL_LISTS.iter().find(|l| l.entries.len() == body.len() && (l.matches)(body))
}

/// Scalers of an OBIS-coded list that carries no `scaler_unit` structures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalerConvention {
    /// A stable name, e.g. `"nve-kamstrup"`.
    pub name: &'static str,
    /// The document or report that states the resolutions.
    pub source: &'static str,
    /// Scaler for currents (C = 11, 31, 51, 71).
    pub current: i8,
    /// Scaler for voltages (C = 12, 32, 52, 72).
    pub voltage: i8,
    /// Scaler for active/reactive/apparent power (D = 7).
    pub power: i8,
    /// Scaler for energy registers (D = 8).
    pub energy: i8,
}

/// Kamstrup lists of the Norwegian HAN specification (also sent by Kamstrup Omnipower in
/// Denmark, Sweden and Switzerland).
pub const KAMSTRUP_NVE: ScalerConvention = ScalerConvention {
    name: "nve-kamstrup",
    source: "NEK/NVE Norwegian HAN OBIS list information, Kamstrup (0.01 A, 1 V, 1 W, 0.01 kWh)",
    current: -2,
    voltage: 0,
    power: 0,
    energy: 1,
};

/// Kaifa lists that carry OBIS codes (Swedish Kaifa MA304, same resolutions as the NVE
/// Kaifa lists).
pub const KAIFA_NVE: ScalerConvention =
    ScalerConvention { name: "nve-kaifa", source: NVE_SOURCE, current: -3, voltage: -1, power: 0, energy: 0 };

/// Landis+Gyr E450 pushes with a capture-object list but no scalers.
pub const LANDIS_GYR_E450: ScalerConvention = ScalerConvention {
    name: "landis-gyr-e450",
    source: "Landis+Gyr E450 customer interface as reported in amsreader-firmware #782 and smartmeter-datacollector #40 (0.01 A, 1 V, 1 W, 1 Wh)",
    current: -2,
    voltage: 0,
    power: 0,
    energy: 0,
};

impl ScalerConvention {
    /// The scaler and unit this convention gives `obis`, `None` for codes it does not
    /// cover (the unit comes from [`quantity_unit`]).
    pub fn scaler_unit(&self, obis: &Obis) -> Option<ScalerUnit> {
        let unit = quantity_unit(obis)?;
        let scaler = match (obis.c(), obis.d()) {
            (11 | 31 | 51 | 71, 7) => self.current,
            (12 | 32 | 52 | 72, 7) => self.voltage,
            (_, 7) if matches!(unit.0, W | VAR | 28) => self.power,
            (_, 8) => self.energy,
            _ => return None,
        };
        Some(ScalerUnit::new(scaler, unit))
    }
}

/// The unit IEC 62056-6-1 §5.4 (value group C quantities, D = 7 instantaneous, D = 8 time
/// integral) gives an electricity OBIS code (A = 1): W / Wh for active power and energy
/// (C = 1, 2, 15, 16, 21, 22, 41, 42, 61, 62), var / varh for reactive (C = 3..=8, 23, 24,
/// 43, 44, 63, 64), VA / VAh for apparent (C = 9, 10, 29, 30, 49, 50, 69, 70), A for
/// currents (C = 11, 31, 51, 71, 91), V for voltages (C = 12, 32, 52, 72), no unit for
/// power factors (C = 13, 33, 53, 73), Hz for frequency (C = 14). `None` otherwise.
pub fn quantity_unit(obis: &Obis) -> Option<CosemUnit> {
    if obis.a() != 1 {
        return None;
    }
    let d = obis.d();
    let code = match obis.c() {
        1 | 2 | 15 | 16 | 21 | 22 | 41 | 42 | 61 | 62 => match d {
            7 => W,
            8 => WH,
            _ => return None,
        },
        3..=8 | 23 | 24 | 43 | 44 | 63 | 64 => match d {
            7 => VAR,
            8 => VARH,
            _ => return None,
        },
        9 | 10 | 29 | 30 | 49 | 50 | 69 | 70 => match d {
            7 => 28,
            8 => 31,
            _ => return None,
        },
        11 | 31 | 51 | 71 | 91 if d == 7 => A,
        12 | 32 | 52 | 72 if d == 7 => V,
        13 | 33 | 53 | 73 if d == 7 => 255,
        14 if d == 7 => 44,
        _ => return None,
    };
    Some(CosemUnit(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_lengths_match_their_names() {
        let len = |n: &str| POSITIONAL_LISTS.iter().find(|l| l.name == n).unwrap().entries.len();
        assert_eq!(len("nve-kaifa-list-1"), 1);
        assert_eq!(len("nve-kaifa-list-2-single-phase"), 9);
        assert_eq!(len("nve-kaifa-list-2-three-phase"), 13);
        assert_eq!(len("nve-kaifa-list-3-single-phase"), 14);
        assert_eq!(len("nve-kaifa-list-3-three-phase"), 18);
    }

    #[test]
    fn quantity_units() {
        let u = |s: &str| quantity_unit(&s.parse().unwrap()).map(|u| u.0);
        assert_eq!(u("1.1.1.8.0.255"), Some(WH));
        assert_eq!(u("1.0.4.7.0.255"), Some(VAR));
        assert_eq!(u("1.0.71.7.0.255"), Some(A));
        assert_eq!(u("1.0.52.7.0.255"), Some(V));
        assert_eq!(u("1.0.13.7.0.255"), Some(255));
        assert_eq!(u("0.0.96.1.0.255"), None);
        assert_eq!(u("1.0.32.8.0.255"), None);
    }

    #[test]
    fn kamstrup_convention() {
        let s = |o: &str| KAMSTRUP_NVE.scaler_unit(&o.parse().unwrap());
        assert_eq!(s("1.1.1.8.0.255"), Some(ScalerUnit::new(1, CosemUnit(WH))));
        assert_eq!(s("1.1.31.7.0.255"), Some(ScalerUnit::new(-2, CosemUnit(A))));
        assert_eq!(s("1.1.32.7.0.255"), Some(ScalerUnit::new(0, CosemUnit(V))));
        assert_eq!(s("1.1.3.7.0.255"), Some(ScalerUnit::new(0, CosemUnit(VAR))));
        assert_eq!(s("1.1.0.0.5.255"), None);
    }
}
