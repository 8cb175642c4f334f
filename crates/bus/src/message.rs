//! What travels on the bus: a kind (one subject family each), a message id that makes
//! redelivery and republishing harmless, and a JSON payload.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::BusError;

/// The kinds of message between the gridedge processes; each has its own subject family
/// (`gridedge.<kind>.<key>`) and, on NATS, its own stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// HES → MDMS: one collection session of one meter (`model::MeterReading`).
    Readings,
    /// HES → MDMS: end-device events (pushed alarms, last gasps, tamper, ...).
    Events,
    /// API → HES: commands to execute on meters (disconnect, time sync, ...).
    Commands,
    /// HES → MDMS/API: the outcome of a command.
    CommandResults,
}

impl MessageKind {
    /// Every kind, in a fixed order.
    pub const ALL: [MessageKind; 4] =
        [MessageKind::Readings, MessageKind::Events, MessageKind::Commands, MessageKind::CommandResults];

    /// The kind's token in subjects and stream names: `readings`, `events`, `commands`,
    /// `command_results`.
    pub const fn token(self) -> &'static str {
        match self {
            MessageKind::Readings => "readings",
            MessageKind::Events => "events",
            MessageKind::Commands => "commands",
            MessageKind::CommandResults => "command_results",
        }
    }
}

/// One message on the bus.
///
/// `id` identifies the content, not the delivery: the same reading published twice (a
/// restarted HES repeating a session it had not finished acknowledging) carries the same
/// id, so JetStream's duplicate window drops the second copy and, past that window, the
/// MDMS's idempotent ingest stores it once. Build ids with [`BusMessage::reading_id`] or
/// from a stable key of the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusMessage {
    /// Which stream the message belongs to.
    pub kind: MessageKind,
    /// Routing key inside the kind (e.g. the meter's serial, or the HES shard), made of
    /// subject-safe characters (see [`BusMessage::subject`]).
    pub key: String,
    /// Content id used for de-duplication (JetStream `Nats-Msg-Id`).
    pub id: String,
    /// The payload, JSON.
    pub payload: Vec<u8>,
}

impl BusMessage {
    /// A message carrying `value` as JSON.
    ///
    /// Errors: [`BusError::Encode`] when `value` does not serialise.
    pub fn json<T: Serialize>(kind: MessageKind, key: &str, id: String, value: &T) -> Result<Self, BusError> {
        let payload = serde_json::to_vec(value).map_err(BusError::Encode)?;
        Ok(BusMessage { kind, key: key.to_string(), id, payload })
    }

    /// A `Readings` message for one delivery of a collection session; its id is
    /// [`BusMessage::reading_id`], so republishing the same delivery is recognised.
    ///
    /// Errors: [`BusError::Encode`].
    pub fn reading(reading: &model::MeterReading) -> Result<Self, BusError> {
        BusMessage::json(MessageKind::Readings, &reading.meter.0, Self::reading_id(reading), reading)
    }

    /// The content id of one delivery of a collection session:
    /// `<meter>/<collected_at in Unix ms>/<first interval end in Unix ms>`, or
    /// `<meter>/<collected_at in Unix ms>/r` for a delivery of register reads only.
    ///
    /// A session that reads a long load profile (a catch-up of several days) delivers it in
    /// chunks with the same `collected_at`; the first interval end tells the chunks apart,
    /// so JetStream's duplicate window drops only a chunk published twice, never the next
    /// chunk of the session.
    pub fn reading_id(reading: &model::MeterReading) -> String {
        let session = format!("{}/{}", reading.meter.0, reading.collected_at.as_millisecond());
        match reading.intervals.iter().map(|i| i.interval_end).min() {
            Some(first) => format!("{session}/{}", first.as_millisecond()),
            None => format!("{session}/r"),
        }
    }

    /// Decodes the JSON payload.
    ///
    /// Errors: [`BusError::Decode`] with the message id when the payload is not a `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, BusError> {
        serde_json::from_slice(&self.payload).map_err(|source| BusError::Decode { id: self.id.clone(), source })
    }

    /// The subject `gridedge.<kind>.<key>`; characters NATS reserves in subjects
    /// (`.`, `*`, `>`, whitespace) in the key are replaced by `_`, and an empty key is `_`.
    pub fn subject(&self) -> String {
        let key: String =
            self.key.chars().map(|c| if matches!(c, '.' | '*' | '>') || c.is_whitespace() { '_' } else { c }).collect();
        let key = if key.is_empty() { "_".to_string() } else { key };
        format!("{}.{}.{}", SUBJECT_PREFIX, self.kind.token(), key)
    }
}

/// The first token of every gridedge subject.
pub const SUBJECT_PREFIX: &str = "gridedge";
