//! The vending service: a payment for a meter becomes an STS credit token, recorded durably.
//!
//! [`VendingService::vend`] checks the request, and in one database transaction: returns the
//! original vend for a repeated request id (or refuses a conflicting reuse), finds the meter's
//! account and the tariff of its TI, converts the money into 0.1 kWh at the tariff's price,
//! allocates the meter's next TID, issues the class 0 token under the meter's DKGA04 decoder
//! key (EA11), and records who, when, amount, energy, token and TID.

use std::hash::{BuildHasher, Hash, Hasher};

use sts::{DecoderKey, VendingKey};

use crate::account::{AccountError, MeterAccount};
use crate::error::VendError;
use crate::issue::{issue_credit, next_tid};
use crate::record::{VendOutcome, VendRequest};
use crate::store::{NewVend, VendStore};

/// Vends tokens for the accounts of one vending key.
#[derive(Debug)]
pub struct VendingService {
    store: VendStore,
    vending_key: VendingKey,
}

/// The token's 4-bit random number (RND), which makes tokens of equal content differ. Drawn
/// from the standard library's per-process random hasher keys over the request; it needs to
/// be unpredictable, not secret.
fn random_nibble(request: &VendRequest) -> u8 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    request.request_id.hash(&mut h);
    request.requested_at.as_nanosecond().hash(&mut h);
    (h.finish() & 0x0F) as u8
}

impl VendingService {
    /// A service over `store` with a 160-bit DKGA04 vending key.
    ///
    /// # Errors
    /// [`AccountError::UnsupportedVendingKey`] for a 64-bit (DKGA02) key.
    pub fn new(store: VendStore, vending_key: VendingKey) -> Result<VendingService, AccountError> {
        match vending_key {
            VendingKey::Bits160(_) => Ok(VendingService { store, vending_key }),
            VendingKey::Des64(_) => Err(AccountError::UnsupportedVendingKey),
        }
    }

    /// The database.
    pub fn store(&self) -> &VendStore {
        &self.store
    }

    /// The database, for enrolment, tariffs and token events.
    pub fn store_mut(&mut self) -> &mut VendStore {
        &mut self.store
    }

    /// The decoder key of an account under this service's vending key (what the meter holds).
    ///
    /// # Errors
    /// [`AccountError`] for an EA07 account.
    pub fn decoder_key(&self, account: &MeterAccount) -> Result<DecoderKey, AccountError> {
        account.decoder_key(&self.vending_key)
    }

    /// Vends (see the module documentation). Idempotency rule: a request whose id was used
    /// before returns [`VendOutcome::Duplicate`] with the **original** record when meter,
    /// amount and currency are the same, and never issues a second token; with any of them
    /// different it is refused with [`VendError::RequestIdConflict`].
    ///
    /// # Errors
    /// [`VendError`]: empty request id or operator, conflicting request id, unknown meter, no
    /// tariff, currency mismatch, an amount that buys less than 0.1 kWh or more than a token
    /// carries, no TID, a key refusal, or a database error (the vend is then not recorded and
    /// no token is returned).
    pub fn vend(&mut self, request: &VendRequest) -> Result<VendOutcome, VendError> {
        if request.request_id.trim().is_empty() {
            return Err(VendError::EmptyRequestId);
        }
        if request.operator.trim().is_empty() {
            return Err(VendError::EmptyOperator);
        }
        let vending_key = &self.vending_key;
        self.store.vend_transaction(request, |account, tariff, last_tid| {
            if tariff.currency != request.currency {
                return Err(VendError::CurrencyMismatch { requested: request.currency, tariff: tariff.currency });
            }
            let energy_tenths_kwh = tariff.energy_tenths_kwh(request.amount_minor);
            let tid = next_tid(account.base_date, request.requested_at, last_tid)?;
            let decoder_key = account.decoder_key(vending_key)?;
            let issued = issue_credit(account, &decoder_key, energy_tenths_kwh, tid, random_nibble(request))?;
            Ok(NewVend { tariff: *tariff, energy_tenths_kwh, issued })
        })
    }
}
