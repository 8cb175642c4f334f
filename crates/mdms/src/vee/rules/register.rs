//! Register rules: rollover, meter advance, sum check against register reads.

use super::Context;
use crate::vee::{Finding, RuleId};

/// [`RuleId::RegisterRollover`]: the register wrapped past `register_max` (the difference
/// was taken across the wrap). `measured` = the value after the wrap.
pub(super) fn register_rollover(ctx: &Context<'_>, register_max: f64, out: &mut Vec<Finding>) {
    let s = ctx.series;
    for (i, &wrapped) in s.rollover.iter().enumerate() {
        if wrapped {
            out.extend(ctx.at_point(RuleId::RegisterRollover, i, Some(s.points[i].value), Some(register_max)));
        }
    }
}

/// [`RuleId::MeterAdvance`]: the register advanced more than `max_demand_w × covered s /
/// 3600` since the previous value (one interval, or a whole gap). `measured` = the advance.
pub(super) fn meter_advance(ctx: &Context<'_>, max_demand_w: f64, out: &mut Vec<Finding>) {
    let s = ctx.series;
    for i in 1..s.ends.len() {
        let limit = max_demand_w * s.span[i] as f64 / 3600.0;
        if let Some(c) = s.consumption[i].filter(|&c| c > limit) {
            out.extend(ctx.at_point(RuleId::MeterAdvance, i, Some(c), Some(limit)));
        }
    }
}

/// [`RuleId::SumCheck`]: for each pair of consecutive register reads, the interval
/// channel's advance between the read times against the reads' advance. The channel's
/// value at a read time between two interval ends is interpolated; after the last interval
/// end it is extrapolated at the last interval's rate, and the extrapolated part is added to
/// the tolerance. Flags every value whose interval lies between the reads when
/// `|interval advance − register advance| > max(tolerance_percent % of the register
/// advance, tolerance_abs) + uncertainty`; `measured` = the interval advance, `limit` = the
/// register advance.
pub(super) fn sum_check(ctx: &Context<'_>, tolerance_percent: f64, tolerance_abs: f64, out: &mut Vec<Finding>) {
    let s = ctx.series;
    let n = s.ends.len();
    if n < 2 || ctx.registers.len() < 2 {
        return;
    }
    // Cumulative sum of consumption (rollovers unwrapped), so advances are differences.
    let mut unwrapped = Vec::with_capacity(n);
    let mut acc = s.points[0].value;
    unwrapped.push(acc);
    for c in &s.consumption[1..] {
        acc += c.unwrap_or(0.0);
        unwrapped.push(acc);
    }
    let l = ctx.l;
    let at = |r: i64| -> Option<(f64, f64)> {
        let idx = s.ends.partition_point(|&e| e < r);
        if idx < n && s.ends[idx] == r {
            return Some((unwrapped[idx], 0.0));
        }
        let g = idx.checked_sub(1)?;
        if r - s.ends[g] >= l {
            return None;
        }
        let f = (r - s.ends[g]) as f64 / l as f64;
        if idx < n && s.ends[idx] - s.ends[g] == l {
            let c = unwrapped[idx] - unwrapped[g];
            return Some((unwrapped[g] + c * f, c.abs() * f.max(1.0 - f)));
        }
        let c = s.adjacent_consumption(g, l)?;
        Some((unwrapped[g] + c * f, c.abs() * f))
    };
    for pair in ctx.registers.windows(2) {
        let (r0, r1) = (pair[0].read_at.as_second(), pair[1].read_at.as_second());
        if r1 <= r0 {
            continue;
        }
        let (Some((b0, u0)), Some((b1, u1))) = (at(r0), at(r1)) else { continue };
        let interval_advance = b1 - b0;
        let register_advance = pair[1].value - pair[0].value;
        let tolerance = (tolerance_percent / 100.0 * register_advance.abs()).max(tolerance_abs) + u0 + u1;
        if (interval_advance - register_advance).abs() <= tolerance {
            continue;
        }
        let from = s.ends.partition_point(|&e| e <= r0);
        let to = s.ends.partition_point(|&e| e < r1.saturating_add(l));
        for i in from..to {
            out.extend(ctx.at_point(RuleId::SumCheck, i, Some(interval_advance), Some(register_advance)));
        }
    }
}
