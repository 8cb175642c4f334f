//! The persistent meter registry: every meter the HES serves, in SQLite, with what a
//! head-end needs to reach and read it (serial, system title, logical device name,
//! transport and addresses, authentication, security suite and policy), where it sits in
//! the grid (transformer, feeder), its data concentrator and shared link (for the
//! scheduler's concurrency limits), its type (electricity; water and gas stubs with
//! their own OBIS lists), its time zone (local-midnight billing reads) and its
//! life-cycle status.
//!
//! Provisioning: [`RegistryStore::import_csv`] (columns in [`csv_import`]) and
//! [`RegistryStore::upsert`] (the CLI's `gridedge hes registry add`). The in-memory
//! [`crate::registry::Registry`] the campaign runner uses is built from it, with keys,
//! by [`crate::key_store::endpoint::registry_of`].
//!
//! | module | holds |
//! |---|---|
//! | [`record`] | [`MeterRecord`] and its enums |
//! | [`meter_type`] | [`MeterType`] and its OBIS lists |
//! | [`store`] | [`RegistryStore`] (table `meters`) |
//! | [`csv_import`] | CSV columns, defaults, per-row errors |
//! | [`database`] | opening the HES database file (WAL, `synchronous = FULL`) |
//! | [`error`] | [`RegistryError`], [`RecordError`] |

pub mod csv_import;
pub mod database;
pub mod error;
pub mod meter_type;
pub mod record;
pub mod store;

pub use csv_import::{CSV_COLUMNS, ImportReport, RowError};
pub use error::{RecordError, RegistryError};
pub use meter_type::MeterType;
pub use record::{AuthenticationKind, MeterRecord, MeterStatus, SecurityProfile, TransportConfig, TransportKind};
pub use store::{MeterFilter, RegistryStore, StoredMeter, UpsertOutcome};
