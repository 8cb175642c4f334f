//! Timing: the profile's interval length and grid, and the meter clock's error.

use jiff::Timestamp;

use super::Context;
use crate::vee::{Finding, RuleId};

/// [`RuleId::IntervalLength`]: the delivering session reported another capture period
/// (`measured` = reported seconds, `limit` = the class's), or the interval end is off the
/// class's local grid (`measured` = seconds past the last grid point, `limit` = 0).
pub(super) fn interval_length(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let s = ctx.series;
    let l = ctx.l;
    // Offsets of real zones change by multiples of 15 minutes; when every offset in the
    // series is congruent modulo `l`, one remainder serves all points.
    let offset = |t: i64| Timestamp::from_second(t).map(|ts| i64::from(ctx.tz.to_offset(ts).seconds())).unwrap_or(0);
    let (first, last) = match (s.ends.first(), s.ends.last()) {
        (Some(&f), Some(&e)) => (f, e),
        _ => return,
    };
    let same = offset(first).rem_euclid(l) == offset(last).rem_euclid(l)
        && ctx.days.iter().all(|(d, _)| offset(d.start).rem_euclid(l) == offset(first).rem_euclid(l));
    let common = offset(first);
    for (i, p) in s.points.iter().enumerate() {
        if let Some(d) = p.delivery {
            if i64::from(d.interval_length_s) != l {
                out.extend(ctx.at_point(
                    RuleId::IntervalLength,
                    i,
                    Some(f64::from(d.interval_length_s)),
                    Some(l as f64),
                ));
                continue;
            }
        }
        let end = s.ends[i];
        let off = if same { common } else { offset(end) };
        let past = (end + off).rem_euclid(l);
        if past != 0 {
            out.extend(ctx.at_point(RuleId::IntervalLength, i, Some(past as f64), Some(0.0)));
        }
    }
}

/// [`RuleId::TimeTolerance`]: the meter clock error reported by the delivering session
/// exceeds `max_clock_error_s` (`measured` = error in seconds, signed).
pub(super) fn time_tolerance(ctx: &Context<'_>, max_clock_error_s: u32, out: &mut Vec<Finding>) {
    let limit_ms = i64::from(max_clock_error_s) * 1000;
    for (i, p) in ctx.series.points.iter().enumerate() {
        let drift = p.delivery.and_then(|d| d.clock_drift_ms);
        if let Some(ms) = drift.filter(|ms| ms.unsigned_abs() > limit_ms.unsigned_abs()) {
            out.extend(ctx.at_point(
                RuleId::TimeTolerance,
                i,
                Some(ms as f64 / 1000.0),
                Some(f64::from(max_clock_error_s)),
            ));
        }
    }
}
