//! `gridedge firmware`: the vendor's side of firmware updates, for tests and demos.
//!
//! * `keygen --out KEY`: a new ECDSA P-256 signing key (the vendor's). The private key is
//!   written to KEY as 64 hex digits (file mode 0600 on Unix) and never printed; the public
//!   key (64 bytes `x ‖ y`, hex) is printed — give it to `gridedge meter
//!   --fota-public-key`.
//! * `sign --key KEY --version V --payload FILE --out IMAGE`: a signed gridedge firmware
//!   image (format: `meter::firmware::image`): header with manufacturer, version and
//!   payload size, ECDSA P-256 / SHA-256 signature, payload.
//! * `inspect IMAGE [--public-key HEX]`: the header as JSON, and whether the signature
//!   verifies under the given key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use dlms::security::suite1::{PublicKey, SigningKey};
use meter::firmware::{FirmwareConfig, FirmwareImage, build_image};
use serde_json::json;

use super::decode::parse_hex;
use super::json::hex;

/// Arguments of `gridedge firmware`.
#[derive(Args)]
pub struct FirmwareArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: FirmwareAction,
}

/// `gridedge firmware` subcommands.
#[derive(Subcommand)]
pub enum FirmwareAction {
    /// Make a vendor signing key (ECDSA P-256).
    Keygen(KeygenArgs),
    /// Build a signed firmware image.
    Sign(SignArgs),
    /// Show an image's header and check its signature.
    Inspect(InspectArgs),
}

/// `gridedge firmware keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Where to write the private key (hex); refused if the file exists.
    #[arg(long)]
    pub out: PathBuf,
}

/// `gridedge firmware sign`.
#[derive(Args)]
pub struct SignArgs {
    /// The vendor's private key file (`gridedge firmware keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// Firmware version (1..=32 printable ASCII), e.g. GRD-1.1.0.
    #[arg(long)]
    pub version: String,
    /// The firmware payload (any bytes).
    #[arg(long)]
    pub payload: PathBuf,
    /// Where to write the image.
    #[arg(long)]
    pub out: PathBuf,
    /// Manufacturer id (3 letters) the meters check.
    #[arg(long, default_value = "GRD")]
    pub manufacturer: String,
}

/// `gridedge firmware inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// The image.
    pub image: PathBuf,
    /// The vendor's public key (64 bytes x ‖ y, hex) to verify with.
    #[arg(long)]
    pub public_key: Option<String>,
}

/// Reads a private key file written by `keygen`.
///
/// # Errors
/// Unreadable file, not 32 bytes of hex, not a valid P-256 scalar.
pub fn read_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = parse_hex(&text).with_context(|| format!("{} is not hex", path.display()))?;
    SigningKey::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Parses a public key given as hex of the 64 bytes `x ‖ y` (or 65 bytes with the SEC 1
/// prefix 04).
///
/// # Errors
/// Not hex, or not a point of P-256.
pub fn parse_public_key(s: &str) -> anyhow::Result<PublicKey> {
    let bytes = parse_hex(s).context("public key is not hex")?;
    let key = if bytes.len() == 65 { PublicKey::from_sec1(&bytes) } else { PublicKey::from_bytes(&bytes) };
    key.map_err(|e| anyhow!("public key: {e}"))
}

/// The firmware part of `gridedge meter`'s configuration: `--fota-public-key` (hex) and
/// `--firmware-version`.
///
/// # Errors
/// An invalid key or version.
pub fn meter_firmware(public_key: Option<&str>, version: Option<&str>) -> anyhow::Result<FirmwareConfig> {
    let mut config = FirmwareConfig::default();
    if let Some(k) = public_key {
        config.vendor_public_key = Some(parse_public_key(k).context("--fota-public-key")?);
    }
    if let Some(v) = version {
        config.version = v.to_string();
    }
    anyhow::ensure!(config.is_valid(), "--firmware-version must be 1..=32 printable ASCII characters");
    Ok(config)
}

fn write_new(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents)?;
    Ok(())
}

/// Runs the subcommand.
pub fn run(args: FirmwareArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        FirmwareAction::Keygen(a) => {
            let key = SigningKey::generate().map_err(|e| anyhow!("{e}"))?;
            write_new(&a.out, format!("{}\n", hex(&key.to_bytes())).as_bytes())?;
            super::emit(
                &json!({ "private_key_file": a.out, "public_key": hex(&key.public_key().to_bytes()) }).to_string(),
            )?;
        }
        FirmwareAction::Sign(a) => {
            let key = read_signing_key(&a.key)?;
            let payload = std::fs::read(&a.payload).with_context(|| format!("reading {}", a.payload.display()))?;
            let manufacturer: [u8; 3] =
                a.manufacturer.as_bytes().try_into().map_err(|_| anyhow!("--manufacturer must be 3 characters"))?;
            let image = build_image(manufacturer, &a.version, &payload, &key)?;
            std::fs::write(&a.out, &image).with_context(|| format!("writing {}", a.out.display()))?;
            super::emit(
                &json!({
                    "image": a.out,
                    "version": a.version,
                    "image_size": image.len(),
                    "payload_size": payload.len(),
                    "public_key": hex(&key.public_key().to_bytes()),
                })
                .to_string(),
            )?;
        }
        FirmwareAction::Inspect(a) => {
            let bytes = std::fs::read(&a.image).with_context(|| format!("reading {}", a.image.display()))?;
            let image = FirmwareImage::parse(&bytes)?;
            let mut out = json!({
                "manufacturer": String::from_utf8_lossy(&image.manufacturer),
                "version": image.version_str(),
                "image_size": bytes.len(),
                "payload_size": image.payload.len(),
                "signature": hex(&image.signature),
            });
            if let Some(k) = &a.public_key {
                let key = parse_public_key(k)?;
                let verdict = image.verify(image.manufacturer, &key);
                out["signature_valid"] = json!(verdict.is_ok());
                super::emit(&serde_json::to_string_pretty(&out)?)?;
                return Ok(if verdict.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(2) });
            }
            super::emit(&serde_json::to_string_pretty(&out)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
