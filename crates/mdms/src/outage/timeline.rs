//! Per-meter power timelines: the correlation engine's input ([`PowerObservation`]) and the
//! interruptions each meter's observations imply.

use std::collections::BTreeMap;

use jiff::Timestamp;
use model::{EndDeviceEvent, MeterId};
use serde::{Deserialize, Serialize};

use super::record::RestoreEvidence;

/// What an observation says about a meter's supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerSignal {
    /// Supply lost: a power-down / last-gasp event.
    Down,
    /// Supply back: a power-restored event.
    Restored,
    /// The meter was powered at that time: a successful read, or any other event the meter
    /// itself produced.
    Proof,
}

/// One fact about one meter's supply at one instant (meter time for events, HES time for
/// reads; UTC).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PowerObservation {
    /// The meter.
    pub meter: MeterId,
    /// When, UTC.
    pub at: Timestamp,
    /// What it says.
    pub signal: PowerSignal,
}

impl PowerObservation {
    /// A proof of power: `meter` was read (or otherwise answered) at `at`.
    pub fn proof(meter: MeterId, at: Timestamp) -> Self {
        PowerObservation { meter, at, signal: PowerSignal::Proof }
    }

    /// What an end device event says about supply: power down / failure codes
    /// ([`EndDeviceEventType::is_power_down`](model::EndDeviceEventType::is_power_down)) are
    /// [`PowerSignal::Down`], power restored is [`PowerSignal::Restored`], and any other
    /// event the meter produced itself (sources `push`, `profile` and `command`) is a
    /// [`PowerSignal::Proof`] at its `occurred_at`. Events of other sources (e.g.
    /// `prepayment`, which may be recorded by the vending side) say nothing: `None`.
    pub fn from_event(event: &EndDeviceEvent) -> Option<Self> {
        let signal = if event.event_type.is_power_down() {
            PowerSignal::Down
        } else if event.event_type.is_power_restored() {
            PowerSignal::Restored
        } else if [EndDeviceEvent::SOURCE_PUSH, EndDeviceEvent::SOURCE_PROFILE, EndDeviceEvent::SOURCE_COMMAND]
            .contains(&event.source.as_str())
        {
            PowerSignal::Proof
        } else {
            return None;
        };
        Some(PowerObservation { meter: event.meter.clone(), at: event.occurred_at, signal })
    }
}

/// One loss of supply of one meter: from its power down to its restoration (if known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interruption {
    pub meter: MeterId,
    pub down: Timestamp,
    /// The first restore event after `down`, or else the first proof of power after it.
    pub up: Option<(Timestamp, RestoreEvidence)>,
}

/// Everything observed about one meter, in time order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timeline {
    pub interruptions: Vec<Interruption>,
    /// Every power-restored time (including restores with no power down before them: a
    /// lost last gasp).
    pub restores: Vec<Timestamp>,
    /// Every proof-of-power time.
    pub proofs: Vec<Timestamp>,
}

impl Timeline {
    /// The meter's own restoration after `start` when it did not report the power down of
    /// an outage starting at `start`: its first restore event at or after `start`, else its
    /// first proof after `start`; either only before its next own power down.
    pub fn silent_restore(&self, start: Timestamp) -> Option<(Timestamp, RestoreEvidence)> {
        let next_down = self.interruptions.iter().map(|i| i.down).find(|d| *d > start);
        let before_next = |t: &Timestamp| next_down.is_none_or(|d| *t < d);
        if let Some(t) = self.restores.iter().find(|t| **t >= start && before_next(t)) {
            return Some((*t, RestoreEvidence::Event));
        }
        self.proofs.iter().find(|t| **t > start && before_next(t)).map(|t| (*t, RestoreEvidence::Proof))
    }

    /// Whether the meter was already out at `start` by an interruption that began earlier
    /// and was not restored by `start`.
    pub fn out_before(&self, start: Timestamp) -> bool {
        self.interruptions.iter().any(|i| i.down < start && i.up.is_none_or(|(t, _)| t > start))
    }
}

/// Builds every meter's timeline. Observations may come in any order and repeat: a power
/// down while already down (a repeat, or the same event from a second path) is ignored, as
/// is a proof at or before the power down it would close.
pub(crate) fn timelines(observations: &[PowerObservation]) -> BTreeMap<MeterId, Timeline> {
    let mut sorted: Vec<&PowerObservation> = observations.iter().collect();
    sorted.sort_by(|a, b| (&a.meter, a.at, a.signal).cmp(&(&b.meter, b.at, b.signal)));
    sorted.dedup();
    let mut out: BTreeMap<MeterId, Timeline> = BTreeMap::new();
    for obs in sorted {
        let timeline = out.entry(obs.meter.clone()).or_default();
        let open = timeline.interruptions.last_mut().filter(|i| i.up.is_none());
        match (obs.signal, open) {
            (PowerSignal::Down, Some(_)) => {}
            (PowerSignal::Down, None) => {
                timeline.interruptions.push(Interruption { meter: obs.meter.clone(), down: obs.at, up: None });
            }
            (PowerSignal::Restored, open) => {
                timeline.restores.push(obs.at);
                if let Some(i) = open {
                    i.up = Some((obs.at, RestoreEvidence::Event));
                }
            }
            (PowerSignal::Proof, open) => {
                timeline.proofs.push(obs.at);
                if let Some(i) = open
                    && obs.at > i.down
                {
                    i.up = Some((obs.at, RestoreEvidence::Proof));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn obs(meter: &str, s: i64, signal: PowerSignal) -> PowerObservation {
        PowerObservation { meter: MeterId::from(meter), at: t(s), signal }
    }

    #[test]
    fn repeats_and_order_do_not_matter() {
        let a = [
            obs("M", 100, PowerSignal::Restored),
            obs("M", 0, PowerSignal::Down),
            obs("M", 1, PowerSignal::Down),
            obs("M", 0, PowerSignal::Down),
            obs("M", 100, PowerSignal::Restored),
        ];
        let tl = timelines(&a);
        let m = &tl[&MeterId::from("M")];
        assert_eq!(m.interruptions.len(), 1);
        assert_eq!(m.interruptions[0].down, t(0));
        assert_eq!(m.interruptions[0].up, Some((t(100), RestoreEvidence::Event)));
    }

    #[test]
    fn a_proof_closes_an_interruption_without_restore() {
        let tl = timelines(&[
            obs("M", 0, PowerSignal::Down),
            obs("M", 0, PowerSignal::Proof),
            obs("M", 500, PowerSignal::Proof),
            obs("M", 900, PowerSignal::Down),
        ]);
        let m = &tl[&MeterId::from("M")];
        assert_eq!(m.interruptions.len(), 2);
        assert_eq!(m.interruptions[0].up, Some((t(500), RestoreEvidence::Proof)));
        assert_eq!(m.interruptions[1].up, None);
        assert!(m.out_before(t(1000)));
        assert!(!m.out_before(t(600)));
    }

    #[test]
    fn silent_restore_stops_at_the_next_power_down() {
        let tl = timelines(&[
            obs("M", 50, PowerSignal::Restored),
            obs("M", 200, PowerSignal::Down),
            obs("M", 300, PowerSignal::Restored),
        ]);
        let m = &tl[&MeterId::from("M")];
        assert_eq!(m.silent_restore(t(10)), Some((t(50), RestoreEvidence::Event)));
        assert_eq!(m.silent_restore(t(60)), None);
    }
}
