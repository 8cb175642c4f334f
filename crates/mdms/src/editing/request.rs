//! Checks on an edit request, before anything is written.

use jiff::Timestamp;
use model::{MeterId, ReadingType};

use crate::StoreError;

/// Why an edit, a manual estimation or an acceptance was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditRefusal {
    /// The user is empty (or only whitespace): every change must say who made it.
    #[error("an edit needs a user")]
    EmptyUser,
    /// The reason is empty: every change must say why.
    #[error("an edit needs a reason")]
    EmptyReason,
    /// The new value is NaN or infinite.
    #[error("the new value {0} is not finite")]
    NonFiniteValue(f64),
    /// Interval ends are whole seconds; this one has a fractional part.
    #[error("interval end {0} is not a whole second")]
    FractionalSecond(Timestamp),
    /// The store does not know the meter.
    #[error("unknown meter {0}")]
    UnknownMeter(MeterId),
    /// The range is empty (`from >= to`).
    #[error("empty range [{from}, {to})")]
    EmptyRange {
        /// Start.
        from: Timestamp,
        /// End.
        to: Timestamp,
    },
    /// Only cumulative (energy) channels are estimated.
    #[error("{0} is not a cumulative reading type")]
    NotCumulative(ReadingType),
}

/// The error of editing operations: a refusal (nothing written) or a store failure (the
/// transaction was rolled back).
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The request was refused.
    #[error("edit refused: {0}")]
    Refused(#[from] EditRefusal),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the user and the reason: both must be non-blank.
pub fn check_actor(user: &str, reason: &str) -> Result<(), EditRefusal> {
    if user.trim().is_empty() {
        return Err(EditRefusal::EmptyUser);
    }
    if reason.trim().is_empty() {
        return Err(EditRefusal::EmptyReason);
    }
    Ok(())
}

/// Checks an edit of the value at `interval_end`: a user and a reason, a finite value, a
/// whole-second interval end.
pub fn check_edit(interval_end: Timestamp, new_value: f64, user: &str, reason: &str) -> Result<(), EditRefusal> {
    check_actor(user, reason)?;
    if !new_value.is_finite() {
        return Err(EditRefusal::NonFiniteValue(new_value));
    }
    if interval_end.subsec_nanosecond() != 0 {
        return Err(EditRefusal::FractionalSecond(interval_end));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_need_who_why_and_a_usable_value() {
        let t: Timestamp = "2025-01-01T00:15:00Z".parse().unwrap();
        assert_eq!(check_edit(t, 1.0, "alice", "meter test"), Ok(()));
        assert_eq!(check_edit(t, 1.0, " ", "meter test"), Err(EditRefusal::EmptyUser));
        assert_eq!(check_edit(t, 1.0, "alice", ""), Err(EditRefusal::EmptyReason));
        assert!(matches!(check_edit(t, f64::NAN, "alice", "x"), Err(EditRefusal::NonFiniteValue(_))));
        let half: Timestamp = "2025-01-01T00:15:00.5Z".parse().unwrap();
        assert_eq!(check_edit(half, 1.0, "alice", "x"), Err(EditRefusal::FractionalSecond(half)));
    }
}
