//! Decoder key change: the new key and its attributes split into key change tokens, and put
//! back together on the meter side (IEC 62055-41:2018 §6.2 Set1st/2nd/3rd/4thSectionDecoderKey;
//! §6.5 key changes, key types, TID roll-over).
//!
//! A 64-bit key travels in two class 2 tokens: the 1st section carries the high-order 32 bits
//! (NKHO) with KENHO, KRN, RO and KT; the 2nd section the low-order 32 bits (NKLO) with KENLO
//! and TI. A 128-bit (MISTY1) key needs two more: the 3rd section (subclass 8) carries key bytes
//! 4..8 with the low-order 12 bits of the new SGC, the 4th section (subclass 9) key bytes 8..12
//! with the high-order 12 bits of the SGC; the 1st and 2nd sections then carry bytes 0..4 and
//! 12..16. All sections are encrypted under the *current* key.

use crate::keys::{DecoderKey, KeyExpiryNumber, KeyRevisionNumber, KeyType, SupplyGroupCode, TariffIndex};
use crate::token::Token;

/// A complete decoder key change.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyChange {
    /// The new decoder key (64 or 128 bits).
    pub new_key: DecoderKey,
    /// Key type of the new key.
    pub key_type: KeyType,
    /// Key revision number of the new key.
    pub key_revision: KeyRevisionNumber,
    /// Tariff index of the new key.
    pub tariff_index: TariffIndex,
    /// Key expiry number of the new key.
    pub key_expiry: KeyExpiryNumber,
    /// RO bit: a roll-over key change to a key of the next TID base date.
    pub rollover: bool,
    /// Supply group code of the new key; carried by sections 3 and 4, so only for 128-bit keys
    /// (for a 64-bit key change it is not sent, and [`KeyChangeSections::complete`] reports 0).
    pub supply_group_code: SupplyGroupCode,
}

fn word(bytes: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        w.copy_from_slice(src);
    }
    u32::from_be_bytes(w)
}

impl KeyChange {
    /// The key change tokens: `[1st, 2nd]` for a 64-bit key, `[1st, 2nd, 3rd, 4th]` for a
    /// 128-bit key.
    pub fn to_tokens(&self) -> Vec<Token> {
        let key = self.new_key.as_bytes();
        let (nkho, nklo) = match self.new_key {
            DecoderKey::Bits64(_) => (word(key, 0), word(key, 4)),
            DecoderKey::Bits128(_) => (word(key, 0), word(key, 12)),
        };
        let mut tokens = vec![
            Token::Set1stSectionDecoderKey {
                kenho: self.key_expiry.high(),
                krn: self.key_revision.value(),
                rollover: self.rollover,
                reserved: false,
                key_type: self.key_type,
                nkho,
            },
            Token::Set2ndSectionDecoderKey {
                kenlo: self.key_expiry.low(),
                tariff_index: self.tariff_index.value(),
                nklo,
            },
        ];
        if let DecoderKey::Bits128(_) = self.new_key {
            let sgc = self.supply_group_code.value();
            tokens.push(Token::Set3rdSectionDecoderKey { sgc_low: (sgc & 0xFFF) as u16, key_part: word(key, 4) });
            tokens.push(Token::Set4thSectionDecoderKey {
                sgc_high: ((sgc >> 12) & 0xFFF) as u16,
                key_part: word(key, 8),
            });
        }
        tokens
    }
}

/// Why a set of key change sections does not make a valid key change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChangeFault {
    /// The new key type may not be loaded by a key change (KT 0, the initialisation key).
    KeyType(KeyType),
    /// A key attribute is outside its range.
    Range {
        /// Attribute name.
        field: &'static str,
        /// Value found.
        value: u64,
    },
}

/// Meter-side store of received key change sections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyChangeSections {
    sections: [Option<Token>; 4],
}

impl KeyChangeSections {
    /// Stores a section token (subclasses 3, 4, 8, 9 of class 2; other tokens are ignored) and
    /// returns its section number 1..=4. A later section of the same number replaces the earlier.
    pub fn store(&mut self, token: Token) -> Option<u8> {
        let (slot, number) = match token {
            Token::Set1stSectionDecoderKey { .. } => (0, 1),
            Token::Set2ndSectionDecoderKey { .. } => (1, 2),
            Token::Set3rdSectionDecoderKey { .. } => (2, 3),
            Token::Set4thSectionDecoderKey { .. } => (3, 4),
            _ => return None,
        };
        if let Some(s) = self.sections.get_mut(slot) {
            *s = Some(token);
        }
        Some(number)
    }

    /// Forgets all stored sections.
    pub fn clear(&mut self) {
        self.sections = [None; 4];
    }

    /// The key change, once every section for a key of `key_bits` (64 or 128) is present;
    /// `Ok(None)` while sections are missing.
    pub fn complete(&self, key_bits: usize) -> Result<Option<KeyChange>, KeyChangeFault> {
        let [s1, s2, s3, s4] = &self.sections;
        let (
            Some(Token::Set1stSectionDecoderKey { kenho, krn, rollover, key_type, nkho, .. }),
            Some(Token::Set2ndSectionDecoderKey { kenlo, tariff_index, nklo }),
        ) = (s1, s2)
        else {
            return Ok(None);
        };
        let (new_key, sgc) = if key_bits == 128 {
            let (
                Some(Token::Set3rdSectionDecoderKey { sgc_low, key_part: k3 }),
                Some(Token::Set4thSectionDecoderKey { sgc_high, key_part: k4 }),
            ) = (s3, s4)
            else {
                return Ok(None);
            };
            let mut key = [0u8; 16];
            for (chunk, part) in key.chunks_exact_mut(4).zip([*nkho, *k3, *k4, *nklo]) {
                chunk.copy_from_slice(&part.to_be_bytes());
            }
            (DecoderKey::Bits128(key), Some((u32::from(*sgc_high) << 12) | u32::from(*sgc_low)))
        } else {
            let key = (u64::from(*nkho) << 32) | u64::from(*nklo);
            (DecoderKey::Bits64(key.to_be_bytes()), None)
        };
        if *key_type == KeyType::Initialisation {
            return Err(KeyChangeFault::KeyType(*key_type));
        }
        let key_revision =
            KeyRevisionNumber::new(*krn).map_err(|_| KeyChangeFault::Range { field: "KRN", value: (*krn).into() })?;
        let tariff_index = TariffIndex::new(*tariff_index)
            .map_err(|_| KeyChangeFault::Range { field: "TI", value: (*tariff_index).into() })?;
        let supply_group_code = match sgc {
            Some(v) => SupplyGroupCode::new(v).map_err(|_| KeyChangeFault::Range { field: "SGC", value: v.into() })?,
            None => SupplyGroupCode::ZERO,
        };
        Ok(Some(KeyChange {
            new_key,
            key_type: *key_type,
            key_revision,
            tariff_index,
            key_expiry: KeyExpiryNumber::from_nibbles(*kenho, *kenlo),
            rollover: *rollover,
            supply_group_code,
        }))
    }
}
