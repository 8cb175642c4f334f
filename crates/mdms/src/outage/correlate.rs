//! The correlation engine: power observations + topology → outages.
//!
//! 1. Each meter's observations become interruptions (power down → first restore event, or
//!    else first proof of power, after it).
//! 2. Per transformer, interruptions of its customer meters are scanned in time order:
//!    when at least `transformer_share` of its customer meters (and at least
//!    `min_transformer_meters`) have a power down within `window` of the earliest, they
//!    form a transformer outage. Every customer of the transformer counts as interrupted,
//!    reported or not (last gasps are lost in the field), except a meter already out since
//!    an earlier interruption.
//! 3. Per feeder, transformer outages starting within `window` of the earliest form a
//!    feeder outage when they cover at least `feeder_share` of the feeder's transformers
//!    (with customers; at least `min_feeder_transformers`). It absorbs them and the
//!    single-meter interruptions on the feeder in that window; every customer of the
//!    feeder counts as interrupted.
//! 4. What remains is a single-meter outage, declared once its window has passed at
//!    `as_of` (until then it may still join a transformer outage). Meters not in the
//!    topology only ever have single-meter outages; check meters none.
//!
//! Restoration of each interrupted meter: its own restore event; else, once a quorum
//! (`restore_share` of the outage's reporting meters) has reported restore events, the
//! moment that quorum was reached (the scope is re-energised), or its own proof of power
//! if earlier; else its own proof of power; else, for a meter that did not report the
//! power down, the latest restoration of the reporting meters once they are all restored.
//! The outage is closed when every interrupted meter has a restoration; it ends at the
//! latest one.
//!
//! The result depends only on the set of observations, the topology, the configuration and
//! `as_of` (for single-meter outages still within their window): feeding the same events
//! again, in any order, gives the same outages with the same ids.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use model::MeterId;

use super::config::{OutageConfig, OutageConfigError, quorum};
use super::record::{AffectedMeter, Outage, OutageClass, OutageScope, OutageState, RestoreEvidence};
use super::timeline::{Interruption, PowerObservation, Timeline, timelines};
use crate::topology::{FeederId, Topology, TransformerId};

/// A group of interruptions on one transformer that met the transformer quorum.
struct Cluster<'a> {
    transformer: TransformerId,
    start: Timestamp,
    members: Vec<&'a Interruption>,
}

/// Correlates power observations with the topology into outages, ordered by start, then
/// id. Pure: no I/O, no clock (`as_of` is the caller's "now", UTC).
///
/// Errors: [`OutageConfigError`] for an invalid configuration.
pub fn correlate(
    topology: &Topology,
    observations: &[PowerObservation],
    config: &OutageConfig,
    as_of: Timestamp,
) -> Result<Vec<Outage>, OutageConfigError> {
    config.validate()?;
    let lines = timelines(observations);
    let mut outages = Vec::new();

    // 2. Transformer clusters, and leftover single interruptions of customer meters.
    let mut clusters: BTreeMap<FeederId, Vec<Cluster<'_>>> = BTreeMap::new();
    let mut singles: Vec<&Interruption> = Vec::new();
    for (transformer, t) in topology.transformers() {
        let mut list: Vec<&Interruption> =
            t.customers.iter().filter_map(|m| lines.get(m)).flat_map(|line| line.interruptions.iter()).collect();
        list.sort_by(|a, b| (a.down, &a.meter).cmp(&(b.down, &b.meter)));
        let needed = quorum(config.transformer_share, t.customers.len()).max(config.min_transformer_meters);
        for group in scan(&list, |i| &i.meter, |i| i.down, config, needed) {
            match group {
                Scanned::Group(members) => {
                    let start = members.iter().map(|i| i.down).min().unwrap_or(as_of);
                    clusters.entry(t.feeder.clone()).or_default().push(Cluster {
                        transformer: transformer.clone(),
                        start,
                        members,
                    });
                }
                Scanned::Single(i) => singles.push(i),
            }
        }
    }

    // 3. Feeder outages from transformer clusters.
    let mut absorbed: BTreeSet<(MeterId, Timestamp)> = BTreeSet::new();
    for (feeder, mut list) in clusters {
        list.sort_by(|a, b| (a.start, &a.transformer).cmp(&(b.start, &b.transformer)));
        let with_customers =
            topology.transformers_of_feeder(&feeder).into_iter().filter(|t| topology.customers_of_transformer(t) > 0);
        let needed = quorum(config.feeder_share, with_customers.count()).max(config.min_feeder_transformers);
        let refs: Vec<&Cluster<'_>> = list.iter().collect();
        let mut transformer_clusters = Vec::new();
        for group in scan(&refs, |c| &c.transformer, |c| c.start, config, needed) {
            match group {
                Scanned::Group(members) => {
                    let start = members.iter().map(|c| c.start).min().unwrap_or(as_of);
                    let end_of_window = start.saturating_add(config.window).unwrap_or(start);
                    let mut reporting: Vec<&Interruption> =
                        members.iter().flat_map(|c| c.members.iter().copied()).collect();
                    for single in &singles {
                        if topology.feeder_of(&single.meter) == Some(&feeder)
                            && single.down >= start
                            && single.down <= end_of_window
                        {
                            absorbed.insert((single.meter.clone(), single.down));
                            reporting.push(single);
                        }
                    }
                    let affected: BTreeSet<MeterId> = topology.meters_of_feeder(&feeder).into_iter().collect();
                    let scope = OutageScope::Feeder(feeder.clone());
                    outages.push(build(scope, start, &reporting, affected, &lines, config));
                }
                Scanned::Single(c) => transformer_clusters.push(c),
            }
        }
        for c in transformer_clusters {
            let affected = topology.transformer(&c.transformer).map(|t| t.customers.clone()).unwrap_or_default();
            let scope = OutageScope::Transformer(c.transformer.clone());
            outages.push(build(scope, c.start, &c.members, affected, &lines, config));
        }
    }

    // 4. Single-meter outages: leftovers on transformers (once their window has passed),
    //    and meters outside the topology.
    for single in singles {
        if absorbed.contains(&(single.meter.clone(), single.down)) {
            continue;
        }
        if single.down.saturating_add(config.window).is_ok_and(|w| w > as_of) {
            continue;
        }
        outages.push(single_outage(single, &lines, config));
    }
    for (meter, line) in &lines {
        // Customer meters were handled per transformer; check meters are not customers.
        if topology.transformer_of(meter).is_some() {
            continue;
        }
        for i in &line.interruptions {
            outages.push(single_outage(i, &lines, config));
        }
    }

    outages.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
    Ok(outages)
}

fn single_outage(i: &Interruption, lines: &BTreeMap<MeterId, Timeline>, config: &OutageConfig) -> Outage {
    let scope = OutageScope::Meter(i.meter.clone());
    build(scope, i.down, &[i], BTreeSet::from([i.meter.clone()]), lines, config)
}

/// The outcome of scanning time-ordered items for quorum groups.
enum Scanned<T> {
    /// Items (distinct keys) within the window of the first that reached the quorum.
    Group(Vec<T>),
    /// An item that did not start a quorum group.
    Single(T),
}

/// Scans `items` (sorted by time) greedily: from the earliest unused item, the unused items
/// of distinct keys within `window` of it form a group when there are at least `needed`;
/// otherwise the earliest item is a single and the scan moves on.
fn scan<T: Copy, K: Ord>(
    items: &[T],
    key: impl Fn(&T) -> &K,
    time: impl Fn(&T) -> Timestamp,
    config: &OutageConfig,
    needed: usize,
) -> Vec<Scanned<T>> {
    let mut used = vec![false; items.len()];
    let mut out = Vec::new();
    for (i, first) in items.iter().enumerate() {
        if used.get(i).copied().unwrap_or(true) {
            continue;
        }
        let limit = time(first).saturating_add(config.window).unwrap_or_else(|_| time(first));
        let mut keys = BTreeSet::from([key(first)]);
        let mut members = vec![i];
        for (j, item) in items.iter().enumerate().skip(i + 1) {
            if time(item) > limit {
                break;
            }
            if !used.get(j).copied().unwrap_or(true) && keys.insert(key(item)) {
                members.push(j);
            }
        }
        if members.len() >= needed {
            for &j in &members {
                if let Some(u) = used.get_mut(j) {
                    *u = true;
                }
            }
            out.push(Scanned::Group(members.iter().filter_map(|&j| items.get(j).copied()).collect()));
        } else {
            if let Some(u) = used.get_mut(i) {
                *u = true;
            }
            out.push(Scanned::Single(*first));
        }
    }
    out
}

/// Builds one outage of `scope` starting at `start` from its reporting interruptions and
/// the meters it may have interrupted (`candidates`, before removing meters already out).
fn build(
    scope: OutageScope,
    start: Timestamp,
    reporting: &[&Interruption],
    candidates: BTreeSet<MeterId>,
    lines: &BTreeMap<MeterId, Timeline>,
    config: &OutageConfig,
) -> Outage {
    // The earliest interruption of each reporting meter (a feeder outage may absorb a
    // second, reclosing interruption of a meter in its window).
    let mut reported: BTreeMap<&MeterId, &Interruption> = BTreeMap::new();
    for i in reporting {
        let e = reported.entry(&i.meter).or_insert(*i);
        if i.down < e.down {
            *e = *i;
        }
    }
    let mut affected: BTreeSet<MeterId> = candidates
        .into_iter()
        .filter(|m| reported.contains_key(m) || !lines.get(m).is_some_and(|l| l.out_before(start)))
        .collect();
    affected.extend(reported.keys().map(|m| (*m).clone()));

    // The moment the scope is proven re-energised: the quorum-th restore event.
    let mut restore_events: Vec<Timestamp> =
        reported.values().filter_map(|i| i.up.filter(|(_, e)| *e == RestoreEvidence::Event).map(|(t, _)| t)).collect();
    restore_events.sort();
    let quorum_at = restore_events.get(quorum(config.restore_share, reported.len()) - 1).copied();

    let resolve = |own: Option<(Timestamp, RestoreEvidence)>| -> Option<(Timestamp, RestoreEvidence)> {
        match (own, quorum_at) {
            (Some((t, RestoreEvidence::Event)), _) => Some((t, RestoreEvidence::Event)),
            (Some((t, RestoreEvidence::Proof)), Some(q)) if q < t => Some((q, RestoreEvidence::Inferred)),
            (Some(own), _) => Some(own),
            (None, Some(q)) => Some((q, RestoreEvidence::Inferred)),
            (None, None) => None,
        }
    };
    let mut meters: Vec<AffectedMeter> = affected
        .iter()
        .map(|m| {
            let (down, own) = match reported.get(m) {
                Some(i) => (Some(i.down), i.up),
                None => (None, lines.get(m).and_then(|l| l.silent_restore(start))),
            };
            let restored = resolve(own);
            AffectedMeter {
                meter: m.clone(),
                reported_down_at: down,
                restored_at: restored.map(|(t, _)| t),
                restore: restored.map(|(_, e)| e),
            }
        })
        .collect();
    // Silent meters with nothing of their own: restored with the last reporting meter.
    let reporting_done = meters.iter().filter(|m| m.reported_down_at.is_some()).all(|m| m.restored_at.is_some());
    if reporting_done {
        let last = meters.iter().filter(|m| m.reported_down_at.is_some()).filter_map(|m| m.restored_at).max();
        if let Some(last) = last {
            for m in meters.iter_mut().filter(|m| m.restored_at.is_none()) {
                m.restored_at = Some(last);
                m.restore = Some(RestoreEvidence::Inferred);
            }
        }
    }

    let all_restored = meters.iter().all(|m| m.restored_at.is_some());
    let ended_at = if all_restored { meters.iter().filter_map(|m| m.restored_at).max() } else { None };
    let (state, class, customer_minutes) = match ended_at {
        Some(end) => {
            let ms: i64 = meters
                .iter()
                .filter_map(|m| m.restored_at)
                .map(|t| (t.as_millisecond() - start.as_millisecond()).max(0))
                .sum();
            let class = OutageClass::of(end.duration_since(start), config.momentary_limit);
            (OutageState::Closed, Some(class), Some(ms as f64 / 60_000.0))
        }
        None => (OutageState::Open, None, None),
    };
    Outage {
        id: Outage::make_id(&scope, start),
        scope,
        started_at: start,
        ended_at,
        state,
        class,
        customers_interrupted: meters.len() as u64,
        customer_minutes,
        reporting_meters: reported.len() as u64,
        meters,
    }
}
