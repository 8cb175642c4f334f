//! Distribution reliability indices per IEEE 1366 (IEEE Guide for Electric Power
//! Distribution Reliability Indices), computed from customer interruptions. Pure functions.
//!
//! Each meter is one customer. An interruption is *sustained* when it lasts more than
//! 5 minutes and *momentary* otherwise (IEEE 1366-2012 §3.12 and §3.28). For a reporting
//! period, the interruptions that **begin** in `[from, to)` count, with their whole
//! duration (an interruption still open is counted up to `now`, at most `to`):
//!
//! - SAIFI = Σ Nᵢ / N_T (sustained customer interruptions per customer served)
//! - SAIDI = Σ rᵢ·Nᵢ / N_T (minutes of sustained interruption per customer served)
//! - CAIDI = SAIDI / SAIFI (minutes per sustained interruption)
//! - MAIFI = Σ IMᵢ·Nₘᵢ / N_T (momentary interruptions per customer served)
//!
//! Major event days are not excluded (no 2.5β segmentation): the indices are the
//! "all events" values.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

/// Longest interruption that is still momentary (IEEE 1366: 5 minutes).
pub const MOMENTARY_MAX: SignedDuration = SignedDuration::from_secs(300);

/// One customer's interruption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interruption {
    /// The meter (customer).
    pub meter: String,
    /// Loss of supply (power down / last gasp), UTC.
    pub started_at: Timestamp,
    /// Supply back, UTC; `None` while still out.
    pub restored_at: Option<Timestamp>,
}

impl Interruption {
    /// Its duration, counting an open interruption up to `now`.
    pub fn duration(&self, now: Timestamp) -> SignedDuration {
        self.restored_at.unwrap_or(now).duration_since(self.started_at).max(SignedDuration::ZERO)
    }

    /// True when it lasted (or has lasted so far) more than [`MOMENTARY_MAX`].
    pub fn is_sustained(&self, now: Timestamp) -> bool {
        self.duration(now) > MOMENTARY_MAX
    }
}

/// The indices of one reporting period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReliabilityIndices {
    /// Period start, UTC.
    pub from: Timestamp,
    /// Period end (exclusive), UTC.
    pub to: Timestamp,
    /// N_T: customers (meters) served.
    pub customers_served: u64,
    /// Σ Nᵢ: sustained customer interruptions.
    pub sustained_interruptions: u64,
    /// Σ IMᵢ·Nₘᵢ: momentary customer interruptions.
    pub momentary_interruptions: u64,
    /// Σ rᵢ·Nᵢ: customer minutes of sustained interruption.
    pub customer_minutes: f64,
    /// System average interruption frequency index, interruptions per customer.
    pub saifi: f64,
    /// System average interruption duration index, minutes per customer.
    pub saidi_minutes: f64,
    /// Customer average interruption duration index, minutes per interruption; `null`
    /// without sustained interruptions.
    pub caidi_minutes: Option<f64>,
    /// Momentary average interruption frequency index, per customer.
    pub maifi: f64,
}

/// Computes the indices of `[from, to)` from `interruptions` for `customers_served`
/// customers (see the module docs). With no customers every index is 0.
pub fn indices(
    interruptions: &[Interruption],
    customers_served: u64,
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> ReliabilityIndices {
    let until = now.min(to);
    let mut sustained = 0u64;
    let mut momentary = 0u64;
    let mut minutes = 0.0;
    for i in interruptions.iter().filter(|i| i.started_at >= from && i.started_at < to) {
        let d = i.duration(until.max(i.started_at));
        if d > MOMENTARY_MAX {
            sustained += 1;
            minutes += d.as_secs_f64() / 60.0;
        } else {
            momentary += 1;
        }
    }
    let per_customer = |x: f64| if customers_served == 0 { 0.0 } else { x / customers_served as f64 };
    let saifi = per_customer(sustained as f64);
    let saidi = per_customer(minutes);
    ReliabilityIndices {
        from,
        to,
        customers_served,
        sustained_interruptions: sustained,
        momentary_interruptions: momentary,
        customer_minutes: minutes,
        saifi,
        saidi_minutes: saidi,
        caidi_minutes: (sustained > 0).then(|| minutes / sustained as f64),
        maifi: per_customer(momentary as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn out(meter: &str, start: &str, end: Option<&str>) -> Interruption {
        Interruption { meter: meter.into(), started_at: t(start), restored_at: end.map(t) }
    }

    #[test]
    fn ieee_1366_example_by_hand() {
        // 10 customers. Sustained: A 60 min, B 60 min, C 30 min; momentary: D 2 min, E
        // exactly 5 min (still momentary); F started before the period (ignored).
        let list = [
            out("A", "2025-01-10T10:00:00Z", Some("2025-01-10T11:00:00Z")),
            out("B", "2025-01-10T10:00:00Z", Some("2025-01-10T11:00:00Z")),
            out("C", "2025-01-11T08:00:00Z", Some("2025-01-11T08:30:00Z")),
            out("D", "2025-01-12T08:00:00Z", Some("2025-01-12T08:02:00Z")),
            out("E", "2025-01-12T09:00:00Z", Some("2025-01-12T09:05:00Z")),
            out("F", "2024-12-31T23:00:00Z", Some("2025-01-01T01:00:00Z")),
        ];
        let r = indices(&list, 10, t("2025-01-01T00:00:00Z"), t("2025-02-01T00:00:00Z"), t("2025-03-01T00:00:00Z"));
        assert_eq!((r.sustained_interruptions, r.momentary_interruptions), (3, 2));
        assert_eq!(r.customer_minutes, 150.0);
        assert_eq!(r.saifi, 0.3);
        assert_eq!(r.saidi_minutes, 15.0);
        assert_eq!(r.caidi_minutes, Some(50.0));
        assert_eq!(r.maifi, 0.2);
    }

    #[test]
    fn open_interruptions_count_until_now_or_period_end() {
        let list = [out("A", "2025-01-31T23:00:00Z", None)];
        let (from, to) = (t("2025-01-01T00:00:00Z"), t("2025-02-01T00:00:00Z"));
        // Now is before the period end: 20 minutes so far.
        let r = indices(&list, 1, from, to, t("2025-01-31T23:20:00Z"));
        assert_eq!((r.sustained_interruptions, r.customer_minutes), (1, 20.0));
        // Now is after the period end: counted up to the end, 60 minutes.
        let r = indices(&list, 1, from, to, t("2025-02-05T00:00:00Z"));
        assert_eq!(r.customer_minutes, 60.0);
        let none = indices(&[], 0, from, to, to);
        assert_eq!((none.saifi, none.caidi_minutes), (0.0, None));
    }
}
