//! The vending side: issuing tokens for one meter key, with the checks a point of sale makes
//! before it issues (IEC 62055-41:2018 §6.1 APDU / POS application process, §6.5 key expiry and
//! key types).
//!
//! A [`TokenIssuer`] holds a decoder key (as a [`TokenCipher`]) and the key's attributes that
//! matter at issue time: key type (a default key, DDTK, receives no credit), key expiry number
//! (no token whose TID is past the KEN) and the TID base date of the key.

use jiff::civil::DateTime;
use thiserror::Error;

use crate::cipher::TokenCipher;
use crate::codec::{EncodeError, encode_token};
use crate::key_change::KeyChange;
use crate::keys::{KeyExpiryNumber, KeyType};
use crate::token::{CreditKind, Token};
use crate::token_identifier::{BaseDate, Tid, TidError};
use crate::token_number::TokenNumber;
use crate::transfer_amount::{AmountError, TransferAmount};

/// Why a token was not issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IssueError {
    /// The key has expired for this issue time: TID high-order byte > KEN.
    #[error("decoder key expired: TID index {expiry_index} > KEN {key_expiry}")]
    KeyExpired {
        /// The 8 high-order bits of the TID.
        expiry_index: u8,
        /// The key expiry number.
        key_expiry: u8,
    },
    /// Credit may not be issued to a meter holding a default key (DDTK, KT 1).
    #[error("the meter holds a default key (DDTK): no credit tokens")]
    DefaultKey,
    /// The issue time has no TID under the key's base date.
    #[error(transparent)]
    Tid(#[from] TidError),
    /// The amount cannot be carried.
    #[error(transparent)]
    Amount(#[from] AmountError),
    /// A token field is out of range.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Issues tokens under one decoder key.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    cipher: TokenCipher,
    key_type: KeyType,
    key_expiry: KeyExpiryNumber,
    base_date: BaseDate,
}

impl TokenIssuer {
    /// An issuer for a meter key: its cipher, key type, key expiry number and TID base date.
    pub fn new(cipher: TokenCipher, key_type: KeyType, key_expiry: KeyExpiryNumber, base_date: BaseDate) -> Self {
        TokenIssuer { cipher, key_type, key_expiry, base_date }
    }

    /// The TID of an issue time (civil time) under the key's base date.
    pub fn tid(&self, issued_at: DateTime) -> Result<Tid, IssueError> {
        Ok(Tid::from_datetime(self.base_date, issued_at)?)
    }

    /// Checks the key against a token and encodes it: refuses credit to a DDTK meter and any
    /// TID-bearing token past the key expiry.
    pub fn issue(&self, token: &Token) -> Result<TokenNumber, IssueError> {
        if let Some(tid) = token.tid() {
            if self.key_expiry.is_expired_for(tid) {
                return Err(IssueError::KeyExpired { expiry_index: tid.expiry_index(), key_expiry: self.key_expiry.0 });
            }
        }
        if matches!(token, Token::TransferCredit { .. }) && self.key_type == KeyType::Default {
            return Err(IssueError::DefaultKey);
        }
        Ok(encode_token(token, Some(&self.cipher))?)
    }

    /// Issues a credit token: `amount` in 0.1 units of the kind (rounded up to a representable
    /// TransferAmount), `rnd` the 4-bit random number.
    pub fn credit(
        &self,
        kind: CreditKind,
        issued_at: DateTime,
        amount: u64,
        rnd: u8,
    ) -> Result<(Token, TokenNumber), IssueError> {
        let token = Token::TransferCredit {
            kind,
            rnd,
            tid: self.tid(issued_at)?,
            amount: TransferAmount::from_value_rounded_up(amount)?,
        };
        let number = self.issue(&token)?;
        Ok((token, number))
    }

    /// The key change tokens for `change`, encrypted under the current key, in section order.
    pub fn key_change(&self, change: &KeyChange) -> Result<Vec<(Token, TokenNumber)>, IssueError> {
        change.to_tokens().into_iter().map(|t| Ok((t, encode_token(&t, Some(&self.cipher))?))).collect()
    }
}
