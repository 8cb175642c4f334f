//! Consumption rules: zero, negative, spike, reverse flow.

use super::{Context, OUTAGE};
use crate::vee::{Finding, RuleId};

/// Differences this small are exact zeros written with float noise.
const ZERO_EPSILON: f64 = 1e-9;

/// [`RuleId::ZeroConsumption`]: runs of consecutive zero-consumption differences lasting at
/// least `min_duration_s`, unless the meter reported a power failure or a disconnection in
/// the run or in the values just before or after it (an outage explains the zeros).
/// `measured` = the run's duration in seconds.
pub(super) fn zero_consumption(ctx: &Context<'_>, min_duration_s: u32, out: &mut Vec<Finding>) {
    let s = ctx.series;
    let n = s.ends.len();
    let is_zero = |i: usize| matches!(s.consumption[i], Some(c) if c.abs() <= ZERO_EPSILON);
    let outage = |i: usize| s.points.get(i).is_some_and(|p| p.quality.intersects(OUTAGE));
    let mut i = 1;
    while i < n {
        if !is_zero(i) {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && is_zero(i) {
            i += 1;
        }
        // The run is start..i; its first difference starts at the value start - 1.
        let duration: i64 = s.span[start..i].iter().sum();
        let explained = (start - 1..=i).any(outage);
        if duration >= i64::from(min_duration_s) && !explained {
            for k in start..i {
                out.extend(ctx.at_point(
                    RuleId::ZeroConsumption,
                    k,
                    Some(duration as f64),
                    Some(f64::from(min_duration_s)),
                ));
            }
        }
    }
}

/// [`RuleId::NegativeConsumption`]: the register decreased by more than `tolerance` (and
/// did not roll over). `measured` = the consumption.
pub(super) fn negative_consumption(ctx: &Context<'_>, tolerance: f64, out: &mut Vec<Finding>) {
    let s = ctx.series;
    for i in 1..s.ends.len() {
        if let Some(c) = s.consumption[i].filter(|&c| c < -tolerance && !s.rollover[i]) {
            out.extend(ctx.at_point(RuleId::NegativeConsumption, i, Some(c), Some(0.0)));
        }
    }
}

/// [`RuleId::Spike`]: per validated local day, over intervals of exactly one interval
/// length, the highest consumption exceeds the third highest by more than
/// `threshold_percent` (and is at least `min_peak`). The finding is on the highest
/// interval; `measured` = its consumption, `limit` = third highest × (1 + threshold/100).
pub(super) fn spike(ctx: &Context<'_>, threshold_percent: f64, min_peak: f64, out: &mut Vec<Finding>) {
    let s = ctx.series;
    for (_, range) in ctx.days {
        let mut top: [Option<(f64, usize)>; 3] = [None; 3];
        for i in range.clone() {
            if let Some(c) = s.adjacent_consumption(i, ctx.l) {
                push_top3(&mut top, c, i);
            }
        }
        if let [Some((highest, at)), Some(_), Some((third, _))] = top {
            let limit = third * (1.0 + threshold_percent / 100.0);
            if highest >= min_peak && highest > limit {
                out.extend(ctx.at_point(RuleId::Spike, at, Some(highest), Some(limit)));
            }
        }
    }
}

/// Inserts `(c, i)` into the descending top three; the first of equal values stays first.
fn push_top3(top: &mut [Option<(f64, usize)>; 3], c: f64, i: usize) {
    let mut carry = Some((c, i));
    for slot in top.iter_mut() {
        let Some(item) = carry else { return };
        match slot {
            None => {
                *slot = Some(item);
                return;
            }
            Some((v, _)) if item.0 > *v => carry = slot.replace(item),
            Some(_) => {}
        }
    }
}

/// [`RuleId::ReverseFlow`]: an export register advanced by more than `min_export` over an
/// interval. `measured` = the advance.
pub(super) fn reverse_flow(ctx: &Context<'_>, min_export: f64, out: &mut Vec<Finding>) {
    let s = ctx.series;
    for i in 1..s.ends.len() {
        if let Some(c) = s.consumption[i].filter(|&c| c > min_export) {
            out.extend(ctx.at_point(RuleId::ReverseFlow, i, Some(c), Some(min_export)));
        }
    }
}
