//! What one collection session yields for one meter.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{QualityFlags, ReadingType};

/// A meter's identity in the HES and MDMS: its serial number as read from
/// 0.0.96.1.0.255 (also its CIM `EndDevice.mRID` / `Meter.serialNumber`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MeterId(pub String);

impl fmt::Display for MeterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for MeterId {
    fn from(s: &str) -> Self {
        MeterId(s.to_string())
    }
}

/// One interval value of a load-profile channel: the channel's value captured at
/// `interval_end` (UTC), in the unit of its [`ReadingType`] with the scaler applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalReading {
    /// The channel.
    pub reading_type: ReadingType,
    /// End of the interval (the profile's capture time), UTC.
    pub interval_end: Timestamp,
    /// The value, in `reading_type.unit()`.
    pub value: f64,
    /// Quality from the meter's profile status.
    pub quality: QualityFlags,
}

/// One register value read on demand (billing or instantaneous register).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterRead {
    /// The register.
    pub reading_type: ReadingType,
    /// The meter's time of the read (its Clock, converted to UTC).
    pub read_at: Timestamp,
    /// The value, in `reading_type.unit()`.
    pub value: f64,
}

/// Everything one HES session collected from one meter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeterReading {
    /// The meter.
    pub meter: MeterId,
    /// HES time when the session read the meter's clock, UTC.
    pub collected_at: Timestamp,
    /// Meter clock minus HES clock at `collected_at`, in milliseconds (positive = the
    /// meter is ahead). `None` when the clock could not be read or is not specified.
    pub clock_drift_ms: Option<i64>,
    /// Length of the profile's intervals, seconds (900 for a 15-minute profile).
    pub interval_length_s: u32,
    /// Register reads.
    pub registers: Vec<RegisterRead>,
    /// Load-profile values, in capture order.
    pub intervals: Vec<IntervalReading>,
}
