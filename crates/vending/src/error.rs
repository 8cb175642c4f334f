//! Why a vend or a store operation failed.

use sts::{IssueError, TariffIndex, TidError};
use thiserror::Error;

use crate::account::AccountError;
use crate::money::CurrencyCode;

/// Why a vend was refused or could not be recorded.
#[derive(Debug, Error)]
pub enum VendError {
    /// The request id is empty (it is the idempotency key of the vend).
    #[error("the request id must not be empty")]
    EmptyRequestId,
    /// The operator (who vends) is empty.
    #[error("the operator must not be empty")]
    EmptyOperator,
    /// The request id was used before for a different vend (another meter, amount or
    /// currency): refused, the original stands.
    #[error(
        "request id {request_id:?} was already used for a different vend ({serial}, {amount_minor} minor units {currency})"
    )]
    RequestIdConflict {
        /// The reused request id.
        request_id: String,
        /// The original vend's meter.
        serial: String,
        /// The original vend's amount, minor units.
        amount_minor: u64,
        /// The original vend's currency.
        currency: CurrencyCode,
    },
    /// No account for this serial number.
    #[error("meter {0} has no prepayment account")]
    UnknownMeter(String),
    /// No price for the meter's tariff index.
    #[error("no tariff for tariff index {:02}", .0.value())]
    NoTariff(TariffIndex),
    /// The payment's currency is not the tariff's.
    #[error("the meter's tariff is in {tariff}, the payment in {requested}")]
    CurrencyMismatch {
        /// Currency of the request.
        requested: CurrencyCode,
        /// Currency of the tariff.
        tariff: CurrencyCode,
    },
    /// The amount buys less than 0.1 kWh.
    #[error("the amount buys less than 0.1 kWh")]
    AmountTooSmall,
    /// The energy exceeds what one token can carry.
    #[error("{tenths_kwh} tenths of a kWh exceed the largest TransferAmount (1 820 162.4 kWh)")]
    AmountTooLarge {
        /// Energy asked for, 0.1 kWh.
        tenths_kwh: u64,
    },
    /// No TID can be given (before the base date, past roll-over, or TIDs exhausted).
    #[error(transparent)]
    Tid(#[from] TidError),
    /// The issuer refused the token (default key, expired key, field range).
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// The account's key cannot be derived.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The database failed or holds a value this version cannot read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the vending database failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("vending database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value is not valid (written by another tool or a newer version).
    #[error("vending database holds an invalid {column}: {value}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// The value found.
        value: String,
    },
    /// The database was written by a newer schema.
    #[error("vending database schema version {found} is newer than this program's {supported}")]
    SchemaVersion {
        /// Version in the file.
        found: i64,
        /// Version this program writes.
        supported: i64,
    },
}

impl From<rusqlite::Error> for VendError {
    fn from(e: rusqlite::Error) -> Self {
        VendError::Store(StoreError::Sqlite(e))
    }
}
