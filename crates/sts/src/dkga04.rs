//! DKGA04: decoder key generation algorithm 04, a key derivation function in the manner of
//! NIST SP 800-108 with HMAC-SHA-256 as PRF, from a 160-bit vending key
//! (IEC 62055-41:2018 §6.5, DKGA04; added in edition 3).
//!
//! The PRF input is built from length-prefixed ASCII fields (each field preceded by one byte
//! giving its length):
//!
//! ```text
//! 0x04 | LV("04") | LV(BaseDate code "93"/"14"/"35") | LV(EA code "07"/"11") | LV(TI, 2 digits)
//! 0x00
//! 0x04 | LV(SGC, 6 digits) | LV(KT, 1 digit) | LV(KRN, 1 digit) | LV(MeterPAN, 18 digits)
//! L    (decoder key length in bits, 32-bit big-endian: 64 for STA, 128 for MISTY1)
//! ```
//!
//! The decoder key is the first L bits of HMAC-SHA-256(VendingKey, input), in natural order.

use hmac::digest::array::Array;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::cipher::EncryptionAlgorithm;
use crate::dkga02::KeyAttributes;
use crate::keys::DecoderKey;
use crate::token_identifier::BaseDate;

/// Appends a length-prefixed field (fields are at most 18 bytes long).
fn push_lv(out: &mut Vec<u8>, field: &[u8]) {
    // Every field used here is shorter than 256 bytes.
    out.push(u8::try_from(field.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(field);
}

/// The PRF input of DKGA04 (exposed for inspection and tests).
pub fn dkga04_input(attributes: &KeyAttributes, base_date: BaseDate, algorithm: EncryptionAlgorithm) -> Vec<u8> {
    let mut input = Vec::with_capacity(64);
    input.push(0x04);
    push_lv(&mut input, b"04");
    push_lv(&mut input, base_date.code().as_bytes());
    push_lv(&mut input, algorithm.code().as_bytes());
    push_lv(&mut input, format!("{:02}", attributes.tariff_index.value()).as_bytes());
    input.push(0x00);
    input.push(0x04);
    push_lv(&mut input, format!("{:06}", attributes.supply_group_code.value()).as_bytes());
    push_lv(&mut input, format!("{}", attributes.key_type.bits()).as_bytes());
    push_lv(&mut input, format!("{}", attributes.key_revision.value()).as_bytes());
    push_lv(&mut input, attributes.pan.to_digits().as_bytes());
    let bits: u32 = algorithm.key_bits();
    input.extend_from_slice(&bits.to_be_bytes());
    input
}

/// Derives the decoder key with DKGA04: 64 bits for EA07 (STA), 128 bits for EA11 (MISTY1).
pub fn dkga04(
    vending_key: &[u8; 20],
    attributes: &KeyAttributes,
    base_date: BaseDate,
    algorithm: EncryptionAlgorithm,
) -> DecoderKey {
    let input = dkga04_input(attributes, base_date, algorithm);
    // An HMAC key shorter than the hash block (64 bytes) is zero-padded to the block size
    // (RFC 2104 §2), so the padded fixed-size key gives the same MAC without a fallible call.
    let mut padded = [0u8; 64];
    padded.iter_mut().zip(vending_key.iter()).for_each(|(p, k)| *p = *k);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&Array::from(padded));
    mac.update(&input);
    let digest = mac.finalize().into_bytes();
    let mut key64 = [0u8; 8];
    let mut key128 = [0u8; 16];
    match algorithm {
        EncryptionAlgorithm::Sta => {
            key64.iter_mut().zip(digest.iter()).for_each(|(k, d)| *k = *d);
            DecoderKey::Bits64(key64)
        }
        EncryptionAlgorithm::Misty1 => {
            key128.iter_mut().zip(digest.iter()).for_each(|(k, d)| *k = *d);
            DecoderKey::Bits128(key128)
        }
    }
}
