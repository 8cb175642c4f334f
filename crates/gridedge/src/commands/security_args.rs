//! Command-line options for DLMS security suite 0 (IEC 62056-5-3 §9.2): keys, system
//! titles and the invocation-counter file, shared by `gridedge meter` and `gridedge read`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use dlms::security::{AesKey, FileCounterStore, GlobalKeys, SecuritySettings, SystemTitle, shared_store};

use super::decode::parse_hex;

/// Suite 0 key material. Keys are read from the command line or the environment
/// (`GRIDEDGE_KEY_ENCRYPTION`, `GRIDEDGE_KEY_AUTHENTICATION`) and never printed.
#[derive(Args, Clone, Default)]
pub struct SecurityArgs {
    /// Global unicast encryption key, 16 bytes hex (suite 0, AES-128).
    #[arg(long, env = "GRIDEDGE_KEY_ENCRYPTION", hide_env_values = true)]
    pub key_encryption: Option<String>,
    /// Authentication key, 16 bytes hex.
    #[arg(long, env = "GRIDEDGE_KEY_AUTHENTICATION", hide_env_values = true)]
    pub key_authentication: Option<String>,
    /// This side's system title, 8 bytes hex (3-letter manufacturer id + 5 bytes).
    #[arg(long)]
    pub system_title: Option<String>,
    /// The peer's system title, 8 bytes hex: the association is refused if the peer
    /// presents another one. Default: learned from the AARQ/AARE.
    #[arg(long)]
    pub peer_system_title: Option<String>,
    /// File keeping invocation counters across runs (written atomically). Default:
    /// counters in memory; a meter that remembers a higher counter then tells the
    /// client, which raises its counter once and associates again.
    #[arg(long)]
    pub counter_file: Option<PathBuf>,
}

fn key(hex: &str, what: &str) -> anyhow::Result<AesKey> {
    let bytes = parse_hex(hex).with_context(|| format!("{what} is not hex"))?;
    AesKey::from_slice(&bytes).map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

fn title(hex: &str, what: &str) -> anyhow::Result<SystemTitle> {
    let bytes = parse_hex(hex).with_context(|| format!("{what} is not hex"))?;
    SystemTitle::from_slice(&bytes).map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

/// Parses the meter's master key (KEK) of Security setup key_transfer, 16 bytes hex.
///
/// # Errors
/// Not hex or not 16 bytes.
pub fn master_key(hex: &str) -> anyhow::Result<AesKey> {
    key(hex, "--key-master")
}

impl SecurityArgs {
    /// True when any key was given.
    pub fn has_keys(&self) -> bool {
        self.key_encryption.is_some() || self.key_authentication.is_some()
    }

    /// Builds the suite 0 settings, `default_title` being this side's system title when
    /// `--system-title` is absent.
    ///
    /// # Errors
    /// Missing or malformed keys or titles, an unreadable counter file.
    pub fn settings(&self, default_title: SystemTitle) -> anyhow::Result<SecuritySettings> {
        let (Some(ek), Some(ak)) = (&self.key_encryption, &self.key_authentication) else {
            bail!("suite 0 needs both --key-encryption and --key-authentication");
        };
        let own = match &self.system_title {
            Some(t) => title(t, "--system-title")?,
            None => default_title,
        };
        let mut settings =
            SecuritySettings::new(GlobalKeys::new(key(ek, "--key-encryption")?, key(ak, "--key-authentication")?), own);
        if let Some(peer) = &self.peer_system_title {
            settings = settings.with_peer_system_title(title(peer, "--peer-system-title")?);
        }
        if let Some(path) = &self.counter_file {
            let store = FileCounterStore::open(path).map_err(|e| anyhow::anyhow!("{e}"))?;
            settings = settings.with_counter_store(shared_store(store));
        }
        Ok(settings)
    }
}

/// gridedge's default client system title: "GRD" + 00 00 00 00 01.
pub const DEFAULT_CLIENT_SYSTEM_TITLE: SystemTitle = SystemTitle(*b"GRD\x00\x00\x00\x00\x01");

/// A meter's default system title: "GRD" + the low 5 bytes of the digits of its serial.
pub fn meter_system_title(serial: &str) -> SystemTitle {
    let digits: String = serial.chars().filter(|c| c.is_ascii_digit()).collect();
    let n: u64 = digits.parse().unwrap_or(0) & 0xFF_FFFF_FFFF;
    let b = n.to_be_bytes();
    SystemTitle([b'G', b'R', b'D', b[3], b[4], b[5], b[6], b[7]])
}
