//! The scheduler's notion of "now" (UTC). [`TokioClock`] follows tokio's clock, so
//! tests with paused time (`tokio::time::pause`, `start_paused`) drive due times,
//! backoff and breaker cool-downs without waiting; in production it advances with
//! the monotonic clock from a wall-clock origin.

use jiff::{SignedDuration, Timestamp};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current time, UTC.
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// `origin` plus the time elapsed on tokio's clock since construction.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: Timestamp,
    started: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `origin` now.
    pub fn starting_at(origin: Timestamp) -> Self {
        TokioClock { origin, started: tokio::time::Instant::now() }
    }

    /// A clock reading the wall clock now.
    pub fn from_wall_clock() -> Self {
        Self::starting_at(Timestamp::now())
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        let elapsed = SignedDuration::try_from(self.started.elapsed()).unwrap_or(SignedDuration::MAX);
        self.origin.checked_add(elapsed).unwrap_or(Timestamp::MAX)
    }
}
