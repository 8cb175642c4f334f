//! Disconnect control (interface class 70, IEC 62056-6-2 §4.5.8): the supply relay's state
//! machine.
//!
//! States (attribute 3 `control_state`): 0 disconnected, 1 connected, 2
//! ready_for_reconnection. Transitions, by trigger:
//!
//! | label | trigger | from → to |
//! |---|---|---|
//! | a | remote_reconnect | disconnected → connected (direct) |
//! | b | remote_disconnect | connected → disconnected |
//! | c | remote_disconnect | ready_for_reconnection → disconnected |
//! | d | remote_reconnect | disconnected → ready_for_reconnection |
//! | e | manual_reconnect | ready_for_reconnection → connected |
//! | f | manual_disconnect | connected → ready_for_reconnection |
//! | g | local_disconnect | connected → ready_for_reconnection |
//! | h | local_reconnect | ready_for_reconnection → connected |
//!
//! Attribute 4 `control_mode` enables them: mode 0 none (always connected); every mode 1..=6
//! has b, c, e, g; modes 1, 2, 5 add f; modes 2 and 4 reconnect remotely by a, modes 1, 3, 5,
//! 6 by d; modes 5 and 6 add h. Attribute 2 `output_state` is true exactly in `connected`.
//!
//! Choices of this simulator: a trigger the mode allows but the current state has no
//! transition for (e.g. remote_disconnect while disconnected) succeeds without change; the
//! remote methods fail with `other-reason` in mode 0; writing mode 0 ("the disconnect
//! control object is always in 'connected' state") closes an open relay at once
//! ([`DisconnectControl::set_mode`]).

use dlms::Data;

/// Attribute 3 `control_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ControlState {
    /// (0) disconnected: relay open, remote reconnection needed.
    Disconnected = 0,
    /// (1) connected: relay closed.
    Connected = 1,
    /// (2) ready_for_reconnection: relay open, the customer may reconnect locally.
    ReadyForReconnection = 2,
}

/// Attribute 4 `control_mode` (0..=6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ControlMode {
    /// (0) the object is always connected.
    None = 0,
    /// (1) remote reconnection via ready_for_reconnection (d); manual disconnection (f).
    Mode1 = 1,
    /// (2) direct remote reconnection (a); manual disconnection (f).
    Mode2 = 2,
    /// (3) remote reconnection via ready_for_reconnection (d); no manual disconnection.
    Mode3 = 3,
    /// (4) direct remote reconnection (a); no manual disconnection. The default.
    Mode4 = 4,
    /// (5) as mode 1, plus local reconnection (h).
    Mode5 = 5,
    /// (6) as mode 3, plus local reconnection (h).
    Mode6 = 6,
}

impl ControlMode {
    /// The mode with enumeration value `v`, `None` outside 0..=6.
    pub fn from_u8(v: u8) -> Option<ControlMode> {
        Some(match v {
            0 => ControlMode::None,
            1 => ControlMode::Mode1,
            2 => ControlMode::Mode2,
            3 => ControlMode::Mode3,
            4 => ControlMode::Mode4,
            5 => ControlMode::Mode5,
            6 => ControlMode::Mode6,
            _ => return None,
        })
    }
}

/// What asks the relay to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelayTrigger {
    /// Method 1 `remote_disconnect`.
    RemoteDisconnect,
    /// Method 2 `remote_reconnect`.
    RemoteReconnect,
    /// The customer's push button, disconnecting.
    ManualDisconnect,
    /// The customer's push button, reconnecting.
    ManualReconnect,
    /// A local function of the meter (e.g. a limiter), disconnecting.
    LocalDisconnect,
    /// A local function of the meter, reconnecting.
    LocalReconnect,
}

/// The disconnector: control state and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DisconnectControl {
    /// Attribute 3.
    pub state: ControlState,
    /// Attribute 4.
    pub mode: ControlMode,
}

impl DisconnectControl {
    /// A connected disconnector in `mode`.
    pub fn new(mode: ControlMode) -> DisconnectControl {
        DisconnectControl { state: ControlState::Connected, mode }
    }

    /// SET of attribute 4: the new control mode. Mode 0 also moves the state to connected
    /// (the object is always connected in mode 0). Returns whether the state changed (the
    /// caller then closes the supply).
    pub fn set_mode(&mut self, mode: ControlMode) -> bool {
        self.mode = mode;
        if mode == ControlMode::None && self.state != ControlState::Connected {
            self.state = ControlState::Connected;
            return true;
        }
        false
    }

    /// Attribute 2 `output_state`: true = relay closed, supply available.
    pub fn output_state(&self) -> bool {
        self.state == ControlState::Connected
    }

    /// Whether `mode` enables `trigger` at all.
    pub fn mode_allows(mode: ControlMode, trigger: RelayTrigger) -> bool {
        use ControlMode::*;
        use RelayTrigger::*;
        match (trigger, mode) {
            (_, None) => false,
            (RemoteDisconnect | RemoteReconnect | ManualReconnect | LocalDisconnect, _) => true,
            (ManualDisconnect, m) => matches!(m, Mode1 | Mode2 | Mode5),
            (LocalReconnect, m) => matches!(m, Mode5 | Mode6),
        }
    }

    /// The state `trigger` leads to from `self.state` under `self.mode`, `None` when the
    /// mode does not allow the trigger or the state has no such transition.
    pub fn next_state(&self, trigger: RelayTrigger) -> Option<ControlState> {
        use ControlState::*;
        use RelayTrigger::*;
        if !Self::mode_allows(self.mode, trigger) {
            return Option::None;
        }
        let direct_remote_reconnect = matches!(self.mode, ControlMode::Mode2 | ControlMode::Mode4);
        match (trigger, self.state) {
            (RemoteDisconnect, Connected | ReadyForReconnection) => Some(Disconnected), // b, c
            (RemoteReconnect, Disconnected) if direct_remote_reconnect => Some(Connected), // a
            (RemoteReconnect, Disconnected) => Some(ReadyForReconnection),              // d
            (ManualReconnect | LocalReconnect, ReadyForReconnection) => Some(Connected), // e, h
            (ManualDisconnect | LocalDisconnect, Connected) => Some(ReadyForReconnection), // f, g
            _ => Option::None,
        }
    }

    /// Applies `trigger`; returns whether the state changed.
    pub fn apply(&mut self, trigger: RelayTrigger) -> bool {
        match self.next_state(trigger) {
            Some(s) if s != self.state => {
                self.state = s;
                true
            }
            _ => false,
        }
    }

    /// Attribute value 2..=4 as Data (`None` for other indices).
    pub fn attribute(&self, id: i8) -> Option<Data> {
        Some(match id {
            2 => Data::Boolean(self.output_state()),
            3 => Data::Enum(self.state as u8),
            4 => Data::Enum(self.mode as u8),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ControlState::*;
    use RelayTrigger::*;

    fn in_state(mode: ControlMode, state: ControlState) -> DisconnectControl {
        DisconnectControl { state, mode }
    }

    #[test]
    fn mode_4_reconnects_directly() {
        let mut d = DisconnectControl::new(ControlMode::Mode4);
        assert!(d.apply(RemoteDisconnect));
        assert_eq!((d.state, d.output_state()), (Disconnected, false));
        assert!(d.apply(RemoteReconnect));
        assert_eq!((d.state, d.output_state()), (Connected, true));
        // No manual disconnection in mode 4, but local disconnection (g) is possible.
        assert!(!d.apply(ManualDisconnect));
        assert!(d.apply(LocalDisconnect));
        assert_eq!(d.state, ReadyForReconnection);
        assert!(d.apply(RemoteDisconnect)); // c
        assert_eq!(d.state, Disconnected);
    }

    #[test]
    fn mode_1_needs_the_customer() {
        let mut d = DisconnectControl::new(ControlMode::Mode1);
        d.apply(RemoteDisconnect);
        assert!(d.apply(RemoteReconnect)); // d
        assert_eq!((d.state, d.output_state()), (ReadyForReconnection, false));
        assert!(!d.apply(RemoteReconnect)); // no transition from ready_for_reconnection
        assert!(!d.apply(LocalReconnect)); // h only in modes 5, 6
        assert!(d.apply(ManualReconnect)); // e
        assert_eq!(d.state, Connected);
        assert!(d.apply(ManualDisconnect)); // f
        assert_eq!(d.state, ReadyForReconnection);
    }

    #[test]
    fn transition_table() {
        use ControlMode::*;
        // (mode, trigger, from, expected)
        let cases = [
            (None, RemoteDisconnect, Connected, Option::None),
            (Mode2, RemoteReconnect, Disconnected, Some(Connected)),
            (Mode3, RemoteReconnect, Disconnected, Some(ReadyForReconnection)),
            (Mode3, ManualDisconnect, Connected, Option::None),
            (Mode5, LocalReconnect, ReadyForReconnection, Some(Connected)),
            (Mode6, LocalReconnect, ReadyForReconnection, Some(Connected)),
            (Mode6, ManualDisconnect, Connected, Option::None),
            (Mode6, RemoteReconnect, Disconnected, Some(ReadyForReconnection)),
            (Mode4, RemoteDisconnect, Disconnected, Option::None),
            (Mode4, ManualReconnect, Disconnected, Option::None),
        ];
        for (mode, trig, from, want) in cases {
            assert_eq!(in_state(mode, from).next_state(trig), want, "{mode:?} {trig:?} {from:?}");
        }
    }

    #[test]
    fn mode_0_is_always_connected() {
        let mut d = in_state(ControlMode::Mode1, ReadyForReconnection);
        assert!(!d.set_mode(ControlMode::Mode3), "other modes keep the state");
        assert_eq!(d.state, ReadyForReconnection);
        assert!(d.set_mode(ControlMode::None));
        assert_eq!((d.state, d.output_state()), (Connected, true));
        assert!(!d.apply(RemoteDisconnect), "no transition in mode 0");
        assert!(!d.set_mode(ControlMode::None));
    }

    #[test]
    fn attributes() {
        let d = in_state(ControlMode::Mode4, ReadyForReconnection);
        assert_eq!(d.attribute(2), Some(Data::Boolean(false)));
        assert_eq!(d.attribute(3), Some(Data::Enum(2)));
        assert_eq!(d.attribute(4), Some(Data::Enum(4)));
        assert_eq!(d.attribute(5), Option::None);
    }
}
