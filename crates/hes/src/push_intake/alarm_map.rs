//! Alarm bits → IEC 61968-9 `EndDeviceEventType` codes.
//!
//! The bit assignment is the one of the meters' Alarm register 1 (0.0.97.98.0.255), filter
//! and descriptor: IDIS / DSMR 5 bits 0..=13 (0 clock invalid, 1 replace battery, 2 power
//! up, 3 auxiliary event, 4 configuration changed, 8..=12 self-check errors, 13 fraud
//! attempt, as GXF/OSGP implement Alarm register 1), and gridedge's bits 5 power down (last
//! gasp), 6 voltage sag, 7 voltage swell, 14 cover opened, 15 magnetic field, which DSMR keeps
//! in Alarm registers 2 and 3. The simulated meter documents the same table in
//! `meter::alarm::bits`.

use model::EndDeviceEventType;

/// Bit 0: clock invalid.
pub const BIT_CLOCK_INVALID: u32 = 1 << 0;
/// Bit 2: power up (supply restored).
pub const BIT_POWER_UP: u32 = 1 << 2;
/// Bit 5: power down (last gasp).
pub const BIT_POWER_DOWN: u32 = 1 << 5;
/// Bit 6: voltage sag.
pub const BIT_VOLTAGE_SAG: u32 = 1 << 6;
/// Bit 7: voltage swell.
pub const BIT_VOLTAGE_SWELL: u32 = 1 << 7;
/// Bit 13: fraud attempt (any tamper).
pub const BIT_FRAUD_ATTEMPT: u32 = 1 << 13;
/// Bit 14: meter or terminal cover opened.
pub const BIT_COVER_OPENED: u32 = 1 << 14;
/// Bit 15: strong magnetic field.
pub const BIT_MAGNETIC_FIELD: u32 = 1 << 15;

/// How alarm bits become event types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmBitMap {
    /// (bit mask, event type), in bit order.
    entries: Vec<(u32, EndDeviceEventType)>,
    /// Specific tamper bits: when any is set, the generic fraud-attempt bit adds no event of
    /// its own.
    specific_tamper: u32,
}

impl Default for AlarmBitMap {
    fn default() -> Self {
        AlarmBitMap::gridedge()
    }
}

impl AlarmBitMap {
    /// The gridedge / IDIS assignment (module docs) for electric meters:
    ///
    /// | bit | alarm | event type |
    /// |---|---|---|
    /// | 0 | clock invalid | `3.36.114.35` [`EndDeviceEventType::CLOCK_INVALID`] |
    /// | 2 | power up | `3.26.0.216` [`EndDeviceEventType::POWER_RESTORED`] |
    /// | 5 | power down (last gasp) | `3.26.0.47` [`EndDeviceEventType::POWER_DOWN`] |
    /// | 6 | voltage sag | `3.26.79.223` [`EndDeviceEventType::VOLTAGE_SAG_STARTED`] |
    /// | 7 | voltage swell | `3.26.79.248` [`EndDeviceEventType::VOLTAGE_SWELL_STARTED`] |
    /// | 13 | fraud attempt (alone) | `3.12.0.257` [`EndDeviceEventType::TAMPER_DETECTED`] |
    /// | 14 | cover opened | `3.12.29.39` [`EndDeviceEventType::COVER_OPENED`] |
    /// | 15 | magnetic field | `3.12.66.257` [`EndDeviceEventType::MAGNETIC_TAMPER`] |
    ///
    /// The other bits (battery, auxiliary, configuration, self-check errors, 16..=31) have
    /// no event type here: they are kept in the events' alarm bits only.
    pub fn gridedge() -> Self {
        AlarmBitMap {
            entries: vec![
                (BIT_CLOCK_INVALID, EndDeviceEventType::CLOCK_INVALID),
                (BIT_POWER_UP, EndDeviceEventType::POWER_RESTORED),
                (BIT_POWER_DOWN, EndDeviceEventType::POWER_DOWN),
                (BIT_VOLTAGE_SAG, EndDeviceEventType::VOLTAGE_SAG_STARTED),
                (BIT_VOLTAGE_SWELL, EndDeviceEventType::VOLTAGE_SWELL_STARTED),
                (BIT_FRAUD_ATTEMPT, EndDeviceEventType::TAMPER_DETECTED),
                (BIT_COVER_OPENED, EndDeviceEventType::COVER_OPENED),
                (BIT_MAGNETIC_FIELD, EndDeviceEventType::MAGNETIC_TAMPER),
            ],
            specific_tamper: BIT_COVER_OPENED | BIT_MAGNETIC_FIELD,
        }
    }

    /// The event types of `bits`, in bit order, each with its bit: the generic fraud
    /// attempt only when no specific tamper bit is set. Bits without an event type are
    /// skipped.
    pub fn events(&self, bits: u32) -> Vec<(u32, EndDeviceEventType)> {
        self.entries
            .iter()
            .filter(|(mask, _)| bits & mask != 0)
            .filter(|(mask, _)| *mask != BIT_FRAUD_ATTEMPT || bits & self.specific_tamper == 0)
            .copied()
            .collect()
    }

    /// The bits of `bits` that have an event type.
    pub fn mapped_bits(&self, bits: u32) -> u32 {
        self.entries.iter().fold(0, |acc, (mask, _)| acc | (bits & mask))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_tamper_bits_replace_the_generic_one() {
        let map = AlarmBitMap::gridedge();
        assert_eq!(
            map.events(BIT_FRAUD_ATTEMPT | BIT_COVER_OPENED),
            vec![(BIT_COVER_OPENED, EndDeviceEventType::COVER_OPENED)]
        );
        assert_eq!(map.events(BIT_FRAUD_ATTEMPT), vec![(BIT_FRAUD_ATTEMPT, EndDeviceEventType::TAMPER_DETECTED)]);
        assert_eq!(
            map.events(BIT_POWER_UP | BIT_CLOCK_INVALID | (1 << 9)),
            vec![
                (BIT_CLOCK_INVALID, EndDeviceEventType::CLOCK_INVALID),
                (BIT_POWER_UP, EndDeviceEventType::POWER_RESTORED)
            ]
        );
        assert_eq!(map.mapped_bits(0xFFFF_FFFF), 0xE0E5);
        assert!(map.events(0).is_empty());
    }
}
