//! Errors of the key store. No variant ever carries key bytes.

use thiserror::Error;

/// Why a key store operation failed.
#[derive(Debug, Error)]
pub enum KeyStoreError {
    /// The database failed.
    #[error("key store database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A key or key set has the wrong length or is not hex (the value is not echoed).
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The storage KEK is malformed.
    #[error("invalid storage KEK: {0}")]
    InvalidStorageKek(String),
    /// The storage KEK file sits in the database's directory.
    #[error("the storage KEK file {0} is in the database's directory: keep it elsewhere (never beside the data)")]
    StorageKekBesideData(String),
    /// The storage KEK file is readable by group or others.
    #[error("the storage KEK file {path} has mode {mode:o}: group and others must have no access (chmod 600)")]
    StorageKekPermissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The storage KEK does not open this database's keys.
    #[error("the storage KEK does not match this key store (wrong key, or a different database)")]
    WrongStorageKek,
    /// A sealed value could not be opened or made.
    #[error("key store cryptography: {0}")]
    Crypto(String),
    /// The random generator failed.
    #[error("random generator: {0}")]
    Random(String),
    /// A file could not be read.
    #[error("{0}")]
    Io(String),
    /// The meter has no keys in the store.
    #[error("no keys for meter {0}")]
    NoKeys(String),
    /// A rotation is already pending for the meter.
    #[error("meter {serial} already has pending keys (generation {generation}) from an unfinished rotation")]
    PendingExists {
        /// The meter.
        serial: String,
        /// The pending generation.
        generation: u32,
    },
    /// No pending keys to commit or discard.
    #[error("meter {0} has no pending keys")]
    NoPending(String),
    /// A stored row does not decode.
    #[error("key store row for {serial}: {detail}")]
    CorruptRow {
        /// The meter.
        serial: String,
        /// What is wrong.
        detail: String,
    },
    /// The database's key store schema is newer than this build.
    #[error("key store schema version {found} is newer than this build's {supported}")]
    SchemaTooNew {
        /// The file's version.
        found: i64,
        /// This build's.
        supported: i64,
    },
}
