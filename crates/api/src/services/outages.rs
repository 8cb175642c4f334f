//! Outages and reliability for the API: the [`OutageSource`] trait and
//! [`EventOutages`], which derives them from power-down / power-restored events and the
//! registry's transformer and feeder of each meter.
//!
//! Correlation ([`EventOutages`]): each meter's interruptions are its power-down (last
//! gasp, `3.26.0.47` or `3.26.0.85`) to the next power-restored (`3.26.0.216`). Per
//! transformer, interruptions that start within [`OutageRules::window`] of the first one
//! form a cluster; when the cluster holds at least [`OutageRules::transformer_share`] of the
//! transformer's meters it is one transformer outage (restored when its last meter is),
//! otherwise each interruption is a single-meter outage. Feeder-level correlation and
//! topology checks belong to the MDMS outage engine, which plugs in through this trait.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use super::events::{EventFilter, EventSource};
use super::registry::MeterRegistry;
use super::reliability::{Interruption, MOMENTARY_MAX, ReliabilityIndices, indices};
use crate::error::ApiError;
use crate::query::TimeRange;

/// What an outage covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutageScope {
    /// Every meter of a feeder.
    Feeder,
    /// A distribution transformer (enough of its meters lost supply together).
    Transformer,
    /// One meter (a service drop, a blown fuse, or a meter with no known transformer).
    Meter,
}

/// Momentary, sustained, or still going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutageKind {
    /// Restored within 5 minutes (IEEE 1366).
    Momentary,
    /// Restored after more than 5 minutes.
    Sustained,
    /// Not restored yet.
    Ongoing,
}

/// One outage.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OutageItem {
    /// Stable id: `<scope>:<element>@<start ms>`.
    pub id: String,
    /// What it covers.
    pub scope: OutageScope,
    /// The transformer, when known.
    pub transformer: Option<String>,
    /// The feeder, when known.
    pub feeder: Option<String>,
    /// The meter, for a single-meter outage.
    pub meter: Option<String>,
    /// First loss of supply, UTC.
    pub started_at: Timestamp,
    /// Last restoration, UTC; `null` while ongoing.
    pub restored_at: Option<Timestamp>,
    /// Duration so far or in total, seconds.
    pub duration_s: i64,
    /// Meters that lost supply.
    pub meters_affected: u32,
    /// Meters served by the element (transformer or feeder; 1 for a meter).
    pub meters_served: u32,
    /// Momentary, sustained or ongoing.
    pub kind: OutageKind,
}

/// Where the API reads outages and reliability indices.
pub trait OutageSource: Send + Sync {
    /// Outages that started in `range` (and, with `include_ongoing`, those still going on
    /// whenever they started), newest first.
    ///
    /// Errors: [`ApiError`].
    fn outages(&self, range: TimeRange, include_ongoing: bool) -> Result<Vec<OutageItem>, ApiError>;

    /// IEEE 1366 indices of `range`.
    ///
    /// Errors: [`ApiError`].
    fn reliability(&self, range: TimeRange) -> Result<ReliabilityIndices, ApiError>;
}

/// Parameters of the correlation in [`EventOutages`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutageRules {
    /// Interruptions starting within this time of a cluster's first belong to it
    /// (default 5 minutes).
    pub window: SignedDuration,
    /// Share of a transformer's meters that makes a cluster a transformer outage
    /// (default 0.5).
    pub transformer_share: f64,
    /// How far back events are read to find the start of outages still going on (default
    /// 30 days).
    pub lookback: SignedDuration,
}

impl Default for OutageRules {
    fn default() -> Self {
        OutageRules {
            window: SignedDuration::from_mins(5),
            transformer_share: 0.5,
            lookback: SignedDuration::from_hours(24 * 30),
        }
    }
}

/// [`OutageSource`] derived from events and the registry (see the module docs).
pub struct EventOutages {
    events: Arc<dyn EventSource>,
    registry: Arc<dyn MeterRegistry>,
    rules: OutageRules,
}

impl std::fmt::Debug for EventOutages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventOutages").field("rules", &self.rules).finish_non_exhaustive()
    }
}

/// Largest number of power events read for one correlation.
const MAX_POWER_EVENTS: usize = 1_000_000;

impl EventOutages {
    /// Outages from `events`, located with `registry`.
    pub fn new(events: Arc<dyn EventSource>, registry: Arc<dyn MeterRegistry>, rules: OutageRules) -> EventOutages {
        EventOutages { events, registry, rules }
    }

    /// Every meter's interruptions starting in `[from, to)` (plus those open at `from`).
    fn interruptions(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Interruption>, ApiError> {
        let lookback_from = from.checked_sub(self.rules.lookback).unwrap_or(Timestamp::MIN);
        let filter = EventFilter {
            meter: None,
            event_types: vec![
                model::EndDeviceEventType::POWER_DOWN,
                model::EndDeviceEventType::POWER_FAILURE,
                model::EndDeviceEventType::POWER_RESTORED,
            ],
            from: lookback_from,
            to: Timestamp::MAX,
            after: None,
            limit: MAX_POWER_EVENTS,
        };
        let mut by_meter: BTreeMap<String, Vec<(Timestamp, bool)>> = BTreeMap::new();
        for e in self.events.events(&filter)? {
            let Ok(code) = e.event_type.parse::<model::EndDeviceEventType>() else { continue };
            if code.is_power_down() {
                by_meter.entry(e.meter).or_default().push((e.occurred_at, true));
            } else if code.is_power_restored() {
                by_meter.entry(e.meter).or_default().push((e.occurred_at, false));
            }
        }
        let mut out = Vec::new();
        for (meter, mut list) in by_meter {
            list.sort();
            let mut open: Option<Timestamp> = None;
            for (at, down) in list {
                match (down, open) {
                    (true, None) => open = Some(at),
                    (false, Some(start)) => {
                        out.push(Interruption { meter: meter.clone(), started_at: start, restored_at: Some(at) });
                        open = None;
                    }
                    _ => {}
                }
            }
            if let Some(start) = open {
                out.push(Interruption { meter, started_at: start, restored_at: None });
            }
        }
        out.retain(|i| i.started_at < to && (i.started_at >= from || i.restored_at.is_none_or(|r| r > from)));
        Ok(out)
    }
}

fn kind_of(i: &[&Interruption], now: Timestamp) -> (Option<Timestamp>, OutageKind, i64) {
    let start = i.iter().map(|x| x.started_at).min().unwrap_or(now);
    let restored =
        if i.iter().all(|x| x.restored_at.is_some()) { i.iter().filter_map(|x| x.restored_at).max() } else { None };
    let duration = restored.unwrap_or(now).duration_since(start).max(SignedDuration::ZERO);
    let kind = match restored {
        None => OutageKind::Ongoing,
        Some(_) if duration > MOMENTARY_MAX => OutageKind::Sustained,
        Some(_) => OutageKind::Momentary,
    };
    (restored, kind, duration.as_secs())
}

impl OutageSource for EventOutages {
    fn outages(&self, range: TimeRange, include_ongoing: bool) -> Result<Vec<OutageItem>, ApiError> {
        let now = Timestamp::now();
        let from = if include_ongoing { Timestamp::MIN } else { range.from };
        let interruptions = self.interruptions(from, range.to)?;
        let meters = self.registry.list()?;
        let location: BTreeMap<&str, (Option<&str>, Option<&str>)> =
            meters.iter().map(|m| (m.serial.as_str(), (m.transformer.as_deref(), m.feeder.as_deref()))).collect();
        let mut served: BTreeMap<&str, u32> = BTreeMap::new();
        for (t, _) in location.values() {
            if let Some(t) = t {
                *served.entry(t).or_default() += 1;
            }
        }
        // Interruptions per transformer; those without one stay single-meter outages.
        let mut per_transformer: BTreeMap<&str, Vec<&Interruption>> = BTreeMap::new();
        let mut items = Vec::new();
        let single = |i: &Interruption, transformer: Option<&str>, feeder: Option<&str>| {
            let (restored_at, kind, duration_s) = kind_of(&[i], now);
            OutageItem {
                id: format!("meter:{}@{}", i.meter, i.started_at.as_millisecond()),
                scope: OutageScope::Meter,
                transformer: transformer.map(str::to_string),
                feeder: feeder.map(str::to_string),
                meter: Some(i.meter.clone()),
                started_at: i.started_at,
                restored_at,
                duration_s,
                meters_affected: 1,
                meters_served: 1,
                kind,
            }
        };
        for i in &interruptions {
            match location.get(i.meter.as_str()) {
                Some((Some(t), _)) => per_transformer.entry(t).or_default().push(i),
                Some((None, feeder)) => items.push(single(i, None, *feeder)),
                None => items.push(single(i, None, None)),
            }
        }
        for (transformer, mut list) in per_transformer {
            list.sort_by_key(|i| i.started_at);
            let feeder = list.first().and_then(|i| location.get(i.meter.as_str())).and_then(|(_, f)| *f);
            let total = served.get(transformer).copied().unwrap_or(1).max(1);
            let mut start = 0;
            while start < list.len() {
                let first = list[start].started_at;
                let end = list[start..]
                    .iter()
                    .position(|i| i.started_at.duration_since(first) > self.rules.window)
                    .map_or(list.len(), |p| start + p);
                let cluster = &list[start..end];
                let mut affected: Vec<&str> = cluster.iter().map(|i| i.meter.as_str()).collect();
                affected.sort_unstable();
                affected.dedup();
                let share = affected.len() as f64 / f64::from(total);
                if (share >= self.rules.transformer_share && affected.len() > 1) || (total == 1 && !affected.is_empty())
                {
                    let (restored_at, kind, duration_s) = kind_of(cluster, now);
                    items.push(OutageItem {
                        id: format!("transformer:{transformer}@{}", first.as_millisecond()),
                        scope: OutageScope::Transformer,
                        transformer: Some(transformer.to_string()),
                        feeder: feeder.map(str::to_string),
                        meter: None,
                        started_at: first,
                        restored_at,
                        duration_s,
                        meters_affected: u32::try_from(affected.len()).unwrap_or(u32::MAX),
                        meters_served: total,
                        kind,
                    });
                } else {
                    items.extend(cluster.iter().map(|i| single(i, Some(transformer), feeder)));
                }
                start = end;
            }
        }
        items.retain(|o| {
            (o.started_at >= range.from && o.started_at < range.to)
                || (include_ongoing && o.kind == OutageKind::Ongoing)
        });
        items.sort_by(|a, b| b.started_at.cmp(&a.started_at).then_with(|| a.id.cmp(&b.id)));
        Ok(items)
    }

    fn reliability(&self, range: TimeRange) -> Result<ReliabilityIndices, ApiError> {
        let interruptions = self.interruptions(range.from, range.to)?;
        let mut customers = u64::try_from(self.registry.list()?.len()).unwrap_or(u64::MAX);
        if customers == 0 {
            let mut seen: Vec<&str> = interruptions.iter().map(|i| i.meter.as_str()).collect();
            seen.sort_unstable();
            seen.dedup();
            customers = seen.len() as u64;
        }
        Ok(indices(&interruptions, customers, range.from, range.to, Timestamp::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::events::MemoryEventLog;
    use crate::services::registry::InMemoryRegistry;
    use model::{EndDeviceEvent, EndDeviceEventType, MeterId};

    fn endpoint(serial: &str) -> hes::MeterEndpoint {
        hes::MeterEndpoint {
            serial: MeterId::from(serial),
            address: "127.0.0.1:4059".parse().unwrap(),
            client_sap: 1,
            server_sap: 1,
            authentication: dlms::association::Authentication::None,
            link: hes::transport::LinkLayer::Wrapper,
            security: None,
        }
    }

    fn event(meter: &str, t: EndDeviceEventType, at: &str) -> EndDeviceEvent {
        let ts: Timestamp = at.parse().unwrap();
        EndDeviceEvent::new(MeterId::from(meter), t, ts, ts, "push")
    }

    #[test]
    fn transformer_clusters_and_single_meters() {
        let registry = Arc::new(InMemoryRegistry::new());
        for (m, t) in [("M1", "T1"), ("M2", "T1"), ("M3", "T1"), ("M4", "T2"), ("M5", "T2")] {
            registry.insert(endpoint(m), Some(t.into()), Some("F1".into()), "active");
        }
        let events = Arc::new(MemoryEventLog::default());
        use EndDeviceEventType as E;
        events
            .record(&[
                // T1: M1 and M2 within 5 min (2 of 3 meters): a transformer outage of 20 min.
                event("M1", E::POWER_DOWN, "2025-01-10T10:00:00Z"),
                event("M2", E::POWER_DOWN, "2025-01-10T10:02:00Z"),
                event("M1", E::POWER_RESTORED, "2025-01-10T10:15:00Z"),
                event("M2", E::POWER_RESTORED, "2025-01-10T10:20:00Z"),
                // T2: only M4 (1 of 2 = 0.5 but a lone meter): a single-meter momentary outage.
                event("M4", E::POWER_DOWN, "2025-01-11T08:00:00Z"),
                event("M4", E::POWER_RESTORED, "2025-01-11T08:01:00Z"),
                // M5 still out.
                event("M5", E::POWER_DOWN, "2025-01-12T08:00:00Z"),
            ])
            .unwrap();
        let outages = EventOutages::new(events, registry, OutageRules::default());
        let range =
            TimeRange { from: "2025-01-01T00:00:00Z".parse().unwrap(), to: "2025-02-01T00:00:00Z".parse().unwrap() };
        let list = outages.outages(range, false).unwrap();
        let summary: Vec<(OutageScope, Option<&str>, u32, OutageKind, i64)> = list
            .iter()
            .map(|o| {
                (o.scope, o.meter.as_deref().or(o.transformer.as_deref()), o.meters_affected, o.kind, o.duration_s)
            })
            .filter(|s| s.3 != OutageKind::Ongoing)
            .collect();
        assert_eq!(
            summary,
            [
                (OutageScope::Meter, Some("M4"), 1, OutageKind::Momentary, 60),
                (OutageScope::Transformer, Some("T1"), 2, OutageKind::Sustained, 1200),
            ]
        );
        assert!(list.iter().any(|o| o.meter.as_deref() == Some("M5") && o.kind == OutageKind::Ongoing));
        assert_eq!(list.iter().find(|o| o.scope == OutageScope::Transformer).unwrap().meters_served, 3);
        // Indices: 5 customers; sustained M1 (15 min), M2 (18 min), M5 (ongoing, counted to
        // the period end or now); momentary M4.
        let r = outages.reliability(range).unwrap();
        assert_eq!((r.customers_served, r.sustained_interruptions, r.momentary_interruptions), (5, 3, 1));
        assert_eq!(r.maifi, 0.2);
        assert_eq!(r.saifi, 0.6);
    }
}
