//! The gridedge firmware image format, version 1: what the head-end transfers block by
//! block through the Image transfer object and what the meter verifies before activation.
//!
//! All integers are big-endian; offsets in bytes, `L` = version length, `N` = payload
//! length:
//!
//! | offset | length | field |
//! |---|---|---|
//! | 0 | 4 | magic `GEFW` |
//! | 4 | 1 | format version = 1 |
//! | 5 | 3 | manufacturer id (3 ASCII letters, e.g. `GRD`) |
//! | 8 | 4 | payload length `N` |
//! | 12 | 1 | firmware version length `L` (1..=32) |
//! | 13 | L | firmware version (printable ASCII, e.g. `GRD-1.1.0`) |
//! | 13 + L | 64 | signature `R ‖ S`: ECDSA P-256 over SHA-256 (FIPS 186-4; the plain format of IEC 62056-5-3 §9.2.3.4.5) of bytes `0 .. 13 + L` followed by the payload |
//! | 77 + L | N | payload (the firmware proper) |
//!
//! The header covers everything the meter relies on (manufacturer, version, length), and
//! the signature binds it to the payload: changing any byte outside the signature field
//! makes verification fail. The image size is `77 + L + N`; `image_transfer_initiate`
//! announces exactly that, and the image identifier the head-end uses is the firmware
//! version.

use dlms::security::suite1::PublicKey;
use dlms::security::suite1::ecdsa::{Signature, SigningKey, verify};
use thiserror::Error;

/// Magic number at offset 0.
pub const MAGIC: &[u8; 4] = b"GEFW";
/// The format version this module writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Longest firmware version string, bytes.
pub const MAX_VERSION_LEN: usize = 32;
/// Length of the signature field, bytes.
pub const SIGNATURE_LEN: usize = 64;
/// Largest payload accepted, bytes (16 MiB).
pub const MAX_PAYLOAD_LEN: usize = 16 * 1024 * 1024;
/// Header length without the version string and the signature.
const FIXED_LEN: usize = 13;

/// Why an image is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImageError {
    /// Shorter than its header says.
    #[error("image truncated: {len} bytes, header needs {needed}")]
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes the header and payload need.
        needed: usize,
    },
    /// Not a gridedge firmware image.
    #[error("not a gridedge firmware image (magic)")]
    BadMagic,
    /// A format version this meter does not know.
    #[error("unsupported image format version {0}")]
    UnsupportedFormat(u8),
    /// The version string is empty, too long or not printable ASCII.
    #[error("invalid firmware version string")]
    InvalidVersion,
    /// Bytes after the payload.
    #[error("image has {0} bytes after the payload")]
    TrailingBytes(usize),
    /// Payload larger than [`MAX_PAYLOAD_LEN`].
    #[error("payload of {0} bytes is larger than {MAX_PAYLOAD_LEN}")]
    TooLarge(usize),
    /// The image is for another manufacturer's meters.
    #[error("image is for manufacturer {0:?}")]
    WrongManufacturer([u8; 3]),
    /// The signature does not verify under the vendor's public key.
    #[error("signature does not verify")]
    SignatureInvalid,
}

/// Whether `v` is a usable firmware version: 1..=32 printable ASCII characters.
pub fn valid_version(v: &[u8]) -> bool {
    !v.is_empty() && v.len() <= MAX_VERSION_LEN && v.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
}

/// A parsed (not yet verified) image: header fields and where the parts are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareImage<'a> {
    /// Manufacturer id.
    pub manufacturer: [u8; 3],
    /// Firmware version string.
    pub version: &'a [u8],
    /// The signature field.
    pub signature: [u8; SIGNATURE_LEN],
    /// The payload.
    pub payload: &'a [u8],
    /// The signed header part (offsets `0 .. 13 + L`).
    signed_header: &'a [u8],
}

impl<'a> FirmwareImage<'a> {
    /// Parses an image (layout in the module documentation) without checking the signature.
    ///
    /// # Errors
    /// [`ImageError::Truncated`], [`ImageError::BadMagic`], [`ImageError::UnsupportedFormat`],
    /// [`ImageError::InvalidVersion`], [`ImageError::TooLarge`], [`ImageError::TrailingBytes`].
    pub fn parse(bytes: &'a [u8]) -> Result<FirmwareImage<'a>, ImageError> {
        let truncated = |needed: usize| ImageError::Truncated { len: bytes.len(), needed };
        let fixed = bytes.get(..FIXED_LEN).ok_or_else(|| truncated(FIXED_LEN))?;
        if &fixed[..4] != MAGIC {
            return Err(ImageError::BadMagic);
        }
        if fixed[4] != FORMAT_VERSION {
            return Err(ImageError::UnsupportedFormat(fixed[4]));
        }
        let manufacturer = [fixed[5], fixed[6], fixed[7]];
        let payload_len = u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]) as usize;
        if payload_len > MAX_PAYLOAD_LEN {
            return Err(ImageError::TooLarge(payload_len));
        }
        let version_len = usize::from(fixed[12]);
        let header_len = FIXED_LEN + version_len;
        let needed = header_len + SIGNATURE_LEN + payload_len;
        let signed_header = bytes.get(..header_len).ok_or_else(|| truncated(needed))?;
        let version = &signed_header[FIXED_LEN..];
        if !valid_version(version) {
            return Err(ImageError::InvalidVersion);
        }
        let signature_bytes = bytes.get(header_len..header_len + SIGNATURE_LEN).ok_or_else(|| truncated(needed))?;
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(signature_bytes);
        let payload = bytes.get(header_len + SIGNATURE_LEN..needed).ok_or_else(|| truncated(needed))?;
        if bytes.len() > needed {
            return Err(ImageError::TrailingBytes(bytes.len() - needed));
        }
        Ok(FirmwareImage { manufacturer, version, signature, payload, signed_header })
    }

    /// The firmware version as text.
    pub fn version_str(&self) -> String {
        String::from_utf8_lossy(self.version).into_owned()
    }

    /// The signed message: header (without the signature) followed by the payload.
    fn signed_message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(self.signed_header.len() + self.payload.len());
        m.extend_from_slice(self.signed_header);
        m.extend_from_slice(self.payload);
        m
    }

    /// Checks the manufacturer and the signature under `vendor_key`.
    ///
    /// # Errors
    /// [`ImageError::WrongManufacturer`], [`ImageError::SignatureInvalid`].
    pub fn verify(&self, manufacturer: [u8; 3], vendor_key: &PublicKey) -> Result<(), ImageError> {
        if self.manufacturer != manufacturer {
            return Err(ImageError::WrongManufacturer(self.manufacturer));
        }
        verify(vendor_key, &self.signed_message(), &Signature(self.signature)).map_err(|_| ImageError::SignatureInvalid)
    }
}

/// Builds a signed image of `payload` with firmware version `version` for `manufacturer`,
/// signed with the vendor's `key` (deterministic ECDSA, RFC 6979).
///
/// # Errors
/// [`ImageError::InvalidVersion`], [`ImageError::TooLarge`].
pub fn build_image(
    manufacturer: [u8; 3],
    version: &str,
    payload: &[u8],
    key: &SigningKey,
) -> Result<Vec<u8>, ImageError> {
    if !valid_version(version.as_bytes()) {
        return Err(ImageError::InvalidVersion);
    }
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(ImageError::TooLarge(payload.len()));
    }
    let mut out = Vec::with_capacity(FIXED_LEN + version.len() + SIGNATURE_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&manufacturer);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.push(version.len() as u8);
    out.extend_from_slice(version.as_bytes());
    let mut message = out.clone();
    message.extend_from_slice(payload);
    out.extend_from_slice(key.sign(&message).as_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SigningKey {
        SigningKey::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn layout_and_verification() {
        let k = key(7);
        let img = build_image(*b"GRD", "GRD-1.1.0", b"firmware payload", &k).unwrap();
        assert_eq!(img.len(), 77 + 9 + 16);
        assert_eq!(&img[..4], b"GEFW");
        assert_eq!(&img[8..12], &16u32.to_be_bytes());
        let p = FirmwareImage::parse(&img).unwrap();
        assert_eq!((p.version, p.payload), (&b"GRD-1.1.0"[..], &b"firmware payload"[..]));
        assert_eq!(p.verify(*b"GRD", &k.public_key()), Ok(()));
        assert_eq!(p.verify(*b"GRD", &key(8).public_key()), Err(ImageError::SignatureInvalid));
        assert_eq!(p.verify(*b"XYZ", &k.public_key()), Err(ImageError::WrongManufacturer(*b"GRD")));
        // Any changed byte outside the signature field breaks the signature.
        for i in [0usize, 10, 13, img.len() - 1] {
            let mut bad = img.clone();
            bad[i] ^= 0x01;
            match FirmwareImage::parse(&bad) {
                Ok(p) => assert_eq!(p.verify(*b"GRD", &k.public_key()), Err(ImageError::SignatureInvalid), "{i}"),
                Err(_) => assert!(i < 13, "byte {i} must still parse"),
            }
        }
    }

    #[test]
    fn malformed_images_are_refused() {
        let img = build_image(*b"GRD", "v2", b"abc", &key(3)).unwrap();
        assert_eq!(FirmwareImage::parse(&img[..5]), Err(ImageError::Truncated { len: 5, needed: 13 }));
        assert!(matches!(FirmwareImage::parse(&img[..img.len() - 1]), Err(ImageError::Truncated { .. })));
        let mut long = img.clone();
        long.push(0);
        assert_eq!(FirmwareImage::parse(&long), Err(ImageError::TrailingBytes(1)));
        let mut magic = img.clone();
        magic[0] = b'X';
        assert_eq!(FirmwareImage::parse(&magic), Err(ImageError::BadMagic));
        let mut format = img;
        format[4] = 2;
        assert_eq!(FirmwareImage::parse(&format), Err(ImageError::UnsupportedFormat(2)));
        assert_eq!(build_image(*b"GRD", "", b"", &key(3)), Err(ImageError::InvalidVersion));
        assert_eq!(build_image(*b"GRD", "bad\nversion", b"", &key(3)), Err(ImageError::InvalidVersion));
    }
}
