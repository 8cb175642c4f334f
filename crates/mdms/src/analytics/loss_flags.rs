//! Transformer-level non-technical-loss flags from an [`EnergyBalance`].
//!
//! Each rule names the revenue-protection practice it comes from. All work on judged days:
//! local days whose coverage reaches [`LossRules::min_day_coverage`] and whose loss
//! percentage is defined; other days are skipped (never read as zero loss).

use jiff::civil::Date;
use serde::Serialize;

use super::energy_balance::{BalanceDay, EnergyBalance, total};
use super::error::AnalyticsError;
use super::loss_rules::LossRules;

/// A transformer-level flag. Serialized with the rule name in a `rule` field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum TransformerFlag {
    /// The daily loss stayed above the technical-loss allowance for at least
    /// [`LossRules::sustained_days`] judged days in a row.
    ///
    /// Source: the DT energy-audit practice of revenue protection: a transformer whose
    /// loss persistently exceeds the technical-loss allowance of its LV network is put on
    /// the inspection list (a single bad day is noise; a sustained excess is theft, a
    /// bypass, an unbilled connection or a faulty meter).
    SustainedLoss {
        /// First day of the run.
        first_day: Date,
        /// Last day of the run.
        last_day: Date,
        /// Judged days in the run.
        days: u32,
        /// Mean daily loss over the run, percent.
        mean_loss_percent: f64,
        /// Highest daily loss of the run, percent.
        max_loss_percent: f64,
        /// The allowance, percent.
        allowance_percent: f64,
        /// Loss above the allowance over the run, kWh (counted intervals only).
        excess_kwh: f64,
    },
    /// The mean daily loss rose by at least [`LossRules::step_change_points`] percentage
    /// points from one window of [`LossRules::window_days`] to the next.
    ///
    /// Source: revenue-protection trend analysis of transformer loss: a step change marks
    /// the day a new loss appeared (a bypass installed, a meter tampered with, a new
    /// illegal connection), which is what ties it to a customer whose consumption dropped
    /// that day.
    LossStepChange {
        /// First day of the higher level.
        day: Date,
        /// Mean daily loss in the window before `day`, percent.
        before_percent: f64,
        /// Mean daily loss in the window from `day` on, percent.
        after_percent: f64,
        /// `after_percent − before_percent`, percentage points.
        change_points: f64,
    },
    /// The daily loss stayed below −[`LossRules::negative_balance_percent`] for at least
    /// [`LossRules::sustained_days`] judged days in a row: the customers were credited with
    /// more energy than the transformer delivered.
    ///
    /// Source: the data-quality side of DT energy audits: a negative balance is not theft
    /// but a meter-to-transformer mapping error (a customer on another transformer), a
    /// check-meter fault or a wrong CT ratio, and it hides real losses until corrected.
    NegativeBalance {
        /// First day of the run.
        first_day: Date,
        /// Last day of the run.
        last_day: Date,
        /// Judged days in the run.
        days: u32,
        /// Mean daily loss over the run, percent (negative).
        mean_loss_percent: f64,
    },
}

/// The transformer-level flags of `balance` under `rules`, ordered by rule (sustained
/// losses, step changes, negative balances), then day.
///
/// Errors: [`AnalyticsError::InvalidInput`] from [`LossRules::check`].
pub fn transformer_flags(balance: &EnergyBalance, rules: &LossRules) -> Result<Vec<TransformerFlag>, AnalyticsError> {
    rules.check()?;
    let judged: Vec<Option<f64>> = balance.days.iter().map(|d| judged_loss_percent(d, rules)).collect();
    let mut flags = Vec::new();

    let allowance = rules.technical_loss_percent;
    for run in runs(&judged, |p| p > allowance) {
        if run.len() < rules.sustained_days as usize {
            continue;
        }
        let days: Vec<&BalanceDay> = run.iter().filter_map(|&i| balance.days.get(i)).collect();
        let losses: Vec<f64> = run.iter().filter_map(|&i| judged.get(i).copied().flatten()).collect();
        let (Some(first), Some(last)) = (days.first(), days.last()) else { continue };
        flags.push(TransformerFlag::SustainedLoss {
            first_day: first.day,
            last_day: last.day,
            days: count_u32(days.len()),
            mean_loss_percent: mean(&losses).unwrap_or(0.0),
            max_loss_percent: losses.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            allowance_percent: allowance,
            excess_kwh: total(days.iter().map(|d| d.amounts.loss_kwh - d.amounts.check_kwh * allowance / 100.0)),
        });
    }

    for step in step_changes(&judged, rules) {
        if let Some(day) = balance.days.get(step.index) {
            flags.push(TransformerFlag::LossStepChange {
                day: day.day,
                before_percent: step.before,
                after_percent: step.after,
                change_points: step.after - step.before,
            });
        }
    }

    let floor = -rules.negative_balance_percent;
    for run in runs(&judged, |p| p < floor) {
        if run.len() < rules.sustained_days as usize {
            continue;
        }
        let losses: Vec<f64> = run.iter().filter_map(|&i| judged.get(i).copied().flatten()).collect();
        let (Some(first), Some(last)) =
            (run.first().and_then(|&i| balance.days.get(i)), run.last().and_then(|&i| balance.days.get(i)))
        else {
            continue;
        };
        flags.push(TransformerFlag::NegativeBalance {
            first_day: first.day,
            last_day: last.day,
            days: count_u32(run.len()),
            mean_loss_percent: mean(&losses).unwrap_or(0.0),
        });
    }
    Ok(flags)
}

/// The day's loss percentage when the day is judged.
pub(crate) fn judged_loss_percent(day: &BalanceDay, rules: &LossRules) -> Option<f64> {
    (day.amounts.coverage >= rules.min_day_coverage).then_some(day.amounts.loss_percent).flatten()
}

/// Maximal runs of judged days satisfying `pred`, as day indexes; unjudged days are skipped
/// (they neither extend nor break a run).
fn runs(judged: &[Option<f64>], pred: impl Fn(f64) -> bool) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for (i, value) in judged.iter().enumerate() {
        match value {
            None => {}
            Some(v) if pred(*v) => current.push(i),
            Some(_) if !current.is_empty() => out.push(std::mem::take(&mut current)),
            Some(_) => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Means of the judged values in the window before index `d` and the window from `d`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WindowMeans {
    /// Index of the first day of the after window.
    pub index: usize,
    /// Mean over the before window.
    pub before: f64,
    /// Mean over the after window.
    pub after: f64,
}

/// The window means at `d` ([`LossRules::window_days`] each side), when each side holds at
/// least [`LossRules::min_window_days`] values.
pub(crate) fn window_means(series: &[Option<f64>], d: usize, rules: &LossRules) -> Option<WindowMeans> {
    let w = rules.window();
    let before: Vec<f64> = series.get(d.saturating_sub(w)..d)?.iter().flatten().copied().collect();
    let after: Vec<f64> = series.get(d..d.saturating_add(w).min(series.len()))?.iter().flatten().copied().collect();
    let need = rules.min_window_days();
    if before.len() < need || after.len() < need {
        return None;
    }
    Some(WindowMeans { index: d, before: mean(&before)?, after: mean(&after)? })
}

/// Step rises of at least [`LossRules::step_change_points`]: the largest first, then the
/// next largest at least a window away from those kept, and so on; returned by day.
fn step_changes(judged: &[Option<f64>], rules: &LossRules) -> Vec<WindowMeans> {
    let mut candidates: Vec<WindowMeans> = (1..judged.len())
        .filter_map(|d| window_means(judged, d, rules))
        .filter(|m| m.after - m.before >= rules.step_change_points)
        .collect();
    // Largest rise first; the earliest day wins a tie (the sort is stable).
    candidates.sort_by(|a, b| (b.after - b.before).total_cmp(&(a.after - a.before)));
    let mut kept: Vec<WindowMeans> = Vec::new();
    for c in candidates {
        if kept.iter().all(|k| k.index.abs_diff(c.index) >= rules.window()) {
            kept.push(c);
        }
    }
    kept.sort_by_key(|m| m.index);
    kept
}

/// Arithmetic mean, `None` for an empty slice.
pub(crate) fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| total(values.iter().copied()) / values.len() as f64)
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
