//! Firmware update over the air: Image transfer (class 18, IEC 62056-6-2 §5.3.6 in the
//! 2016+ editions, and the image transfer process of its annex), always unicast to one
//! meter — broadcast addressing is refused, so each block is acknowledged by the meter.
//!
//! 1. read `image_block_size` (attribute 2), enable the transfer (attribute 5) if it is
//!    off, and `image_transfer_initiate` (method 1) with { image identifier, image size };
//! 2. `image_block_transfer` (method 2) for blocks 0..n of `image_block_size` bytes (the
//!    last one shorter);
//! 3. when the connection is lost (timeout, reset, refused connect) the HES associates
//!    again, reads `image_transfer_status` (attribute 6) and, the transfer still being
//!    initiated, resumes at `image_first_not_transferred_block_number` (attribute 4)
//!    without initiating again; up to [`FirmwareUpdate::max_reconnects`] times, each
//!    resume noted in the command's audit log;
//! 4. checks that no block is missing (attribute 4 = n, else sends the missing blocks
//!    named by attribute 3), `image_verify` (method 3): a meter that refuses the image
//!    (bad signature, wrong manufacturer; status (4) verification failed) fails the
//!    command with that reason and nothing is activated;
//! 5. `image_activate` (method 4), then reads `image_transfer_status` (expects (6)
//!    activation successful) and the active firmware identifier 1.0.0.2.0.255, which must
//!    equal the expected version when one is given.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use dlms::data::Data;

use super::CommandProgress;
use super::cosem::{ACTIVE_FIRMWARE_IDENTIFIER, IMAGE_TRANSFER, act, as_enum, as_u32, get, set};
use super::error::CommandError;
use crate::registry::MeterEndpoint;
use crate::session::{DlmsSession, SessionTimeouts};

/// HDLC all-station (broadcast) server addresses (1-byte 0x7F, 2-byte 0x3FFF) and the
/// wrapper's broadcast wPort 0x7F: never used for a firmware update.
pub const BROADCAST_SERVER_ADDRESSES: [u16; 2] = [0x7F, 0x3FFF];
/// Default number of reconnections after a lost connection.
pub const DEFAULT_MAX_RECONNECTS: u32 = 5;

/// A firmware update to carry out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareUpdate {
    /// The complete image (for a gridedge meter: a signed image, see
    /// `meter::firmware::image`). Not serialised: the command store keeps its size only.
    #[serde(skip)]
    pub image: Vec<u8>,
    /// image_identifier for `image_transfer_initiate` (a gridedge meter expects the
    /// firmware version).
    pub identifier: String,
    /// The firmware version the meter must report after activation (1.0.0.2.0.255).
    #[serde(default)]
    pub expected_version: Option<String>,
    /// Reconnections allowed after lost connections (default 5).
    #[serde(default = "default_max_reconnects")]
    pub max_reconnects: u32,
    /// Pause before the k-th reconnection: k × this, ms (default 500).
    #[serde(default = "default_reconnect_delay_ms")]
    pub reconnect_delay_ms: u64,
}

fn default_max_reconnects() -> u32 {
    DEFAULT_MAX_RECONNECTS
}

fn default_reconnect_delay_ms() -> u64 {
    500
}

impl FirmwareUpdate {
    /// An update of `image` identified as `identifier`, expecting that version afterwards,
    /// with the default reconnection policy.
    pub fn new(image: Vec<u8>, identifier: &str) -> FirmwareUpdate {
        FirmwareUpdate {
            image,
            identifier: identifier.to_string(),
            expected_version: Some(identifier.to_string()),
            max_reconnects: DEFAULT_MAX_RECONNECTS,
            reconnect_delay_ms: default_reconnect_delay_ms(),
        }
    }
}

/// What the update did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FotaReport {
    /// The image identifier.
    pub identifier: String,
    /// Image size, bytes.
    pub image_size: u32,
    /// The meter's image_block_size, bytes.
    pub block_size: u32,
    /// Number of blocks.
    pub blocks: u32,
    /// image_block_transfer invocations the meter accepted (a block cut off by a lost
    /// connection is not counted).
    pub blocks_sent: u64,
    /// Block numbers the transfer resumed at after each lost connection.
    pub resumed_from: Vec<u32>,
    /// Reconnections.
    pub reconnects: u32,
    /// Active firmware identifier before.
    pub version_before: String,
    /// Active firmware identifier after activation.
    pub version_after: String,
}

#[derive(Debug, Default)]
struct Progress {
    sent: bool,
    initiated: bool,
    blocks_sent: u64,
    resumed_from: Vec<u32>,
    reconnects: u32,
    version_before: Option<String>,
}

fn text(d: &Data) -> String {
    match d.as_bytes() {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => format!("{d:?}"),
    }
}

/// Transfers, verifies and activates `update.image` on the meter at `endpoint` (see the
/// module documentation).
///
/// # Errors
/// [`CommandError::Invalid`] (broadcast address, empty or oversized image; nothing sent),
/// session errors after the reconnections are used up, refused methods,
/// [`CommandError::NotConfirmed`] when verification fails or the version read back differs.
pub async fn update_firmware(
    endpoint: &MeterEndpoint,
    update: &FirmwareUpdate,
    timeouts: SessionTimeouts,
    progress: &dyn CommandProgress,
) -> Result<FotaReport, CommandError> {
    if BROADCAST_SERVER_ADDRESSES.contains(&endpoint.server_sap) {
        return Err(CommandError::Invalid("firmware updates are never sent to a broadcast address".into()));
    }
    if update.image.is_empty() || u32::try_from(update.image.len()).is_err() {
        return Err(CommandError::Invalid(format!("image of {} bytes", update.image.len())));
    }
    let mut state = Progress::default();
    loop {
        match attempt(endpoint, update, timeouts, progress, &mut state).await {
            Ok(report) => return Ok(report),
            Err(e) if e.is_link_failure() && state.reconnects < update.max_reconnects => {
                state.reconnects += 1;
                tracing::warn!(meter = %endpoint.serial, error = %e, reconnect = state.reconnects, "firmware transfer interrupted");
                progress.note(&serde_json::json!({
                    "event": "connection lost",
                    "error": e.to_string(),
                    "reconnect": state.reconnects,
                }));
                let pause = update.reconnect_delay_ms.saturating_mul(u64::from(state.reconnects));
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn attempt(
    endpoint: &MeterEndpoint,
    update: &FirmwareUpdate,
    timeouts: SessionTimeouts,
    progress: &dyn CommandProgress,
    state: &mut Progress,
) -> Result<FotaReport, CommandError> {
    let image = &update.image;
    let size = image.len() as u32;
    let mut s = DlmsSession::open(endpoint, timeouts).await?;
    if !state.sent {
        progress.sent();
        state.sent = true;
    }
    if state.version_before.is_none() {
        state.version_before = Some(text(&get(&mut s, ACTIVE_FIRMWARE_IDENTIFIER, 2).await?));
    }
    let block_size = as_u32(&get(&mut s, IMAGE_TRANSFER, 2).await?, "image_block_size")?;
    if block_size == 0 {
        return Err(CommandError::Value { what: "image_block_size", detail: "0".into() });
    }
    let blocks = size.div_ceil(block_size);
    if get(&mut s, IMAGE_TRANSFER, 5).await? != Data::Boolean(true) {
        set(&mut s, IMAGE_TRANSFER, 5, Data::Boolean(true), "image_transfer_enabled").await?;
    }
    let status = as_enum(&get(&mut s, IMAGE_TRANSFER, 6).await?, "image_transfer_status")?;
    let start = if state.initiated && status == 1 {
        let n = as_u32(&get(&mut s, IMAGE_TRANSFER, 4).await?, "image_first_not_transferred_block_number")?;
        state.resumed_from.push(n);
        progress.note(&serde_json::json!({ "event": "resumed", "first_not_transferred_block": n, "blocks": blocks }));
        n
    } else {
        let initiate = Data::Structure(vec![
            Data::OctetString(update.identifier.as_bytes().to_vec()),
            Data::DoubleLongUnsigned(size),
        ]);
        act(&mut s, IMAGE_TRANSFER, 1, Some(initiate), "image_transfer_initiate").await?;
        state.initiated = true;
        progress.note(&serde_json::json!({ "event": "initiated", "image_size": size, "block_size": block_size, "blocks": blocks }));
        0
    };
    let block = |n: u32| {
        let from = n as usize * block_size as usize;
        let to = (from + block_size as usize).min(image.len());
        Data::Structure(vec![Data::DoubleLongUnsigned(n), Data::OctetString(image[from..to].to_vec())])
    };
    for n in start..blocks {
        act(&mut s, IMAGE_TRANSFER, 2, Some(block(n)), "image_block_transfer").await?;
        state.blocks_sent += 1;
    }
    // Blocks the meter does not have (e.g. lost before a resume point it reported).
    for _ in 0..2 {
        let first = as_u32(&get(&mut s, IMAGE_TRANSFER, 4).await?, "image_first_not_transferred_block_number")?;
        if first >= blocks {
            break;
        }
        let missing: Vec<u32> = match get(&mut s, IMAGE_TRANSFER, 3).await? {
            Data::BitString(bits) => (first..blocks).filter(|n| !bits.get(*n as usize)).collect(),
            other => {
                return Err(CommandError::Value {
                    what: "image_transferred_blocks_status",
                    detail: format!("{other:?}"),
                });
            }
        };
        for n in missing {
            act(&mut s, IMAGE_TRANSFER, 2, Some(block(n)), "image_block_transfer").await?;
            state.blocks_sent += 1;
        }
    }
    if let Err(e) = act(&mut s, IMAGE_TRANSFER, 3, Some(Data::Integer(0)), "image_verify").await {
        if let CommandError::ActionRefused { .. } = e {
            let status = as_enum(&get(&mut s, IMAGE_TRANSFER, 6).await?, "image_transfer_status")?;
            s.release().await.ok();
            return Err(CommandError::NotConfirmed(match status {
                4 => "image_verify failed: the meter refused the image (image_transfer_status (4) verification failed)"
                    .to_string(),
                other => format!("image_verify refused, image_transfer_status {other}"),
            }));
        }
        return Err(e);
    }
    act(&mut s, IMAGE_TRANSFER, 4, Some(Data::Integer(0)), "image_activate").await?;
    let status = as_enum(&get(&mut s, IMAGE_TRANSFER, 6).await?, "image_transfer_status")?;
    let version_after = text(&get(&mut s, ACTIVE_FIRMWARE_IDENTIFIER, 2).await?);
    s.release().await?;
    if status != 6 {
        return Err(CommandError::NotConfirmed(format!("image_transfer_status {status} after image_activate")));
    }
    if let Some(expected) = &update.expected_version {
        if *expected != version_after {
            return Err(CommandError::NotConfirmed(format!(
                "active firmware identifier reads {version_after:?}, expected {expected:?}"
            )));
        }
    }
    Ok(FotaReport {
        identifier: update.identifier.clone(),
        image_size: size,
        block_size,
        blocks,
        blocks_sent: state.blocks_sent,
        resumed_from: state.resumed_from.clone(),
        reconnects: state.reconnects,
        version_before: state.version_before.clone().unwrap_or_default(),
        version_after,
    })
}
