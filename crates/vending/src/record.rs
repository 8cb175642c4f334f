//! What the vending point records: the vend request, the vend record (who, when, amount,
//! energy, token, TID) and token delivery events.

use jiff::Timestamp;
use sts::{BaseDate, TariffIndex, Tid, TokenNumber};

use crate::money::CurrencyCode;

/// A request to vend: the payment for one meter, with the caller's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendRequest {
    /// Idempotency key chosen by the point of sale (e.g. its transaction number). A request
    /// repeated with the same id returns the original vend instead of a second token.
    pub request_id: String,
    /// The meter's serial number.
    pub serial: String,
    /// The payment, minor units of `currency` (2000 = 20.00 GBP).
    pub amount_minor: u64,
    /// Currency of the payment; must be the tariff's.
    pub currency: CurrencyCode,
    /// Who vends (cashier, system user or API client).
    pub operator: String,
    /// When the vend is made (UTC); the token's TID is this instant's UTC minute.
    pub requested_at: Timestamp,
}

/// One recorded vend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendRecord {
    /// Row id (increasing in vend order).
    pub id: i64,
    /// The request's idempotency key (unique).
    pub request_id: String,
    /// The meter's serial number.
    pub serial: String,
    /// Who vended.
    pub operator: String,
    /// When (UTC, the request's time).
    pub vended_at: Timestamp,
    /// The payment, minor units.
    pub amount_minor: u64,
    /// Currency of the payment.
    pub currency: CurrencyCode,
    /// The tariff index the price was taken from.
    pub tariff_index: TariffIndex,
    /// The price applied, micro-units per kWh.
    pub price_micro_per_kwh: u64,
    /// Energy bought, 0.1 kWh (rounded down from the payment).
    pub energy_tenths_kwh: u64,
    /// Energy on the token, 0.1 kWh (the TransferAmount, ≥ `energy_tenths_kwh`).
    pub transfer_tenths_kwh: u64,
    /// The 20-digit token.
    pub token: TokenNumber,
    /// The token's TID.
    pub tid: Tid,
    /// The TID's base date.
    pub base_date: BaseDate,
}

/// What a vend request led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VendOutcome {
    /// A new token was issued and recorded.
    Issued(VendRecord),
    /// The request id was seen before with the same meter, amount and currency: the original
    /// vend is returned and **no new token is issued**.
    Duplicate(VendRecord),
}

impl VendOutcome {
    /// The vend record (new or original).
    pub fn record(&self) -> &VendRecord {
        match self {
            VendOutcome::Issued(r) | VendOutcome::Duplicate(r) => r,
        }
    }

    /// Whether this was a repeated request.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, VendOutcome::Duplicate(_))
    }
}

/// How a token reached the meter: the enumeration of the Token gateway's attribute 5
/// `token_delivery_method` (IEC 62056-6-2 §4.6.x, class_id 115).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryMethod {
    /// (0) via remote communications (the HES).
    Remote = 0,
    /// (1) via local communications (optical port, HAN).
    Local = 1,
    /// (2) via manual entry (keypad).
    Manual = 2,
}

impl DeliveryMethod {
    /// The method for an enumeration value 0..=2.
    pub fn from_u8(v: u8) -> Option<DeliveryMethod> {
        Some(match v {
            0 => DeliveryMethod::Remote,
            1 => DeliveryMethod::Local,
            2 => DeliveryMethod::Manual,
            _ => return None,
        })
    }
}

/// A token delivery to record: what the meter said about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTokenEvent {
    /// The meter's serial number.
    pub serial: String,
    /// The token as delivered (20 digits).
    pub token: String,
    /// When the result was received (UTC).
    pub recorded_at: Timestamp,
    /// How it was delivered.
    pub method: DeliveryMethod,
    /// The Token gateway's `token_status.status_code` (0..=8; 3 = token execution OK).
    pub status_code: u8,
    /// Whether the meter accepted and applied the token.
    pub accepted: bool,
    /// The meter's display indication (e.g. `ACCEPT`, `USED`, `REJECT`).
    pub display: String,
    /// The meter's `token_description` lines.
    pub description: Vec<String>,
}

/// A recorded token delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEvent {
    /// Row id.
    pub id: i64,
    /// The event as recorded.
    pub event: NewTokenEvent,
    /// The request id of the vend that issued this token, when it is one of ours.
    pub request_id: Option<String>,
}
