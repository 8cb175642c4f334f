//! A meter's prepayment account at the vending point: its STS identity (MeterPAN from the
//! decoder reference number) and the key attributes that, with the vending key, give its
//! decoder key (IEC 62055-41:2018 §6.1 MeterPAN/DRN, §6.5 KeyType, SupplyGroupCode,
//! TariffIndex, KeyRevisionNumber, KeyExpiryNumber, DKGA04, EncryptionAlgorithm).
//!
//! **Keys.** gridedge vends with DKGA04 (HMAC-SHA-256 key derivation from a 160-bit vending
//! key) and EA11 (MISTY1) only. EA07 (STA) needs the STS Association's licensed production
//! tables, which the project does not hold, and DKGA02 produces the 64-bit keys that only STA
//! uses, so a 64-bit vending key is refused ([`AccountError::UnsupportedVendingKey`]).
//!
//! **Simulated meters.** A simulated meter has no DRN of its own; [`simulated_drn`] derives one
//! from the serial number so that `gridedge vend` and `gridedge meter --prepaid` agree on the
//! meter's key without configuration.

use sts::{
    BaseDate, DecoderKey, EncryptionAlgorithm, KeyAttributes, KeyExpiryNumber, KeyRevisionNumber, KeyType, MeterPan,
    PanError, SupplyGroupCode, TariffIndex, VendingKey, dkga04,
};
use thiserror::Error;

/// The 2-digit manufacturer code in the DRN of simulated meters. It is gridedge's choice for
/// its simulator, not a code assigned by the STS Association.
pub const SIMULATED_MANUFACTURER_CODE: &str = "99";

/// Supply group code of simulated meters.
pub const SIMULATED_SUPPLY_GROUP_CODE: u32 = 123_457;

/// A 160-bit DKGA04 vending key for tests and demonstrations, 40 hex digits. **Public, so it
/// protects nothing**: never use it for real meters.
pub const TEST_VENDING_KEY_HEX: &str = "0123456789ABCDEFFEDCBA987654321000112233";

/// Why a decoder key could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccountError {
    /// Only 160-bit (DKGA04) vending keys are used.
    #[error("only 160-bit DKGA04 vending keys are supported (EA07/STA tables are not available)")]
    UnsupportedVendingKey,
    /// Only EA11 (MISTY1) accounts are vended.
    #[error("only EA11 (MISTY1) meters are supported (EA07/STA tables are not available)")]
    UnsupportedAlgorithm,
}

/// One meter's STS account: serial number (the MDMS meter id), MeterPAN and key attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterAccount {
    /// Serial number, as the HES and MDMS know the meter.
    pub serial: String,
    /// STS MeterPAN (IIN + DRN + check digit).
    pub pan: MeterPan,
    /// Key type of the meter's decoder key (2 = unique).
    pub key_type: KeyType,
    /// Supply group code.
    pub supply_group_code: SupplyGroupCode,
    /// Tariff index: selects the [`crate::Tariff`] the meter buys at.
    pub tariff_index: TariffIndex,
    /// Key revision number.
    pub key_revision: KeyRevisionNumber,
    /// Key expiry number (255 = never).
    pub key_expiry: KeyExpiryNumber,
    /// TID base date of the key.
    pub base_date: BaseDate,
    /// Token encryption algorithm (EA11).
    pub algorithm: EncryptionAlgorithm,
}

impl MeterAccount {
    /// The account of a simulated meter: DRN from [`simulated_drn`], unique key (KT 2), SGC
    /// [`SIMULATED_SUPPLY_GROUP_CODE`], TI 01, KRN 1, KEN 255, base date 2014 (the 1993 base
    /// date rolled over on 2024-11-24), EA11.
    ///
    /// # Errors
    /// Never for the derived DRN; [`PanError`] is kept for the signature's honesty.
    pub fn simulated(serial: &str) -> Result<MeterAccount, PanError> {
        Ok(MeterAccount {
            serial: serial.to_string(),
            pan: simulated_drn(serial)?,
            key_type: KeyType::Unique,
            supply_group_code: SupplyGroupCode::new(SIMULATED_SUPPLY_GROUP_CODE).unwrap_or(SupplyGroupCode::ZERO),
            tariff_index: TariffIndex::ONE,
            key_revision: KeyRevisionNumber::ONE,
            key_expiry: KeyExpiryNumber::NEVER,
            base_date: BaseDate::Bd2014,
            algorithm: EncryptionAlgorithm::Misty1,
        })
    }

    /// The attributes DKGA04 takes besides the vending key.
    pub fn key_attributes(&self) -> KeyAttributes {
        KeyAttributes {
            key_type: self.key_type,
            supply_group_code: self.supply_group_code,
            tariff_index: self.tariff_index,
            key_revision: self.key_revision,
            pan: self.pan.clone(),
        }
    }

    /// The meter's decoder key: DKGA04 of the vending key and the key attributes, 128 bits
    /// for EA11.
    ///
    /// # Errors
    /// [`AccountError`] for a 64-bit vending key or an EA07 account.
    pub fn decoder_key(&self, vending_key: &VendingKey) -> Result<DecoderKey, AccountError> {
        if self.algorithm != EncryptionAlgorithm::Misty1 {
            return Err(AccountError::UnsupportedAlgorithm);
        }
        match vending_key {
            VendingKey::Bits160(vk) => Ok(dkga04(vk, &self.key_attributes(), self.base_date, self.algorithm)),
            VendingKey::Des64(_) => Err(AccountError::UnsupportedVendingKey),
        }
    }
}

/// The MeterPAN of a simulated meter: DRN = [`SIMULATED_MANUFACTURER_CODE`] + the last 8
/// decimal digits of the serial number (left-padded with zeros; letters are skipped) + a Luhn
/// check digit, under IIN 600727. `GE00000001` → DRN `99000000017`.
///
/// Serials that differ only in letters or in digits before the last eight map to the same
/// DRN: give real meters their real DRN.
///
/// # Errors
/// Never in practice (the DRN is built valid); [`PanError`] if that invariant broke.
pub fn simulated_drn(serial: &str) -> Result<MeterPan, PanError> {
    let digits: Vec<u8> = serial.bytes().filter(u8::is_ascii_digit).collect();
    let tail = &digits[digits.len().saturating_sub(8)..];
    let mut body = String::from(SIMULATED_MANUFACTURER_CODE);
    body.extend(std::iter::repeat_n('0', 8 - tail.len()));
    body.extend(tail.iter().map(|&b| char::from(b)));
    let check = sts::pan::luhn_check_digit(&body).ok_or(PanError::NotDigits)?;
    body.push(char::from(b'0' + check));
    MeterPan::from_drn(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_drns() {
        // Luhn over 9900000001 (hand-computed): 1*2 + 9 + (9*2 - 9) = 20 -> check digit 0.
        let pan = simulated_drn("GE00000001").unwrap();
        assert_eq!((pan.iin(), pan.iain()), ("600727", "99000000010"));
        // Letters are skipped, missing digits padded: 9900000000 -> 9 + 9 = 18 -> 2.
        assert_eq!(simulated_drn("X").unwrap().iain(), "99000000002");
        // Only the last 8 digits count: 9956789012 -> 54 -> 6.
        assert_eq!(simulated_drn("S123456789012").unwrap().iain(), "99567890126");
    }

    #[test]
    fn only_dkga04_and_misty1() {
        let mut account = MeterAccount::simulated("GE00000001").unwrap();
        let vk = VendingKey::from_hex(TEST_VENDING_KEY_HEX).unwrap();
        assert_eq!(account.decoder_key(&vk).map(|k| k.bits()), Ok(128));
        let des = VendingKey::from_hex("ABABABABABABABAB").unwrap();
        assert_eq!(account.decoder_key(&des), Err(AccountError::UnsupportedVendingKey));
        account.algorithm = EncryptionAlgorithm::Sta;
        assert_eq!(account.decoder_key(&vk), Err(AccountError::UnsupportedAlgorithm));
    }
}
