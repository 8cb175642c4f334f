//! [`EventSource`] and [`OutageSource`] over the MDMS itself: events in its durable event
//! store (`mdms::events::EventStore`, idempotent), outages from its correlation engine
//! (`mdms::outage`, with the network topology of `mdms::topology`: transformer and feeder
//! outages, lost last gasps, proofs of power, momentary vs sustained) and the IEEE 1366
//! indices of `mdms::reliability`.
//!
//! Recording events also refreshes the outages from the earliest recorded event on (what
//! the HES event intake does); listing outages in progress refreshes them up to now first,
//! so a single-meter outage appears once its correlation window has passed.

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use mdms::MeterDataStore;
use mdms::events::{EventQuery, EventStore};
use mdms::outage::{
    Outage, OutageClass, OutageConfig, OutageQuery, OutageScope, OutageState, OutageStore, refresh_outages,
};
use mdms::reliability::{InterruptionEvent, reliability_indices};
use mdms::topology::{Topology, TopologyStore};
use model::EndDeviceEvent;

use super::events::{EventFilter, EventItem, EventSource};
use super::outages::{OutageItem, OutageKind, OutageScope as ApiScope, OutageSource};
use super::reliability::ReliabilityIndices;
use crate::error::ApiError;
use crate::query::TimeRange;

/// How far back an "outages in progress" listing refreshes the correlation.
const ONGOING_REFRESH: SignedDuration = SignedDuration::from_hours(24 * 7);

/// The MDMS event store, outage engine and reliability indices behind the API's traits.
/// Give it its own store connection (e.g. a second `SqliteStore` on the MDMS file).
pub struct MdmsEvents<S> {
    store: Mutex<S>,
    config: OutageConfig,
}

impl<S> std::fmt::Debug for MdmsEvents<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdmsEvents").field("config", &self.config).finish_non_exhaustive()
    }
}

impl<S> MdmsEvents<S>
where
    S: EventStore + OutageStore + TopologyStore + MeterDataStore + Send,
{
    /// Events and outages of `store`, correlated with `config`.
    pub fn new(store: S, config: OutageConfig) -> MdmsEvents<S> {
        MdmsEvents { store: Mutex::new(store), config }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, S> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Re-correlates outages from `from` up to now with the stored topology.
    fn refresh(&self, store: &mut S, from: Timestamp) -> Result<(), ApiError> {
        let topology = store.load_topology()?;
        refresh_outages(store, &topology, &self.config, from, Timestamp::now())
            .map_err(|e| ApiError::internal("correlating outages", e))?;
        Ok(())
    }
}

impl<S> EventSource for MdmsEvents<S>
where
    S: EventStore + OutageStore + TopologyStore + MeterDataStore + Send,
{
    fn events(&self, filter: &EventFilter) -> Result<Vec<EventItem>, ApiError> {
        let from = match filter.after {
            Some((ms, _)) => filter.from.max(Timestamp::from_millisecond(ms).unwrap_or(filter.from)),
            None => filter.from,
        };
        let query = EventQuery {
            meters: filter.meter.iter().cloned().collect(),
            event_types: filter.event_types.clone(),
            from,
            to: filter.to,
            after_id: None,
            // Events at the cursor's millisecond may precede the cursor: no limit then.
            limit: filter.after.is_none().then_some(filter.limit),
        };
        let stored = self.lock().events(&query)?;
        Ok(stored
            .iter()
            .filter(|s| filter.after.is_none_or(|after| (s.event.occurred_at.as_millisecond(), s.id) > after))
            .take(filter.limit)
            .map(|s| EventItem::new(s.id, &s.event))
            .collect())
    }

    fn record(&self, events: &[EndDeviceEvent]) -> Result<u64, ApiError> {
        if events.iter().any(|e| e.meter.0.trim().is_empty()) {
            return Err(ApiError::unprocessable("an event has an empty meter id"));
        }
        let mut store = self.lock();
        let report = store.insert_events(events)?;
        if let Some(from) = events.iter().map(|e| e.occurred_at).min()
            && let Err(e) = self.refresh(&mut store, from)
        {
            // The events are stored; the next refresh catches up.
            tracing::warn!(error = %e.message, "outage refresh after recording events failed");
        }
        Ok(report.inserted)
    }
}

fn item(o: &Outage, topology: &Topology, now: Timestamp, momentary_limit: SignedDuration) -> OutageItem {
    let (scope, transformer, feeder, meter, served) = match &o.scope {
        OutageScope::Feeder(f) => (ApiScope::Feeder, None, Some(f.0.clone()), None, topology.customers_of_feeder(f)),
        OutageScope::Transformer(t) => (
            ApiScope::Transformer,
            Some(t.0.clone()),
            topology.feeder_of_transformer(t).map(|f| f.0.clone()),
            None,
            topology.customers_of_transformer(t),
        ),
        OutageScope::Meter(m) => (
            ApiScope::Meter,
            topology.transformer_of(m).map(|(t, _)| t.0.clone()),
            topology.feeder_of(m).map(|f| f.0.clone()),
            Some(m.0.clone()),
            1,
        ),
    };
    let kind = match (o.state, o.class_at(now, momentary_limit)) {
        (OutageState::Open, _) => OutageKind::Ongoing,
        (OutageState::Closed, Some(OutageClass::Momentary)) => OutageKind::Momentary,
        (OutageState::Closed, _) => OutageKind::Sustained,
    };
    OutageItem {
        id: o.id.clone(),
        scope,
        transformer,
        feeder,
        meter,
        started_at: o.started_at,
        restored_at: o.ended_at,
        duration_s: o.duration_at(now).as_secs().max(0),
        meters_affected: u32::try_from(o.customers_interrupted).unwrap_or(u32::MAX),
        meters_served: u32::try_from(served.max(1)).unwrap_or(u32::MAX),
        kind,
    }
}

impl<S> OutageSource for MdmsEvents<S>
where
    S: EventStore + OutageStore + TopologyStore + MeterDataStore + Send,
{
    fn outages(&self, range: TimeRange, include_ongoing: bool) -> Result<Vec<OutageItem>, ApiError> {
        let now = Timestamp::now();
        let mut store = self.lock();
        if include_ongoing {
            self.refresh(&mut store, now.checked_sub(ONGOING_REFRESH).unwrap_or(now))?;
        }
        let topology = store.load_topology()?;
        let mut list = store.outages(&OutageQuery::range(range.from, range.to))?;
        if include_ongoing {
            let to = now.checked_add(SignedDuration::from_millis(1)).unwrap_or(now);
            for o in store.outages_overlapping(now, to)? {
                if o.state == OutageState::Open && !list.iter().any(|x| x.id == o.id) {
                    list.push(o);
                }
            }
        }
        let mut items: Vec<OutageItem> =
            list.iter().map(|o| item(o, &topology, now, self.config.momentary_limit)).collect();
        items.sort_by(|a, b| b.started_at.cmp(&a.started_at).then_with(|| a.id.cmp(&b.id)));
        Ok(items)
    }

    fn reliability(&self, range: TimeRange) -> Result<ReliabilityIndices, ApiError> {
        let now = Timestamp::now();
        let store = self.lock();
        let topology = store.load_topology()?;
        let customers = topology.total_customers();
        let events: Vec<InterruptionEvent> = store
            .outages(&OutageQuery::range(range.from, range.to))?
            .iter()
            .map(|o| {
                // An open outage counts with its duration and customer minutes so far.
                InterruptionEvent::from_outage(o).unwrap_or_else(|| InterruptionEvent {
                    start: o.started_at,
                    duration: o.duration_at(now),
                    customers_interrupted: o.customers_interrupted,
                    customer_minutes: o.customer_minutes_at(now),
                    customers: o.meters.iter().map(|m| m.meter.clone()).collect(),
                })
            })
            .collect();
        if customers == 0 {
            return Err(ApiError::unprocessable(
                "no customers in the network topology: load it (transformers, feeders, meters) first",
            ));
        }
        let r = reliability_indices(&events, customers, range.from, range.to, self.config.momentary_limit)
            .map_err(|e| ApiError::unprocessable(e.to_string()))?;
        Ok(ReliabilityIndices {
            from: range.from,
            to: range.to,
            customers_served: r.customers_served,
            sustained_interruptions: r.customer_interruptions,
            momentary_interruptions: r.customer_momentary_interruptions,
            customer_minutes: r.customer_minutes,
            saifi: r.saifi,
            saidi_minutes: r.saidi_minutes,
            caidi_minutes: r.caidi_minutes,
            maifi: r.maifi,
        })
    }
}
