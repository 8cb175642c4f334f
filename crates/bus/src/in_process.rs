//! The default bus: bounded tokio channels inside one process (one per message kind).
//!
//! Back-pressure comes from the bound: a publisher waits while the consumer is
//! `capacity` messages behind. There is no persistence: a message is "durable" once
//! queued, which inside one process means the consumer will see it unless the process
//! dies, and a process that dies loses its HES sessions too (the HES reads again from
//! the MDMS's last stored interval, so nothing acknowledged to anyone is lost).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::{BusError, BusMessage, Delivery, MessageKind, Publisher, Subscriber};

type Queued = (BusMessage, u64);

/// An in-process bus: one bounded channel per [`MessageKind`].
#[derive(Debug)]
pub struct InProcessBus {
    senders: Vec<mpsc::Sender<Queued>>,
    receivers: Vec<Option<mpsc::Receiver<Queued>>>,
}

impl InProcessBus {
    /// A bus whose channels each hold up to `capacity` messages (at least 1).
    pub fn new(capacity: usize) -> Self {
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        for _ in MessageKind::ALL {
            let (tx, rx) = mpsc::channel(capacity.max(1));
            senders.push(tx);
            receivers.push(Some(rx));
        }
        InProcessBus { senders, receivers }
    }

    /// A publisher for every kind.
    pub fn publisher(&self) -> InProcessPublisher {
        InProcessPublisher { senders: Arc::new(self.senders.clone()) }
    }

    /// The subscriber of `kind`: each kind has exactly one consumer in-process; `None`
    /// when it was taken already.
    pub fn subscriber(&mut self, kind: MessageKind) -> Option<InProcessSubscriber> {
        let index = kind_index(kind);
        let receiver = self.receivers.get_mut(index)?.take()?;
        let requeue = self.senders.get(index)?.clone();
        Some(InProcessSubscriber { receiver, requeue })
    }
}

fn kind_index(kind: MessageKind) -> usize {
    MessageKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// Publishes onto an [`InProcessBus`].
#[derive(Debug, Clone)]
pub struct InProcessPublisher {
    senders: Arc<Vec<mpsc::Sender<Queued>>>,
}

impl Publisher for InProcessPublisher {
    async fn publish(&self, message: BusMessage) -> Result<(), BusError> {
        let sender = self.senders.get(kind_index(message.kind)).ok_or(BusError::Closed)?;
        sender.send((message, 1)).await.map_err(|_| BusError::Closed)
    }
}

/// Pulls one kind's messages from an [`InProcessBus`].
#[derive(Debug)]
pub struct InProcessSubscriber {
    receiver: mpsc::Receiver<Queued>,
    requeue: mpsc::Sender<Queued>,
}

impl Subscriber for InProcessSubscriber {
    type Delivery = InProcessDelivery;

    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<InProcessDelivery>, BusError> {
        let mut batch = Vec::new();
        let first = match tokio::time::timeout(wait, self.receiver.recv()).await {
            Err(_elapsed) => return Ok(batch),
            // Unreachable in practice: the subscriber holds a sender itself (for
            // redelivery), so the channel stays open; with every publisher gone, fetch
            // returns empty batches.
            Ok(None) => return Err(BusError::Closed),
            Ok(Some(first)) => first,
        };
        batch.push(self.delivery(first));
        while batch.len() < max {
            match self.receiver.try_recv() {
                Ok(next) => batch.push(self.delivery(next)),
                Err(_) => break,
            }
        }
        Ok(batch)
    }
}

impl InProcessSubscriber {
    fn delivery(&self, (message, count): Queued) -> InProcessDelivery {
        InProcessDelivery { message, count, requeue: self.requeue.clone() }
    }
}

/// A message delivered by an [`InProcessSubscriber`]; a nak puts it back on the channel.
#[derive(Debug)]
pub struct InProcessDelivery {
    message: BusMessage,
    count: u64,
    requeue: mpsc::Sender<Queued>,
}

impl Delivery for InProcessDelivery {
    fn message(&self) -> &BusMessage {
        &self.message
    }

    fn delivery_count(&self) -> u64 {
        self.count
    }

    async fn ack(self) -> Result<(), BusError> {
        Ok(())
    }

    async fn nak(self, delay: Duration) -> Result<(), BusError> {
        let sender = self.requeue;
        let queued = (self.message, self.count.saturating_add(1));
        // Redeliver after the delay without holding up the consumer.
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if sender.send(queued).await.is_err() {
                tracing::warn!("in-process bus closed before a nak'ed message could be redelivered");
            }
        });
        Ok(())
    }

    async fn term(self) -> Result<(), BusError> {
        tracing::warn!(id = %self.message.id, "bus message terminated (not redelivered)");
        Ok(())
    }
}
