//! The vending database: meter accounts, tariffs, vends and token events in one SQLite file.
//!
//! **Durability.** WAL journal with `synchronous=FULL`: when [`VendStore`] returns a vend, its
//! transaction is on disk (fsync'd) and survives a crash or power loss, so a token is never
//! shown to a customer without its record. Each vend is one `IMMEDIATE` transaction that
//! checks the request id, allocates the TID, inserts the vend and advances the meter's last
//! TID together; concurrent vending processes on the same file serialise on it.
//!
//! Tables: `meter_account` (serial, PAN, key attributes, last issued TID), `tariff` (per TI:
//! currency, exponent, price), `vend` (unique `request_id`), `token_event` (deliveries and the
//! meter's answer). Times are stored as UTC milliseconds plus RFC 3339 text for people.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use sts::{
    BaseDate, EncryptionAlgorithm, KeyExpiryNumber, KeyRevisionNumber, KeyType, MeterPan, SupplyGroupCode, TariffIndex,
    Tid, TokenNumber,
};

use crate::account::MeterAccount;
use crate::error::{StoreError, VendError};
use crate::issue::IssuedToken;
use crate::money::CurrencyCode;
use crate::record::{DeliveryMethod, NewTokenEvent, TokenEvent, VendOutcome, VendRecord, VendRequest};
use crate::tariff::Tariff;

/// Schema version written to `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meter_account (
    serial            TEXT PRIMARY KEY,
    pan               TEXT NOT NULL,
    key_type          INTEGER NOT NULL,
    supply_group_code INTEGER NOT NULL,
    tariff_index      INTEGER NOT NULL,
    key_revision      INTEGER NOT NULL,
    key_expiry        INTEGER NOT NULL,
    base_date         TEXT NOT NULL,
    algorithm         TEXT NOT NULL,
    last_tid          INTEGER
);
CREATE TABLE IF NOT EXISTS tariff (
    tariff_index        INTEGER PRIMARY KEY,
    currency            TEXT NOT NULL,
    currency_exponent   INTEGER NOT NULL,
    price_micro_per_kwh INTEGER NOT NULL CHECK (price_micro_per_kwh > 0),
    updated_at_ms       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS vend (
    id                  INTEGER PRIMARY KEY,
    request_id          TEXT NOT NULL UNIQUE,
    serial              TEXT NOT NULL REFERENCES meter_account(serial),
    operator            TEXT NOT NULL,
    vended_at_ms        INTEGER NOT NULL,
    vended_at           TEXT NOT NULL,
    amount_minor        INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency            TEXT NOT NULL,
    tariff_index        INTEGER NOT NULL,
    price_micro_per_kwh INTEGER NOT NULL,
    energy_tenths_kwh   INTEGER NOT NULL,
    transfer_tenths_kwh INTEGER NOT NULL,
    token               TEXT NOT NULL UNIQUE,
    tid                 INTEGER NOT NULL,
    base_date           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS vend_by_meter ON vend(serial, id);
CREATE TABLE IF NOT EXISTS token_event (
    id             INTEGER PRIMARY KEY,
    serial         TEXT NOT NULL,
    token          TEXT NOT NULL,
    request_id     TEXT,
    recorded_at_ms INTEGER NOT NULL,
    recorded_at    TEXT NOT NULL,
    method         INTEGER NOT NULL,
    status_code    INTEGER NOT NULL,
    accepted       INTEGER NOT NULL,
    display        TEXT NOT NULL,
    description    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS token_event_by_meter ON token_event(serial, id);
";

const VEND_COLUMNS: &str = "id, request_id, serial, operator, vended_at_ms, amount_minor, currency, tariff_index, \
     price_micro_per_kwh, energy_tenths_kwh, transfer_tenths_kwh, token, tid, base_date";

const ACCOUNT_COLUMNS: &str = "serial, pan, key_type, supply_group_code, tariff_index, key_revision, key_expiry, \
     base_date, algorithm, last_tid";

/// What the vend closure of [`VendStore::vend_transaction`] decided.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewVend {
    pub(crate) tariff: Tariff,
    pub(crate) energy_tenths_kwh: u64,
    pub(crate) issued: IssuedToken,
}

/// The vending database (see the module documentation). `Send`, not `Sync`.
#[derive(Debug)]
pub struct VendStore {
    conn: Connection,
}

fn corrupt(column: &'static str, value: impl ToString) -> StoreError {
    StoreError::Corrupt { column, value: value.to_string() }
}

fn to_i64(column: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| corrupt(column, v))
}

fn to_u64(column: &'static str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| corrupt(column, v))
}

fn timestamp(column: &'static str, ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|_| corrupt(column, ms))
}

fn algorithm_code(a: EncryptionAlgorithm) -> &'static str {
    a.code()
}

fn algorithm_from_code(code: &str) -> Result<EncryptionAlgorithm, StoreError> {
    match code {
        "07" => Ok(EncryptionAlgorithm::Sta),
        "11" => Ok(EncryptionAlgorithm::Misty1),
        other => Err(corrupt("algorithm", other)),
    }
}

/// A `meter_account` row as stored.
struct RawAccount {
    serial: String,
    pan: String,
    key_type: i64,
    sgc: i64,
    ti: i64,
    krn: i64,
    ken: i64,
    base_date: String,
    algorithm: String,
    last_tid: Option<i64>,
}

impl RawAccount {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<RawAccount> {
        Ok(RawAccount {
            serial: r.get(0)?,
            pan: r.get(1)?,
            key_type: r.get(2)?,
            sgc: r.get(3)?,
            ti: r.get(4)?,
            krn: r.get(5)?,
            ken: r.get(6)?,
            base_date: r.get(7)?,
            algorithm: r.get(8)?,
            last_tid: r.get(9)?,
        })
    }

    fn decode(self) -> Result<(MeterAccount, Option<Tid>), StoreError> {
        let small = |column: &'static str, v: i64| u8::try_from(v).map_err(|_| corrupt(column, v));
        let account = MeterAccount {
            pan: MeterPan::parse(&self.pan).map_err(|_| corrupt("pan", &self.pan))?,
            key_type: match self.key_type {
                0..=3 => KeyType::from_bits(small("key_type", self.key_type)?),
                other => return Err(corrupt("key_type", other)),
            },
            supply_group_code: u32::try_from(self.sgc)
                .ok()
                .and_then(|v| SupplyGroupCode::new(v).ok())
                .ok_or_else(|| corrupt("supply_group_code", self.sgc))?,
            tariff_index: TariffIndex::new(small("tariff_index", self.ti)?)
                .map_err(|_| corrupt("tariff_index", self.ti))?,
            key_revision: KeyRevisionNumber::new(small("key_revision", self.krn)?)
                .map_err(|_| corrupt("key_revision", self.krn))?,
            key_expiry: KeyExpiryNumber(small("key_expiry", self.ken)?),
            base_date: BaseDate::from_code(&self.base_date).ok_or_else(|| corrupt("base_date", &self.base_date))?,
            algorithm: algorithm_from_code(&self.algorithm)?,
            serial: self.serial,
        };
        let last_tid = match self.last_tid {
            None => None,
            Some(v) => Some(
                u32::try_from(v).ok().and_then(|m| Tid::from_minutes(m).ok()).ok_or_else(|| corrupt("last_tid", v))?,
            ),
        };
        Ok((account, last_tid))
    }
}

/// A `vend` row as stored.
struct RawVend {
    id: i64,
    request_id: String,
    serial: String,
    operator: String,
    vended_at_ms: i64,
    amount_minor: i64,
    currency: String,
    tariff_index: i64,
    price: i64,
    energy: i64,
    transfer: i64,
    token: String,
    tid: i64,
    base_date: String,
}

impl RawVend {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<RawVend> {
        Ok(RawVend {
            id: r.get(0)?,
            request_id: r.get(1)?,
            serial: r.get(2)?,
            operator: r.get(3)?,
            vended_at_ms: r.get(4)?,
            amount_minor: r.get(5)?,
            currency: r.get(6)?,
            tariff_index: r.get(7)?,
            price: r.get(8)?,
            energy: r.get(9)?,
            transfer: r.get(10)?,
            token: r.get(11)?,
            tid: r.get(12)?,
            base_date: r.get(13)?,
        })
    }

    fn decode(self) -> Result<VendRecord, StoreError> {
        Ok(VendRecord {
            id: self.id,
            vended_at: timestamp("vended_at_ms", self.vended_at_ms)?,
            amount_minor: to_u64("amount_minor", self.amount_minor)?,
            currency: self.currency.parse().map_err(|_| corrupt("currency", &self.currency))?,
            tariff_index: u8::try_from(self.tariff_index)
                .ok()
                .and_then(|v| TariffIndex::new(v).ok())
                .ok_or_else(|| corrupt("tariff_index", self.tariff_index))?,
            price_micro_per_kwh: to_u64("price_micro_per_kwh", self.price)?,
            energy_tenths_kwh: to_u64("energy_tenths_kwh", self.energy)?,
            transfer_tenths_kwh: to_u64("transfer_tenths_kwh", self.transfer)?,
            token: self.token.parse::<TokenNumber>().map_err(|_| corrupt("token", &self.token))?,
            tid: u32::try_from(self.tid)
                .ok()
                .and_then(|m| Tid::from_minutes(m).ok())
                .ok_or_else(|| corrupt("tid", self.tid))?,
            base_date: BaseDate::from_code(&self.base_date).ok_or_else(|| corrupt("base_date", &self.base_date))?,
            request_id: self.request_id,
            serial: self.serial,
            operator: self.operator,
        })
    }
}

fn select_vend(conn: &Connection, filter: &str, value: &str) -> Result<Option<VendRecord>, StoreError> {
    let sql = format!("SELECT {VEND_COLUMNS} FROM vend WHERE {filter} = ?1");
    conn.query_row(&sql, [value], RawVend::from_row).optional()?.map(RawVend::decode).transpose()
}

fn select_account(conn: &Connection, serial: &str) -> Result<Option<(MeterAccount, Option<Tid>)>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM meter_account WHERE serial = ?1");
    conn.query_row(&sql, [serial], RawAccount::from_row).optional()?.map(RawAccount::decode).transpose()
}

fn select_tariff(conn: &Connection, ti: TariffIndex) -> Result<Option<Tariff>, StoreError> {
    let raw = conn
        .query_row(
            "SELECT currency, currency_exponent, price_micro_per_kwh FROM tariff WHERE tariff_index = ?1",
            [i64::from(ti.value())],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
        )
        .optional()?;
    let Some((currency, exponent, price)) = raw else { return Ok(None) };
    let currency: CurrencyCode = currency.parse().map_err(|_| corrupt("currency", &currency))?;
    let currency_exponent = u8::try_from(exponent)
        .ok()
        .filter(|e| *e <= crate::money::MAX_CURRENCY_EXPONENT)
        .ok_or_else(|| corrupt("currency_exponent", exponent))?;
    let price_micro_per_kwh = to_u64("price_micro_per_kwh", price)?;
    if price_micro_per_kwh == 0 {
        return Err(corrupt("price_micro_per_kwh", 0));
    }
    Ok(Some(Tariff { tariff_index: ti, currency, currency_exponent, price_micro_per_kwh }))
}

impl VendStore {
    /// Opens (creating if needed) the vending database at `path`.
    ///
    /// # Errors
    /// SQLite errors; [`StoreError::SchemaVersion`] for a file of a newer schema.
    pub fn open(path: &Path) -> Result<VendStore, StoreError> {
        let conn = Connection::open(path)?;
        VendStore::init(conn)
    }

    /// A database in memory (tests).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open_in_memory() -> Result<VendStore, StoreError> {
        VendStore::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<VendStore, StoreError> {
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaVersion { found: version, supported: SCHEMA_VERSION });
        }
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(VendStore { conn })
    }

    /// Adds or updates a meter's account (the last issued TID is kept).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn upsert_account(&mut self, account: &MeterAccount) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meter_account (serial, pan, key_type, supply_group_code, tariff_index, key_revision, \
                 key_expiry, base_date, algorithm) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT(serial) DO UPDATE SET pan = excluded.pan, key_type = excluded.key_type, \
                 supply_group_code = excluded.supply_group_code, tariff_index = excluded.tariff_index, \
                 key_revision = excluded.key_revision, key_expiry = excluded.key_expiry, \
                 base_date = excluded.base_date, algorithm = excluded.algorithm",
            params![
                account.serial,
                account.pan.to_digits(),
                i64::from(account.key_type.bits()),
                i64::from(account.supply_group_code.value()),
                i64::from(account.tariff_index.value()),
                i64::from(account.key_revision.value()),
                i64::from(account.key_expiry.0),
                account.base_date.code(),
                algorithm_code(account.algorithm),
            ],
        )?;
        Ok(())
    }

    /// The account of meter `serial`, if enrolled.
    ///
    /// # Errors
    /// SQLite errors, [`StoreError::Corrupt`].
    pub fn account(&self, serial: &str) -> Result<Option<MeterAccount>, StoreError> {
        Ok(select_account(&self.conn, serial)?.map(|(a, _)| a))
    }

    /// The last TID issued to meter `serial` (`None`: no vend yet or no account).
    ///
    /// # Errors
    /// SQLite errors, [`StoreError::Corrupt`].
    pub fn last_tid(&self, serial: &str) -> Result<Option<Tid>, StoreError> {
        Ok(select_account(&self.conn, serial)?.and_then(|(_, t)| t))
    }

    /// Sets the price of a tariff index (replacing the previous one; past vends keep the price
    /// they were sold at in their own record).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_tariff(&mut self, tariff: &Tariff, at: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO tariff (tariff_index, currency, currency_exponent, price_micro_per_kwh, updated_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(tariff_index) DO UPDATE SET currency = excluded.currency, \
                 currency_exponent = excluded.currency_exponent, \
                 price_micro_per_kwh = excluded.price_micro_per_kwh, updated_at_ms = excluded.updated_at_ms",
            params![
                i64::from(tariff.tariff_index.value()),
                tariff.currency.as_str(),
                i64::from(tariff.currency_exponent),
                to_i64("price_micro_per_kwh", tariff.price_micro_per_kwh)?,
                at.as_millisecond(),
            ],
        )?;
        Ok(())
    }

    /// The price of tariff index `ti`, if set.
    ///
    /// # Errors
    /// SQLite errors, [`StoreError::Corrupt`].
    pub fn tariff(&self, ti: TariffIndex) -> Result<Option<Tariff>, StoreError> {
        select_tariff(&self.conn, ti)
    }

    /// The vend with this request id.
    ///
    /// # Errors
    /// SQLite errors, [`StoreError::Corrupt`].
    pub fn vend_by_request_id(&self, request_id: &str) -> Result<Option<VendRecord>, StoreError> {
        select_vend(&self.conn, "request_id", request_id)
    }

    /// The vend that issued this token (20 digits, as [`TokenNumber`] prints it).
    ///
    /// # Errors
    /// SQLite errors, [`StoreError::Corrupt`].
    pub fn vend_by_token(&self, token: &TokenNumber) -> Result<Option<VendRecord>, StoreError> {
        select_vend(&self.conn, "token", &token.to_string())
    }

    /// Every vend of meter `serial`, oldest first.
    ///
    /// # Errors
    /// SQLite errors, [`StoreError::Corrupt`].
    pub fn vends(&self, serial: &str) -> Result<Vec<VendRecord>, StoreError> {
        let sql = format!("SELECT {VEND_COLUMNS} FROM vend WHERE serial = ?1 ORDER BY id");
        let mut stmt = self.conn.prepare(&sql)?;
        let raws = stmt.query_map([serial], RawVend::from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        raws.into_iter().map(RawVend::decode).collect()
    }

    /// Runs one vend in one `IMMEDIATE` transaction: a repeated request id returns the original
    /// vend ([`VendOutcome::Duplicate`]) when meter, amount and currency match and is refused
    /// ([`VendError::RequestIdConflict`]) otherwise; else `issue` gets the account, its tariff
    /// and its last TID and decides the token, which is recorded together with the meter's new
    /// last TID before the transaction commits.
    pub(crate) fn vend_transaction(
        &mut self,
        request: &VendRequest,
        issue: impl FnOnce(&MeterAccount, &Tariff, Option<Tid>) -> Result<NewVend, VendError>,
    ) -> Result<VendOutcome, VendError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(original) = select_vend(&tx, "request_id", &request.request_id)? {
            let same = original.serial == request.serial
                && original.amount_minor == request.amount_minor
                && original.currency == request.currency;
            return if same {
                Ok(VendOutcome::Duplicate(original))
            } else {
                Err(VendError::RequestIdConflict {
                    request_id: original.request_id,
                    serial: original.serial,
                    amount_minor: original.amount_minor,
                    currency: original.currency,
                })
            };
        }
        let (account, last_tid) =
            select_account(&tx, &request.serial)?.ok_or_else(|| VendError::UnknownMeter(request.serial.clone()))?;
        let tariff = select_tariff(&tx, account.tariff_index)?.ok_or(VendError::NoTariff(account.tariff_index))?;
        let new = issue(&account, &tariff, last_tid)?;
        let token = new.issued.number.to_string();
        tx.execute(
            "INSERT INTO vend (request_id, serial, operator, vended_at_ms, vended_at, amount_minor, currency, \
                 tariff_index, price_micro_per_kwh, energy_tenths_kwh, transfer_tenths_kwh, token, tid, base_date) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                request.request_id,
                request.serial,
                request.operator,
                request.requested_at.as_millisecond(),
                request.requested_at.to_string(),
                to_i64("amount_minor", request.amount_minor)?,
                request.currency.as_str(),
                i64::from(new.tariff.tariff_index.value()),
                to_i64("price_micro_per_kwh", new.tariff.price_micro_per_kwh)?,
                to_i64("energy_tenths_kwh", new.energy_tenths_kwh)?,
                to_i64("transfer_tenths_kwh", new.issued.transfer_tenths_kwh)?,
                token,
                i64::from(new.issued.tid.minutes()),
                account.base_date.code(),
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "UPDATE meter_account SET last_tid = ?1 WHERE serial = ?2",
            params![i64::from(new.issued.tid.minutes()), request.serial],
        )?;
        tx.commit()?;
        Ok(VendOutcome::Issued(VendRecord {
            id,
            request_id: request.request_id.clone(),
            serial: request.serial.clone(),
            operator: request.operator.clone(),
            vended_at: timestamp("vended_at_ms", request.requested_at.as_millisecond())?,
            amount_minor: request.amount_minor,
            currency: request.currency,
            tariff_index: new.tariff.tariff_index,
            price_micro_per_kwh: new.tariff.price_micro_per_kwh,
            energy_tenths_kwh: new.energy_tenths_kwh,
            transfer_tenths_kwh: new.issued.transfer_tenths_kwh,
            token: new.issued.number,
            tid: new.issued.tid,
            base_date: account.base_date,
        }))
    }

    /// Records a token delivery and what the meter answered; the issuing vend's request id is
    /// looked up by the token.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn record_token_event(&mut self, event: &NewTokenEvent) -> Result<TokenEvent, StoreError> {
        let digits: String = event.token.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let request_id = match digits.parse::<TokenNumber>() {
            Ok(number) => self.vend_by_token(&number)?.map(|v| v.request_id),
            Err(_) => None,
        };
        let description: Vec<String> = event.description.iter().map(|l| l.replace('\n', " ")).collect();
        self.conn.execute(
            "INSERT INTO token_event (serial, token, request_id, recorded_at_ms, recorded_at, method, status_code, \
                 accepted, display, description) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                event.serial,
                event.token,
                request_id,
                event.recorded_at.as_millisecond(),
                event.recorded_at.to_string(),
                event.method as i64,
                i64::from(event.status_code),
                event.accepted,
                event.display,
                description.join("\n"),
            ],
        )?;
        let id = self.conn.last_insert_rowid();
        Ok(TokenEvent { id, event: NewTokenEvent { description, ..event.clone() }, request_id })
    }

    /// Every token event of meter `serial`, oldest first.
    ///
    /// # Errors
    /// SQLite errors, [`StoreError::Corrupt`].
    pub fn token_events(&self, serial: &str) -> Result<Vec<TokenEvent>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, serial, token, request_id, recorded_at_ms, method, status_code, accepted, display, \
                 description FROM token_event WHERE serial = ?1 ORDER BY id",
        )?;
        type Raw = (i64, String, String, Option<String>, i64, i64, i64, bool, String, String);
        let raws = stmt
            .query_map([serial], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<Raw>>>()?;
        raws.into_iter()
            .map(|(id, serial, token, request_id, at, method, status, accepted, display, description)| {
                Ok(TokenEvent {
                    id,
                    request_id,
                    event: NewTokenEvent {
                        serial,
                        token,
                        recorded_at: timestamp("recorded_at_ms", at)?,
                        method: u8::try_from(method)
                            .ok()
                            .and_then(DeliveryMethod::from_u8)
                            .ok_or_else(|| corrupt("method", method))?,
                        status_code: u8::try_from(status).map_err(|_| corrupt("status_code", status))?,
                        accepted,
                        display,
                        description: if description.is_empty() {
                            Vec::new()
                        } else {
                            description.split('\n').map(str::to_string).collect()
                        },
                    },
                })
            })
            .collect()
    }
}
