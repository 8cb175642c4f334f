//! `gridedge hes keys`: the key store. Keys go in (import, derivation) and are rotated
//! on meters; they never come out: listings show generations and states only.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use hes::key_store::Zeroizing;
use hes::key_store::{
    DEFAULT_HES_SYSTEM_TITLE, Key128, KeyOrigin, KeyStore, LlsPassword, MeterKeys, RotationOptions, derive_meter_keys,
    rotate_keys,
};
use hes::registry_store::{MeterFilter, RegistryStore, record::parse_system_title};
use hes::session::SessionTimeouts;
use serde_json::json;

use super::{DbArg, KekArg, print_json};

/// The environment variable with the master secret of `hes keys derive` (hex).
pub const MASTER_SECRET_ENV: &str = "GRIDEDGE_HES_MASTER_SECRET";

/// Arguments of `gridedge hes keys`.
#[derive(Args)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// `gridedge hes keys` subcommands.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Import a meter's keys (as its new active generation), or many from a CSV file
    /// with the columns serial,guek,gak,kek.
    Import(ImportKeysArgs),
    /// Derive keys from a master secret with HKDF-SHA-256 (info = the meter's system
    /// title from the registry).
    Derive(DeriveArgs),
    /// Rotate a meter's keys over the air (Security setup key_transfer), commit after the
    /// meter confirms and the new keys are verified.
    Rotate(RotateArgs),
    /// List key generations (never the keys).
    List(ListKeysArgs),
}

/// `hes keys import`.
#[derive(Args)]
pub struct ImportKeysArgs {
    #[command(flatten)]
    db: DbArg,
    #[command(flatten)]
    kek: KekArg,
    /// The meter (with --guek/--gak/--kek or --lls-password).
    #[arg(long, required_unless_present = "csv")]
    serial: Option<String>,
    /// Global unicast encryption key, 32 hex digits.
    #[arg(long, env = "GRIDEDGE_KEY_ENCRYPTION", hide_env_values = true)]
    guek: Option<String>,
    /// Global authentication key, 32 hex digits.
    #[arg(long, env = "GRIDEDGE_KEY_AUTHENTICATION", hide_env_values = true)]
    gak: Option<String>,
    /// Master key (the meter's KEK of key_transfer), 32 hex digits.
    #[arg(long, env = "GRIDEDGE_KEY_MASTER", hide_env_values = true)]
    kek_master: Option<String>,
    /// The meter's LLS password.
    #[arg(long, env = "GRIDEDGE_LLS_PASSWORD", hide_env_values = true)]
    lls_password: Option<String>,
    /// A CSV file of keys: header serial,guek,gak,kek, one meter per line.
    #[arg(long, conflicts_with = "serial")]
    csv: Option<PathBuf>,
}

/// `hes keys derive`.
#[derive(Args)]
pub struct DeriveArgs {
    #[command(flatten)]
    db: DbArg,
    #[command(flatten)]
    kek: KekArg,
    /// The meter; or --all.
    #[arg(long, required_unless_present = "all")]
    serial: Option<String>,
    /// Every registered meter with a system title.
    #[arg(long, conflicts_with = "serial")]
    all: bool,
    /// File with the master secret (hex digits, or raw bytes); default: the environment
    /// variable GRIDEDGE_HES_MASTER_SECRET (hex).
    #[arg(long)]
    master_secret_file: Option<PathBuf>,
    /// HKDF salt, hex (default: none, i.e. 32 zero bytes).
    #[arg(long)]
    salt: Option<String>,
}

/// `hes keys rotate`.
#[derive(Args)]
pub struct RotateArgs {
    #[command(flatten)]
    db: DbArg,
    #[command(flatten)]
    kek: KekArg,
    /// The meter.
    #[arg(long)]
    serial: String,
    /// Also replace the master key.
    #[arg(long)]
    include_master: bool,
    /// Seconds to wait for each response.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// The HES's system title, 16 hex digits (default "GRD" 0000000001).
    #[arg(long)]
    hes_system_title: Option<String>,
}

/// `hes keys list`.
#[derive(Args)]
pub struct ListKeysArgs {
    #[command(flatten)]
    db: DbArg,
    #[command(flatten)]
    kek: KekArg,
    /// Only this meter.
    #[arg(long)]
    serial: Option<String>,
}

fn key(text: &Option<String>, what: &str) -> anyhow::Result<Key128> {
    let t = text.as_deref().with_context(|| format!("--{what} is required"))?;
    Key128::from_hex(t).with_context(|| format!("--{what}"))
}

fn master_secret(args: &DeriveArgs) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let from_hex = |text: &str| {
        hes::registry_store::record::parse_hex(text.trim()).context("the master secret is not hex").map(Zeroizing::new)
    };
    match &args.master_secret_file {
        Some(path) => {
            let bytes = Zeroizing::new(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?);
            match std::str::from_utf8(&bytes).ok().and_then(|t| hes::registry_store::record::parse_hex(t.trim())) {
                Some(b) => Ok(Zeroizing::new(b)),
                None => Ok(bytes),
            }
        }
        None => match std::env::var(MASTER_SECRET_ENV) {
            Ok(v) => from_hex(&Zeroizing::new(v)),
            Err(_) => bail!("no master secret: --master-secret-file F or {MASTER_SECRET_ENV}"),
        },
    }
}

fn import_csv(store: &KeyStore, path: &PathBuf) -> anyhow::Result<serde_json::Value> {
    let text =
        Zeroizing::new(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?);
    let mut imported = Vec::new();
    let mut errors = Vec::new();
    let mut lines = text.lines().enumerate();
    let header: Vec<String> =
        lines.next().map(|(_, h)| h.split(',').map(|c| c.trim().to_ascii_lowercase()).collect()).unwrap_or_default();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(cs), Some(ce), Some(ca), Some(ck)) = (col("serial"), col("guek"), col("gak"), col("kek")) else {
        bail!("{}: the header must name serial, guek, gak and kek", path.display());
    };
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |i: usize| cells.get(i).copied().unwrap_or("");
        let serial = get(cs).to_string();
        let keys = (|| -> Result<MeterKeys, hes::key_store::KeyStoreError> {
            Ok(MeterKeys {
                encryption: Key128::from_hex(get(ce))?,
                authentication: Key128::from_hex(get(ca))?,
                master: Key128::from_hex(get(ck))?,
            })
        })();
        match keys {
            Ok(k) if !serial.is_empty() => {
                let generation = store.install(&serial, &k, KeyOrigin::Imported)?;
                imported.push(json!({ "serial": serial, "generation": generation }));
            }
            Ok(_) => errors.push(json!({ "line": n + 1, "reason": "serial is empty" })),
            Err(e) => errors.push(json!({ "line": n + 1, "serial": serial, "reason": e.to_string() })),
        }
    }
    Ok(json!({ "imported": imported, "errors": errors }))
}

/// Runs `gridedge hes keys`.
pub fn run(args: KeysArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        KeysCommand::Import(a) => {
            let store = a.kek.open(&a.db.db)?;
            if let Some(csv) = &a.csv {
                let out = import_csv(&store, csv)?;
                let failed = out["errors"].as_array().is_some_and(|e| !e.is_empty());
                print_json(&out)?;
                return Ok(if failed { ExitCode::from(2) } else { ExitCode::SUCCESS });
            }
            let serial = a.serial.clone().context("--serial is required")?;
            let mut out = json!({ "serial": serial });
            if a.guek.is_some() || a.gak.is_some() || a.kek_master.is_some() {
                let keys = MeterKeys {
                    encryption: key(&a.guek, "guek")?,
                    authentication: key(&a.gak, "gak")?,
                    master: key(&a.kek_master, "kek-master")?,
                };
                out["generation"] = json!(store.install(&serial, &keys, KeyOrigin::Imported)?);
            }
            if let Some(p) = &a.lls_password {
                store.set_lls_password(&serial, &LlsPassword::new(p.as_bytes().to_vec()))?;
                out["lls_password"] = json!("stored");
            }
            if out.get("generation").is_none() && out.get("lls_password").is_none() {
                bail!("nothing to import: give --guek, --gak and --kek-master, or --lls-password");
            }
            print_json(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Derive(a) => {
            let secret = master_secret(&a)?;
            let salt = a
                .salt
                .as_deref()
                .map(|s| hes::registry_store::record::parse_hex(s).context("--salt is not hex"))
                .transpose()?;
            let registry = RegistryStore::open(&a.db.db)?;
            let store = a.kek.open(&a.db.db)?;
            let meters = match &a.serial {
                Some(s) => vec![registry.require(s)?],
                None => registry.list(&MeterFilter::default())?,
            };
            let mut derived = Vec::new();
            let mut skipped = Vec::new();
            for m in meters {
                let serial = m.record.serial.0.clone();
                let Some(title) = m.record.system_title else {
                    if a.serial.is_some() {
                        bail!("meter {serial} has no system title in the registry (the derivation's info)");
                    }
                    skipped.push(json!({ "serial": serial, "reason": "no system title" }));
                    continue;
                };
                let keys = derive_meter_keys(&secret, salt.as_deref(), &title)?;
                let generation = store.install(&serial, &keys, KeyOrigin::Derived)?;
                derived.push(json!({ "serial": serial, "generation": generation, "system_title": title.to_string() }));
            }
            print_json(&json!({ "kdf": "HKDF-SHA-256", "derived": derived, "skipped": skipped }))?;
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Rotate(a) => {
            let registry = RegistryStore::open(&a.db.db)?;
            let record = registry.require(&a.serial)?.record;
            let store = a.kek.open(&a.db.db)?;
            let options = RotationOptions {
                include_master_key: a.include_master,
                timeouts: SessionTimeouts {
                    connect: Duration::from_secs(a.timeout),
                    response: Duration::from_secs(a.timeout),
                },
                hes_system_title: match &a.hes_system_title {
                    Some(t) => parse_system_title(t)?,
                    None => DEFAULT_HES_SYSTEM_TITLE,
                },
            };
            let rt = super::super::runtime()?;
            let report = rt.block_on(rotate_keys(&record, &store, options))?;
            print_json(&report)?;
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::List(a) => {
            let store = a.kek.open(&a.db.db)?;
            print_json(&store.list(a.serial.as_deref())?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
