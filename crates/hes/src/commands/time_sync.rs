//! Time synchronisation: Clock (class 8, IEC 62056-6-2 §4.5.1) attribute 2 `time`.
//!
//! 1. read the clock, noting the HES time just before the GET and just after its
//!    response: the meter's time is compared with the **midpoint** of that round trip, so
//!    the network delay in each direction cancels to first order
//!    (`drift = meter − (t_before + t_after) / 2`);
//! 2. when `|drift|` exceeds the threshold, SET attribute 2 to the HES time plus half the
//!    measured round trip (the request's expected arrival), in the meter's own deviation
//!    (read from its clock), to the hundredth of a second;
//! 3. read the clock again the same way: the command is confirmed when the remaining drift
//!    is within the tolerance (±1 s by default), else it fails with the drift measured. A
//!    clock within the threshold is left alone and the command confirmed as it is.
//!
//! The HES clock is the reference (keep it NTP-synchronised). A clock whose status has the
//! invalid-value bit is always set.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::CommandProgress;
use super::cosem::{CLOCK, as_instant, date_time, get, set};
use super::error::CommandError;
use crate::registry::MeterEndpoint;
use crate::session::{DlmsSession, SessionTimeouts};

/// Parameters of a time synchronisation (absent JSON fields take the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeSyncParams {
    /// Set the clock only when it is off by more than this, seconds (default 1.0).
    pub threshold_s: f64,
    /// Confirm when the clock is then within ± this, seconds (default 1.0).
    pub tolerance_s: f64,
}

impl Default for TimeSyncParams {
    fn default() -> Self {
        TimeSyncParams { threshold_s: 1.0, tolerance_s: 1.0 }
    }
}

/// What the synchronisation measured and did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSyncReport {
    /// Meter time minus HES time before, seconds (positive: the meter is ahead).
    pub drift_before_s: f64,
    /// Round trip of the first clock read, ms.
    pub round_trip_ms: f64,
    /// Whether the clock was set.
    pub set: bool,
    /// The time written (UTC), when set.
    pub written: Option<Timestamp>,
    /// Meter time minus HES time after, seconds.
    pub drift_after_s: f64,
}

/// One clock reading against the HES clock: (drift s, round trip, meter deviation, status).
async fn measure(s: &mut DlmsSession) -> Result<(f64, Duration, Option<i16>, u8), CommandError> {
    let before = Timestamp::now();
    let clock = get(s, CLOCK, 2).await?;
    let after = Timestamp::now();
    let (dt, meter) = as_instant(&clock, "clock time")?;
    let rtt = after.duration_since(before);
    let mid = before + rtt / 2;
    Ok((meter.duration_since(mid).as_secs_f64(), rtt.unsigned_abs(), dt.deviation_minutes(), dt.clock_status))
}

/// Synchronises the clock of the meter at `endpoint` (see the module documentation).
///
/// # Errors
/// Session errors, a refused SET, [`CommandError::Invalid`] for negative thresholds, and
/// [`CommandError::NotConfirmed`] when the clock is still off by more than the tolerance.
pub async fn synchronise_clock(
    endpoint: &MeterEndpoint,
    params: TimeSyncParams,
    timeouts: SessionTimeouts,
    progress: &dyn CommandProgress,
) -> Result<TimeSyncReport, CommandError> {
    if !(params.threshold_s >= 0.0 && params.tolerance_s > 0.0) {
        return Err(CommandError::Invalid("threshold must be >= 0 s and tolerance > 0 s".into()));
    }
    let mut s = DlmsSession::open(endpoint, timeouts).await?;
    progress.sent();
    let (drift_before_s, rtt, deviation, status) = measure(&mut s).await?;
    let invalid = status != dlms::datetime::NOT_SPECIFIED && status & 0x01 != 0;
    let mut report = TimeSyncReport {
        drift_before_s,
        round_trip_ms: rtt.as_secs_f64() * 1000.0,
        set: false,
        written: None,
        drift_after_s: drift_before_s,
    };
    if drift_before_s.abs() > params.threshold_s || invalid {
        let target = Timestamp::now() + SignedDuration::try_from(rtt / 2).unwrap_or(SignedDuration::ZERO);
        set(&mut s, CLOCK, 2, date_time(target, deviation)?, "clock time").await?;
        report.set = true;
        report.written = Some(target);
        report.drift_after_s = measure(&mut s).await?.0;
    }
    s.release().await?;
    if !report.set || report.drift_after_s.abs() <= params.tolerance_s {
        Ok(report)
    } else {
        Err(CommandError::NotConfirmed(format!(
            "clock still off by {:.3} s after synchronisation (tolerance {} s)",
            report.drift_after_s, params.tolerance_s
        )))
    }
}
