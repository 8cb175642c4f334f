//! Playing a [`Scenario`] on running meters: each action is applied to its meter at its
//! simulated instant (the [`ScenarioClock`] waits for it), and the alarm push it causes is
//! delivered to the meter's alarm Push setup destination, concurrently with the rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use tokio::task::JoinSet;

use crate::SimulatedMeter;
use crate::alarm::prepare_alarm_push;
use crate::fleet::FleetMeter;
use crate::push::sender::{PushDelivery, deliver};
use crate::scenario::ScenarioError;
use crate::scenario::clock::ScenarioClock;
use crate::scenario::event::{MeterAction, Scenario};
use crate::scenario::topology::GridTopology;

/// What became of one meter's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushResult {
    /// The push reached its destination (TCP: the connection took the frame; UDP: the
    /// datagram was sent) after this many attempts.
    Delivered {
        /// Attempts made (1 = first time).
        attempts: u32,
    },
    /// The last gasp was lost in the field (drawn with the scenario's loss probability).
    Lost,
    /// No push was due: the meter was already dark or back, or the alarms are filtered out.
    NotSent,
    /// Building or sending failed (e.g. no destination, every attempt refused).
    Failed(String),
}

/// One meter action with its push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// The meter.
    pub serial: String,
    /// The simulated instant of the action, UTC.
    pub at: Timestamp,
    /// The action.
    pub action: MeterAction,
    /// The alarms the push reported (Alarm descriptor 1), 0 when none was built.
    pub alarms: u32,
    /// What became of the push.
    pub result: PushResult,
}

/// How each meter delivers its pushes: a default and per-meter exceptions (e.g. the
/// security settings, with its system title and keys, of a meter that ciphers).
#[derive(Debug, Clone, Default)]
pub struct ScenarioDelivery {
    /// For every meter without an exception.
    pub default: PushDelivery,
    /// By serial.
    pub per_meter: HashMap<String, PushDelivery>,
}

impl ScenarioDelivery {
    /// `delivery` for every meter.
    pub fn uniform(delivery: PushDelivery) -> Self {
        ScenarioDelivery { default: delivery, per_meter: HashMap::new() }
    }

    /// The same with `delivery` for meter `serial`.
    pub fn with_meter(mut self, serial: &str, delivery: PushDelivery) -> Self {
        self.per_meter.insert(serial.to_string(), delivery);
        self
    }

    /// The delivery of meter `serial`.
    pub fn for_meter(&self, serial: &str) -> &PushDelivery {
        self.per_meter.get(serial).unwrap_or(&self.default)
    }
}

/// What a scenario run did, one entry per meter action in time order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioReport {
    /// Every action's outcome.
    pub outcomes: Vec<PushOutcome>,
}

impl ScenarioReport {
    /// Serials whose last gasp was lost, in action order.
    pub fn lost_last_gasps(&self) -> Vec<&str> {
        self.outcomes.iter().filter(|o| o.result == PushResult::Lost).map(|o| o.serial.as_str()).collect()
    }

    /// How many pushes were delivered.
    pub fn delivered(&self) -> usize {
        self.outcomes.iter().filter(|o| matches!(o.result, PushResult::Delivered { .. })).count()
    }

    /// The outcomes that failed, with the reason.
    pub fn failures(&self) -> Vec<&PushOutcome> {
        self.outcomes.iter().filter(|o| matches!(o.result, PushResult::Failed(_))).collect()
    }
}

/// Plays `scenario` on `meters` placed by `topology`, in the time of `clock` (each action at
/// `clock.start()` + its offset, which is the `now` the meter sees), delivering each
/// meter's alarm pushes with its delivery from `deliveries` (keep `with_date_time`: the
/// head-end dates events by it). Returns once every push has been delivered or has failed.
///
/// # Errors
/// The errors of [`Scenario::actions`]; [`ScenarioError::UnknownMeter`] for a meter of the
/// topology that is not in `meters`.
pub async fn run_scenario(
    scenario: &Scenario,
    meters: &[FleetMeter],
    topology: &GridTopology,
    clock: &ScenarioClock,
    deliveries: &ScenarioDelivery,
) -> Result<ScenarioReport, ScenarioError> {
    let actions = scenario.actions(topology)?;
    let by_serial: HashMap<&str, &Arc<Mutex<SimulatedMeter>>> =
        meters.iter().map(|m| (m.serial.as_str(), &m.meter)).collect();
    for a in &actions {
        if !by_serial.contains_key(a.serial.as_str()) {
            return Err(ScenarioError::UnknownMeter(a.serial.clone()));
        }
    }
    let mut outcomes: Vec<Option<PushOutcome>> = vec![None; actions.len()];
    let mut sending = JoinSet::new();
    for (index, a) in actions.iter().enumerate() {
        clock.sleep_until(a.at).await;
        let now = clock.at(a.at);
        let Some(meter) = by_serial.get(a.serial.as_str()) else { continue };
        let delivery = deliveries.for_meter(&a.serial);
        let prepared = {
            let mut m = meter.lock().unwrap_or_else(|p| p.into_inner());
            let applies = match a.action {
                MeterAction::PowerDown => m.lose_supply(now),
                MeterAction::PowerUp => m.restore_supply(now),
                MeterAction::Raise(bits) => m.is_energised() && m.alarms_mut().raise(bits) != 0,
            };
            if applies {
                prepare_alarm_push(&mut m, now, delivery).map(|p| p.map(|p| (p, m.alarms().descriptor())))
            } else {
                Ok(None)
            }
        };
        let outcome = |alarms: u32, result: PushResult| PushOutcome {
            serial: a.serial.clone(),
            at: now,
            action: a.action,
            alarms,
            result,
        };
        match prepared {
            Ok(None) => record(&mut outcomes, index, outcome(0, PushResult::NotSent)),
            Err(e) => record(&mut outcomes, index, outcome(0, PushResult::Failed(e.to_string()))),
            Ok(Some((_, alarms)))
                if a.action == MeterAction::PowerDown && scenario.last_gasp_lost(&a.serial, index) =>
            {
                tracing::debug!(meter = %a.serial, "last gasp lost");
                record(&mut outcomes, index, outcome(alarms, PushResult::Lost));
            }
            Ok(Some((push, alarms))) => {
                let pending = outcome(alarms, PushResult::NotSent);
                let timeout = delivery.connect_timeout;
                sending.spawn(async move {
                    let result = match deliver(&push, timeout).await {
                        Ok(report) => PushResult::Delivered { attempts: report.attempts },
                        Err(e) => PushResult::Failed(e.to_string()),
                    };
                    (index, PushOutcome { result, ..pending })
                });
            }
        }
    }
    while let Some(joined) = sending.join_next().await {
        match joined {
            Ok((index, outcome)) => record(&mut outcomes, index, outcome),
            Err(e) => tracing::warn!(error = %e, "push delivery task failed"),
        }
    }
    Ok(ScenarioReport { outcomes: outcomes.into_iter().flatten().collect() })
}

/// Puts the outcome of action `index` in its slot.
fn record(outcomes: &mut [Option<PushOutcome>], index: usize, outcome: PushOutcome) {
    if let Some(slot) = outcomes.get_mut(index) {
        *slot = Some(outcome);
    }
}
