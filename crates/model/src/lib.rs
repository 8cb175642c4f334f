//! # model — the domain types the HES hands to the MDMS
//!
//! Everything here is plain data, in UTC, with units in the names or the
//! [`ReadingType`]. The HES builds a [`MeterReading`] per collection session; the MDMS
//! ingests it idempotently.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod event;
mod quality;
mod reading;
mod reading_type;

pub use event::{BadEndDeviceEventType, EndDeviceEvent, EndDeviceEventType};
pub use quality::QualityFlags;
pub use reading::{IntervalReading, MeterId, MeterReading, RegisterRead};
pub use reading_type::{ReadingType, Unit};
