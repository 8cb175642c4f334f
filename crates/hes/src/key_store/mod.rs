//! The HES key store: for every meter its suite 0 keys (IEC 62056-5-3 §9.2.3.3: global
//! unicast encryption key GUEK, authentication key GAK, master key KEK) and LLS password,
//! imported or derived from a master secret (HKDF-SHA-256, [`derive`]), sealed at rest
//! with AES-256-GCM under a storage KEK that comes from the environment or a protected
//! file, never from the database ([`storage_kek`]). Keys in memory are wiped on drop and
//! never printed ([`secret`]). Invocation counters are kept per key generation
//! ([`store`]); rotation sends Security setup key_transfer and commits only after the
//! meter confirms and the new keys are verified ([`rotation`]); an association falls back
//! to the pending keys of an interrupted rotation ([`recovery`]).
//!
//! | module | holds |
//! |---|---|
//! | [`secret`] | [`Key128`], [`MeterKeys`], [`LlsPassword`]: zeroized, redacted |
//! | [`storage_kek`] | [`StorageKek`]: AES-256-GCM sealing, env/file loading rules |
//! | [`derive`] | HKDF-SHA-256 derivation with the system title as `info` |
//! | [`store`] | [`KeyStore`]: generations (active/pending/retired), counters, passwords |
//! | [`endpoint`] | registry record + keys → [`crate::registry::MeterEndpoint`]s |
//! | [`recovery`] | opening a session with fallback to pending keys |
//! | [`rotation`] | [`rotate_keys`] |
//! | [`error`] | [`KeyStoreError`] |

pub mod derive;
pub mod endpoint;
pub mod error;
pub mod recovery;
pub mod rotation;
pub mod secret;
pub mod storage_kek;
pub mod store;

pub use derive::{derive_meter_keys, hkdf_sha256};
pub use endpoint::{DEFAULT_HES_SYSTEM_TITLE, EndpointCandidates, EndpointError, endpoint_candidates, registry_of};
pub use error::KeyStoreError;
pub use recovery::{OpenedSession, open_with_recovery};
pub use rotation::{RotationError, RotationOptions, RotationOutcome, RotationReport, rotate_keys};
pub use secret::{Key128, LlsPassword, MeterKeys};
pub use storage_kek::{STORAGE_KEK_ENV, StorageKek};
pub use store::{KeyInfo, KeyOrigin, KeySet, KeyState, KeyStore};
/// Re-exported so callers can wipe secrets they read (files, environment) the same way.
pub use zeroize::Zeroizing;
