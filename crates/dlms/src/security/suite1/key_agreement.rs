//! The three ECDH key agreement schemes of security suite 1 (IEC 62056-5-3 §9.2.3.4.6
//! and §9.2.5.5, Green Book §9.2.3.4.6; NIST SP 800-56A Rev. 2 §6) and their parameter
//! encodings:
//!
//! | scheme | used for | party U / V | carried by |
//! |---|---|---|---|
//! | Ephemeral Unified Model C(2e,0s, ECC CDH) | master key, GUEK, GBEK, AK | client / server | Security setup method 3 `key_agreement` |
//! | One-Pass Diffie-Hellman C(1e,1s, ECC CDH) | ephemeral encryption key | originator / recipient | general-ciphering key-info `agreed-key`, key-parameters `01` |
//! | Static Unified Model C(0e,2s, ECC CDH) | ephemeral encryption key | originator / recipient | general-ciphering key-info `agreed-key`, key-parameters `02` |
//!
//! ## C(2e,0s): the key_agreement method (IEC 62056-6-2 §5.3.7, class 64 method 3)
//!
//! ```text
//! key_agreement (data) ::= array key_agreement_data
//! key_agreement_data   ::= structure { key_id: enum (0 GUEK, 1 GBEK, 2 AK, 3 master key),
//!                                      key_data: octet-string }
//! ```
//!
//! In the request `key_data` is the client's ephemeral public key `Q_e,U` (64 bytes
//! `x ‖ y`) followed by its signature (64 bytes `R ‖ S`) made with the client's private
//! digital signature key; the server answers with the same structure carrying its own
//! ephemeral public key `Q_e,V` signed with its key. The signed data is
//! `key_id ‖ x ‖ y` (65 bytes: the SEC 1 uncompressed point with its leading `04`
//! replaced by the key_id), the convention of public DLMS/COSEM implementations (the
//! Green Book text only says "signed"; confirm against a conformance-tested peer).
//! Each side then computes `Z = ECC_CDH(own ephemeral, peer ephemeral)` and the key
//! with the KDF ([`super::kdf`]), ID_U = client system title, ID_V = server system
//! title, AlgorithmID by [`algorithm_for`].
//!
//! ## C(1e,1s) and C(0e,2s): general-ciphering `agreed-key`
//!
//! With C(1e,1s) `key-ciphered-data` is `Q_e,U ‖ signature` (128 bytes), signed the
//! same way over `01 ‖ x ‖ y` (the key-parameters byte in the key_id position), and
//! `Z = ECC_CDH(d_e,U, Q_s,V)`. With C(0e,2s) `key-ciphered-data` is empty, `Z` comes
//! from the two static key agreement keys, and the transaction-id is Nonce_U. The
//! derived key is an AES-GCM-128 encryption key.

use crate::codec::DecodeError;
use crate::data::Data;
use crate::security::keys::{AesKey, KeyId, SystemTitle};
use crate::security::suite1::ecdh::AgreementKey;
use crate::security::suite1::ecdsa::{self, SIGNATURE_LEN, Signature, SigningKey};
use crate::security::suite1::error::Suite1Error;
use crate::security::suite1::kdf::{AlgorithmId, OtherInfo, derive_key};
use crate::security::suite1::public_key::{PUBLIC_KEY_LEN, PublicKey};

/// Length of a signed ephemeral public key (`key_data`, `key-ciphered-data`), bytes.
pub const SIGNED_EPHEMERAL_KEY_LEN: usize = PUBLIC_KEY_LEN + SIGNATURE_LEN;

/// The key agreement schemes of suite 1 (Green Book §9.2.3.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAgreementScheme {
    /// Ephemeral Unified Model C(2e,0s, ECC CDH): the key_agreement method.
    EphemeralUnifiedModel,
    /// One-Pass Diffie-Hellman C(1e,1s, ECC CDH): key-parameters `0x01`. The default
    /// scheme for ephemeral keys unless a companion specification says otherwise
    /// (Green Book §9.2.5.5 NOTE 2).
    OnePassDiffieHellman,
    /// Static Unified Model C(0e,2s, ECC CDH): key-parameters `0x02`.
    StaticUnifiedModel,
}

impl KeyAgreementScheme {
    /// The key-parameters value of general-ciphering `agreed-key` (Green Book Table 21);
    /// `None` for the ephemeral unified model, which general-ciphering does not carry.
    pub fn key_parameters(self) -> Option<u8> {
        match self {
            KeyAgreementScheme::EphemeralUnifiedModel => None,
            KeyAgreementScheme::OnePassDiffieHellman => Some(0x01),
            KeyAgreementScheme::StaticUnifiedModel => Some(0x02),
        }
    }

    /// The scheme of a key-parameters value; `None` for the reserved values.
    pub fn from_key_parameters(v: u8) -> Option<Self> {
        match v {
            0x01 => Some(KeyAgreementScheme::OnePassDiffieHellman),
            0x02 => Some(KeyAgreementScheme::StaticUnifiedModel),
            _ => None,
        }
    }
}

/// The algorithm a key agreed with C(2e,0s) is for, bound into the KDF as AlgorithmID:
/// AES-WRAP-128 for the master key (KEK), AES-GCM-128 for the others.
pub fn algorithm_for(key_id: KeyId) -> AlgorithmId {
    match key_id {
        KeyId::Master => AlgorithmId::AesWrap128,
        KeyId::GlobalUnicastEncryption | KeyId::GlobalBroadcastEncryption | KeyId::Authentication => {
            AlgorithmId::AesGcm128
        }
    }
}

/// An ephemeral public key and the signature that authenticates it (`key_data` of
/// key_agreement, `key-ciphered-data` of C(1e,1s)): `Q_e (64) ‖ R ‖ S (64)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedEphemeralKey {
    /// `Q_e`, the ephemeral public key agreement key.
    pub public_key: PublicKey,
    /// The signature over `id ‖ x ‖ y`.
    pub signature: Signature,
}

impl SignedEphemeralKey {
    /// The signed data: `id ‖ x ‖ y` (`id` is the key_id of key_agreement, or the
    /// key-parameters byte `01` of C(1e,1s)).
    pub fn signed_message(id: u8, public_key: &PublicKey) -> [u8; 1 + PUBLIC_KEY_LEN] {
        let mut m = [id; 1 + PUBLIC_KEY_LEN];
        m[1..].copy_from_slice(&public_key.to_bytes());
        m
    }

    /// Signs the public half of `ephemeral` with the party's private digital signature
    /// key.
    pub fn sign(id: u8, ephemeral: &AgreementKey, signing_key: &SigningKey) -> Self {
        let public_key = ephemeral.public_key();
        let signature = signing_key.sign(&Self::signed_message(id, &public_key));
        SignedEphemeralKey { public_key, signature }
    }

    /// Verifies the signature with the peer's public digital signature key.
    ///
    /// # Errors
    /// [`Suite1Error::SignatureInvalid`].
    pub fn verify(&self, id: u8, signatory: &PublicKey) -> Result<(), Suite1Error> {
        ecdsa::verify(signatory, &Self::signed_message(id, &self.public_key), &self.signature)
    }

    /// The 128 bytes `x ‖ y ‖ R ‖ S`.
    pub fn to_bytes(&self) -> [u8; SIGNED_EPHEMERAL_KEY_LEN] {
        let mut out = [0u8; SIGNED_EPHEMERAL_KEY_LEN];
        out[..PUBLIC_KEY_LEN].copy_from_slice(&self.public_key.to_bytes());
        out[PUBLIC_KEY_LEN..].copy_from_slice(self.signature.as_bytes());
        out
    }

    /// Decodes 128 bytes `x ‖ y ‖ R ‖ S` (the signature is not checked here).
    ///
    /// # Errors
    /// [`Suite1Error::Decode`] unless `bytes` is 128 bytes long;
    /// [`Suite1Error::InvalidPublicKey`] when `x ‖ y` is not a P-256 point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Suite1Error> {
        if bytes.len() != SIGNED_EPHEMERAL_KEY_LEN {
            return Err(Suite1Error::Decode(DecodeError::invalid(
                "signed ephemeral public key",
                format!("{} byte(s), 128 expected", bytes.len()),
            )));
        }
        let (q, sig) = bytes.split_at(PUBLIC_KEY_LEN);
        Ok(SignedEphemeralKey { public_key: PublicKey::from_bytes(q)?, signature: Signature::from_slice(sig)? })
    }
}

/// One `key_agreement_data` element: which key, and the signed ephemeral public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAgreementData {
    /// The key being agreed.
    pub key_id: KeyId,
    /// `Q_e ‖ signature`, 128 bytes with suite 1.
    pub key_data: Vec<u8>,
}

/// The key_agreement parameter (and return value): `array of structure { enum key_id,
/// octet-string key_data }`.
pub fn key_agreement_parameters(items: &[KeyAgreementData]) -> Data {
    Data::Array(
        items
            .iter()
            .map(|k| Data::Structure(vec![Data::Enum(k.key_id as u8), Data::OctetString(k.key_data.clone())]))
            .collect(),
    )
}

fn invalid(detail: impl Into<String>) -> Suite1Error {
    Suite1Error::Decode(DecodeError::invalid("key_agreement parameter", detail))
}

/// Reads a key_agreement parameter or return value.
///
/// # Errors
/// [`Suite1Error::Decode`] when the shape is not a non-empty array of 2-element
/// structures of `enum` and `octet-string`, when a key_id is undefined or appears twice.
pub fn parse_key_agreement_parameters(data: &Data) -> Result<Vec<KeyAgreementData>, Suite1Error> {
    let Data::Array(items) = data else {
        return Err(invalid("expected array of key_agreement_data"));
    };
    if items.is_empty() {
        return Err(invalid("empty array"));
    }
    let mut out: Vec<KeyAgreementData> = Vec::with_capacity(items.len().min(4));
    for item in items {
        let Data::Structure(fields) = item else {
            return Err(invalid("key_agreement_data must be a structure"));
        };
        let [Data::Enum(id), Data::OctetString(key_data)] = fields.as_slice() else {
            return Err(invalid("key_agreement_data must be structure { enum, octet-string }"));
        };
        let key_id = KeyId::from_u8(*id).ok_or_else(|| invalid(format!("undefined key_id {id}")))?;
        if out.iter().any(|k| k.key_id == key_id) {
            return Err(invalid(format!("key_id {id} appears twice")));
        }
        out.push(KeyAgreementData { key_id, key_data: key_data.clone() });
    }
    Ok(out)
}

/// The derived key of one C(2e,0s) key: `kdf(ECC_CDH(own, peer), AlgorithmID ‖
/// client system title ‖ server system title)`.
pub fn derive_ephemeral_unified_key(
    own_ephemeral: &AgreementKey,
    peer_ephemeral: &PublicKey,
    key_id: KeyId,
    client: SystemTitle,
    server: SystemTitle,
) -> AesKey {
    let z = own_ephemeral.shared_secret(peer_ephemeral);
    derive_key(&z, &OtherInfo::new(algorithm_for(key_id), client, server))
}

/// The client's half of a C(2e,0s) key agreement: the ephemeral keys it generated,
/// kept until the server answers. Dropping it destroys them.
#[derive(Debug)]
pub struct EphemeralUnifiedOffer {
    client: SystemTitle,
    server: SystemTitle,
    pending: Vec<(KeyId, AgreementKey)>,
}

impl EphemeralUnifiedOffer {
    /// Client: generates one ephemeral key pair per key in `key_ids`, signs each public
    /// key with `client_key` and returns the offer and the key_agreement parameter to
    /// send (method 3 of the Security setup object).
    ///
    /// # Errors
    /// [`Suite1Error::KeyAgreementMismatch`] for an empty or repeating `key_ids`;
    /// [`Suite1Error::Random`].
    pub fn new(
        key_ids: &[KeyId],
        client_key: &SigningKey,
        client: SystemTitle,
        server: SystemTitle,
    ) -> Result<(Self, Data), Suite1Error> {
        if key_ids.is_empty() {
            return Err(Suite1Error::KeyAgreementMismatch("no key to agree on"));
        }
        let mut pending: Vec<(KeyId, AgreementKey)> = Vec::with_capacity(key_ids.len());
        let mut items = Vec::with_capacity(key_ids.len());
        for &key_id in key_ids {
            if pending.iter().any(|(k, _)| *k == key_id) {
                return Err(Suite1Error::KeyAgreementMismatch("a key_id is repeated"));
            }
            let ephemeral = AgreementKey::generate()?;
            let signed = SignedEphemeralKey::sign(key_id as u8, &ephemeral, client_key);
            items.push(KeyAgreementData { key_id, key_data: signed.to_bytes().to_vec() });
            pending.push((key_id, ephemeral));
        }
        Ok((EphemeralUnifiedOffer { client, server, pending }, key_agreement_parameters(&items)))
    }

    /// The key_ids offered, in order.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.pending.iter().map(|(k, _)| *k).collect()
    }

    /// Client: checks the server's answer (the return value of key_agreement) and
    /// derives the agreed keys. Every signature is verified before any key is returned,
    /// so a caller installs all keys or none.
    ///
    /// # Errors
    /// [`Suite1Error::Decode`] for a malformed answer; [`Suite1Error::KeyAgreementMismatch`]
    /// when it does not carry exactly the offered key_ids in order;
    /// [`Suite1Error::InvalidPublicKey`]; [`Suite1Error::SignatureInvalid`] when a
    /// server signature does not verify under `server_public_key`.
    pub fn complete(self, response: &Data, server_public_key: &PublicKey) -> Result<Vec<(KeyId, AesKey)>, Suite1Error> {
        let answer = parse_key_agreement_parameters(response)?;
        if answer.len() != self.pending.len() {
            return Err(Suite1Error::KeyAgreementMismatch("not as many keys as offered"));
        }
        let mut peers = Vec::with_capacity(answer.len());
        for (item, (key_id, _)) in answer.iter().zip(&self.pending) {
            if item.key_id != *key_id {
                return Err(Suite1Error::KeyAgreementMismatch("key_id differs from the offer"));
            }
            let signed = SignedEphemeralKey::from_bytes(&item.key_data)?;
            signed.verify(*key_id as u8, server_public_key)?;
            peers.push(signed.public_key);
        }
        Ok(self
            .pending
            .iter()
            .zip(&peers)
            .map(|((key_id, own), peer)| {
                (*key_id, derive_ephemeral_unified_key(own, peer, *key_id, self.client, self.server))
            })
            .collect())
    }
}

/// Server: answers a C(2e,0s) key_agreement invocation. Verifies every client
/// signature with `client_public_key`, generates its own ephemeral key per key_id,
/// derives the keys and returns them with the return value to send. Nothing is derived
/// unless every signature verifies; the server installs the keys after the response
/// has been sent (the response itself is protected with the old keys).
///
/// # Errors
/// [`Suite1Error::Decode`] for a malformed parameter; [`Suite1Error::InvalidPublicKey`];
/// [`Suite1Error::SignatureInvalid`]; [`Suite1Error::Random`].
pub fn respond_ephemeral_unified(
    request: &Data,
    client_public_key: &PublicKey,
    server_key: &SigningKey,
    client: SystemTitle,
    server: SystemTitle,
) -> Result<(Vec<(KeyId, AesKey)>, Data), Suite1Error> {
    let items = parse_key_agreement_parameters(request)?;
    let mut peers = Vec::with_capacity(items.len());
    for item in &items {
        let signed = SignedEphemeralKey::from_bytes(&item.key_data)?;
        signed.verify(item.key_id as u8, client_public_key)?;
        peers.push((item.key_id, signed.public_key));
    }
    let mut keys = Vec::with_capacity(peers.len());
    let mut answer = Vec::with_capacity(peers.len());
    for (key_id, peer) in peers {
        let ephemeral = AgreementKey::generate()?;
        let signed = SignedEphemeralKey::sign(key_id as u8, &ephemeral, server_key);
        keys.push((key_id, derive_ephemeral_unified_key(&ephemeral, &peer, key_id, client, server)));
        answer.push(KeyAgreementData { key_id, key_data: signed.to_bytes().to_vec() });
    }
    Ok((keys, key_agreement_parameters(&answer)))
}

/// C(1e,1s), originator (party U): generates an ephemeral key, agrees with the
/// recipient's static key agreement public key (from its `C(KeyAgree)` certificate)
/// and returns the ephemeral encryption key (AES-GCM-128) and the 128-byte
/// `key-ciphered-data` for general-ciphering (key-parameters `01`).
///
/// # Errors
/// [`Suite1Error::Random`].
pub fn one_pass_originate(
    originator_key: &SigningKey,
    recipient_static: &PublicKey,
    originator: SystemTitle,
    recipient: SystemTitle,
) -> Result<(AesKey, Vec<u8>), Suite1Error> {
    let ephemeral = AgreementKey::generate()?;
    let id = KeyAgreementScheme::OnePassDiffieHellman.key_parameters().unwrap_or(0x01);
    let signed = SignedEphemeralKey::sign(id, &ephemeral, originator_key);
    let z = ephemeral.shared_secret(recipient_static);
    let key = derive_key(&z, &OtherInfo::new(AlgorithmId::AesGcm128, originator, recipient));
    Ok((key, signed.to_bytes().to_vec()))
}

/// C(1e,1s), recipient (party V): verifies the originator's signed ephemeral public
/// key (`key-ciphered-data`) with the originator's public digital signature key and
/// derives the ephemeral encryption key with the recipient's static key agreement key.
///
/// # Errors
/// [`Suite1Error::Decode`] unless `key_ciphered_data` is 128 bytes;
/// [`Suite1Error::InvalidPublicKey`]; [`Suite1Error::SignatureInvalid`].
pub fn one_pass_receive(
    key_ciphered_data: &[u8],
    originator_public_key: &PublicKey,
    recipient_static: &AgreementKey,
    originator: SystemTitle,
    recipient: SystemTitle,
) -> Result<AesKey, Suite1Error> {
    let signed = SignedEphemeralKey::from_bytes(key_ciphered_data)?;
    let id = KeyAgreementScheme::OnePassDiffieHellman.key_parameters().unwrap_or(0x01);
    signed.verify(id, originator_public_key)?;
    let z = recipient_static.shared_secret(&signed.public_key);
    Ok(derive_key(&z, &OtherInfo::new(AlgorithmId::AesGcm128, originator, recipient)))
}

/// C(0e,2s), either party: the ephemeral encryption key (AES-GCM-128) from the own
/// static key agreement key, the peer's static public key and the transaction-id
/// (Nonce_U) of the general-ciphering APDU. `key-ciphered-data` is empty.
///
/// # Errors
/// [`Suite1Error::NonceTooLong`] for a transaction-id above 255 bytes.
pub fn static_unified_key(
    own_static: &AgreementKey,
    peer_static: &PublicKey,
    originator: SystemTitle,
    transaction_id: &[u8],
    recipient: SystemTitle,
) -> Result<AesKey, Suite1Error> {
    let info = OtherInfo::with_nonce(AlgorithmId::AesGcm128, originator, transaction_id, recipient)?;
    let z = own_static.shared_secret(peer_static);
    Ok(derive_key(&z, &info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parameters_follow_table_21() {
        assert_eq!(KeyAgreementScheme::OnePassDiffieHellman.key_parameters(), Some(1));
        assert_eq!(KeyAgreementScheme::StaticUnifiedModel.key_parameters(), Some(2));
        assert_eq!(KeyAgreementScheme::EphemeralUnifiedModel.key_parameters(), None);
        assert_eq!(KeyAgreementScheme::from_key_parameters(2), Some(KeyAgreementScheme::StaticUnifiedModel));
        assert_eq!(KeyAgreementScheme::from_key_parameters(0), None);
        assert_eq!(algorithm_for(KeyId::Master), AlgorithmId::AesWrap128);
        assert_eq!(algorithm_for(KeyId::Authentication), AlgorithmId::AesGcm128);
    }

    #[test]
    fn parameter_shape_errors() {
        for bad in [
            Data::Array(vec![]),
            Data::Structure(vec![]),
            Data::Array(vec![Data::Structure(vec![Data::Enum(7), Data::OctetString(vec![0; 128])])]),
            Data::Array(vec![Data::Structure(vec![Data::Unsigned(0), Data::OctetString(vec![0; 128])])]),
            Data::Array(vec![
                Data::Structure(vec![Data::Enum(0), Data::OctetString(vec![0; 128])]),
                Data::Structure(vec![Data::Enum(0), Data::OctetString(vec![0; 128])]),
            ]),
        ] {
            assert!(matches!(parse_key_agreement_parameters(&bad), Err(Suite1Error::Decode(_))), "{bad:?}");
        }
    }
}
