//! When a link is up: a schedule in simulated time (see [`crate::clock`]).
//!
//! Scheduled unavailability is what a link model carries by itself (a PLC segment that is
//! unusable every evening when the load's noise peaks, a cellular device in power saving
//! mode that only listens during its active window); outages and partitions decided by a
//! scenario are [`crate::scenario`] effects on top of it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A link's up/down schedule.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum Availability {
    /// Always up.
    #[default]
    AlwaysUp,
    /// Down during each `[from, until)` window (simulated time since the field started).
    DownDuring(Vec<(Duration, Duration)>),
    /// Up for `up_for` at the start of every `period`, shifted by `offset`: a device that
    /// wakes periodically, e.g. an NB-IoT meter in PSM reachable during its active time
    /// (T3324) after each periodic tracking-area update (T3412), 3GPP TS 24.301 §5.3.11
    /// and TS 23.682 §4.5.4.
    Periodic {
        /// Cycle length (> 0).
        period: Duration,
        /// How long the link is up at the start of each cycle.
        up_for: Duration,
        /// Where the first cycle starts.
        offset: Duration,
    },
}

impl Availability {
    /// True when the link is up at simulated time `t`.
    pub fn is_up(&self, t: Duration) -> bool {
        match self {
            Availability::AlwaysUp => true,
            Availability::DownDuring(windows) => !windows.iter().any(|(from, until)| *from <= t && t < *until),
            Availability::Periodic { period, up_for, offset } => {
                if period.is_zero() {
                    return true;
                }
                let shifted = t.as_nanos() + period.as_nanos() - offset.as_nanos() % period.as_nanos();
                shifted % period.as_nanos() < up_for.as_nanos()
            }
        }
    }

    /// The first time at or after `t` when the link is up, `None` when it never is again.
    pub fn next_up(&self, t: Duration) -> Option<Duration> {
        match self {
            Availability::AlwaysUp => Some(t),
            Availability::DownDuring(windows) => {
                let mut at = t;
                // Windows may overlap or chain: step over each one covering `at`.
                for _ in 0..=windows.len() {
                    match windows.iter().find(|(from, until)| *from <= at && at < *until) {
                        Some((_, until)) => at = *until,
                        None => return Some(at),
                    }
                }
                Some(at)
            }
            Availability::Periodic { period, up_for, offset } => {
                if self.is_up(t) {
                    return Some(t);
                }
                if up_for.is_zero() {
                    return None;
                }
                let p = period.as_nanos();
                let phase = (t.as_nanos() + p - offset.as_nanos() % p) % p;
                let wait = p - phase;
                Some(t + Duration::from_nanos(u64::try_from(wait).unwrap_or(u64::MAX)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn windows_and_periods() {
        let w = Availability::DownDuring(vec![(s(10), s(20)), (s(20), s(25))]);
        assert!(w.is_up(s(9)));
        assert!(!w.is_up(s(10)));
        assert!(!w.is_up(s(22)));
        assert!(w.is_up(s(25)));
        assert_eq!(w.next_up(s(12)), Some(s(25)));
        let p = Availability::Periodic { period: s(100), up_for: s(10), offset: s(5) };
        assert!(!p.is_up(s(0)));
        assert!(p.is_up(s(5)));
        assert!(p.is_up(s(14)));
        assert!(!p.is_up(s(15)));
        assert!(p.is_up(s(105)));
        assert_eq!(p.next_up(s(20)), Some(s(105)));
        assert_eq!(p.next_up(s(7)), Some(s(7)));
    }
}
