//! Shard leases: how several HES processes share one fleet (feature `nats`).
//!
//! The fleet is split into `shards` by a stable hash of the meter serial
//! ([`shard_of`]). Each HES process is a *member*; it heartbeats a `member.<id>` key and
//! holds `shard.<n>` keys in a JetStream key-value bucket whose entries expire after the
//! lease time to live (the bucket's max age). A member renews its keys with
//! compare-and-set on their revision every `ttl / 3`; a member that dies stops renewing,
//! its keys expire, and the survivors create them for themselves (create succeeds only on
//! an absent key), so its meters are taken over within one TTL plus one renewal period.
//! Fair share: each member aims at `ceil(shards / live members)` shards and releases
//! extras when a member joins.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use futures_util::StreamExt;

use crate::{BusError, shard_of};

/// Lease settings.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// NATS server address.
    pub url: String,
    /// Key-value bucket holding the leases (one per fleet).
    pub bucket: String,
    /// Number of shards the fleet is split into (fixed for the life of the fleet).
    pub shards: u32,
    /// Lease time to live: a dead member's shards are free after this long.
    pub ttl: Duration,
    /// This member's id (unique per process, e.g. `hes-<host>-<pid>`).
    pub member: String,
}

/// A member's view of the shard leases.
pub struct ShardLeases {
    store: kv::Store,
    context: jetstream::Context,
    config: LeaseConfig,
    /// Owned shard -> revision of our last write.
    owned: BTreeMap<u32, u64>,
    member_revision: Option<u64>,
}

impl std::fmt::Debug for ShardLeases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardLeases").field("config", &self.config).field("owned", &self.owned).finish()
    }
}

impl ShardLeases {
    /// Connects and opens (or creates) the lease bucket.
    ///
    /// Errors: [`BusError::Broker`].
    pub async fn connect(config: LeaseConfig) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .name("gridedge-leases")
            .connect(config.url.as_str())
            .await
            .map_err(|e| BusError::broker("connecting to NATS", e))?;
        let context = jetstream::new(client);
        // The bucket's stream is created directly with the key-value conventions (ADR-8:
        // `KV_<bucket>` on `$KV.<bucket>.>`, one message per key, rollups allowed,
        // deletes denied, direct get, discard new): the client's own bucket creation first
        // queries the account with a response shape NATS 2.9 does not send.
        let stream = stream::Config {
            name: format!("KV_{}", config.bucket),
            subjects: vec![format!("$KV.{}.>", config.bucket)],
            max_messages_per_subject: 1,
            max_age: config.ttl,
            storage: stream::StorageType::File,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            duplicate_window: config.ttl.min(Duration::from_secs(120)),
            ..Default::default()
        };
        context.get_or_create_stream(stream).await.map_err(|e| BusError::broker("creating the lease bucket", e))?;
        let store = context
            .get_key_value(config.bucket.as_str())
            .await
            .map_err(|e| BusError::broker("opening the lease bucket", e))?;
        Ok(ShardLeases { store, context, config, owned: BTreeMap::new(), member_revision: None })
    }

    /// The shards this member holds now.
    pub fn owned(&self) -> Vec<u32> {
        self.owned.keys().copied().collect()
    }

    /// Whether this member holds the shard of `serial`.
    pub fn owns_meter(&self, serial: &str) -> bool {
        self.owned.contains_key(&shard_of(serial, self.config.shards))
    }

    /// How often [`ShardLeases::tick`] should run: a third of the TTL.
    pub fn renew_interval(&self) -> Duration {
        self.config.ttl / 3
    }

    /// One round: heartbeat, renew held shards (dropping any lost), take free shards up
    /// to the fair share, release extras. Returns the shards held afterwards.
    ///
    /// Errors: [`BusError::Broker`] when the bucket cannot be read (held shards are kept
    /// until their TTL; the caller retries).
    pub async fn tick(&mut self) -> Result<Vec<u32>, BusError> {
        self.heartbeat().await?;
        self.renew().await;
        let members = self.live_members().await?.max(1);
        let fair = self.config.shards.div_ceil(members) as usize;
        if self.owned.len() < fair {
            for shard in 0..self.config.shards {
                if self.owned.len() >= fair {
                    break;
                }
                if self.owned.contains_key(&shard) {
                    continue;
                }
                if let Ok(revision) = self.store.create(shard_key(shard), self.config.member.clone().into()).await {
                    tracing::info!(member = %self.config.member, shard, "shard lease acquired");
                    self.owned.insert(shard, revision);
                }
            }
        } else {
            while self.owned.len() > fair {
                let Some((&shard, &revision)) = self.owned.iter().next_back() else { break };
                self.owned.remove(&shard);
                if let Err(e) = self.store.delete_expect_revision(shard_key(shard), Some(revision)).await {
                    tracing::debug!(shard, error = %e, "releasing a shard lease");
                }
                tracing::info!(member = %self.config.member, shard, "shard lease released (fair share)");
            }
        }
        Ok(self.owned())
    }

    /// Gives up every lease (a clean shutdown hands the shards over at once).
    ///
    /// Errors: [`BusError::Broker`].
    pub async fn release_all(&mut self) -> Result<(), BusError> {
        let owned = std::mem::take(&mut self.owned);
        for (shard, revision) in owned {
            self.store
                .delete_expect_revision(shard_key(shard), Some(revision))
                .await
                .map_err(|e| BusError::broker("releasing a shard lease", e))?;
        }
        self.store
            .delete(member_key(&self.config.member))
            .await
            .map_err(|e| BusError::broker("removing the member heartbeat", e))?;
        Ok(())
    }

    /// Deletes the whole lease bucket (tests clean up with it).
    ///
    /// Errors: [`BusError::Broker`].
    pub async fn delete_bucket(self) -> Result<(), BusError> {
        self.context
            .delete_key_value(self.config.bucket.as_str())
            .await
            .map_err(|e| BusError::broker("deleting the lease bucket", e))?;
        Ok(())
    }

    async fn heartbeat(&mut self) -> Result<(), BusError> {
        let key = member_key(&self.config.member);
        let value: bytes::Bytes = self.config.member.clone().into();
        let revision = match self.member_revision {
            Some(revision) => match self.store.update(&key, value.clone(), revision).await {
                Ok(revision) => revision,
                Err(_) => self.store.put(&key, value).await.map_err(|e| BusError::broker("member heartbeat", e))?,
            },
            None => self.store.put(&key, value).await.map_err(|e| BusError::broker("member heartbeat", e))?,
        };
        self.member_revision = Some(revision);
        Ok(())
    }

    async fn renew(&mut self) {
        let owned: Vec<(u32, u64)> = self.owned.iter().map(|(s, r)| (*s, *r)).collect();
        for (shard, revision) in owned {
            match self.store.update(shard_key(shard), self.config.member.clone().into(), revision).await {
                Ok(next) => {
                    self.owned.insert(shard, next);
                }
                Err(e) => {
                    tracing::warn!(member = %self.config.member, shard, error = %e, "shard lease lost");
                    self.owned.remove(&shard);
                }
            }
        }
    }

    async fn live_members(&self) -> Result<u32, BusError> {
        let mut keys = self.store.keys().await.map_err(|e| BusError::broker("listing lease keys", e))?;
        let mut members = 0u32;
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| BusError::broker("listing lease keys", e))?;
            if key.starts_with("member.") {
                members += 1;
            }
        }
        Ok(members)
    }
}

fn shard_key(shard: u32) -> String {
    format!("shard.{shard}")
}

fn member_key(member: &str) -> String {
    let safe: String =
        member.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    format!("member.{safe}")
}
