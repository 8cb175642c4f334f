//! The field's simulated clock.
//!
//! Every modelled delay (serialization, latency, RRC setup, duty-cycle wait, TCP
//! retransmission timeout) is computed in *simulated time*: a [`Duration`] since the field
//! started. The relay then waits `simulated × time_scale` of tokio time before it writes a
//! frame, so a field can run faster than real time (`time_scale` 0.01: one simulated
//! second takes 10 ms) or at real speed (`time_scale` 1.0, the default of
//! [`crate::FieldSpec`]). Under a paused tokio clock (`#[tokio::test(start_paused = true)]`)
//! with in-process streams, simulated time is exact and tests can assert on it.
//!
//! What is *not* scaled: the HES's and the meters' own timers (DLMS response timeout,
//! HDLC retransmission timer, inactivity timeouts) run on their own clocks. With a
//! `time_scale` below 1 those timers are therefore long compared with the modelled link,
//! and the real time the HES and the meters spend computing counts, magnified, as
//! simulated time (e.g. towards a cellular radio's inactivity release).

use std::time::Duration;

use tokio::time::Instant;

use crate::error::FieldError;

/// Simulated time of a field: where it started (tokio time) and how fast it runs.
#[derive(Debug, Clone, Copy)]
pub struct FieldClock {
    epoch: Instant,
    time_scale: f64,
}

impl FieldClock {
    /// A clock starting now. `time_scale` is real (tokio) seconds per simulated second:
    /// 1.0 = real time, 0.01 = a hundred times faster.
    ///
    /// # Errors
    /// [`FieldError::InvalidSpec`] unless `time_scale` is finite and in `1e-6..=1e3`.
    pub fn new(time_scale: f64) -> Result<Self, FieldError> {
        if !time_scale.is_finite() || !(1e-6..=1e3).contains(&time_scale) {
            return Err(FieldError::InvalidSpec(format!("time_scale {time_scale} is not in 1e-6..=1000")));
        }
        Ok(FieldClock { epoch: Instant::now(), time_scale })
    }

    /// Real (tokio) seconds per simulated second.
    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }

    /// Simulated time since the field started.
    pub fn now(&self) -> Duration {
        self.to_simulated(self.epoch.elapsed())
    }

    /// The simulated duration that `real` tokio time stands for.
    pub fn to_simulated(&self, real: Duration) -> Duration {
        Duration::from_secs_f64(real.as_secs_f64() / self.time_scale)
    }

    /// The tokio time a simulated duration takes.
    pub fn to_real(&self, simulated: Duration) -> Duration {
        Duration::from_secs_f64((simulated.as_secs_f64() * self.time_scale).min(1e9))
    }

    /// The tokio instant of simulated time `at`.
    pub fn instant_at(&self, at: Duration) -> Instant {
        self.epoch + self.to_real(at)
    }

    /// Waits until simulated time `at` (returns at once when it has passed).
    pub async fn sleep_until(&self, at: Duration) {
        tokio::time::sleep_until(self.instant_at(at)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_must_be_positive_and_finite() {
        assert!(FieldClock::new(0.0).is_err());
        assert!(FieldClock::new(f64::NAN).is_err());
        assert!(FieldClock::new(-1.0).is_err());
        assert!(FieldClock::new(0.5).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_hundredfold_clock_turns_10_ms_into_one_simulated_second() {
        let clock = FieldClock::new(0.01).unwrap();
        tokio::time::advance(Duration::from_millis(10)).await;
        assert_eq!(clock.now(), Duration::from_secs(1));
        assert_eq!(clock.to_real(Duration::from_secs(3)), Duration::from_millis(30));
    }
}
