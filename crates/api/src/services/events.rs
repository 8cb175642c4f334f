//! End device events for the API: the [`EventSource`] trait and an in-memory
//! implementation ([`MemoryEventLog`]).
//!
//! Events are IEC 61968-9 `EndDeviceEvent`s ([`model::EndDeviceEvent`]). They come from the
//! HES (pushes, event logs), from commands (relay operations confirmed by the meter) and
//! from integrators (`POST /api/v1/events`). The MDMS event store plugs in by implementing
//! this trait.

use std::collections::{BTreeMap, HashSet};
use std::sync::RwLock;

use jiff::Timestamp;
use model::{EndDeviceEvent, EndDeviceEventType, MeterId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// How urgent an event is for the control room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational (relay operated, clock set, token accepted ...).
    Info,
    /// Needs attention (voltage sag or swell, low credit, token rejected).
    Warning,
    /// An alarm: supply lost, tamper, clock invalid, load limit exceeded.
    Alarm,
}

/// The severity gridedge gives an event type.
pub fn severity_of(t: EndDeviceEventType) -> Severity {
    let same = |c: EndDeviceEventType| c.for_device_type(t.device_type) == t;
    if t.is_power_down()
        || [
            EndDeviceEventType::TAMPER_DETECTED,
            EndDeviceEventType::COVER_OPENED,
            EndDeviceEventType::MAGNETIC_TAMPER,
            EndDeviceEventType::CLOCK_INVALID,
            EndDeviceEventType::LOAD_LIMIT_EXCEEDED,
        ]
        .into_iter()
        .any(same)
    {
        Severity::Alarm
    } else if [
        EndDeviceEventType::VOLTAGE_SAG_STARTED,
        EndDeviceEventType::VOLTAGE_SWELL_STARTED,
        EndDeviceEventType::LOW_CREDIT,
        EndDeviceEventType::TOKEN_REJECTED,
    ]
    .into_iter()
    .any(same)
    {
        Severity::Warning
    } else {
        Severity::Info
    }
}

/// One event as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EventItem {
    /// Id in the source, increasing in arrival order (a cursor).
    pub id: i64,
    /// The meter.
    pub meter: String,
    /// IEC 61968-9 `EndDeviceEventType` code, e.g. `3.26.0.47`.
    pub event_type: String,
    /// Its English name when gridedge knows the code, e.g. `power down`.
    pub name: Option<String>,
    /// Severity for the control room.
    pub severity: Severity,
    /// When it happened (meter clock, UTC).
    pub occurred_at: Timestamp,
    /// When the head-end received it (UTC).
    pub received_at: Timestamp,
    /// Delivery path: `push`, `profile`, `command`, `prepayment`, `api` ...
    pub source: String,
    /// DLMS event code from the meter's event log, when known.
    pub dlms_event_code: Option<u16>,
    /// Name/value details.
    pub details: BTreeMap<String, String>,
}

impl EventItem {
    /// The list form of `event` stored under `id`.
    pub fn new(id: i64, event: &EndDeviceEvent) -> EventItem {
        EventItem {
            id,
            meter: event.meter.0.clone(),
            event_type: event.event_type.to_string(),
            name: event.event_type.name().map(str::to_string),
            severity: severity_of(event.event_type),
            occurred_at: event.occurred_at,
            received_at: event.received_at,
            source: event.source.clone(),
            dlms_event_code: event.dlms_event_code,
            details: event.details.clone(),
        }
    }
}

/// Which events to list: every condition holds. Ordered by `occurred_at`, then id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this meter.
    pub meter: Option<MeterId>,
    /// Only these types (empty: all).
    pub event_types: Vec<EndDeviceEventType>,
    /// Occurred at or after.
    pub from: Timestamp,
    /// Occurred before.
    pub to: Timestamp,
    /// Skip events up to and including this position (`occurred_at` in ms, id) — the cursor
    /// of the previous page.
    pub after: Option<(i64, i64)>,
    /// At most this many.
    pub limit: usize,
}

/// Where the API reads and records events.
pub trait EventSource: Send + Sync {
    /// The events `filter` selects, ordered by `occurred_at` then id.
    ///
    /// Errors: [`ApiError`] (500 for a backend failure).
    fn events(&self, filter: &EventFilter) -> Result<Vec<EventItem>, ApiError>;

    /// Records events; an event already stored (same meter, type, `occurred_at` and
    /// source) is a duplicate and is not stored again. Returns how many were new.
    ///
    /// Errors: 422 for an event without a meter id; 500.
    fn record(&self, events: &[EndDeviceEvent]) -> Result<u64, ApiError>;
}

/// [`EventSource`] in memory, bounded: the oldest events are dropped beyond `capacity`.
/// The interim store until the MDMS event store is wired in; events do not survive a
/// restart.
#[derive(Debug)]
pub struct MemoryEventLog {
    inner: RwLock<Inner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: i64,
    events: Vec<(i64, EndDeviceEvent)>,
    keys: HashSet<(String, EndDeviceEventType, i64, String)>,
}

fn key_of(e: &EndDeviceEvent) -> (String, EndDeviceEventType, i64, String) {
    (e.meter.0.clone(), e.event_type, e.occurred_at.as_millisecond(), e.source.clone())
}

impl MemoryEventLog {
    /// An empty log keeping at most `capacity` events.
    pub fn new(capacity: usize) -> MemoryEventLog {
        MemoryEventLog { inner: RwLock::new(Inner { next_id: 1, ..Inner::default() }), capacity: capacity.max(1) }
    }
}

impl Default for MemoryEventLog {
    /// Keeps the newest 100 000 events.
    fn default() -> Self {
        MemoryEventLog::new(100_000)
    }
}

impl EventSource for MemoryEventLog {
    fn events(&self, filter: &EventFilter) -> Result<Vec<EventItem>, ApiError> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let mut hits: Vec<&(i64, EndDeviceEvent)> = inner
            .events
            .iter()
            .filter(|(id, e)| {
                filter.meter.as_ref().is_none_or(|m| &e.meter == m)
                    && (filter.event_types.is_empty() || filter.event_types.contains(&e.event_type))
                    && e.occurred_at >= filter.from
                    && e.occurred_at < filter.to
                    && filter.after.is_none_or(|after| (e.occurred_at.as_millisecond(), *id) > after)
            })
            .collect();
        hits.sort_by_key(|(id, e)| (e.occurred_at, *id));
        Ok(hits.into_iter().take(filter.limit).map(|(id, e)| EventItem::new(*id, e)).collect())
    }

    fn record(&self, events: &[EndDeviceEvent]) -> Result<u64, ApiError> {
        if events.iter().any(|e| e.meter.0.trim().is_empty()) {
            return Err(ApiError::unprocessable("an event has an empty meter id"));
        }
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let mut new = 0;
        for e in events {
            if inner.keys.insert(key_of(e)) {
                let id = inner.next_id;
                inner.next_id += 1;
                inner.events.push((id, e.clone()));
                new += 1;
            }
        }
        let excess = inner.events.len().saturating_sub(self.capacity);
        if excess > 0 {
            let dropped: Vec<_> = inner.events.drain(..excess).map(|(_, e)| key_of(&e)).collect();
            for k in dropped {
                inner.keys.remove(&k);
            }
        }
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(meter: &str, t: EndDeviceEventType, at: i64) -> EndDeviceEvent {
        let ts = Timestamp::from_second(at).unwrap();
        EndDeviceEvent::new(MeterId::from(meter), t, ts, ts, "push")
    }

    fn all() -> EventFilter {
        EventFilter {
            meter: None,
            event_types: vec![],
            from: Timestamp::UNIX_EPOCH,
            to: Timestamp::from_second(10_000).unwrap(),
            after: None,
            limit: 100,
        }
    }

    #[test]
    fn records_deduplicates_filters_and_pages() {
        let log = MemoryEventLog::new(10);
        let batch = [
            ev("A", EndDeviceEventType::POWER_DOWN, 200),
            ev("B", EndDeviceEventType::POWER_DOWN, 100),
            ev("A", EndDeviceEventType::POWER_RESTORED, 300),
        ];
        assert_eq!(log.record(&batch).unwrap(), 3);
        assert_eq!(log.record(&batch[..1]).unwrap(), 0, "duplicate");
        let listed = log.events(&all()).unwrap();
        let order: Vec<(&str, i64)> = listed.iter().map(|e| (e.meter.as_str(), e.occurred_at.as_second())).collect();
        assert_eq!(order, [("B", 100), ("A", 200), ("A", 300)]);
        assert_eq!(listed[0].severity, Severity::Alarm);
        assert_eq!(listed[2].severity, Severity::Info);
        assert_eq!(listed[0].event_type, "3.26.0.47");
        let only_a = log.events(&EventFilter { meter: Some(MeterId::from("A")), ..all() }).unwrap();
        assert_eq!(only_a.len(), 2);
        let first = &listed[0];
        let rest = log.events(&EventFilter { after: Some((first.occurred_at.as_millisecond(), first.id)), ..all() });
        assert_eq!(rest.unwrap().len(), 2);
        assert!(log.record(&[ev("", EndDeviceEventType::POWER_DOWN, 1)]).is_err());
    }

    #[test]
    fn capacity_drops_the_oldest() {
        let log = MemoryEventLog::new(2);
        for at in 1..=3 {
            log.record(&[ev("A", EndDeviceEventType::CLOCK_SET, at)]).unwrap();
        }
        let kept: Vec<i64> = log.events(&all()).unwrap().iter().map(|e| e.occurred_at.as_second()).collect();
        assert_eq!(kept, [2, 3]);
    }

    #[test]
    fn severities() {
        assert_eq!(severity_of(EndDeviceEventType::COVER_OPENED), Severity::Alarm);
        assert_eq!(severity_of(EndDeviceEventType::POWER_FAILURE), Severity::Alarm);
        assert_eq!(severity_of(EndDeviceEventType::VOLTAGE_SAG_STARTED), Severity::Warning);
        assert_eq!(severity_of(EndDeviceEventType::RELAY_DISCONNECTED), Severity::Info);
    }
}
