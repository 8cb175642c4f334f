//! [`TopologyStore`] on PostgreSQL: the `topo_*` tables (schema version 3), the same rows
//! as the SQLite store's.
//!
//! - `topo_feeder (id)`, `topo_transformer (id, feeder)`;
//! - `topo_service_point (meter, transformer, role)`: role 'customer' or 'check', at most
//!   one check meter per transformer (partial unique index);
//! - `topo_dma (id)`, `topo_dma_meter (dma, meter, role)`: role 'inlet', 'outlet' or
//!   'customer'.
//!
//! Saving replaces every row in one transaction (one array insert per table) under an
//! advisory lock; loading reads all tables in one repeatable-read snapshot, so a load never
//! mixes two saves.

use model::MeterId;
use postgres::IsolationLevel;

use super::PgStore;
use super::context::{Db, PgContext, get};
use crate::StoreError;
use crate::topology::{DmaId, DmaRole, FeederId, ServiceRole, Topology, TopologyStore, TransformerId};

/// Advisory lock key (single `bigint` form) serialising topology saves: "MDMSTOPO".
const SAVE_LOCK: i64 = 0x4D44_4D53_544F_504F;

const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";

const CLEAR: &str = "DELETE FROM topo_dma_meter; DELETE FROM topo_dma; DELETE FROM topo_service_point; \
    DELETE FROM topo_transformer; DELETE FROM topo_feeder;";

const INSERT_FEEDERS: &str = "INSERT INTO topo_feeder (id) SELECT unnest($1::text[])";
const INSERT_TRANSFORMERS: &str =
    "INSERT INTO topo_transformer (id, feeder) SELECT * FROM unnest($1::text[], $2::text[])";
const INSERT_POINTS: &str = "INSERT INTO topo_service_point (meter, transformer, role) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])";
const INSERT_DMAS: &str = "INSERT INTO topo_dma (id) SELECT unnest($1::text[])";
const INSERT_DMA_METERS: &str =
    "INSERT INTO topo_dma_meter (dma, meter, role) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])";

const SELECT_FEEDERS: &str = "SELECT id FROM topo_feeder ORDER BY id";
const SELECT_TRANSFORMERS: &str = "SELECT id, feeder FROM topo_transformer ORDER BY id";
const SELECT_POINTS: &str = "SELECT meter, transformer, role FROM topo_service_point ORDER BY meter";
const SELECT_DMAS: &str = "SELECT id FROM topo_dma ORDER BY id";
const SELECT_DMA_METERS: &str = "SELECT dma, meter, role FROM topo_dma_meter ORDER BY dma, meter";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("stored topology: {e}"))
}

impl TopologyStore for PgStore {
    fn save_topology(&mut self, topology: &Topology) -> Result<(), StoreError> {
        const CTX: &str = "saving the topology";
        let feeders: Vec<&str> = topology.feeders().map(|f| f.0.as_str()).collect();
        let (mut t_ids, mut t_feeders) = (Vec::new(), Vec::new());
        let (mut p_meters, mut p_transformers, mut p_roles) = (Vec::new(), Vec::new(), Vec::new());
        for (id, t) in topology.transformers() {
            t_ids.push(id.0.as_str());
            t_feeders.push(t.feeder.0.as_str());
            let points = t
                .customers
                .iter()
                .map(|m| (m, ServiceRole::Customer))
                .chain(t.check_meter.iter().map(|m| (m, ServiceRole::Check)));
            for (meter, role) in points {
                p_meters.push(meter.0.as_str());
                p_transformers.push(id.0.as_str());
                p_roles.push(role.as_str());
            }
        }
        let mut dmas = Vec::new();
        let (mut d_dmas, mut d_meters, mut d_roles) = (Vec::new(), Vec::new(), Vec::new());
        for (id, d) in topology.dmas() {
            dmas.push(id.0.as_str());
            for (set, role) in
                [(&d.inlets, DmaRole::Inlet), (&d.outlets, DmaRole::Outlet), (&d.customers, DmaRole::Customer)]
            {
                for meter in set {
                    d_dmas.push(id.0.as_str());
                    d_meters.push(meter.0.as_str());
                    d_roles.push(role.as_str());
                }
            }
        }
        let conn = self.conn.get_mut();
        let mut tx = conn.client.transaction().context("starting a topology save")?;
        {
            let mut db = Db { client: &mut tx, statements: &mut conn.statements };
            db.execute(LOCK, &[&SAVE_LOCK], "locking the topology for a save")?;
            db.client.batch_execute(CLEAR).context("clearing the stored topology")?;
            db.execute(INSERT_FEEDERS, &[&feeders], CTX)?;
            db.execute(INSERT_TRANSFORMERS, &[&t_ids, &t_feeders], CTX)?;
            db.execute(INSERT_POINTS, &[&p_meters, &p_transformers, &p_roles], CTX)?;
            db.execute(INSERT_DMAS, &[&dmas], CTX)?;
            db.execute(INSERT_DMA_METERS, &[&d_dmas, &d_meters, &d_roles], CTX)?;
        }
        tx.commit().context("committing the topology")
    }

    fn load_topology(&self) -> Result<Topology, StoreError> {
        const CTX: &str = "reading the topology";
        let mut conn = self.conn.borrow_mut();
        let conn = &mut *conn;
        let mut tx = conn
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .context("starting a topology read")?;
        let mut topology = Topology::new();
        {
            let mut db = Db { client: &mut tx, statements: &mut conn.statements };
            for row in db.query(SELECT_FEEDERS, &[], CTX)? {
                topology.add_feeder(FeederId(get(&row, 0, CTX)?)).map_err(corrupt)?;
            }
            for row in db.query(SELECT_TRANSFORMERS, &[], CTX)? {
                topology
                    .add_transformer(TransformerId(get(&row, 0, CTX)?), FeederId(get(&row, 1, CTX)?))
                    .map_err(corrupt)?;
            }
            for row in db.query(SELECT_POINTS, &[], CTX)? {
                let role: String = get(&row, 2, CTX)?;
                let role = ServiceRole::parse(&role).ok_or_else(|| corrupt(format!("service role {role:?}")))?;
                topology
                    .connect_meter(MeterId(get(&row, 0, CTX)?), &TransformerId(get(&row, 1, CTX)?), role)
                    .map_err(corrupt)?;
            }
            for row in db.query(SELECT_DMAS, &[], CTX)? {
                topology.add_dma(DmaId(get(&row, 0, CTX)?)).map_err(corrupt)?;
            }
            for row in db.query(SELECT_DMA_METERS, &[], CTX)? {
                let role: String = get(&row, 2, CTX)?;
                let role = DmaRole::parse(&role).ok_or_else(|| corrupt(format!("DMA role {role:?}")))?;
                topology
                    .add_dma_meter(&DmaId(get(&row, 0, CTX)?), MeterId(get(&row, 1, CTX)?), role)
                    .map_err(corrupt)?;
            }
        }
        tx.commit().context("ending a topology read")?;
        Ok(topology)
    }
}
