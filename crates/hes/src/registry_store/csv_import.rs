//! Provisioning from a CSV file: one meter per row, a header row naming the columns (in
//! any order). Every good row is written (inserted, updated, or left unchanged when
//! identical, so re-importing a file is harmless); every bad row is reported with its
//! line number and reason and written nowhere.
//!
//! | column | required | values | default |
//! |---|---|---|---|
//! | `serial` | yes | 1..=32 printable ASCII, no spaces or commas | |
//! | `host` | yes | IP address or host name of the meter (or its DCU/modem) | |
//! | `port` | | TCP port | 4059 |
//! | `meter_type` | | `electricity`, `water`, `gas` | electricity |
//! | `transport` | | `wrapper`, `hdlc` | wrapper |
//! | `client_sap` | | client SAP / wPort | 16 without authentication, else 1 |
//! | `server_sap` | | server SAP / wPort (HDLC upper address) | 1 |
//! | `server_physical` | | HDLC lower address, or `none` | 17 with HDLC |
//! | `authentication` | | `none`, `low`, `high-gmac` | none |
//! | `security_suite` | | 0, 1, 2, empty = no ciphering | 0 with high-gmac |
//! | `security_policy` | | version 1 bits, decimal or `0x..` | 0x6C when a suite is set |
//! | `system_title` | | 16 hex digits | |
//! | `logical_device_name` | | up to 16 characters | |
//! | `transformer`, `feeder`, `dcu`, `link` | | labels, 1..=64 characters | |
//! | `time_zone` | | IANA zone, e.g. `Europe/London` | UTC |
//! | `status` | | `provisioned`, `active`, `suspended`, `decommissioned` | provisioned |
//!
//! Empty cells take the default. Keys and passwords are never part of this file: they go
//! to the key store (`gridedge hes keys import`).

use std::collections::HashMap;
use std::io::Read;

use serde::Serialize;

use super::error::{RecordError, RegistryError};
use super::record::{AuthenticationKind, MeterRecord, MeterStatus, SecurityProfile, TransportKind, parse_system_title};
use super::store::{RegistryStore, UpsertOutcome};

/// The columns an import file may have.
pub const CSV_COLUMNS: [&str; 19] = [
    "serial",
    "host",
    "port",
    "meter_type",
    "transport",
    "client_sap",
    "server_sap",
    "server_physical",
    "authentication",
    "security_suite",
    "security_policy",
    "system_title",
    "logical_device_name",
    "transformer",
    "feeder",
    "dcu",
    "link",
    "time_zone",
    "status",
];

/// One rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// The row's serial, when it has one.
    pub serial: Option<String>,
    /// Why it was rejected.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: u64,
    /// New meters.
    pub inserted: u64,
    /// Meters whose record changed.
    pub updated: u64,
    /// Meters already registered with the same record.
    pub unchanged: u64,
    /// Rejected rows, in file order.
    pub errors: Vec<RowError>,
}

fn cell<'a>(row: &'a csv::StringRecord, columns: &HashMap<&str, usize>, name: &str) -> Option<&'a str> {
    columns.get(name).and_then(|i| row.get(*i)).map(str::trim).filter(|s| !s.is_empty())
}

fn number<T: TryFrom<u64>>(field: &'static str, text: &str) -> Result<T, RecordError> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse::<u64>().ok(),
    };
    parsed.and_then(|v| T::try_from(v).ok()).ok_or_else(|| RecordError::invalid(field, text, "a number in range"))
}

/// Builds the record of one CSV row (see the module docs for columns and defaults).
///
/// # Errors
/// [`RecordError`] for a missing required column or an invalid value (the record is
/// also validated with [`MeterRecord::validate`]).
pub fn record_from_row(row: &csv::StringRecord, columns: &HashMap<&str, usize>) -> Result<MeterRecord, RecordError> {
    let get = |name: &str| cell(row, columns, name);
    let serial = get("serial").ok_or(RecordError::Missing("serial"))?;
    let host = get("host").ok_or(RecordError::Missing("host"))?;
    let port = get("port").map(|p| number::<u16>("port", p)).transpose()?.unwrap_or(4059);
    let mut r = MeterRecord::new(serial, host, port);
    if let Some(t) = get("meter_type") {
        r.meter_type = t.parse().map_err(|_| RecordError::invalid("meter_type", t, "electricity, water or gas"))?;
    }
    if let Some(t) = get("transport") {
        r.transport.kind = t.parse::<TransportKind>()?;
    }
    if let Some(a) = get("authentication") {
        r.authentication = a.parse::<AuthenticationKind>()?;
    }
    r.transport.client_sap = match get("client_sap") {
        Some(c) => number("client_sap", c)?,
        None if r.authentication == AuthenticationKind::None => 16,
        None => 1,
    };
    if let Some(s) = get("server_sap") {
        r.transport.server_sap = number("server_sap", s)?;
    }
    r.transport.server_physical = match get("server_physical") {
        Some(p) if p.eq_ignore_ascii_case("none") => None,
        Some(p) => Some(number("server_physical", p)?),
        None if r.transport.kind == TransportKind::Hdlc => Some(17),
        None => None,
    };
    let suite: Option<u8> = match get("security_suite") {
        Some(s) => Some(number("security_suite", s)?),
        None if r.authentication == AuthenticationKind::HighGmac => Some(0),
        None => None,
    };
    let policy: Option<u8> = get("security_policy").map(|p| number("security_policy", p)).transpose()?;
    r.security = match (suite, policy) {
        (Some(suite), policy) => {
            Some(SecurityProfile { suite, policy: policy.unwrap_or(SecurityProfile::SUITE0_DEFAULT.policy) })
        }
        (None, Some(_)) => return Err(RecordError::Missing("security_suite (a security_policy was given)")),
        (None, None) => None,
    };
    if let Some(t) = get("system_title") {
        r.system_title = Some(parse_system_title(t)?);
    }
    r.logical_device_name = get("logical_device_name").map(str::to_string);
    r.transformer = get("transformer").map(str::to_string);
    r.feeder = get("feeder").map(str::to_string);
    r.dcu = get("dcu").map(str::to_string);
    r.link = get("link").map(str::to_string);
    if let Some(z) = get("time_zone") {
        r.time_zone = z.to_string();
    }
    if let Some(s) = get("status") {
        r.status = s.parse::<MeterStatus>()?;
    }
    r.validate()?;
    Ok(r)
}

impl RegistryStore {
    /// Imports meters from CSV text (see the module docs). Good rows are written in one
    /// transaction; bad rows (and second occurrences of a serial within the file) are
    /// reported in [`ImportReport::errors`].
    ///
    /// # Errors
    /// [`RegistryError::Csv`] when the file cannot be read, has no header, lacks the
    /// `serial` or `host` column, or names a column this build does not know (a typo
    /// would otherwise silently drop a value); [`RegistryError::Sqlite`].
    pub fn import_csv(&mut self, input: impl Read) -> Result<ImportReport, RegistryError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
        let headers = reader.headers().map_err(|e| RegistryError::Csv(e.to_string()))?.clone();
        let mut columns: HashMap<&str, usize> = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            let name = CSV_COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(h)).ok_or_else(|| {
                RegistryError::Csv(format!("unknown column {h:?}; known: {}", CSV_COLUMNS.join(", ")))
            })?;
            columns.insert(name, i);
        }
        for required in ["serial", "host"] {
            if !columns.contains_key(required) {
                return Err(RegistryError::Csv(format!("the header has no {required:?} column")));
            }
        }
        let mut report = ImportReport::default();
        let mut good: Vec<(u64, MeterRecord)> = Vec::new();
        let mut seen: HashMap<String, u64> = HashMap::new();
        for row in reader.records() {
            let row = match row {
                Ok(r) => r,
                Err(e) => {
                    report.rows += 1;
                    let line = e.position().map_or(0, |p| p.line());
                    report.errors.push(RowError { line, serial: None, reason: e.to_string() });
                    continue;
                }
            };
            let line = row.position().map_or(0, |p| p.line());
            if row.iter().all(str::is_empty) {
                continue;
            }
            report.rows += 1;
            let serial = cell(&row, &columns, "serial").map(str::to_string);
            if let Some(s) = &serial {
                if let Some(first) = seen.get(s) {
                    report.errors.push(RowError {
                        line,
                        serial,
                        reason: format!("serial already given on line {first} of this file"),
                    });
                    continue;
                }
            }
            match record_from_row(&row, &columns) {
                Ok(r) => {
                    seen.insert(r.serial.0.clone(), line);
                    good.push((line, r));
                }
                Err(e) => report.errors.push(RowError { line, serial, reason: e.to_string() }),
            }
        }
        let records: Vec<MeterRecord> = good.iter().map(|(_, r)| r.clone()).collect();
        for ((line, r), outcome) in good.iter().zip(self.upsert_many(&records)?) {
            match outcome {
                Ok(UpsertOutcome::Inserted) => report.inserted += 1,
                Ok(UpsertOutcome::Updated) => report.updated += 1,
                Ok(UpsertOutcome::Unchanged) => report.unchanged += 1,
                Err(e) => report.errors.push(RowError {
                    line: *line,
                    serial: Some(r.serial.0.clone()),
                    reason: e.to_string(),
                }),
            }
        }
        report.errors.sort_by_key(|e| e.line);
        Ok(report)
    }
}
