//! Customer-level non-technical-loss suspects: consumption drops that coincide with the
//! transformer's loss rising, and tamper events followed by a consumption drop.

use jiff::civil::Date;
use model::MeterId;
use serde::Serialize;

use super::energy_balance::{EnergyBalance, MeterBalance};
use super::error::AnalyticsError;
use super::loss_flags::{TransformerFlag, judged_loss_percent, mean, transformer_flags, window_means};
use super::loss_rules::LossRules;
use super::tamper::TamperEvent;

/// A customer whose consumption dropped, relative to its own history, when the
/// transformer's loss rose.
///
/// Source: the consumption-drop analytic of utility revenue protection (a sudden, lasting
/// fall of a customer's usage against its own baseline is the classic sign of a meter
/// bypass or tamper), made specific by the energy balance: energy a bypass hides from the
/// customer's meter still passes the transformer's check meter, so the transformer's loss
/// rises by about what the customer's consumption fell ([`MeterSuspect::explained_percent`]
/// near 100).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeterSuspect {
    /// The customer meter.
    pub meter: MeterId,
    /// First day of the lower consumption.
    pub change_day: Date,
    /// Mean daily energy in the window before `change_day`, kWh per day (each judged day
    /// scaled to a full day from its usable intervals).
    pub baseline_kwh_per_day: f64,
    /// Mean daily energy in the window from `change_day`, kWh per day.
    pub recent_kwh_per_day: f64,
    /// `baseline − recent`, kWh per day.
    pub drop_kwh_per_day: f64,
    /// The drop as a percentage of the baseline.
    pub drop_percent: f64,
    /// The transformer's mean daily loss in the window before `change_day`, percent.
    pub loss_before_percent: f64,
    /// Its mean daily loss in the window from `change_day`, percent.
    pub loss_after_percent: f64,
    /// `loss_after_percent − loss_before_percent`, percentage points.
    pub loss_rise_points: f64,
    /// Rise of the transformer's mean daily loss, kWh per day.
    pub loss_rise_kwh_per_day: f64,
    /// `drop_kwh_per_day ÷ loss_rise_kwh_per_day × 100`: how much of the new loss this
    /// customer's drop accounts for; `None` when the loss did not rise in kWh.
    pub explained_percent: Option<f64>,
    /// Tamper events of this meter within [`LossRules::tamper_window_days`] of
    /// `change_day`.
    pub tamper_events: Vec<TamperEvent>,
}

/// A tamper event and the consumption of its meter around it.
///
/// Source: revenue-protection practice of correlating meter events with usage: a cover
/// opening or magnetic-tamper event followed by lower consumption is a far stronger lead
/// than either alone (a tamper event with unchanged consumption is often a meter reader or
/// an installer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TamperCorrelation {
    /// The first tamper event of the meter on that day.
    pub event: TamperEvent,
    /// Tamper events of the meter on that day.
    pub events_that_day: u32,
    /// The local day of the event.
    pub day: Date,
    /// Mean daily energy over the judged days of the window before the event's day, kWh
    /// per day.
    pub before_kwh_per_day: Option<f64>,
    /// Mean daily energy over the judged days of the window after the event's day (the
    /// event's own, partly affected day left out), kWh per day.
    pub after_kwh_per_day: Option<f64>,
    /// The drop as a percentage of `before_kwh_per_day` (negative for a rise).
    pub drop_percent: Option<f64>,
    /// True when the drop reaches [`LossRules::consumption_drop_percent`] from a baseline of
    /// at least [`LossRules::min_baseline_kwh_per_day`].
    pub consumption_dropped: bool,
}

/// Everything the loss rules found on one transformer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossAnalysis {
    /// The balance the rules ran on.
    pub balance: EnergyBalance,
    /// The thresholds used.
    pub rules: LossRules,
    /// Transformer-level flags.
    pub transformer_flags: Vec<TransformerFlag>,
    /// Customer suspects, tamper-backed first, then by the size of the drop.
    pub suspects: Vec<MeterSuspect>,
    /// Every tamper event on the transformer's meters in the period, one per meter and day.
    pub tamper: Vec<TamperCorrelation>,
}

/// Runs every loss rule on `balance`.
///
/// Errors: [`AnalyticsError::InvalidInput`] from [`LossRules::check`].
pub fn analyze_losses(
    balance: EnergyBalance,
    tamper_events: &[TamperEvent],
    rules: &LossRules,
) -> Result<LossAnalysis, AnalyticsError> {
    let transformer_flags = transformer_flags(&balance, rules)?;
    let suspects = consumption_drop_suspects(&balance, tamper_events, rules)?;
    let tamper = tamper_consumption_drops(&balance, tamper_events, rules)?;
    Ok(LossAnalysis { balance, rules: *rules, transformer_flags, suspects, tamper })
}

/// The customers of `balance` whose consumption dropped while the transformer's loss rose
/// (see [`MeterSuspect`]).
///
/// For each customer, every day `d` is tried as the change day: the mean of its judged days
/// in the [`LossRules::window_days`] before `d` (baseline) against those from `d` on
/// (recent), and the transformer's mean judged loss over the same two windows. A day
/// qualifies when the baseline is at least [`LossRules::min_baseline_kwh_per_day`], the
/// drop reaches [`LossRules::consumption_drop_percent`] and the loss rises by at least
/// [`LossRules::loss_rise_points`]; the qualifying day with the largest drop (the earliest
/// on a tie) is reported. A customer day is judged when its own coverage reaches
/// [`LossRules::min_day_coverage`].
///
/// Errors: [`AnalyticsError::InvalidInput`] from [`LossRules::check`].
pub fn consumption_drop_suspects(
    balance: &EnergyBalance,
    tamper_events: &[TamperEvent],
    rules: &LossRules,
) -> Result<Vec<MeterSuspect>, AnalyticsError> {
    rules.check()?;
    let loss_percent: Vec<Option<f64>> = balance.days.iter().map(|d| judged_loss_percent(d, rules)).collect();
    let loss_kwh: Vec<Option<f64>> = balance
        .days
        .iter()
        .map(|d| judged_loss_percent(d, rules).map(|_| d.amounts.loss_kwh / d.amounts.coverage))
        .collect();
    let mut suspects = Vec::new();
    for meter in balance.customers() {
        let daily = judged_meter_days(meter, rules);
        let mut best: Option<MeterSuspect> = None;
        for d in 1..daily.len() {
            let Some(energy) = window_means(&daily, d, rules) else { continue };
            let drop = energy.before - energy.after;
            if energy.before < rules.min_baseline_kwh_per_day
                || drop / energy.before * 100.0 < rules.consumption_drop_percent
            {
                continue;
            }
            let Some(loss) = window_means(&loss_percent, d, rules) else { continue };
            if loss.after - loss.before < rules.loss_rise_points {
                continue;
            }
            if best.as_ref().is_some_and(|b| b.drop_kwh_per_day >= drop) {
                continue;
            }
            let Some(change) = balance.days.get(d) else { continue };
            let loss_rise_kwh = window_means(&loss_kwh, d, rules).map_or(0.0, |k| k.after - k.before);
            best = Some(MeterSuspect {
                meter: meter.meter.clone(),
                change_day: change.day,
                baseline_kwh_per_day: energy.before,
                recent_kwh_per_day: energy.after,
                drop_kwh_per_day: drop,
                drop_percent: drop / energy.before * 100.0,
                loss_before_percent: loss.before,
                loss_after_percent: loss.after,
                loss_rise_points: loss.after - loss.before,
                loss_rise_kwh_per_day: loss_rise_kwh,
                explained_percent: (loss_rise_kwh > 0.0).then(|| drop / loss_rise_kwh * 100.0),
                tamper_events: Vec::new(),
            });
        }
        if let Some(mut suspect) = best {
            let change = balance.days.iter().position(|d| d.day == suspect.change_day).unwrap_or(0);
            let reach = usize::try_from(rules.tamper_window_days).unwrap_or(usize::MAX);
            suspect.tamper_events = tamper_events
                .iter()
                .filter(|e| e.meter == suspect.meter)
                .filter(|e| day_index(balance, e).is_some_and(|i| i.abs_diff(change) <= reach))
                .cloned()
                .collect();
            suspect.tamper_events.sort();
            suspects.push(suspect);
        }
    }
    // Tamper-backed suspects first (false sorts before true), then the largest drop.
    suspects.sort_by(|a, b| {
        (a.tamper_events.is_empty().cmp(&b.tamper_events.is_empty()))
            .then(b.drop_kwh_per_day.total_cmp(&a.drop_kwh_per_day))
    });
    Ok(suspects)
}

/// Each tamper event of a meter in `balance` (first per meter and local day) with the
/// meter's consumption before and after it (see [`TamperCorrelation`]). Events outside the
/// period or on meters not in the balance are left out. Ordered by time, then meter.
///
/// Errors: [`AnalyticsError::InvalidInput`] from [`LossRules::check`].
pub fn tamper_consumption_drops(
    balance: &EnergyBalance,
    tamper_events: &[TamperEvent],
    rules: &LossRules,
) -> Result<Vec<TamperCorrelation>, AnalyticsError> {
    rules.check()?;
    let mut events: Vec<&TamperEvent> = tamper_events.iter().collect();
    events.sort_by(|a, b| (a.at, &a.meter).cmp(&(b.at, &b.meter)));
    let mut out: Vec<TamperCorrelation> = Vec::new();
    for event in events {
        let Some(meter) = balance.meters.iter().find(|m| m.meter == event.meter) else { continue };
        let Some(index) = day_index(balance, event) else { continue };
        let Some(day) = balance.days.get(index) else { continue };
        if let Some(existing) = out.iter_mut().find(|c| c.event.meter == event.meter && c.day == day.day) {
            existing.events_that_day = existing.events_that_day.saturating_add(1);
            continue;
        }
        let daily = judged_meter_days(meter, rules);
        let w = rules.window();
        let need = rules.min_window_days();
        let side = |range: std::ops::Range<usize>| {
            let values: Vec<f64> = daily.get(range).unwrap_or(&[]).iter().flatten().copied().collect();
            if values.len() >= need { mean(&values) } else { None }
        };
        let before = side(index.saturating_sub(w)..index);
        let after_start = index.saturating_add(1).min(daily.len());
        let after = side(after_start..after_start.saturating_add(w).min(daily.len()));
        let drop_percent = match (before, after) {
            (Some(b), Some(a)) if b > 0.0 => Some((b - a) / b * 100.0),
            _ => None,
        };
        let consumption_dropped = before.is_some_and(|b| b >= rules.min_baseline_kwh_per_day)
            && drop_percent.is_some_and(|p| p >= rules.consumption_drop_percent);
        out.push(TamperCorrelation {
            event: event.clone(),
            events_that_day: 1,
            day: day.day,
            before_kwh_per_day: before,
            after_kwh_per_day: after,
            drop_percent,
            consumption_dropped,
        });
    }
    Ok(out)
}

/// The meter's daily energy on its judged days, scaled to a whole day from its usable
/// intervals; `None` on other days.
fn judged_meter_days(meter: &MeterBalance, rules: &LossRules) -> Vec<Option<f64>> {
    meter
        .days
        .iter()
        .map(|d| {
            let coverage = d.coverage();
            (coverage > 0.0 && coverage >= rules.min_day_coverage).then(|| d.kwh / coverage)
        })
        .collect()
}

/// Index of the balance day holding the event.
fn day_index(balance: &EnergyBalance, event: &TamperEvent) -> Option<usize> {
    balance.days.iter().position(|d| d.start <= event.at && event.at < d.end)
}
