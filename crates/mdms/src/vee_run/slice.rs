//! Loading the slice of one validation window through [`VeeTx`].

use super::{Channel, Slice, VeeTx, Window};
use crate::StoreError;
use crate::epoch::from_second;
use crate::vee::{RuleId, SeriesPoint, history_midnights};

/// Builds the slice of `win` from `ctx_points` (the latest versions in `ctx_lo..=ctx_hi`)
/// plus the neighbours, the register reads and the history midnights.
pub(crate) fn load_slice<T: VeeTx + ?Sized>(
    tx: &mut T,
    ch: &Channel<'_>,
    win: &Window,
    ctx_points: Vec<SeriesPoint>,
) -> Result<Slice, StoreError> {
    let l = ch.class.interval_length_s;
    let mut lo = win.ctx_lo;
    let mut extra = Vec::new();
    let mut registers = Vec::new();
    if ch.with_registers && ch.class.rule(RuleId::SumCheck, ch.reading_type).is_some() {
        // The read before the window pairs with the first read in it.
        let before = tx.register_read_before(ch, win.ctx_lo)?;
        let reads_from = before.unwrap_or(win.ctx_lo);
        registers = tx.register_reads(ch, reads_from, win.ctx_hi)?;
        if let Some(r) = before.filter(|&r| r - l < win.ctx_lo) {
            lo = r - 2 * l;
            extra = tx.window_points(ch, lo, win.ctx_lo - 1)?;
        }
    }
    let mut points = Vec::with_capacity(ctx_points.len() + extra.len() + 2);
    points.extend(tx.point_before(ch, lo)?);
    points.extend(extra);
    points.extend(ctx_points);
    points.extend(tx.point_after(ch, win.ctx_hi)?);
    let wanted = history_midnights(ch.class, ch.reading_type, from_second(win.from)?)?;
    let midnights = if wanted.is_empty() {
        Vec::new()
    } else {
        let ends: Vec<i64> = wanted.iter().map(|t| t.as_second()).collect();
        tx.values_at(ch, &ends)?
    };
    Ok(Slice { points, registers, midnights })
}
