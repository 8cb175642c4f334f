//! Scaled scenario time: simulated UTC time that runs `scale` times faster than the wall
//! clock from a chosen start, so a 20-minute outage plays in seconds while every
//! timestamp the meters put into their pushes is the simulated one.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

use crate::scenario::ScenarioError;

/// Simulated time `start + scale × (wall time since the clock was made)`.
///
/// Choose `start` in the past when meters are also read over DLMS during the scenario:
/// their servers answer at the system time, and events already behind it keep registers,
/// profile and pushes consistent.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioClock {
    start: Timestamp,
    scale: f64,
    origin: Instant,
}

impl ScenarioClock {
    /// A clock at simulated `start` now, running `scale` × faster than the wall clock.
    ///
    /// # Errors
    /// [`ScenarioError::InvalidScale`] unless `scale` is finite and > 0.
    pub fn new(start: Timestamp, scale: f64) -> Result<Self, ScenarioError> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(ScenarioError::InvalidScale(scale));
        }
        Ok(ScenarioClock { start, scale, origin: Instant::now() })
    }

    /// The simulated start.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The speed-up factor.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The simulated instant `offset` after the start (saturating at the timestamp range).
    pub fn at(&self, offset: SignedDuration) -> Timestamp {
        self.start.saturating_add(offset).unwrap_or(self.start)
    }

    /// The simulated time now.
    pub fn now(&self) -> Timestamp {
        let wall = self.origin.elapsed().as_secs_f64() * self.scale;
        self.at(SignedDuration::try_from_secs_f64(wall).unwrap_or(SignedDuration::MAX))
    }

    /// The wall-clock time left until simulated `offset` after the start (zero when past).
    pub fn wall_until(&self, offset: SignedDuration) -> Duration {
        let target = offset.as_secs_f64().max(0.0) / self.scale;
        Duration::try_from_secs_f64(target).unwrap_or(Duration::MAX).saturating_sub(self.origin.elapsed())
    }

    /// Waits until simulated `offset` after the start.
    pub async fn sleep_until(&self, offset: SignedDuration) {
        let wait = self.wall_until(offset);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn simulated_time_runs_scale_times_faster() {
        let start: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let clock = ScenarioClock::new(start, 60_000.0).unwrap();
        assert!(clock.wall_until(SignedDuration::from_mins(20)) <= Duration::from_millis(20));
        assert_eq!(clock.at(SignedDuration::from_mins(20)), "2025-01-01T00:20:00Z".parse().unwrap());
        clock.sleep_until(SignedDuration::from_mins(20)).await;
        assert!(clock.now() >= "2025-01-01T00:20:00Z".parse().unwrap());
        assert_eq!(clock.wall_until(SignedDuration::from_mins(10)), Duration::ZERO);
        assert!(ScenarioClock::new(start, 0.0).is_err());
        assert!(ScenarioClock::new(start, f64::NAN).is_err());
    }
}
