//! Register objects (interface class 3, IEC 62056-6-2 §4.3.2): attribute 2 `value`,
//! attribute 3 `scaler_unit` = structure { integer scaler, enum unit } (unit codes from the
//! standard's unit table, [`dlms::unit::CosemUnit`]: 27 W, 30 Wh, 32 varh, 33 A, 35 V); the
//! physical value is value × 10^scaler unit.

use dlms::Data;
use dlms::Obis;
use dlms::obis::codes;
use dlms::unit::{CosemUnit, ScalerUnit};

use crate::metrology::InstantaneousValues;
use crate::metrology::registers::EnergyRegisters;

/// The quantities the meter's Register objects hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegisterQuantity {
    /// 1.0.1.8.0.255, active energy import +A total: double-long-unsigned Wh, scaler 0.
    ActiveEnergyImport,
    /// 1.0.1.8.1.255, +A tariff 1 (local 07:00–23:00): double-long-unsigned Wh.
    ActiveEnergyImportT1,
    /// 1.0.1.8.2.255, +A tariff 2 (local 23:00–07:00): double-long-unsigned Wh.
    ActiveEnergyImportT2,
    /// 1.0.2.8.0.255, active energy export −A: double-long-unsigned Wh.
    ActiveEnergyExport,
    /// 1.0.3.8.0.255, reactive energy import +R (Q1+Q2): double-long-unsigned varh.
    ReactiveEnergyImport,
    /// 1.0.4.8.0.255, reactive energy export −R (Q3+Q4): double-long-unsigned varh.
    ReactiveEnergyExport,
    /// 1.0.32.7.0.255, instantaneous L1 voltage: long-unsigned, scaler −1, V.
    VoltageL1,
    /// 1.0.31.7.0.255, instantaneous L1 current: long-unsigned, scaler −2, A.
    CurrentL1,
    /// 1.0.1.7.0.255, instantaneous active power import +P: double-long-unsigned W.
    ActivePowerImport,
}

impl RegisterQuantity {
    /// The object's logical name.
    pub const fn logical_name(self) -> Obis {
        match self {
            RegisterQuantity::ActiveEnergyImport => codes::ACTIVE_ENERGY_IMPORT,
            RegisterQuantity::ActiveEnergyImportT1 => codes::ACTIVE_ENERGY_IMPORT_T1,
            RegisterQuantity::ActiveEnergyImportT2 => codes::ACTIVE_ENERGY_IMPORT_T2,
            RegisterQuantity::ActiveEnergyExport => codes::ACTIVE_ENERGY_EXPORT,
            RegisterQuantity::ReactiveEnergyImport => codes::REACTIVE_ENERGY_IMPORT,
            RegisterQuantity::ReactiveEnergyExport => codes::REACTIVE_ENERGY_EXPORT,
            RegisterQuantity::VoltageL1 => codes::VOLTAGE_L1,
            RegisterQuantity::CurrentL1 => codes::CURRENT_L1,
            RegisterQuantity::ActivePowerImport => codes::ACTIVE_POWER_IMPORT,
        }
    }

    /// Attribute 3 `scaler_unit`.
    pub const fn scaler_unit(self) -> ScalerUnit {
        match self {
            RegisterQuantity::ActiveEnergyImport
            | RegisterQuantity::ActiveEnergyImportT1
            | RegisterQuantity::ActiveEnergyImportT2
            | RegisterQuantity::ActiveEnergyExport => ScalerUnit::new(0, CosemUnit::WATT_HOUR),
            RegisterQuantity::ReactiveEnergyImport | RegisterQuantity::ReactiveEnergyExport => {
                ScalerUnit::new(0, CosemUnit::VAR_HOUR)
            }
            RegisterQuantity::VoltageL1 => ScalerUnit::new(-1, CosemUnit::VOLT),
            RegisterQuantity::CurrentL1 => ScalerUnit::new(-2, CosemUnit::AMPERE),
            RegisterQuantity::ActivePowerImport => ScalerUnit::new(0, CosemUnit::WATT),
        }
    }

    /// Whether the value is an energy register (needs the cumulative registers).
    pub const fn is_energy(self) -> bool {
        !matches!(self, RegisterQuantity::VoltageL1 | RegisterQuantity::CurrentL1 | RegisterQuantity::ActivePowerImport)
    }

    /// Attribute 2 of an energy register from the cumulative registers: double-long-unsigned,
    /// rolling over modulo 2^32 like a real register (after ~700 years of 6 MWh/year);
    /// `None` for the instantaneous quantities.
    pub fn energy_value(self, r: &EnergyRegisters) -> Option<Data> {
        let v = match self {
            RegisterQuantity::ActiveEnergyImport => r.active_import_wh,
            RegisterQuantity::ActiveEnergyImportT1 => r.active_import_t1_wh,
            RegisterQuantity::ActiveEnergyImportT2 => r.active_import_t2_wh,
            RegisterQuantity::ActiveEnergyExport => r.active_export_wh,
            RegisterQuantity::ReactiveEnergyImport => r.reactive_import_varh,
            RegisterQuantity::ReactiveEnergyExport => r.reactive_export_varh,
            _ => return None,
        };
        Some(Data::DoubleLongUnsigned(v as u32))
    }

    /// Attribute 2 of an instantaneous register; `None` for the energy registers.
    pub fn instantaneous_value(self, v: &InstantaneousValues) -> Option<Data> {
        Some(match self {
            RegisterQuantity::VoltageL1 => Data::LongUnsigned(v.voltage_dv),
            RegisterQuantity::CurrentL1 => Data::LongUnsigned(v.current_ca),
            RegisterQuantity::ActivePowerImport => Data::DoubleLongUnsigned(v.active_power_import_w),
            _ => return None,
        })
    }
}
