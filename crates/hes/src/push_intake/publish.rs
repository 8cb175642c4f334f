//! Pushed events onto the bus: one `Events` message per event, keyed by meter, with a
//! content id that makes redelivery and republishing harmless (the MDMS stores an event
//! once per key), and the intake loop from the push listeners' channel to the bus.

use std::time::Duration;

use bus::{BusError, BusMessage, MessageKind, Publisher};
use jiff::Timestamp;
use model::EndDeviceEvent;
use tokio::sync::mpsc;

use crate::push_intake::mapper::{MapError, PushEventMapper};
use crate::push_listener::PushMessage;

/// The content id of an event on the bus: `<meter>/<event type>/<occurred_at in Unix ms>`,
/// e.g. `GE00000001/3.26.0.47/1735732800000`.
pub fn event_id(event: &EndDeviceEvent) -> String {
    format!("{}/{}/{}", event.meter.0, event.event_type, event.occurred_at.as_millisecond())
}

/// The `Events` bus message of `event`: key the meter's serial, id [`event_id`], payload the
/// event as JSON.
///
/// # Errors
/// [`BusError::Encode`].
pub fn event_message(event: &EndDeviceEvent) -> Result<BusMessage, BusError> {
    BusMessage::json(MessageKind::Events, &event.meter.0, event_id(event), event)
}

/// How the intake publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeConfig {
    /// Attempts to publish one push's events before they are dropped (logged), ≥ 1.
    pub publish_attempts: u32,
    /// Pause between attempts, doubled after each.
    pub retry_delay: Duration,
}

impl Default for IntakeConfig {
    /// 5 attempts from 200 ms.
    fn default() -> Self {
        IntakeConfig { publish_attempts: 5, retry_delay: Duration::from_millis(200) }
    }
}

/// What [`run_push_intake`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntakeStats {
    /// Pushes received from the listeners.
    pub pushes: u64,
    /// Pushes that were alarm pushes of an identified meter.
    pub alarm_pushes: u64,
    /// Events published (and confirmed by the bus).
    pub events: u64,
    /// Pushes that were not alarm pushes (ignored here).
    pub not_alarms: u64,
    /// Alarm pushes whose meter could not be identified (dropped).
    pub unidentified: u64,
    /// Alarm pushes with a malformed alarm value (dropped).
    pub malformed: u64,
    /// Events dropped because the bus refused them every time.
    pub publish_failures: u64,
}

/// Maps every push from `rx` to events and publishes them on `publisher`, until every
/// sender of `rx` is gone or the bus is closed. `received_at` of each event is the time
/// the intake took the push from the channel (HES clock, UTC).
pub async fn run_push_intake<P: Publisher>(
    mut rx: mpsc::Receiver<PushMessage>,
    publisher: &P,
    mapper: &mut PushEventMapper,
    config: IntakeConfig,
) -> IntakeStats {
    let mut stats = IntakeStats::default();
    while let Some(push) = rx.recv().await {
        stats.pushes += 1;
        let events = match mapper.map(&push, Timestamp::now()) {
            Ok(events) => events,
            Err(MapError::NotAnAlarm) => {
                stats.not_alarms += 1;
                continue;
            }
            Err(e @ MapError::Unidentified(_)) => {
                tracing::warn!(error = %e, "alarm push dropped");
                stats.unidentified += 1;
                continue;
            }
            Err(e @ MapError::BadAlarmValue(_)) => {
                tracing::warn!(error = %e, peer = %push.source.peer, "alarm push dropped");
                stats.malformed += 1;
                continue;
            }
        };
        stats.alarm_pushes += 1;
        if events.is_empty() {
            continue;
        }
        let count = events.len() as u64;
        let messages: Result<Vec<BusMessage>, BusError> = events.iter().map(event_message).collect();
        let messages = match messages {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "events do not encode; dropped");
                stats.publish_failures += count;
                continue;
            }
        };
        match publish_with_retry(publisher, messages, config).await {
            Ok(()) => stats.events += count,
            Err(BusError::Closed) => {
                stats.publish_failures += count;
                return stats;
            }
            Err(e) => {
                tracing::error!(error = %e, events = count, "events not published; dropped");
                stats.publish_failures += count;
            }
        }
    }
    stats
}

async fn publish_with_retry<P: Publisher>(
    publisher: &P,
    messages: Vec<BusMessage>,
    config: IntakeConfig,
) -> Result<(), BusError> {
    let mut delay = config.retry_delay;
    let mut attempt = 1;
    loop {
        match publisher.publish_all(messages.clone()).await {
            Ok(()) => return Ok(()),
            Err(BusError::Closed) => return Err(BusError::Closed),
            Err(e) if attempt >= config.publish_attempts.max(1) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, attempt, "publishing events failed; retrying");
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{EndDeviceEventType, MeterId};

    #[test]
    fn event_ids_are_stable_per_meter_type_and_time() {
        let at: Timestamp = "2025-01-01T12:00:00.123Z".parse().unwrap();
        let e = EndDeviceEvent::new(MeterId::from("GE1"), EndDeviceEventType::POWER_DOWN, at, at, "push");
        assert_eq!(event_id(&e), "GE1/3.26.0.47/1735732800123");
        let later = EndDeviceEvent { received_at: at + jiff::SignedDuration::from_secs(9), ..e.clone() };
        assert_eq!(event_id(&later), event_id(&e), "receipt time is not part of the id");
        let m = event_message(&e).unwrap();
        assert_eq!((m.kind, m.key.as_str(), m.subject()), (MessageKind::Events, "GE1", "gridedge.events.GE1".into()));
        assert_eq!(m.decode::<EndDeviceEvent>().unwrap(), e);
    }
}
