//! Billing determinants: energy per time-of-use (TOU) period, maximum demand, reactive
//! energy, power factor and bill readiness, per meter and billing period.
//!
//! - [`tou`]: TOU schedules (seasons, weekday/weekend/holiday day types, periods by local
//!   wall time in an IANA time zone), loaded from TOML or JSON through serde.
//! - [`period`]: billing periods as local days, and their DST-aware UTC bounds.
//! - [`series`]: cumulative interval values aligned to the period's interval grid.
//! - [`demand`]: block and rolling maximum demand.
//! - [`determinants`]: the [`BillingDeterminants`] and their pure computation from
//!   interval series ([`determinants_from_series`]).
//! - [`readiness`]: whether a period may be billed (every value present and valid,
//!   estimated or edited), with the problem intervals when not.
//! - [`compute_billing_determinants`]: the same, read from a
//!   [`MeterDataStore`](crate::MeterDataStore).
//!
//! Units: energy in kWh / kvarh, demand in kW, instants in UTC; local time appears only in
//! the TOU schedule and the billing period's days.

pub mod demand;
pub mod determinants;
mod error;
mod from_store;
pub mod period;
pub mod readiness;
pub mod series;
pub mod tou;

pub use demand::{DemandPeak, DemandSettings};
pub use determinants::{
    ActiveEnergy, BillingDeterminants, ReactiveEnergy, TouActiveEnergy, TouReactiveEnergy, determinants_from_series,
};
pub use error::BillingError;
pub use from_store::{BILLING_INTERVAL_S, compute_billing_determinants};
pub use period::BillingPeriod;
pub use readiness::{ChannelReadiness, IntervalProblem, ProblemKind, Readiness, is_billable, is_edited, is_estimated};
pub use series::{ChannelSeries, IntervalValue};
pub use tou::{DayType, MonthDay, Season, TimeOfDay, TouRule, TouSchedule, TouScheduleSpec};
