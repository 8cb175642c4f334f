//! Commands to meters, tracked from request to the meter's confirmation: the
//! [`CommandService`] trait, the records and history the API shows, the request body and
//! its per-kind parameters, and [`CommandLog`], the storage every implementation shares.
//!
//! Every command kind of the HES (`hes::commands::CommandRequest`, IEC 62056-6-2 classes
//! over IEC 62056-5-3 SET/ACTION) can be created and followed:
//!
//! | kind | COSEM object | parameters |
//! |---|---|---|
//! | `disconnect` / `reconnect` | Disconnect control (70) 0.0.96.3.10.255 | none |
//! | `time_sync` | Clock (8) 0.0.1.0.0.255 | [`TimeSyncParameters`] (optional) |
//! | `tou_change` | Activity calendar (20) 0.0.13.0.0.255 | [`TouChangeParameters`] |
//! | `load_limit` | Limiter (71) 0.0.17.0.0.255 | [`LoadLimitParameters`] |
//! | `firmware` | Image transfer (18) 0.0.44.0.0.255 | refused by the API, see below |
//!
//! Life cycle: `queued` (accepted and stored) → `sent` (an association with the meter is
//! open) → `confirmed` (read back as intended) or `failed` (with the reason). The API
//! answers a new command with 202 and its record; clients follow it with
//! `GET /api/v1/commands/{id}` (its history: every state change and progress note).
//!
//! Firmware updates are listed and followed (the HES CLI `gridedge firmware` issues them)
//! but not created through the API: `hes::commands::FirmwareUpdate` carries the image
//! itself and never serialises it (`#[serde(skip)]`), so neither the command store nor the
//! bus envelope (`bus::CommandEnvelope`, whose request is that JSON) can carry it; a
//! reference would need a firmware repository on the HES side (images stored by digest,
//! their signature checked before a campaign) that does not exist yet.
//!
//! Implementations: [`super::hes_commands::HesCommands`] runs the commands in this process
//! with `hes::commands::CommandService`; [`super::bus_commands::BusCommands`] publishes
//! them on the bus for the scale-out HES and follows their results.

use std::path::Path;
use std::sync::{Arc, Mutex};

use hes::commands::{CommandRequest, CommandStore};
use jiff::Timestamp;
use model::MeterId;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::relay::RelayState;
use crate::error::ApiError;

/// What a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// Remote disconnect: Disconnect control (class 70) method 1.
    Disconnect,
    /// Remote reconnect: Disconnect control (class 70) method 2.
    Reconnect,
    /// Clock synchronisation: Clock (class 8) attribute 2, set beyond a threshold.
    TimeSync,
    /// TOU tariff change: passive Activity calendar (class 20) and its activation time.
    TouChange,
    /// Load limit / demand-response event: Limiter (class 71).
    LoadLimit,
    /// Firmware update: Image transfer (class 18). Not created through the API.
    Firmware,
}

impl CommandKind {
    /// Every kind.
    pub const ALL: [CommandKind; 6] = [
        CommandKind::Disconnect,
        CommandKind::Reconnect,
        CommandKind::TimeSync,
        CommandKind::TouChange,
        CommandKind::LoadLimit,
        CommandKind::Firmware,
    ];

    /// The stable API name (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Disconnect => "disconnect",
            CommandKind::Reconnect => "reconnect",
            CommandKind::TimeSync => "time_sync",
            CommandKind::TouChange => "tou_change",
            CommandKind::LoadLimit => "load_limit",
            CommandKind::Firmware => "firmware",
        }
    }

    /// The kind named `s` (API name).
    pub fn parse(s: &str) -> Option<CommandKind> {
        CommandKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The HES's kind.
    pub fn to_hes(self) -> hes::commands::CommandKind {
        use hes::commands::CommandKind as H;
        match self {
            CommandKind::Disconnect => H::Disconnect,
            CommandKind::Reconnect => H::Reconnect,
            CommandKind::TimeSync => H::TimeSync,
            CommandKind::TouChange => H::TouChange,
            CommandKind::LoadLimit => H::LoadLimit,
            CommandKind::Firmware => H::Firmware,
        }
    }

    /// The API kind of the HES's kind.
    pub fn from_hes(kind: hes::commands::CommandKind) -> CommandKind {
        use hes::commands::CommandKind as H;
        match kind {
            H::Disconnect => CommandKind::Disconnect,
            H::Reconnect => CommandKind::Reconnect,
            H::TimeSync => CommandKind::TimeSync,
            H::TouChange => CommandKind::TouChange,
            H::LoadLimit => CommandKind::LoadLimit,
            H::Firmware => CommandKind::Firmware,
        }
    }
}

/// Where a command is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandState {
    /// Accepted and stored, waiting for the HES.
    Queued,
    /// An association with the meter is open and the command is under way.
    Sent,
    /// Carried out and confirmed by reading the meter back.
    Confirmed,
    /// It could not be carried out or was not confirmed (see `reason`).
    Failed,
}

impl CommandState {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandState::Queued => "queued",
            CommandState::Sent => "sent",
            CommandState::Confirmed => "confirmed",
            CommandState::Failed => "failed",
        }
    }

    /// The state named `s`.
    pub fn parse(s: &str) -> Option<CommandState> {
        [CommandState::Queued, CommandState::Sent, CommandState::Confirmed, CommandState::Failed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// True for `confirmed` and `failed`.
    pub fn is_final(self) -> bool {
        matches!(self, CommandState::Confirmed | CommandState::Failed)
    }
}

/// A command and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CommandRecord {
    /// Id, increasing in creation order.
    pub id: i64,
    /// The meter's serial number.
    pub meter: String,
    /// What it does.
    pub kind: CommandKind,
    /// Where it stands.
    pub state: CommandState,
    /// Why it failed (`failed` only).
    pub reason: Option<String>,
    /// Its parameters as stored (JSON of the HES request, e.g.
    /// `{"command": "load-limit", "threshold_normal_w": 3000}`).
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// What the meter read back on confirmation (the HES's report as JSON: relay states,
    /// clock drift before and after in s, the limiter's thresholds in W, the calendar
    /// name), `null` otherwise.
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
    /// Who asked (API token name, or the CLI user).
    pub issued_by: String,
    /// When it was accepted, UTC.
    pub created_at: Timestamp,
    /// When its state last changed, UTC.
    pub updated_at: Timestamp,
    /// When it was confirmed or failed, UTC.
    pub finished_at: Option<Timestamp>,
    /// The relay's control state the meter reported after a confirmed disconnect or
    /// reconnect.
    pub relay_state: Option<RelayState>,
}

/// One line of a command's history: a state change or a progress note.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CommandHistoryEntry {
    /// When, UTC.
    pub at: Timestamp,
    /// `queued`, `sent`, `progress`, `confirmed` or `failed`.
    pub event: String,
    /// Who issued the command.
    pub user: String,
    /// Details: the parameters when queued, the report when confirmed, `{"reason"}` when
    /// failed, progress notes (e.g. a firmware transfer resumed at a block).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// A command with its history (`GET /api/v1/commands/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CommandDetail {
    /// The command.
    #[serde(flatten)]
    pub command: CommandRecord,
    /// Its state changes and progress notes, oldest first.
    pub history: Vec<CommandHistoryEntry>,
}

/// Parameters of `time_sync` (all optional).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeSyncParameters {
    /// Set the clock only when it is off by more than this, s (default 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_s: Option<f64>,
    /// Confirm when the clock is then within ± this, s (default 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_s: Option<f64>,
}

/// A demand-response event of `load_limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandResponseParameters {
    /// emergency_profile_id.
    pub id: u16,
    /// emergency_activation_time, UTC.
    pub start: Timestamp,
    /// emergency_duration, s.
    pub duration_s: u32,
}

/// Parameters of `load_limit`: Limiter (class 71) settings; absent fields are left as
/// they are on the meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadLimitParameters {
    /// threshold_normal, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_normal_w: Option<u32>,
    /// threshold_emergency, W.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_emergency_w: Option<u32>,
    /// min_over_threshold_duration, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_over_threshold_s: Option<u32>,
    /// min_under_threshold_duration, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_under_threshold_s: Option<u32>,
    /// A demand-response event (the emergency threshold applies during it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<DemandResponseParameters>,
}

/// A season of a TOU calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TouSeasonParameters {
    /// season_profile_name.
    pub name: String,
    /// Start month 1..=12.
    pub start_month: u8,
    /// Start day of month 1..=31.
    pub start_day: u8,
    /// Start year; absent = every year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_year: Option<u16>,
    /// The week profile's name.
    pub week: String,
}

/// A week profile: the day profile id of each weekday, Monday first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TouWeekParameters {
    /// week_profile_name.
    pub name: String,
    /// day_id for Monday..=Sunday (7 entries).
    pub days: [u8; 7],
}

/// A switch of a day profile: from `hour:minute` local time, tariff register `tariff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TouSwitchParameters {
    /// Hour 0..=23 (local).
    pub hour: u8,
    /// Minute 0..=59.
    pub minute: u8,
    /// Tariff (script selector).
    pub tariff: u16,
}

/// A day profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TouDayParameters {
    /// day_id.
    pub id: u8,
    /// Its switches.
    pub switches: Vec<TouSwitchParameters>,
}

/// A TOU calendar for the passive Activity calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TouCalendarParameters {
    /// calendar_name (ASCII, at most 32 bytes).
    pub name: String,
    /// Seasons.
    pub seasons: Vec<TouSeasonParameters>,
    /// Week profiles.
    pub weeks: Vec<TouWeekParameters>,
    /// Day profiles.
    pub days: Vec<TouDayParameters>,
}

/// Parameters of `tou_change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TouChangeParameters {
    /// The new calendar.
    pub calendar: TouCalendarParameters,
    /// Activation instant, UTC (a past instant activates at once).
    pub activation: Timestamp,
}

/// The parameters of a command, by kind (documentation of `NewCommand.parameters`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CommandParameters {
    /// `tou_change`.
    TouChange(TouChangeParameters),
    /// `load_limit`.
    LoadLimit(LoadLimitParameters),
    /// `time_sync`.
    TimeSync(TimeSyncParameters),
}

/// A command request.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommand {
    /// The meter's serial number.
    pub meter: String,
    /// What to do.
    pub kind: CommandKind,
    /// The kind's parameters: none for `disconnect` and `reconnect`, optional
    /// [`TimeSyncParameters`] for `time_sync`, [`TouChangeParameters`] for `tou_change`,
    /// [`LoadLimitParameters`] for `load_limit`.
    #[serde(default)]
    #[schema(value_type = Option<CommandParameters>)]
    pub parameters: Option<serde_json::Value>,
}

fn parameters_of<T: serde::de::DeserializeOwned + Serialize>(
    kind: CommandKind,
    value: Option<serde_json::Value>,
    required: bool,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let value = match value {
        None | Some(serde_json::Value::Null) if required => {
            return Err(ApiError::unprocessable(format!("{} needs parameters", kind.as_str())));
        }
        None | Some(serde_json::Value::Null) => serde_json::Value::Object(Default::default()),
        Some(v) => v,
    };
    let typed: T = serde_json::from_value(value)
        .map_err(|e| ApiError::unprocessable(format!("parameters of {}: {e}", kind.as_str())))?;
    match serde_json::to_value(typed) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(ApiError::unprocessable(format!("parameters of {} must be an object", kind.as_str()))),
    }
}

impl NewCommand {
    /// The HES request this command stands for.
    ///
    /// Errors: 422 for parameters that do not fit the kind (missing, unknown fields,
    /// wrong types), parameters given to `disconnect`/`reconnect`, and for `firmware`
    /// (see the module docs).
    pub fn to_request(&self) -> Result<CommandRequest, ApiError> {
        let none = |p: &Option<serde_json::Value>| {
            p.as_ref().is_none_or(|v| v.is_null() || v.as_object().is_some_and(|o| o.is_empty()))
        };
        let mut map = match self.kind {
            CommandKind::Disconnect | CommandKind::Reconnect => {
                if !none(&self.parameters) {
                    return Err(ApiError::unprocessable(format!("{} takes no parameters", self.kind.as_str())));
                }
                serde_json::Map::new()
            }
            CommandKind::TimeSync => parameters_of::<TimeSyncParameters>(self.kind, self.parameters.clone(), false)?,
            CommandKind::TouChange => parameters_of::<TouChangeParameters>(self.kind, self.parameters.clone(), true)?,
            CommandKind::LoadLimit => parameters_of::<LoadLimitParameters>(self.kind, self.parameters.clone(), true)?,
            CommandKind::Firmware => {
                return Err(ApiError::unprocessable(
                    "firmware updates are not created through the API: the HES request carries the image \
                     itself, which neither the command store nor the bus can carry; use `gridedge firmware`",
                ));
            }
        };
        map.insert("command".into(), serde_json::Value::String(self.kind.to_hes().as_str().to_string()));
        serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| ApiError::unprocessable(format!("parameters of {}: {e}", self.kind.as_str())))
    }
}

/// Which commands a list returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandFilter {
    /// Only this meter's.
    pub meter: Option<MeterId>,
    /// Only in this state.
    pub state: Option<CommandState>,
    /// Only of this kind.
    pub kind: Option<CommandKind>,
    /// Only created at or after this instant (UTC).
    pub from: Option<Timestamp>,
    /// Only created before this instant (UTC).
    pub to: Option<Timestamp>,
}

/// Accepts commands and reports their state.
pub trait CommandService: Send + Sync {
    /// Accepts `request` for `meter` from `issued_by` and starts delivering it; returns
    /// its record (normally `queued`).
    ///
    /// Errors: 404 for a meter the HES does not know; 500.
    fn submit(&self, meter: &MeterId, request: &CommandRequest, issued_by: &str) -> Result<CommandRecord, ApiError>;

    /// One command, `None` when unknown.
    ///
    /// Errors: 500.
    fn get(&self, id: i64) -> Result<Option<CommandRecord>, ApiError>;

    /// The history of command `id`, oldest first (empty when unknown).
    ///
    /// Errors: 500.
    fn history(&self, id: i64) -> Result<Vec<CommandHistoryEntry>, ApiError>;

    /// Commands matching `filter`, newest first, with ids below `before` (the cursor of
    /// the previous page), at most `limit`.
    ///
    /// Errors: 500.
    fn list(&self, filter: &CommandFilter, before: Option<i64>, limit: u32) -> Result<Vec<CommandRecord>, ApiError>;
}

/// The reason given to commands a restart interrupted.
pub const INTERRUPTED: &str = "interrupted by a restart before confirmation; the meter's state is unknown";

/// Where commands are kept: the HES's command store (`hes::commands::CommandStore`, tables
/// `command` and `command_audit`) for writing, and a second read connection to the same
/// database for the API's cursor-paged, filtered listing. The file may be the HES CLI's
/// own command database (then the API shows the commands issued with `gridedge command`
/// too) or the API database.
pub struct CommandLog {
    service: Arc<hes::commands::CommandService>,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for CommandLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandLog").finish_non_exhaustive()
    }
}

fn internal(context: &str) -> impl Fn(hes::commands::CommandError) -> ApiError + '_ {
    move |e| ApiError::internal(context, e)
}

impl CommandLog {
    /// Opens (creating if needed) the command store in the SQLite file at `path`; commands
    /// carried out through [`CommandLog::service`] use `timeouts` for their sessions.
    ///
    /// Errors: 500 when the file cannot be opened.
    pub fn open(path: impl AsRef<Path>, timeouts: hes::SessionTimeouts) -> Result<CommandLog, ApiError> {
        let path = path.as_ref();
        let store = CommandStore::open(path).map_err(internal("opening the command store"))?;
        let reader = Connection::open(path).map_err(|e| ApiError::internal("opening the command store", e))?;
        reader
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| ApiError::internal("opening the command store", e))?;
        // In a shared-cache memory database the reader must not take table locks the
        // writer would then trip over (SQLITE_LOCKED is not retried by the busy timeout).
        reader
            .pragma_update(None, "read_uncommitted", true)
            .map_err(|e| ApiError::internal("opening the command store", e))?;
        Ok(CommandLog {
            service: Arc::new(hes::commands::CommandService::new(store, timeouts)),
            reader: Mutex::new(reader),
        })
    }

    /// A command store in memory, private to this process (lost when it exits).
    ///
    /// Errors: 500.
    pub fn in_memory(timeouts: hes::SessionTimeouts) -> Result<CommandLog, ApiError> {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| ApiError::internal("naming the in-memory command store", e))?;
        // A named shared-cache memory database: both connections see the same tables.
        let uri = format!("file:gridedge-commands-{}?mode=memory&cache=shared", hex::encode(id));
        CommandLog::open(uri, timeouts)
    }

    /// The HES command service writing to this store.
    pub fn service(&self) -> &Arc<hes::commands::CommandService> {
        &self.service
    }

    /// The HES command store.
    pub fn store(&self) -> &CommandStore {
        self.service.store()
    }

    /// Records `request` for `meter` from `user` (state queued); returns its id.
    ///
    /// Errors: 500.
    pub fn enqueue(&self, meter: &MeterId, request: &CommandRequest, user: &str) -> Result<i64, ApiError> {
        let parameters = request.parameters().map_err(internal("storing a command"))?;
        self.store().enqueue(&meter.0, request.kind(), &parameters, user).map_err(internal("storing a command"))
    }

    /// Marks every command still `queued` or `sent` failed with [`INTERRUPTED`]; returns
    /// how many. Called when the process that was carrying them out starts again.
    ///
    /// Errors: 500.
    pub fn fail_unfinished(&self) -> Result<usize, ApiError> {
        let ids: Vec<i64> = {
            let conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
            let mut stmt = conn
                .prepare("SELECT id FROM command WHERE state IN ('queued', 'sent') ORDER BY id")
                .map_err(|e| ApiError::internal("recovering commands", e))?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| ApiError::internal("recovering commands", e))?;
            rows.collect::<Result<_, _>>().map_err(|e| ApiError::internal("recovering commands", e))?
        };
        for id in &ids {
            self.store()
                .transition(*id, &hes::commands::CommandState::Failed(INTERRUPTED.into()), &serde_json::Value::Null)
                .map_err(internal("recovering commands"))?;
        }
        Ok(ids.len())
    }

    /// Command `id`.
    ///
    /// Errors: 500.
    pub fn get(&self, id: i64) -> Result<Option<CommandRecord>, ApiError> {
        Ok(self.store().get(id).map_err(internal("reading a command"))?.map(record_of))
    }

    /// Command `id`'s history.
    ///
    /// Errors: 500.
    pub fn history(&self, id: i64) -> Result<Vec<CommandHistoryEntry>, ApiError> {
        let audit = self.store().audit(id).map_err(internal("reading a command's history"))?;
        Ok(audit
            .into_iter()
            .map(|a| CommandHistoryEntry { at: a.at, event: a.event, user: a.user, detail: a.detail })
            .collect())
    }

    /// Commands matching `filter` with ids below `before`, newest first, at most `limit`.
    ///
    /// Errors: 500.
    pub fn list(
        &self,
        filter: &CommandFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<CommandRecord>, ApiError> {
        let ids: Vec<i64> = {
            let conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
            // created_at is RFC 3339 UTC text as jiff writes it; compared as instants.
            let mut stmt = conn
                .prepare(
                    "SELECT id, created_at FROM command
                     WHERE (?1 IS NULL OR meter = ?1) AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR kind = ?3)
                       AND (?4 IS NULL OR id < ?4)
                     ORDER BY id DESC",
                )
                .map_err(|e| ApiError::internal("listing commands", e))?;
            let rows = stmt
                .query_map(
                    params![
                        filter.meter.as_ref().map(|m| m.0.as_str()),
                        filter.state.map(CommandState::as_str),
                        filter.kind.map(|k| k.to_hes().as_str()),
                        before
                    ],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                )
                .map_err(|e| ApiError::internal("listing commands", e))?;
            let mut ids = Vec::new();
            for row in rows {
                let (id, created) = row.map_err(|e| ApiError::internal("listing commands", e))?;
                let created: Option<Timestamp> = created.parse().ok();
                let in_range = match created {
                    Some(t) => filter.from.is_none_or(|f| t >= f) && filter.to.is_none_or(|to| t < to),
                    None => filter.from.is_none() && filter.to.is_none(),
                };
                if in_range {
                    ids.push(id);
                    if ids.len() >= limit as usize {
                        break;
                    }
                }
            }
            ids
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = self.get(id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Whether command `id` exists (used by the bus result consumer).
    ///
    /// Errors: 500.
    pub fn exists(&self, id: i64) -> Result<bool, ApiError> {
        let conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("SELECT 1 FROM command WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| ApiError::internal("reading a command", e))
    }
}

/// The relay control state in a relay command's report (`control_state`, kebab-case in
/// the HES's `RelayReport`).
pub fn relay_state_of(result: &serde_json::Value) -> Option<RelayState> {
    match result.get("control_state")?.as_str()? {
        "disconnected" => Some(RelayState::Disconnected),
        "connected" => Some(RelayState::Connected),
        "ready-for-reconnection" | "ready_for_reconnection" => Some(RelayState::ReadyForReconnection),
        _ => None,
    }
}

/// The API record command `id` of `store` will have once its final `state` (with the
/// meter's `report`, kept only when confirmed) is recorded at `at`: outcomes (the relay's end
/// device event, metrics) are recorded from it *before* the command reads final, so a
/// client that sees it final also sees them. `None` when there is no command `id`.
///
/// Errors: 500 when the store fails.
pub fn prospective_record(
    store: &CommandStore,
    id: i64,
    state: &hes::commands::CommandState,
    report: &serde_json::Value,
    at: Timestamp,
) -> Result<Option<CommandRecord>, ApiError> {
    let Some(mut r) = store.get(id).map_err(|e| ApiError::internal("reading a command", e))? else {
        return Ok(None);
    };
    r.result = if *state == hes::commands::CommandState::Confirmed { report.clone() } else { serde_json::Value::Null };
    r.state = state.clone();
    r.updated_at = at;
    Ok(Some(record_of(r)))
}

/// The API record of a stored HES command.
pub fn record_of(r: hes::commands::CommandRecord) -> CommandRecord {
    use hes::commands::CommandState as H;
    let (state, reason) = match r.state {
        H::Queued => (CommandState::Queued, None),
        H::Sent => (CommandState::Sent, None),
        H::Confirmed => (CommandState::Confirmed, None),
        H::Failed(reason) => (CommandState::Failed, Some(reason)),
    };
    let kind = CommandKind::from_hes(r.kind);
    let relay_state = match (kind, state) {
        (CommandKind::Disconnect | CommandKind::Reconnect, CommandState::Confirmed) => relay_state_of(&r.result),
        _ => None,
    };
    CommandRecord {
        id: r.id,
        meter: r.meter,
        kind,
        state,
        reason,
        parameters: r.parameters,
        result: r.result,
        issued_by: r.user,
        created_at: r.created_at,
        updated_at: r.updated_at,
        finished_at: state.is_final().then_some(r.updated_at),
        relay_state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(kind: &str, parameters: serde_json::Value) -> Result<CommandRequest, ApiError> {
        let body = serde_json::json!({"meter": "GE1", "kind": kind, "parameters": parameters});
        serde_json::from_value::<NewCommand>(body).unwrap().to_request()
    }

    #[test]
    fn every_creatable_kind_becomes_the_hes_request() {
        use hes::commands::{DemandResponseEvent, LoadLimit, TimeSyncParams};
        assert_eq!(new("disconnect", serde_json::Value::Null).unwrap(), CommandRequest::Disconnect);
        assert_eq!(new("reconnect", serde_json::json!({})).unwrap(), CommandRequest::Reconnect);
        assert_eq!(
            new("time_sync", serde_json::Value::Null).unwrap(),
            CommandRequest::TimeSync(TimeSyncParams { threshold_s: 1.0, tolerance_s: 1.0 })
        );
        assert_eq!(
            new("time_sync", serde_json::json!({"threshold_s": 5.0})).unwrap(),
            CommandRequest::TimeSync(TimeSyncParams { threshold_s: 5.0, tolerance_s: 1.0 })
        );
        let limit = new(
            "load_limit",
            serde_json::json!({"threshold_normal_w": 3000,
                "event": {"id": 7, "start": "2026-01-01T10:00:00Z", "duration_s": 900}}),
        )
        .unwrap();
        assert_eq!(
            limit,
            CommandRequest::LoadLimit(LoadLimit {
                threshold_normal_w: Some(3000),
                event: Some(DemandResponseEvent {
                    id: 7,
                    start: "2026-01-01T10:00:00Z".parse().unwrap(),
                    duration_s: 900
                }),
                ..LoadLimit::default()
            })
        );
        let tou = new(
            "tou_change",
            serde_json::json!({"activation": "2026-02-01T00:00:00Z", "calendar": {"name": "winter",
                "seasons": [{"name": "all", "start_month": 1, "start_day": 1, "week": "w"}],
                "weeks": [{"name": "w", "days": [1, 1, 1, 1, 1, 1, 1]}],
                "days": [{"id": 1, "switches": [{"hour": 0, "minute": 0, "tariff": 1}, {"hour": 7, "minute": 0, "tariff": 2}]}]}}),
        )
        .unwrap();
        let CommandRequest::TouChange(change) = tou else { panic!("tou change: {tou:?}") };
        assert_eq!(change.calendar.name, "winter");
        assert_eq!(change.calendar.days[0].switches[1].hour, 7);
        assert_eq!(change.calendar.weeks[0].days, [1; 7]);
    }

    #[test]
    fn wrong_parameters_and_firmware_are_refused_with_422() {
        use crate::error::ErrorCode::Unprocessable;
        assert_eq!(new("disconnect", serde_json::json!({"x": 1})).unwrap_err().code, Unprocessable);
        assert_eq!(new("load_limit", serde_json::Value::Null).unwrap_err().code, Unprocessable);
        assert_eq!(new("load_limit", serde_json::json!({"threshold_w": 1})).unwrap_err().code, Unprocessable);
        assert_eq!(new("tou_change", serde_json::json!({"calendar": {}})).unwrap_err().code, Unprocessable);
        let firmware = new("firmware", serde_json::json!({})).unwrap_err();
        assert_eq!(firmware.code, Unprocessable);
        assert!(firmware.message.contains("gridedge firmware"), "{}", firmware.message);
    }

    #[test]
    fn the_log_pages_and_filters() {
        let log = CommandLog::in_memory(hes::SessionTimeouts::default()).unwrap();
        let m1 = MeterId::from("M1");
        let m2 = MeterId::from("M2");
        let a = log.enqueue(&m1, &CommandRequest::Disconnect, "otto").unwrap();
        let b = log.enqueue(&m2, &CommandRequest::Reconnect, "otto").unwrap();
        let c = log.enqueue(&m1, &CommandRequest::Reconnect, "ada").unwrap();
        log.store()
            .transition(
                a,
                &hes::commands::CommandState::Confirmed,
                &serde_json::json!({"control_state": "disconnected"}),
            )
            .unwrap();
        let ids = |v: Vec<CommandRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(log.list(&CommandFilter::default(), None, 2).unwrap()), [c, b]);
        assert_eq!(ids(log.list(&CommandFilter::default(), Some(b), 2).unwrap()), [a]);
        let only_m1 = CommandFilter { meter: Some(m1.clone()), ..Default::default() };
        assert_eq!(ids(log.list(&only_m1, None, 10).unwrap()), [c, a]);
        let reconnects = CommandFilter { kind: Some(CommandKind::Reconnect), ..Default::default() };
        assert_eq!(ids(log.list(&reconnects, None, 10).unwrap()), [c, b]);
        let confirmed = CommandFilter { state: Some(CommandState::Confirmed), ..Default::default() };
        let confirmed = log.list(&confirmed, None, 10).unwrap();
        assert_eq!(confirmed.len(), 1);
        assert_eq!(confirmed[0].relay_state, Some(RelayState::Disconnected));
        assert!(confirmed[0].finished_at.is_some());
        let future = CommandFilter { from: Some("2999-01-01T00:00:00Z".parse().unwrap()), ..Default::default() };
        assert!(log.list(&future, None, 10).unwrap().is_empty());
        assert_eq!(log.fail_unfinished().unwrap(), 2);
        let b = log.get(b).unwrap().unwrap();
        assert_eq!((b.state, b.reason.as_deref()), (CommandState::Failed, Some(INTERRUPTED)));
        let events: Vec<String> = log.history(b.id).unwrap().into_iter().map(|h| h.event).collect();
        assert_eq!(events, ["queued", "failed"]);
    }
}
