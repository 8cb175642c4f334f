//! [`TopologyStore`] on SQLite.
//!
//! Layout (created with `CREATE TABLE IF NOT EXISTS` at open):
//! - `topo_feeder (id)`, `topo_transformer (id, feeder)`;
//! - `topo_service_point (meter, transformer, role)`: role 'customer' or 'check', at most
//!   one check meter per transformer (partial unique index);
//! - `topo_dma (id)`, `topo_dma_meter (dma, meter, role)`: role 'inlet', 'outlet' or
//!   'customer'.
//!
//! Saving replaces every row in one transaction.

use model::MeterId;
use rusqlite::{Connection, TransactionBehavior, params};

use super::SqliteStore;
use crate::StoreError;
use crate::error::SqliteContext;
use crate::topology::{DmaId, DmaRole, FeederId, ServiceRole, Topology, TopologyStore, TransformerId};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS topo_feeder (
    id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topo_transformer (
    id     TEXT PRIMARY KEY,
    feeder TEXT NOT NULL REFERENCES topo_feeder(id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topo_service_point (
    meter       TEXT PRIMARY KEY,
    transformer TEXT NOT NULL REFERENCES topo_transformer(id),
    role        TEXT NOT NULL CHECK (role IN ('customer', 'check'))
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS topo_service_point_by_transformer ON topo_service_point (transformer);
CREATE UNIQUE INDEX IF NOT EXISTS topo_one_check_meter ON topo_service_point (transformer) WHERE role = 'check';
CREATE TABLE IF NOT EXISTS topo_dma (
    id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topo_dma_meter (
    dma   TEXT NOT NULL REFERENCES topo_dma(id),
    meter TEXT NOT NULL,
    role  TEXT NOT NULL CHECK (role IN ('inlet', 'outlet', 'customer')),
    PRIMARY KEY (dma, meter)
) WITHOUT ROWID;
"#;

/// Creates the topology tables if they do not exist.
///
/// Errors: [`StoreError::Sqlite`].
pub(crate) fn create_tables(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(SCHEMA).context("creating the topology tables")
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("stored topology: {e}"))
}

fn strings(conn: &Connection, sql: &str, columns: usize) -> Result<Vec<Vec<String>>, StoreError> {
    let mut stmt = conn.prepare(sql).context("reading the topology")?;
    let rows = stmt
        .query_map([], |row| (0..columns).map(|i| row.get::<_, String>(i)).collect::<Result<Vec<_>, _>>())
        .context("reading the topology")?;
    rows.collect::<Result<Vec<_>, _>>().context("reading the topology")
}

impl TopologyStore for SqliteStore {
    fn save_topology(&mut self, topology: &Topology) -> Result<(), StoreError> {
        let tx =
            self.conn.transaction_with_behavior(TransactionBehavior::Immediate).context("starting a topology save")?;
        tx.execute_batch(
            "DELETE FROM topo_dma_meter; DELETE FROM topo_dma; DELETE FROM topo_service_point; \
             DELETE FROM topo_transformer; DELETE FROM topo_feeder;",
        )
        .context("clearing the stored topology")?;
        {
            let mut feeder = tx.prepare("INSERT INTO topo_feeder (id) VALUES (?1)").context("saving feeders")?;
            for id in topology.feeders() {
                feeder.execute([&id.0]).context("saving feeders")?;
            }
            let mut transformer = tx
                .prepare("INSERT INTO topo_transformer (id, feeder) VALUES (?1, ?2)")
                .context("saving transformers")?;
            let mut point = tx
                .prepare("INSERT INTO topo_service_point (meter, transformer, role) VALUES (?1, ?2, ?3)")
                .context("saving service points")?;
            for (id, t) in topology.transformers() {
                transformer.execute(params![id.0, t.feeder.0]).context("saving transformers")?;
                for meter in &t.customers {
                    point.execute(params![meter.0, id.0, ServiceRole::Customer.as_str()]).context("saving meters")?;
                }
                if let Some(meter) = &t.check_meter {
                    point.execute(params![meter.0, id.0, ServiceRole::Check.as_str()]).context("saving meters")?;
                }
            }
            let mut dma = tx.prepare("INSERT INTO topo_dma (id) VALUES (?1)").context("saving DMAs")?;
            let mut dma_meter = tx
                .prepare("INSERT INTO topo_dma_meter (dma, meter, role) VALUES (?1, ?2, ?3)")
                .context("saving DMA meters")?;
            for (id, d) in topology.dmas() {
                dma.execute([&id.0]).context("saving DMAs")?;
                for (set, role) in
                    [(&d.inlets, DmaRole::Inlet), (&d.outlets, DmaRole::Outlet), (&d.customers, DmaRole::Customer)]
                {
                    for meter in set {
                        dma_meter.execute(params![id.0, meter.0, role.as_str()]).context("saving DMA meters")?;
                    }
                }
            }
        }
        tx.commit().context("committing the topology")
    }

    fn load_topology(&self) -> Result<Topology, StoreError> {
        let mut topology = Topology::new();
        for row in strings(&self.conn, "SELECT id FROM topo_feeder ORDER BY id", 1)? {
            topology.add_feeder(FeederId(row.concat())).map_err(corrupt)?;
        }
        for row in strings(&self.conn, "SELECT id, feeder FROM topo_transformer ORDER BY id", 2)? {
            let [id, feeder] = <[String; 2]>::try_from(row).map_err(|_| corrupt("transformer row"))?;
            topology.add_transformer(TransformerId(id), FeederId(feeder)).map_err(corrupt)?;
        }
        for row in strings(&self.conn, "SELECT meter, transformer, role FROM topo_service_point ORDER BY meter", 3)? {
            let [meter, transformer, role] = <[String; 3]>::try_from(row).map_err(|_| corrupt("meter row"))?;
            let role = ServiceRole::parse(&role).ok_or_else(|| corrupt(format!("service role {role:?}")))?;
            topology.connect_meter(MeterId(meter), &TransformerId(transformer), role).map_err(corrupt)?;
        }
        for row in strings(&self.conn, "SELECT id FROM topo_dma ORDER BY id", 1)? {
            topology.add_dma(DmaId(row.concat())).map_err(corrupt)?;
        }
        for row in strings(&self.conn, "SELECT dma, meter, role FROM topo_dma_meter ORDER BY dma, meter", 3)? {
            let [dma, meter, role] = <[String; 3]>::try_from(row).map_err(|_| corrupt("DMA meter row"))?;
            let role = DmaRole::parse(&role).ok_or_else(|| corrupt(format!("DMA role {role:?}")))?;
            topology.add_dma_meter(&DmaId(dma), MeterId(meter), role).map_err(corrupt)?;
        }
        Ok(topology)
    }
}
