//! `gridedge read`: read any DLMS/COSEM meter (ours or another vendor's) over the TCP
//! wrapper and print JSON: clock, serial number, registers with scaler and unit, and
//! the load profile by range.

use std::collections::HashMap;
use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};
use dlms::Obis;
use dlms::association::Authentication;
use dlms::data::Data;
use dlms::datetime::{ClockStatus, CosemDateTime};
use dlms::obis::codes;
use dlms::unit::ScalerUnit;
use dlms::xdlms::{
    CaptureObjectDefinition, CosemAttributeDescriptor, DataAccessResult, RangeDescriptor, SelectiveAccess,
};
use hes::MeterEndpoint;
use hes::profile::{self, CaptureColumn};
use hes::session::{DlmsSession, SessionError, SessionTimeouts};
use jiff::{SignedDuration, Timestamp};
use model::MeterId;
use serde_json::{Value, json};

use super::json::{data as data_json, date_time};
use super::security_args::{DEFAULT_CLIENT_SYSTEM_TITLE, SecurityArgs};

/// Authentication mechanism for `--auth`.
#[derive(Clone, Copy, ValueEnum)]
pub enum AuthArg {
    /// Lowest level security (no authentication).
    None,
    /// Low level security (password).
    Low,
    /// High level security mechanism 5 (GMAC) with suite 0 ciphering (needs the keys).
    HighGmac,
}

/// The link layer for `--transport`.
#[derive(Clone, Copy, ValueEnum)]
pub enum TransportArg {
    /// IEC 62056-47 TCP wrapper.
    Wrapper,
    /// HDLC frames on the TCP stream (IEC 62056-46).
    Hdlc,
}

/// The parity for `--parity` (with `--serial`).
#[cfg(feature = "serial")]
#[derive(Clone, Copy, ValueEnum)]
pub enum ParityArg {
    /// No parity: 8N1.
    None,
    /// Even parity: 8E1.
    Even,
}

/// Parses `--server-physical`: a number or `none`.
pub fn parse_physical(s: &str) -> anyhow::Result<Option<u16>> {
    match s {
        "none" => Ok(None),
        n => Ok(Some(n.parse().with_context(|| format!("--server-physical {n:?} is not a number or none"))?)),
    }
}

/// Arguments of `gridedge read`.
#[derive(Args)]
pub struct ReadArgs {
    /// Meter host name or IP address.
    #[cfg_attr(not(feature = "serial"), arg(long, required = true))]
    #[cfg_attr(feature = "serial", arg(long, required_unless_present = "serial"))]
    pub host: Option<String>,
    /// Serial device of an optical probe or RS-485 adapter (e.g. /dev/ttyUSB0) instead of
    /// TCP: direct HDLC (IEC 62056-46), 8 data bits, 1 stop bit; `--transport` is then
    /// HDLC whatever is given. IEC 62056-21 mode E sign-on is not run.
    #[cfg(feature = "serial")]
    #[arg(long, conflicts_with = "host")]
    pub serial: Option<String>,
    /// Baud rate with `--serial` (9600 is the usual direct HDLC / mode E rate).
    #[cfg(feature = "serial")]
    #[arg(long, default_value_t = 9600)]
    pub baud: u32,
    /// Parity with `--serial`: none (8N1) or even (8E1).
    #[cfg(feature = "serial")]
    #[arg(long, value_enum, default_value_t = ParityArg::None)]
    pub parity: ParityArg,
    /// Meter TCP port.
    #[arg(long, default_value_t = 4059)]
    pub port: u16,
    /// Client address (wrapper source wPort): 16 public client, 1 management client.
    #[arg(long, default_value_t = 16)]
    pub client_address: u16,
    /// Server address (wrapper destination wPort): 1 = management logical device.
    #[arg(long, default_value_t = 1)]
    pub server_address: u16,
    /// Authentication mechanism.
    #[arg(long, value_enum, default_value_t = AuthArg::None)]
    pub auth: AuthArg,
    /// LLS password (with --auth low).
    #[arg(long)]
    pub password: Option<String>,
    /// Registers to read (OBIS, e.g. 1.0.1.8.0.255 or 1-0:1.8.0*255); repeatable.
    /// Default: the energy, tariff and instantaneous registers of a residential meter.
    #[arg(long = "obis")]
    pub obis: Vec<String>,
    /// Profile generic to read by range.
    #[arg(long, default_value = "1.0.99.1.0.255")]
    pub profile: String,
    /// Start of the profile range (ISO 8601 with offset, e.g. 2026-11-20T00:00:00Z).
    /// Default: 24 hours before the meter's clock.
    #[arg(long)]
    pub from: Option<Timestamp>,
    /// End of the profile range (ISO 8601). Default: the meter's clock.
    #[arg(long)]
    pub to: Option<Timestamp>,
    /// Skip the load profile.
    #[arg(long)]
    pub no_profile: bool,
    /// Seconds to wait for each response.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Link layer on the TCP stream: the IEC 62056-47 wrapper or HDLC (IEC 62056-46).
    #[arg(long, value_enum, default_value_t = TransportArg::Wrapper)]
    pub transport: TransportArg,
    /// HDLC lower (physical) server address; `none` for a 1-byte server address.
    #[arg(long, default_value = "17")]
    pub server_physical: String,
    /// Suite 0 keys and titles (with `--auth high-gmac`, or to cipher an LLS or
    /// public association). The client system title defaults to "GRD" 00000001.
    #[command(flatten)]
    pub security: SecurityArgs,
}

fn attr(class_id: u16, obis: Obis, attribute: i8) -> CosemAttributeDescriptor {
    CosemAttributeDescriptor::new(class_id, obis, attribute)
}

/// Reads one attribute; a refusal by the meter becomes `Err(result)`, other errors abort.
async fn try_get(
    s: &mut DlmsSession,
    a: CosemAttributeDescriptor,
    access: Option<SelectiveAccess>,
) -> anyhow::Result<Result<Data, DataAccessResult>> {
    match s.get(a, access).await {
        Ok(d) => Ok(Ok(d)),
        Err(SessionError::GetRefused { result, .. }) => Ok(Err(result)),
        Err(e) => Err(anyhow!(e)),
    }
}

async fn read_register(s: &mut DlmsSession, obis: Obis) -> anyhow::Result<Value> {
    // Register (3), then Extended register (4), then Data (1).
    for class_id in [3u16, 4, 1] {
        match try_get(s, attr(class_id, obis, 2), None).await? {
            Ok(value) => {
                let mut out = json!({ "obis": obis.to_string(), "class_id": class_id, "raw": data_json(&value) });
                if class_id != 1 {
                    if let Ok(su) = try_get(s, attr(class_id, obis, 3), None).await? {
                        if let Ok(su) = ScalerUnit::from_data(&su) {
                            out["scaler"] = json!(su.scaler);
                            out["unit"] = json!(su.unit.0);
                            out["unit_symbol"] = json!(su.unit.symbol());
                            out["value"] = json!(su.apply(&value));
                            out["text"] = json!(su.format_value(&value));
                        }
                    }
                }
                return Ok(out);
            }
            Err(DataAccessResult::ObjectClassInconsistent) => continue,
            Err(e) => return Ok(json!({ "obis": obis.to_string(), "error": format!("{e:?}") })),
        }
    }
    Ok(json!({ "obis": obis.to_string(), "error": "ObjectClassInconsistent" }))
}

fn text(d: &Data) -> Value {
    match d.as_bytes() {
        Some(b) if b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') => json!(String::from_utf8_lossy(b)),
        _ => data_json(d),
    }
}

async fn read_profile(
    s: &mut DlmsSession,
    obis: Obis,
    meter_clock: Option<&CosemDateTime>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> anyhow::Result<Value> {
    let capture_objects = s.get(attr(7, obis, 3), None).await.context("reading capture_objects")?;
    let columns = profile::parse_capture_objects(&capture_objects)?;
    let period = try_get(s, attr(7, obis, 4), None).await?.ok().and_then(|p| p.as_integer());
    let mut scalers: HashMap<Obis, ScalerUnit> = HashMap::new();
    for c in &columns {
        if matches!(c.class_id, 3 | 4) && c.attribute == 2 {
            if let Ok(su) = try_get(s, attr(c.class_id, c.obis, 3), None).await? {
                if let Ok(su) = ScalerUnit::from_data(&su) {
                    scalers.insert(c.obis, su);
                }
            }
        }
    }
    let meter_now = meter_clock.and_then(|c| c.to_utc().ok()).unwrap_or_else(Timestamp::now);
    let to = to.unwrap_or(meter_now);
    let from = from.unwrap_or(to - SignedDuration::from_hours(24));
    let deviation = meter_clock.and_then(|c| c.deviation_minutes());
    let bound = |t: Timestamp| -> anyhow::Result<Data> {
        Ok(Data::OctetString(CosemDateTime::from_utc(t, deviation, ClockStatus::NOT_SPECIFIED)?.to_octets()))
    };
    let clock_col = columns.iter().find(|c| c.class_id == 8).copied().unwrap_or(CaptureColumn {
        class_id: 8,
        obis: codes::CLOCK,
        attribute: 2,
        data_index: 0,
    });
    let access = SelectiveAccess::Range(RangeDescriptor {
        restricting_object: CaptureObjectDefinition {
            class_id: clock_col.class_id,
            logical_name: clock_col.obis,
            attribute_index: clock_col.attribute,
            data_index: clock_col.data_index,
        },
        from_value: bound(from)?,
        to_value: bound(to)?,
        selected_values: vec![],
    });
    let buffer = s.get(attr(7, obis, 2), Some(access)).await.context("reading the profile buffer by range")?;
    let rows = buffer.as_sequence().unwrap_or(&[]);
    let entries: Vec<Value> = rows
        .iter()
        .map(|row| {
            let cells = row.as_sequence().unwrap_or(&[]);
            let values: Vec<Value> = cells
                .iter()
                .zip(&columns)
                .map(|(cell, col)| match scalers.get(&col.obis) {
                    Some(su) if col.class_id != 8 => json!(su.apply(cell)),
                    _ => data_json(cell),
                })
                .collect();
            Value::Array(values)
        })
        .collect();
    let column_json: Vec<Value> = columns
        .iter()
        .map(|c| {
            let mut v = json!({ "class_id": c.class_id, "obis": c.obis.to_string(), "attribute": c.attribute });
            if let Some(su) = scalers.get(&c.obis) {
                v["scaler"] = json!(su.scaler);
                v["unit"] = json!(su.unit.symbol());
            }
            v
        })
        .collect();
    Ok(json!({
        "obis": obis.to_string(),
        "capture_period_s": period.map(|p| p as f64),
        "from": from.to_string(),
        "to": to.to_string(),
        "columns": column_json,
        "entries": entries,
    }))
}

/// Runs the subcommand.
pub fn run(args: ReadArgs) -> anyhow::Result<ExitCode> {
    #[cfg(feature = "serial")]
    let serial_port = args.serial.clone();
    #[cfg(not(feature = "serial"))]
    let serial_port: Option<String> = None;
    let address = match (&serial_port, &args.host) {
        // Not used over a serial port (`DlmsSession::open_over`).
        (Some(_), _) => std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
        (None, Some(host)) => (host.as_str(), args.port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {host}:{}", args.port))?
            .next()
            .ok_or_else(|| anyhow!("{host} resolves to no address"))?,
        (None, None) => bail!("--host is required"),
    };
    let target = serial_port.clone().unwrap_or_else(|| address.to_string());
    let authentication = match (args.auth, &args.password) {
        (AuthArg::None, _) => Authentication::None,
        (AuthArg::Low, Some(p)) => Authentication::Low { password: p.as_bytes().to_vec() },
        (AuthArg::Low, None) => bail!("--auth low needs --password"),
        (AuthArg::HighGmac, _) => Authentication::HighGmac,
    };
    let security = match (args.auth, args.security.has_keys()) {
        (AuthArg::HighGmac, _) | (_, true) => Some(args.security.settings(DEFAULT_CLIENT_SYSTEM_TITLE)?),
        _ => None,
    };
    let registers: Vec<Obis> = if args.obis.is_empty() {
        model::ReadingType::ELECTRICITY.iter().map(|t| Obis(t.obis())).collect()
    } else {
        args.obis.iter().map(|s| s.parse::<Obis>()).collect::<Result<_, _>>()?
    };
    let profile_obis: Obis = args.profile.parse()?;
    let endpoint = MeterEndpoint {
        serial: MeterId(String::new()),
        address,
        client_sap: args.client_address,
        server_sap: args.server_address,
        authentication,
        security,
        link: match args.transport {
            _ if serial_port.is_some() => {
                hes::transport::LinkLayer::Hdlc { server_physical: parse_physical(&args.server_physical)? }
            }
            TransportArg::Wrapper => hes::transport::LinkLayer::Wrapper,
            TransportArg::Hdlc => {
                hes::transport::LinkLayer::Hdlc { server_physical: parse_physical(&args.server_physical)? }
            }
        },
    };
    let timeouts =
        SessionTimeouts { connect: Duration::from_secs(args.timeout), response: Duration::from_secs(args.timeout) };
    let rt = super::runtime()?;
    let out = rt.block_on(async move {
        let opened = match &serial_port {
            None => DlmsSession::open(&endpoint, timeouts).await,
            #[cfg(feature = "serial")]
            Some(path) => {
                let parity = match args.parity {
                    ParityArg::None => hes::serial::SerialParity::None,
                    ParityArg::Even => hes::serial::SerialParity::Even,
                };
                let settings = hes::serial::SerialSettings::direct_hdlc(args.baud).with_parity(parity);
                DlmsSession::open_over(hes::serial::open_serial(path, settings)?, &endpoint, timeouts).await
            }
            #[cfg(not(feature = "serial"))]
            Some(_) => bail!("this build has no serial support (feature `serial`)"),
        };
        let mut s = opened.with_context(|| format!("cannot associate with the meter at {target}"))?;
        let negotiated = s.negotiated().map(|n| {
            json!({
                "conformance": n.negotiated_conformance.names(),
                "server_max_receive_pdu_size": n.server_max_receive_pdu_size,
            })
        });
        let hes_before = Timestamp::now();
        let clock = try_get(&mut s, attr(8, codes::CLOCK, 2), None).await?;
        let hes_after = Timestamp::now();
        let clock_dt = clock.as_ref().ok().and_then(|c| c.as_date_time());
        let clock_json = match (&clock, &clock_dt) {
            (_, Some(dt)) => {
                let mut v = date_time(dt);
                if let Ok(utc) = dt.to_utc() {
                    let mid = hes_before + hes_after.duration_since(hes_before) / 2;
                    v["drift_s"] = json!(utc.duration_since(mid).as_secs_f64());
                }
                v
            }
            (Ok(other), None) => data_json(other),
            (Err(e), None) => json!({ "error": format!("{e:?}") }),
        };
        let serial = try_get(&mut s, attr(1, codes::SERIAL_NUMBER, 2), None).await?;
        let ldn = try_get(&mut s, attr(1, codes::LOGICAL_DEVICE_NAME, 2), None).await?;
        let mut regs = Vec::new();
        for obis in registers {
            regs.push(read_register(&mut s, obis).await?);
        }
        let profile = if args.no_profile {
            Value::Null
        } else {
            read_profile(&mut s, profile_obis, clock_dt.as_ref(), args.from, args.to).await?
        };
        s.release().await.context("releasing the association")?;
        anyhow::Ok(json!({
            "meter": { "address": target, "client_address": args.client_address, "server_address": args.server_address },
            "association": negotiated,
            "clock": clock_json,
            "serial": serial.as_ref().map(text).unwrap_or_else(|e| json!({ "error": format!("{e:?}") })),
            "logical_device_name": ldn.as_ref().map(text).unwrap_or_else(|e| json!({ "error": format!("{e:?}") })),
            "registers": regs,
            "load_profile": profile,
        }))
    })?;
    super::emit(&serde_json::to_string_pretty(&out)?)?;
    Ok(ExitCode::SUCCESS)
}
