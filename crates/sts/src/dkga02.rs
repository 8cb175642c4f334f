//! DKGA02: decoder key generation algorithm 02 (IEC 62055-41:2018 §6.5, DKGA02).
//!
//! From the 64-bit DES vending key (VUDK) and the meter's key attributes:
//!
//! ```text
//! data = PANBlock XOR ControlBlock
//! DK   = DES_encrypt(key = VendingKey, data) XOR data XOR VendingKey
//! ```
//!
//! where the PAN block and control block are the 16-digit blocks of [`crate::pan`]. DES parity
//! bits are ignored by DES, so the vending key is used as given. The 64-bit DK is used with the
//! STA (EA07).

use des::Des;
use des::cipher::{Array, BlockCipherEncrypt, KeyInit};

use crate::keys::{DecoderKey, KeyRevisionNumber, KeyType, SupplyGroupCode, TariffIndex};
use crate::pan::{MeterPan, control_block};

/// The meter key attributes that enter DKGA02 and DKGA04 besides the vending key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KeyAttributes {
    /// Key type (KT) of the key to derive.
    pub key_type: KeyType,
    /// Supply group code (SGC).
    pub supply_group_code: SupplyGroupCode,
    /// Tariff index (TI).
    pub tariff_index: TariffIndex,
    /// Key revision number (KRN).
    pub key_revision: KeyRevisionNumber,
    /// The meter's primary account number (IIN + DRN).
    pub pan: MeterPan,
}

/// Derives the 64-bit decoder key with DKGA02 from the 64-bit DES vending key.
pub fn dkga02(vending_key: &[u8; 8], attributes: &KeyAttributes) -> DecoderKey {
    let pan_block = attributes.pan.pan_block(attributes.key_type);
    let control = control_block(
        attributes.key_type,
        attributes.supply_group_code,
        attributes.tariff_index,
        attributes.key_revision,
    );
    let data: [u8; 8] = std::array::from_fn(|i| pan_block[i] ^ control[i]);
    let cipher = Des::new(&Array::from(*vending_key));
    let mut block = Array::from(data);
    cipher.encrypt_block(&mut block);
    let key: [u8; 8] = std::array::from_fn(|i| block[i] ^ data[i] ^ vending_key[i]);
    DecoderKey::Bits64(key)
}
