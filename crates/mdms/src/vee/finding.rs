//! What a validation rule reports.

use jiff::Timestamp;
use serde::Serialize;

use super::RuleId;

/// One rule failing on one interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The rule that failed.
    pub rule: RuleId,
    /// The interval end, UTC.
    pub interval_end: Timestamp,
    /// The version of the value the rule judged; 0 when the interval has no value (a gap).
    pub version: u32,
    /// What the rule measured, in the rule's terms: consumption (channel unit) for
    /// consumption rules, seconds for timing rules, the gap's interval count for missing
    /// intervals, the status bits for status flags.
    pub measured: Option<f64>,
    /// The limit `measured` broke, in the same terms (the largest allowed value for high
    /// checks, the smallest for low ones; the register advance for the sum check).
    pub limit: Option<f64>,
}
