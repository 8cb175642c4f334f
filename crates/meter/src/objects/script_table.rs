//! Script table objects (interface class 9 version 0, IEC 62056-6-2 §4.5.2): the scripts
//! the meter's time- and event-bound functions execute.
//!
//! The meter has two, both fixed by its firmware (attribute 2 `scripts` read-only, method 1
//! `execute` not offered to clients):
//!
//! | logical name | table | script 1 | script 2 |
//! |---|---|---|---|
//! | 0.0.10.0.100.255 | tariffication (the Activity calendar's day profiles call it) | activate register mask "T1" | activate mask "T2" |
//! | 0.0.10.0.106.255 | disconnect control (the Limiter's actions call it) | disconnect | reconnect |
//!
//! `scripts` = array of script { script_identifier long-unsigned, actions: array of
//! action_specification { service_id enum (1 write attribute, 2 execute method), class_id
//! long-unsigned, logical_name octet-string, index integer, parameter } }. The tariff
//! scripts write `active_mask` (attribute 4) of the Register activation 0.0.14.0.1.255
//! ([`super::register_activation`]); the disconnect scripts name the Disconnect control's
//! methods 1 and 2. When the meter's own Limiter runs them, the disconnector sees the
//! *local* triggers of its state machine (g local_disconnect, h local_reconnect; IEC
//! 62056-6-2 §4.5.8), which is what distinguishes a limiter trip from a remote command.

use dlms::Data;
use dlms::Obis;
use dlms::obis::codes;

use crate::metrology::load_model::Tariff;
use crate::objects::register_activation::{REGISTER_ACTIVATION, mask_name};

/// Interface class id of Script table.
pub const CLASS_SCRIPT_TABLE: u16 = 9;
/// The tariffication script table, 0.0.10.0.100.255.
pub const TARIFFICATION_SCRIPT_TABLE: Obis = Obis::new(0, 0, 10, 0, 100, 255);
/// The disconnect control script table, 0.0.10.0.106.255.
pub const DISCONNECT_SCRIPT_TABLE: Obis = Obis::new(0, 0, 10, 0, 106, 255);
/// Script 1 of the disconnect control script table: open the supply.
pub const SCRIPT_DISCONNECT: u16 = 1;
/// Script 2 of the disconnect control script table: close the supply (as far as the
/// control mode allows).
pub const SCRIPT_RECONNECT: u16 = 2;

/// Which of the meter's script tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScriptTableId {
    /// 0.0.10.0.100.255.
    Tariffication,
    /// 0.0.10.0.106.255.
    Disconnect,
}

/// What running one of the meter's scripts does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScriptEffect {
    /// Tariffication script 1 or 2: the import counts into this register.
    SelectTariff(Tariff),
    /// Disconnect control script 1: open the relay (local_disconnect when run locally).
    Disconnect,
    /// Disconnect control script 2: close the relay (local_reconnect when run locally).
    Reconnect,
}

/// The effect of script `selector` of the script table `script_logical_name`; `None` when
/// the meter has no such script.
pub fn resolve(script_logical_name: Obis, selector: u16) -> Option<ScriptEffect> {
    match (script_logical_name, selector) {
        (TARIFFICATION_SCRIPT_TABLE, 1) => Some(ScriptEffect::SelectTariff(Tariff::T1)),
        (TARIFFICATION_SCRIPT_TABLE, 2) => Some(ScriptEffect::SelectTariff(Tariff::T2)),
        (DISCONNECT_SCRIPT_TABLE, SCRIPT_DISCONNECT) => Some(ScriptEffect::Disconnect),
        (DISCONNECT_SCRIPT_TABLE, SCRIPT_RECONNECT) => Some(ScriptEffect::Reconnect),
        _ => None,
    }
}

/// The tariffication script that selects `tariff`.
pub fn tariff_script(tariff: Tariff) -> u16 {
    match tariff {
        Tariff::T1 => 1,
        Tariff::T2 => 2,
    }
}

fn action(service_id: u8, class_id: u16, ln: Obis, index: i8, parameter: Data) -> Data {
    Data::Structure(vec![
        Data::Enum(service_id),
        Data::LongUnsigned(class_id),
        Data::OctetString(ln.0.to_vec()),
        Data::Integer(index),
        parameter,
    ])
}

fn script(id: u16, actions: Vec<Data>) -> Data {
    Data::Structure(vec![Data::LongUnsigned(id), Data::Array(actions)])
}

impl ScriptTableId {
    /// The table's logical name.
    pub fn logical_name(self) -> Obis {
        match self {
            ScriptTableId::Tariffication => TARIFFICATION_SCRIPT_TABLE,
            ScriptTableId::Disconnect => DISCONNECT_SCRIPT_TABLE,
        }
    }

    /// Attribute 2 `scripts` (see the module documentation).
    pub fn scripts(self) -> Data {
        let write_mask = |t: Tariff| action(1, 6, REGISTER_ACTIVATION, 4, Data::OctetString(mask_name(t).to_vec()));
        let relay = |method: i8| action(2, 70, codes::DISCONNECT_CONTROL, method, Data::Integer(0));
        Data::Array(match self {
            ScriptTableId::Tariffication => vec![
                script(tariff_script(Tariff::T1), vec![write_mask(Tariff::T1)]),
                script(tariff_script(Tariff::T2), vec![write_mask(Tariff::T2)]),
            ],
            ScriptTableId::Disconnect => {
                vec![script(SCRIPT_DISCONNECT, vec![relay(1)]), script(SCRIPT_RECONNECT, vec![relay(2)])]
            }
        })
    }

    /// Attribute value 2 as Data (`None` for other indices; 1 is answered by the dispatcher).
    pub fn attribute(self, id: i8) -> Option<Data> {
        (id == 2).then(|| self.scripts())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_resolve_and_encode() {
        assert_eq!(resolve(TARIFFICATION_SCRIPT_TABLE, 2), Some(ScriptEffect::SelectTariff(Tariff::T2)));
        assert_eq!(resolve(DISCONNECT_SCRIPT_TABLE, 1), Some(ScriptEffect::Disconnect));
        assert_eq!(resolve(DISCONNECT_SCRIPT_TABLE, 3), None);
        assert_eq!(resolve(Obis::new(0, 0, 10, 0, 1, 255), 1), None);
        let Data::Array(scripts) = ScriptTableId::Disconnect.scripts() else { panic!("array") };
        assert_eq!(scripts.len(), 2);
        let Data::Structure(s) = &scripts[0] else { panic!("structure") };
        assert_eq!(s[0], Data::LongUnsigned(1));
        let Data::Array(actions) = &s[1] else { panic!("actions") };
        assert_eq!(
            actions[0],
            Data::Structure(vec![
                Data::Enum(2),
                Data::LongUnsigned(70),
                Data::OctetString(vec![0, 0, 96, 3, 10, 255]),
                Data::Integer(1),
                Data::Integer(0)
            ])
        );
        assert_eq!(ScriptTableId::Tariffication.attribute(3), None);
    }
}
