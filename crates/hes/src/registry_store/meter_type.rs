//! What kind of meter a registry entry is, and which COSEM objects the HES reads from
//! each kind (OBIS codes per IEC 62056-6-1: value group A is the medium, 1 electricity,
//! 7 gas, 8 cold water).

use std::fmt;
use std::str::FromStr;

use dlms::Obis;
use serde::{Deserialize, Serialize};

/// The metered medium.
///
/// Electricity is the full profile gridedge's simulated meters implement. Water and gas
/// are stubs: their OBIS lists follow IEC 62056-6-1 and the scheduler reads them with the
/// same generic reader (clock, serial, registers with scaler_unit, the profile by range),
/// but the MDMS stores only values whose OBIS code is a known [`model::ReadingType`];
/// the others are reported in the job's result only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MeterType {
    /// An electricity meter (medium 1).
    #[default]
    Electricity,
    /// A water meter (medium 8, cold water).
    Water,
    /// A gas meter (medium 7).
    Gas,
}

/// Electricity billing registers (class 3): +A total and tariffs 1/2, −A, +R, −R.
const ELECTRICITY_BILLING: &[Obis] = &[
    Obis::new(1, 0, 1, 8, 0, 255),
    Obis::new(1, 0, 1, 8, 1, 255),
    Obis::new(1, 0, 1, 8, 2, 255),
    Obis::new(1, 0, 2, 8, 0, 255),
    Obis::new(1, 0, 3, 8, 0, 255),
    Obis::new(1, 0, 4, 8, 0, 255),
];
/// Electricity instantaneous values (class 3): +P, U L1, I L1.
const ELECTRICITY_INSTANTANEOUS: &[Obis] =
    &[Obis::new(1, 0, 1, 7, 0, 255), Obis::new(1, 0, 32, 7, 0, 255), Obis::new(1, 0, 31, 7, 0, 255)];
/// Water: volume, current index (8.0.1.0.0.255, m³).
const WATER_BILLING: &[Obis] = &[Obis::new(8, 0, 1, 0, 0, 255)];
/// Water: flow rate (8.0.2.0.0.255, m³/h).
const WATER_INSTANTANEOUS: &[Obis] = &[Obis::new(8, 0, 2, 0, 0, 255)];
/// Gas: volume at metering conditions Vm (7.0.3.0.0.255) and converted volume Vb
/// (7.0.13.0.0.255), m³.
const GAS_BILLING: &[Obis] = &[Obis::new(7, 0, 3, 0, 0, 255), Obis::new(7, 0, 13, 0, 0, 255)];
/// Gas: flow rate at metering conditions (7.0.43.0.0.255, m³/h).
const GAS_INSTANTANEOUS: &[Obis] = &[Obis::new(7, 0, 43, 0, 0, 255)];

impl MeterType {
    /// Every meter type.
    pub const ALL: [MeterType; 3] = [MeterType::Electricity, MeterType::Water, MeterType::Gas];

    /// The stable lower-case name used in the database, CSV files and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            MeterType::Electricity => "electricity",
            MeterType::Water => "water",
            MeterType::Gas => "gas",
        }
    }

    /// The load profile (Profile generic, class 7) the HES reads by range:
    /// `1.0.99.1.0.255` electricity, `8.0.99.1.0.255` water, `7.0.99.1.0.255` gas
    /// (value group C 99 = profiles, D 1 = load profile 1).
    pub fn load_profile(self) -> Obis {
        match self {
            MeterType::Electricity => Obis::new(1, 0, 99, 1, 0, 255),
            MeterType::Water => Obis::new(8, 0, 99, 1, 0, 255),
            MeterType::Gas => Obis::new(7, 0, 99, 1, 0, 255),
        }
    }

    /// The cumulative registers of a billing read (class 3 Register, attributes 2 and 3).
    pub fn billing_registers(self) -> &'static [Obis] {
        match self {
            MeterType::Electricity => ELECTRICITY_BILLING,
            MeterType::Water => WATER_BILLING,
            MeterType::Gas => GAS_BILLING,
        }
    }

    /// The instantaneous values (class 3 Register, attributes 2 and 3).
    pub fn instantaneous_registers(self) -> &'static [Obis] {
        match self {
            MeterType::Electricity => ELECTRICITY_INSTANTANEOUS,
            MeterType::Water => WATER_INSTANTANEOUS,
            MeterType::Gas => GAS_INSTANTANEOUS,
        }
    }
}

impl fmt::Display for MeterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a meter type name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown meter type {0:?}: expected electricity, water or gas")]
pub struct UnknownMeterType(pub String);

impl FromStr for MeterType {
    type Err = UnknownMeterType;
    /// Case-insensitive `electricity`, `water` or `gas`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MeterType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownMeterType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_media_match_value_group_a() {
        for t in MeterType::ALL {
            assert_eq!(t.as_str().parse::<MeterType>(), Ok(t));
        }
        assert_eq!(" GAS ".parse::<MeterType>(), Ok(MeterType::Gas));
        assert!("heat".parse::<MeterType>().is_err());
        let medium = |t: MeterType| match t {
            MeterType::Electricity => 1,
            MeterType::Water => 8,
            MeterType::Gas => 7,
        };
        for t in MeterType::ALL {
            assert_eq!(t.load_profile().a(), medium(t));
            assert!(t.billing_registers().iter().chain(t.instantaneous_registers()).all(|o| o.a() == medium(t)));
        }
    }
}
