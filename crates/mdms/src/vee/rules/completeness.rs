//! Completeness: missing intervals (gaps) and conflicting duplicate deliveries.

use super::{Context, next_grid_after};
use crate::vee::{Finding, RuleId};

/// Gaps longer than this many seconds are reported by their first and last missing
/// interval only, so that a meter whose clock jumped years ahead cannot flood the store.
pub(crate) const MAX_GAP_REPORTED_PER_INTERVAL_S: i64 = 31 * 86_400;

/// [`RuleId::MissingInterval`]: every grid interval end strictly between two consecutive
/// stored values. `measured` is the gap's number of missing intervals.
pub(super) fn missing_interval(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let s = ctx.series;
    for i in 1..s.ends.len() {
        if s.span[i] <= ctx.l {
            continue;
        }
        let (prev, next) = (s.ends[i - 1], s.ends[i]);
        let first = next_grid_after(prev, ctx.l, ctx.tz);
        if first >= next {
            continue;
        }
        let count = (next - 1 - first) / ctx.l + 1;
        let last = first + (count - 1) * ctx.l;
        let measured = Some(count as f64);
        if count * ctx.l > MAX_GAP_REPORTED_PER_INTERVAL_S {
            out.extend(ctx.at_missing(RuleId::MissingInterval, first, measured));
            out.extend(ctx.at_missing(RuleId::MissingInterval, last, measured));
            continue;
        }
        let mut m = first;
        while m < next {
            out.extend(ctx.at_missing(RuleId::MissingInterval, m, measured));
            m += ctx.l;
        }
    }
}

/// [`RuleId::DuplicateInterval`]: the HES delivered different values for the interval.
pub(super) fn duplicate_interval(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for (i, p) in ctx.series.points.iter().enumerate() {
        if p.conflicting_deliveries {
            out.extend(ctx.at_point(RuleId::DuplicateInterval, i, None, None));
        }
    }
}
