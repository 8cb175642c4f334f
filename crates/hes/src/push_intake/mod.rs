//! Push intake: meters' alarm pushes (received by [`crate::push_listener`] over TCP or UDP)
//! become IEC 61968-9 `EndDeviceEvent`s with CIM `EndDeviceEventType` codes and go onto the
//! bus (`Events`), from where the MDMS stores them and correlates outages.
//!
//! | module | holds |
//! |---|---|
//! | [`alarm_map`] | alarm bits (IDIS/DSMR Alarm register 1 + gridedge bits) → CIM event types |
//! | [`tracker`] | new alarms from a latched alarm register when no descriptor is pushed |
//! | [`mapper`] | one push → its events (meter identity, occurred_at, alarm bits) |
//! | [`publish`] | events as bus messages with stable ids; the intake loop |

pub mod alarm_map;
pub mod mapper;
pub mod publish;
pub mod tracker;

pub use alarm_map::AlarmBitMap;
pub use mapper::{ALARM_DESCRIPTOR_1, ALARM_PUSH_SETUP, ALARM_REGISTER_1, MapError, PushEventMapper, PushedAlarms};
pub use publish::{IntakeConfig, IntakeStats, event_id, event_message, run_push_intake};
pub use tracker::AlarmTracker;
