//! COSEM units and the Register `scaler_unit` attribute (IEC 62056-6-2 §4.3.2, Register
//! interface class, attribute 3; the unit table is the enumeration of that clause, also
//! in DLMS UA 1000-1 Blue Book §4.3.2).
//!
//! A register's value attribute holds a raw integer; its physical value is
//! `raw × 10^scaler` in the unit: a voltage register with value 2307 and scaler_unit
//! `{−1, 35}` reads 230.7 V. [`ScalerUnit::apply`] does that computation exactly for the
//! integers meters send.

use std::fmt;

use serde::Serialize;

use crate::codec::DecodeError;
use crate::data::Data;

/// A COSEM unit code (`enum` in the scaler_unit structure, IEC 62056-6-2 §4.3.2). Codes
/// not in the table (0, 58, 59, 68, 69, 73..=127, 175..=252, and 253 "reserved") are
/// kept as sent: [`CosemUnit::symbol`] returns `None` for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CosemUnit(pub u8);

/// `(code, symbol, name)` for every assigned unit code, in code order.
const UNITS: &[(u8, &str, &str)] = &[
    (1, "a", "year"),
    (2, "mo", "month"),
    (3, "wk", "week"),
    (4, "d", "day"),
    (5, "h", "hour"),
    (6, "min", "minute"),
    (7, "s", "second"),
    (8, "°", "degree (phase angle)"),
    (9, "°C", "degree Celsius"),
    (10, "currency", "(local) currency"),
    (11, "m", "metre"),
    (12, "m/s", "metre per second"),
    (13, "m³", "cubic metre"),
    (14, "m³", "cubic metre (corrected volume)"),
    (15, "m³/h", "cubic metre per hour"),
    (16, "m³/h", "cubic metre per hour (corrected volume flux)"),
    (17, "m³/d", "cubic metre per day"),
    (18, "m³/d", "cubic metre per day (corrected volume flux)"),
    (19, "l", "litre"),
    (20, "kg", "kilogram"),
    (21, "N", "newton"),
    (22, "Nm", "newton metre"),
    (23, "Pa", "pascal"),
    (24, "bar", "bar"),
    (25, "J", "joule"),
    (26, "J/h", "joule per hour"),
    (27, "W", "watt"),
    (28, "VA", "volt-ampere"),
    (29, "var", "var"),
    (30, "Wh", "watt-hour"),
    (31, "VAh", "volt-ampere-hour"),
    (32, "varh", "var-hour"),
    (33, "A", "ampere"),
    (34, "C", "coulomb"),
    (35, "V", "volt"),
    (36, "V/m", "volt per metre"),
    (37, "F", "farad"),
    (38, "Ω", "ohm"),
    (39, "Ωm²/m", "ohm square metre per metre (resistivity)"),
    (40, "Wb", "weber"),
    (41, "T", "tesla"),
    (42, "A/m", "ampere per metre"),
    (43, "H", "henry"),
    (44, "Hz", "hertz"),
    (45, "1/(Wh)", "active energy meter constant or pulse value"),
    (46, "1/(varh)", "reactive energy meter constant or pulse value"),
    (47, "1/(VAh)", "apparent energy meter constant or pulse value"),
    (48, "V²h", "volt-squared hour"),
    (49, "A²h", "ampere-squared hour"),
    (50, "kg/s", "kilogram per second"),
    (51, "S", "siemens (mho)"),
    (52, "K", "kelvin"),
    (53, "1/(V²h)", "volt-squared hour meter constant or pulse value"),
    (54, "1/(A²h)", "ampere-squared hour meter constant or pulse value"),
    (55, "1/m³", "volume meter constant or pulse value"),
    (56, "%", "percentage"),
    (57, "Ah", "ampere-hour"),
    (60, "Wh/m³", "energy per volume"),
    (61, "J/m³", "calorific value, Wobbe index"),
    (62, "Mol %", "molar fraction of gas composition"),
    (63, "g/m³", "mass density"),
    (64, "Pa s", "dynamic viscosity (pascal second)"),
    (65, "J/kg", "specific energy"),
    (66, "g/cm²", "pressure, gram per square centimetre"),
    (67, "atm", "pressure, atmosphere"),
    (70, "dBm", "signal strength, dB milliwatt"),
    (71, "dBµV", "signal strength, dB microvolt"),
    (72, "dB", "logarithmic ratio (decibel)"),
    (128, "in", "inch"),
    (129, "ft", "foot"),
    (130, "lb", "pound (mass)"),
    (131, "°F", "degree Fahrenheit"),
    (132, "°R", "degree Rankine"),
    (133, "sq in", "square inch"),
    (134, "sq ft", "square foot"),
    (135, "ac", "acre"),
    (136, "cu in", "cubic inch"),
    (137, "cu ft", "cubic foot"),
    (138, "ac-ft", "acre-foot"),
    (139, "gal (imp)", "gallon (imperial)"),
    (140, "gal (US)", "gallon (US)"),
    (141, "lbf", "pound force"),
    (142, "psi", "pound force per square inch"),
    (143, "lb/cu ft", "pound per cubic foot"),
    (144, "lb/(ft s)", "pound per foot second"),
    (145, "sq ft/s", "square foot per second"),
    (146, "Btu", "British thermal unit"),
    (147, "thm (EU)", "therm (EU)"),
    (148, "thm (US)", "therm (US)"),
    (149, "Btu/lb", "British thermal unit per pound"),
    (150, "Btu/cu ft", "British thermal unit per cubic foot"),
    (151, "cu ft", "cubic feet"),
    (152, "ft/s", "foot per second"),
    (153, "cu ft/s", "cubic foot per second"),
    (154, "cu ft/min", "cubic foot per minute"),
    (155, "cu ft/h", "cubic foot per hour"),
    (156, "cu ft/d", "cubic foot per day"),
    (157, "ac-ft/s", "acre-foot per second"),
    (158, "ac-ft/min", "acre-foot per minute"),
    (159, "ac-ft/h", "acre-foot per hour"),
    (160, "ac-ft/d", "acre-foot per day"),
    (161, "imp gal", "imperial gallon"),
    (162, "imp gal/s", "imperial gallon per second"),
    (163, "imp gal/min", "imperial gallon per minute"),
    (164, "imp gal/h", "imperial gallon per hour"),
    (165, "imp gal/d", "imperial gallon per day"),
    (166, "US gal", "US gallon"),
    (167, "US gal/s", "US gallon per second"),
    (168, "US gal/min", "US gallon per minute"),
    (169, "US gal/h", "US gallon per hour"),
    (170, "US gal/d", "US gallon per day"),
    (171, "Btu/s", "British thermal unit per second"),
    (172, "Btu/min", "British thermal unit per minute"),
    (173, "Btu/h", "British thermal unit per hour"),
    (174, "Btu/d", "British thermal unit per day"),
    (254, "other", "other unit"),
    (255, "", "count (no unit)"),
];

impl CosemUnit {
    /// 1, a: year.
    pub const YEAR: CosemUnit = CosemUnit(1);
    /// 4, d: day.
    pub const DAY: CosemUnit = CosemUnit(4);
    /// 5, h: hour.
    pub const HOUR: CosemUnit = CosemUnit(5);
    /// 6, min: minute.
    pub const MINUTE: CosemUnit = CosemUnit(6);
    /// 7, s: second.
    pub const SECOND: CosemUnit = CosemUnit(7);
    /// 8, °: phase angle in degrees.
    pub const DEGREE: CosemUnit = CosemUnit(8);
    /// 9, °C: temperature.
    pub const DEGREE_CELSIUS: CosemUnit = CosemUnit(9);
    /// 10: local currency (prepayment credit, tariff charges).
    pub const CURRENCY: CosemUnit = CosemUnit(10);
    /// 13, m³: volume.
    pub const CUBIC_METRE: CosemUnit = CosemUnit(13);
    /// 14, m³: corrected volume.
    pub const CUBIC_METRE_CORRECTED: CosemUnit = CosemUnit(14);
    /// 15, m³/h: volume flux.
    pub const CUBIC_METRE_PER_HOUR: CosemUnit = CosemUnit(15);
    /// 19, l: litre.
    pub const LITRE: CosemUnit = CosemUnit(19);
    /// 25, J: joule.
    pub const JOULE: CosemUnit = CosemUnit(25);
    /// 27, W: active power.
    pub const WATT: CosemUnit = CosemUnit(27);
    /// 28, VA: apparent power.
    pub const VOLT_AMPERE: CosemUnit = CosemUnit(28);
    /// 29, var: reactive power.
    pub const VAR: CosemUnit = CosemUnit(29);
    /// 30, Wh: active energy.
    pub const WATT_HOUR: CosemUnit = CosemUnit(30);
    /// 31, VAh: apparent energy.
    pub const VOLT_AMPERE_HOUR: CosemUnit = CosemUnit(31);
    /// 32, varh: reactive energy.
    pub const VAR_HOUR: CosemUnit = CosemUnit(32);
    /// 33, A: current.
    pub const AMPERE: CosemUnit = CosemUnit(33);
    /// 35, V: voltage.
    pub const VOLT: CosemUnit = CosemUnit(35);
    /// 44, Hz: frequency.
    pub const HERTZ: CosemUnit = CosemUnit(44);
    /// 45, 1/(Wh): active energy meter constant.
    pub const PER_WATT_HOUR: CosemUnit = CosemUnit(45);
    /// 52, K: kelvin.
    pub const KELVIN: CosemUnit = CosemUnit(52);
    /// 56, %: percentage.
    pub const PERCENT: CosemUnit = CosemUnit(56);
    /// 57, Ah: ampere-hour.
    pub const AMPERE_HOUR: CosemUnit = CosemUnit(57);
    /// 70, dBm: signal strength.
    pub const DBM: CosemUnit = CosemUnit(70);
    /// 254: other unit.
    pub const OTHER: CosemUnit = CosemUnit(254);
    /// 255: count, no unit (dimensionless values such as power factor or event counters).
    pub const COUNT: CosemUnit = CosemUnit(255);

    fn entry(self) -> Option<&'static (u8, &'static str, &'static str)> {
        UNITS.binary_search_by_key(&self.0, |e| e.0).ok().and_then(|i| UNITS.get(i))
    }

    /// The unit symbol as printed after a value (`"V"`, `"Wh"`, `"m³"`, `"°C"`); `""` for
    /// 255 (count, no unit), `"other"` for 254; `None` for codes the table does not assign.
    pub fn symbol(self) -> Option<&'static str> {
        self.entry().map(|e| e.1)
    }

    /// The unit's name (`"volt"`, `"watt-hour"`); `"reserved"` for codes the table does not
    /// assign.
    pub fn name(self) -> &'static str {
        self.entry().map_or("reserved", |e| e.2)
    }

    /// True when the code is assigned in the unit table.
    pub fn is_known(self) -> bool {
        self.entry().is_some()
    }
}

impl fmt::Display for CosemUnit {
    /// The symbol; `unit(N)` for codes the table does not assign.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.symbol() {
            Some(s) => f.write_str(s),
            None => write!(f, "unit({})", self.0),
        }
    }
}

impl From<u8> for CosemUnit {
    fn from(code: u8) -> Self {
        CosemUnit(code)
    }
}

/// The Register / Extended register / Demand register `scaler_unit` attribute
/// (IEC 62056-6-2 §4.3.2): `structure { scaler: integer, unit: enum }`. The physical
/// value is `raw × 10^scaler` in `unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ScalerUnit {
    /// Power of ten applied to the raw value (−128..=127; meters use about −6..=6).
    pub scaler: i8,
    /// The unit of the scaled value.
    pub unit: CosemUnit,
}

/// Largest power of ten that is exact in an f64 (10^22 < 2^53 · 2^22).
const MAX_EXACT_POW10_F64: u32 = 22;

impl ScalerUnit {
    /// Builds a scaler_unit.
    pub const fn new(scaler: i8, unit: CosemUnit) -> Self {
        ScalerUnit { scaler, unit }
    }

    /// The attribute value: `structure { integer(scaler), enum(unit) }`.
    pub fn to_data(&self) -> Data {
        Data::Structure(vec![Data::Integer(self.scaler), Data::Enum(self.unit.0)])
    }

    /// Reads the attribute value `structure { integer, enum }`.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] when `data` is not a two-member structure of an
    /// `integer` and an `enum`.
    pub fn from_data(data: &Data) -> Result<ScalerUnit, DecodeError> {
        match data {
            Data::Structure(members) => match members.as_slice() {
                [Data::Integer(scaler), Data::Enum(unit)] => Ok(ScalerUnit { scaler: *scaler, unit: CosemUnit(*unit) }),
                [a, b] => Err(DecodeError::invalid(
                    "scaler_unit",
                    format!(
                        "members have A-XDR types {} and {}, expected integer (15) and enum (22)",
                        a.tag(),
                        b.tag()
                    ),
                )),
                other => Err(DecodeError::invalid(
                    "scaler_unit",
                    format!("structure has {} members, expected 2", other.len()),
                )),
            },
            other => Err(DecodeError::invalid("scaler_unit", format!("A-XDR type {} is not a structure", other.tag()))),
        }
    }

    /// The physical value `raw × 10^scaler` for any numeric `raw` (integer types, enum,
    /// bcd, float32, float64); `None` for non-numeric data. For integers the result is
    /// the f64 nearest to the exact decimal value (2307 with scaler −1 gives exactly
    /// `230.7`) whenever |raw| < 2^53 and |scaler| ≤ 22: the scaling is done in integer
    /// arithmetic or as one correctly rounded division.
    pub fn apply(&self, raw: &Data) -> Option<f64> {
        match raw {
            Data::Float32(v) => Some(scale_f64(f64::from(*v), self.scaler)),
            Data::Float64(v) => Some(scale_f64(*v, self.scaler)),
            other => other.as_integer().map(|v| scale_integer(v, self.scaler)),
        }
    }

    /// The scaled value as exact decimal text followed by the unit symbol, e.g. `"230.7 V"`,
    /// `"10049926 Wh"`, `"-0.05 A"`; no symbol for 255 (count) and `unit(N)` for reserved
    /// codes. Integers are formatted without any floating-point rounding; floats use
    /// [`Self::apply`]. `None` for non-numeric data.
    pub fn format_value(&self, raw: &Data) -> Option<String> {
        let number = match raw.as_integer() {
            Some(v) => decimal_text(v, self.scaler),
            None => match raw {
                Data::Float32(_) | Data::Float64(_) => self.apply(raw)?.to_string(),
                _ => return None,
            },
        };
        Some(match self.unit.symbol() {
            Some("") => number,
            _ => format!("{number} {}", self.unit),
        })
    }
}

fn scale_f64(v: f64, scaler: i8) -> f64 {
    v * 10f64.powi(i32::from(scaler))
}

/// `v × 10^scaler` rounded once to f64 where possible.
fn scale_integer(v: i128, scaler: i8) -> f64 {
    let k = u32::from(scaler.unsigned_abs());
    if scaler >= 0 {
        match 10i128.checked_pow(k).and_then(|p| v.checked_mul(p)) {
            Some(exact) => exact as f64,
            None => scale_f64(v as f64, scaler),
        }
    } else if k <= MAX_EXACT_POW10_F64 {
        // Both operands exact when |v| < 2^53; IEEE division rounds correctly once.
        v as f64 / 10f64.powi(k as i32)
    } else {
        scale_f64(v as f64, scaler)
    }
}

/// Exact decimal text of `v × 10^scaler`.
fn decimal_text(v: i128, scaler: i8) -> String {
    let digits = v.unsigned_abs().to_string();
    let sign = if v < 0 { "-" } else { "" };
    if scaler >= 0 {
        if v == 0 {
            return "0".to_string();
        }
        return format!("{sign}{digits}{}", "0".repeat(usize::from(scaler.unsigned_abs())));
    }
    let frac_len = usize::from(scaler.unsigned_abs());
    let padded =
        if digits.len() <= frac_len { format!("{}{digits}", "0".repeat(frac_len + 1 - digits.len())) } else { digits };
    let (int_part, frac_part) = padded.split_at(padded.len() - frac_len);
    format!("{sign}{int_part}.{frac_part}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(UNITS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn electricity_units_match_the_standard_table() {
        let expect = [
            (27, "W"),
            (28, "VA"),
            (29, "var"),
            (30, "Wh"),
            (31, "VAh"),
            (32, "varh"),
            (33, "A"),
            (35, "V"),
            (44, "Hz"),
            (56, "%"),
            (57, "Ah"),
            (9, "°C"),
            (13, "m³"),
            (72, "dB"),
        ];
        for (code, sym) in expect {
            assert_eq!(CosemUnit(code).symbol(), Some(sym), "unit {code}");
        }
        assert_eq!(CosemUnit::VOLT.name(), "volt");
        assert_eq!(CosemUnit(1).name(), "year");
    }

    #[test]
    fn reserved_codes_have_no_symbol() {
        for code in [0u8, 58, 59, 68, 69, 73, 127, 175, 252, 253] {
            assert_eq!(CosemUnit(code).symbol(), None, "unit {code}");
            assert_eq!(CosemUnit(code).name(), "reserved");
            assert!(!CosemUnit(code).is_known());
            assert_eq!(CosemUnit(code).to_string(), format!("unit({code})"));
        }
        assert!((1..=57).chain(60..=67).chain(70..=72).chain(254..=255).all(|c| CosemUnit(c).is_known()));
        assert_eq!(CosemUnit::COUNT.symbol(), Some(""));
        assert_eq!(CosemUnit::OTHER.name(), "other unit");
    }

    #[test]
    fn apply_is_exact_for_typical_meter_values() {
        let su = ScalerUnit::new(-1, CosemUnit::VOLT);
        assert_eq!(su.apply(&Data::LongUnsigned(2307)), Some(230.7));
        assert_eq!(ScalerUnit::new(-2, CosemUnit::AMPERE).apply(&Data::Long(-5)), Some(-0.05));
        assert_eq!(
            ScalerUnit::new(-3, CosemUnit::WATT_HOUR).apply(&Data::DoubleLongUnsigned(123_456_789)),
            Some(123456.789)
        );
        assert_eq!(ScalerUnit::new(3, CosemUnit::WATT_HOUR).apply(&Data::DoubleLongUnsigned(42)), Some(42000.0));
        assert_eq!(ScalerUnit::new(0, CosemUnit::COUNT).apply(&Data::Unsigned(7)), Some(7.0));
        assert_eq!(ScalerUnit::new(-1, CosemUnit::VOLT).apply(&Data::Float64(2307.0)), Some(2307.0 * 0.1));
        assert_eq!(su.apply(&Data::VisibleString(b"230".to_vec())), None);
        assert_eq!(su.apply(&Data::NullData), None);
    }

    #[test]
    fn apply_survives_extreme_scalers() {
        // 10^127 overflows i128: falls back to floating point, still finite and close.
        let huge = ScalerUnit::new(127, CosemUnit::COUNT).apply(&Data::Long64Unsigned(u64::MAX)).unwrap();
        assert!((huge / 1.8446744073709552e146 - 1.0).abs() < 1e-12, "{huge}");
        let tiny = ScalerUnit::new(-128, CosemUnit::COUNT).apply(&Data::Long64(3)).unwrap();
        assert!((tiny / 3e-128 - 1.0).abs() < 1e-12, "{tiny}");
        assert_eq!(ScalerUnit::new(30, CosemUnit::COUNT).apply(&Data::Integer(0)), Some(0.0));
    }

    #[test]
    fn format_value_prints_exact_decimals() {
        let v = ScalerUnit::new(-1, CosemUnit::VOLT);
        assert_eq!(v.format_value(&Data::LongUnsigned(2307)).as_deref(), Some("230.7 V"));
        let a = ScalerUnit::new(-2, CosemUnit::AMPERE);
        assert_eq!(a.format_value(&Data::Long(-5)).as_deref(), Some("-0.05 A"));
        assert_eq!(a.format_value(&Data::Long(0)).as_deref(), Some("0.00 A"));
        let e = ScalerUnit::new(2, CosemUnit::WATT_HOUR);
        assert_eq!(e.format_value(&Data::DoubleLong(-12)).as_deref(), Some("-1200 Wh"));
        let c = ScalerUnit::new(0, CosemUnit::COUNT);
        assert_eq!(c.format_value(&Data::Unsigned(3)).as_deref(), Some("3"));
        let r = ScalerUnit::new(0, CosemUnit(100));
        assert_eq!(r.format_value(&Data::Unsigned(3)).as_deref(), Some("3 unit(100)"));
        assert_eq!(v.format_value(&Data::Boolean(true)), None);
    }

    #[test]
    fn from_data_rejects_malformed_structures() {
        let bad = [
            Data::Integer(-1),
            Data::Structure(vec![]),
            Data::Structure(vec![Data::Integer(-1)]),
            Data::Structure(vec![Data::Integer(-1), Data::Enum(35), Data::Enum(1)]),
            Data::Structure(vec![Data::Enum(35), Data::Integer(-1)]),
            Data::Structure(vec![Data::Integer(-1), Data::Unsigned(35)]),
            Data::Array(vec![Data::Integer(-1), Data::Enum(35)]),
        ];
        for d in bad {
            assert!(
                matches!(ScalerUnit::from_data(&d), Err(DecodeError::Invalid { what: "scaler_unit", .. })),
                "{d:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn scaler_unit_round_trips_through_data(scaler in any::<i8>(), unit in any::<u8>()) {
            let su = ScalerUnit::new(scaler, CosemUnit(unit));
            let bytes = su.to_data().to_bytes();
            prop_assert_eq!(bytes.clone(), vec![0x02, 0x02, 0x0F, scaler as u8, 0x16, unit]);
            let back = ScalerUnit::from_data(&Data::from_bytes(&bytes).unwrap()).unwrap();
            prop_assert_eq!(back, su);
        }

        #[test]
        fn apply_matches_the_decimal_text(v in -(1i64 << 52)..(1i64 << 52), scaler in -9i8..=9) {
            // The f64 nearest to the exact decimal equals Rust's parse of its decimal text.
            let su = ScalerUnit::new(scaler, CosemUnit::COUNT);
            let text = su.format_value(&Data::Long64(v)).unwrap();
            prop_assert_eq!(su.apply(&Data::Long64(v)).unwrap(), text.parse::<f64>().unwrap());
        }
    }
}
