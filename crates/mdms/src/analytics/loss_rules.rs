//! The parameters of the non-technical-loss rules, as data (serde, every field defaulted).

use serde::{Deserialize, Serialize};

use super::error::AnalyticsError;

/// Thresholds of the loss rules ([`transformer_flags`](super::transformer_flags),
/// [`consumption_drop_suspects`](super::consumption_drop_suspects),
/// [`tamper_consumption_drops`](super::tamper_consumption_drops)).
///
/// Deserializes from JSON or TOML with every field optional, e.g.
/// `{"technical_loss_percent": 4.0, "sustained_days": 5}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossRules {
    /// Technical-loss allowance of the LV network, percent of the check meter's energy: a
    /// day's loss above it is unexplained (default 5; 3 to 5 % is usual for a secondary
    /// network, more for long rural feeders).
    pub technical_loss_percent: f64,
    /// Days (with enough coverage) in a row the loss must stay above the allowance before
    /// it is flagged, and below −`negative_balance_percent` for a negative balance
    /// (default 3).
    pub sustained_days: u32,
    /// Share of a day's intervals that must count (0..=1) for the day to be judged; days
    /// below are skipped: they neither extend nor break a run (default 0.9).
    pub min_day_coverage: f64,
    /// Length of the before and after windows of the step-change and consumption-drop
    /// rules, days (default 7, a whole week, so weekday patterns cancel out). At least half
    /// of each window's days must be judged.
    pub window_days: u32,
    /// Rise of the mean daily loss, percentage points, between two consecutive windows
    /// that makes a step change (default 3).
    pub step_change_points: f64,
    /// A day's loss below −this percent is a negative balance (default 2).
    pub negative_balance_percent: f64,
    /// Drop of a customer's mean daily energy, percent of its own baseline, that makes it a
    /// suspect when the transformer's loss rises at the same time (default 30).
    pub consumption_drop_percent: f64,
    /// Rise of the transformer's mean daily loss, percentage points, that must coincide
    /// with a customer's drop (default 2).
    pub loss_rise_points: f64,
    /// Baselines below this energy, kWh per day, are too small to judge a drop (default 1).
    pub min_baseline_kwh_per_day: f64,
    /// A tamper event counts for a suspect when it falls within this many days of the
    /// consumption drop (default 3).
    pub tamper_window_days: u32,
}

impl Default for LossRules {
    fn default() -> Self {
        LossRules {
            technical_loss_percent: 5.0,
            sustained_days: 3,
            min_day_coverage: 0.9,
            window_days: 7,
            step_change_points: 3.0,
            negative_balance_percent: 2.0,
            consumption_drop_percent: 30.0,
            loss_rise_points: 2.0,
            min_baseline_kwh_per_day: 1.0,
            tamper_window_days: 3,
        }
    }
}

impl LossRules {
    /// Checks the ranges: every number finite and not negative, coverage in 0..=1, at least
    /// one day for runs and windows.
    ///
    /// Errors: [`AnalyticsError::InvalidInput`] naming the field.
    pub fn check(&self) -> Result<(), AnalyticsError> {
        let numbers = [
            ("technical_loss_percent", self.technical_loss_percent),
            ("min_day_coverage", self.min_day_coverage),
            ("step_change_points", self.step_change_points),
            ("negative_balance_percent", self.negative_balance_percent),
            ("consumption_drop_percent", self.consumption_drop_percent),
            ("loss_rise_points", self.loss_rise_points),
            ("min_baseline_kwh_per_day", self.min_baseline_kwh_per_day),
        ];
        if let Some((name, v)) = numbers.iter().find(|(_, v)| !v.is_finite() || *v < 0.0) {
            return Err(AnalyticsError::InvalidInput(format!("loss rule {name} = {v} must be finite and >= 0")));
        }
        if self.min_day_coverage > 1.0 {
            return Err(AnalyticsError::InvalidInput("min_day_coverage must be in 0..=1".into()));
        }
        if self.sustained_days == 0 || self.window_days == 0 {
            return Err(AnalyticsError::InvalidInput("sustained_days and window_days must be at least 1".into()));
        }
        Ok(())
    }

    /// Judged days each window needs: half the window, rounded up.
    pub(crate) fn min_window_days(&self) -> usize {
        usize::try_from(self.window_days.div_ceil(2)).unwrap_or(1).max(1)
    }

    /// The window length as `usize`.
    pub(crate) fn window(&self) -> usize {
        usize::try_from(self.window_days).unwrap_or(usize::MAX)
    }
}
