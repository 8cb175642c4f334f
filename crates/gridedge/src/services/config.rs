//! The one TOML file the separate gridedge processes (`gridedge hes run`, `gridedge mdms
//! run`, `gridedge api`) share, so a deployment states its store, bus and shards once.
//!
//! ```toml
//! [store]
//! backend = "sqlite"                      # or "postgres"
//! sqlite_path = "/var/lib/gridedge/mdms.db"
//! postgres = "host=127.0.0.1 user=gridedge dbname=gridedge"
//!
//! [bus]
//! transport = "nats"                      # "in-process" only inside one process (demo)
//! nats_url = "nats://127.0.0.1:4222"
//! stream_prefix = "GRIDEDGE"
//! subject_prefix = "gridedge"             # first subject token (tests use a unique one)
//! ack_wait_s = 30                         # unacknowledged messages come back after this
//!
//! [hes]
//! registry = "/var/lib/gridedge/registry.db"
//! shards = 64                             # fixed for the life of the fleet
//! lease_ttl_s = 10
//! concurrency = 256
//!
//! [mdms]
//! consumer = "mdms"                       # durable consumer name, shared by MDMS replicas
//! batch = 64                              # messages per MDMS transaction
//! retry_delay_s = 1                       # a batch the store failed comes back after this
//!
//! [api]
//! listen = "127.0.0.1:8080"
//! ```
//!
//! Every key has a default (shown above, but `sqlite_path = "gridedge.db"`,
//! `registry = "registry.db"`), so an empty file is a valid single-machine configuration.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GridedgeConfig {
    /// Where the MDMS keeps its data.
    pub store: StoreConfig,
    /// How HES, MDMS and API exchange messages.
    pub bus: BusConfig,
    /// The Head-End System processes.
    pub hes: HesConfig,
    /// The MDMS processes.
    pub mdms: MdmsConfig,
    /// The API process.
    pub api: ApiConfig,
}

impl GridedgeConfig {
    /// Reads and checks `path`.
    ///
    /// Errors: the file cannot be read, is not TOML, has an unknown key, or names a backend
    /// or transport that does not exist.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses the TOML text.
    ///
    /// Errors: as [`GridedgeConfig::load`].
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: GridedgeConfig = toml::from_str(text)?;
        if config.hes.shards == 0 {
            anyhow::bail!("hes.shards must be at least 1");
        }
        if config.mdms.batch == 0 {
            anyhow::bail!("mdms.batch must be at least 1");
        }
        if config.bus.ack_wait_s == 0 {
            anyhow::bail!("bus.ack_wait_s must be at least 1");
        }
        if config.bus.subject_prefix.is_empty()
            || config.bus.subject_prefix.chars().any(|c| matches!(c, '.' | '*' | '>') || c.is_whitespace())
        {
            anyhow::bail!("bus.subject_prefix must be one non-empty subject token (no '.', '*', '>' or spaces)");
        }
        if config.store.backend == StoreBackend::Postgres && config.store.postgres.is_none() {
            anyhow::bail!("store.backend = \"postgres\" needs store.postgres (a connection string)");
        }
        Ok(config)
    }
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Which backend of the MDMS store trait.
    pub backend: StoreBackend,
    /// The SQLite database file (backend `sqlite`).
    pub sqlite_path: PathBuf,
    /// The PostgreSQL connection string (backend `postgres`), libpq key=value form.
    pub postgres: Option<String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { backend: StoreBackend::Sqlite, sqlite_path: PathBuf::from("gridedge.db"), postgres: None }
    }
}

/// The MDMS store backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreBackend {
    /// Embedded SQLite (WAL), the single-machine default.
    Sqlite,
    /// PostgreSQL, the scale-out system of record.
    Postgres,
}

/// `[bus]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// Which transport.
    pub transport: BusTransport,
    /// NATS server address.
    pub nats_url: String,
    /// Prefix of the JetStream stream names.
    pub stream_prefix: String,
    /// First token of the subjects (`<subject_prefix>.readings.<meter>`).
    pub subject_prefix: String,
    /// Seconds a delivered, unacknowledged message waits before JetStream delivers it
    /// again (a consumer that died mid-batch hands its batch over after this long).
    pub ack_wait_s: u64,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            transport: BusTransport::InProcess,
            nats_url: "nats://127.0.0.1:4222".to_string(),
            stream_prefix: "GRIDEDGE".to_string(),
            subject_prefix: bus::SUBJECT_PREFIX.to_string(),
            ack_wait_s: 30,
        }
    }
}

impl BusConfig {
    /// The JetStream settings this section names (the other settings at
    /// [`bus::JetStreamConfig::new`]'s defaults).
    pub fn jetstream(&self) -> bus::JetStreamConfig {
        let mut config = bus::JetStreamConfig::new(&self.nats_url);
        config.stream_prefix = self.stream_prefix.clone();
        config.subject_prefix = self.subject_prefix.clone();
        config.ack_wait = std::time::Duration::from_secs(self.ack_wait_s);
        config
    }
}

/// The bus transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BusTransport {
    /// Channels inside one process (only the all-in-one commands can use it).
    InProcess,
    /// NATS JetStream.
    Nats,
}

/// `[hes]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HesConfig {
    /// The registry database (meters, keys, jobs).
    pub registry: PathBuf,
    /// Number of shards the fleet is split into; fixed for the life of the fleet.
    pub shards: u32,
    /// Shard lease time to live, seconds: a dead HES's meters move after about this long.
    pub lease_ttl_s: u64,
    /// Meter sessions at once per HES process.
    pub concurrency: usize,
    /// The HES's command database (SQLite: commands, their states, the audit log, and the
    /// bus command ids already carried out). Default `commands.db`.
    pub commands_db: PathBuf,
    /// File holding the storage KEK of the registry's key store (32 raw bytes or 64 hex
    /// digits); default: the environment variable `GRIDEDGE_HES_KEK`, or no key store.
    pub kek_file: Option<PathBuf>,
    /// Address of the TCP push listener (IEC 62056-47 wrapper data- and
    /// event-notifications), e.g. `127.0.0.1:4059`; `""` or `"0"`: off.
    pub push_tcp: String,
    /// Address of the UDP push listener (one wrapper APDU per datagram); `""` or `"0"`:
    /// off.
    pub push_udp: String,
}

impl Default for HesConfig {
    fn default() -> Self {
        HesConfig {
            registry: PathBuf::from("registry.db"),
            shards: 64,
            lease_ttl_s: 10,
            concurrency: 256,
            commands_db: PathBuf::from("commands.db"),
            kek_file: None,
            push_tcp: "127.0.0.1:4059".to_string(),
            push_udp: "127.0.0.1:4059".to_string(),
        }
    }
}

/// `[mdms]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MdmsConfig {
    /// Durable consumer name; MDMS replicas with the same name share the work.
    pub consumer: String,
    /// Messages per MDMS transaction.
    pub batch: usize,
    /// Seconds before a batch the store could not commit is delivered again.
    pub retry_delay_s: u64,
}

impl Default for MdmsConfig {
    fn default() -> Self {
        MdmsConfig { consumer: "mdms".to_string(), batch: 64, retry_delay_s: 1 }
    }
}

/// `[api]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address the API listens on.
    pub listen: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { listen: "127.0.0.1:8080".to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_single_machine_default() {
        let config = GridedgeConfig::parse("").expect("empty is valid");
        assert_eq!(config.store.backend, StoreBackend::Sqlite);
        assert_eq!(config.bus.transport, BusTransport::InProcess);
        assert_eq!(config.hes.shards, 64);
    }

    #[test]
    fn a_scale_out_file_parses() {
        let config = GridedgeConfig::parse(
            "[store]\nbackend = \"postgres\"\npostgres = \"host=db\"\n[bus]\ntransport = \"nats\"\n\
             nats_url = \"nats://nats:4222\"\n[hes]\nshards = 16\n[mdms]\nbatch = 8\n",
        )
        .expect("valid");
        assert_eq!(config.store.backend, StoreBackend::Postgres);
        assert_eq!(config.store.postgres.as_deref(), Some("host=db"));
        assert_eq!(config.bus.transport, BusTransport::Nats);
        assert_eq!((config.hes.shards, config.mdms.batch), (16, 8));
        let jetstream = config.bus.jetstream();
        assert_eq!(jetstream.url, "nats://nats:4222");
        assert_eq!((jetstream.stream_prefix.as_str(), jetstream.subject_prefix.as_str()), ("GRIDEDGE", "gridedge"));
        assert_eq!(jetstream.ack_wait, std::time::Duration::from_secs(30));
    }

    #[test]
    fn bus_timing_and_prefixes_are_configurable() {
        let config = GridedgeConfig::parse(
            "[bus]\ntransport = \"nats\"\nstream_prefix = \"T1\"\nsubject_prefix = \"t1\"\nack_wait_s = 3\n\
             [mdms]\nretry_delay_s = 2\n",
        )
        .expect("valid");
        let jetstream = config.bus.jetstream();
        assert_eq!((jetstream.stream_prefix.as_str(), jetstream.subject_prefix.as_str()), ("T1", "t1"));
        assert_eq!(jetstream.ack_wait, std::time::Duration::from_secs(3));
        assert_eq!(config.mdms.retry_delay_s, 2);
        assert!(GridedgeConfig::parse("[bus]\nsubject_prefix = \"a.b\"\n").is_err());
        assert!(GridedgeConfig::parse("[bus]\nack_wait_s = 0\n").is_err());
    }

    #[test]
    fn mistakes_are_refused_with_the_reason() {
        let unknown = GridedgeConfig::parse("[store]\nbackend = \"mysql\"\n").expect_err("unknown backend");
        assert!(format!("{unknown:#}").contains("mysql"), "{unknown:#}");
        let typo = GridedgeConfig::parse("[hes]\nshard = 3\n").expect_err("unknown key");
        assert!(format!("{typo:#}").contains("shard"), "{typo:#}");
        let no_url = GridedgeConfig::parse("[store]\nbackend = \"postgres\"\n").expect_err("missing url");
        assert!(format!("{no_url:#}").contains("store.postgres"), "{no_url:#}");
        assert!(GridedgeConfig::parse("[hes]\nshards = 0\n").is_err());
    }
}
