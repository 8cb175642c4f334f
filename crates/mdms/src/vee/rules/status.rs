//! The meter's own status flags.

use super::Context;
use crate::vee::{Finding, RuleId, StatusFlag};

/// [`RuleId::StatusFlags`]: the value carries one of `flags` (`measured` = the matching
/// quality bits).
pub(super) fn status_flags(ctx: &Context<'_>, flags: &[StatusFlag], out: &mut Vec<Finding>) {
    let mask = flags.iter().fold(0, |m, f| m | f.bit());
    for (i, p) in ctx.series.points.iter().enumerate() {
        let hit = p.quality.0 & mask;
        if hit != 0 {
            out.extend(ctx.at_point(RuleId::StatusFlags, i, Some(f64::from(hit)), None));
        }
    }
}
