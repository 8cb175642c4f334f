//! [`RegistryStore`]: the meters of the HES in SQLite (table `meters`, one row per
//! serial number).

use std::path::Path;

use dlms::security::SystemTitle;
use jiff::Timestamp;
use model::MeterId;
use rusqlite::{Connection, Row, TransactionBehavior, params};
use serde::Serialize;

use super::database::{self, from_ms, to_ms};
use super::error::RegistryError;
use super::meter_type::MeterType;
use super::record::{AuthenticationKind, MeterRecord, MeterStatus, SecurityProfile, TransportConfig, TransportKind};

/// Schema version of the registry tables.
pub const REGISTRY_SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meters (
    serial              TEXT PRIMARY KEY,
    system_title        BLOB,
    logical_device_name TEXT,
    meter_type          TEXT NOT NULL,
    transport           TEXT NOT NULL,
    host                TEXT NOT NULL,
    port                INTEGER NOT NULL,
    client_sap          INTEGER NOT NULL,
    server_sap          INTEGER NOT NULL,
    server_physical     INTEGER,
    authentication      TEXT NOT NULL,
    security_suite      INTEGER,
    security_policy     INTEGER,
    transformer         TEXT,
    feeder              TEXT,
    dcu                 TEXT,
    link                TEXT,
    time_zone           TEXT NOT NULL,
    status              TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS meters_dcu ON meters(dcu);
CREATE INDEX IF NOT EXISTS meters_status ON meters(status);
";

const COLUMNS: &str = "serial, system_title, logical_device_name, meter_type, transport, host, port, client_sap, \
     server_sap, server_physical, authentication, security_suite, security_policy, transformer, feeder, dcu, link, \
     time_zone, status, created_at, updated_at";

/// A registry row: the record and when it was created and last changed (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredMeter {
    /// The meter.
    pub record: MeterRecord,
    /// When it was first provisioned.
    pub created_at: Timestamp,
    /// When the record last changed.
    pub updated_at: Timestamp,
}

/// What [`RegistryStore::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsertOutcome {
    /// A new meter.
    Inserted,
    /// An existing meter whose record changed.
    Updated,
    /// An existing meter with an identical record (nothing written).
    Unchanged,
}

/// Which meters [`RegistryStore::list`] returns; `None` fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct MeterFilter {
    /// Only this status.
    pub status: Option<MeterStatus>,
    /// Only meters the scheduler collects (provisioned or active).
    pub scheduled_only: bool,
    /// Only meters behind this DCU.
    pub dcu: Option<String>,
    /// Only meters on this feeder.
    pub feeder: Option<String>,
    /// Only meters under this transformer.
    pub transformer: Option<String>,
    /// Only this meter type.
    pub meter_type: Option<MeterType>,
}

/// The persistent registry (see the module docs of [`crate::registry_store`]).
#[derive(Debug)]
pub struct RegistryStore {
    conn: Connection,
}

fn corrupt(serial: &str, detail: impl Into<String>) -> RegistryError {
    RegistryError::CorruptRow { serial: serial.to_string(), detail: detail.into() }
}

fn u16_col(row: &Row<'_>, idx: usize, serial: &str, name: &str) -> Result<u16, RegistryError> {
    let v: i64 = row.get(idx)?;
    u16::try_from(v).map_err(|_| corrupt(serial, format!("{name} {v} out of range")))
}

fn decode_row(row: &Row<'_>) -> Result<StoredMeter, RegistryError> {
    let serial: String = row.get(0)?;
    let title: Option<Vec<u8>> = row.get(1)?;
    let system_title =
        title.map(|b| SystemTitle::from_slice(&b).map_err(|e| corrupt(&serial, e.to_string()))).transpose()?;
    let meter_type: String = row.get(3)?;
    let transport: String = row.get(4)?;
    let physical: Option<i64> = row.get(9)?;
    let auth: String = row.get(10)?;
    let suite: Option<i64> = row.get(11)?;
    let policy: Option<i64> = row.get(12)?;
    let status: String = row.get(18)?;
    let security = match (suite, policy) {
        (Some(s), Some(p)) => Some(SecurityProfile {
            suite: u8::try_from(s).map_err(|_| corrupt(&serial, "security_suite"))?,
            policy: u8::try_from(p).map_err(|_| corrupt(&serial, "security_policy"))?,
        }),
        _ => None,
    };
    let record = MeterRecord {
        system_title,
        logical_device_name: row.get(2)?,
        meter_type: meter_type
            .parse()
            .map_err(|e: super::meter_type::UnknownMeterType| corrupt(&serial, e.to_string()))?,
        transport: TransportConfig {
            kind: transport.parse::<TransportKind>().map_err(|e| corrupt(&serial, e.to_string()))?,
            host: row.get(5)?,
            port: u16_col(row, 6, &serial, "port")?,
            client_sap: u16_col(row, 7, &serial, "client_sap")?,
            server_sap: u16_col(row, 8, &serial, "server_sap")?,
            server_physical: physical
                .map(|p| u16::try_from(p).map_err(|_| corrupt(&serial, "server_physical")))
                .transpose()?,
        },
        authentication: auth.parse::<AuthenticationKind>().map_err(|e| corrupt(&serial, e.to_string()))?,
        security,
        transformer: row.get(13)?,
        feeder: row.get(14)?,
        dcu: row.get(15)?,
        link: row.get(16)?,
        time_zone: row.get(17)?,
        status: status.parse::<MeterStatus>().map_err(|e| corrupt(&serial, e.to_string()))?,
        serial: MeterId(serial),
    };
    Ok(StoredMeter { record, created_at: from_ms(row.get(19)?), updated_at: from_ms(row.get(20)?) })
}

impl RegistryStore {
    /// Opens (creating if needed) the HES database at `path` and its `meters` table.
    ///
    /// # Errors
    /// [`RegistryError::Sqlite`]; [`RegistryError::SchemaTooNew`] for a file from a newer
    /// build.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RegistryError> {
        Self::setup(database::open(path.as_ref(), database::Durability::Full)?)
    }

    /// A registry in a private in-memory database.
    ///
    /// # Errors
    /// [`RegistryError::Sqlite`].
    pub fn open_in_memory() -> Result<Self, RegistryError> {
        Self::setup(database::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<Self, RegistryError> {
        let found = database::schema_version(&conn, "registry")?;
        if found > REGISTRY_SCHEMA_VERSION {
            return Err(RegistryError::SchemaTooNew { found, supported: REGISTRY_SCHEMA_VERSION });
        }
        conn.execute_batch(SCHEMA)?;
        database::set_schema_version(&conn, "registry", REGISTRY_SCHEMA_VERSION)?;
        Ok(RegistryStore { conn })
    }

    /// Adds a meter or replaces its record (by serial), after validating it. Re-writing an
    /// identical record writes nothing (so an import can be repeated).
    ///
    /// # Errors
    /// [`RegistryError::Record`] for an invalid record; [`RegistryError::Sqlite`].
    pub fn upsert(&mut self, record: &MeterRecord) -> Result<UpsertOutcome, RegistryError> {
        record.validate()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = upsert_in(&tx, record, Timestamp::now())?;
        tx.commit()?;
        Ok(outcome)
    }

    /// Upserts several records in one transaction; each result is that record's outcome
    /// (an invalid record is reported and skipped, the others are written).
    ///
    /// # Errors
    /// [`RegistryError::Sqlite`] when the transaction fails (nothing is written then).
    pub fn upsert_many(
        &mut self,
        records: &[MeterRecord],
    ) -> Result<Vec<Result<UpsertOutcome, RegistryError>>, RegistryError> {
        let now = Timestamp::now();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            out.push(match r.validate() {
                Ok(()) => Ok(upsert_in(&tx, r, now)?),
                Err(e) => Err(RegistryError::Record(e)),
            });
        }
        tx.commit()?;
        Ok(out)
    }

    /// The meter with this serial.
    ///
    /// # Errors
    /// [`RegistryError::Sqlite`], [`RegistryError::CorruptRow`].
    pub fn get(&self, serial: &str) -> Result<Option<StoredMeter>, RegistryError> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {COLUMNS} FROM meters WHERE serial = ?1"))?;
        let mut rows = stmt.query([serial])?;
        match rows.next()? {
            Some(row) => Ok(Some(decode_row(row)?)),
            None => Ok(None),
        }
    }

    /// The meter with this serial, or [`RegistryError::UnknownMeter`].
    ///
    /// # Errors
    /// As [`RegistryStore::get`], and [`RegistryError::UnknownMeter`].
    pub fn require(&self, serial: &str) -> Result<StoredMeter, RegistryError> {
        self.get(serial)?.ok_or_else(|| RegistryError::UnknownMeter(serial.to_string()))
    }

    /// The meters matching `filter`, ordered by serial.
    ///
    /// # Errors
    /// [`RegistryError::Sqlite`], [`RegistryError::CorruptRow`].
    pub fn list(&self, filter: &MeterFilter) -> Result<Vec<StoredMeter>, RegistryError> {
        let mut sql = format!("SELECT {COLUMNS} FROM meters WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        let mut add = |col: &str, v: &str| {
            args.push(v.to_string());
            sql.push_str(&format!(" AND {col} = ?{}", args.len()));
        };
        if let Some(s) = filter.status {
            add("status", s.as_str());
        }
        if let Some(d) = &filter.dcu {
            add("dcu", d);
        }
        if let Some(f) = &filter.feeder {
            add("feeder", f);
        }
        if let Some(t) = &filter.transformer {
            add("transformer", t);
        }
        if let Some(t) = filter.meter_type {
            add("meter_type", t.as_str());
        }
        if filter.scheduled_only {
            sql.push_str(" AND status IN ('provisioned', 'active')");
        }
        sql.push_str(" ORDER BY serial");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode_row(row)?);
        }
        Ok(out)
    }

    /// Number of meters in the registry.
    ///
    /// # Errors
    /// [`RegistryError::Sqlite`].
    pub fn len(&self) -> Result<u64, RegistryError> {
        let n: i64 = self.conn.query_row("SELECT COUNT(*) FROM meters", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// True when the registry holds no meter.
    ///
    /// # Errors
    /// [`RegistryError::Sqlite`].
    pub fn is_empty(&self) -> Result<bool, RegistryError> {
        Ok(self.len()? == 0)
    }

    /// Changes a meter's status (e.g. provisioned → active after its first good read).
    ///
    /// # Errors
    /// [`RegistryError::UnknownMeter`], [`RegistryError::Sqlite`].
    pub fn set_status(&mut self, serial: &str, status: MeterStatus) -> Result<(), RegistryError> {
        let n = self.conn.execute(
            "UPDATE meters SET status = ?2, updated_at = ?3 WHERE serial = ?1 AND status <> ?2",
            params![serial, status.as_str(), to_ms(Timestamp::now())],
        )?;
        if n == 0 && self.get(serial)?.is_none() {
            return Err(RegistryError::UnknownMeter(serial.to_string()));
        }
        Ok(())
    }

    /// Marks a provisioned meter active (its first successful read); other statuses are
    /// left as they are.
    ///
    /// # Errors
    /// [`RegistryError::Sqlite`].
    pub fn mark_commissioned(&mut self, serial: &str) -> Result<bool, RegistryError> {
        let n = self.conn.execute(
            "UPDATE meters SET status = 'active', updated_at = ?2 WHERE serial = ?1 AND status = 'provisioned'",
            params![serial, to_ms(Timestamp::now())],
        )?;
        Ok(n > 0)
    }
}

fn upsert_in(tx: &Connection, r: &MeterRecord, now: Timestamp) -> Result<UpsertOutcome, RegistryError> {
    let existing: Option<StoredMeter> = {
        let mut stmt = tx.prepare_cached(&format!("SELECT {COLUMNS} FROM meters WHERE serial = ?1"))?;
        let mut rows = stmt.query([&r.serial.0])?;
        match rows.next()? {
            Some(row) => Some(decode_row(row)?),
            None => None,
        }
    };
    if existing.as_ref().is_some_and(|e| &e.record == r) {
        return Ok(UpsertOutcome::Unchanged);
    }
    let t = &r.transport;
    let values = params![
        r.serial.0,
        r.system_title.map(|s| s.as_bytes().to_vec()),
        r.logical_device_name,
        r.meter_type.as_str(),
        t.kind.as_str(),
        t.host,
        t.port,
        t.client_sap,
        t.server_sap,
        t.server_physical,
        r.authentication.as_str(),
        r.security.map(|s| s.suite),
        r.security.map(|s| s.policy),
        r.transformer,
        r.feeder,
        r.dcu,
        r.link,
        r.time_zone,
        r.status.as_str(),
        to_ms(now),
    ];
    if existing.is_some() {
        tx.execute(
            "UPDATE meters SET system_title = ?2, logical_device_name = ?3, meter_type = ?4, transport = ?5, host = ?6,
                port = ?7, client_sap = ?8, server_sap = ?9, server_physical = ?10, authentication = ?11,
                security_suite = ?12, security_policy = ?13, transformer = ?14, feeder = ?15, dcu = ?16, link = ?17,
                time_zone = ?18, status = ?19, updated_at = ?20
             WHERE serial = ?1",
            values,
        )?;
        Ok(UpsertOutcome::Updated)
    } else {
        tx.execute(
            &format!(
                "INSERT INTO meters ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                 ?15, ?16, ?17, ?18, ?19, ?20, ?20)"
            ),
            values,
        )?;
        Ok(UpsertOutcome::Inserted)
    }
}

/// Reads one column for diagnostics (used by tests of the crate).
#[cfg(test)]
fn raw_status(conn: &Connection, serial: &str) -> Option<String> {
    use rusqlite::OptionalExtension;
    conn.query_row("SELECT status FROM meters WHERE serial = ?1", [serial], |r| r.get(0)).optional().ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry_store::record::SecurityProfile;

    #[test]
    fn upsert_is_idempotent_and_round_trips_every_field() {
        let mut store = RegistryStore::open_in_memory().unwrap();
        let mut r = MeterRecord::new("GE00000042", "10.1.2.3", 4059);
        r.system_title = Some(SystemTitle(*b"GRD\x00\x00\x00\x00\x2A"));
        r.logical_device_name = Some("GRDGE00000042".into());
        r.meter_type = MeterType::Water;
        r.transport.kind = TransportKind::Hdlc;
        r.transport.server_physical = Some(17);
        r.transport.client_sap = 1;
        r.authentication = AuthenticationKind::HighGmac;
        r.security = Some(SecurityProfile::SUITE0_DEFAULT);
        r.transformer = Some("TX-7".into());
        r.feeder = Some("F-12".into());
        r.dcu = Some("DCU-3".into());
        r.link = Some("PLC-3A".into());
        r.time_zone = "Europe/London".into();
        assert_eq!(store.upsert(&r).unwrap(), UpsertOutcome::Inserted);
        assert_eq!(store.upsert(&r).unwrap(), UpsertOutcome::Unchanged);
        let got = store.require("GE00000042").unwrap();
        assert_eq!(got.record, r);
        r.feeder = Some("F-13".into());
        assert_eq!(store.upsert(&r).unwrap(), UpsertOutcome::Updated);
        assert_eq!(store.get("GE00000042").unwrap().unwrap().record.feeder.as_deref(), Some("F-13"));
        assert!(matches!(store.require("nope"), Err(RegistryError::UnknownMeter(_))));
    }

    #[test]
    fn filters_and_status_changes() {
        let mut store = RegistryStore::open_in_memory().unwrap();
        for i in 0..6 {
            let mut r = MeterRecord::new(format!("M{i}"), "127.0.0.1", 4059);
            r.dcu = Some(if i % 2 == 0 { "D-A" } else { "D-B" }.into());
            store.upsert(&r).unwrap();
        }
        let a = MeterFilter { dcu: Some("D-A".into()), ..MeterFilter::default() };
        assert_eq!(store.list(&a).unwrap().len(), 3);
        store.set_status("M0", MeterStatus::Suspended).unwrap();
        store.set_status("M1", MeterStatus::Decommissioned).unwrap();
        assert!(store.mark_commissioned("M2").unwrap());
        assert!(!store.mark_commissioned("M0").unwrap(), "a suspended meter is not re-activated");
        let scheduled = store.list(&MeterFilter { scheduled_only: true, ..MeterFilter::default() }).unwrap();
        let serials: Vec<_> = scheduled.iter().map(|m| m.record.serial.0.as_str()).collect();
        assert_eq!(serials, ["M2", "M3", "M4", "M5"]);
        assert_eq!(raw_status(&store.conn, "M2").as_deref(), Some("active"));
        assert!(matches!(store.set_status("nope", MeterStatus::Active), Err(RegistryError::UnknownMeter(_))));
        assert_eq!(store.len().unwrap(), 6);
    }
}
