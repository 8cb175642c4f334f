//! The consumer loop: pull a batch, let the handler commit it, then acknowledge.
//!
//! The order is what makes the pipeline lossless: a batch is acknowledged only after the
//! handler returned `Ok` (the MDMS committed it); a handler error naks the batch so it
//! comes back after a delay; a crash between commit and acknowledgement redelivers a
//! batch the MDMS already has, which its idempotent ingest stores once.

use std::future::Future;
use std::time::Duration;

use crate::{BusError, BusMessage, Delivery, Subscriber};

/// How [`consume`] pulls and retries.
#[derive(Debug, Clone, Copy)]
pub struct ConsumeOptions {
    /// Messages per batch (one handler call, one MDMS transaction).
    pub batch: usize,
    /// How long one pull waits for messages.
    pub wait: Duration,
    /// Delay before a batch the handler refused is delivered again.
    pub retry_delay: Duration,
}

impl Default for ConsumeOptions {
    fn default() -> Self {
        ConsumeOptions { batch: 64, wait: Duration::from_millis(200), retry_delay: Duration::from_secs(1) }
    }
}

/// What the handler says of a batch it committed: the positions of messages that can
/// never be processed (they do not decode); those are terminated, the rest acknowledged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchVerdict {
    /// Indexes into the batch of poison messages.
    pub poison: Vec<usize>,
}

/// Counts of what [`consume`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsumeStats {
    /// Batches the handler committed.
    pub batches: u64,
    /// Messages acknowledged after a commit.
    pub acknowledged: u64,
    /// Messages terminated as poison.
    pub poison: u64,
    /// Messages nak'ed because the handler failed.
    pub retried: u64,
    /// Deliveries that were redeliveries (delivery count > 1).
    pub redelivered: u64,
}

/// Pulls batches from `subscriber` and hands each to `handler` until `stop` completes
/// (checked between batches) or the bus closes.
///
/// `handler` runs synchronously on the calling task (the MDMS store is synchronous); run
/// the loop on a task or thread where blocking is acceptable.
///
/// Errors: [`BusError`] from the transport (the loop stops; unacknowledged messages are
/// delivered again to the next consumer).
pub async fn consume<S, F, E>(
    subscriber: &mut S,
    options: ConsumeOptions,
    mut handler: F,
    stop: impl Future<Output = ()>,
) -> Result<ConsumeStats, BusError>
where
    S: Subscriber,
    F: FnMut(&[BusMessage]) -> Result<BatchVerdict, E>,
    E: std::fmt::Display,
{
    let mut stats = ConsumeStats::default();
    tokio::pin!(stop);
    loop {
        let deliveries = tokio::select! {
            biased;
            () = &mut stop => return Ok(stats),
            fetched = subscriber.fetch(options.batch, options.wait) => match fetched {
                Ok(deliveries) => deliveries,
                Err(BusError::Closed) => return Ok(stats),
                Err(e) => return Err(e),
            },
        };
        if deliveries.is_empty() {
            continue;
        }
        stats.redelivered += deliveries.iter().filter(|d| d.delivery_count() > 1).count() as u64;
        let messages: Vec<BusMessage> = deliveries.iter().map(|d| d.message().clone()).collect();
        match handler(&messages) {
            Ok(verdict) => {
                stats.batches += 1;
                for (index, delivery) in deliveries.into_iter().enumerate() {
                    if verdict.poison.contains(&index) {
                        stats.poison += 1;
                        delivery.term().await?;
                    } else {
                        stats.acknowledged += 1;
                        delivery.ack().await?;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, messages = deliveries.len(), "batch not committed; it will be delivered again");
                stats.retried += deliveries.len() as u64;
                for delivery in deliveries {
                    delivery.nak(options.retry_delay).await?;
                }
            }
        }
    }
}
