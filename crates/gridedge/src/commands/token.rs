//! Prepayment tokens on the command line:
//!
//! * `gridedge token enter --host H --port P TOKEN`: the HES delivers a token to a meter
//!   through its Token gateway (class 115, management client with LLS) and prints the meter's
//!   answer; with `--db vend.db` the delivery is recorded as a token event in the vending
//!   database (the MDMS has no end-device event store yet). Exit code 0 when the meter
//!   accepted the token, 2 when it refused it, 1 on errors.
//! * `gridedge meter --prepaid ...`: the simulated meter in prepaid mode ([`PrepaidArgs`],
//!   [`run_prepaid_meter`]). Its key is derived like `gridedge vend` derives it (simulated
//!   DRN from the serial, or `--drn`; the same vending key), so vended tokens fit. Standard
//!   input is the meter's keypad: a line with a token enters it; `e` invokes emergency credit,
//!   `b` presses the reconnect button, `s` shows the credit; each answer is printed as one
//!   `keypad: ...` line.

use std::io::{BufRead, Write};
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use dlms::association::Authentication;
use dlms::data::Data;
use dlms::obis::codes;
use dlms::xdlms::CosemAttributeDescriptor;
use hes::MeterEndpoint;
use hes::session::{DlmsSession, SessionTimeouts};
use hes::token_delivery::{TokenOutcome, deliver_token};
use jiff::Timestamp;
use mdms::SqliteStore;
use mdms::events::EventStore;
use meter::objects::disconnect_control::ControlMode;
use meter::tcp_server::{MeterServerConfig, serve};
use meter::{FriendlyCredit, MeterConfig, PrepaymentConfig, SimulatedMeter, StsKey, TokenDeliveryMethod};
use model::MeterId;
use model::{EndDeviceEvent, EndDeviceEventType};
use serde_json::json;
use vending::{DeliveryMethod, NewTokenEvent, VendStore, parse_decimal};

use super::meter::MeterArgs;
use super::vend::{simulated_account, vending_key};

/// Arguments of `gridedge token`.
#[derive(Args)]
pub struct TokenArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// `gridedge token` subcommands.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Deliver a token to a meter through its Token gateway (DLMS/COSEM over TCP).
    Enter(EnterArgs),
}

/// Arguments of `gridedge token enter`.
#[derive(Args)]
pub struct EnterArgs {
    /// The token (20 digits; spaces and '-' are ignored).
    pub token: String,
    /// Meter host name or IP address.
    #[arg(long)]
    pub host: String,
    /// Meter TCP port.
    #[arg(long, default_value_t = 4059)]
    pub port: u16,
    /// Client address (wrapper source wPort); 1 = management client.
    #[arg(long, default_value_t = 1)]
    pub client_address: u16,
    /// Server address (wrapper destination wPort).
    #[arg(long, default_value_t = 1)]
    pub server_address: u16,
    /// LLS password of the management client.
    #[arg(long, default_value = "00000000")]
    pub password: String,
    /// Record the delivery as a token event in this vending database.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Record the delivery in this MDMS database as an IEC 61968-9 EndDeviceEvent (token
    /// accepted 3.20.81.44 / token rejected 3.20.81.85, source `prepayment`, with the
    /// token_status code, the display code and the vend's request id in its details).
    #[arg(long)]
    pub mdms_db: Option<PathBuf>,
    /// The meter's serial number for the event (default: read from 0.0.96.1.0.255).
    #[arg(long)]
    pub serial: Option<String>,
    /// Seconds to wait for each response.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prepaid-mode options of `gridedge meter` (all need `--prepaid`).
#[derive(Args)]
pub struct PrepaidArgs {
    /// Run the meter in prepaid mode: Token gateway, credit, relay switched by credit;
    /// standard input is the keypad.
    #[arg(long)]
    pub prepaid: bool,
    /// Credit at start, kWh.
    #[arg(long, default_value = "0", requires = "prepaid")]
    pub initial_credit_kwh: String,
    /// Low-credit warning threshold, kWh.
    #[arg(long, default_value = "5", requires = "prepaid")]
    pub low_credit_kwh: String,
    /// Emergency credit the customer may borrow, kWh (0 = none).
    #[arg(long, default_value = "0", requires = "prepaid")]
    pub emergency_credit_kwh: String,
    /// Token credit at or below which emergency credit may be invoked, kWh.
    #[arg(long, default_value = "5", requires = "prepaid")]
    pub emergency_threshold_kwh: String,
    /// Daily friendly-credit hours, local "START-END" (e.g. 18-08): no disconnection then.
    #[arg(long, requires = "prepaid")]
    pub friendly_hours: Option<String>,
    /// Friendly-credit days, comma-separated (mon..sun), e.g. sat,sun.
    #[arg(long, requires = "prepaid")]
    pub friendly_days: Option<String>,
    /// Disconnect control mode (6: the meter reconnects itself when credit arrives; 1-4: the
    /// customer presses the button).
    #[arg(long, default_value_t = 6, requires = "prepaid")]
    pub control_mode: u8,
    /// Decoder reference number (default: derived from the serial, as `gridedge vend` does).
    #[arg(long, requires = "prepaid")]
    pub drn: Option<String>,
    /// DKGA04 vending key the decoder key is derived from (default: $GRIDEDGE_VENDING_KEY,
    /// else the test key).
    #[arg(long, requires = "prepaid")]
    pub vending_key: Option<String>,
}

/// kWh as decimal text (up to 3 places) → Wh.
fn kwh_to_wh(text: &str, what: &str) -> anyhow::Result<u64> {
    parse_decimal(text, 3).with_context(|| format!("{what}: kWh with at most 3 decimals"))
}

/// Parses "18-08".
fn parse_hours(text: &str) -> anyhow::Result<(u8, u8)> {
    let (a, b) = text.split_once('-').ok_or_else(|| anyhow!("friendly hours are START-END, e.g. 18-08"))?;
    let (a, b): (u8, u8) = (a.trim().parse()?, b.trim().parse()?);
    if a > 23 || b > 23 {
        bail!("friendly hours are 0..=23");
    }
    Ok((a, b))
}

/// Parses "sat,sun" into ISO weekdays.
fn parse_days(text: &str) -> anyhow::Result<Vec<u8>> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    text.split(',')
        .map(|d| {
            let d = d.trim().to_ascii_lowercase();
            NAMES
                .iter()
                .position(|n| d.starts_with(n))
                .map(|i| i as u8 + 1)
                .ok_or_else(|| anyhow!("unknown day {d:?} (mon..sun)"))
        })
        .collect()
}

/// The meter configuration of `gridedge meter --prepaid`: prepaid from now on.
fn prepaid_config(args: &MeterArgs) -> anyhow::Result<(MeterConfig, String)> {
    let p = &args.prepaid;
    let account = simulated_account(&args.serial, p.drn.as_deref())?;
    let decoder_key = account.decoder_key(&vending_key(p.vending_key.as_deref())?)?;
    let key = StsKey {
        decoder_key,
        algorithm: account.algorithm,
        key_type: account.key_type,
        key_revision: account.key_revision,
        tariff_index: account.tariff_index,
        supply_group_code: account.supply_group_code,
        key_expiry: account.key_expiry,
        base_date: account.base_date,
    };
    let mut prepayment = PrepaymentConfig::new(key);
    // Prepaid from the meter's own clock reading at launch (its drift is a function of the seed).
    let probe = SimulatedMeter::new(&args.serial, args.seed, MeterConfig::default()).context("meter configuration")?;
    prepayment.start = Some(probe.meter_time(Timestamp::now()));
    prepayment.initial_credit_wh = kwh_to_wh(&p.initial_credit_kwh, "--initial-credit-kwh")?;
    prepayment.low_credit_threshold_wh = kwh_to_wh(&p.low_credit_kwh, "--low-credit-kwh")?;
    prepayment.emergency_credit_wh = kwh_to_wh(&p.emergency_credit_kwh, "--emergency-credit-kwh")?;
    prepayment.emergency_threshold_wh = kwh_to_wh(&p.emergency_threshold_kwh, "--emergency-threshold-kwh")?;
    prepayment.friendly = FriendlyCredit {
        daily_hours: p.friendly_hours.as_deref().map(parse_hours).transpose()?,
        weekdays: p.friendly_days.as_deref().map(parse_days).transpose()?.unwrap_or_default(),
    };
    let control_mode = ControlMode::from_u8(p.control_mode).ok_or_else(|| anyhow!("--control-mode is 0..=6"))?;
    let config = MeterConfig { control_mode, prepayment: Some(prepayment), ..MeterConfig::default() };
    Ok((config, account.pan.to_digits()))
}

/// One keypad line → the meter's answer.
fn keypad(meter: &Mutex<SimulatedMeter>, line: &str) -> String {
    let mut m = meter.lock().unwrap_or_else(|p| p.into_inner());
    let now = Timestamp::now();
    match line {
        "e" | "emergency" => match m.invoke_emergency_credit(now) {
            Some(Ok(())) => "EMERG ON".to_string(),
            Some(Err(e)) => format!("EMERG REFUSED ({e})"),
            None => "not prepaid".to_string(),
        },
        "b" | "button" => {
            m.manual_reconnect(now);
            status_line(&mut m, now)
        }
        "s" | "status" => status_line(&mut m, now),
        token => match m.enter_token(now, token, TokenDeliveryMethod::Manual) {
            Some(entry) => {
                let detail = m.prepayment().and_then(|p| p.gateway().description.get(2).cloned()).unwrap_or_default();
                format!("{} {} ({}); {}", entry.display, entry.result, detail, status_line(&mut m, now))
            }
            None => "not prepaid".to_string(),
        },
    }
}

fn status_line(m: &mut SimulatedMeter, now: Timestamp) -> String {
    m.settle_prepayment(now);
    let relay = if m.disconnect_control().output_state() { "on" } else { "off" };
    match m.prepayment() {
        Some(p) => {
            let c = p.credit();
            format!(
                "credit {:.3} kWh, emergency {:.3} kWh{}, supply {relay}{}",
                c.token_wh as f64 / 1000.0,
                c.emergency_wh as f64 / 1000.0,
                if c.emergency_invoked { " (in use)" } else { "" },
                if p.is_low_credit() { ", LOW CREDIT" } else { "" }
            )
        }
        None => format!("supply {relay}"),
    }
}

/// Runs `gridedge meter --prepaid` until interrupted.
pub fn run_prepaid_meter(args: MeterArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        matches!(args.management_auth, super::meter::ManagementAuth::Low),
        "--prepaid runs with --management-auth low (LLS)"
    );
    let (config, pan) = prepaid_config(&args)?;
    let meter = SimulatedMeter::new(&args.serial, args.seed, config).context("meter configuration")?;
    let meter = Arc::new(Mutex::new(meter));
    let rt = super::runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((args.bind, args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
        let addr = listener.local_addr()?;
        println!(
            "meter {} listening on {addr} (DLMS/COSEM wrapper; clients 16 public, 1 LLS; prepaid, MeterPAN {pan})",
            args.serial
        );
        std::io::stdout().flush().ok();
        let keypad_meter = meter.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let answer = keypad(&keypad_meter, line);
                let mut out = std::io::stdout().lock();
                writeln!(out, "keypad: {answer}").ok();
                out.flush().ok();
            }
        });
        let config = Arc::new(MeterServerConfig::with_password(args.password.as_bytes()));
        tokio::select! {
            _ = serve(listener, meter, config) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Reads the meter's serial number (0.0.96.1.0.255) with the public client.
async fn read_serial(address: std::net::SocketAddr, timeouts: SessionTimeouts) -> anyhow::Result<String> {
    let endpoint = MeterEndpoint {
        serial: MeterId("unknown".into()),
        address,
        client_sap: 16,
        server_sap: 1,
        authentication: Authentication::None,
        security: None,
        link: hes::transport::LinkLayer::Wrapper,
    };
    let mut s = DlmsSession::open(&endpoint, timeouts).await?;
    let d = s.get(CosemAttributeDescriptor::new(1, codes::SERIAL_NUMBER, 2), None).await?;
    s.release().await.ok();
    match d {
        Data::OctetString(b) | Data::VisibleString(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        other => bail!("serial number is {other:?}"),
    }
}

/// Runs `gridedge token ...`.
pub fn run(args: TokenArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TokenCommand::Enter(a) => enter(a),
    }
}

fn enter(args: EnterArgs) -> anyhow::Result<ExitCode> {
    let address = (args.host.as_str(), args.port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {}", args.host))?
        .next()
        .ok_or_else(|| anyhow!("no address for {}", args.host))?;
    let timeouts =
        SessionTimeouts { connect: Duration::from_secs(args.timeout), response: Duration::from_secs(args.timeout) };
    let endpoint = MeterEndpoint {
        serial: MeterId(args.serial.clone().unwrap_or_default()),
        address,
        client_sap: args.client_address,
        server_sap: args.server_address,
        authentication: Authentication::Low { password: args.password.as_bytes().to_vec() },
        security: None,
        link: hes::transport::LinkLayer::Wrapper,
    };
    let rt = super::runtime()?;
    let (report, serial) = rt.block_on(async {
        let report = deliver_token(&endpoint, &args.token, timeouts).await?;
        let serial = match (args.db.is_some() || args.mdms_db.is_some(), &args.serial) {
            (true, None) => Some(read_serial(address, timeouts).await?),
            (_, s) => s.clone(),
        };
        anyhow::Ok((report, serial))
    })?;
    let outcome = report.outcome();
    let accepted = outcome == TokenOutcome::Accepted;
    let mut event_id = None;
    if let Some(db) = &args.db {
        let mut store = VendStore::open(db).with_context(|| format!("opening {}", db.display()))?;
        let event = NewTokenEvent {
            serial: serial.clone().unwrap_or_default(),
            token: args.token.clone(),
            recorded_at: Timestamp::now(),
            method: DeliveryMethod::Remote,
            status_code: report.status.code(),
            accepted,
            display: report.display().unwrap_or_default().to_string(),
            description: report.description.clone(),
        };
        event_id = Some(store.record_token_event(&event)?);
    }
    let mut mdms_event = None;
    if let Some(db) = &args.mdms_db {
        let now = Timestamp::now();
        let event_type = if accepted { EndDeviceEventType::TOKEN_ACCEPTED } else { EndDeviceEventType::TOKEN_REJECTED };
        let mut event = EndDeviceEvent::new(
            MeterId(serial.clone().unwrap_or_default()),
            event_type,
            now,
            now,
            EndDeviceEvent::SOURCE_PREPAYMENT,
        );
        event.details.insert("token_status".into(), report.status.code().to_string());
        event.details.insert("display".into(), report.display().unwrap_or_default().to_string());
        event.details.insert("delivery".into(), "remote (Token gateway, class 115)".into());
        if let Some(request_id) = event_id.as_ref().and_then(|e| e.request_id.clone()) {
            event.details.insert("vend_request_id".into(), request_id);
        }
        let mut store = SqliteStore::open(db).with_context(|| format!("opening {}", db.display()))?;
        let inserted = store.insert_events(std::slice::from_ref(&event))?;
        mdms_event = Some(json!({ "event_type": event_type.to_string(), "stored": inserted.inserted == 1 }));
    }
    if args.json {
        let out = json!({
            "accepted": accepted,
            "status_code": report.status.code(),
            "status": format!("{:?}", report.status),
            "display": report.display(),
            "description": report.description,
            "meter": serial,
            "event_id": event_id.as_ref().map(|e| e.id),
            "request_id": event_id.as_ref().and_then(|e| e.request_id.clone()),
            "mdms_event": mdms_event,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{} (token_status {} {:?}){}",
            report.display().unwrap_or("-"),
            report.status.code(),
            report.status,
            report.description.get(2).map(|d| format!(": {d}")).unwrap_or_default()
        );
    }
    Ok(if accepted { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_parsing() {
        assert_eq!(parse_hours("18-08").unwrap(), (18, 8));
        assert!(parse_hours("18").is_err() && parse_hours("24-1").is_err());
        assert_eq!(parse_days("sat, Sun").unwrap(), [6, 7]);
        assert!(parse_days("xyz").is_err());
        assert_eq!(kwh_to_wh("1.5", "x").unwrap(), 1_500);
        assert!(kwh_to_wh("1.2345", "x").is_err());
    }
}
