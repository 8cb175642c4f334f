//! # Revenue protection and water analytics
//!
//! Pure functions over interval series (no SQL), plus thin functions that read the series
//! from a [`MeterDataStore`](crate::MeterDataStore) ([`from_store`]). The network topology
//! is an input: callers name the meters of a transformer or a district metered area.
//!
//! Electricity (energy in Wh per interval, kWh per day and period):
//! - [`energy_balance`]: a transformer's check meter against the sum of its customer
//!   meters, over exactly the intervals where every meter has validated, estimated or
//!   edited data, with coverage, per interval, local day and period.
//! - [`transformer_flags`]: sustained loss above the technical-loss allowance, loss step
//!   changes, negative balances.
//! - [`consumption_drop_suspects`]: customers whose consumption dropped against their own
//!   history when the transformer's loss rose, with the tamper events around the drop.
//! - [`tamper_consumption_drops`]: each tamper event with the meter's consumption before and
//!   after it.
//! - [`analyze_losses`]: all of the above on one balance.
//!
//! Water (volumes in m³, flows in m³/h):
//! - [`minimum_night_flow`]: a DMA's minimum night flow between 02:00 and 04:00 local time
//!   (DST-aware), legitimate night use and night leakage.
//! - [`water_balance`]: system input volume, billed authorized consumption and non-revenue
//!   water in IWA water-balance terms, with real and apparent losses when a night-day factor
//!   is given.
//!
//! Every rule documents the practice it comes from. Instants are UTC; local time appears
//! only in the local days and night windows, in the IANA zone the caller gives.

mod amounts;
mod energy_balance;
mod error;
pub mod from_store;
mod loss_flags;
mod loss_rules;
mod night_flow;
mod period_grid;
mod suspects;
mod tamper;
mod water_balance;

pub use amounts::ChannelCounts;
pub use energy_balance::{
    BalanceAmounts, BalanceDay, BalanceInput, BalanceInterval, EnergyBalance, MeterBalance, MeterDay,
    MeterEnergySeries, MeterRole, energy_balance,
};
pub use error::AnalyticsError;
pub use from_store::{
    DmaRequest, TransformerRequest, dma_night_flow, dma_water_balance, transformer_energy_balance,
    transformer_loss_analysis,
};
pub use loss_flags::{TransformerFlag, transformer_flags};
pub use loss_rules::LossRules;
pub use night_flow::{
    MeterVolumeSeries, NightFlow, NightFlowInput, NightFlowReport, NightFlowSettings, minimum_night_flow,
};
pub use suspects::{
    LossAnalysis, MeterSuspect, TamperCorrelation, analyze_losses, consumption_drop_suspects, tamper_consumption_drops,
};
pub use tamper::{INTERVAL_STATUS_TAMPER, TamperEvent, is_tamper, tamper_events_from, tamper_events_from_quality};
pub use water_balance::{WaterBalance, WaterBalanceInput, WaterBalanceSettings, water_balance};
