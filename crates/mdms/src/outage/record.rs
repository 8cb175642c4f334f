//! What the correlation engine declares: an [`Outage`] with its scope, times, state,
//! class and the meters (customers) it interrupted.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use model::MeterId;
use serde::{Deserialize, Serialize};

use crate::topology::{FeederId, TransformerId};

/// Which part of the network an outage covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum OutageScope {
    /// A whole feeder: every customer of every transformer on it.
    Feeder(FeederId),
    /// One distribution transformer: every customer meter on it.
    Transformer(TransformerId),
    /// One service point (its meter).
    Meter(MeterId),
}

/// The kind of an [`OutageScope`], without its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// [`OutageScope::Feeder`].
    Feeder,
    /// [`OutageScope::Transformer`].
    Transformer,
    /// [`OutageScope::Meter`].
    Meter,
}

impl ScopeKind {
    /// "feeder", "transformer" or "meter".
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Feeder => "feeder",
            ScopeKind::Transformer => "transformer",
            ScopeKind::Meter => "meter",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s names.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "feeder" => Some(ScopeKind::Feeder),
            "transformer" => Some(ScopeKind::Transformer),
            "meter" => Some(ScopeKind::Meter),
            _ => None,
        }
    }
}

impl OutageScope {
    /// The scope's kind.
    pub fn kind(&self) -> ScopeKind {
        match self {
            OutageScope::Feeder(_) => ScopeKind::Feeder,
            OutageScope::Transformer(_) => ScopeKind::Transformer,
            OutageScope::Meter(_) => ScopeKind::Meter,
        }
    }

    /// The feeder, transformer or meter id.
    pub fn id(&self) -> &str {
        match self {
            OutageScope::Feeder(f) => &f.0,
            OutageScope::Transformer(t) => &t.0,
            OutageScope::Meter(m) => &m.0,
        }
    }

    /// Rebuilds a scope from its kind and id.
    pub fn from_parts(kind: ScopeKind, id: String) -> Self {
        match kind {
            ScopeKind::Feeder => OutageScope::Feeder(FeederId(id)),
            ScopeKind::Transformer => OutageScope::Transformer(TransformerId(id)),
            ScopeKind::Meter => OutageScope::Meter(MeterId(id)),
        }
    }
}

impl fmt::Display for OutageScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind().as_str(), self.id())
    }
}

/// Whether the outage is still going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageState {
    /// Some interrupted customer has no known restoration yet.
    Open,
    /// Every interrupted customer is restored; `ended_at` is set.
    Closed,
}

impl OutageState {
    /// "open" or "closed".
    pub fn as_str(self) -> &'static str {
        match self {
            OutageState::Open => "open",
            OutageState::Closed => "closed",
        }
    }
}

/// IEEE 1366-2012 classification by duration (clause 2: a sustained interruption lasts
/// more than 5 min; a momentary one 5 min or less).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageClass {
    /// Duration at most the momentary limit (default 5 min).
    Momentary,
    /// Duration above the momentary limit.
    Sustained,
}

impl OutageClass {
    /// "momentary" or "sustained".
    pub fn as_str(self) -> &'static str {
        match self {
            OutageClass::Momentary => "momentary",
            OutageClass::Sustained => "sustained",
        }
    }

    /// The class of an interruption lasting `duration` with the momentary limit `limit`:
    /// momentary when `duration <= limit`.
    pub fn of(duration: SignedDuration, limit: SignedDuration) -> Self {
        if duration <= limit { OutageClass::Momentary } else { OutageClass::Sustained }
    }
}

/// How a meter's restoration time is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoreEvidence {
    /// The meter's own power-restored event.
    Event,
    /// A proof of power from the meter after the outage start (a successful read or any
    /// other event of the meter); the time is an upper bound of the restoration.
    Proof,
    /// Inferred from its neighbours: the moment a quorum of the outage's reporting meters
    /// reported restoration.
    Inferred,
}

impl RestoreEvidence {
    /// "event", "proof" or "inferred".
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreEvidence::Event => "event",
            RestoreEvidence::Proof => "proof",
            RestoreEvidence::Inferred => "inferred",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s names.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "event" => Some(RestoreEvidence::Event),
            "proof" => Some(RestoreEvidence::Proof),
            "inferred" => Some(RestoreEvidence::Inferred),
            _ => None,
        }
    }
}

/// One customer meter an outage interrupted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedMeter {
    /// The meter.
    pub meter: MeterId,
    /// When its power down (last gasp) occurred, if one was received; `None` for a meter
    /// whose last gasp was lost (it counts as interrupted all the same).
    pub reported_down_at: Option<Timestamp>,
    /// When its supply came back, UTC; `None` while unknown.
    pub restored_at: Option<Timestamp>,
    /// How `restored_at` is known.
    pub restore: Option<RestoreEvidence>,
}

/// One outage: an interruption of supply to a set of customers, correlated from meter
/// power-down and power-restored events and the topology.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// Stable identifier: `<kind>:<scope id>:<start in Unix milliseconds>`, e.g.
    /// `transformer:T1:1735693200000`. The same events always give the same id.
    pub id: String,
    /// Feeder, transformer or single meter.
    pub scope: OutageScope,
    /// Start: the earliest power down of the outage (meter time, UTC).
    pub started_at: Timestamp,
    /// End: the latest restoration of its customers; `None` while open.
    pub ended_at: Option<Timestamp>,
    /// Open or closed.
    pub state: OutageState,
    /// Momentary or sustained; `None` while open (see [`Outage::class_at`]).
    pub class: Option<OutageClass>,
    /// Customers interrupted (IEEE 1366 `N_i`): every customer meter of the scope that was
    /// not already out, whether or not its last gasp arrived.
    pub customers_interrupted: u64,
    /// Customer minutes of interruption (IEEE 1366 `r_i · N_i` summed per customer: each
    /// customer's restoration minus the outage start); `None` while open (see
    /// [`Outage::customer_minutes_at`]).
    pub customer_minutes: Option<f64>,
    /// Meters whose power down was received.
    pub reporting_meters: u64,
    /// The interrupted meters, in id order.
    pub meters: Vec<AffectedMeter>,
}

impl Outage {
    /// The stable id of an outage of `scope` starting at `started_at`.
    pub fn make_id(scope: &OutageScope, started_at: Timestamp) -> String {
        format!("{}:{}:{}", scope.kind().as_str(), scope.id(), started_at.as_millisecond())
    }

    /// Duration so far at `as_of` (or the full duration when closed).
    pub fn duration_at(&self, as_of: Timestamp) -> SignedDuration {
        let end = self.ended_at.unwrap_or(as_of);
        end.duration_since(self.started_at)
    }

    /// The class at `as_of`: the stored class when closed; for an open outage
    /// [`OutageClass::Sustained`] once it has lasted longer than `momentary_limit`, else
    /// `None` (it may still end as momentary).
    pub fn class_at(&self, as_of: Timestamp, momentary_limit: SignedDuration) -> Option<OutageClass> {
        match self.state {
            OutageState::Closed => self.class,
            OutageState::Open => (self.duration_at(as_of) > momentary_limit).then_some(OutageClass::Sustained),
        }
    }

    /// Customer minutes at `as_of`: the stored value when closed; for an open outage each
    /// customer counts until its restoration, or until `as_of` when not yet restored.
    pub fn customer_minutes_at(&self, as_of: Timestamp) -> f64 {
        if let Some(m) = self.customer_minutes {
            return m;
        }
        let ms: i64 = self
            .meters
            .iter()
            .map(|m| {
                let end = m.restored_at.unwrap_or(as_of);
                (end.as_millisecond() - self.started_at.as_millisecond()).max(0)
            })
            .sum();
        ms as f64 / 60_000.0
    }
}
