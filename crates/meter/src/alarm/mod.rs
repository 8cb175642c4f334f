//! Alarms and supply events of the simulated meter: what an IDIS meter pushes on its own.
//!
//! | module | holds |
//! |---|---|
//! | [`bits`] | the bit assignment of Alarm register 1 (IDIS/DSMR bits 0..=13 plus gridedge's power down, sag, swell, cover and magnetic bits), with its sources |
//! | [`state`] | Alarm register 1 (0.0.97.98.0.255), Alarm filter 1 (0.0.97.98.10.255), Alarm descriptor 1 (0.0.97.98.20.255), the alarm Push setup (0.4.25.9.0.255) and the supply state |
//! | [`notify`] | building and sending the alarm push (data-notification or event-notification, TCP or UDP) |
//!
//! Supply: [`SimulatedMeter::lose_supply`](crate::SimulatedMeter::lose_supply) (power down:
//! registers stop, profile intervals carry [`STATUS_POWER_DOWN`], the meter is dark and its
//! DLMS server does not answer) and
//! [`SimulatedMeter::restore_supply`](crate::SimulatedMeter::restore_supply) (power up).
//! Tamper and voltage quality are alarms raised with
//! [`AlarmState::raise`]: [`tamper_cover_opened`], [`tamper_magnetic_field`],
//! [`VOLTAGE_SAG`], [`VOLTAGE_SWELL`].

pub mod bits;
pub mod notify;
pub mod state;

pub use bits::{ASSIGNED_BITS, AlarmBit};
pub use notify::{prepare_alarm_push, push_alarm};
pub use state::{
    ALARM_DESCRIPTOR_1, ALARM_DESCRIPTOR_OBJECT, ALARM_FILTER_1, ALARM_FILTER_OBJECT, ALARM_PUSH_SETUP,
    ALARM_PUSH_SETUP_OBJECT, ALARM_REGISTER_1, ALARM_REGISTER_OBJECT, AlarmConfig, AlarmNotification, AlarmObjectKind,
    AlarmState, AlarmValue, DEFAULT_CLOCK_RESERVE_S, STATUS_POWER_DOWN, alarm_push_setup,
};

/// The alarms a meter-cover opening raises: fraud attempt (bit 13) and cover opened (bit 14).
pub const fn tamper_cover_opened() -> u32 {
    AlarmBit::FraudAttempt.mask() | AlarmBit::CoverOpened.mask()
}

/// The alarms a strong magnetic field raises: fraud attempt (bit 13) and magnetic field
/// (bit 15).
pub const fn tamper_magnetic_field() -> u32 {
    AlarmBit::FraudAttempt.mask() | AlarmBit::MagneticField.mask()
}

/// The voltage-sag alarm (bit 6).
pub const VOLTAGE_SAG: u32 = AlarmBit::VoltageSag.mask();
/// The voltage-swell alarm (bit 7).
pub const VOLTAGE_SWELL: u32 = AlarmBit::VoltageSwell.mask();
