//! Errors of the bus.

/// What went wrong on the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// A payload could not be serialised to JSON.
    #[error("encoding a bus message: {0}")]
    Encode(#[source] serde_json::Error),
    /// A payload is not the JSON the consumer expects (the message is poison: it is
    /// terminated, not redelivered forever).
    #[error("decoding bus message {id}: {source}")]
    Decode {
        /// The message id.
        id: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Every receiver (in-process) or the connection (NATS) is gone.
    #[error("the bus is closed")]
    Closed,
    /// The broker did not confirm a publish, a fetch or an acknowledgement.
    #[error("{context}: {message}")]
    Broker {
        /// What the bus was doing.
        context: &'static str,
        /// The broker client's error text.
        message: String,
    },
}

impl BusError {
    /// A broker error with its context.
    pub fn broker(context: &'static str, error: impl std::fmt::Display) -> Self {
        BusError::Broker { context, message: error.to_string() }
    }
}
