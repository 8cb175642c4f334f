//! Quality flags of a stored value.
//!
//! The low byte is the meter's own profile status byte as captured in load profile 1
//! (0.0.96.10.1.255), with the bit meanings of the AMR profile status used by IDIS and
//! DSMR companion specifications (DLMS UA 1000-1 leaves the status word to the
//! companion spec): bit 0 critical error, 1 clock invalid, 2 data not valid, 3 daylight
//! saving active, 5 clock adjusted, 7 power down. Higher bits are set by the MDMS.

use serde::{Deserialize, Serialize};

/// A set of quality bits (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct QualityFlags(pub u32);

impl QualityFlags {
    /// Meter: critical error.
    pub const CRITICAL_ERROR: u32 = 1 << 0;
    /// Meter: clock invalid.
    pub const CLOCK_INVALID: u32 = 1 << 1;
    /// Meter: data not valid.
    pub const DATA_NOT_VALID: u32 = 1 << 2;
    /// Meter: daylight saving active (informational, not a defect).
    pub const DAYLIGHT_SAVING: u32 = 1 << 3;
    /// Meter: clock adjusted during the interval (interval may be short or long).
    pub const CLOCK_ADJUSTED: u32 = 1 << 5;
    /// Meter: power down during the interval.
    pub const POWER_DOWN: u32 = 1 << 7;

    /// Flags from the meter's profile status byte.
    pub fn from_profile_status(status: u8) -> Self {
        QualityFlags(status as u32)
    }

    /// The meter's profile status byte.
    pub fn profile_status(self) -> u8 {
        (self.0 & 0xFF) as u8
    }

    /// True when no flag other than daylight saving is set: the value can be used as read.
    pub fn is_valid(self) -> bool {
        self.0 & !Self::DAYLIGHT_SAVING == 0
    }

    /// True when `flag` is set.
    pub fn contains(self, flag: u32) -> bool {
        self.0 & flag == flag
    }

    /// Names of the set bits, for display.
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: [(u32, &str); 6] = [
            (QualityFlags::CRITICAL_ERROR, "critical_error"),
            (QualityFlags::CLOCK_INVALID, "clock_invalid"),
            (QualityFlags::DATA_NOT_VALID, "data_not_valid"),
            (QualityFlags::DAYLIGHT_SAVING, "daylight_saving"),
            (QualityFlags::CLOCK_ADJUSTED, "clock_adjusted"),
            (QualityFlags::POWER_DOWN, "power_down"),
        ];
        NAMES.iter().filter(|(b, _)| self.0 & b != 0).map(|(_, n)| *n).collect()
    }
}
