//! The general-signing APDU (IEC 62056-5-3 §9.5 `XDLMS-APDU` CHOICE `[223]`, §9.2.7.2.5;
//! Green Book §9.2.7.2.5 and the figure "Structure of general-signing APDU"): an xDLMS
//! APDU (or any content) digitally signed by its originator with ECDSA.
//!
//! ```text
//! General-Signing ::= SEQUENCE
//! {
//!     transaction-id           OCTET STRING,
//!     originator-system-title  OCTET STRING,
//!     recipient-system-title   OCTET STRING,
//!     date-time                OCTET STRING,   -- empty, or a 12-byte COSEM date-time
//!     other-information        OCTET STRING,
//!     content                  OCTET STRING,
//!     signature                OCTET STRING    -- R ‖ S, 64 bytes with suite 1
//! }
//! ```
//!
//! A-XDR encoding: tag `DF`, then each field as `length value` (A-XDR length, no type
//! tag); an absent optional-looking field (date-time, other-information) is an empty
//! octet-string `00`.
//!
//! The signature covers "the length and the value of each field" before it (Green Book
//! figure "Structure of general-signing APDU"): the A-XDR encoding from transaction-id
//! through content, without the `DF` tag and without the signature field. See
//! [`GeneralSigning::signed_data`].
//!
//! The content travels in clear: signing gives authenticity and non-repudiation, not
//! confidentiality. When a party both ciphers and signs, it signs first and ciphers the
//! general-signing APDU (Green Book §9.2.7.3).

use crate::codec::{Codec, DecodeError, Reader, put_length};
use crate::security::keys::SystemTitle;
use crate::security::suite1::ecdsa::{self, Signature, SigningKey};
use crate::security::suite1::error::Suite1Error;
use crate::security::suite1::public_key::PublicKey;

/// The general-signing CHOICE tag, `[223]`.
pub const GENERAL_SIGNING_TAG: u8 = 0xDF;

/// A general-signing APDU. The fields hold the bytes as received, so an APDU with an
/// unusual field (a 0-byte originator, a 96-byte suite 2 signature) can be decoded and
/// reported; [`GeneralSigning::verify`] enforces what suite 1 requires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GeneralSigning {
    /// transaction-id: chosen by the originator, echoed in the response.
    pub transaction_id: Vec<u8>,
    /// originator-system-title: the party that applied the signature (8 bytes).
    pub originator_system_title: Vec<u8>,
    /// recipient-system-title: the party that shall verify it (8 bytes).
    pub recipient_system_title: Vec<u8>,
    /// date-time: empty, or a 12-byte COSEM date-time (IEC 62056-6-2 §4.1.6.1) of the
    /// signing.
    pub date_time: Vec<u8>,
    /// other-information: empty unless a companion specification defines it.
    pub other_information: Vec<u8>,
    /// content: the signed xDLMS APDU (possibly itself ciphered) or COSEM data.
    pub content: Vec<u8>,
    /// signature: ECDSA `R ‖ S` over [`GeneralSigning::signed_data`] (64 bytes with
    /// suite 1); empty before [`GeneralSigning::signed`].
    pub signature: Vec<u8>,
}

fn put_octet_string(out: &mut Vec<u8>, value: &[u8]) {
    put_length(out, value.len());
    out.extend_from_slice(value);
}

fn octet_string(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>, DecodeError> {
    let len = r.length(what, 1)?;
    Ok(r.take(len, what)?.to_vec())
}

impl GeneralSigning {
    /// An unsigned APDU with empty date-time and other-information, ready for
    /// [`GeneralSigning::signed`].
    pub fn new(transaction_id: Vec<u8>, originator: &SystemTitle, recipient: &SystemTitle, content: Vec<u8>) -> Self {
        GeneralSigning {
            transaction_id,
            originator_system_title: originator.as_bytes().to_vec(),
            recipient_system_title: recipient.as_bytes().to_vec(),
            date_time: Vec::new(),
            other_information: Vec::new(),
            content,
            signature: Vec::new(),
        }
    }

    /// The bytes the signature covers: `len ‖ transaction-id ‖ len ‖
    /// originator-system-title ‖ len ‖ recipient-system-title ‖ len ‖ date-time ‖ len ‖
    /// other-information ‖ len ‖ content`, each length an A-XDR length.
    pub fn signed_data(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            24 + self.transaction_id.len()
                + self.originator_system_title.len()
                + self.recipient_system_title.len()
                + self.date_time.len()
                + self.other_information.len()
                + self.content.len(),
        );
        self.put_signed_fields(&mut out);
        out
    }

    fn put_signed_fields(&self, out: &mut Vec<u8>) {
        put_octet_string(out, &self.transaction_id);
        put_octet_string(out, &self.originator_system_title);
        put_octet_string(out, &self.recipient_system_title);
        put_octet_string(out, &self.date_time);
        put_octet_string(out, &self.other_information);
        put_octet_string(out, &self.content);
    }

    /// This APDU signed by the originator with its private digital signature key
    /// (replaces any previous signature).
    pub fn signed(mut self, originator_key: &SigningKey) -> Self {
        self.signature = originator_key.sign(&self.signed_data()).as_bytes().to_vec();
        self
    }

    /// The originator's system title, to find its signature certificate.
    ///
    /// # Errors
    /// [`Suite1Error::Decode`] unless the field is 8 bytes long.
    pub fn originator(&self) -> Result<SystemTitle, Suite1Error> {
        SystemTitle::from_slice(&self.originator_system_title)
            .map_err(|_| Suite1Error::Decode(DecodeError::invalid("originator-system-title", "8 bytes expected")))
    }

    /// The recipient's system title; a recipient should check it is its own.
    ///
    /// # Errors
    /// [`Suite1Error::Decode`] unless the field is 8 bytes long.
    pub fn recipient(&self) -> Result<SystemTitle, Suite1Error> {
        SystemTitle::from_slice(&self.recipient_system_title)
            .map_err(|_| Suite1Error::Decode(DecodeError::invalid("recipient-system-title", "8 bytes expected")))
    }

    /// Verifies the signature with the originator's public digital signature key
    /// (IEC 62056-5-3 §9.2.7.2.5). Only after this succeeds may the content be used.
    ///
    /// # Errors
    /// [`Suite1Error::InvalidSignatureLength`] unless the signature is 64 bytes;
    /// [`Suite1Error::SignatureInvalid`] when it does not verify.
    pub fn verify(&self, originator_public_key: &PublicKey) -> Result<(), Suite1Error> {
        let sig = Signature::from_slice(&self.signature)?;
        ecdsa::verify(originator_public_key, &self.signed_data(), &sig)
    }
}

impl Codec for GeneralSigning {
    /// Appends `DF` and the seven A-XDR octet-strings.
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(GENERAL_SIGNING_TAG);
        self.put_signed_fields(out);
        put_octet_string(out, &self.signature);
    }

    /// # Errors
    /// [`DecodeError::UnknownTag`] unless the first byte is `DF`;
    /// [`DecodeError::Truncated`] / [`DecodeError::Oversized`] for a field whose length
    /// exceeds the input.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = r.u8("general-signing tag")?;
        if tag != GENERAL_SIGNING_TAG {
            return Err(DecodeError::UnknownTag { what: "general-signing APDU", tag });
        }
        Ok(GeneralSigning {
            transaction_id: octet_string(r, "transaction-id")?,
            originator_system_title: octet_string(r, "originator-system-title")?,
            recipient_system_title: octet_string(r, "recipient-system-title")?,
            date_time: octet_string(r, "date-time")?,
            other_information: octet_string(r, "other-information")?,
            content: octet_string(r, "content")?,
            signature: octet_string(r, "signature")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_layout() {
        let apdu = GeneralSigning {
            transaction_id: vec![0xAA],
            originator_system_title: vec![1; 8],
            recipient_system_title: vec![2; 8],
            date_time: vec![],
            other_information: vec![],
            content: vec![0xC0, 0x01],
            signature: vec![7; 64],
        };
        let b = apdu.to_bytes();
        assert_eq!(&b[..3], &[0xDF, 0x01, 0xAA]);
        assert_eq!(b[3], 8);
        assert_eq!(&b[21..26], &[0x00, 0x00, 0x02, 0xC0, 0x01]);
        assert_eq!(b[26], 64);
        assert_eq!(b.len(), 27 + 64);
        assert_eq!(apdu.signed_data(), b[1..26].to_vec());
        assert_eq!(GeneralSigning::from_bytes(&b), Ok(apdu));
        assert!(matches!(GeneralSigning::from_bytes(&[0xDB, 0]), Err(DecodeError::UnknownTag { tag: 0xDB, .. })));
    }
}
