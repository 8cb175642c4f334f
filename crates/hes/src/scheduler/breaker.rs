//! The per-meter circuit breaker: after `failure_threshold` consecutive failed attempts
//! a meter's breaker *opens* and its scheduled jobs wait out a cool-down instead of
//! burning sessions on a dead meter; after the cool-down one *probe* attempt runs
//! (half-open): success closes the breaker, failure opens it again for another
//! cool-down. Forced (on-demand) reads pass an open breaker; their result still counts.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// Breaker settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failed attempts that open the breaker.
    pub failure_threshold: u32,
    /// How long an open breaker holds jobs back before a probe.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    /// 5 failures, 30 minutes.
    fn default() -> Self {
        BreakerConfig { failure_threshold: 5, cool_down: Duration::from_secs(1800) }
    }
}

/// A breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum BreakerState {
    /// Jobs run.
    Closed,
    /// Jobs wait until `since` + cool-down.
    Open {
        /// When it opened, UTC.
        since: Timestamp,
    },
    /// One probe attempt is allowed.
    HalfOpen,
}

/// What the scheduler knows about a meter's reachability (table `meter_health`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeterHealth {
    /// The meter.
    pub serial: String,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// The breaker.
    pub breaker: BreakerState,
    /// Last successful attempt, UTC.
    pub last_success_at: Option<Timestamp>,
    /// Last failed attempt, UTC.
    pub last_failure_at: Option<Timestamp>,
    /// Last failure's error.
    pub last_error: Option<String>,
}

/// Whether a job may start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed breaker (or a forced job): start.
    Allow,
    /// The cool-down is over: start as the half-open probe.
    Probe,
    /// Open: wait until this time.
    Defer(Timestamp),
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

impl MeterHealth {
    /// A meter with no history: closed breaker.
    pub fn new(serial: impl Into<String>) -> Self {
        MeterHealth {
            serial: serial.into(),
            consecutive_failures: 0,
            breaker: BreakerState::Closed,
            last_success_at: None,
            last_failure_at: None,
            last_error: None,
        }
    }

    /// Whether a job (forced or not) may start at `now`.
    pub fn admit(&self, now: Timestamp, config: &BreakerConfig, forced: bool) -> Admission {
        if forced {
            return Admission::Allow;
        }
        match self.breaker {
            BreakerState::Closed => Admission::Allow,
            BreakerState::HalfOpen => Admission::Probe,
            BreakerState::Open { since } => {
                let until = since.checked_add(signed(config.cool_down)).unwrap_or(Timestamp::MAX);
                if now >= until { Admission::Probe } else { Admission::Defer(until) }
            }
        }
    }

    /// Records a successful attempt: the breaker closes.
    pub fn on_success(&mut self, now: Timestamp) {
        self.consecutive_failures = 0;
        self.breaker = BreakerState::Closed;
        self.last_success_at = Some(now);
    }

    /// Records a failed attempt: the breaker opens at the threshold, or again after a
    /// failed probe.
    pub fn on_failure(&mut self, now: Timestamp, error: &str, config: &BreakerConfig) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.last_failure_at = Some(now);
        self.last_error = Some(error.to_string());
        let probe_failed = self.breaker == BreakerState::HalfOpen;
        if probe_failed || self.consecutive_failures >= config.failure_threshold.max(1) {
            self.breaker = BreakerState::Open { since: now };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn opens_at_threshold_probes_after_cool_down_and_closes_on_success() {
        let cfg = BreakerConfig { failure_threshold: 3, cool_down: Duration::from_secs(600) };
        let mut h = MeterHealth::new("M");
        for i in 0..2 {
            h.on_failure(t(i), "timeout", &cfg);
            assert_eq!(h.admit(t(i), &cfg, false), Admission::Allow);
        }
        h.on_failure(t(2), "timeout", &cfg);
        assert_eq!(h.breaker, BreakerState::Open { since: t(2) });
        assert_eq!(h.admit(t(100), &cfg, false), Admission::Defer(t(602)));
        assert_eq!(h.admit(t(100), &cfg, true), Admission::Allow, "forced reads pass");
        assert_eq!(h.admit(t(602), &cfg, false), Admission::Probe);
        h.breaker = BreakerState::HalfOpen;
        h.on_failure(t(603), "timeout", &cfg);
        assert_eq!(h.breaker, BreakerState::Open { since: t(603) }, "a failed probe re-opens");
        h.breaker = BreakerState::HalfOpen;
        h.on_success(t(1300));
        assert_eq!((h.breaker, h.consecutive_failures), (BreakerState::Closed, 0));
    }
}
