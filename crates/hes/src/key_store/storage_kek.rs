//! The key-encryption key of the key store ("storage KEK"): an AES-256 key that encrypts
//! every meter key at rest with AES-256-GCM (NIST SP 800-38D; RustCrypto `aes-gcm`).
//! It is not the meters' master key (the DLMS KEK of key_transfer): it never leaves the
//! HES.
//!
//! Where it comes from, never from the database:
//! - the environment variable [`STORAGE_KEK_ENV`] (64 hex digits), or
//! - a file with 32 raw bytes or 64 hex digits, which must not sit in the database's
//!   directory and (on Unix) must not be readable by group or others (mode 0600 or
//!   stricter), as ssh requires of private keys.
//!
//! Each sealed value is `nonce (12 random bytes) ‖ ciphertext ‖ tag (16)`, with
//! additional authenticated data naming what it is (table, meter, generation), so a
//! ciphertext copied to another row fails to open.

use std::fmt;
use std::path::Path;

use aes_gcm::aead::array::Array;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::error::KeyStoreError;

/// The environment variable holding the storage KEK as 64 hex digits.
pub const STORAGE_KEK_ENV: &str = "GRIDEDGE_HES_KEK";

/// Nonce length of AES-GCM here, bytes.
pub const NONCE_LEN: usize = 12;
/// Tag length, bytes.
pub const TAG_LEN: usize = 16;

/// The storage KEK (32 bytes), wiped on drop, never shown by `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StorageKek([u8; 32]);

impl fmt::Debug for StorageKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StorageKek(<redacted>)")
    }
}

fn parse_kek(text: &[u8]) -> Result<StorageKek, KeyStoreError> {
    if text.len() == 32 {
        let mut k = [0u8; 32];
        k.copy_from_slice(text);
        return Ok(StorageKek(k));
    }
    let s = Zeroizing::new(String::from_utf8_lossy(text).trim().to_string());
    let bytes = Zeroizing::new(
        crate::registry_store::record::parse_hex(&s)
            .ok_or_else(|| KeyStoreError::InvalidStorageKek("not 32 raw bytes or 64 hex digits".into()))?,
    );
    let k: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyStoreError::InvalidStorageKek(format!("{} bytes, expected 32", bytes.len())))?;
    Ok(StorageKek(k))
}

impl StorageKek {
    /// The KEK with these bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        StorageKek(bytes)
    }

    /// A fresh random KEK (to write to a protected file once, at installation).
    ///
    /// # Errors
    /// [`KeyStoreError::Random`].
    pub fn random() -> Result<Self, KeyStoreError> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| KeyStoreError::Random(e.to_string()))?;
        Ok(StorageKek(k))
    }

    /// The KEK from 64 hex digits.
    ///
    /// # Errors
    /// [`KeyStoreError::InvalidStorageKek`].
    pub fn from_hex(text: &str) -> Result<Self, KeyStoreError> {
        parse_kek(text.trim().as_bytes()).and_then(|k| {
            if text.trim().len() == 32 {
                Err(KeyStoreError::InvalidStorageKek("expected 64 hex digits".into()))
            } else {
                Ok(k)
            }
        })
    }

    /// The KEK from [`STORAGE_KEK_ENV`]; `Ok(None)` when the variable is not set.
    ///
    /// # Errors
    /// [`KeyStoreError::InvalidStorageKek`] when it is set but malformed.
    pub fn from_env() -> Result<Option<Self>, KeyStoreError> {
        match std::env::var(STORAGE_KEK_ENV) {
            Ok(v) => Self::from_hex(&Zeroizing::new(v)).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(KeyStoreError::InvalidStorageKek(format!("{STORAGE_KEK_ENV} is not UTF-8")))
            }
        }
    }

    /// The KEK from a file (32 raw bytes or 64 hex digits) for the database at
    /// `database`.
    ///
    /// # Errors
    /// [`KeyStoreError::StorageKekBesideData`] when the file is in the database's
    /// directory; [`KeyStoreError::StorageKekPermissions`] when (on Unix) group or
    /// others may read it; [`KeyStoreError::Io`]; [`KeyStoreError::InvalidStorageKek`].
    pub fn from_file(path: &Path, database: &Path) -> Result<Self, KeyStoreError> {
        let io = |e: std::io::Error| KeyStoreError::Io(format!("{}: {e}", path.display()));
        let kek_dir = path.canonicalize().map_err(io)?.parent().map(Path::to_path_buf);
        let db_dir = database
            .canonicalize()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .or_else(|| database.parent().and_then(|d| d.canonicalize().ok()));
        if kek_dir.is_some() && kek_dir == db_dir {
            return Err(KeyStoreError::StorageKekBesideData(path.display().to_string()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(KeyStoreError::StorageKekPermissions {
                    path: path.display().to_string(),
                    mode: mode & 0o777,
                });
            }
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(io)?);
        parse_kek(&bytes)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Array::from(self.0))
    }

    /// Encrypts `plaintext` with a fresh random nonce; returns `nonce ‖ ciphertext ‖ tag`.
    ///
    /// # Errors
    /// [`KeyStoreError::Random`]; [`KeyStoreError::Crypto`] (inputs beyond GCM's limits).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| KeyStoreError::Random(e.to_string()))?;
        let ct = self
            .cipher()
            .encrypt(&Array::from(nonce), Payload { msg: plaintext, aad })
            .map_err(|_| KeyStoreError::Crypto("AES-256-GCM encryption failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a value sealed by [`StorageKek::seal`] with the same `aad`.
    ///
    /// # Errors
    /// [`KeyStoreError::Crypto`] when the value is truncated, was sealed with another KEK
    /// or other `aad`, or was altered.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(KeyStoreError::Crypto("sealed value too short".into()));
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] =
            nonce.try_into().map_err(|_| KeyStoreError::Crypto("sealed value too short".into()))?;
        self.cipher()
            .decrypt(&Array::from(nonce), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| KeyStoreError::Crypto("authentication failed (wrong storage KEK or altered data)".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_tampering() {
        let kek = StorageKek::new([7; 32]);
        let sealed = kek.seal(b"sixteen byte key", b"row 1").unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + 16 + TAG_LEN);
        assert_eq!(&kek.open(&sealed, b"row 1").unwrap()[..], b"sixteen byte key");
        assert!(kek.open(&sealed, b"row 2").is_err(), "bound to its row");
        assert!(StorageKek::new([8; 32]).open(&sealed, b"row 1").is_err(), "another KEK");
        let mut altered = sealed.clone();
        altered[20] ^= 1;
        assert!(kek.open(&altered, b"row 1").is_err());
        assert!(kek.open(&sealed[..20], b"row 1").is_err());
        assert_ne!(kek.seal(b"x", b"").unwrap(), kek.seal(b"x", b"").unwrap(), "fresh nonces");
        assert!(!format!("{kek:?}").contains('7'));
    }

    #[test]
    fn parses_hex_and_raw() {
        let hex = "00".repeat(31) + "FF";
        assert_eq!(StorageKek::from_hex(&hex).unwrap().0[31], 0xFF);
        assert!(StorageKek::from_hex("00FF").is_err());
        assert!(StorageKek::from_hex(&"0".repeat(32)).is_err(), "32 characters are not a hex KEK");
        assert_eq!(parse_kek(&[9u8; 32]).unwrap().0, [9; 32]);
    }

    #[test]
    fn a_kek_file_must_be_private_and_away_from_the_data() {
        let data = tempfile::tempdir().unwrap();
        let secrets = tempfile::tempdir().unwrap();
        let db = data.path().join("hes.db");
        let beside = data.path().join("kek.hex");
        std::fs::write(&beside, "11".repeat(32)).unwrap();
        let away = secrets.path().join("kek.hex");
        std::fs::write(&away, "11".repeat(32)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&beside, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::fs::set_permissions(&away, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                StorageKek::from_file(&away, &db),
                Err(KeyStoreError::StorageKekPermissions { mode: 0o644, .. })
            ));
            std::fs::set_permissions(&away, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(StorageKek::from_file(&beside, &db), Err(KeyStoreError::StorageKekBesideData(_))));
        assert_eq!(StorageKek::from_file(&away, &db).unwrap().0, [0x11; 32]);
    }
}
