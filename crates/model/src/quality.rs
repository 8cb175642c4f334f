//! Quality flags of a stored value.
//!
//! A `u32` in three parts:
//!
//! - Bits 0–7: the meter's own profile status byte as captured in load profile 1
//!   (0.0.96.10.1.255), with the bit meanings of the AMR profile status used by IDIS and
//!   DSMR companion specifications (DLMS UA 1000-1 leaves the status word to the
//!   companion spec): bit 0 critical error, 1 clock invalid, 2 data not valid, 3 daylight
//!   saving active, 5 clock adjusted, 7 power down. Bit 6, reserved there, is gridedge's
//!   "supply disconnected" (the disconnector relay was open during the interval).
//! - Bits 8–15: meter conditions that are not in the profile status byte but that the HES
//!   learns from the meter's event logs or an extended status word (tamper, register
//!   overflow, watchdog reset), in the spirit of the ANSI C12.19 interval status and the
//!   MV-90 interval status codes.
//! - Bits 16–31: set by the MDMS (validation, estimation and editing, "VEE"): suspect with
//!   the failed rule id (bits 24–31), estimated with the method code (bits 20–23),
//!   scaled to a register advance, edited. The rule and method codes are defined by the
//!   MDMS (`mdms::vee::RuleId`, `mdms::estimation::EstimationMethod`).

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
    /// Meter: the supply was disconnected by the meter's relay during (part of) the
    /// interval (gridedge's use of profile status bit 6, reserved in IDIS / DSMR).
    pub const SUPPLY_DISCONNECTED: u32 = 1 << 6;
    /// Meter: power down during the interval.
    pub const POWER_DOWN: u32 = 1 << 7;

    /// Meter condition (from the event log): a tamper event (cover opened, magnetic field)
    /// during the interval.
    pub const TAMPER: u32 = 1 << 8;
    /// Meter condition: an energy register or the interval accumulator overflowed during
    /// the interval (ANSI C12.19 "overflow" interval status).
    pub const OVERFLOW: u32 = 1 << 9;
    /// Meter condition: the meter's firmware was restarted by its watchdog during the
    /// interval (MV-90 "watchdog timeout").
    pub const WATCHDOG: u32 = 1 << 10;

    /// MDMS: a validation rule failed for this value; the rule id is in bits 24–31.
    pub const SUSPECT: u32 = 1 << 16;
    /// MDMS: the value was estimated (not read); the method code is in bits 20–23.
    pub const ESTIMATED: u32 = 1 << 17;
    /// MDMS: the value was entered or changed by a user (an edit with user and reason).
    pub const EDITED: u32 = 1 << 18;
    /// MDMS: the estimate was scaled so that the estimated intervals sum to the advance of
    /// the register reads that bracket them.
    pub const ESTIMATE_SCALED: u32 = 1 << 19;

    /// First bit of the 4-bit estimation method code.
    pub const ESTIMATION_METHOD_SHIFT: u32 = 20;
    /// Mask of the estimation method code.
    pub const ESTIMATION_METHOD_MASK: u32 = 0xF << Self::ESTIMATION_METHOD_SHIFT;
    /// First bit of the 8-bit id of the failed validation rule.
    pub const SUSPECT_RULE_SHIFT: u32 = 24;
    /// Mask of the failed validation rule id.
    pub const SUSPECT_RULE_MASK: u32 = 0xFF << Self::SUSPECT_RULE_SHIFT;

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

    /// True when any bit of `flags` is set.
    pub fn intersects(self, flags: u32) -> bool {
        self.0 & flags != 0
    }

    /// These flags with [`SUSPECT`](Self::SUSPECT) set and `rule` as the failed rule id.
    /// A rule id already recorded is kept (the first failed rule is reported); `rule` 0
    /// sets only the suspect bit.
    pub fn with_suspect_rule(self, rule: u8) -> Self {
        let keep = self.suspect_rule().is_some();
        let rule_bits =
            if keep { self.0 & Self::SUSPECT_RULE_MASK } else { u32::from(rule) << Self::SUSPECT_RULE_SHIFT };
        QualityFlags((self.0 & !Self::SUSPECT_RULE_MASK) | Self::SUSPECT | rule_bits)
    }

    /// The id of the failed validation rule when [`SUSPECT`](Self::SUSPECT) is set with a
    /// non-zero rule id.
    pub fn suspect_rule(self) -> Option<u8> {
        let rule = ((self.0 & Self::SUSPECT_RULE_MASK) >> Self::SUSPECT_RULE_SHIFT) as u8;
        (self.contains(Self::SUSPECT) && rule != 0).then_some(rule)
    }

    /// Flags of an estimated value: [`ESTIMATED`](Self::ESTIMATED) with the 4-bit `method`
    /// code (higher bits of `method` are dropped), plus
    /// [`ESTIMATE_SCALED`](Self::ESTIMATE_SCALED) when `scaled`.
    pub fn estimated(method: u8, scaled: bool) -> Self {
        let method_bits = (u32::from(method) << Self::ESTIMATION_METHOD_SHIFT) & Self::ESTIMATION_METHOD_MASK;
        let scaled_bit = if scaled { Self::ESTIMATE_SCALED } else { 0 };
        QualityFlags(Self::ESTIMATED | method_bits | scaled_bit)
    }

    /// The estimation method code when [`ESTIMATED`](Self::ESTIMATED) is set.
    pub fn estimation_method(self) -> Option<u8> {
        self.contains(Self::ESTIMATED)
            .then_some(((self.0 & Self::ESTIMATION_METHOD_MASK) >> Self::ESTIMATION_METHOD_SHIFT) as u8)
    }

    /// True for a value read from the meter: neither estimated nor edited by the MDMS.
    pub fn is_actual(self) -> bool {
        !self.intersects(Self::ESTIMATED | Self::EDITED)
    }

    /// Names of the set single-bit flags, for display (the rule and method codes are
    /// shown by [`suspect_rule`](Self::suspect_rule) and
    /// [`estimation_method`](Self::estimation_method)).
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: [(u32, &str); 14] = [
            (QualityFlags::CRITICAL_ERROR, "critical_error"),
            (QualityFlags::CLOCK_INVALID, "clock_invalid"),
            (QualityFlags::DATA_NOT_VALID, "data_not_valid"),
            (QualityFlags::DAYLIGHT_SAVING, "daylight_saving"),
            (QualityFlags::CLOCK_ADJUSTED, "clock_adjusted"),
            (QualityFlags::SUPPLY_DISCONNECTED, "supply_disconnected"),
            (QualityFlags::POWER_DOWN, "power_down"),
            (QualityFlags::TAMPER, "tamper"),
            (QualityFlags::OVERFLOW, "overflow"),
            (QualityFlags::WATCHDOG, "watchdog"),
            (QualityFlags::SUSPECT, "suspect"),
            (QualityFlags::ESTIMATED, "estimated"),
            (QualityFlags::EDITED, "edited"),
            (QualityFlags::ESTIMATE_SCALED, "estimate_scaled"),
        ];
        NAMES.iter().filter(|(b, _)| self.0 & b != 0).map(|(_, n)| *n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_bits_keep_their_values() {
        // The AMR profile status bit positions (IDIS / DSMR) must never move.
        assert_eq!(
            [
                QualityFlags::CRITICAL_ERROR,
                QualityFlags::CLOCK_INVALID,
                QualityFlags::DATA_NOT_VALID,
                QualityFlags::DAYLIGHT_SAVING,
                QualityFlags::CLOCK_ADJUSTED,
                QualityFlags::SUPPLY_DISCONNECTED,
                QualityFlags::POWER_DOWN
            ],
            [0x01, 0x02, 0x04, 0x08, 0x20, 0x40, 0x80]
        );
        assert_eq!(QualityFlags::from_profile_status(0xA8).profile_status(), 0xA8);
    }

    #[test]
    fn suspect_rule_is_recorded_once() {
        let q = QualityFlags(QualityFlags::POWER_DOWN).with_suspect_rule(7);
        assert_eq!(q.0, QualityFlags::POWER_DOWN | QualityFlags::SUSPECT | (7 << 24));
        assert_eq!(q.suspect_rule(), Some(7));
        // The first failed rule stays.
        assert_eq!(q.with_suspect_rule(3).suspect_rule(), Some(7));
        assert_eq!(QualityFlags(0).suspect_rule(), None);
        assert_eq!(QualityFlags(0).with_suspect_rule(0).suspect_rule(), None);
        assert!(QualityFlags(0).with_suspect_rule(0).contains(QualityFlags::SUSPECT));
        // A rule id without the suspect bit is not a finding.
        assert_eq!(QualityFlags(9 << 24).suspect_rule(), None);
        assert!(!q.is_valid());
    }

    #[test]
    fn estimation_method_round_trips() {
        let q = QualityFlags::estimated(2, true);
        assert_eq!(q.0, QualityFlags::ESTIMATED | QualityFlags::ESTIMATE_SCALED | (2 << 20));
        assert_eq!(q.estimation_method(), Some(2));
        assert_eq!(QualityFlags::estimated(1, false).estimation_method(), Some(1));
        assert_eq!(QualityFlags::estimated(0x1F, false).estimation_method(), Some(0xF));
        assert_eq!(QualityFlags(0).estimation_method(), None);
        assert!(!q.is_actual());
        assert!(!QualityFlags(QualityFlags::EDITED).is_actual());
        assert!(QualityFlags(QualityFlags::POWER_DOWN).is_actual());
        assert_eq!(q.names(), vec!["estimated", "estimate_scaled"]);
    }
}
