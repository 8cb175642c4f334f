//! The scale-out bus: NATS JetStream (feature `nats`).
//!
//! One stream per [`MessageKind`] (`GRIDEDGE_READINGS` on subjects `gridedge.readings.>`,
//! and so on), file storage, a duplicate window in which a republished message id is
//! dropped by the server (`Nats-Msg-Id`), and durable pull consumers with explicit
//! acknowledgement: the MDMS acknowledges a batch only after it has committed it, so a
//! consumer that dies before committing gets the batch again after the acknowledgement
//! wait; redelivery after a commit but before the acknowledgement reached the server is
//! absorbed by the MDMS's idempotent ingest. Publishing waits for the stream's
//! acknowledgement (the message is stored) and pipelines many publishes at once.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer, message::PublishMessage, stream};
use futures_util::StreamExt;

use crate::{BusError, BusMessage, Delivery, MessageKind, Publisher, SUBJECT_PREFIX, Subscriber};

/// How the JetStream streams and consumers are set up.
#[derive(Debug, Clone)]
pub struct JetStreamConfig {
    /// Server address, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// Prefix of the stream names (`<prefix>_READINGS`, ...); tests use a unique one.
    pub stream_prefix: String,
    /// Prefix of the subjects (default [`SUBJECT_PREFIX`]); tests use a unique one so
    /// parallel runs do not share streams.
    pub subject_prefix: String,
    /// Window in which the server drops a message whose id it has already stored.
    pub duplicate_window: Duration,
    /// How long a delivered, unacknowledged message waits before it is delivered again.
    pub ack_wait: Duration,
    /// Messages kept at most this long (then discarded oldest first).
    pub max_age: Duration,
}

impl JetStreamConfig {
    /// The production defaults at `url`: streams `GRIDEDGE_*`, subjects `gridedge.*`,
    /// a 2-minute duplicate window, a 30-second acknowledgement wait, 7 days retention.
    pub fn new(url: &str) -> Self {
        JetStreamConfig {
            url: url.to_string(),
            stream_prefix: "GRIDEDGE".to_string(),
            subject_prefix: SUBJECT_PREFIX.to_string(),
            duplicate_window: Duration::from_secs(120),
            ack_wait: Duration::from_secs(30),
            max_age: Duration::from_secs(7 * 24 * 3600),
        }
    }

    fn stream_name(&self, kind: MessageKind) -> String {
        format!("{}_{}", self.stream_prefix, kind.token().to_ascii_uppercase())
    }

    fn subject(&self, message: &BusMessage) -> String {
        let subject = message.subject();
        match subject.strip_prefix(SUBJECT_PREFIX) {
            Some(rest) => format!("{}{}", self.subject_prefix, rest),
            None => subject,
        }
    }
}

/// A connection to NATS with the gridedge streams created.
#[derive(Debug, Clone)]
pub struct JetStreamBus {
    context: jetstream::Context,
    config: JetStreamConfig,
}

impl JetStreamBus {
    /// Connects to `config.url` and creates (or finds) one stream per message kind.
    ///
    /// Errors: [`BusError::Broker`] when the server is unreachable or refuses a stream.
    pub async fn connect(config: JetStreamConfig) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .name("gridedge")
            .connect(config.url.as_str())
            .await
            .map_err(|e| BusError::broker("connecting to NATS", e))?;
        let context = jetstream::new(client);
        let bus = JetStreamBus { context, config };
        for kind in MessageKind::ALL {
            bus.stream(kind).await?;
        }
        Ok(bus)
    }

    async fn stream(&self, kind: MessageKind) -> Result<stream::Stream, BusError> {
        let config = stream::Config {
            name: self.config.stream_name(kind),
            subjects: vec![format!("{}.{}.>", self.config.subject_prefix, kind.token())],
            storage: stream::StorageType::File,
            duplicate_window: self.config.duplicate_window,
            max_age: self.config.max_age,
            ..Default::default()
        };
        self.context.get_or_create_stream(config).await.map_err(|e| BusError::broker("creating a JetStream stream", e))
    }

    /// A publisher on this connection.
    pub fn publisher(&self) -> JetStreamPublisher {
        JetStreamPublisher { bus: self.clone() }
    }

    /// The durable pull consumer `name` on `kind`'s stream (created when missing; several
    /// processes with the same name share its messages).
    ///
    /// Errors: [`BusError::Broker`].
    pub async fn subscriber(&self, kind: MessageKind, name: &str) -> Result<JetStreamSubscriber, BusError> {
        let stream = self.stream(kind).await?;
        let config = consumer::pull::Config {
            durable_name: Some(name.to_string()),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: self.config.ack_wait,
            max_ack_pending: 10_000,
            ..Default::default()
        };
        let consumer = stream
            .get_or_create_consumer(name, config)
            .await
            .map_err(|e| BusError::broker("creating a JetStream consumer", e))?;
        Ok(JetStreamSubscriber { consumer, kind, subject_prefix: self.config.subject_prefix.clone() })
    }

    /// Deletes this bus's streams (tests clean up with it).
    ///
    /// Errors: [`BusError::Broker`].
    pub async fn delete_streams(&self) -> Result<(), BusError> {
        for kind in MessageKind::ALL {
            self.context
                .delete_stream(self.config.stream_name(kind))
                .await
                .map_err(|e| BusError::broker("deleting a JetStream stream", e))?;
        }
        Ok(())
    }

    /// Number of messages stored in `kind`'s stream.
    ///
    /// Errors: [`BusError::Broker`].
    pub async fn stream_messages(&self, kind: MessageKind) -> Result<u64, BusError> {
        let mut stream = self.stream(kind).await?;
        let info = stream.info().await.map_err(|e| BusError::broker("reading stream info", e))?;
        Ok(info.state.messages)
    }
}

/// Publishes to JetStream and waits for the stream's acknowledgements.
#[derive(Debug, Clone)]
pub struct JetStreamPublisher {
    bus: JetStreamBus,
}

impl JetStreamPublisher {
    async fn send(&self, message: BusMessage) -> Result<jetstream::context::PublishAckFuture, BusError> {
        let subject = self.bus.config.subject(&message);
        let publish = PublishMessage::build().payload(message.payload.into()).message_id(message.id);
        self.bus.context.send_publish(subject, publish).await.map_err(|e| BusError::broker("publishing to NATS", e))
    }
}

impl Publisher for JetStreamPublisher {
    async fn publish(&self, message: BusMessage) -> Result<(), BusError> {
        let ack = self.send(message).await?;
        ack.await.map_err(|e| BusError::broker("waiting for the JetStream publish acknowledgement", e))?;
        Ok(())
    }

    async fn publish_all(&self, messages: Vec<BusMessage>) -> Result<(), BusError> {
        // Pipelined: send up to 256 before waiting for their acknowledgements.
        let mut pending = Vec::with_capacity(256);
        for message in messages {
            pending.push(self.send(message).await?);
            if pending.len() >= 256 {
                for ack in pending.drain(..) {
                    ack.await.map_err(|e| BusError::broker("waiting for the JetStream publish acknowledgement", e))?;
                }
            }
        }
        for ack in pending {
            ack.await.map_err(|e| BusError::broker("waiting for the JetStream publish acknowledgement", e))?;
        }
        Ok(())
    }
}

/// A durable pull consumer of one kind's stream.
#[derive(Debug)]
pub struct JetStreamSubscriber {
    consumer: consumer::PullConsumer,
    kind: MessageKind,
    subject_prefix: String,
}

impl Subscriber for JetStreamSubscriber {
    type Delivery = JetStreamDelivery;

    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<JetStreamDelivery>, BusError> {
        // A pull request lost with the server (a restart mid-request) would leave the batch
        // waiting for an answer that never comes: give up after `wait` plus a grace period
        // and let the caller fetch again (what was received and not acknowledged comes
        // back after the consumer's ack wait).
        let limit = wait + FETCH_GRACE;
        match tokio::time::timeout(limit, self.fetch_batch(max, wait)).await {
            Ok(result) => result,
            Err(_) => Err(BusError::broker(
                "fetching from JetStream",
                format!("no answer within {} ms (server restarted?)", limit.as_millis()),
            )),
        }
    }
}

/// How much longer than its own expiry a fetch may take before it is abandoned.
const FETCH_GRACE: Duration = Duration::from_secs(5);

impl JetStreamSubscriber {
    async fn fetch_batch(&mut self, max: usize, wait: Duration) -> Result<Vec<JetStreamDelivery>, BusError> {
        let max = max.max(1);
        // What is there now, without waiting...
        let mut batch = self.collect(self.consumer.fetch().max_messages(max).messages().await).await?;
        if batch.is_empty() {
            // ... else wait up to `wait` for a batch to fill.
            batch = self.collect(self.consumer.batch().max_messages(max).expires(wait).messages().await).await?;
        }
        Ok(batch)
    }

    async fn collect<S, E1, E2>(&self, messages: Result<S, E1>) -> Result<Vec<JetStreamDelivery>, BusError>
    where
        S: futures_util::Stream<Item = Result<jetstream::Message, E2>> + Unpin,
        E1: std::fmt::Display,
        E2: std::fmt::Display,
    {
        let mut messages = messages.map_err(|e| BusError::broker("fetching from JetStream", e))?;
        let mut batch = Vec::new();
        while let Some(next) = messages.next().await {
            let raw = next.map_err(|e| BusError::broker("fetching from JetStream", e))?;
            batch.push(self.delivery(raw));
        }
        Ok(batch)
    }

    fn delivery(&self, raw: jetstream::Message) -> JetStreamDelivery {
        let subject = raw.subject.as_str();
        let key_start = self.subject_prefix.len() + 1 + self.kind.token().len() + 1;
        let key = subject.get(key_start..).unwrap_or_default().to_string();
        let id = message_id(raw.headers.as_ref()).unwrap_or_default();
        let count = raw.info().map(|info| u64::try_from(info.delivered).unwrap_or(1)).unwrap_or(1);
        let message = BusMessage { kind: self.kind, key, id, payload: raw.payload.to_vec() };
        JetStreamDelivery { message, count, raw }
    }
}

fn message_id(headers: Option<&HeaderMap>) -> Option<String> {
    Some(headers?.get("Nats-Msg-Id")?.as_str().to_string())
}

/// A message delivered by JetStream, with its acknowledgement handle.
#[derive(Debug)]
pub struct JetStreamDelivery {
    message: BusMessage,
    count: u64,
    raw: jetstream::Message,
}

impl Delivery for JetStreamDelivery {
    fn message(&self) -> &BusMessage {
        &self.message
    }

    fn delivery_count(&self) -> u64 {
        self.count
    }

    async fn ack(self) -> Result<(), BusError> {
        self.raw.ack().await.map_err(|e| BusError::broker("acknowledging a JetStream message", e))
    }

    async fn nak(self, delay: Duration) -> Result<(), BusError> {
        self.raw
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(|e| BusError::broker("nak'ing a JetStream message", e))
    }

    async fn term(self) -> Result<(), BusError> {
        self.raw.ack_with(AckKind::Term).await.map_err(|e| BusError::broker("terminating a JetStream message", e))
    }
}
