//! Linear interpolation of interval consumption across a short run.

use super::runs::{Brackets, Run};

/// The shape of the run's k + 1 intervals (the k estimated ones and the one ending at the
/// bracket after): consumption interpolated linearly between the interval ending at the
/// bracket before (position 0) and the interval after the bracket after (position k + 2).
/// With one neighbour known the shape is flat at its value; with none, flat at 1. Negative
/// neighbour consumption counts as 0.
pub(super) fn shape(brackets: &Brackets<'_>, run: &Run, l: i64) -> Vec<f64> {
    let k = run.count;
    let before = brackets.consumption(run.start - l, l).map(|c| c.max(0.0));
    let after = brackets.consumption(run.end + 2 * l, l).map(|c| c.max(0.0));
    let n = (k + 1) as usize;
    match (before, after) {
        (Some(a), Some(b)) => (1..=k + 1).map(|j| a + (b - a) * j as f64 / (k + 2) as f64).collect(),
        (Some(c), None) | (None, Some(c)) => vec![c; n],
        (None, None) => vec![1.0; n],
    }
}
