//! Keeping stored outages up to date from the stored events: what the HES intake calls after
//! inserting a batch of events.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use model::{EndDeviceEventType, MeterId};
use serde::Serialize;

use super::config::{OutageConfig, OutageConfigError};
use super::correlate::correlate;
use super::record::OutageState;
use super::store::{OutageStore, OutageSyncReport};
use super::timeline::PowerObservation;
use crate::events::{EventQuery, EventStore};
use crate::topology::Topology;
use crate::{MeterDataStore, StoreError};

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum OutageError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] OutageConfigError),
    /// Reading events or writing outages failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`refresh_outages`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    /// The start of the recomputed range: `from`, moved back to the start of any stored
    /// outage still in progress (or ended less than a window) before it.
    pub recomputed_from: Option<Timestamp>,
    /// Power events read.
    pub power_events: u64,
    /// Proofs of power used (other meter events and successful reads).
    pub proofs: u64,
    /// What changed in the outage store.
    pub sync: OutageSyncReport,
}

/// The event types that carry power down and restore: the electric-meter codes
/// [`EndDeviceEventType::POWER_DOWN`], [`POWER_FAILURE`](EndDeviceEventType::POWER_FAILURE)
/// and [`POWER_RESTORED`](EndDeviceEventType::POWER_RESTORED).
pub const POWER_EVENT_TYPES: [EndDeviceEventType; 3] =
    [EndDeviceEventType::POWER_DOWN, EndDeviceEventType::POWER_FAILURE, EndDeviceEventType::POWER_RESTORED];

/// Recomputes the outages that start at or after `from` from the stored power events that
/// occurred in `[from, as_of)` and stores the result ([`OutageStore::sync_outages`]).
///
/// `from` is first moved back to the start of any stored outage still open, or ended less
/// than `config.window` before it, so an outage is always recomputed from its first event
/// (a late last gasp joins its outage instead of starting a new one). Call it after each
/// batch of events with `from` = the earliest `occurred_at` of the batch and `as_of` = now.
///
/// Proofs of power, for meters of open outages without a restoration: their other events
/// from the meter itself (sources push, profile, command) and successful collection
/// sessions (`MeterDataStore::clock_drift_history`, HES time) after the outage start.
///
/// Idempotent: with the same stored events and `as_of`, a second call changes nothing.
///
/// Errors: [`OutageError::Config`], [`OutageError::Store`].
pub fn refresh_outages<S>(
    store: &mut S,
    topology: &Topology,
    config: &OutageConfig,
    from: Timestamp,
    as_of: Timestamp,
) -> Result<RefreshReport, OutageError>
where
    S: EventStore + OutageStore + MeterDataStore + ?Sized,
{
    config.validate()?;
    // Move back over stored outages that may still take events from `from` on.
    let mut start = from;
    for _ in 0..64 {
        let lookback = start.checked_sub(config.window).unwrap_or(start);
        let earliest = store.outages_overlapping(lookback, start)?.iter().map(|o| o.started_at).min();
        match earliest {
            Some(e) if e < start => start = e,
            _ => break,
        }
    }
    if start >= as_of {
        return Ok(RefreshReport { recomputed_from: Some(start), ..RefreshReport::default() });
    }

    let events = store.events(&EventQuery::range(start, as_of).of_types(POWER_EVENT_TYPES))?;
    let mut observations: Vec<PowerObservation> =
        events.iter().filter_map(|e| PowerObservation::from_event(&e.event)).collect();

    // First pass: which meters lack a restoration, and since when.
    let first = correlate(topology, &observations, config, as_of)?;
    let mut need: BTreeMap<MeterId, Timestamp> = BTreeMap::new();
    for outage in first.iter().filter(|o| o.state == OutageState::Open) {
        for m in outage.meters.iter().filter(|m| m.restored_at.is_none()) {
            let since = need.entry(m.meter.clone()).or_insert(outage.started_at);
            *since = (*since).min(outage.started_at);
        }
    }
    let mut proofs = 0u64;
    if !need.is_empty() {
        let earliest = need.values().min().copied().unwrap_or(start);
        let query = EventQuery::range(earliest, as_of).for_meters(need.keys().cloned());
        let power: BTreeSet<EndDeviceEventType> = POWER_EVENT_TYPES.into_iter().collect();
        for stored in store.events(&query)? {
            if power.contains(&stored.event.event_type) {
                continue;
            }
            if let Some(obs) = PowerObservation::from_event(&stored.event)
                && need.get(&obs.meter).is_some_and(|since| obs.at > *since)
            {
                observations.push(obs);
                proofs += 1;
            }
        }
        for (meter, since) in &need {
            let first_read = store
                .clock_drift_history(meter)?
                .into_iter()
                .map(|c| c.collected_at)
                .filter(|t| t > since && *t < as_of)
                .min();
            if let Some(at) = first_read {
                observations.push(PowerObservation::proof(meter.clone(), at));
                proofs += 1;
            }
        }
    }
    let outages = if proofs > 0 { correlate(topology, &observations, config, as_of)? } else { first };
    let sync = store.sync_outages(start, &outages)?;
    Ok(RefreshReport { recomputed_from: Some(start), power_events: events.len() as u64, proofs, sync })
}
