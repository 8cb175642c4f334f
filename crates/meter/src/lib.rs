//! # meter — a simulated DLMS/COSEM smart meter (the pure part)
//!
//! A [`SimulatedMeter`] is a single-phase household electricity meter whose every value is a
//! pure function of its seed, its configuration, the true time the caller supplies and the
//! commands it has received. Nothing is stored per interval: registers and load-profile
//! entries are computed on demand, exactly and consistently.
//!
//! | module | holds |
//! |---|---|
//! | [`metrology`] | household load model (shape derived from a real UK household), registers, captures, relay history |
//! | [`objects`] | the COSEM object tree (IEC 62056-6-2): Clock, Data, Register, Profile generic, Association LN, Disconnect control, Activity calendar, Script tables, Register activation, Limiter, Image transfer; Token gateway and Credit when prepaid |
//! | [`firmware`] | the signed firmware image format (ECDSA P-256) the Image transfer object verifies |
//! | [`prepayment`] | prepaid mode: STS token decoder, credit register charged from the metrology, low credit, friendly and emergency credit, relay by credit |
//! | [`time_zone`] | the meter's wall clock (standard offset + EU summer time) and COSEM date-time conversion |
//! | [`push`] | the Push setup object (class 40) and the push sender: data-notification and event-notification to the head-end over TCP or UDP |
//! | [`alarm`] | Alarm register 1, filter and descriptor, the alarm Push setup 0.4.25.9.0.255, supply loss (last gasp) and restoration |
//! | [`scenario`] | grid scenarios over a fleet in scaled time: transformer and feeder outages, tamper, voltage sag and swell |
//! | [`tcp_server`] | the DLMS/COSEM server over TCP (IEC 62056-47 wrapper) around a meter |
//! | [`fleet`] | N meters in one process, each on its own TCP listener |
//! | [`meter`] | [`SimulatedMeter`] and the GET/SET/ACTION dispatch the DLMS server calls |
//!
//! Design decisions:
//! * **Time**: methods take the true UTC `now`; the meter runs on its own clock = `now` +
//!   drift (uniform ±5 s from the seed) until time synchronisation sets it. All metrology is
//!   on meter time.
//! * **Commissioning epoch**: registers are 0 at `MeterConfig::commissioning` (default
//!   2024-01-01T00:00Z); the load profile captures every 15 minutes after it.
//! * **Tariffs**: T1 (1.0.1.8.1) is local wall-clock 07:00–23:00, T2 (1.0.1.8.2) the rest,
//!   every day, until an Activity calendar is activated; from its activation time on the
//!   calendar decides (to the millisecond). T1 + T2 = 1.0.1.8.0 exactly.
//! * **Relay**: when the disconnector is not `connected`, all energy registers stop; profile
//!   intervals touched by an open relay carry status bit 6 (0x40); default control mode 4.
//! * **Grid supply** ([`SimulatedMeter::lose_supply`] / [`SimulatedMeter::restore_supply`]):
//!   during a power outage the registers stop, profile intervals touched by it carry status
//!   bit 7 (0x80, power down), the DLMS server does not answer, and the power-down and
//!   power-up alarms are raised for the alarm push (see [`alarm`]).
//! * **Prepaid mode** ([`MeterConfig::prepayment`], off by default): STS tokens (EA11/DKGA04)
//!   through the Token gateway or the keypad; the credit is charged exactly what the import
//!   register advances, on demand like the registers; the relay opens (local_disconnect) at
//!   the millisecond the credit runs out outside friendly hours and closes (local_reconnect,
//!   control modes 5/6) when credit arrives. See [`prepayment`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alarm;
pub mod firmware;
pub mod fleet;
pub mod meter;
pub mod metrology;
pub mod objects;
pub mod prepayment;
pub mod push;
pub mod scenario;
pub mod tcp_server;
pub mod time_zone;

pub use meter::{MeterConfig, MeterConfigError, SimulatedMeter};
pub use metrology::load_model::{LoadModel, LoadModelConfig};
pub use metrology::registers::EnergyRegisters;
pub use objects::association_ln::{AssociationContext, AssociationStatus};
pub use objects::disconnect_control::{ControlMode, ControlState};
pub use objects::token_gateway::{TokenDeliveryMethod, TokenStatusCode};
pub use prepayment::{FriendlyCredit, PrepaymentConfig, StsKey, TokenEntry};
pub use time_zone::MeterTimeZone;
