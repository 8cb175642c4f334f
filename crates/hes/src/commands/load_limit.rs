//! Load limiting and demand-response events: Limiter (class 71, IEC 62056-6-2 §4.5.9).
//!
//! Writes, in this order and only what is given: attribute 4 `threshold_normal`, 5
//! `threshold_emergency` (double-long-unsigned W, the monitored value being active power
//! import 1.0.1.7.0.255), 6 `min_over_threshold_duration`, 7
//! `min_under_threshold_duration` (double-long-unsigned s), and for a demand-response event
//! 9 `emergency_profile_group_id_list` = [event id] and 8 `emergency_profile` = { id,
//! activation time, duration }. The meter's `actions` (attribute 11) are left as they are:
//! a gridedge meter's default disconnects over the threshold and reconnects under it
//! through the disconnect control script table 0.0.10.0.106.255.
//!
//! Confirmation: every attribute written reads back equal (the event's activation time to
//! the hundredth of a second); the report also gives `threshold_active` and
//! `emergency_profile_active` as the meter evaluates them now.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use dlms::data::Data;

use super::CommandProgress;
use super::cosem::{LIMITER, as_instant, as_u32, date_time, get, meter_deviation, set};
use super::error::CommandError;
use crate::registry::MeterEndpoint;
use crate::session::{DlmsSession, SessionTimeouts};

/// A demand-response event: the emergency threshold applies from `start` for `duration_s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemandResponseEvent {
    /// emergency_profile_id (also written as the only group id, so the meter takes part).
    pub id: u16,
    /// emergency_activation_time (UTC).
    pub start: Timestamp,
    /// emergency_duration, s.
    pub duration_s: u32,
}

/// Limiter settings to write (absent fields are left as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LoadLimit {
    /// threshold_normal, W.
    #[serde(default)]
    pub threshold_normal_w: Option<u32>,
    /// threshold_emergency, W.
    #[serde(default)]
    pub threshold_emergency_w: Option<u32>,
    /// min_over_threshold_duration, s.
    #[serde(default)]
    pub min_over_threshold_s: Option<u32>,
    /// min_under_threshold_duration, s.
    #[serde(default)]
    pub min_under_threshold_s: Option<u32>,
    /// A demand-response event.
    #[serde(default)]
    pub event: Option<DemandResponseEvent>,
}

/// The limiter as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadLimitReport {
    /// threshold_normal, W.
    pub threshold_normal_w: u32,
    /// threshold_emergency, W.
    pub threshold_emergency_w: u32,
    /// threshold_active now, W.
    pub threshold_active_w: u32,
    /// min_over_threshold_duration, s.
    pub min_over_threshold_s: u32,
    /// min_under_threshold_duration, s.
    pub min_under_threshold_s: u32,
    /// emergency_profile_active now.
    pub emergency_active: bool,
}

/// Writes `limit` to the meter at `endpoint` and verifies it (see the module
/// documentation).
///
/// # Errors
/// [`CommandError::Invalid`] when nothing is to be written, session errors, refused SETs,
/// [`CommandError::NotConfirmed`] when a value reads back differently.
pub async fn set_load_limit(
    endpoint: &MeterEndpoint,
    limit: &LoadLimit,
    timeouts: SessionTimeouts,
    progress: &dyn CommandProgress,
) -> Result<LoadLimitReport, CommandError> {
    if *limit == LoadLimit::default() {
        return Err(CommandError::Invalid("no limiter setting given".into()));
    }
    let mut s = DlmsSession::open(endpoint, timeouts).await?;
    progress.sent();
    let numbers = [
        (4, limit.threshold_normal_w, "threshold_normal"),
        (5, limit.threshold_emergency_w, "threshold_emergency"),
        (6, limit.min_over_threshold_s, "min_over_threshold_duration"),
        (7, limit.min_under_threshold_s, "min_under_threshold_duration"),
    ];
    for (attribute, value, what) in numbers {
        if let Some(v) = value {
            set(&mut s, LIMITER, attribute, Data::DoubleLongUnsigned(v), what).await?;
        }
    }
    if let Some(e) = &limit.event {
        let deviation = meter_deviation(&mut s).await?;
        set(&mut s, LIMITER, 9, Data::Array(vec![Data::LongUnsigned(e.id)]), "emergency_profile_group_id_list").await?;
        let profile = Data::Structure(vec![
            Data::LongUnsigned(e.id),
            date_time(e.start, deviation)?,
            Data::DoubleLongUnsigned(e.duration_s),
        ]);
        set(&mut s, LIMITER, 8, profile, "emergency_profile").await?;
    }
    let mut read = [0u32; 5];
    for (slot, attribute) in read.iter_mut().zip([4, 5, 3, 6, 7]) {
        *slot = as_u32(&get(&mut s, LIMITER, attribute).await?, "limiter threshold or duration")?;
    }
    let emergency_active = matches!(get(&mut s, LIMITER, 10).await?, Data::Boolean(true));
    let profile = match &limit.event {
        Some(_) => Some(get(&mut s, LIMITER, 8).await?),
        None => None,
    };
    s.release().await?;
    let report = LoadLimitReport {
        threshold_normal_w: read[0],
        threshold_emergency_w: read[1],
        threshold_active_w: read[2],
        min_over_threshold_s: read[3],
        min_under_threshold_s: read[4],
        emergency_active,
    };
    let expected = [
        (limit.threshold_normal_w, report.threshold_normal_w, "threshold_normal"),
        (limit.threshold_emergency_w, report.threshold_emergency_w, "threshold_emergency"),
        (limit.min_over_threshold_s, report.min_over_threshold_s, "min_over_threshold_duration"),
        (limit.min_under_threshold_s, report.min_under_threshold_s, "min_under_threshold_duration"),
    ];
    for (want, got, what) in expected {
        if want.is_some_and(|w| w != got) {
            return Err(CommandError::NotConfirmed(format!("{what} reads back {got}")));
        }
    }
    if let (Some(e), Some(profile)) = (&limit.event, profile) {
        let ok = match profile.as_sequence() {
            Some([Data::LongUnsigned(id), time, Data::DoubleLongUnsigned(d)]) => {
                let (_, at) = as_instant(time, "emergency_activation_time")?;
                *id == e.id && *d == e.duration_s && at.duration_since(e.start).as_millis().abs() < 10
            }
            _ => false,
        };
        if !ok {
            return Err(CommandError::NotConfirmed(format!("emergency_profile reads back {profile:?}")));
        }
    }
    Ok(report)
}
