//! Scenarios: what happens to the field over time, on top of each link's own
//! availability.
//!
//! An [`Effect`] is active during a window of simulated time ([`TimedEffect`]). The
//! relay asks, for every frame, which effects are active at the frame's time, so a
//! scenario replays identically for the same seed and the same traffic:
//!
//! | effect | what the HES sees |
//! |---|---|
//! | [`Effect::DcuOutage`] | the DCU is dead (power loss, crash): new sessions to its meters are refused, open ones are reset at their next frame, pushes through it are lost |
//! | [`Effect::Partition`] | the backhaul to these DCUs is cut (WAN failure) while the DCUs live on: new sessions are refused, frames on open ones are retransmitted by TCP until it gives up and resets the connection |
//! | [`Effect::Degrade`] | the DCU's neighbourhood network is worse: more loss, more latency, less bandwidth |
//! | [`Effect::MeterOffline`] | one meter cannot be reached on the last mile (no supply, broken modem): the DCU accepts the session but frames to the meter are lost |

use std::sync::RwLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The identity of a data concentrator (its name in the HES registry, e.g. `DCU-0001`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DcuId(pub String);

impl std::fmt::Display for DcuId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for DcuId {
    fn from(s: &str) -> Self {
        DcuId(s.to_string())
    }
}

/// How much worse a degraded link is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Degradation {
    /// Extra loss per hop, combined with the link's: `1 − (1 − p)(1 − extra)`.
    pub extra_loss: f64,
    /// Multiplies every latency (≥ 0).
    pub latency_factor: f64,
    /// Multiplies the bit rate (> 0; 0.5 halves the bandwidth).
    pub rate_factor: f64,
}

impl Default for Degradation {
    /// No degradation.
    fn default() -> Self {
        Degradation { extra_loss: 0.0, latency_factor: 1.0, rate_factor: 1.0 }
    }
}

impl Degradation {
    /// Two degradations at once.
    pub fn combine(self, other: Degradation) -> Degradation {
        Degradation {
            extra_loss: 1.0 - (1.0 - self.extra_loss) * (1.0 - other.extra_loss),
            latency_factor: self.latency_factor * other.latency_factor,
            rate_factor: self.rate_factor * other.rate_factor,
        }
    }
}

/// Something that happens to the field (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// The DCU is dead.
    DcuOutage(DcuId),
    /// The HES cannot reach these DCUs.
    Partition(Vec<DcuId>),
    /// The DCU's neighbourhood network is degraded.
    Degrade(DcuId, Degradation),
    /// The meter with this serial is unreachable on its last mile.
    MeterOffline(String),
}

/// An effect during `[from, until)` of simulated time (`until: None` = until cleared).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedEffect {
    /// Start, simulated time since the field started.
    pub from: Duration,
    /// End (exclusive); `None`: open-ended.
    pub until: Option<Duration>,
    /// What happens.
    pub effect: Effect,
}

impl TimedEffect {
    /// True when active at `t`.
    pub fn is_active(&self, t: Duration) -> bool {
        self.from <= t && self.until.is_none_or(|u| t < u)
    }
}

/// A named list of timed effects.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scenario {
    /// For reports.
    pub name: String,
    /// The effects.
    pub effects: Vec<TimedEffect>,
}

impl Scenario {
    /// An empty scenario.
    pub fn new(name: impl Into<String>) -> Self {
        Scenario { name: name.into(), effects: Vec::new() }
    }

    /// Adds `effect` during `[from, from + duration)`.
    pub fn with(mut self, effect: Effect, from: Duration, duration: Duration) -> Self {
        self.effects.push(TimedEffect { from, until: Some(from.saturating_add(duration)), effect });
        self
    }

    /// Adds an outage of `dcu` during `[from, from + duration)`.
    pub fn dcu_outage(self, dcu: impl Into<DcuId>, from: Duration, duration: Duration) -> Self {
        self.with(Effect::DcuOutage(dcu.into()), from, duration)
    }

    /// Adds a partition of `dcus` from the HES during `[from, from + duration)`.
    pub fn partition(self, dcus: Vec<DcuId>, from: Duration, duration: Duration) -> Self {
        self.with(Effect::Partition(dcus), from, duration)
    }

    /// Adds a degradation of `dcu`'s neighbourhood network during `[from, from + duration)`.
    pub fn degrade(self, dcu: impl Into<DcuId>, degradation: Degradation, from: Duration, duration: Duration) -> Self {
        self.with(Effect::Degrade(dcu.into(), degradation), from, duration)
    }
}

impl From<String> for DcuId {
    fn from(s: String) -> Self {
        DcuId(s)
    }
}

/// A handle to an effect added to a running field, to clear it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EffectId(pub(crate) u64);

/// What the active effects mean for one meter's path at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PathConditions {
    /// The DCU is dead.
    pub dcu_down: bool,
    /// The backhaul between the HES and the DCU is cut.
    pub backhaul_down: bool,
    /// The meter is unreachable on its last mile.
    pub meter_down: bool,
    /// The neighbourhood network's degradation, if any.
    pub degradation: Option<Degradation>,
}

impl PathConditions {
    /// True when the HES cannot reach the DCU at all.
    pub fn dcu_unreachable(&self) -> bool {
        self.dcu_down || self.backhaul_down
    }
}

/// The effects of a running field (scheduled and manual).
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    inner: RwLock<(u64, Vec<(EffectId, TimedEffect)>)>,
}

impl Conditions {
    pub(crate) fn add(&self, effect: TimedEffect) -> EffectId {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        inner.0 += 1;
        let id = EffectId(inner.0);
        inner.1.push((id, effect));
        id
    }

    /// Ends an open-ended effect at `t` (kept, so earlier frames still saw it).
    pub(crate) fn end(&self, id: EffectId, t: Duration) -> bool {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        match inner.1.iter_mut().find(|(i, _)| *i == id) {
            Some((_, e)) => {
                e.until = Some(e.until.map_or(t, |u| u.min(t)));
                true
            }
            None => false,
        }
    }

    pub(crate) fn at(&self, dcu: &DcuId, serial: Option<&str>, t: Duration) -> PathConditions {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let mut c = PathConditions::default();
        for (_, e) in inner.1.iter().filter(|(_, e)| e.is_active(t)) {
            match &e.effect {
                Effect::DcuOutage(d) if d == dcu => c.dcu_down = true,
                Effect::Partition(ds) if ds.contains(dcu) => c.backhaul_down = true,
                Effect::Degrade(d, g) if d == dcu => {
                    c.degradation = Some(c.degradation.map_or(*g, |old| old.combine(*g)));
                }
                Effect::MeterOffline(s) if Some(s.as_str()) == serial => c.meter_down = true,
                _ => {}
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_apply_to_their_dcu_and_window() {
        let c = Conditions::default();
        let a = DcuId::from("A");
        let b = DcuId::from("B");
        let s = Scenario::new("evening").dcu_outage("A", Duration::from_secs(10), Duration::from_secs(5)).partition(
            vec![b.clone()],
            Duration::from_secs(0),
            Duration::from_secs(100),
        );
        for e in s.effects {
            c.add(e);
        }
        assert!(!c.at(&a, None, Duration::from_secs(9)).dcu_unreachable());
        assert!(c.at(&a, None, Duration::from_secs(10)).dcu_down);
        assert!(!c.at(&a, None, Duration::from_secs(15)).dcu_down);
        assert!(c.at(&b, None, Duration::from_secs(15)).backhaul_down);
        let id = c.add(TimedEffect { from: Duration::ZERO, until: None, effect: Effect::MeterOffline("M1".into()) });
        assert!(c.at(&a, Some("M1"), Duration::from_secs(1)).meter_down);
        assert!(!c.at(&a, Some("M2"), Duration::from_secs(1)).meter_down);
        assert!(c.end(id, Duration::from_secs(2)));
        assert!(c.at(&a, Some("M1"), Duration::from_secs(1)).meter_down, "history is kept");
        assert!(!c.at(&a, Some("M1"), Duration::from_secs(2)).meter_down);
        assert!(!c.end(EffectId(99), Duration::from_secs(2)));
    }
}
