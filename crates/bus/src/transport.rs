//! The two sides of a bus transport: publishing with a durable confirmation, and pulling
//! batches that are acknowledged only after the consumer has committed them.

use std::future::Future;
use std::time::Duration;

use crate::{BusError, BusMessage};

/// Publishes messages.
///
/// `publish` returns `Ok` only once the bus has the message durably (NATS JetStream: the
/// stream's publish acknowledgement; in-process: the message is queued). A publisher that
/// gets an error must publish again with the same [`BusMessage::id`].
pub trait Publisher: Clone + Send + Sync + 'static {
    /// Publishes one message; see the trait docs.
    ///
    /// Errors: [`BusError::Closed`], [`BusError::Broker`].
    fn publish(&self, message: BusMessage) -> impl Future<Output = Result<(), BusError>> + Send;

    /// Publishes several messages, pipelined where the transport allows it, and returns
    /// once all are confirmed. On error some may have been stored; publish all again (ids
    /// make the repeats harmless).
    ///
    /// Errors: as [`Publisher::publish`].
    fn publish_all(&self, messages: Vec<BusMessage>) -> impl Future<Output = Result<(), BusError>> + Send {
        async move {
            for message in messages {
                self.publish(message).await?;
            }
            Ok(())
        }
    }
}

/// One message handed to a consumer, to be acknowledged once its effect is committed.
pub trait Delivery: Send + 'static {
    /// The message.
    fn message(&self) -> &BusMessage;

    /// How many times this message has been delivered (1 the first time).
    fn delivery_count(&self) -> u64;

    /// The consumer committed the message's effect: never deliver it again.
    ///
    /// Errors: [`BusError::Broker`] (the message may then be delivered again; the
    /// consumer's idempotence makes that harmless).
    fn ack(self) -> impl Future<Output = Result<(), BusError>> + Send;

    /// The consumer could not process the message now: deliver it again after `delay`.
    ///
    /// Errors: [`BusError::Broker`].
    fn nak(self, delay: Duration) -> impl Future<Output = Result<(), BusError>> + Send;

    /// The message can never be processed (it does not decode): do not deliver it again.
    ///
    /// Errors: [`BusError::Broker`].
    fn term(self) -> impl Future<Output = Result<(), BusError>> + Send;
}

/// Pulls messages of one [`crate::MessageKind`] for one durable consumer.
pub trait Subscriber: Send + 'static {
    /// The delivery type of this transport.
    type Delivery: Delivery;

    /// Waits up to `wait` for messages and returns at most `max` of them (possibly none).
    /// Messages not acknowledged come back: after a [`Delivery::nak`] delay, or (NATS)
    /// after the consumer's acknowledgement wait when the consumer died.
    ///
    /// Errors: [`BusError::Closed`] when no publisher can ever send again (in-process),
    /// [`BusError::Broker`].
    fn fetch(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> impl Future<Output = Result<Vec<Self::Delivery>, BusError>> + Send;
}
