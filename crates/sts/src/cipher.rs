//! The token encryption algorithms and a decoder key bound to one of them
//! (IEC 62055-41:2018 §6.5, EncryptionAlgorithm).

use crate::keys::{DecoderKey, KeyError};
use crate::misty1::Misty1;
use crate::sta::StaTables;

/// The encryption algorithm code (EA) of a decoder key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EncryptionAlgorithm {
    /// EA07: the Standard Transfer Algorithm, 64-bit decoder key.
    Sta,
    /// EA11: MISTY1, 128-bit decoder key (edition 3).
    Misty1,
}

impl EncryptionAlgorithm {
    /// The two-digit EA code ("07" or "11"), as used in DKGA04.
    pub fn code(self) -> &'static str {
        match self {
            EncryptionAlgorithm::Sta => "07",
            EncryptionAlgorithm::Misty1 => "11",
        }
    }

    /// Decoder key length in bits (64 for STA, 128 for MISTY1).
    pub fn key_bits(self) -> u32 {
        match self {
            EncryptionAlgorithm::Sta => 64,
            EncryptionAlgorithm::Misty1 => 128,
        }
    }
}

/// A decoder key ready to encrypt and decrypt 64-bit token data blocks.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenCipher {
    /// EA07 (STA) with its tables and a 64-bit key.
    Sta {
        /// The substitution and permutation tables.
        tables: StaTables,
        /// The 64-bit decoder key, natural order as an integer.
        key: u64,
    },
    /// EA11 (MISTY1) with the schedule of a 128-bit key.
    Misty1(Misty1),
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenCipher({:?}, key redacted)", self.algorithm())
    }
}

impl TokenCipher {
    /// An EA07 cipher; the key must be 64 bits.
    pub fn sta(key: &DecoderKey, tables: StaTables) -> Result<TokenCipher, KeyError> {
        match key {
            DecoderKey::Bits64(k) => Ok(TokenCipher::Sta { tables, key: u64::from_be_bytes(*k) }),
            DecoderKey::Bits128(_) => Err(KeyError::Length { bits: 128, expected: "64 for EA07 (STA)" }),
        }
    }

    /// An EA11 cipher; the key must be 128 bits.
    pub fn misty1(key: &DecoderKey) -> Result<TokenCipher, KeyError> {
        match key {
            DecoderKey::Bits128(k) => Ok(TokenCipher::Misty1(Misty1::new(k))),
            DecoderKey::Bits64(_) => Err(KeyError::Length { bits: 64, expected: "128 for EA11 (MISTY1)" }),
        }
    }

    /// A cipher for `algorithm`; `sta_tables` is used (and required) for EA07 only.
    pub fn new(
        algorithm: EncryptionAlgorithm,
        key: &DecoderKey,
        sta_tables: Option<&StaTables>,
    ) -> Result<TokenCipher, KeyError> {
        match algorithm {
            EncryptionAlgorithm::Sta => match sta_tables {
                Some(t) => TokenCipher::sta(key, t.clone()),
                None => Err(KeyError::MissingStaTables),
            },
            EncryptionAlgorithm::Misty1 => TokenCipher::misty1(key),
        }
    }

    /// Which algorithm this is.
    pub fn algorithm(&self) -> EncryptionAlgorithm {
        match self {
            TokenCipher::Sta { .. } => EncryptionAlgorithm::Sta,
            TokenCipher::Misty1(_) => EncryptionAlgorithm::Misty1,
        }
    }

    /// Encrypts a 64-bit data block.
    pub fn encrypt_block(&self, block: u64) -> u64 {
        match self {
            TokenCipher::Sta { tables, key } => tables.encrypt(*key, block),
            TokenCipher::Misty1(m) => m.encrypt(block),
        }
    }

    /// Decrypts a 64-bit data block.
    pub fn decrypt_block(&self, block: u64) -> u64 {
        match self {
            TokenCipher::Sta { tables, key } => tables.decrypt(*key, block),
            TokenCipher::Misty1(m) => m.decrypt(block),
        }
    }
}
