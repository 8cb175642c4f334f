//! High/low usage against the meter's own history.

use std::collections::HashMap;

use model::ReadingType;

use super::{Context, OUTAGE};
use crate::vee::{CompiledClass, Finding, RuleConfig, RuleId};

/// How many local days of history the class's high/low rule needs on `reading_type` (0 when
/// it does not run there).
pub(crate) fn history_days_needed(class: &CompiledClass, reading_type: ReadingType) -> u32 {
    match class.rule(RuleId::HighLowUsage, reading_type) {
        Some(RuleConfig::HighLowUsage { history_days, .. }) => *history_days,
        _ => 0,
    }
}

/// [`RuleId::HighLowUsage`]: for each validated local day whose bounding midnight values
/// are known, its usage per 24 h (so 23- and 25-hour days compare fairly) against the
/// average over the previous `history_days` days with known bounds (at least
/// `min_history_days` of them). Every value of a day above `high_percent` of the average, or
/// below `low_percent` of it without a reported outage that day, is flagged;
/// `measured` = the day's usage per 24 h, `limit` = the bound it broke.
pub(super) fn high_low_usage(
    ctx: &Context<'_>,
    history_days: u32,
    min_history_days: u32,
    high_percent: f64,
    low_percent: f64,
    out: &mut Vec<Finding>,
) {
    let s = ctx.series;
    let mut at: HashMap<i64, f64> = ctx.midnight_history.iter().copied().collect();
    for (i, &end) in s.ends.iter().enumerate() {
        at.insert(end, s.points[i].value);
    }
    let usage = |start: i64, end: i64| -> Option<f64> {
        let (a, b) = (at.get(&start)?, at.get(&end)?);
        let length = end - start;
        (length > 0).then(|| (b - a) * 86_400.0 / length as f64)
    };
    // History days precede the first validated day; validated days serve as history for
    // the later ones.
    let history = &ctx.history_days;
    let all: Vec<(i64, i64)> =
        history.iter().map(|d| (d.start, d.end)).chain(ctx.days.iter().map(|(d, _)| (d.start, d.end))).collect();
    let usages: Vec<Option<f64>> = all.iter().map(|&(a, b)| usage(a, b)).collect();
    let window = history_days as usize;
    for (k, (_, range)) in ctx.days.iter().enumerate() {
        let j = history.len() + k;
        let Some(today) = usages[j] else { continue };
        let past: Vec<f64> = usages[j.saturating_sub(window)..j].iter().flatten().copied().collect();
        if past.len() < min_history_days as usize || past.is_empty() {
            continue;
        }
        let average = past.iter().sum::<f64>() / past.len() as f64;
        let high = average * high_percent / 100.0;
        let low = average * low_percent / 100.0;
        let limit = if today > high {
            high
        } else if today < low && !range.clone().any(|i| s.points[i].quality.intersects(OUTAGE)) {
            low
        } else {
            continue;
        };
        for i in range.clone() {
            out.extend(ctx.at_point(RuleId::HighLowUsage, i, Some(today), Some(limit)));
        }
    }
}
