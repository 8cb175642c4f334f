//! # vending — prepayment vending for STS meters
//!
//! A point of sale takes money for a meter and hands the customer a 20-digit STS token
//! (IEC 62055-41) worth the energy the money buys at the meter's tariff. Every vend is
//! recorded durably (who, when, amount, energy, token, TID) before the token is returned, and
//! the caller's request id makes vending idempotent.
//!
//! | module | holds |
//! |---|---|
//! | [`money`] | exact decimal money: minor units, prices in micro-units per kWh, ISO 4217 codes |
//! | [`tariff`] | the price per kWh of a tariff index (TI) and money → 0.1 kWh |
//! | [`account`] | a meter's STS account (MeterPAN, key attributes) and its DKGA04 decoder key |
//! | [`issue`] | the TID and the class 0 credit token of one vend (pure) |
//! | [`record`] | vend requests, vend records, token delivery events |
//! | [`store`] | the SQLite database (WAL, `synchronous=FULL`, one transaction per vend) |
//! | [`service`] | [`VendingService::vend`]: the whole vend |
//!
//! Decisions:
//! * **Keys**: DKGA04 with a 160-bit vending key and EA11 (MISTY1) only; the STA (EA07)
//!   production tables are licensed and not in the project ([`account`]).
//! * **Money → energy** is rounded down to 0.1 kWh; the token's TransferAmount may round up
//!   (both are recorded) ([`tariff`]).
//! * **TID** = the vend's UTC minute under the key's base date, bumped past the meter's last
//!   TID so no two tokens of a meter share one ([`issue`]).
//! * **Duplicate request id**: same meter, amount and currency → the original vend is returned
//!   as [`VendOutcome::Duplicate`] and no new token is made (a point of sale retrying after a
//!   timeout reprints the same token); anything different → [`VendError::RequestIdConflict`].
//! * **Token events** (deliveries and the meter's answer) are kept in this database's
//!   `token_event` table until the MDMS has an end-device event store.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account;
mod error;
pub mod issue;
pub mod money;
pub mod record;
pub mod service;
pub mod store;
pub mod tariff;

pub use account::{AccountError, MeterAccount, TEST_VENDING_KEY_HEX, simulated_drn};
pub use error::{StoreError, VendError};
pub use money::{CurrencyCode, MoneyError, format_decimal, parse_decimal};
pub use record::{DeliveryMethod, NewTokenEvent, TokenEvent, VendOutcome, VendRecord, VendRequest};
pub use service::VendingService;
pub use store::VendStore;
pub use tariff::{Tariff, TariffError};
