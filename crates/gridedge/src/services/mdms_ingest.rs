//! The MDMS end of the bus: readings pulled from the bus are committed to the store, and
//! only then acknowledged.
//!
//! A batch of messages is decoded (a message that is not a `MeterReading` is poison: it
//! is terminated and logged, never retried) and the whole batch is committed with
//! [`MeterDataStore::ingest_batch`] (one transaction, VEE inside it), then acknowledged.
//! When the batch is refused, it is ingested again one reading at a time, only to isolate
//! the culprit: a reading the store refuses for what it contains (empty meter id,
//! non-finite value, a non-cumulative channel, a time out of range) is poison too; a
//! backend error (database down, disk full) naks the whole batch, which comes back after
//! the retry delay. Readings of a batch committed before a failure or a crash come back as
//! duplicates, which the idempotent ingest stores once (`MeterDataStore` rules), so a crash
//! or an error anywhere loses nothing acknowledged and doubles nothing.

use std::future::Future;

use bus::{BusError, BusMessage, ConsumeOptions, ConsumeStats, Delivery, Subscriber};
use mdms::{IngestReport, MeterDataStore, StoreError};
use model::MeterReading;

/// What [`ingest_readings`] did (accumulated over its runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadingsIngested {
    /// What the bus consumer did (batches, acknowledgements, redeliveries, poison).
    pub bus: ConsumeStats,
    /// MeterReadings committed (duplicates included: a redelivered reading counts again).
    pub readings: u64,
    /// Values written and skipped, summed over every ingest.
    pub values: IngestReport,
}

fn add(total: &mut IngestReport, r: &IngestReport) {
    total.intervals_new += r.intervals_new;
    total.intervals_duplicate += r.intervals_duplicate;
    total.intervals_revised += r.intervals_revised;
    total.registers_new += r.registers_new;
    total.registers_duplicate += r.registers_duplicate;
    total.registers_revised += r.registers_revised;
}

/// Decodes a batch of `Readings` messages: the readings with their positions, and the
/// positions of messages that do not decode.
pub fn decode_readings<'a>(batch: impl IntoIterator<Item = &'a BusMessage>) -> (Vec<MeterReading>, Vec<usize>) {
    let mut readings = Vec::new();
    let mut poison = Vec::new();
    for (index, message) in batch.into_iter().enumerate() {
        match message.decode::<MeterReading>() {
            Ok(reading) => readings.push(reading),
            Err(e) => {
                tracing::error!(error = %e, "a readings message does not decode; dropped");
                poison.push(index);
            }
        }
    }
    (readings, poison)
}

/// Runs the synchronous store call `f` from async code: on a multi-thread tokio runtime
/// inside [`tokio::task::block_in_place`], so a store with its own blocking client (the
/// PostgreSQL store) may block; elsewhere (a current-thread runtime, no runtime) directly.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// True when `error` is the store refusing a reading for what it contains (retrying cannot
/// help), false for backend errors (retrying later may).
pub fn is_refusal(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::EmptyMeterId
            | StoreError::NonFiniteValue { .. }
            | StoreError::NotCumulative(_)
            | StoreError::Time { .. }
    )
}

/// Commits the decoded `readings` (at positions `positions` of the bus batch) to `store`:
/// the whole batch in one [`MeterDataStore::ingest_batch`] transaction, or, when that is
/// refused, one reading at a time to isolate the refused ones. Returns the summed ingest
/// counts, the number of readings committed, and the batch positions of refused readings
/// (poison).
///
/// Errors: a backend [`StoreError`] (the caller naks the batch; readings committed one at a
/// time before it come back as duplicates).
pub fn commit_readings<M>(
    store: &mut M,
    readings: &[MeterReading],
    positions: &[usize],
    source: &str,
) -> Result<(IngestReport, u64, Vec<usize>), StoreError>
where
    M: MeterDataStore + ?Sized,
{
    let mut total = IngestReport::default();
    if readings.is_empty() {
        return Ok((total, 0, Vec::new()));
    }
    match store.ingest_batch(readings, source) {
        Ok(outcomes) => {
            for outcome in &outcomes {
                add(&mut total, &outcome.ingest);
            }
            return Ok((total, readings.len() as u64, Vec::new()));
        }
        Err(e) if is_refusal(&e) => {
            tracing::warn!(error = %e, readings = readings.len(), "batch refused; ingesting its readings one at a time");
        }
        Err(e) => return Err(e),
    }
    let mut committed = 0u64;
    let mut poison = Vec::new();
    for (reading, &position) in readings.iter().zip(positions) {
        match store.ingest_from(reading, source) {
            Ok(report) => {
                add(&mut total, &report);
                committed += 1;
            }
            Err(e) if is_refusal(&e) => {
                tracing::error!(error = %e, meter = %reading.meter.0, "a reading is refused by the store; dropped");
                poison.push(position);
            }
            Err(e) => return Err(e),
        }
    }
    Ok((total, committed, poison))
}

/// Pulls readings from `subscriber` into `store` until `stop` completes (checked between
/// batches: the batch in flight is committed and acknowledged first) or the bus closes;
/// `source` is recorded as each reading's origin (e.g. `"hes"`). Each bus batch is one
/// store transaction ([`commit_readings`]), acknowledged after the commit. What it did is
/// added to `totals` as it goes, so the counts survive a transport error.
///
/// Errors: bus transport errors (unacknowledged messages are delivered again to the next
/// consumer). Store errors are not fatal: the batch is nak'ed and retried after
/// `options.retry_delay`.
pub async fn ingest_readings<S, M>(
    subscriber: &mut S,
    store: &mut M,
    source: &str,
    options: ConsumeOptions,
    stop: impl Future<Output = ()>,
    totals: &mut ReadingsIngested,
) -> anyhow::Result<()>
where
    S: Subscriber,
    M: MeterDataStore + ?Sized,
{
    tokio::pin!(stop);
    loop {
        let deliveries = tokio::select! {
            biased;
            () = &mut stop => return Ok(()),
            fetched = subscriber.fetch(options.batch, options.wait) => match fetched {
                Ok(deliveries) => deliveries,
                Err(BusError::Closed) => return Ok(()),
                Err(e) => return Err(e.into()),
            },
        };
        if deliveries.is_empty() {
            continue;
        }
        totals.bus.redelivered += deliveries.iter().filter(|d| d.delivery_count() > 1).count() as u64;
        let (readings, mut poison) = decode_readings(deliveries.iter().map(Delivery::message));
        let positions: Vec<usize> = (0..deliveries.len()).filter(|i| !poison.contains(i)).collect();
        match blocking(|| commit_readings(store, &readings, &positions, source)) {
            Ok((report, committed, refused)) => {
                add(&mut totals.values, &report);
                totals.readings += committed;
                totals.bus.batches += 1;
                poison.extend(refused);
                for (index, delivery) in deliveries.into_iter().enumerate() {
                    if poison.contains(&index) {
                        totals.bus.poison += 1;
                        delivery.term().await?;
                    } else {
                        totals.bus.acknowledged += 1;
                        delivery.ack().await?;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, messages = deliveries.len(), "readings not committed; they will be delivered again");
                totals.bus.retried += deliveries.len() as u64;
                for delivery in deliveries {
                    delivery.nak(options.retry_delay).await?;
                }
            }
        }
    }
}
