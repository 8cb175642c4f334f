//! The MDMS end of the bus for end-device events: events pulled from the bus (`Events`,
//! published by the HES push intake, `hes::push_intake`) are stored in the MDMS event store
//! and fed to the outage engine ([`WithOutages`], on SQLite and PostgreSQL alike), and only
//! then acknowledged.
//!
//! Per batch: decode (a message that is not an `EndDeviceEvent` is poison: terminated and
//! logged, never retried); insert with [`EventStore::insert_events`] (idempotent: an event
//! key already stored is a duplicate, so redelivery is harmless); when something new was
//! stored, [`refresh_outages`] from the batch's earliest `occurred_at`, so transformer and
//! feeder outages are declared from the last gasps that arrived and closed on restore; then
//! acknowledge. A store error naks the batch, which comes back after the retry delay.
//!
//! While the bus is idle the outages are re-correlated every `refresh_every`, so that a
//! single-meter outage is declared once its correlation window has passed even when no
//! further event arrives.
//!
//! `as_of` (the engine's "now") is the MDMS clock, or the latest `occurred_at` of the
//! batch plus 1 ms when a meter clock runs ahead of it (so no stored event is left out of
//! the correlation).

use std::future::Future;
use std::time::Duration;

use bus::{BusMessage, ConsumeOptions, Delivery, Subscriber};
use jiff::{SignedDuration, Timestamp};
use mdms::MeterDataStore;
use mdms::events::{EventInsertReport, EventStore};
use mdms::outage::{OutageConfig, OutageError, OutageStore, RefreshReport, refresh_outages};
use mdms::topology::Topology;
use model::EndDeviceEvent;

/// How [`ingest_events`] pulls and re-correlates.
#[derive(Debug, Clone, Copy)]
pub struct EventIngestOptions {
    /// Batch size, pull wait and retry delay of the bus consumer.
    pub consume: ConsumeOptions,
    /// While idle, re-correlate outages this often (while some events may still form an
    /// outage).
    pub refresh_every: Duration,
}

impl Default for EventIngestOptions {
    /// The default consumer options; re-correlation every 10 s.
    fn default() -> Self {
        EventIngestOptions { consume: ConsumeOptions::default(), refresh_every: Duration::from_secs(10) }
    }
}

/// What [`ingest_events`] did (accumulated over its runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventsIngested {
    /// Batches committed.
    pub batches: u64,
    /// Messages acknowledged after a commit.
    pub acknowledged: u64,
    /// Messages terminated as poison.
    pub poison: u64,
    /// Messages nak'ed because the store failed.
    pub retried: u64,
    /// Deliveries that were redeliveries.
    pub redelivered: u64,
    /// Events stored for the first time.
    pub inserted: u64,
    /// Events already stored (repeats).
    pub duplicates: u64,
    /// Outage re-correlations run.
    pub refreshes: u64,
    /// Outage changes written (opened, closed, updated, removed).
    pub outage_changes: u64,
}

/// Decodes a batch of `Events` messages: the events, and the positions of messages that do
/// not decode.
pub fn decode_events<'a>(batch: impl IntoIterator<Item = &'a BusMessage>) -> (Vec<EndDeviceEvent>, Vec<usize>) {
    let mut events = Vec::new();
    let mut poison = Vec::new();
    for (index, message) in batch.into_iter().enumerate() {
        match message.decode::<EndDeviceEvent>() {
            Ok(event) => events.push(event),
            Err(e) => {
                tracing::error!(error = %e, "an events message does not decode; dropped");
                poison.push(index);
            }
        }
    }
    (events, poison)
}

/// The engine's "now" for `events` at MDMS time `now`: `now`, or 1 ms after the latest
/// `occurred_at` when that is later.
pub fn as_of_for(events: &[EndDeviceEvent], now: Timestamp) -> Timestamp {
    let latest = events.iter().map(|e| e.occurred_at).max();
    match latest.and_then(|t| t.checked_add(SignedDuration::from_millis(1)).ok()) {
        Some(after) if after > now => after,
        _ => now,
    }
}

/// Stores `events` and, when any is new, re-correlates outages from the earliest of them
/// up to [`as_of_for`]`(events, now)`.
///
/// Errors: [`OutageError::Store`] (nothing of the batch is stored when the insert fails),
/// [`OutageError::Config`].
pub fn commit_events<M>(
    store: &mut M,
    topology: &Topology,
    config: &OutageConfig,
    events: &[EndDeviceEvent],
    now: Timestamp,
) -> Result<(EventInsertReport, Option<RefreshReport>), OutageError>
where
    M: EventStore + OutageStore + MeterDataStore + ?Sized,
{
    let report = store.insert_events(events)?;
    let earliest = events.iter().map(|e| e.occurred_at).min();
    let refresh = match earliest {
        Some(from) if report.inserted > 0 => {
            Some(refresh_outages(store, topology, config, from, as_of_for(events, now))?)
        }
        _ => None,
    };
    Ok((report, refresh))
}

/// Runs the synchronous store call `f` from async code: on a multi-thread tokio runtime
/// inside [`tokio::task::block_in_place`], so a store with its own blocking client (the
/// PostgreSQL store) may block; elsewhere (a current-thread runtime, no runtime) directly.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Where [`ingest_events`] commits: an event store, with or without the outage engine.
pub trait EventSink {
    /// Stores `events` (idempotent) and, where there is an outage engine and something new
    /// was stored, re-correlates outages ([`commit_events`]); `now` is the MDMS clock.
    ///
    /// Errors: [`OutageError::Store`] (nothing of the batch is stored when the insert
    /// fails), [`OutageError::Config`].
    fn commit(
        &mut self,
        events: &[EndDeviceEvent],
        now: Timestamp,
    ) -> Result<(EventInsertReport, Option<RefreshReport>), OutageError>;

    /// Re-correlates outages over `[from, as_of)`; `None` without an outage engine.
    ///
    /// Errors: as [`EventSink::commit`].
    fn refresh(&mut self, from: Timestamp, as_of: Timestamp) -> Result<Option<RefreshReport>, OutageError>;

    /// The correlation window (events older than it, plus the window, are settled);
    /// `None` without an outage engine.
    fn window(&self) -> Option<SignedDuration>;
}

/// An event store with the outage engine: events are stored and correlated into outages
/// over `topology` with `config`.
#[derive(Debug)]
pub struct WithOutages<'a, M: ?Sized> {
    /// The store (events, outages, meter data).
    pub store: &'a mut M,
    /// The network model the outages are correlated on.
    pub topology: &'a Topology,
    /// The correlation settings.
    pub config: &'a OutageConfig,
}

impl<M> EventSink for WithOutages<'_, M>
where
    M: EventStore + OutageStore + MeterDataStore + ?Sized,
{
    fn commit(
        &mut self,
        events: &[EndDeviceEvent],
        now: Timestamp,
    ) -> Result<(EventInsertReport, Option<RefreshReport>), OutageError> {
        commit_events(self.store, self.topology, self.config, events, now)
    }

    fn refresh(&mut self, from: Timestamp, as_of: Timestamp) -> Result<Option<RefreshReport>, OutageError> {
        refresh_outages(self.store, self.topology, self.config, from, as_of).map(Some)
    }

    fn window(&self) -> Option<SignedDuration> {
        Some(self.config.window)
    }
}

/// Pulls events from `subscriber` into `store` and the outage engine (module docs) until
/// `stop` completes (checked between batches) or the bus closes; `topology` and `config`
/// drive the correlation.
///
/// Errors: bus transport errors (unacknowledged messages are delivered again to the next
/// consumer). Store errors are not fatal: the batch is retried after
/// `options.consume.retry_delay`.
#[allow(dead_code)] // the one-process form (tests/push_scenarios.rs); `gridedge mdms run` uses ingest_events_into
pub async fn ingest_events<S, M>(
    subscriber: &mut S,
    store: &mut M,
    topology: &Topology,
    config: &OutageConfig,
    options: EventIngestOptions,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<EventsIngested>
where
    S: Subscriber,
    M: EventStore + OutageStore + MeterDataStore + ?Sized,
{
    let mut stats = EventsIngested::default();
    let mut sink = WithOutages { store, topology, config };
    ingest_events_into(subscriber, &mut sink, options, stop, &mut stats).await?;
    Ok(stats)
}

/// Pulls events from `subscriber` into `sink` (module docs) until `stop` completes
/// (checked between batches) or the bus closes, adding what it did to `stats` as it goes
/// (so the counts survive a transport error).
///
/// Errors: bus transport errors (unacknowledged messages are delivered again to the next
/// consumer). Store errors are not fatal: the batch is retried after
/// `options.consume.retry_delay`.
pub async fn ingest_events_into<S, K>(
    subscriber: &mut S,
    sink: &mut K,
    options: EventIngestOptions,
    stop: impl Future<Output = ()>,
    stats: &mut EventsIngested,
) -> anyhow::Result<()>
where
    S: Subscriber,
    K: EventSink + ?Sized,
{
    // Earliest and latest occurred_at of events stored since outages were last settled:
    // the range a later correlation may still change.
    let mut unsettled: Option<(Timestamp, Timestamp)> = None;
    let mut last_refresh = tokio::time::Instant::now();
    tokio::pin!(stop);
    loop {
        let deliveries = tokio::select! {
            biased;
            () = &mut stop => return Ok(()),
            fetched = subscriber.fetch(options.consume.batch, options.consume.wait) => match fetched {
                Ok(d) => d,
                Err(bus::BusError::Closed) => return Ok(()),
                Err(e) => return Err(e.into()),
            },
        };
        if deliveries.is_empty() {
            if let Some((from, latest)) = unsettled
                && last_refresh.elapsed() >= options.refresh_every
            {
                let now = Timestamp::now();
                match blocking(|| sink.refresh(from, now.max(latest))) {
                    Ok(report) => {
                        if let Some(report) = report {
                            stats.refreshes += 1;
                            stats.outage_changes += report.sync.changes.len() as u64;
                        }
                        let settled = match sink.window() {
                            Some(window) => latest.checked_add(window).is_ok_and(|end| end < now),
                            None => true,
                        };
                        if settled {
                            unsettled = None;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "outage re-correlation failed; will retry"),
                }
                last_refresh = tokio::time::Instant::now();
            }
            continue;
        }
        stats.redelivered += deliveries.iter().filter(|d| d.delivery_count() > 1).count() as u64;
        let (events, poison) = decode_events(deliveries.iter().map(Delivery::message));
        match blocking(|| sink.commit(&events, Timestamp::now())) {
            Ok((report, refresh)) => {
                stats.batches += 1;
                stats.inserted += report.inserted;
                stats.duplicates += report.duplicates;
                if let Some(r) = refresh {
                    stats.refreshes += 1;
                    stats.outage_changes += r.sync.changes.len() as u64;
                    last_refresh = tokio::time::Instant::now();
                }
                if report.inserted > 0 && sink.window().is_some() {
                    let earliest = events.iter().map(|e| e.occurred_at).min();
                    let latest = events.iter().map(|e| e.occurred_at).max();
                    if let (Some(a), Some(b)) = (earliest, latest) {
                        unsettled = Some(match unsettled {
                            Some((from, to)) => (from.min(a), to.max(b)),
                            None => (a, b),
                        });
                    }
                }
                for (index, delivery) in deliveries.into_iter().enumerate() {
                    if poison.contains(&index) {
                        stats.poison += 1;
                        delivery.term().await?;
                    } else {
                        stats.acknowledged += 1;
                        delivery.ack().await?;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, messages = deliveries.len(), "events not committed; they will be delivered again");
                stats.retried += deliveries.len() as u64;
                for delivery in deliveries {
                    delivery.nak(options.consume.retry_delay).await?;
                }
            }
        }
    }
}
