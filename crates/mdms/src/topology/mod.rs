//! The network topology the MDMS correlates and balances meters against.
//!
//! Electricity: feeders (medium-voltage circuits) → distribution transformers → service
//! points, each with one meter. A transformer may also have a *check meter* (a meter on its
//! secondary measuring everything it delivers), used for energy balance; it is not a
//! customer. Water: district metered areas (DMA) with *inlet* meters (flow into the area),
//! optional *outlet* meters (flow out to a neighbouring area) and *customer* meters.
//!
//! Customers: each customer meter (service point) counts as one customer served, for the
//! IEEE 1366 indices (`N_T`, customers interrupted); check meters count as none.
//!
//! [`Topology`] is plain data, built from code or from CSV ([`csv`]), persisted by a
//! [`TopologyStore`] (implemented by [`SqliteStore`](crate::SqliteStore)).

pub mod csv;
mod ids;

use std::collections::{BTreeMap, BTreeSet};

use model::MeterId;
use serde::{Deserialize, Serialize};

pub use ids::{DmaId, FeederId, TransformerId};

use crate::StoreError;

/// What a meter is on its transformer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceRole {
    /// A customer's meter (a service point): one customer served.
    Customer,
    /// The transformer's check meter (energy balance); not a customer.
    Check,
}

impl ServiceRole {
    /// The role's name in CSV and in the database: "customer" or "check".
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceRole::Customer => "customer",
            ServiceRole::Check => "check",
        }
    }

    /// Parses "customer" or "check" (ASCII case-insensitive, surrounding blanks ignored);
    /// an empty text is a customer.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "customer" => Some(ServiceRole::Customer),
            "check" => Some(ServiceRole::Check),
            _ => None,
        }
    }
}

/// What a meter is in a district metered area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DmaRole {
    /// Measures flow into the area.
    Inlet,
    /// Measures flow out of the area (into a neighbouring one).
    Outlet,
    /// A customer's meter inside the area.
    Customer,
}

impl DmaRole {
    /// The role's name in CSV and in the database: "inlet", "outlet" or "customer".
    pub fn as_str(self) -> &'static str {
        match self {
            DmaRole::Inlet => "inlet",
            DmaRole::Outlet => "outlet",
            DmaRole::Customer => "customer",
        }
    }

    /// Parses "inlet", "outlet" or "customer" (ASCII case-insensitive, blanks ignored); an
    /// empty text is a customer.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "customer" => Some(DmaRole::Customer),
            "inlet" => Some(DmaRole::Inlet),
            "outlet" => Some(DmaRole::Outlet),
            _ => None,
        }
    }
}

/// A distribution transformer: its feeder, customer meters and optional check meter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Transformer {
    /// The feeder that supplies it.
    pub feeder: FeederId,
    /// Its customer meters (service points).
    pub customers: BTreeSet<MeterId>,
    /// Its check meter, if any.
    pub check_meter: Option<MeterId>,
}

/// A district metered area and its meters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Dma {
    /// Meters of flow into the area.
    pub inlets: BTreeSet<MeterId>,
    /// Meters of flow out of the area.
    pub outlets: BTreeSet<MeterId>,
    /// Customer meters inside the area.
    pub customers: BTreeSet<MeterId>,
}

impl Dma {
    fn remove(&mut self, meter: &MeterId) {
        self.inlets.remove(meter);
        self.outlets.remove(meter);
        self.customers.remove(meter);
    }
}

/// Why a topology change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// An identifier (feeder, transformer, DMA or meter) is empty.
    #[error("empty {0} identifier")]
    EmptyId(&'static str),
    /// The transformer is not in the topology.
    #[error("unknown transformer {0}")]
    UnknownTransformer(TransformerId),
    /// The DMA is not in the topology.
    #[error("unknown district metered area {0}")]
    UnknownDma(DmaId),
    /// The transformer is already on another feeder.
    #[error("transformer {transformer} is on feeder {existing}, not {requested}")]
    FeederConflict {
        /// The transformer.
        transformer: TransformerId,
        /// Its feeder in the topology.
        existing: FeederId,
        /// The feeder the change names.
        requested: FeederId,
    },
    /// The transformer already has another check meter.
    #[error("transformer {transformer} already has check meter {existing}")]
    CheckMeterConflict {
        /// The transformer.
        transformer: TransformerId,
        /// Its current check meter.
        existing: MeterId,
    },
}

/// The whole network model: feeders, transformers, service points and DMAs.
///
/// Invariants (kept by the methods): every transformer's feeder is a known feeder; a meter
/// is on at most one transformer, either as a customer or as its check meter; in each DMA
/// a meter has one role (a meter may be the outlet of one DMA and the inlet of another).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Topology {
    feeders: BTreeMap<FeederId, BTreeSet<TransformerId>>,
    transformers: BTreeMap<TransformerId, Transformer>,
    /// Each meter on a transformer: its transformer and role.
    service_points: BTreeMap<MeterId, (TransformerId, ServiceRole)>,
    dmas: BTreeMap<DmaId, Dma>,
}

fn non_empty(id: &str, what: &'static str) -> Result<(), TopologyError> {
    if id.trim().is_empty() { Err(TopologyError::EmptyId(what)) } else { Ok(()) }
}

impl Topology {
    /// An empty topology.
    pub fn new() -> Self {
        Topology::default()
    }

    /// Adds a feeder (no-op if known).
    ///
    /// Errors: [`TopologyError::EmptyId`].
    pub fn add_feeder(&mut self, feeder: FeederId) -> Result<(), TopologyError> {
        non_empty(&feeder.0, "feeder")?;
        self.feeders.entry(feeder).or_default();
        Ok(())
    }

    /// Adds a transformer on `feeder` (adding the feeder if needed); no-op if the
    /// transformer is already on that feeder.
    ///
    /// Errors: [`TopologyError::EmptyId`]; [`TopologyError::FeederConflict`] when it is on
    /// another feeder (use [`move_transformer`](Self::move_transformer)).
    pub fn add_transformer(&mut self, transformer: TransformerId, feeder: FeederId) -> Result<(), TopologyError> {
        non_empty(&transformer.0, "transformer")?;
        non_empty(&feeder.0, "feeder")?;
        if let Some(existing) = self.transformers.get(&transformer) {
            if existing.feeder != feeder {
                return Err(TopologyError::FeederConflict {
                    transformer,
                    existing: existing.feeder.clone(),
                    requested: feeder,
                });
            }
            return Ok(());
        }
        self.feeders.entry(feeder.clone()).or_default().insert(transformer.clone());
        self.transformers.insert(transformer, Transformer { feeder, ..Transformer::default() });
        Ok(())
    }

    /// Moves a known transformer (with its meters) to another feeder (switching), adding
    /// the feeder if needed.
    ///
    /// Errors: [`TopologyError::UnknownTransformer`], [`TopologyError::EmptyId`].
    pub fn move_transformer(&mut self, transformer: &TransformerId, feeder: FeederId) -> Result<(), TopologyError> {
        non_empty(&feeder.0, "feeder")?;
        let t = self
            .transformers
            .get_mut(transformer)
            .ok_or_else(|| TopologyError::UnknownTransformer(transformer.clone()))?;
        if let Some(set) = self.feeders.get_mut(&t.feeder) {
            set.remove(transformer);
        }
        t.feeder = feeder.clone();
        self.feeders.entry(feeder).or_default().insert(transformer.clone());
        Ok(())
    }

    /// Connects `meter` to a known transformer with `role`, moving it from any transformer
    /// it was on before.
    ///
    /// Errors: [`TopologyError::EmptyId`], [`TopologyError::UnknownTransformer`];
    /// [`TopologyError::CheckMeterConflict`] when the transformer already has another check
    /// meter (disconnect it first).
    pub fn connect_meter(
        &mut self,
        meter: MeterId,
        transformer: &TransformerId,
        role: ServiceRole,
    ) -> Result<(), TopologyError> {
        non_empty(&meter.0, "meter")?;
        let t =
            self.transformers.get(transformer).ok_or_else(|| TopologyError::UnknownTransformer(transformer.clone()))?;
        if role == ServiceRole::Check
            && let Some(existing) = &t.check_meter
            && *existing != meter
        {
            return Err(TopologyError::CheckMeterConflict {
                transformer: transformer.clone(),
                existing: existing.clone(),
            });
        }
        self.disconnect_meter(&meter);
        if let Some(t) = self.transformers.get_mut(transformer) {
            match role {
                ServiceRole::Customer => {
                    t.customers.insert(meter.clone());
                }
                ServiceRole::Check => t.check_meter = Some(meter.clone()),
            }
        }
        self.service_points.insert(meter, (transformer.clone(), role));
        Ok(())
    }

    /// Removes `meter` from its transformer; returns whether it was on one.
    pub fn disconnect_meter(&mut self, meter: &MeterId) -> bool {
        let Some((transformer, _)) = self.service_points.remove(meter) else {
            return false;
        };
        if let Some(t) = self.transformers.get_mut(&transformer) {
            t.customers.remove(meter);
            if t.check_meter.as_ref() == Some(meter) {
                t.check_meter = None;
            }
        }
        true
    }

    /// Adds a DMA (no-op if known).
    ///
    /// Errors: [`TopologyError::EmptyId`].
    pub fn add_dma(&mut self, dma: DmaId) -> Result<(), TopologyError> {
        non_empty(&dma.0, "DMA")?;
        self.dmas.entry(dma).or_default();
        Ok(())
    }

    /// Puts `meter` into a known DMA with `role`, replacing any other role it had in that
    /// DMA.
    ///
    /// Errors: [`TopologyError::EmptyId`], [`TopologyError::UnknownDma`].
    pub fn add_dma_meter(&mut self, dma: &DmaId, meter: MeterId, role: DmaRole) -> Result<(), TopologyError> {
        non_empty(&meter.0, "meter")?;
        let d = self.dmas.get_mut(dma).ok_or_else(|| TopologyError::UnknownDma(dma.clone()))?;
        d.remove(&meter);
        match role {
            DmaRole::Inlet => d.inlets.insert(meter),
            DmaRole::Outlet => d.outlets.insert(meter),
            DmaRole::Customer => d.customers.insert(meter),
        };
        Ok(())
    }

    /// Removes `meter` from a DMA; returns whether it was in it.
    pub fn remove_dma_meter(&mut self, dma: &DmaId, meter: &MeterId) -> bool {
        match self.dmas.get_mut(dma) {
            Some(d) => {
                let was = d.inlets.contains(meter) || d.outlets.contains(meter) || d.customers.contains(meter);
                d.remove(meter);
                was
            }
            None => false,
        }
    }

    // ---- queries ------------------------------------------------------------------------

    /// Feeders, in id order.
    pub fn feeders(&self) -> impl Iterator<Item = &FeederId> {
        self.feeders.keys()
    }

    /// Transformers with their data, in id order.
    pub fn transformers(&self) -> impl Iterator<Item = (&TransformerId, &Transformer)> {
        self.transformers.iter()
    }

    /// One transformer.
    pub fn transformer(&self, transformer: &TransformerId) -> Option<&Transformer> {
        self.transformers.get(transformer)
    }

    /// The transformers of a feeder, in id order (empty for an unknown feeder).
    pub fn transformers_of_feeder(&self, feeder: &FeederId) -> Vec<&TransformerId> {
        self.feeders.get(feeder).map(|s| s.iter().collect()).unwrap_or_default()
    }

    /// The feeder of a transformer.
    pub fn feeder_of_transformer(&self, transformer: &TransformerId) -> Option<&FeederId> {
        self.transformers.get(transformer).map(|t| &t.feeder)
    }

    /// The transformer `meter` is on, and its role there.
    pub fn transformer_of(&self, meter: &MeterId) -> Option<(&TransformerId, ServiceRole)> {
        self.service_points.get(meter).map(|(t, r)| (t, *r))
    }

    /// The feeder `meter` is on (through its transformer).
    pub fn feeder_of(&self, meter: &MeterId) -> Option<&FeederId> {
        self.transformer_of(meter).and_then(|(t, _)| self.feeder_of_transformer(t))
    }

    /// The customer meters of a transformer, in id order (empty for an unknown one): the
    /// meters whose sum is balanced against its check meter.
    pub fn meters_of_transformer(&self, transformer: &TransformerId) -> Vec<MeterId> {
        self.transformers.get(transformer).map(|t| t.customers.iter().cloned().collect()).unwrap_or_default()
    }

    /// The check meter of a transformer, if it has one.
    pub fn check_meter(&self, transformer: &TransformerId) -> Option<&MeterId> {
        self.transformers.get(transformer).and_then(|t| t.check_meter.as_ref())
    }

    /// The customer meters of every transformer of a feeder, in id order.
    pub fn meters_of_feeder(&self, feeder: &FeederId) -> Vec<MeterId> {
        let mut out: Vec<MeterId> = self
            .transformers_of_feeder(feeder)
            .into_iter()
            .filter_map(|t| self.transformers.get(t))
            .flat_map(|t| t.customers.iter().cloned())
            .collect();
        out.sort();
        out
    }

    /// Number of customers (customer meters) on a transformer.
    pub fn customers_of_transformer(&self, transformer: &TransformerId) -> u64 {
        self.transformers.get(transformer).map_or(0, |t| t.customers.len() as u64)
    }

    /// Number of customers (customer meters) on a feeder.
    pub fn customers_of_feeder(&self, feeder: &FeederId) -> u64 {
        self.transformers_of_feeder(feeder).into_iter().map(|t| self.customers_of_transformer(t)).sum()
    }

    /// Total customers served: every customer meter on a transformer (IEEE 1366 `N_T` for
    /// the whole system).
    pub fn total_customers(&self) -> u64 {
        self.transformers.values().map(|t| t.customers.len() as u64).sum()
    }

    /// DMAs with their meters, in id order.
    pub fn dmas(&self) -> impl Iterator<Item = (&DmaId, &Dma)> {
        self.dmas.iter()
    }

    /// One DMA.
    pub fn dma(&self, dma: &DmaId) -> Option<&Dma> {
        self.dmas.get(dma)
    }

    /// The inlet meters of a DMA, in id order (empty for an unknown one).
    pub fn dma_inlet_meters(&self, dma: &DmaId) -> Vec<MeterId> {
        self.dmas.get(dma).map(|d| d.inlets.iter().cloned().collect()).unwrap_or_default()
    }

    /// The outlet meters of a DMA, in id order.
    pub fn dma_outlet_meters(&self, dma: &DmaId) -> Vec<MeterId> {
        self.dmas.get(dma).map(|d| d.outlets.iter().cloned().collect()).unwrap_or_default()
    }

    /// The customer meters of a DMA, in id order.
    pub fn dma_customer_meters(&self, dma: &DmaId) -> Vec<MeterId> {
        self.dmas.get(dma).map(|d| d.customers.iter().cloned().collect()).unwrap_or_default()
    }

    /// The DMAs `meter` belongs to, with its role in each.
    pub fn dmas_of(&self, meter: &MeterId) -> Vec<(&DmaId, DmaRole)> {
        self.dmas
            .iter()
            .filter_map(|(id, d)| {
                if d.inlets.contains(meter) {
                    Some((id, DmaRole::Inlet))
                } else if d.outlets.contains(meter) {
                    Some((id, DmaRole::Outlet))
                } else if d.customers.contains(meter) {
                    Some((id, DmaRole::Customer))
                } else {
                    None
                }
            })
            .collect()
    }

    /// Whether the topology holds nothing.
    pub fn is_empty(&self) -> bool {
        self.feeders.is_empty() && self.dmas.is_empty()
    }
}

/// Persistence of the [`Topology`].
pub trait TopologyStore {
    /// Replaces the stored topology with `topology`, in one transaction.
    ///
    /// Errors: [`StoreError::Sqlite`] (the stored topology is unchanged).
    fn save_topology(&mut self, topology: &Topology) -> Result<(), StoreError>;

    /// The stored topology (empty when none was saved).
    ///
    /// Errors: [`StoreError::Sqlite`]; [`StoreError::Corrupt`] when stored rows break the
    /// topology's invariants (edited by hand).
    fn load_topology(&self) -> Result<Topology, StoreError>;
}
