//! Builders shared by the VEE tests: classes from rule lists, cumulative series from
//! interval consumption.
#![allow(dead_code)]

use jiff::{SignedDuration, Timestamp};
use mdms::vee::{
    CompiledClass, EstimationConfig, Finding, MeterClass, RuleConfig, RuleId, RuleSpec, SeriesPoint, VeeConfig,
};
use model::{MeterId, QualityFlags};

/// Parses an RFC 3339 instant written in a test.
pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad timestamp {s:?} in a test: {e}"))
}

/// `t` plus `seconds`.
pub fn plus(t: Timestamp, seconds: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs(seconds)).expect("timestamp in range")
}

/// A 15-minute class in `tz` running exactly `rules` on their default channels.
pub fn class_with(tz: &str, rules: Vec<RuleConfig>) -> CompiledClass {
    class_from(MeterClass {
        interval_length_s: 900,
        time_zone: tz.into(),
        rules: rules.into_iter().map(RuleSpec::new).collect(),
        estimation: EstimationConfig::default(),
    })
}

/// Compiles one class as the default class.
pub fn class_from(class: MeterClass) -> CompiledClass {
    let config = VeeConfig {
        enabled: true,
        default_class: "test".into(),
        classes: [("test".to_string(), class)].into_iter().collect(),
        meters: Default::default(),
    };
    config.compile().expect("test class compiles").class_for(&MeterId::from("any")).clone()
}

/// A cumulative series: the first point at `start` holds `first_value`, then one point per
/// 15 minutes adding `consumption[k]`.
pub fn cumulative(start: Timestamp, first_value: f64, consumption: &[f64]) -> Vec<SeriesPoint> {
    let mut out = vec![SeriesPoint::new(start, first_value, QualityFlags(0))];
    let mut value = first_value;
    for (k, c) in consumption.iter().enumerate() {
        value += c;
        out.push(SeriesPoint::new(plus(start, 900 * (k as i64 + 1)), value, QualityFlags(0)));
    }
    out
}

/// (rule, interval end, version) of each finding, for compact assertions.
pub fn keys(findings: &[Finding]) -> Vec<(RuleId, Timestamp, u32)> {
    findings.iter().map(|f| (f.rule, f.interval_end, f.version)).collect()
}

/// The findings of one rule.
pub fn of_rule(findings: &[Finding], rule: RuleId) -> Vec<Finding> {
    findings.iter().filter(|f| f.rule == rule).cloned().collect()
}
