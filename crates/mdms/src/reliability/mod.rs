//! Distribution reliability indices per IEEE 1366-2012 ("IEEE Guide for Electric Power
//! Distribution Reliability Indices"), computed from interruption events.
//!
//! - [`reliability_indices`]: SAIFI, SAIDI, CAIDI, CAIFI, ASAI (sustained interruptions,
//!   longer than 5 min), MAIFI and MAIFIe (momentary ones) over a period and a number of
//!   customers served (clause 3).
//! - [`major_event`]: the 2.5 beta method (clause 4.5): daily SAIDI, the major event day
//!   threshold `T_MED` from a history of daily SAIDI, the major event days, and the events
//!   that remain once they are excluded.
//!
//! Events come from closed [`Outage`]s ([`InterruptionEvent::from_outage`]) or from any
//! other source ([`InterruptionEvent::uniform`]). All functions are pure.

pub mod major_event;

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use model::MeterId;
use serde::Serialize;

use crate::outage::{Outage, OutageState};

/// IEEE 1366-2012: an interruption is sustained when it lasts more than 5 min.
pub const MOMENTARY_LIMIT: SignedDuration = SignedDuration::from_mins(5);

/// Why indices cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReliabilityError {
    /// The total number of customers served (`N_T`) is zero.
    #[error("the number of customers served is zero")]
    NoCustomers,
    /// The period is empty or reversed.
    #[error("the period [{from}, {to}) is empty")]
    EmptyPeriod {
        /// Start of the period, UTC.
        from: Timestamp,
        /// End of the period, UTC.
        to: Timestamp,
    },
    /// An event has a negative duration or negative / non-finite customer minutes.
    #[error("interruption starting at {0} has a negative duration or invalid customer minutes")]
    InvalidEvent(Timestamp),
}

/// One interruption event: an outage of some customers, as IEEE 1366 counts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterruptionEvent {
    /// When it began, UTC.
    pub start: Timestamp,
    /// Its duration (start to the restoration of the last customer): classifies it as
    /// momentary (≤ 5 min) or sustained.
    pub duration: SignedDuration,
    /// Customers interrupted, `N_i`.
    pub customers_interrupted: u64,
    /// Customer minutes of interruption, `Σ r_i·N_i` (each customer's own restoration
    /// time when restoration was stepwise).
    pub customer_minutes: f64,
    /// The interrupted customers (meter ids), when known; needed for MAIFIe and CAIFI.
    /// Either empty or of length `customers_interrupted`.
    pub customers: Vec<MeterId>,
}

impl InterruptionEvent {
    /// An event where all `customers_interrupted` customers were restored together after
    /// `duration`: customer minutes = minutes × customers. No customer ids.
    pub fn uniform(start: Timestamp, duration: SignedDuration, customers_interrupted: u64) -> Self {
        InterruptionEvent {
            start,
            duration,
            customers_interrupted,
            customer_minutes: duration.as_secs_f64() / 60.0 * customers_interrupted as f64,
            customers: Vec::new(),
        }
    }

    /// The event of a closed outage (with its customer ids); `None` for an open one.
    pub fn from_outage(outage: &Outage) -> Option<Self> {
        if outage.state != OutageState::Closed {
            return None;
        }
        let end = outage.ended_at?;
        Some(InterruptionEvent {
            start: outage.started_at,
            duration: end.duration_since(outage.started_at),
            customers_interrupted: outage.customers_interrupted,
            customer_minutes: outage.customer_minutes?,
            customers: outage.meters.iter().map(|m| m.meter.clone()).collect(),
        })
    }

    /// Whether it is momentary under `momentary_limit` (duration ≤ limit).
    pub fn is_momentary(&self, momentary_limit: SignedDuration) -> bool {
        self.duration <= momentary_limit
    }

    fn has_ids(&self) -> bool {
        self.customers.len() as u64 == self.customers_interrupted
    }
}

/// The IEEE 1366-2012 indices of one period (clause 3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityIndices {
    /// Total customers served, `N_T`.
    pub customers_served: u64,
    /// Sustained interruption events in the period.
    pub sustained_events: u64,
    /// Momentary interruption events (interruptions ≤ 5 min) in the period.
    pub momentary_events: u64,
    /// Customers interrupted by sustained interruptions, `Σ N_i`.
    pub customer_interruptions: u64,
    /// Customer minutes of sustained interruption, `Σ r_i·N_i`.
    pub customer_minutes: f64,
    /// Customer momentary interruptions, `Σ IM_i·N_mi`.
    pub customer_momentary_interruptions: u64,
    /// SAIFI = `Σ N_i / N_T` (interruptions per customer).
    pub saifi: f64,
    /// SAIDI = `Σ r_i·N_i / N_T` (minutes per customer).
    pub saidi_minutes: f64,
    /// CAIDI = SAIDI / SAIFI (minutes per interruption); `None` without sustained
    /// interruptions.
    pub caidi_minutes: Option<f64>,
    /// CAIFI = `Σ N_i / CN`, CN = distinct customers with at least one sustained
    /// interruption; `None` when customer ids are missing or nobody was interrupted.
    pub caifi: Option<f64>,
    /// ASAI = `1 − Σ r_i·N_i / (N_T · period minutes)`.
    pub asai: f64,
    /// MAIFI = `Σ IM_i·N_mi / N_T`.
    pub maifi: f64,
    /// MAIFIe = `Σ IM_E·N_mi / N_T`, counting momentary interruption *events*: per
    /// customer, the momentary interruptions starting within 5 min (the momentary limit)
    /// of the first count once, and not at all when a sustained interruption of that
    /// customer starts within that time (the operations preceding a lockout). `None` when
    /// customer ids are missing.
    pub maifi_e: Option<f64>,
}

/// Computes the IEEE 1366-2012 indices for the events starting in `[from, to)` (UTC), with
/// `customers_served` = `N_T` and sustained = longer than `momentary_limit` (use
/// [`MOMENTARY_LIMIT`]).
///
/// Errors: [`ReliabilityError::NoCustomers`], [`ReliabilityError::EmptyPeriod`],
/// [`ReliabilityError::InvalidEvent`].
pub fn reliability_indices(
    events: &[InterruptionEvent],
    customers_served: u64,
    from: Timestamp,
    to: Timestamp,
    momentary_limit: SignedDuration,
) -> Result<ReliabilityIndices, ReliabilityError> {
    if customers_served == 0 {
        return Err(ReliabilityError::NoCustomers);
    }
    if to <= from {
        return Err(ReliabilityError::EmptyPeriod { from, to });
    }
    let in_period: Vec<&InterruptionEvent> = events.iter().filter(|e| e.start >= from && e.start < to).collect();
    for e in &in_period {
        if e.duration.is_negative() || !e.customer_minutes.is_finite() || e.customer_minutes < 0.0 {
            return Err(ReliabilityError::InvalidEvent(e.start));
        }
    }
    let (momentary, sustained): (Vec<&InterruptionEvent>, Vec<&InterruptionEvent>) =
        in_period.iter().copied().partition(|e| e.is_momentary(momentary_limit));
    let n_t = customers_served as f64;
    let customer_interruptions: u64 = sustained.iter().map(|e| e.customers_interrupted).sum();
    let customer_minutes: f64 = sustained.iter().map(|e| e.customer_minutes).sum();
    let customer_momentary_interruptions: u64 = momentary.iter().map(|e| e.customers_interrupted).sum();
    let saifi = customer_interruptions as f64 / n_t;
    let saidi = customer_minutes / n_t;
    let caidi = (customer_interruptions > 0).then(|| customer_minutes / customer_interruptions as f64);
    let caifi = if sustained.iter().all(|e| e.has_ids()) && customer_interruptions > 0 {
        let distinct: BTreeSet<&MeterId> = sustained.iter().flat_map(|e| e.customers.iter()).collect();
        Some(customer_interruptions as f64 / distinct.len() as f64)
    } else {
        None
    };
    let period_minutes = to.duration_since(from).as_secs_f64() / 60.0;
    let asai = 1.0 - customer_minutes / (n_t * period_minutes);
    let maifi = customer_momentary_interruptions as f64 / n_t;
    let maifi_e = if in_period.iter().all(|e| e.has_ids()) {
        Some(momentary_events_per_customer(&in_period, momentary_limit) as f64 / n_t)
    } else {
        None
    };
    Ok(ReliabilityIndices {
        customers_served,
        sustained_events: sustained.len() as u64,
        momentary_events: momentary.len() as u64,
        customer_interruptions,
        customer_minutes,
        customer_momentary_interruptions,
        saifi,
        saidi_minutes: saidi,
        caidi_minutes: caidi,
        caifi,
        asai,
        maifi,
        maifi_e,
    })
}

/// `Σ IM_E·N_mi`: momentary interruption events summed over customers (see
/// [`ReliabilityIndices::maifi_e`]).
fn momentary_events_per_customer(events: &[&InterruptionEvent], limit: SignedDuration) -> u64 {
    // Per customer: (start, momentary?) of each interruption, in time order.
    let mut per_customer: BTreeMap<&MeterId, Vec<(Timestamp, bool)>> = BTreeMap::new();
    for e in events {
        let momentary = e.is_momentary(limit);
        for c in &e.customers {
            per_customer.entry(c).or_default().push((e.start, momentary));
        }
    }
    let mut total = 0u64;
    for list in per_customer.values_mut() {
        list.sort();
        let mut i = 0;
        while let Some(&(start, momentary)) = list.get(i) {
            if !momentary {
                i += 1;
                continue;
            }
            let window_end = start.saturating_add(limit).unwrap_or(start);
            let mut lockout = false;
            let mut j = i;
            while let Some(&(t, m)) = list.get(j) {
                if t > window_end {
                    break;
                }
                lockout |= !m;
                j += 1;
            }
            if !lockout {
                total += 1;
            }
            i = j.max(i + 1);
        }
    }
    total
}
