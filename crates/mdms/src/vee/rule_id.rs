//! The validation rules gridedge knows, with their stable ids and the practice each one
//! comes from.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A validation rule. The numeric [`code`](RuleId::code) is stored in the database and in
/// bits 24–31 of a suspect value's [`QualityFlags`](model::QualityFlags); it never changes
/// once assigned.
///
/// Sources: the interval-data VEE rules of the California Direct Access Standards for
/// Metering and Meter Data (DASMMD, "Standards for Validating, Editing, and Estimating
/// Monthly and Interval Data", the rules the EEI / California Uniform Business Practices
/// refer to), and the rule sets shipped by common MDMS products (interval spike check,
/// sum check, high/low usage, zero and negative consumption, interval size validation).
/// Each variant names its source practice; [`RuleId::source_practice`] returns it as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum RuleId {
    /// Missing interval (gap): an interval end on the channel's grid between two stored
    /// values has no value. Source: DASMMD interval VEE "missing intervals" / MDMS "gap
    /// check". Findings carry version 0 (no value exists).
    MissingInterval = 1,
    /// Duplicate interval: the HES delivered two different values for the same interval end
    /// (a re-read that disagrees, a meter clock set back). Source: MDMS "duplicate
    /// interval / duplicate measurement" checks.
    DuplicateInterval = 2,
    /// Interval length: the collection reported a profile capture period different from the
    /// meter class's, or an interval end is not on the class's grid. Source: MDMS "interval
    /// size validation"; IEC 62056-6-2 profile generic attribute 4 `capture_period`.
    IntervalLength = 3,
    /// Time tolerance: the meter's clock differed from the HES clock by more than the
    /// class's threshold when the values were collected. Source: DASMMD interval VEE "time
    /// tolerance check".
    TimeTolerance = 4,
    /// Zero consumption for at least a configured duration while the meter reported no
    /// power failure and no disconnection (outage-aware). Source: MDMS "zero consumption
    /// check"; DASMMD "power outage" check.
    ZeroConsumption = 5,
    /// Negative consumption: a cumulative register went backwards (not a rollover).
    /// Source: MDMS "negative consumption check".
    NegativeConsumption = 6,
    /// Spike: in a local day, the highest interval exceeds the third-highest by more than a
    /// percentage. Source: the common MDMS "interval spike check" (highest vs third-highest
    /// interval of each 24-hour chunk).
    Spike = 7,
    /// High/low usage: a local day's usage, per 24 h, is above or below percentages of the
    /// meter's own average daily usage over previous days. Source: DASMMD "high/low usage
    /// check"; MDMS "high/low check" normalised by average daily usage.
    HighLowUsage = 8,
    /// Register rollover: a cumulative register wrapped past its maximum to near zero; the
    /// consumption is taken across the wrap. Source: DASMMD / MDMS "meter rollover" and
    /// "pulse overflow" checks.
    RegisterRollover = 9,
    /// Meter advance: the register advanced more over an interval (or across a gap) than the
    /// service's maximum demand allows. Source: DASMMD "meter advance / maximum demand"
    /// plausibility checks.
    MeterAdvance = 10,
    /// Sum check: the interval channel's advance between two register reads differs from
    /// the register reads' advance by more than the tolerance. Source: DASMMD "sum check"
    /// (interval sum vs. meter register difference); MDMS "sum check".
    SumCheck = 11,
    /// Status flags: the meter marked the interval (power down, clock adjusted, tamper,
    /// overflow, watchdog, data not valid ...). Source: DASMMD "interval status" checks;
    /// IDIS / DSMR AMR profile status; ANSI C12.19 interval status.
    StatusFlags = 12,
    /// Reverse flow: an export register advanced on a meter class that should not export
    /// (an import-only service, or a meter installed backwards). Source: utility
    /// revenue-protection practice (reverse-rotation / energy-direction checks).
    ReverseFlow = 13,
}

impl RuleId {
    /// Every rule, in code order.
    pub const ALL: [RuleId; 13] = [
        RuleId::MissingInterval,
        RuleId::DuplicateInterval,
        RuleId::IntervalLength,
        RuleId::TimeTolerance,
        RuleId::ZeroConsumption,
        RuleId::NegativeConsumption,
        RuleId::Spike,
        RuleId::HighLowUsage,
        RuleId::RegisterRollover,
        RuleId::MeterAdvance,
        RuleId::SumCheck,
        RuleId::StatusFlags,
        RuleId::ReverseFlow,
    ];

    /// The stable numeric id (1..=255) stored in the database and in quality bits 24–31.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The rule with this code.
    pub fn from_code(code: u8) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The stable snake_case name used in configuration files, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::MissingInterval => "missing_interval",
            RuleId::DuplicateInterval => "duplicate_interval",
            RuleId::IntervalLength => "interval_length",
            RuleId::TimeTolerance => "time_tolerance",
            RuleId::ZeroConsumption => "zero_consumption",
            RuleId::NegativeConsumption => "negative_consumption",
            RuleId::Spike => "spike",
            RuleId::HighLowUsage => "high_low_usage",
            RuleId::RegisterRollover => "register_rollover",
            RuleId::MeterAdvance => "meter_advance",
            RuleId::SumCheck => "sum_check",
            RuleId::StatusFlags => "status_flags",
            RuleId::ReverseFlow => "reverse_flow",
        }
    }

    /// The practice the rule follows, for documentation and exception displays.
    pub fn source_practice(self) -> &'static str {
        match self {
            RuleId::MissingInterval => "DASMMD interval VEE: missing intervals (gap check)",
            RuleId::DuplicateInterval => "MDMS duplicate interval check",
            RuleId::IntervalLength => "MDMS interval size validation (IEC 62056-6-2 capture_period)",
            RuleId::TimeTolerance => "DASMMD interval VEE: time tolerance check",
            RuleId::ZeroConsumption => "MDMS zero consumption check, outage-aware (DASMMD power outage check)",
            RuleId::NegativeConsumption => "MDMS negative consumption check",
            RuleId::Spike => "MDMS interval spike check: highest vs third-highest interval per 24 h",
            RuleId::HighLowUsage => "DASMMD high/low usage check against average daily usage",
            RuleId::RegisterRollover => "DASMMD / MDMS meter rollover (pulse overflow) check",
            RuleId::MeterAdvance => "DASMMD meter advance vs maximum demand plausibility check",
            RuleId::SumCheck => "DASMMD sum check: interval sum vs register difference",
            RuleId::StatusFlags => "DASMMD interval status check (IDIS/DSMR AMR profile status, ANSI C12.19)",
            RuleId::ReverseFlow => "revenue protection: reverse energy flow on an import-only service",
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of [`RuleId::as_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown validation rule {0:?}")]
pub struct UnknownRule(pub String);

impl FromStr for RuleId {
    type Err = UnknownRule;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleId::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRule(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_round_trip() {
        for (i, r) in RuleId::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(r.code()), i + 1, "codes are dense from 1");
            assert_eq!(RuleId::from_code(r.code()), Some(r));
            assert_eq!(r.as_str().parse::<RuleId>(), Ok(r));
            assert!(!r.source_practice().is_empty());
        }
        assert_eq!(RuleId::from_code(0), None);
        assert_eq!(RuleId::from_code(14), None);
        assert!("gap".parse::<RuleId>().is_err());
    }
}
