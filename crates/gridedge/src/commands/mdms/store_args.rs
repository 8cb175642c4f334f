//! The MDMS database every `gridedge mdms` subcommand works on, and the VEE configuration
//! the store validates with.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use mdms::vee::VeeConfig;
use mdms::{MeterDataStore, SqliteStore};
use model::MeterId;

/// `--db` and `--vee-config`.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The MDMS SQLite database (e.g. made by `gridedge demo --db FILE`). It must exist.
    #[arg(long)]
    pub db: PathBuf,
    /// VEE configuration (JSON, the serde form of `mdms::vee::VeeConfig`: meter classes with
    /// their rules, interval length and time zone) used when values are validated again
    /// (edit, estimate, accept, validate). Default: the built-in configuration.
    #[arg(long, value_name = "FILE")]
    pub vee_config: Option<PathBuf>,
}

impl StoreArgs {
    /// Opens the existing database and applies `--vee-config`.
    ///
    /// # Errors
    /// A database that does not exist or cannot be opened; an unreadable or invalid VEE
    /// configuration.
    pub fn open(&self) -> anyhow::Result<SqliteStore> {
        if !self.db.is_file() {
            bail!("no MDMS database at {} (create one with `gridedge demo --db FILE`)", self.db.display());
        }
        let mut store =
            SqliteStore::open(&self.db).with_context(|| format!("opening the MDMS database {}", self.db.display()))?;
        if let Some(path) = &self.vee_config {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let config: VeeConfig = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a VEE configuration", path.display()))?;
            store.set_vee_config(&config).with_context(|| format!("VEE configuration {}", path.display()))?;
        }
        Ok(store)
    }
}

/// Fails unless the store knows every meter in `meters`.
///
/// # Errors
/// The unknown meters, named.
pub fn require_meters<'a>(store: &SqliteStore, meters: impl IntoIterator<Item = &'a MeterId>) -> anyhow::Result<()> {
    let known: BTreeSet<MeterId> = store.meters()?.into_iter().collect();
    let unknown: Vec<String> = meters.into_iter().filter(|m| !known.contains(*m)).map(|m| m.0.clone()).collect();
    if !unknown.is_empty() {
        bail!("unknown meter(s) in the database: {}", unknown.join(", "));
    }
    Ok(())
}
