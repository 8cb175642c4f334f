//! Firmware of the simulated meter: the signed image format the Image transfer object
//! (interface class 18, [`crate::objects::image_transfer`]) accepts, and the meter's
//! firmware identity.
//!
//! | module | holds |
//! |---|---|
//! | [`image`] | the gridedge firmware image format v1: header (manufacturer, firmware version, payload size, ECDSA P-256 / SHA-256 signature) + payload; building, parsing, verifying |
//!
//! The vendor signs images with its private key ([`image::build_image`], used by
//! `gridedge firmware sign`); the meter holds the vendor's public key
//! ([`FirmwareConfig::vendor_public_key`]) and `image_verify` refuses an image whose
//! signature does not verify under it. After `image_activate`, the active firmware
//! identifier (Data 1.0.0.2.0.255) reads the image's firmware version.

pub mod image;

use dlms::security::suite1::PublicKey;

pub use image::{FirmwareImage, ImageError, build_image};

/// Default firmware version of a new meter (Data 1.0.0.2.0.255).
pub const DEFAULT_FIRMWARE_VERSION: &str = "GRD-1.0.0";
/// Default `image_block_size`, bytes: fits a block transfer in the meter's 1024-byte APDUs.
pub const DEFAULT_IMAGE_BLOCK_SIZE: u32 = 512;

/// The firmware side of a meter's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareConfig {
    /// The firmware version the meter starts with (1..=32 printable ASCII characters).
    pub version: String,
    /// The manufacturer id images must carry (3 letters, like a FLAG id; default "GRD").
    pub manufacturer: [u8; 3],
    /// The vendor's ECDSA P-256 public key images must be signed with. `None`: the meter
    /// cannot verify any image, so every image_verify fails.
    pub vendor_public_key: Option<PublicKey>,
    /// Image transfer attribute 2 `image_block_size`, bytes (16..=4096).
    pub image_block_size: u32,
}

impl Default for FirmwareConfig {
    fn default() -> Self {
        FirmwareConfig {
            version: DEFAULT_FIRMWARE_VERSION.to_string(),
            manufacturer: *b"GRD",
            vendor_public_key: None,
            image_block_size: DEFAULT_IMAGE_BLOCK_SIZE,
        }
    }
}

impl FirmwareConfig {
    /// Whether the version is 1..=32 printable ASCII characters and the block size is in
    /// 16..=4096.
    pub fn is_valid(&self) -> bool {
        image::valid_version(self.version.as_bytes()) && (16..=4096).contains(&self.image_block_size)
    }
}
