//! IEC 62055-41 Standard Transfer Specification (STS): the 20-digit prepayment token.
//!
//! * [`token_number`]: the 66-bit token number, class-bit transposition, 20-digit form.
//! * [`token`]: token types and the 64-bit data block layouts of classes 0, 1 and 2;
//!   [`crc`]: the token CRC; [`transfer_amount`]: the 16-bit amount; [`token_identifier`]:
//!   TID and base dates (1993/2014/2035, roll-over).
//! * [`keys`], [`pan`]: keys, key attributes, MeterPAN; [`dkga02`](mod@dkga02), [`dkga04`](mod@dkga04): decoder key
//!   derivation.
//! * [`sta`] (EA07) and [`misty1`] (EA11) block ciphers; [`cipher`]: a decoder key bound to one.
//! * [`codec`]: encode/decode a [`Token`] to/from a [`TokenNumber`]; [`issuer`]: the vending
//!   side with its issue checks; [`meter_decoder`]: the meter side (TID memory, key changes,
//!   token results).
//!
//! Clause references are to IEC 62055-41:2018 (edition 3) by clause and data-element name;
//! the standard's text was not at hand when this crate was written, so the element names are
//! the reliable part of each reference.
//!
//! **STA tables.** EA07 needs substitution and permutation tables. This crate ships only the
//! sample tables of the standard ([`StaTables::iec_sample`]); the production tables are licensed
//! by the STS Association and must be supplied at run time ([`StaTables::parse`]).
//!
//! Not implemented: EA09 (DES token encryption, withdrawn in edition 3), DKGA01 and DKGA03, and
//! the class 0 currency subclasses are carried with the same layout as the unit subclasses (no
//! test vector covers them).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cipher;
pub mod codec;
pub mod crc;
pub mod dkga02;
pub mod dkga04;
pub mod issuer;
pub mod key_change;
pub mod keys;
pub mod meter_decoder;
pub mod misty1;
pub mod pan;
pub mod sta;
pub mod token;
pub mod token_identifier;
pub mod token_number;
pub mod transfer_amount;

pub use cipher::{EncryptionAlgorithm, TokenCipher};
pub use codec::{DecodeError, EncodeError, decode_token, decode_token_str, encode_token};
pub use dkga02::{KeyAttributes, dkga02};
pub use dkga04::dkga04;
pub use issuer::{IssueError, TokenIssuer};
pub use key_change::KeyChange;
pub use keys::{
    DecoderKey, KeyError, KeyExpiryNumber, KeyRevisionNumber, KeyType, SupplyGroupCode, TariffIndex, VendingKey,
};
pub use meter_decoder::{Accepted, MeterDecoder, MeterDecoderConfig, TokenRejection};
pub use pan::{MeterPan, PanError};
pub use sta::{StaTables, StaTablesError};
pub use token::{CreditKind, FieldRangeError, LayoutError, Token};
pub use token_identifier::{BaseDate, Tid, TidError};
pub use token_number::{TokenClass, TokenNumber, TokenNumberError};
pub use transfer_amount::{AmountError, TransferAmount};
