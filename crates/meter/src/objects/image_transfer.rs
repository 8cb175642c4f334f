//! Image transfer (interface class 18 version 0, IEC 62056-6-2 §5.3.6 in the 2016+ editions;
//! the image transfer process of its Annex), logical name 0.0.44.0.0.255: firmware update.
//!
//! | id | attribute | type | access |
//! |---|---|---|---|
//! | 2 | image_block_size | double-long-unsigned, bytes | R |
//! | 3 | image_transferred_blocks_status | bit-string, bit n = block n received | R |
//! | 4 | image_first_not_transferred_block_number | double-long-unsigned | R |
//! | 5 | image_transfer_enabled | boolean | RW |
//! | 6 | image_transfer_status | enum (0) not initiated, (1) initiated, (2) verification initiated, (3) verification successful, (4) verification failed, (5) activation initiated, (6) activation successful, (7) activation failed | R |
//! | 7 | image_to_activate_info | array of { image_to_activate_size double-long-unsigned, image_to_activate_identification octet-string, image_to_activate_signature octet-string } | R |
//!
//! Methods: 1 `image_transfer_initiate` (structure { image_identifier octet-string,
//! image_size double-long-unsigned }), 2 `image_block_transfer` (structure {
//! image_block_number double-long-unsigned, image_block_value octet-string }), 3
//! `image_verify` and 4 `image_activate` (data integer (0)).
//!
//! The image is a signed gridedge firmware image ([`crate::firmware::image`]); verification
//! checks its format, manufacturer and ECDSA P-256 signature under the vendor key the meter
//! holds, and `image_verify` fails (status (4) verification failed) when any of these does
//! not hold. Activation makes the image's firmware version the meter's active firmware
//! identifier (Data 1.0.0.2.0.255).
//!
//! Behaviour where the standard leaves a choice:
//! * Blocks may arrive in any order and more than once (a repeated block overwrites); the
//!   transfer survives the loss of the association and of the TCP connection, so a client
//!   resumes from `image_first_not_transferred_block_number` without a new initiate.
//!   Initiating again (any identifier or size) starts over.
//! * Every block is `image_block_size` bytes except the last (the rest of the image).
//!   A block number beyond the image, a block of the wrong length, or a block while no
//!   transfer is initiated: `other-reason`, nothing stored.
//! * `image_verify` with blocks missing answers `other-reason` and leaves the transfer
//!   initiated (the client may complete it); a complete image that fails verification
//!   answers `other-reason` with status (4). Verification is synchronous (never
//!   `temporary-failure`).
//! * `image_activate` of an initiated, complete image verifies it first; activation needs a
//!   successful verification, else `other-reason` (status (7) when the verification failed).
//! * With `image_transfer_enabled` false, initiate and block transfer answer
//!   `other-reason`.
//! * Images up to [`MAX_IMAGE_SIZE`] bytes.

use dlms::Data;
use dlms::Obis;
use dlms::data::BitString;
use dlms::xdlms::ActionResult;

use crate::firmware::FirmwareConfig;
use crate::firmware::image::FirmwareImage;

/// Interface class id of Image transfer.
pub const CLASS_IMAGE_TRANSFER: u16 = 18;
/// Logical name of the meter's Image transfer object, 0.0.44.0.0.255.
pub const IMAGE_TRANSFER: Obis = Obis::new(0, 0, 44, 0, 0, 255);
/// Logical name of the active firmware identifier (Data, class 1), 1.0.0.2.0.255.
pub const ACTIVE_FIRMWARE_IDENTIFIER: Obis = Obis::new(1, 0, 0, 2, 0, 255);
/// Largest image accepted, bytes (4 MiB).
pub const MAX_IMAGE_SIZE: u32 = 4 * 1024 * 1024;
/// Longest image identifier accepted, bytes.
pub const MAX_IDENTIFIER_LEN: usize = 64;

/// Attribute 6 `image_transfer_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ImageTransferStatus {
    /// (0) image transfer not initiated.
    NotInitiated = 0,
    /// (1) image transfer initiated.
    Initiated = 1,
    /// (2) image verification initiated.
    VerificationInitiated = 2,
    /// (3) image verification successful.
    VerificationSuccessful = 3,
    /// (4) image verification failed.
    VerificationFailed = 4,
    /// (5) image activation initiated.
    ActivationInitiated = 5,
    /// (6) image activation successful.
    ActivationSuccessful = 6,
    /// (7) image activation failed.
    ActivationFailed = 7,
}

impl ImageTransferStatus {
    /// The status with enumeration value `v`, `None` outside 0..=7.
    pub fn from_u8(v: u8) -> Option<ImageTransferStatus> {
        use ImageTransferStatus::*;
        Some(match v {
            0 => NotInitiated,
            1 => Initiated,
            2 => VerificationInitiated,
            3 => VerificationSuccessful,
            4 => VerificationFailed,
            5 => ActivationInitiated,
            6 => ActivationSuccessful,
            7 => ActivationFailed,
            _ => return None,
        })
    }
}

/// A verified image: (size, identification, signature, firmware version).
type VerifiedImage = (u32, Vec<u8>, Vec<u8>, String);

/// The image being transferred.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Transfer {
    identifier: Vec<u8>,
    size: u32,
    received: Vec<bool>,
    data: Vec<u8>,
}

/// Counters of what the object received (for tests and diagnostics; not COSEM attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImageTransferStatistics {
    /// image_transfer_initiate invocations accepted.
    pub initiates: u32,
    /// image_block_transfer invocations accepted (repeats included).
    pub blocks_accepted: u64,
    /// Accepted blocks that had been received before.
    pub blocks_repeated: u64,
}

/// The Image transfer object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTransfer {
    block_size: u32,
    enabled: bool,
    status: ImageTransferStatus,
    transfer: Option<Box<Transfer>>,
    /// (size, identification, signature, firmware version) once verified.
    to_activate: Option<Box<VerifiedImage>>,
    statistics: ImageTransferStatistics,
}

impl ImageTransfer {
    /// An idle object with `image_block_size` = `block_size` bytes, transfer enabled.
    pub fn new(block_size: u32) -> ImageTransfer {
        ImageTransfer {
            block_size: block_size.max(1),
            enabled: true,
            status: ImageTransferStatus::NotInitiated,
            transfer: None,
            to_activate: None,
            statistics: ImageTransferStatistics::default(),
        }
    }

    /// Attribute 6.
    pub fn status(&self) -> ImageTransferStatus {
        self.status
    }

    /// The counters.
    pub fn statistics(&self) -> ImageTransferStatistics {
        self.statistics
    }

    fn block_count(&self, size: u32) -> u32 {
        size.div_ceil(self.block_size)
    }

    /// Attribute 4: the lowest block number not received (the block count when complete, 0
    /// without a transfer).
    pub fn first_not_transferred(&self) -> u32 {
        self.transfer.as_ref().map_or(0, |t| t.received.iter().position(|r| !r).unwrap_or(t.received.len()) as u32)
    }

    /// Attribute value 2..=7 (`None` for other indices).
    pub fn attribute(&self, id: i8) -> Option<Data> {
        Some(match id {
            2 => Data::DoubleLongUnsigned(self.block_size),
            3 => Data::BitString(BitString::from_bools(self.transfer.as_ref().map_or(&[][..], |t| &t.received))),
            4 => Data::DoubleLongUnsigned(self.first_not_transferred()),
            5 => Data::Boolean(self.enabled),
            6 => Data::Enum(self.status as u8),
            7 => Data::Array(
                self.to_activate
                    .iter()
                    .map(|info| {
                        let (size, id, sig, _) = &**info;
                        Data::Structure(vec![
                            Data::DoubleLongUnsigned(*size),
                            Data::OctetString(id.clone()),
                            Data::OctetString(sig.clone()),
                        ])
                    })
                    .collect(),
            ),
            _ => return None,
        })
    }

    /// SET of attribute 5 `image_transfer_enabled` (boolean).
    ///
    /// # Errors
    /// `type-unmatched` for another type.
    pub fn set_enabled(&mut self, value: &Data) -> Result<(), dlms::xdlms::DataAccessResult> {
        let Data::Boolean(b) = value else { return Err(dlms::xdlms::DataAccessResult::TypeUnmatched) };
        self.enabled = *b;
        Ok(())
    }

    /// Methods 1..=4 (see the module documentation). `Ok(Some(version))` after a successful
    /// `image_activate`: the firmware version that is now active.
    ///
    /// # Errors
    /// `type-unmatched` for a malformed parameter, `other-reason` for a refused step,
    /// `object-unavailable` for other methods.
    pub fn invoke(
        &mut self,
        method_id: i8,
        param: Option<&Data>,
        firmware: &FirmwareConfig,
    ) -> Result<Option<String>, ActionResult> {
        match method_id {
            1 => self.initiate(param).map(|()| None),
            2 => self.block(param).map(|()| None),
            3 => {
                check_integer(param)?;
                self.verify(firmware).map(|()| None)
            }
            4 => {
                check_integer(param)?;
                self.activate(firmware).map(Some)
            }
            _ => Err(ActionResult::ObjectUnavailable),
        }
    }

    fn initiate(&mut self, param: Option<&Data>) -> Result<(), ActionResult> {
        let Some([Data::OctetString(identifier), Data::DoubleLongUnsigned(size)]) =
            param.and_then(Data::as_sequence).and_then(|s| <&[Data; 2]>::try_from(s).ok())
        else {
            return Err(ActionResult::TypeUnmatched);
        };
        if !self.enabled || *size == 0 || *size > MAX_IMAGE_SIZE || identifier.len() > MAX_IDENTIFIER_LEN {
            return Err(ActionResult::OtherReason);
        }
        let blocks = self.block_count(*size) as usize;
        self.transfer = Some(Box::new(Transfer {
            identifier: identifier.clone(),
            size: *size,
            received: vec![false; blocks],
            data: vec![0; *size as usize],
        }));
        self.to_activate = None;
        self.status = ImageTransferStatus::Initiated;
        self.statistics.initiates += 1;
        Ok(())
    }

    fn block(&mut self, param: Option<&Data>) -> Result<(), ActionResult> {
        let Some([Data::DoubleLongUnsigned(n), Data::OctetString(value)]) =
            param.and_then(Data::as_sequence).and_then(|s| <&[Data; 2]>::try_from(s).ok())
        else {
            return Err(ActionResult::TypeUnmatched);
        };
        let block_size = self.block_size as usize;
        let (true, ImageTransferStatus::Initiated, Some(t)) = (self.enabled, self.status, self.transfer.as_mut())
        else {
            return Err(ActionResult::OtherReason);
        };
        let n = *n as usize;
        let start = n.checked_mul(block_size).ok_or(ActionResult::OtherReason)?;
        let end = (start + block_size).min(t.size as usize);
        if n >= t.received.len() || value.len() != end.saturating_sub(start) {
            return Err(ActionResult::OtherReason);
        }
        let (Some(slot), Some(flag)) = (t.data.get_mut(start..end), t.received.get_mut(n)) else {
            return Err(ActionResult::OtherReason);
        };
        slot.copy_from_slice(value);
        if *flag {
            self.statistics.blocks_repeated += 1;
        }
        *flag = true;
        self.statistics.blocks_accepted += 1;
        Ok(())
    }

    fn verify(&mut self, firmware: &FirmwareConfig) -> Result<(), ActionResult> {
        match self.status {
            ImageTransferStatus::VerificationSuccessful => return Ok(()),
            ImageTransferStatus::Initiated | ImageTransferStatus::VerificationFailed => {}
            _ => return Err(ActionResult::OtherReason),
        }
        let Some(t) = self.transfer.as_ref() else { return Err(ActionResult::OtherReason) };
        if t.received.iter().any(|r| !r) {
            return Err(ActionResult::OtherReason);
        }
        self.status = ImageTransferStatus::VerificationInitiated;
        let verdict = FirmwareImage::parse(&t.data).and_then(|img| {
            let key = firmware.vendor_public_key.as_ref().ok_or(crate::firmware::ImageError::SignatureInvalid)?;
            img.verify(firmware.manufacturer, key)?;
            Ok((img.signature.to_vec(), img.version_str()))
        });
        match verdict {
            Ok((signature, version)) => {
                self.to_activate = Some(Box::new((t.size, t.identifier.clone(), signature, version)));
                self.status = ImageTransferStatus::VerificationSuccessful;
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "firmware image refused");
                self.status = ImageTransferStatus::VerificationFailed;
                Err(ActionResult::OtherReason)
            }
        }
    }

    fn activate(&mut self, firmware: &FirmwareConfig) -> Result<String, ActionResult> {
        if self.status == ImageTransferStatus::Initiated && self.verify(firmware).is_err() {
            if self.status == ImageTransferStatus::VerificationFailed {
                self.status = ImageTransferStatus::ActivationFailed;
            }
            return Err(ActionResult::OtherReason);
        }
        if self.status != ImageTransferStatus::VerificationSuccessful {
            return Err(ActionResult::OtherReason);
        }
        let Some(info) = self.to_activate.as_ref() else { return Err(ActionResult::OtherReason) };
        let version = info.3.clone();
        self.status = ImageTransferStatus::ActivationInitiated;
        // The image is now the running firmware: the received copy is no longer needed.
        self.transfer = None;
        self.status = ImageTransferStatus::ActivationSuccessful;
        Ok(version)
    }
}

fn check_integer(param: Option<&Data>) -> Result<(), ActionResult> {
    match param {
        None | Some(Data::Integer(_)) => Ok(()),
        Some(_) => Err(ActionResult::TypeUnmatched),
    }
}
