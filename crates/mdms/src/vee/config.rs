//! VEE configuration as data: rule lists with parameters per meter class, and the
//! estimation settings, deserializable from TOML or JSON with serde.
//!
//! ```toml
//! enabled = true
//! default_class = "residential"
//!
//! [classes.residential]
//! interval_length_s = 900
//! time_zone = "Europe/London"
//! estimation = { auto = true, max_interpolation_s = 7200, like_days = 3 }
//! rules = [
//!   { rule = "missing_interval" },
//!   { rule = "spike", threshold_percent = 400.0, min_peak = 50.0 },
//!   { rule = "reverse_flow", min_export = 1.0 },
//! ]
//!
//! [meters]
//! SIM000001 = "residential"
//! ```
//!
//! Every parameter has a default, so `{ rule = "spike" }` is a complete entry. Energy
//! parameters are in the channel's unit (Wh for active, varh for reactive energy).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use model::{MeterId, QualityFlags, ReadingType};
use serde::{Deserialize, Serialize};

use super::RuleId;

/// The whole VEE configuration of a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VeeConfig {
    /// Run validation (and, where a class enables it, estimation) on every ingest. When
    /// false, ingest stores values only; [`validate_range`](crate::MeterDataStore::validate_range)
    /// still works.
    pub enabled: bool,
    /// The class of meters not listed in `meters`.
    pub default_class: String,
    /// Meter classes by name.
    pub classes: BTreeMap<String, MeterClass>,
    /// Meter id (serial, `EndDevice.mRID`) to class name.
    pub meters: BTreeMap<String, String>,
}

impl Default for VeeConfig {
    /// Validation on, one class `"default"` ([`MeterClass::default`]), automatic estimation
    /// off (estimates change what bills show, so a utility turns them on per class).
    fn default() -> Self {
        VeeConfig {
            enabled: true,
            default_class: "default".into(),
            classes: BTreeMap::from([("default".to_string(), MeterClass::default())]),
            meters: BTreeMap::new(),
        }
    }
}

/// The validation and estimation settings of one kind of meter (a tariff or service
/// class: household import-only, prosumer, C&I ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MeterClass {
    /// The load profile's capture period, seconds (900 for 15 minutes); must divide 86 400.
    pub interval_length_s: u32,
    /// IANA time zone of the meter's local days ("Europe/London"): local days are 23, 24 or
    /// 25 hours long, and per-day rules (spike, high/low) and like-day estimation use them.
    pub time_zone: String,
    /// The rules to run, each with its parameters, in order.
    pub rules: Vec<RuleSpec>,
    /// Estimation settings.
    pub estimation: EstimationConfig,
}

impl Default for MeterClass {
    /// 15-minute intervals in UTC with [`MeterClass::standard_rules`] and the default
    /// [`EstimationConfig`].
    fn default() -> Self {
        MeterClass {
            interval_length_s: 900,
            time_zone: "UTC".into(),
            rules: MeterClass::standard_rules(),
            estimation: EstimationConfig::default(),
        }
    }
}

impl MeterClass {
    /// Every rule with its default parameters, except [`RuleConfig::ReverseFlow`] (which
    /// only an import-only class should run).
    pub fn standard_rules() -> Vec<RuleSpec> {
        [
            RuleConfig::MissingInterval,
            RuleConfig::DuplicateInterval,
            RuleConfig::IntervalLength,
            RuleConfig::TimeTolerance { max_clock_error_s: default_max_clock_error_s() },
            RuleConfig::ZeroConsumption { min_duration_s: default_zero_min_duration_s() },
            RuleConfig::NegativeConsumption { tolerance: default_negative_tolerance() },
            RuleConfig::Spike {
                threshold_percent: default_spike_threshold_percent(),
                min_peak: default_spike_min_peak(),
            },
            RuleConfig::HighLowUsage {
                history_days: default_history_days(),
                min_history_days: default_min_history_days(),
                high_percent: default_high_percent(),
                low_percent: default_low_percent(),
            },
            RuleConfig::RegisterRollover {
                register_max: default_register_max(),
                margin_percent: default_rollover_margin_percent(),
            },
            RuleConfig::MeterAdvance { max_demand_w: default_max_demand_w() },
            RuleConfig::SumCheck {
                tolerance_percent: default_sum_tolerance_percent(),
                tolerance_abs: default_sum_tolerance_abs(),
            },
            RuleConfig::StatusFlags { flags: StatusFlag::ALL.to_vec() },
        ]
        .into_iter()
        .map(RuleSpec::new)
        .collect()
    }
}

/// One configured rule: its parameters and, optionally, the channels it runs on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSpec {
    /// The rule and its parameters (`rule = "spike"`, ...).
    #[serde(flatten)]
    pub rule: RuleConfig,
    /// Channels the rule runs on; `None` means the rule's default channels
    /// ([`RuleConfig::default_reading_types`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading_types: Option<Vec<ReadingType>>,
}

impl RuleSpec {
    /// The rule on its default channels.
    pub fn new(rule: RuleConfig) -> Self {
        RuleSpec { rule, reading_types: None }
    }

    /// True when the rule runs on `reading_type`. Rules on consumption never run on
    /// instantaneous channels (W, V, A), whatever the list says.
    pub fn applies_to(&self, reading_type: ReadingType) -> bool {
        if self.rule.needs_cumulative() && !reading_type.is_cumulative() {
            return false;
        }
        match &self.reading_types {
            Some(list) => list.contains(&reading_type),
            None => self.rule.default_reading_types().contains(&reading_type),
        }
    }
}

/// A validation rule with its parameters (see [`RuleId`] for what each checks and its
/// source practice). Serialized with the rule name in a `rule` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum RuleConfig {
    /// [`RuleId::MissingInterval`].
    MissingInterval,
    /// [`RuleId::DuplicateInterval`].
    DuplicateInterval,
    /// [`RuleId::IntervalLength`].
    IntervalLength,
    /// [`RuleId::TimeTolerance`].
    TimeTolerance {
        /// Largest accepted |meter clock − HES clock| at collection, seconds (default 120).
        #[serde(default = "default_max_clock_error_s")]
        max_clock_error_s: u32,
    },
    /// [`RuleId::ZeroConsumption`].
    ZeroConsumption {
        /// Shortest run of zero-consumption intervals that is flagged, seconds (default
        /// 14 400, four hours).
        #[serde(default = "default_zero_min_duration_s")]
        min_duration_s: u32,
    },
    /// [`RuleId::NegativeConsumption`].
    NegativeConsumption {
        /// Decreases down to this size are float noise, not findings (channel unit;
        /// default 0.001).
        #[serde(default = "default_negative_tolerance")]
        tolerance: f64,
    },
    /// [`RuleId::Spike`].
    Spike {
        /// Flag when (highest − third highest) / third highest × 100 exceeds this
        /// (default 400).
        #[serde(default = "default_spike_threshold_percent")]
        threshold_percent: f64,
        /// Highest intervals below this consumption are never spikes (channel unit per
        /// interval; default 50).
        #[serde(default = "default_spike_min_peak")]
        min_peak: f64,
    },
    /// [`RuleId::HighLowUsage`].
    HighLowUsage {
        /// Local days before the validated day whose average daily usage is the reference
        /// (default 28).
        #[serde(default = "default_history_days")]
        history_days: u32,
        /// Fewer usable history days than this: no check (default 7).
        #[serde(default = "default_min_history_days")]
        min_history_days: u32,
        /// Flag a day above this percentage of the average (default 400).
        #[serde(default = "default_high_percent")]
        high_percent: f64,
        /// Flag a day below this percentage of the average, unless the meter reported a power
        /// failure or disconnection that day (default 5).
        #[serde(default = "default_low_percent")]
        low_percent: f64,
    },
    /// [`RuleId::RegisterRollover`].
    RegisterRollover {
        /// The register's modulus: it counts from 0 up to just below this value, channel
        /// unit (default 2^32, a double-long-unsigned Wh register).
        #[serde(default = "default_register_max")]
        register_max: f64,
        /// A decrease is a rollover when the previous value was within this percentage of
        /// `register_max` and the new one within it of zero (default 10).
        #[serde(default = "default_rollover_margin_percent")]
        margin_percent: f64,
    },
    /// [`RuleId::MeterAdvance`].
    MeterAdvance {
        /// The service's maximum demand, W (or var): the largest plausible advance over `t`
        /// seconds is `max_demand_w × t / 3600` (default 25 000, a 100 A single-phase
        /// service).
        #[serde(default = "default_max_demand_w")]
        max_demand_w: f64,
    },
    /// [`RuleId::SumCheck`].
    SumCheck {
        /// Accepted difference, percent of the register advance (default 2).
        #[serde(default = "default_sum_tolerance_percent")]
        tolerance_percent: f64,
        /// Accepted difference at least this, channel unit (default 100).
        #[serde(default = "default_sum_tolerance_abs")]
        tolerance_abs: f64,
    },
    /// [`RuleId::StatusFlags`].
    StatusFlags {
        /// The meter status flags that make an interval suspect (default: all).
        #[serde(default = "default_status_flags")]
        flags: Vec<StatusFlag>,
    },
    /// [`RuleId::ReverseFlow`].
    ReverseFlow {
        /// Export advances above this per interval are flagged (channel unit; default 1).
        #[serde(default = "default_min_export")]
        min_export: f64,
    },
}

impl RuleConfig {
    /// The rule's id.
    pub fn id(&self) -> RuleId {
        match self {
            RuleConfig::MissingInterval => RuleId::MissingInterval,
            RuleConfig::DuplicateInterval => RuleId::DuplicateInterval,
            RuleConfig::IntervalLength => RuleId::IntervalLength,
            RuleConfig::TimeTolerance { .. } => RuleId::TimeTolerance,
            RuleConfig::ZeroConsumption { .. } => RuleId::ZeroConsumption,
            RuleConfig::NegativeConsumption { .. } => RuleId::NegativeConsumption,
            RuleConfig::Spike { .. } => RuleId::Spike,
            RuleConfig::HighLowUsage { .. } => RuleId::HighLowUsage,
            RuleConfig::RegisterRollover { .. } => RuleId::RegisterRollover,
            RuleConfig::MeterAdvance { .. } => RuleId::MeterAdvance,
            RuleConfig::SumCheck { .. } => RuleId::SumCheck,
            RuleConfig::StatusFlags { .. } => RuleId::StatusFlags,
            RuleConfig::ReverseFlow { .. } => RuleId::ReverseFlow,
        }
    }

    /// True for rules over consumption (differences of cumulative values).
    pub fn needs_cumulative(&self) -> bool {
        !matches!(
            self,
            RuleConfig::MissingInterval
                | RuleConfig::DuplicateInterval
                | RuleConfig::IntervalLength
                | RuleConfig::TimeTolerance { .. }
                | RuleConfig::StatusFlags { .. }
        )
    }

    /// The channels a rule runs on when its spec lists none: zero consumption, spike and
    /// high/low usage on total active import (tariff registers are legitimately zero outside
    /// their tariff, exports legitimately zero at night); reverse flow on active export;
    /// every other rule on every channel.
    pub fn default_reading_types(&self) -> &'static [ReadingType] {
        match self {
            RuleConfig::ZeroConsumption { .. } | RuleConfig::Spike { .. } | RuleConfig::HighLowUsage { .. } => {
                &[ReadingType::ActiveEnergyImport]
            }
            RuleConfig::ReverseFlow { .. } => &[ReadingType::ActiveEnergyExport],
            _ => &ReadingType::ALL,
        }
    }

    /// Checks the parameters: finite, non-negative, ordered where they must be.
    fn check(&self) -> Result<(), String> {
        let non_negative = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 { Ok(()) } else { Err(format!("{name} must be finite and >= 0, not {v}")) }
        };
        match self {
            RuleConfig::NegativeConsumption { tolerance } => non_negative("tolerance", *tolerance),
            RuleConfig::Spike { threshold_percent, min_peak } => {
                non_negative("threshold_percent", *threshold_percent)?;
                non_negative("min_peak", *min_peak)
            }
            RuleConfig::HighLowUsage { history_days, min_history_days, high_percent, low_percent } => {
                non_negative("high_percent", *high_percent)?;
                non_negative("low_percent", *low_percent)?;
                if low_percent > high_percent {
                    return Err("low_percent must not exceed high_percent".into());
                }
                if *min_history_days == 0 || min_history_days > history_days {
                    return Err("min_history_days must be in 1..=history_days".into());
                }
                Ok(())
            }
            RuleConfig::RegisterRollover { register_max, margin_percent } => {
                non_negative("register_max", *register_max)?;
                if *register_max == 0.0 || !(0.0..50.0).contains(margin_percent) {
                    return Err("register_max must be > 0 and margin_percent in [0, 50)".into());
                }
                Ok(())
            }
            RuleConfig::MeterAdvance { max_demand_w } => non_negative("max_demand_w", *max_demand_w),
            RuleConfig::SumCheck { tolerance_percent, tolerance_abs } => {
                non_negative("tolerance_percent", *tolerance_percent)?;
                non_negative("tolerance_abs", *tolerance_abs)
            }
            RuleConfig::ReverseFlow { min_export } => non_negative("min_export", *min_export),
            _ => Ok(()),
        }
    }
}

/// A meter status condition the [`RuleId::StatusFlags`] rule can flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFlag {
    /// [`QualityFlags::CRITICAL_ERROR`].
    CriticalError,
    /// [`QualityFlags::CLOCK_INVALID`].
    ClockInvalid,
    /// [`QualityFlags::DATA_NOT_VALID`].
    DataNotValid,
    /// [`QualityFlags::CLOCK_ADJUSTED`].
    ClockAdjusted,
    /// [`QualityFlags::SUPPLY_DISCONNECTED`].
    SupplyDisconnected,
    /// [`QualityFlags::POWER_DOWN`].
    PowerDown,
    /// [`QualityFlags::TAMPER`].
    Tamper,
    /// [`QualityFlags::OVERFLOW`].
    Overflow,
    /// [`QualityFlags::WATCHDOG`].
    Watchdog,
}

impl StatusFlag {
    /// Every status flag.
    pub const ALL: [StatusFlag; 9] = [
        StatusFlag::CriticalError,
        StatusFlag::ClockInvalid,
        StatusFlag::DataNotValid,
        StatusFlag::ClockAdjusted,
        StatusFlag::SupplyDisconnected,
        StatusFlag::PowerDown,
        StatusFlag::Tamper,
        StatusFlag::Overflow,
        StatusFlag::Watchdog,
    ];

    /// The quality bit.
    pub fn bit(self) -> u32 {
        match self {
            StatusFlag::CriticalError => QualityFlags::CRITICAL_ERROR,
            StatusFlag::ClockInvalid => QualityFlags::CLOCK_INVALID,
            StatusFlag::DataNotValid => QualityFlags::DATA_NOT_VALID,
            StatusFlag::ClockAdjusted => QualityFlags::CLOCK_ADJUSTED,
            StatusFlag::SupplyDisconnected => QualityFlags::SUPPLY_DISCONNECTED,
            StatusFlag::PowerDown => QualityFlags::POWER_DOWN,
            StatusFlag::Tamper => QualityFlags::TAMPER,
            StatusFlag::Overflow => QualityFlags::OVERFLOW,
            StatusFlag::Watchdog => QualityFlags::WATCHDOG,
        }
    }
}

/// How missing and rejected intervals are estimated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EstimationConfig {
    /// Estimate automatically after validation on ingest (default false: validation only,
    /// estimates on request with [`estimate_range`](crate::MeterDataStore::estimate_range)).
    pub auto: bool,
    /// Gaps of at most this many seconds of missing intervals are linearly interpolated;
    /// longer ones use like days (default 7 200, two hours).
    pub max_interpolation_s: u32,
    /// How many like days are averaged (default 3).
    pub like_days: u32,
    /// How far before and after the gap like days are searched, days (default 56).
    pub like_day_search_days: u32,
    /// Gaps longer than this are not estimated automatically, seconds (default 2 678 400,
    /// 31 days).
    pub max_gap_s: u32,
    /// Besides missing intervals, automatic estimation replaces the values flagged by these
    /// rules (default none).
    pub replace_rules: Vec<RuleId>,
    /// Local dates treated as weekend days when choosing like days (public holidays).
    pub holidays: Vec<Date>,
}

impl Default for EstimationConfig {
    fn default() -> Self {
        EstimationConfig {
            auto: false,
            max_interpolation_s: 7_200,
            like_days: 3,
            like_day_search_days: 56,
            max_gap_s: 31 * 86_400,
            replace_rules: Vec::new(),
            holidays: Vec::new(),
        }
    }
}

fn default_max_clock_error_s() -> u32 {
    120
}
fn default_zero_min_duration_s() -> u32 {
    14_400
}
fn default_negative_tolerance() -> f64 {
    0.001
}
fn default_spike_threshold_percent() -> f64 {
    400.0
}
fn default_spike_min_peak() -> f64 {
    50.0
}
fn default_history_days() -> u32 {
    28
}
fn default_min_history_days() -> u32 {
    7
}
fn default_high_percent() -> f64 {
    400.0
}
fn default_low_percent() -> f64 {
    5.0
}
fn default_register_max() -> f64 {
    4_294_967_296.0
}
fn default_rollover_margin_percent() -> f64 {
    10.0
}
fn default_max_demand_w() -> f64 {
    25_000.0
}
fn default_sum_tolerance_percent() -> f64 {
    2.0
}
fn default_sum_tolerance_abs() -> f64 {
    100.0
}
fn default_status_flags() -> Vec<StatusFlag> {
    StatusFlag::ALL.to_vec()
}
fn default_min_export() -> f64 {
    1.0
}

/// Why a [`VeeConfig`] cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum VeeConfigError {
    /// `default_class` or a meter's class is not in `classes`.
    #[error("meter class {class:?} (used by {used_by}) is not defined")]
    UnknownClass {
        /// The missing class.
        class: String,
        /// "default_class" or the meter id.
        used_by: String,
    },
    /// A class's time zone is not in the IANA database.
    #[error("meter class {class:?}: unknown time zone {time_zone:?}: {source}")]
    TimeZone {
        /// The class.
        class: String,
        /// The name given.
        time_zone: String,
        /// jiff's error.
        #[source]
        source: jiff::Error,
    },
    /// `interval_length_s` is 0 or does not divide a 24-hour day.
    #[error("meter class {class:?}: interval length {seconds} s must be > 0 and divide 86400")]
    IntervalLength {
        /// The class.
        class: String,
        /// The length given.
        seconds: u32,
    },
    /// A rule or estimation parameter is out of range.
    #[error("meter class {class:?}, {what}: {reason}")]
    Parameter {
        /// The class.
        class: String,
        /// The rule name or "estimation".
        what: String,
        /// What is wrong.
        reason: String,
    },
}

/// A meter class ready to run: its time zone resolved and its parameters checked.
#[derive(Debug, Clone)]
pub struct CompiledClass {
    /// The class name.
    pub name: String,
    /// Interval length, seconds.
    pub interval_length_s: i64,
    /// The class's time zone.
    pub tz: TimeZone,
    /// The rules, in configured order.
    pub rules: Vec<RuleSpec>,
    /// Estimation settings.
    pub estimation: EstimationConfig,
}

impl CompiledClass {
    /// The first configured rule with this id, if it runs on `reading_type`.
    pub fn rule(&self, id: RuleId, reading_type: ReadingType) -> Option<&RuleConfig> {
        self.rules.iter().find(|s| s.rule.id() == id && s.applies_to(reading_type)).map(|s| &s.rule)
    }
}

/// A checked [`VeeConfig`]: classes compiled, meters mapped to them.
#[derive(Debug, Clone)]
pub struct CompiledVee {
    /// [`VeeConfig::enabled`].
    pub enabled: bool,
    default_class: Arc<CompiledClass>,
    meters: HashMap<String, Arc<CompiledClass>>,
    source: VeeConfig,
}

impl CompiledVee {
    /// The class of `meter`.
    pub fn class_for(&self, meter: &MeterId) -> &CompiledClass {
        self.meters.get(&meter.0).unwrap_or(&self.default_class)
    }

    /// The configuration this was compiled from.
    pub fn config(&self) -> &VeeConfig {
        &self.source
    }
}

impl VeeConfig {
    /// Checks the configuration and resolves time zones.
    ///
    /// Errors: [`VeeConfigError`] naming the class and parameter at fault.
    pub fn compile(&self) -> Result<CompiledVee, VeeConfigError> {
        let mut classes: HashMap<&str, Arc<CompiledClass>> = HashMap::new();
        for (name, class) in &self.classes {
            classes.insert(name, Arc::new(compile_class(name, class)?));
        }
        let lookup = |class: &str, used_by: &str| {
            classes
                .get(class)
                .cloned()
                .ok_or_else(|| VeeConfigError::UnknownClass { class: class.to_string(), used_by: used_by.to_string() })
        };
        let default_class = lookup(&self.default_class, "default_class")?;
        let mut meters = HashMap::new();
        for (meter, class) in &self.meters {
            meters.insert(meter.clone(), lookup(class, meter)?);
        }
        Ok(CompiledVee { enabled: self.enabled, default_class, meters, source: self.clone() })
    }
}

fn compile_class(name: &str, class: &MeterClass) -> Result<CompiledClass, VeeConfigError> {
    let l = class.interval_length_s;
    if l == 0 || 86_400 % l != 0 {
        return Err(VeeConfigError::IntervalLength { class: name.to_string(), seconds: l });
    }
    let tz = TimeZone::get(&class.time_zone).map_err(|source| VeeConfigError::TimeZone {
        class: name.to_string(),
        time_zone: class.time_zone.clone(),
        source,
    })?;
    for spec in &class.rules {
        spec.rule.check().map_err(|reason| VeeConfigError::Parameter {
            class: name.to_string(),
            what: spec.rule.id().to_string(),
            reason,
        })?;
    }
    let e = &class.estimation;
    if e.like_days == 0 {
        return Err(VeeConfigError::Parameter {
            class: name.to_string(),
            what: "estimation".into(),
            reason: "like_days must be at least 1".into(),
        });
    }
    Ok(CompiledClass {
        name: name.to_string(),
        interval_length_s: i64::from(l),
        tz,
        rules: class.rules.clone(),
        estimation: class.estimation.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_compiles_and_maps_every_meter_to_the_default_class() {
        let compiled = VeeConfig::default().compile().unwrap();
        let class = compiled.class_for(&MeterId::from("anyone"));
        assert_eq!((class.name.as_str(), class.interval_length_s), ("default", 900));
        assert!(class.rule(RuleId::Spike, ReadingType::ActiveEnergyImport).is_some());
        // Spike runs on total import only by default, never on instantaneous channels.
        assert!(class.rule(RuleId::Spike, ReadingType::ActiveEnergyExport).is_none());
        assert!(class.rule(RuleId::NegativeConsumption, ReadingType::VoltageL1).is_none());
        assert!(class.rule(RuleId::MissingInterval, ReadingType::VoltageL1).is_some());
        assert!(class.rule(RuleId::ReverseFlow, ReadingType::ActiveEnergyExport).is_none());
    }

    #[test]
    fn bad_configurations_are_refused_with_the_culprit_named() {
        let mut config = VeeConfig::default();
        config.meters.insert("M1".into(), "nope".into());
        assert!(matches!(config.compile(), Err(VeeConfigError::UnknownClass { class, .. }) if class == "nope"));

        let mut config = VeeConfig::default();
        config.classes.get_mut("default").unwrap().time_zone = "Mars/Olympus".into();
        assert!(matches!(config.compile(), Err(VeeConfigError::TimeZone { .. })));

        let mut config = VeeConfig::default();
        config.classes.get_mut("default").unwrap().interval_length_s = 7;
        assert!(matches!(config.compile(), Err(VeeConfigError::IntervalLength { seconds: 7, .. })));

        let mut config = VeeConfig::default();
        config.classes.get_mut("default").unwrap().rules =
            vec![RuleSpec::new(RuleConfig::Spike { threshold_percent: f64::NAN, min_peak: 0.0 })];
        assert!(matches!(config.compile(), Err(VeeConfigError::Parameter { what, .. }) if what == "spike"));

        let config = VeeConfig { default_class: "missing".into(), ..VeeConfig::default() };
        assert!(
            matches!(config.compile(), Err(VeeConfigError::UnknownClass { used_by, .. }) if used_by == "default_class")
        );
    }

    #[test]
    fn an_explicit_channel_list_overrides_the_default_channels() {
        let spec = RuleSpec {
            rule: RuleConfig::ZeroConsumption { min_duration_s: 3600 },
            reading_types: Some(vec![ReadingType::ActiveEnergyExport, ReadingType::VoltageL1]),
        };
        assert!(spec.applies_to(ReadingType::ActiveEnergyExport));
        assert!(!spec.applies_to(ReadingType::ActiveEnergyImport));
        // Listed, but a consumption rule cannot run on volts.
        assert!(!spec.applies_to(ReadingType::VoltageL1));
    }
}
