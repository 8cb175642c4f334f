//! The bit assignment of Alarm register 1 (0.0.97.98.0.255), Alarm filter 1
//! (0.0.97.98.10.255) and Alarm descriptor 1 (0.0.97.98.20.255): one bit per alarm in a
//! double-long-unsigned, bit 0 the least significant.
//!
//! # Source
//! IDIS and the Dutch DSMR/SMR 5 companion specification (which builds on IDIS) share the
//! layout of Alarm register 1 for bits 0..=13, as implemented by the open-source GXF/OSGP
//! head-end (`AlarmType`, alarm register 1): 0 clock invalid, 1 replace battery, 2 power up,
//! 3 auxiliary event, 4 configuration changed, 5..=7 not used, 8 program memory error,
//! 9 RAM error, 10 NV memory error, 11 measurement system error, 12 watchdog error,
//! 13 fraud attempt, 14..=15 not used, 16..=27 M-Bus channel alarms, 28..=30 phase outage
//! L1..L3. DSMR keeps voltage sag/swell in Alarm register 2 (bits 0..=5, per phase) and the
//! last gasp in Alarm register 3 (bit 0).
//!
//! # gridedge assignment
//! A single-phase meter without M-Bus needs one register: gridedge keeps the IDIS/DSMR
//! bits 0..=13 and puts the alarms DSMR keeps elsewhere into bits that layout leaves unused:
//!
//! | bit | alarm | origin |
//! |---|---|---|
//! | 0 | clock invalid | IDIS/DSMR |
//! | 1 | replace battery | IDIS/DSMR |
//! | 2 | power up (supply restored) | IDIS/DSMR |
//! | 3 | auxiliary event | IDIS/DSMR |
//! | 4 | configuration changed | IDIS/DSMR |
//! | 5 | power down (last gasp) | gridedge (DSMR: alarm register 3 bit 0) |
//! | 6 | voltage sag | gridedge (DSMR: alarm register 2 bits 0..=2, per phase) |
//! | 7 | voltage swell | gridedge (DSMR: alarm register 2 bits 3..=5, per phase) |
//! | 8 | program memory error | IDIS/DSMR |
//! | 9 | RAM error | IDIS/DSMR |
//! | 10 | NV memory error | IDIS/DSMR |
//! | 11 | measurement system error | IDIS/DSMR |
//! | 12 | watchdog error | IDIS/DSMR |
//! | 13 | fraud attempt (any tamper) | IDIS/DSMR |
//! | 14 | meter/terminal cover opened | gridedge (a specific fraud attempt) |
//! | 15 | strong magnetic field | gridedge (a specific fraud attempt) |
//!
//! A cover opening raises bits 13 and 14, a magnetic field bits 13 and 15, so a head-end
//! that only knows the IDIS bits still sees a fraud attempt. Bits 16..=31 are unused.

/// One alarm of Alarm register 1 (see the module docs for the assignment and its source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlarmBit {
    /// Bit 0: the clock is invalid (e.g. its reserve ran out during a long power failure).
    ClockInvalid,
    /// Bit 1: the clock battery needs replacing.
    ReplaceBattery,
    /// Bit 2: power up: the supply came back after a power failure.
    PowerUp,
    /// Bit 3: auxiliary event (manufacturer specific).
    AuxiliaryEvent,
    /// Bit 4: the configuration was changed.
    ConfigurationChanged,
    /// Bit 5: power down: the supply failed; the meter pushes it as its last gasp.
    PowerDown,
    /// Bit 6: voltage sag (dip): the supply voltage fell below the sag threshold.
    VoltageSag,
    /// Bit 7: voltage swell: the supply voltage rose above the swell threshold.
    VoltageSwell,
    /// Bit 8: program memory error.
    ProgramMemoryError,
    /// Bit 9: RAM error.
    RamError,
    /// Bit 10: non-volatile memory error.
    NvMemoryError,
    /// Bit 11: measurement system error.
    MeasurementSystemError,
    /// Bit 12: watchdog error.
    WatchdogError,
    /// Bit 13: fraud attempt (any tamper; set together with bit 14 or 15 when known).
    FraudAttempt,
    /// Bit 14: the meter or terminal cover was opened.
    CoverOpened,
    /// Bit 15: a strong magnetic field was detected.
    MagneticField,
}

impl AlarmBit {
    /// Every alarm, in bit order.
    pub const ALL: [AlarmBit; 16] = [
        AlarmBit::ClockInvalid,
        AlarmBit::ReplaceBattery,
        AlarmBit::PowerUp,
        AlarmBit::AuxiliaryEvent,
        AlarmBit::ConfigurationChanged,
        AlarmBit::PowerDown,
        AlarmBit::VoltageSag,
        AlarmBit::VoltageSwell,
        AlarmBit::ProgramMemoryError,
        AlarmBit::RamError,
        AlarmBit::NvMemoryError,
        AlarmBit::MeasurementSystemError,
        AlarmBit::WatchdogError,
        AlarmBit::FraudAttempt,
        AlarmBit::CoverOpened,
        AlarmBit::MagneticField,
    ];

    /// The bit number (0 = least significant).
    pub const fn bit(self) -> u32 {
        match self {
            AlarmBit::ClockInvalid => 0,
            AlarmBit::ReplaceBattery => 1,
            AlarmBit::PowerUp => 2,
            AlarmBit::AuxiliaryEvent => 3,
            AlarmBit::ConfigurationChanged => 4,
            AlarmBit::PowerDown => 5,
            AlarmBit::VoltageSag => 6,
            AlarmBit::VoltageSwell => 7,
            AlarmBit::ProgramMemoryError => 8,
            AlarmBit::RamError => 9,
            AlarmBit::NvMemoryError => 10,
            AlarmBit::MeasurementSystemError => 11,
            AlarmBit::WatchdogError => 12,
            AlarmBit::FraudAttempt => 13,
            AlarmBit::CoverOpened => 14,
            AlarmBit::MagneticField => 15,
        }
    }

    /// The alarm's mask: `1 << bit`.
    pub const fn mask(self) -> u32 {
        1 << self.bit()
    }

    /// The alarm of bit `bit`, `None` for an unused bit (16..=31).
    pub fn from_bit(bit: u32) -> Option<AlarmBit> {
        AlarmBit::ALL.iter().copied().find(|a| a.bit() == bit)
    }

    /// The alarms set in `mask`, in bit order (unused bits ignored).
    pub fn in_mask(mask: u32) -> Vec<AlarmBit> {
        AlarmBit::ALL.iter().copied().filter(|a| mask & a.mask() != 0).collect()
    }

    /// A short English name, e.g. "power down".
    pub const fn name(self) -> &'static str {
        match self {
            AlarmBit::ClockInvalid => "clock invalid",
            AlarmBit::ReplaceBattery => "replace battery",
            AlarmBit::PowerUp => "power up",
            AlarmBit::AuxiliaryEvent => "auxiliary event",
            AlarmBit::ConfigurationChanged => "configuration changed",
            AlarmBit::PowerDown => "power down",
            AlarmBit::VoltageSag => "voltage sag",
            AlarmBit::VoltageSwell => "voltage swell",
            AlarmBit::ProgramMemoryError => "program memory error",
            AlarmBit::RamError => "RAM error",
            AlarmBit::NvMemoryError => "NV memory error",
            AlarmBit::MeasurementSystemError => "measurement system error",
            AlarmBit::WatchdogError => "watchdog error",
            AlarmBit::FraudAttempt => "fraud attempt",
            AlarmBit::CoverOpened => "cover opened",
            AlarmBit::MagneticField => "magnetic field",
        }
    }
}

/// Every assigned alarm bit: the mask of [`AlarmBit::ALL`] (bits 0..=15).
pub const ASSIGNED_BITS: u32 = 0x0000_FFFF;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_dense_and_unique() {
        let mut all = 0u32;
        for (i, a) in AlarmBit::ALL.iter().enumerate() {
            assert_eq!(a.bit() as usize, i);
            assert_eq!(all & a.mask(), 0);
            all |= a.mask();
            assert_eq!(AlarmBit::from_bit(a.bit()), Some(*a));
        }
        assert_eq!(all, ASSIGNED_BITS);
        assert_eq!(AlarmBit::from_bit(16), None);
        // The IDIS/DSMR positions gridedge keeps.
        assert_eq!(AlarmBit::ClockInvalid.mask(), 0x0001);
        assert_eq!(AlarmBit::PowerUp.mask(), 0x0004);
        assert_eq!(AlarmBit::FraudAttempt.mask(), 0x2000);
        assert_eq!(AlarmBit::in_mask(0x6020), vec![AlarmBit::PowerDown, AlarmBit::FraudAttempt, AlarmBit::CoverOpened]);
    }
}
