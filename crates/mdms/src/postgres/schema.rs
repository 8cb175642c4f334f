//! The PostgreSQL schema and its migrations, tracked in the `schema_version` table.
//!
//! `MIGRATIONS[n]` takes the schema from version `n` to `n + 1`; the scripts are embedded in
//! the binary (`migrations/*.sql`). Each step runs in its own transaction holding an
//! advisory lock, so two processes opening a new database at once migrate it once, and a
//! failed step leaves the schema at the version before it. `schema_version` keeps one row
//! per applied step with the time it was applied.

use postgres::Client;

use super::context::PgContext;
use crate::StoreError;

/// The schema version this build writes (the highest row of `schema_version`): 1 meter
/// readings, VEE and the audit trail; 2 end device events; 3 declared outages and the
/// network topology.
pub const PG_SCHEMA_VERSION: i32 = 3;

/// Migration steps, in order.
const MIGRATIONS: [&str; 3] = [
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_events.sql"),
    include_str!("migrations/0003_outages_topology.sql"),
];

const _: () = assert!(MIGRATIONS.len() as i32 == PG_SCHEMA_VERSION, "one migration step per schema version");

/// Advisory lock key serialising migrations and partition creation ("MDMS" in ASCII).
pub(crate) const LOCK_NAMESPACE: i32 = 0x4D44_4D53;
/// Second key of the migration lock.
const MIGRATION_LOCK: i32 = 1;

/// Brings the schema in the connection's `search_path` to [`PG_SCHEMA_VERSION`].
///
/// Errors: [`StoreError::SchemaTooNew`] for a schema from a newer build; server errors.
pub(crate) fn migrate(client: &mut Client) -> Result<(), StoreError> {
    loop {
        let mut tx = client.transaction().context("starting a schema migration")?;
        tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_NAMESPACE, &MIGRATION_LOCK])
            .context("locking the schema for migration")?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (\
                 version integer PRIMARY KEY, \
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .context("creating the schema_version table")?;
        let version: i32 = tx
            .query_one("SELECT COALESCE(max(version), 0) FROM schema_version", &[])
            .and_then(|row| row.try_get(0))
            .context("reading the schema version")?;
        if version > PG_SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: i64::from(version),
                supported: i64::from(PG_SCHEMA_VERSION),
            });
        }
        let step = usize::try_from(version).ok().and_then(|v| MIGRATIONS.get(v));
        let Some(sql) = step else {
            if version < 0 {
                return Err(StoreError::Corrupt(format!("negative schema version {version}")));
            }
            return Ok(());
        };
        tx.batch_execute(sql).context("applying a schema migration")?;
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&(version + 1)])
            .context("recording the schema version")?;
        tx.commit().context("committing a schema migration")?;
        tracing::info!(from = version, to = version + 1, "mdms PostgreSQL schema migrated");
    }
}
