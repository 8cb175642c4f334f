//! `gridedge command`: tracked commands to a meter through the HES
//! ([`hes::commands`]), each recorded in the command database (`--db`, SQLite) as queued →
//! sent → confirmed | failed(reason) with an audit log (who, when, what, outcome):
//!
//! * `disconnect` / `reconnect`: Disconnect control (class 70), control_state read back;
//! * `time-sync`: Clock (class 8), set when the drift exceeds `--threshold-s`;
//! * `tou`: passive Activity calendar (class 20) from `--calendar FILE.json` or `--switch
//!   HH:MM=T1 ...` (every day), activated at `--activate-at`;
//! * `limit`: Limiter (class 71) thresholds, durations, demand-response event;
//! * `fota`: firmware update through Image transfer (class 18) with a signed image
//!   (`gridedge firmware sign`), resumed after interruptions, never broadcast;
//! * `list` / `show ID`: commands and one command's audit log.
//!
//! Each command prints its record as JSON; the exit code is 0 when confirmed, 2 when
//! failed, 1 on errors (e.g. an unreadable database).

pub mod connection;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use hes::commands::{
    CommandFilter, CommandRecord, CommandRequest, CommandState, DemandResponseEvent, FirmwareUpdate, LoadLimit,
    TimeSyncParams, TouCalendar, TouChange, TouSwitch,
};
use jiff::Timestamp;
use serde_json::json;

use connection::{MeterArgs, TrackingArgs, open_service};

/// Arguments of `gridedge command`.
#[derive(Args)]
pub struct CommandArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: CommandAction,
}

/// `gridedge command` subcommands.
#[derive(Subcommand)]
pub enum CommandAction {
    /// Open the supply (Disconnect control remote_disconnect).
    Disconnect(MeterArgs),
    /// Close the supply (remote_reconnect; modes 1, 3, 5, 6 then wait for the customer).
    Reconnect(MeterArgs),
    /// Synchronise the meter's clock with this host's (keep it NTP-synchronised).
    TimeSync(TimeSyncArgs),
    /// Write a TOU calendar (passive Activity calendar) and its activation time.
    Tou(TouArgs),
    /// Set load limits or a demand-response event (Limiter).
    Limit(LimitArgs),
    /// Update the firmware with a signed image (Image transfer).
    Fota(FotaArgs),
    /// List recorded commands, newest first.
    List(ListArgs),
    /// Show one command and its audit log.
    Show(ShowArgs),
}

/// `gridedge command time-sync`.
#[derive(Args)]
pub struct TimeSyncArgs {
    /// The meter.
    #[command(flatten)]
    pub meter: MeterArgs,
    /// Set the clock only when it is off by more than this, seconds.
    #[arg(long, default_value_t = 1.0)]
    pub threshold_s: f64,
    /// Confirm when the clock is then within ± this, seconds.
    #[arg(long, default_value_t = 1.0)]
    pub tolerance_s: f64,
}

/// `gridedge command tou`.
#[derive(Args)]
pub struct TouArgs {
    /// The meter.
    #[command(flatten)]
    pub meter: MeterArgs,
    /// The calendar as JSON: {"name", "seasons": [{"name", "start_month", "start_day",
    /// "start_year"?, "week"}], "weeks": [{"name", "days": [7 day ids, Monday first]}],
    /// "days": [{"id", "switches": [{"hour", "minute", "tariff"}]}]}.
    #[arg(long, conflicts_with = "switch")]
    pub calendar: Option<PathBuf>,
    /// Instead of --calendar: the same day every day, as switches `HH:MM=T1` or `HH:MM=T2`
    /// (repeatable).
    #[arg(long)]
    pub switch: Vec<String>,
    /// Calendar name with --switch.
    #[arg(long, default_value = "TOU")]
    pub name: String,
    /// When the meter activates the calendar (RFC 3339, e.g. 2026-12-01T00:00:00Z); a past
    /// instant activates at once.
    #[arg(long)]
    pub activate_at: Timestamp,
}

/// `gridedge command limit`.
#[derive(Args)]
pub struct LimitArgs {
    /// The meter.
    #[command(flatten)]
    pub meter: MeterArgs,
    /// threshold_normal, W (active power import).
    #[arg(long)]
    pub threshold_w: Option<u32>,
    /// threshold_emergency, W (during a demand-response event).
    #[arg(long)]
    pub emergency_threshold_w: Option<u32>,
    /// min_over_threshold_duration, s.
    #[arg(long)]
    pub min_over_s: Option<u32>,
    /// min_under_threshold_duration, s.
    #[arg(long)]
    pub min_under_s: Option<u32>,
    /// Demand-response event id (with --event-start and --event-duration-s).
    #[arg(long, requires_all = ["event_start", "event_duration_s"])]
    pub event_id: Option<u16>,
    /// Demand-response event start (RFC 3339).
    #[arg(long, requires = "event_id")]
    pub event_start: Option<Timestamp>,
    /// Demand-response event duration, s.
    #[arg(long, requires = "event_id")]
    pub event_duration_s: Option<u32>,
}

/// `gridedge command fota`.
#[derive(Args)]
pub struct FotaArgs {
    /// The meter.
    #[command(flatten)]
    pub meter: MeterArgs,
    /// The signed firmware image (`gridedge firmware sign`).
    #[arg(long)]
    pub image: PathBuf,
    /// image_identifier (default: the image's firmware version).
    #[arg(long)]
    pub identifier: Option<String>,
    /// The version the meter must report afterwards (default: the image's version).
    #[arg(long)]
    pub expected_version: Option<String>,
    /// Reconnections after lost connections before giving up.
    #[arg(long, default_value_t = hes::commands::fota::DEFAULT_MAX_RECONNECTS)]
    pub max_reconnects: u32,
}

/// `gridedge command list`.
#[derive(Args)]
pub struct ListArgs {
    /// The command database.
    #[command(flatten)]
    pub tracking: TrackingArgs,
    /// Only this meter's commands.
    #[arg(long)]
    pub meter: Option<String>,
    /// Only in this state: queued, sent, confirmed, failed.
    #[arg(long)]
    pub state: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

/// `gridedge command show`.
#[derive(Args)]
pub struct ShowArgs {
    /// The command id.
    pub id: i64,
    /// The command database.
    #[command(flatten)]
    pub tracking: TrackingArgs,
}

/// Parses `HH:MM=T1` / `HH:MM=2`.
fn parse_switch(s: &str) -> anyhow::Result<TouSwitch> {
    let (time, tariff) = s.split_once('=').with_context(|| format!("switch {s:?}: expected HH:MM=T1"))?;
    let (h, m) = time.split_once(':').with_context(|| format!("switch {s:?}: expected HH:MM"))?;
    let tariff = tariff.trim_start_matches(['T', 't']);
    Ok(TouSwitch {
        hour: h.parse().with_context(|| format!("switch {s:?}: hour"))?,
        minute: m.parse().with_context(|| format!("switch {s:?}: minute"))?,
        tariff: tariff.parse().with_context(|| format!("switch {s:?}: tariff"))?,
    })
}

fn tou_request(a: &TouArgs) -> anyhow::Result<CommandRequest> {
    let calendar = match (&a.calendar, a.switch.is_empty()) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<TouCalendar>(&text).with_context(|| format!("parsing {}", path.display()))?
        }
        (None, false) => {
            TouCalendar::every_day(&a.name, a.switch.iter().map(|s| parse_switch(s)).collect::<Result<_, _>>()?)
        }
        (None, true) => bail!("give --calendar FILE or at least one --switch HH:MM=T1"),
    };
    Ok(CommandRequest::TouChange(TouChange { calendar, activation: a.activate_at }))
}

fn fota_request(a: &FotaArgs) -> anyhow::Result<CommandRequest> {
    let image = std::fs::read(&a.image).with_context(|| format!("reading {}", a.image.display()))?;
    let version = meter::firmware::FirmwareImage::parse(&image)
        .map(|i| i.version_str())
        .with_context(|| format!("{} is not a signed gridedge firmware image", a.image.display()))?;
    let mut update = FirmwareUpdate::new(image, a.identifier.as_deref().unwrap_or(&version));
    update.expected_version = Some(a.expected_version.clone().unwrap_or(version));
    update.max_reconnects = a.max_reconnects;
    Ok(CommandRequest::Firmware(update))
}

fn limit_request(a: &LimitArgs) -> CommandRequest {
    let event = match (a.event_id, a.event_start, a.event_duration_s) {
        (Some(id), Some(start), Some(duration_s)) => Some(DemandResponseEvent { id, start, duration_s }),
        _ => None,
    };
    CommandRequest::LoadLimit(LoadLimit {
        threshold_normal_w: a.threshold_w,
        threshold_emergency_w: a.emergency_threshold_w,
        min_over_threshold_s: a.min_over_s,
        min_under_threshold_s: a.min_under_s,
        event,
    })
}

fn print_record(r: &CommandRecord) -> anyhow::Result<ExitCode> {
    super::emit(&serde_json::to_string_pretty(r)?)?;
    Ok(match r.state {
        CommandState::Confirmed => ExitCode::SUCCESS,
        CommandState::Failed(_) => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    })
}

fn execute(meter: &MeterArgs, request: CommandRequest) -> anyhow::Result<ExitCode> {
    let service = meter.service()?;
    let rt = super::runtime()?;
    let record = rt.block_on(async {
        let endpoint = meter.resolved_endpoint().await?;
        anyhow::Ok(service.execute(&endpoint, &meter.user, &request).await?)
    })?;
    print_record(&record)
}

/// Runs the subcommand.
pub fn run(args: CommandArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        CommandAction::Disconnect(m) => execute(&m, CommandRequest::Disconnect),
        CommandAction::Reconnect(m) => execute(&m, CommandRequest::Reconnect),
        CommandAction::TimeSync(a) => {
            let params = TimeSyncParams { threshold_s: a.threshold_s, tolerance_s: a.tolerance_s };
            execute(&a.meter, CommandRequest::TimeSync(params))
        }
        CommandAction::Tou(a) => execute(&a.meter, tou_request(&a)?),
        CommandAction::Limit(a) => execute(&a.meter, limit_request(&a)),
        CommandAction::Fota(a) => execute(&a.meter, fota_request(&a)?),
        CommandAction::List(a) => {
            let service = open_service(&a.tracking, Default::default())?;
            let filter = CommandFilter { meter: a.meter, state: a.state, limit: Some(a.limit) };
            let rows = service.store().list(&filter)?;
            super::emit(&serde_json::to_string_pretty(&rows)?)?;
            Ok(ExitCode::SUCCESS)
        }
        CommandAction::Show(a) => {
            let service = open_service(&a.tracking, Default::default())?;
            let Some(record) = service.store().get(a.id)? else {
                bail!("no command {} in {}", a.id, a.tracking.db.display())
            };
            let audit = service.store().audit(a.id)?;
            super::emit(&serde_json::to_string_pretty(&json!({ "command": record, "audit": audit }))?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_parse() {
        assert_eq!(parse_switch("07:30=T1").unwrap(), TouSwitch { hour: 7, minute: 30, tariff: 1 });
        assert_eq!(parse_switch("23:00=2").unwrap(), TouSwitch { hour: 23, minute: 0, tariff: 2 });
        assert!(parse_switch("7h=T1").is_err());
        assert!(parse_switch("07:00").is_err());
    }
}
