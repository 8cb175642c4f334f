//! Parameters of outage correlation.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

/// Why an [`OutageConfig`] is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutageConfigError {
    /// A share is not in `(0, 1]`.
    #[error("{name} must be in (0, 1], got {value}")]
    Share {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// A duration is negative.
    #[error("{0} must not be negative")]
    NegativeDuration(&'static str),
}

/// How power events are correlated into outages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageConfig {
    /// Power downs of one transformer's meters within this window from the first one
    /// belong together (meter time). Default 60 s.
    pub window: SignedDuration,
    /// Share of a transformer's customer meters that must report power down within the
    /// window to declare a transformer outage. Default 0.5.
    pub transformer_share: f64,
    /// And at least this many meters must report (so a transformer with one or two
    /// customers does not turn every single-meter outage into a transformer outage).
    /// Default 2.
    pub min_transformer_meters: usize,
    /// Share of a feeder's transformers (those with customers) that must be out, with
    /// starts within the window of the first, to declare a feeder outage. Default 0.5.
    pub feeder_share: f64,
    /// And at least this many transformers must be out. Default 2.
    pub min_feeder_transformers: usize,
    /// Share of an outage's reporting meters whose own power-restored events prove the
    /// scope re-energised; meters without their own restoration are then restored at that
    /// moment ([`RestoreEvidence::Inferred`](super::RestoreEvidence::Inferred)). Default 0.5.
    pub restore_share: f64,
    /// Interruptions lasting at most this are momentary, longer ones sustained (IEEE
    /// 1366-2012: 5 min).
    pub momentary_limit: SignedDuration,
}

impl Default for OutageConfig {
    fn default() -> Self {
        OutageConfig {
            window: SignedDuration::from_secs(60),
            transformer_share: 0.5,
            min_transformer_meters: 2,
            feeder_share: 0.5,
            min_feeder_transformers: 2,
            restore_share: 0.5,
            momentary_limit: SignedDuration::from_mins(5),
        }
    }
}

impl OutageConfig {
    /// Checks the shares and durations.
    ///
    /// Errors: [`OutageConfigError`].
    pub fn validate(&self) -> Result<(), OutageConfigError> {
        for (name, value) in [
            ("transformer_share", self.transformer_share),
            ("feeder_share", self.feeder_share),
            ("restore_share", self.restore_share),
        ] {
            if !(value > 0.0 && value <= 1.0) {
                return Err(OutageConfigError::Share { name, value });
            }
        }
        if self.window.is_negative() {
            return Err(OutageConfigError::NegativeDuration("window"));
        }
        if self.momentary_limit.is_negative() {
            return Err(OutageConfigError::NegativeDuration("momentary_limit"));
        }
        Ok(())
    }
}

/// The smallest count reaching `share` of `total` (at least 1): `ceil(share × total)`,
/// computed so that e.g. 0.5 of 4 is 2 (no floating-point overshoot to 3).
pub(crate) fn quorum(share: f64, total: usize) -> usize {
    let exact = share * total as f64;
    let rounded = exact.round();
    let needed = if (exact - rounded).abs() < 1e-9 { rounded } else { exact.ceil() };
    (needed as usize).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_rounds_up_without_overshoot() {
        assert_eq!(quorum(0.5, 4), 2);
        assert_eq!(quorum(0.5, 5), 3);
        assert_eq!(quorum(0.3, 10), 3);
        assert_eq!(quorum(0.7, 10), 7);
        assert_eq!(quorum(1.0, 3), 3);
        assert_eq!(quorum(0.1, 1), 1);
        assert_eq!(quorum(0.5, 0), 1);
    }

    #[test]
    fn validation() {
        assert!(OutageConfig::default().validate().is_ok());
        let bad = OutageConfig { transformer_share: 0.0, ..OutageConfig::default() };
        assert!(bad.validate().is_err());
        let bad = OutageConfig { feeder_share: f64::NAN, ..OutageConfig::default() };
        assert!(bad.validate().is_err());
        let bad = OutageConfig { window: SignedDuration::from_secs(-1), ..OutageConfig::default() };
        assert!(bad.validate().is_err());
    }
}
