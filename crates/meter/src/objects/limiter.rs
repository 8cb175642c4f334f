//! Limiter (interface class 71 version 0, IEC 62056-6-2 §4.5.9), logical name
//! 0.0.17.0.0.255: load limitation and demand-response events that open and close the
//! supply through the disconnect control script table.
//!
//! | id | attribute | type | access |
//! |---|---|---|---|
//! | 2 | monitored_value | value_definition { class_id long-unsigned, logical_name octet-string, attribute_index integer } | RW |
//! | 3 | threshold_active | double-long-unsigned, W | R |
//! | 4 | threshold_normal | double-long-unsigned, W | RW |
//! | 5 | threshold_emergency | double-long-unsigned, W | RW |
//! | 6 | min_over_threshold_duration | double-long-unsigned, s | RW |
//! | 7 | min_under_threshold_duration | double-long-unsigned, s | RW |
//! | 8 | emergency_profile | { emergency_profile_id long-unsigned, emergency_activation_time octet-string(12) date-time, emergency_duration double-long-unsigned s } | RW |
//! | 9 | emergency_profile_group_id_list | array of long-unsigned | RW |
//! | 10 | emergency_profile_active | boolean | R |
//! | 11 | actions | { action_over_threshold, action_under_threshold }, each action_item { script_logical_name octet-string, script_selector long-unsigned } | RW |
//!
//! The class has no methods. An emergency profile is *active* while its id is in the group
//! id list and meter time is in `[activation, activation + duration)`; `threshold_active` is
//! then `threshold_emergency`, else `threshold_normal`. When the monitored value has been
//! above the active threshold for `min_over_threshold_duration` the meter runs
//! `action_over_threshold`; once it has then been at or below it for
//! `min_under_threshold_duration`, `action_under_threshold`.
//!
//! The monitored value is active power import +P, Register 1.0.1.7.0.255 attribute 2 (W):
//! the load model's mean power of the current 15-minute interval, 0 while the relay is open
//! — so a trip really lowers the demand, and with a low threshold the load really trips
//! the relay. The actions call the disconnect control script table 0.0.10.0.106.255
//! (script 1 disconnect, 2 reconnect), applied as the disconnector's local triggers (g
//! local_disconnect, h local_reconnect: reconnection by the limiter needs control mode 5 or
//! 6; otherwise the customer or the head-end reconnects).
//!
//! Evaluation is exact and lazy like the registers: at each request the limiter replays
//! meter time since its last evaluation, interval by interval, and operates the relay at the
//! instants the durations elapse. Choices of this meter: a new meter's thresholds are
//! 4 294 967 295 W (no limitation), durations 60 s, emergency profile id 0 with no activation
//! time, empty group list, actions disconnect/reconnect; monitored_value accepts only
//! 1.0.1.7.0.255 attribute 2 (`other-reason` otherwise); an action item with logical name
//! 0.0.0.0.0.0 does nothing, any other must name a disconnect control script
//! (`other-reason`); two limiter actions are at least 1 s apart.

use dlms::Data;
use dlms::Obis;
use dlms::obis::codes;
use dlms::xdlms::DataAccessResult;

use crate::metrology::Metrology;
use crate::metrology::load_model::INTERVAL_MS;
use crate::objects::disconnect_control::{DisconnectControl, RelayTrigger};
use crate::objects::script_table::{
    DISCONNECT_SCRIPT_TABLE, SCRIPT_DISCONNECT, SCRIPT_RECONNECT, ScriptEffect, resolve,
};
use crate::time_zone::MeterTimeZone;

/// Interface class id of Limiter.
pub const CLASS_LIMITER: u16 = 71;
/// Logical name of the meter's Limiter, 0.0.17.0.0.255.
pub const LIMITER: Obis = Obis::new(0, 0, 17, 0, 0, 255);
/// The threshold of a new meter: no limitation, W.
pub const NO_LIMIT_W: u32 = u32::MAX;
/// Default min_over/min_under_threshold_duration, s.
pub const DEFAULT_DURATION_S: u32 = 60;
/// Largest emergency group id list accepted.
pub const MAX_GROUP_IDS: usize = 16;
/// Shortest time between two limiter actions, ms.
pub const MIN_ACTION_SPACING_MS: i64 = 1000;
/// Limiter events kept for inspection ([`Limiter::events`]).
pub const MAX_EVENTS: usize = 64;

/// The monitored value (value_definition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValueDefinition {
    /// class_id.
    pub class_id: u16,
    /// logical_name.
    pub logical_name: Obis,
    /// attribute_index.
    pub attribute_index: i8,
}

/// One action_item: a script of a script table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionItem {
    /// script_logical_name (0.0.0.0.0.0 = no action).
    pub script_logical_name: Obis,
    /// script_selector.
    pub script_selector: u16,
}

/// The emergency_profile: a demand-response event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EmergencyProfile {
    /// emergency_profile_id.
    pub id: u16,
    /// emergency_activation_time, meter time (UTC ms); `None` = not specified.
    pub activation_ms: Option<i64>,
    /// emergency_duration, s.
    pub duration_s: u32,
}

/// What the limiter did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LimiterEvent {
    /// Meter time (UTC ms) of the action.
    pub at_ms: i64,
    /// true: action_over_threshold; false: action_under_threshold.
    pub over: bool,
    /// The relay trigger applied (`None` when the action item names no script).
    pub trigger: Option<RelayTrigger>,
    /// Whether the disconnector's state changed.
    pub changed: bool,
}

/// The Limiter object: its settings and the state of its monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limiter {
    /// Attribute 2.
    pub monitored_value: ValueDefinition,
    /// Attribute 4, W.
    pub threshold_normal: u32,
    /// Attribute 5, W.
    pub threshold_emergency: u32,
    /// Attribute 6, s.
    pub min_over_threshold_duration_s: u32,
    /// Attribute 7, s.
    pub min_under_threshold_duration_s: u32,
    /// Attribute 8.
    pub emergency_profile: EmergencyProfile,
    /// Attribute 9.
    pub emergency_group_ids: Vec<u16>,
    /// Attribute 11, first element.
    pub action_over: ActionItem,
    /// Attribute 11, second element.
    pub action_under: ActionItem,
    /// Meter time up to which the monitoring has been evaluated.
    evaluated_ms: Option<i64>,
    /// Since when the value has been above the threshold.
    over_since: Option<i64>,
    /// Since when the value has been at or below the threshold.
    under_since: Option<i64>,
    /// Whether action_over_threshold ran and action_under_threshold has not yet.
    tripped: bool,
    last_action_ms: Option<i64>,
    events: Vec<LimiterEvent>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            monitored_value: ValueDefinition {
                class_id: 3,
                logical_name: codes::ACTIVE_POWER_IMPORT,
                attribute_index: 2,
            },
            threshold_normal: NO_LIMIT_W,
            threshold_emergency: NO_LIMIT_W,
            min_over_threshold_duration_s: DEFAULT_DURATION_S,
            min_under_threshold_duration_s: DEFAULT_DURATION_S,
            emergency_profile: EmergencyProfile { id: 0, activation_ms: None, duration_s: 0 },
            emergency_group_ids: Vec::new(),
            action_over: ActionItem {
                script_logical_name: DISCONNECT_SCRIPT_TABLE,
                script_selector: SCRIPT_DISCONNECT,
            },
            action_under: ActionItem {
                script_logical_name: DISCONNECT_SCRIPT_TABLE,
                script_selector: SCRIPT_RECONNECT,
            },
            evaluated_ms: None,
            over_since: None,
            under_since: None,
            tripped: false,
            last_action_ms: None,
            events: Vec::new(),
        }
    }
}

const NO_SCRIPT: Obis = Obis::new(0, 0, 0, 0, 0, 0);

fn u32_value(d: &Data) -> Option<u32> {
    match d {
        Data::DoubleLongUnsigned(v) => Some(*v),
        Data::LongUnsigned(v) => Some(u32::from(*v)),
        Data::Unsigned(v) => Some(u32::from(*v)),
        _ => None,
    }
}

fn obis(d: &Data) -> Option<Obis> {
    match d {
        Data::OctetString(b) => Obis::from_slice(b),
        _ => None,
    }
}

fn action_item(d: &Data) -> Result<ActionItem, DataAccessResult> {
    let Some([ln, sel]) = d.as_sequence().and_then(|s| <&[Data; 2]>::try_from(s).ok()) else {
        return Err(DataAccessResult::TypeUnmatched);
    };
    let (Some(script_logical_name), Data::LongUnsigned(script_selector)) = (obis(ln), sel) else {
        return Err(DataAccessResult::TypeUnmatched);
    };
    if script_logical_name != NO_SCRIPT
        && !matches!(
            resolve(script_logical_name, *script_selector),
            Some(ScriptEffect::Disconnect | ScriptEffect::Reconnect)
        )
    {
        return Err(DataAccessResult::OtherReason);
    }
    Ok(ActionItem { script_logical_name, script_selector: *script_selector })
}

fn action_data(a: &ActionItem) -> Data {
    Data::Structure(vec![Data::OctetString(a.script_logical_name.0.to_vec()), Data::LongUnsigned(a.script_selector)])
}

impl Limiter {
    /// Whether the emergency profile is active at meter time `t_ms` (attribute 10).
    pub fn emergency_active_at(&self, t_ms: i64) -> bool {
        let p = &self.emergency_profile;
        match p.activation_ms {
            Some(a) if self.emergency_group_ids.contains(&p.id) => {
                a <= t_ms && t_ms < a.saturating_add(i64::from(p.duration_s) * 1000)
            }
            _ => false,
        }
    }

    /// threshold_active at meter time `t_ms` (attribute 3), W.
    pub fn threshold_at(&self, t_ms: i64) -> u32 {
        if self.emergency_active_at(t_ms) { self.threshold_emergency } else { self.threshold_normal }
    }

    /// What the limiter did, oldest first (the last [`MAX_EVENTS`]).
    pub fn events(&self) -> &[LimiterEvent] {
        &self.events
    }

    /// Whether action_over_threshold ran and action_under_threshold has not yet.
    pub fn is_tripped(&self) -> bool {
        self.tripped
    }

    /// Attribute value 2..=11 at meter time `t_ms` (`None` for other indices).
    pub fn attribute(&self, id: i8, t_ms: i64, zone: &MeterTimeZone) -> Option<Data> {
        Some(match id {
            2 => Data::Structure(vec![
                Data::LongUnsigned(self.monitored_value.class_id),
                Data::OctetString(self.monitored_value.logical_name.0.to_vec()),
                Data::Integer(self.monitored_value.attribute_index),
            ]),
            3 => Data::DoubleLongUnsigned(self.threshold_at(t_ms)),
            4 => Data::DoubleLongUnsigned(self.threshold_normal),
            5 => Data::DoubleLongUnsigned(self.threshold_emergency),
            6 => Data::DoubleLongUnsigned(self.min_over_threshold_duration_s),
            7 => Data::DoubleLongUnsigned(self.min_under_threshold_duration_s),
            8 => {
                let p = &self.emergency_profile;
                let time = p
                    .activation_ms
                    .map_or_else(crate::objects::activity_calendar::date_time_not_specified, |a| zone.cosem_from_ms(a));
                Data::Structure(vec![
                    Data::LongUnsigned(p.id),
                    Data::OctetString(time.to_octets()),
                    Data::DoubleLongUnsigned(p.duration_s),
                ])
            }
            9 => Data::Array(self.emergency_group_ids.iter().map(|g| Data::LongUnsigned(*g)).collect()),
            10 => Data::Boolean(self.emergency_active_at(t_ms)),
            11 => Data::Structure(vec![action_data(&self.action_over), action_data(&self.action_under)]),
            _ => return None,
        })
    }

    /// SET of a writable attribute (see the table in the module documentation). Call
    /// [`Limiter::advance`] up to the request's meter time first: the new setting applies
    /// from then on. Returns `success`, `type-unmatched`, `other-reason` (unsupported
    /// monitored value, unknown script, unusable date-time, too many group ids) or
    /// `read-write-denied` for other attributes.
    pub fn set_attribute(&mut self, id: i8, value: &Data, zone: &MeterTimeZone) -> DataAccessResult {
        match self.try_set(id, value, zone) {
            Ok(()) => DataAccessResult::Success,
            Err(e) => e,
        }
    }

    fn try_set(&mut self, id: i8, value: &Data, zone: &MeterTimeZone) -> Result<(), DataAccessResult> {
        let number = |d: &Data| u32_value(d).ok_or(DataAccessResult::TypeUnmatched);
        match id {
            2 => {
                let Some([c, ln, a]) = value.as_sequence().and_then(|s| <&[Data; 3]>::try_from(s).ok()) else {
                    return Err(DataAccessResult::TypeUnmatched);
                };
                let (Data::LongUnsigned(class_id), Some(logical_name), Data::Integer(attribute_index)) =
                    (c, obis(ln), a)
                else {
                    return Err(DataAccessResult::TypeUnmatched);
                };
                let v = ValueDefinition { class_id: *class_id, logical_name, attribute_index: *attribute_index };
                if v != Limiter::default().monitored_value {
                    return Err(DataAccessResult::OtherReason);
                }
                self.monitored_value = v;
            }
            4 => self.threshold_normal = number(value)?,
            5 => self.threshold_emergency = number(value)?,
            6 => self.min_over_threshold_duration_s = number(value)?,
            7 => self.min_under_threshold_duration_s = number(value)?,
            8 => {
                let Some([id, time, duration]) = value.as_sequence().and_then(|s| <&[Data; 3]>::try_from(s).ok())
                else {
                    return Err(DataAccessResult::TypeUnmatched);
                };
                let (Data::LongUnsigned(id), Some(dt)) = (id, time.as_date_time()) else {
                    return Err(DataAccessResult::TypeUnmatched);
                };
                let duration_s = number(duration)?;
                let activation_ms = if dt.date.year == dlms::datetime::YEAR_NOT_SPECIFIED
                    && dt.date.month == dlms::datetime::NOT_SPECIFIED
                {
                    None
                } else {
                    Some(zone.ms_from_cosem(&dt).ok_or(DataAccessResult::OtherReason)?)
                };
                self.emergency_profile = EmergencyProfile { id: *id, activation_ms, duration_s };
            }
            9 => {
                let Data::Array(ids) = value else { return Err(DataAccessResult::TypeUnmatched) };
                if ids.len() > MAX_GROUP_IDS {
                    return Err(DataAccessResult::OtherReason);
                }
                self.emergency_group_ids = ids
                    .iter()
                    .map(|d| match d {
                        Data::LongUnsigned(g) => Ok(*g),
                        _ => Err(DataAccessResult::TypeUnmatched),
                    })
                    .collect::<Result<_, _>>()?;
            }
            11 => {
                let Some([over, under]) = value.as_sequence().and_then(|s| <&[Data; 2]>::try_from(s).ok()) else {
                    return Err(DataAccessResult::TypeUnmatched);
                };
                let (over, under) = (action_item(over)?, action_item(under)?);
                self.action_over = over;
                self.action_under = under;
            }
            _ => return Err(DataAccessResult::ReadWriteDenied),
        }
        Ok(())
    }

    /// Instants in `(x, t)` where the active threshold may change (emergency start and end).
    fn next_threshold_change(&self, x: i64) -> Option<i64> {
        let a = self.emergency_profile.activation_ms?;
        let end = a.saturating_add(i64::from(self.emergency_profile.duration_s) * 1000);
        [a, end].into_iter().filter(|&e| e > x).min()
    }

    /// Whether nothing can happen between `x` and `t`: not tripped and no finite
    /// threshold in force anywhere in between.
    fn idle_between(&self, x: i64, t: i64) -> bool {
        if self.tripped || self.threshold_normal != NO_LIMIT_W {
            return false;
        }
        let p = &self.emergency_profile;
        match p.activation_ms {
            Some(a) if self.emergency_group_ids.contains(&p.id) && self.threshold_emergency != NO_LIMIT_W => {
                let end = a.saturating_add(i64::from(p.duration_s) * 1000);
                end <= x || a >= t
            }
            _ => true,
        }
    }

    /// Replays the monitoring from the last evaluation up to meter time `t_ms`, running the
    /// actions at the exact instants the durations elapse: the relay of `relay` and the
    /// metrology's supply history change there. A clock stepped backwards restarts the
    /// monitoring at `t_ms`.
    pub fn advance(&mut self, t_ms: i64, metrology: &mut Metrology, relay: &mut DisconnectControl) {
        let Some(mut x) = self.evaluated_ms else {
            self.evaluated_ms = Some(t_ms);
            return;
        };
        if t_ms < x {
            self.over_since = None;
            self.under_since = None;
            self.evaluated_ms = Some(t_ms);
            return;
        }
        if self.idle_between(x, t_ms) {
            self.over_since = None;
            self.under_since = None;
            self.evaluated_ms = Some(t_ms);
            return;
        }
        while x < t_ms {
            let boundary = (x.div_euclid(INTERVAL_MS) + 1) * INTERVAL_MS;
            let seg_end = [Some(boundary), self.next_threshold_change(x), Some(t_ms)].into_iter().flatten().min();
            let seg_end = seg_end.unwrap_or(t_ms).min(t_ms);
            let value = metrology.instantaneous(x).active_power_import_w;
            let over = value > self.threshold_at(x);
            let earliest = self.last_action_ms.map_or(x, |l| x.max(l + MIN_ACTION_SPACING_MS));
            let fire = if over {
                self.under_since = None;
                let since = *self.over_since.get_or_insert(x);
                (!self.tripped).then(|| (since + i64::from(self.min_over_threshold_duration_s) * 1000).max(earliest))
            } else {
                self.over_since = None;
                let since = *self.under_since.get_or_insert(x);
                self.tripped.then(|| (since + i64::from(self.min_under_threshold_duration_s) * 1000).max(earliest))
            };
            match fire {
                Some(at) if at < seg_end => {
                    self.run(at, over, metrology, relay);
                    x = at;
                }
                _ => x = seg_end,
            }
        }
        self.evaluated_ms = Some(t_ms);
    }

    fn run(&mut self, at: i64, over: bool, metrology: &mut Metrology, relay: &mut DisconnectControl) {
        let item = if over { self.action_over } else { self.action_under };
        let trigger = match resolve(item.script_logical_name, item.script_selector) {
            Some(ScriptEffect::Disconnect) => Some(RelayTrigger::LocalDisconnect),
            Some(ScriptEffect::Reconnect) => Some(RelayTrigger::LocalReconnect),
            _ => None,
        };
        let changed = trigger.is_some_and(|tr| relay.apply(tr));
        if changed {
            if relay.output_state() {
                metrology.close_relay(at);
            } else {
                metrology.open_relay(at);
            }
        }
        self.tripped = over;
        self.over_since = None;
        self.under_since = None;
        self.last_action_ms = Some(at);
        if self.events.len() >= MAX_EVENTS {
            self.events.remove(0);
        }
        self.events.push(LimiterEvent { at_ms: at, over, trigger, changed });
    }
}
