//! Reading types: what a value measures, in which unit, with its OBIS code (IEC
//! 62056-6-1) and its IEC 61968-9 CIM ReadingType 18-field code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Engineering unit of a stored value (after the COSEM scaler was applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Unit {
    /// Watt-hour (active energy).
    Wh,
    /// Volt-ampere-reactive hour (reactive energy).
    Varh,
    /// Watt (active power).
    W,
    /// Volt.
    V,
    /// Ampere.
    A,
    /// Cubic metre (volume; water).
    M3,
}

impl Unit {
    /// The symbol, e.g. "Wh".
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Wh => "Wh",
            Unit::Varh => "varh",
            Unit::W => "W",
            Unit::V => "V",
            Unit::A => "A",
            Unit::M3 => "m3",
        }
    }
}

/// The quantities gridedge stores.
///
/// Energy channels of the load profile are stored as captured: the cumulative register
/// value (CIM "bulkQuantity") at each interval end. Interval consumption is derived as the
/// difference of consecutive values, so a re-read, a gap or a late interval never
/// corrupts a neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingType {
    /// +A active energy import, total (1.0.1.8.0.255), Wh.
    ActiveEnergyImport,
    /// +A active energy import, tariff 1 (1.0.1.8.1.255), Wh.
    ActiveEnergyImportT1,
    /// +A active energy import, tariff 2 (1.0.1.8.2.255), Wh.
    ActiveEnergyImportT2,
    /// −A active energy export, total (1.0.2.8.0.255), Wh.
    ActiveEnergyExport,
    /// +R reactive energy import, total (1.0.3.8.0.255), varh.
    ReactiveEnergyImport,
    /// −R reactive energy export, total (1.0.4.8.0.255), varh.
    ReactiveEnergyExport,
    /// +P instantaneous active power import (1.0.1.7.0.255), W.
    ActivePowerImport,
    /// Instantaneous voltage L1 (1.0.32.7.0.255), V.
    VoltageL1,
    /// Instantaneous current L1 (1.0.31.7.0.255), A.
    CurrentL1,
    /// Water volume, current index (8.0.1.0.0.255, IEC 62056-6-1 medium 8 "water"), m³:
    /// the cumulative volume register of a water meter (CIM bulkQuantity of potable water).
    WaterVolume,
}

impl ReadingType {
    /// The electricity reading types (medium 1), in a stable order: what the HES reads
    /// from an electricity meter.
    pub const ELECTRICITY: [ReadingType; 9] = [
        ReadingType::ActiveEnergyImport,
        ReadingType::ActiveEnergyImportT1,
        ReadingType::ActiveEnergyImportT2,
        ReadingType::ActiveEnergyExport,
        ReadingType::ReactiveEnergyImport,
        ReadingType::ReactiveEnergyExport,
        ReadingType::ActivePowerImport,
        ReadingType::VoltageL1,
        ReadingType::CurrentL1,
    ];

    /// Every reading type, in a stable order.
    pub const ALL: [ReadingType; 10] = [
        ReadingType::ActiveEnergyImport,
        ReadingType::ActiveEnergyImportT1,
        ReadingType::ActiveEnergyImportT2,
        ReadingType::ActiveEnergyExport,
        ReadingType::ReactiveEnergyImport,
        ReadingType::ReactiveEnergyExport,
        ReadingType::ActivePowerImport,
        ReadingType::VoltageL1,
        ReadingType::CurrentL1,
        ReadingType::WaterVolume,
    ];

    /// The OBIS code as its six value groups.
    pub fn obis(self) -> [u8; 6] {
        match self {
            ReadingType::ActiveEnergyImport => [1, 0, 1, 8, 0, 255],
            ReadingType::ActiveEnergyImportT1 => [1, 0, 1, 8, 1, 255],
            ReadingType::ActiveEnergyImportT2 => [1, 0, 1, 8, 2, 255],
            ReadingType::ActiveEnergyExport => [1, 0, 2, 8, 0, 255],
            ReadingType::ReactiveEnergyImport => [1, 0, 3, 8, 0, 255],
            ReadingType::ReactiveEnergyExport => [1, 0, 4, 8, 0, 255],
            ReadingType::ActivePowerImport => [1, 0, 1, 7, 0, 255],
            ReadingType::VoltageL1 => [1, 0, 32, 7, 0, 255],
            ReadingType::CurrentL1 => [1, 0, 31, 7, 0, 255],
            ReadingType::WaterVolume => [8, 0, 1, 0, 0, 255],
        }
    }

    /// The reading type measured by a register with this OBIS code, if gridedge stores it.
    pub fn from_obis(obis: [u8; 6]) -> Option<ReadingType> {
        ReadingType::ALL.into_iter().find(|t| t.obis() == obis)
    }

    /// The unit stored values are in.
    pub fn unit(self) -> Unit {
        match self {
            ReadingType::ActiveEnergyImport
            | ReadingType::ActiveEnergyImportT1
            | ReadingType::ActiveEnergyImportT2
            | ReadingType::ActiveEnergyExport => Unit::Wh,
            ReadingType::ReactiveEnergyImport | ReadingType::ReactiveEnergyExport => Unit::Varh,
            ReadingType::ActivePowerImport => Unit::W,
            ReadingType::VoltageL1 => Unit::V,
            ReadingType::CurrentL1 => Unit::A,
            ReadingType::WaterVolume => Unit::M3,
        }
    }

    /// True for cumulative registers (bulk quantities): energy (Wh, varh) and volume (m³).
    pub fn is_cumulative(self) -> bool {
        matches!(self.unit(), Unit::Wh | Unit::Varh | Unit::M3)
    }

    /// The IEC 61968-9 Annex C ReadingType code (18 dot-separated fields: macroPeriod,
    /// aggregate, measuringPeriod, accumulation, flowDirection, commodity, measurementKind,
    /// interharmonic num/den, argument num/den, TOU, cpp, consumptionTier, phases,
    /// multiplier, unit, currency) for the value as stored. Energy values are bulk
    /// quantities (accumulation 1) of a 15-minute interval profile (measuringPeriod 2);
    /// instantaneous values use measuringPeriod 0 and accumulation 12.
    pub fn cim_code(self) -> &'static str {
        match self {
            // 0 none, 0 none, 2 fifteenMinute, 1 bulkQuantity, 1 forward, 1 electricity
            // secondary metered, 12 energy, ..., 72 Wh
            ReadingType::ActiveEnergyImport => "0.0.2.1.1.1.12.0.0.0.0.0.0.0.0.0.72.0",
            ReadingType::ActiveEnergyImportT1 => "0.0.2.1.1.1.12.0.0.0.0.1.0.0.0.0.72.0",
            ReadingType::ActiveEnergyImportT2 => "0.0.2.1.1.1.12.0.0.0.0.2.0.0.0.0.72.0",
            ReadingType::ActiveEnergyExport => "0.0.2.1.19.1.12.0.0.0.0.0.0.0.0.0.72.0",
            // 73 varh
            ReadingType::ReactiveEnergyImport => "0.0.2.1.1.1.12.0.0.0.0.0.0.0.0.0.73.0",
            ReadingType::ReactiveEnergyExport => "0.0.2.1.19.1.12.0.0.0.0.0.0.0.0.0.73.0",
            // 12 indicating, 37 power, 38 W
            ReadingType::ActivePowerImport => "0.0.0.12.1.1.37.0.0.0.0.0.0.0.128.0.38.0",
            // 54 voltage, 29 V, phase A-N 129
            ReadingType::VoltageL1 => "0.0.0.12.0.1.54.0.0.0.0.0.0.0.129.0.29.0",
            // 4 current, 5 A
            ReadingType::CurrentL1 => "0.0.0.12.0.1.4.0.0.0.0.0.0.0.128.0.5.0",
            // 0 none (profile length not implied), 1 bulkQuantity, 1 forward, 9 potableWater,
            // 58 volume, ..., 42 m3
            ReadingType::WaterVolume => "0.0.0.1.1.9.58.0.0.0.0.0.0.0.0.0.42.0",
        }
    }

    /// The stable snake_case name used in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadingType::ActiveEnergyImport => "active_energy_import",
            ReadingType::ActiveEnergyImportT1 => "active_energy_import_t1",
            ReadingType::ActiveEnergyImportT2 => "active_energy_import_t2",
            ReadingType::ActiveEnergyExport => "active_energy_export",
            ReadingType::ReactiveEnergyImport => "reactive_energy_import",
            ReadingType::ReactiveEnergyExport => "reactive_energy_export",
            ReadingType::ActivePowerImport => "active_power_import",
            ReadingType::VoltageL1 => "voltage_l1",
            ReadingType::CurrentL1 => "current_l1",
            ReadingType::WaterVolume => "water_volume",
        }
    }
}

impl fmt::Display for ReadingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of [`ReadingType::as_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reading type {0:?}")]
pub struct UnknownReadingType(pub String);

impl FromStr for ReadingType {
    type Err = UnknownReadingType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReadingType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| UnknownReadingType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_obis_are_unique_and_round_trip() {
        for t in ReadingType::ALL {
            assert_eq!(t.as_str().parse::<ReadingType>().unwrap(), t);
            assert_eq!(ReadingType::from_obis(t.obis()), Some(t));
            assert_eq!(t.cim_code().split('.').count(), 18, "{t}");
        }
        assert!("nope".parse::<ReadingType>().is_err());
    }
}
