//! NAESB REQ.21 ESPI (Green Button) vocabulary: namespaces, the enumeration values
//! gridedge writes, and the mapping between gridedge energy channels and ESPI
//! `ReadingType`s. Shared by the ESPI export and the Green Button import.
//!
//! Values are those of the ESPI schema (espi.xsd, NAESB REQ.21) enumerations:
//! `AccumulationKind` 1 bulkQuantity, 4 deltaData; `CommodityKind` 1 electricity secondary
//! metered, 2 electricity primary metered; `DataQualifierKind` 12 normal;
//! `FlowDirectionKind` 1 forward (delivered to the customer), 19 reverse (received);
//! `MeasurementKind` 12 energy; `UnitSymbolKind` 72 Wh, 73 VArh; `ServiceKind` 0
//! electricity; `TimePeriodOfInterest` 0 not applicable.

use model::{ReadingType, Unit};

/// XML namespace of ESPI resources.
pub const ESPI_NS: &str = "http://naesb.org/espi";

/// XML namespace of the Atom feed that carries them (RFC 4287).
pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// `AccumulationKind` bulkQuantity: values are cumulative register readings.
pub const ACCUMULATION_BULK_QUANTITY: u32 = 1;
/// `AccumulationKind` deltaData: values are the consumption within each interval.
pub const ACCUMULATION_DELTA_DATA: u32 = 4;
/// `CommodityKind` electricity, secondary metered.
pub const COMMODITY_ELECTRICITY_SECONDARY: u32 = 1;
/// `CommodityKind` electricity, primary metered.
pub const COMMODITY_ELECTRICITY_PRIMARY: u32 = 2;
/// `DataQualifierKind` normal.
pub const DATA_QUALIFIER_NORMAL: u32 = 12;
/// `FlowDirectionKind` forward: energy delivered to the customer (import, +A, +R).
pub const FLOW_FORWARD: u32 = 1;
/// `FlowDirectionKind` reverse: energy received from the customer (export, −A, −R).
pub const FLOW_REVERSE: u32 = 19;
/// `MeasurementKind` energy.
pub const KIND_ENERGY: u32 = 12;
/// `UnitSymbolKind` watt-hour.
pub const UOM_WH: u32 = 72;
/// `UnitSymbolKind` volt-ampere-reactive hour.
pub const UOM_VARH: u32 = 73;
/// `ServiceKind` electricity (UsagePoint `ServiceCategory/kind`).
pub const SERVICE_ELECTRICITY: u32 = 0;

/// The ESPI `ReadingType` fields gridedge writes and reads for an energy channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EspiReadingType {
    /// `accumulationBehaviour`: [`ACCUMULATION_DELTA_DATA`] or [`ACCUMULATION_BULK_QUANTITY`].
    pub accumulation_behaviour: u32,
    /// `commodity`.
    pub commodity: u32,
    /// `flowDirection`: [`FLOW_FORWARD`] or [`FLOW_REVERSE`].
    pub flow_direction: u32,
    /// `intervalLength`, seconds.
    pub interval_length_s: Option<u32>,
    /// `kind` (`MeasurementKind`).
    pub kind: u32,
    /// `powerOfTenMultiplier`: a value `v` means `v × 10^p` of `uom`.
    pub power_of_ten_multiplier: i32,
    /// `tou`: time-of-use tier (1, 2, ...), `None` for the total.
    pub tou: Option<u32>,
    /// `uom` (`UnitSymbolKind`).
    pub uom: u32,
}

impl EspiReadingType {
    /// The ESPI reading type of interval consumption (`deltaData`) of a gridedge energy
    /// channel with intervals of `interval_length_s`; `None` for instantaneous reading
    /// types (W, V, A), which ESPI interval data does not carry here.
    pub fn delta_data(reading_type: ReadingType, interval_length_s: u32, power_of_ten_multiplier: i32) -> Option<Self> {
        let (uom, flow_direction, tou) = match reading_type {
            ReadingType::ActiveEnergyImport => (UOM_WH, FLOW_FORWARD, None),
            ReadingType::ActiveEnergyImportT1 => (UOM_WH, FLOW_FORWARD, Some(1)),
            ReadingType::ActiveEnergyImportT2 => (UOM_WH, FLOW_FORWARD, Some(2)),
            ReadingType::ActiveEnergyExport => (UOM_WH, FLOW_REVERSE, None),
            ReadingType::ReactiveEnergyImport => (UOM_VARH, FLOW_FORWARD, None),
            ReadingType::ReactiveEnergyExport => (UOM_VARH, FLOW_REVERSE, None),
            ReadingType::ActivePowerImport | ReadingType::VoltageL1 | ReadingType::CurrentL1 => return None,
            ReadingType::WaterVolume => return None,
        };
        Some(EspiReadingType {
            accumulation_behaviour: ACCUMULATION_DELTA_DATA,
            commodity: COMMODITY_ELECTRICITY_SECONDARY,
            flow_direction,
            interval_length_s: Some(interval_length_s),
            kind: KIND_ENERGY,
            power_of_ten_multiplier,
            tou,
            uom,
        })
    }

    /// The gridedge channel this ESPI reading type measures: electricity (commodity 1 or
    /// 2), energy (kind 12), Wh or VArh, forward or reverse, tou absent/0 (total) or 1/2
    /// (tariff registers of active import). `None` for anything else (gas, water, cost,
    /// demand, net flow, ...).
    pub fn gridedge_reading_type(&self) -> Option<ReadingType> {
        let electricity = matches!(self.commodity, COMMODITY_ELECTRICITY_SECONDARY | COMMODITY_ELECTRICITY_PRIMARY);
        if !electricity || self.kind != KIND_ENERGY {
            return None;
        }
        let candidate = match (self.uom, self.flow_direction, self.tou.unwrap_or(0)) {
            (UOM_WH, FLOW_FORWARD, 0) => ReadingType::ActiveEnergyImport,
            (UOM_WH, FLOW_FORWARD, 1) => ReadingType::ActiveEnergyImportT1,
            (UOM_WH, FLOW_FORWARD, 2) => ReadingType::ActiveEnergyImportT2,
            (UOM_WH, FLOW_REVERSE, 0) => ReadingType::ActiveEnergyExport,
            (UOM_VARH, FLOW_FORWARD, 0) => ReadingType::ReactiveEnergyImport,
            (UOM_VARH, FLOW_REVERSE, 0) => ReadingType::ReactiveEnergyExport,
            _ => return None,
        };
        debug_assert!(matches!(candidate.unit(), Unit::Wh | Unit::Varh));
        Some(candidate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_energy_channel_maps_to_espi_and_back() {
        for rt in ReadingType::ALL {
            match EspiReadingType::delta_data(rt, 900, 0) {
                Some(espi) => {
                    assert!(rt.is_cumulative(), "{rt}");
                    assert_eq!(espi.gridedge_reading_type(), Some(rt));
                }
                None => assert!(!rt.is_cumulative() || rt == ReadingType::WaterVolume, "{rt}"),
            }
        }
        let gas = EspiReadingType {
            commodity: 7,
            ..EspiReadingType::delta_data(ReadingType::ActiveEnergyImport, 900, 0).unwrap()
        };
        assert_eq!(gas.gridedge_reading_type(), None);
        let net = EspiReadingType { flow_direction: 4, ..gas };
        assert_eq!(net.gridedge_reading_type(), None);
    }
}
