//! `gridedge hes`: the Head-End System's operations, one module per group:
//!
//! * `hes registry import|list|show|add|set-status`: the persistent meter registry
//!   ([`registry`]);
//! * `hes keys import|derive|rotate|list`: the key store ([`keys`]);
//! * `hes jobs list|history|health`: scheduler jobs, attempts and meter health ([`jobs`]);
//! * `hes read --serial S [--force]`: an on-demand read ([`read`]);
//! * `hes run --registry F --mdms-db F [--once]`: the scheduler loop; `hes run --config F`:
//!   one HES of a scale-out deployment ([`run`], [`run::service`], [`bus_sink`]).
//!
//! Every subcommand works on the HES database (`--db`, alias `--registry`): one SQLite
//! file with the registry, the sealed keys and the jobs. Keys need the storage KEK
//! (`--kek-file`, or the environment variable `GRIDEDGE_HES_KEK`), kept away from the
//! database. Output is JSON on stdout.

pub mod bus_sink;
pub mod jobs;
pub mod keys;
pub mod mdms_sink;
pub mod read;
pub mod registry;
pub mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use hes::key_store::{KeyStore, StorageKek};

/// Arguments of `gridedge hes`.
#[derive(Args)]
pub struct HesArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: HesCommand,
}

/// `gridedge hes` subcommands.
#[derive(Subcommand)]
pub enum HesCommand {
    /// The meter registry: provisioning and queries.
    Registry(registry::RegistryArgs),
    /// The key store: import, derive, rotate, list (keys are never printed).
    Keys(keys::KeysArgs),
    /// Scheduler jobs, their attempts and the meters' health.
    Jobs(jobs::JobsArgs),
    /// Read one meter now (on demand).
    Read(read::HesReadArgs),
    /// Run the scheduler: the fleet's collection jobs.
    Run(run::RunArgs),
}

/// The HES database argument.
#[derive(Args, Clone)]
pub struct DbArg {
    /// The HES database (registry, keys, jobs), SQLite; created if missing.
    #[arg(long, visible_alias = "registry", env = "GRIDEDGE_HES_DB")]
    pub db: PathBuf,
}

/// Where the storage KEK comes from.
#[derive(Args, Clone, Default)]
pub struct KekArg {
    /// File holding the storage KEK (32 raw bytes or 64 hex digits, mode 0600, not in the
    /// database's directory). Default: the environment variable GRIDEDGE_HES_KEK.
    #[arg(long)]
    pub kek_file: Option<PathBuf>,
}

impl KekArg {
    /// The storage KEK, if one is given.
    ///
    /// # Errors
    /// A malformed or misplaced KEK.
    pub fn load(&self, db: &Path) -> anyhow::Result<Option<StorageKek>> {
        match &self.kek_file {
            Some(f) => Ok(Some(StorageKek::from_file(f, db)?)),
            None => Ok(StorageKek::from_env()?),
        }
    }

    /// The key store of `db`, when a KEK is given.
    ///
    /// # Errors
    /// A bad KEK, a KEK that does not match the store, database errors.
    pub fn open_optional(&self, db: &Path) -> anyhow::Result<Option<KeyStore>> {
        match self.load(db)? {
            Some(kek) => {
                Ok(Some(KeyStore::open(db, kek).with_context(|| format!("opening the key store in {}", db.display()))?))
            }
            None => Ok(None),
        }
    }

    /// The key store of `db`; a KEK is required.
    ///
    /// # Errors
    /// No KEK, a bad KEK, database errors.
    pub fn open(&self, db: &Path) -> anyhow::Result<KeyStore> {
        self.open_optional(db)?.ok_or_else(|| {
            anyhow::anyhow!("the key store needs the storage KEK: --kek-file F or {}", hes::key_store::STORAGE_KEK_ENV)
        })
    }
}

/// Prints a value as pretty JSON.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    super::emit(&serde_json::to_string_pretty(value)?)
}

/// Runs `gridedge hes`.
pub fn run(args: HesArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        HesCommand::Registry(a) => registry::run(a),
        HesCommand::Keys(a) => keys::run(a),
        HesCommand::Jobs(a) => jobs::run(a),
        HesCommand::Read(a) => read::run(a),
        HesCommand::Run(a) => run::run(a),
    }
}
