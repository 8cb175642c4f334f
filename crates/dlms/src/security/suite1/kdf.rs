//! The NIST concatenation key derivation function with SHA-256, as security suite 1
//! uses it to turn the ECDH shared secret `Z` into an AES-128 key (IEC 62056-5-3
//! §9.2.3.4.6.5, Green Book §9.2.3.4.6.5; NIST SP 800-56A Rev. 2 §5.8.1.1):
//!
//! ```text
//! K(i)  = SHA-256( counter(i) ‖ Z ‖ OtherInfo )      counter: 32-bit big endian, from 1
//! key   = leftmost keydatalen bits of K(1) ‖ K(2) ‖ …  keydatalen = 128 for suite 1
//! OtherInfo = AlgorithmID ‖ PartyUInfo ‖ PartyVInfo   (SuppPubInfo, SuppPrivInfo: not used)
//! ```
//!
//! Green Book Table 17 fixes the OtherInfo subfields:
//!
//! | subfield | C(2e,0s) / C(1e,1s) | C(0e,2s) |
//! |---|---|---|
//! | AlgorithmID (7 bytes) | Table 18 | Table 18 |
//! | PartyUInfo | ID_U: system title of party U (8) | ID_U (8) ‖ len(transaction-id) (1) ‖ transaction-id (Nonce_U) |
//! | PartyVInfo | ID_V: system title of party V (8) | ID_V (8) |
//!
//! Party U is the client in the ephemeral unified model (key_agreement method) and the
//! originator of the general-ciphering APDU in the other two schemes.
//!
//! AlgorithmID is the BER content octets of the COSEM cryptographic algorithm id
//! `{2 16 756 5 8 3 x}` (Green Book §9.4.2.2.4): `60 85 74 05 08 03 x`. (Some
//! reproductions of Green Book Table 18 print `…74 06 08…`; the OID itself, the other
//! DLMS UA OIDs such as mechanism names `60 85 74 05 08 02 x`, and public
//! implementations give `05`.)

use sha2::{Digest, Sha256};

use crate::security::keys::{AesKey, SystemTitle};
use crate::security::suite1::ecdh::SharedSecret;
use crate::security::suite1::error::Suite1Error;

/// Output length of SHA-256, bytes.
pub const HASH_LEN: usize = 32;

/// keydatalen of security suite 1: 128 bits (16 bytes).
pub const SUITE1_KEY_LEN: usize = 16;

/// The COSEM cryptographic algorithm ids (Green Book Table 18, §9.4.2.2.4): what the
/// derived key will be used for, bound into the KDF so one `Z` never yields the same
/// key for two algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlgorithmId {
    /// `2.16.756.5.8.3.0` AES-GCM-128: global unicast/broadcast encryption keys, the
    /// authentication key and ephemeral encryption keys of suite 1.
    AesGcm128,
    /// `2.16.756.5.8.3.1` AES-GCM-256 (suite 2).
    AesGcm256,
    /// `2.16.756.5.8.3.2` AES-WRAP-128: the master key (KEK) of suite 1.
    AesWrap128,
    /// `2.16.756.5.8.3.3` AES-WRAP-256 (suite 2).
    AesWrap256,
}

impl AlgorithmId {
    /// The last arc `x` of `2.16.756.5.8.3.x`.
    pub const fn arc(self) -> u8 {
        match self {
            AlgorithmId::AesGcm128 => 0,
            AlgorithmId::AesGcm256 => 1,
            AlgorithmId::AesWrap128 => 2,
            AlgorithmId::AesWrap256 => 3,
        }
    }

    /// The 7-byte AlgorithmID subfield of OtherInfo: `60 85 74 05 08 03 x`.
    pub const fn encoding(self) -> [u8; 7] {
        [0x60, 0x85, 0x74, 0x05, 0x08, 0x03, self.arc()]
    }
}

/// OtherInfo of the concatenation KDF (Green Book §9.2.3.4.6.5, Table 17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherInfo {
    /// What the derived key is for.
    pub algorithm_id: AlgorithmId,
    /// ID_U: the system title of party U (client, or originator).
    pub party_u: SystemTitle,
    /// Nonce_U (static unified model only): the transaction-id of the general-ciphering
    /// APDU, at most 255 bytes.
    pub nonce_u: Option<Vec<u8>>,
    /// ID_V: the system title of party V (server, or recipient).
    pub party_v: SystemTitle,
}

impl OtherInfo {
    /// OtherInfo of the ephemeral unified model C(2e,0s) (U = client, V = server) and of
    /// the one-pass Diffie-Hellman C(1e,1s) (U = originator, V = recipient).
    pub fn new(algorithm_id: AlgorithmId, party_u: SystemTitle, party_v: SystemTitle) -> Self {
        OtherInfo { algorithm_id, party_u, nonce_u: None, party_v }
    }

    /// OtherInfo of the static unified model C(0e,2s): PartyUInfo carries Nonce_U, the
    /// transaction-id, after a one-byte length.
    ///
    /// # Errors
    /// [`Suite1Error::NonceTooLong`] for a transaction-id longer than 255 bytes.
    pub fn with_nonce(
        algorithm_id: AlgorithmId,
        party_u: SystemTitle,
        transaction_id: &[u8],
        party_v: SystemTitle,
    ) -> Result<Self, Suite1Error> {
        if transaction_id.len() > usize::from(u8::MAX) {
            return Err(Suite1Error::NonceTooLong { len: transaction_id.len() });
        }
        Ok(OtherInfo { algorithm_id, party_u, nonce_u: Some(transaction_id.to_vec()), party_v })
    }

    /// `AlgorithmID ‖ PartyUInfo ‖ PartyVInfo`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let nonce_len = self.nonce_u.as_ref().map_or(0, |n| 1 + n.len());
        let mut out = Vec::with_capacity(7 + 8 + nonce_len + 8);
        out.extend_from_slice(&self.algorithm_id.encoding());
        out.extend_from_slice(self.party_u.as_bytes());
        if let Some(nonce) = &self.nonce_u {
            // `with_nonce` bounds the length to 255; a longer nonce set through the public
            // field is truncated in its length byte rather than panicking.
            out.push(u8::try_from(nonce.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(nonce);
        }
        out.extend_from_slice(self.party_v.as_bytes());
        out
    }
}

/// The concatenation KDF with SHA-256 (NIST SP 800-56A Rev. 2 §5.8.1.1): fills `out`
/// with the leftmost `out.len()` bytes of `K(1) ‖ K(2) ‖ …`, `K(i) = SHA-256(i ‖ z ‖
/// other_info)` with `i` a 32-bit big-endian counter starting at 1. Any output length
/// is accepted (suite 1 asks for 16 bytes: one hash).
pub fn concat_kdf_sha256(z: &[u8], other_info: &[u8], out: &mut [u8]) {
    for (i, chunk) in out.chunks_mut(HASH_LEN).enumerate() {
        let counter = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let mut h = Sha256::new();
        h.update(counter.to_be_bytes());
        h.update(z);
        h.update(other_info);
        let k = h.finalize();
        let n = chunk.len();
        chunk.copy_from_slice(&k[..n]);
    }
}

/// Derives a suite 1 key (AES-128, keydatalen 128 bits) from the shared secret `z`:
/// `kdf(Z, OtherInput)` of Green Book §9.2.3.4.6.5.
pub fn derive_key(z: &SharedSecret, other_info: &OtherInfo) -> AesKey {
    let mut key = [0u8; SUITE1_KEY_LEN];
    concat_kdf_sha256(z.as_bytes(), &other_info.to_bytes(), &mut key);
    AesKey::new(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_ids_encode_the_dlms_ua_oid() {
        assert_eq!(AlgorithmId::AesGcm128.encoding(), [0x60, 0x85, 0x74, 0x05, 0x08, 0x03, 0x00]);
        assert_eq!(AlgorithmId::AesWrap256.encoding()[6], 3);
    }

    #[test]
    fn other_info_layout_follows_table_17() {
        let u = SystemTitle([1; 8]);
        let v = SystemTitle([2; 8]);
        let oi = OtherInfo::new(AlgorithmId::AesGcm128, u, v).to_bytes();
        assert_eq!(oi.len(), 23);
        assert_eq!(&oi[7..15], &[1; 8]);
        assert_eq!(&oi[15..], &[2; 8]);
        let oi = OtherInfo::with_nonce(AlgorithmId::AesGcm128, u, &[9, 9, 9], v).unwrap().to_bytes();
        assert_eq!(&oi[15..19], &[3, 9, 9, 9]);
        assert_eq!(oi.len(), 7 + 8 + 4 + 8);
        assert_eq!(
            OtherInfo::with_nonce(AlgorithmId::AesGcm128, u, &[0; 256], v),
            Err(Suite1Error::NonceTooLong { len: 256 })
        );
    }

    #[test]
    fn longer_outputs_use_successive_counters() {
        let mut long = [0u8; 40];
        concat_kdf_sha256(b"z", b"info", &mut long);
        let mut short = [0u8; 16];
        concat_kdf_sha256(b"z", b"info", &mut short);
        assert_eq!(&long[..16], &short);
        let mut h = Sha256::new();
        h.update([0, 0, 0, 2]);
        h.update(b"z");
        h.update(b"info");
        assert_eq!(&long[32..], &h.finalize()[..8]);
    }
}
