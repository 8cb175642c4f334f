//! Why a field could not be built, started or changed.

use thiserror::Error;

/// Errors of the field network.
#[derive(Debug, Error)]
pub enum FieldError {
    /// The field description is inconsistent (bad probability, empty DCU id, duplicate
    /// meter, zero concurrency, invalid time scale).
    #[error("invalid field specification: {0}")]
    InvalidSpec(String),
    /// A listener (a DCU's meter port or push intake) could not be bound.
    #[error("cannot bind {what} on {address}: {source}")]
    Bind {
        /// What was bound.
        what: &'static str,
        /// The address tried.
        address: std::net::SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// No meter with this serial is attached to the field.
    #[error("no meter {0} in the field")]
    UnknownMeter(String),
    /// No DCU with this id.
    #[error("no DCU {0} in the field")]
    UnknownDcu(String),
    /// The DCU refused a session: it is unreachable from the HES (outage, partition) or
    /// its session limit stayed full for its queue time.
    #[error("DCU {dcu} refused the session to {serial}: {reason}")]
    Refused {
        /// The DCU.
        dcu: String,
        /// The meter asked for.
        serial: String,
        /// Why.
        reason: &'static str,
    },
    /// The DCU could not reach the meter's DLMS server (TCP connect failed).
    #[error("DCU {dcu} cannot reach meter {serial}: {source}")]
    MeterConnect {
        /// The DCU.
        dcu: String,
        /// The meter.
        serial: String,
        /// The socket error.
        source: std::io::Error,
    },
}
