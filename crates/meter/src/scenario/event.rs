//! What happens on the grid in a scenario, and when (simulated time from the scenario
//! start): outages of a transformer, a feeder or one meter; tamper on one meter; voltage
//! sag or swell on a feeder.

use jiff::SignedDuration;

use crate::alarm::{VOLTAGE_SAG, VOLTAGE_SWELL, tamper_cover_opened, tamper_magnetic_field};
use crate::scenario::ScenarioError;
use crate::scenario::topology::GridTopology;

/// One grid event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GridEvent {
    /// Every meter on the transformer loses supply (each sends a last gasp, some lost),
    /// and gets it back after `duration` (each sends power up).
    TransformerOutage {
        /// The transformer.
        transformer: String,
        /// How long supply stays off.
        duration: SignedDuration,
    },
    /// Every meter on the feeder loses supply, for `duration`.
    FeederOutage {
        /// The feeder.
        feeder: String,
        /// How long supply stays off.
        duration: SignedDuration,
    },
    /// One meter loses supply (its service fuse), for `duration`.
    MeterOutage {
        /// The meter's serial.
        serial: String,
        /// How long supply stays off.
        duration: SignedDuration,
    },
    /// Someone opens the meter's cover (fraud attempt + cover opened alarms).
    CoverOpened {
        /// The meter's serial.
        serial: String,
    },
    /// A strong magnetic field at the meter (fraud attempt + magnetic field alarms).
    MagneticField {
        /// The meter's serial.
        serial: String,
    },
    /// A voltage sag (dip) on the feeder: every meter on it with supply raises voltage sag.
    FeederSag {
        /// The feeder.
        feeder: String,
    },
    /// A voltage swell on the feeder: every meter on it with supply raises voltage swell.
    FeederSwell {
        /// The feeder.
        feeder: String,
    },
}

/// What happens to one meter at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeterAction {
    /// Its supply fails: power down and the last gasp.
    PowerDown,
    /// Its supply comes back: power up.
    PowerUp,
    /// These alarms are raised (tamper, sag, swell), then pushed.
    Raise(u32),
}

/// One [`MeterAction`] at its simulated offset from the scenario start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedAction {
    /// When, from the scenario start.
    pub at: SignedDuration,
    /// The meter's serial.
    pub serial: String,
    /// What happens.
    pub action: MeterAction,
}

/// A named sequence of grid events, with how likely a last gasp is lost in the field.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name, for reports.
    pub name: String,
    /// Events at their offsets from the scenario start (any order).
    pub events: Vec<(SignedDuration, GridEvent)>,
    /// Probability (0..=1) that a meter's last gasp never reaches the head-end (the meter
    /// runs out of reserve energy, the radio link or the DCU is down with the grid).
    pub last_gasp_loss: f64,
    /// Seed of the loss draws: each meter's draw is a pure function of the seed, its serial
    /// and the event, so a scenario replays identically.
    pub seed: u64,
}

impl Scenario {
    /// An empty scenario: no events, no last gasp lost.
    pub fn new(name: impl Into<String>) -> Self {
        Scenario { name: name.into(), events: Vec::new(), last_gasp_loss: 0.0, seed: 0 }
    }

    /// Adds `event` at `at` from the start.
    pub fn with(mut self, at: SignedDuration, event: GridEvent) -> Self {
        self.events.push((at, event));
        self
    }

    /// Adds a transformer outage at `at` lasting `duration`.
    pub fn transformer_outage(self, at: SignedDuration, transformer: &str, duration: SignedDuration) -> Self {
        self.with(at, GridEvent::TransformerOutage { transformer: transformer.to_string(), duration })
    }

    /// Adds a feeder outage at `at` lasting `duration`.
    pub fn feeder_outage(self, at: SignedDuration, feeder: &str, duration: SignedDuration) -> Self {
        self.with(at, GridEvent::FeederOutage { feeder: feeder.to_string(), duration })
    }

    /// Adds a meter cover opening at `at`.
    pub fn cover_opened(self, at: SignedDuration, serial: &str) -> Self {
        self.with(at, GridEvent::CoverOpened { serial: serial.to_string() })
    }

    /// Adds a magnetic field at meter `serial` at `at`.
    pub fn magnetic_field(self, at: SignedDuration, serial: &str) -> Self {
        self.with(at, GridEvent::MagneticField { serial: serial.to_string() })
    }

    /// Adds a voltage sag on `feeder` at `at`.
    pub fn feeder_sag(self, at: SignedDuration, feeder: &str) -> Self {
        self.with(at, GridEvent::FeederSag { feeder: feeder.to_string() })
    }

    /// Adds a voltage swell on `feeder` at `at`.
    pub fn feeder_swell(self, at: SignedDuration, feeder: &str) -> Self {
        self.with(at, GridEvent::FeederSwell { feeder: feeder.to_string() })
    }

    /// Sets the last-gasp loss probability and the seed of its draws.
    pub fn with_last_gasp_loss(mut self, probability: f64, seed: u64) -> Self {
        self.last_gasp_loss = probability;
        self.seed = seed;
        self
    }

    /// The per-meter actions of the scenario on `topology`, in time order (simultaneous
    /// actions in event order, then serial order).
    ///
    /// # Errors
    /// [`ScenarioError::InvalidProbability`]; [`ScenarioError::NegativeOffset`] for an
    /// event before the start or a negative duration; [`ScenarioError::EmptyScope`] for a
    /// transformer or feeder without meters; [`ScenarioError::UnknownMeter`] for a serial
    /// not in the topology.
    pub fn actions(&self, topology: &GridTopology) -> Result<Vec<TimedAction>, ScenarioError> {
        if !(0.0..=1.0).contains(&self.last_gasp_loss) {
            return Err(ScenarioError::InvalidProbability(self.last_gasp_loss));
        }
        let mut out: Vec<(SignedDuration, usize, TimedAction)> = Vec::new();
        let mut push = |at: SignedDuration, serials: Vec<&str>, action: MeterAction| {
            for serial in serials {
                let n = out.len();
                out.push((at, n, TimedAction { at, serial: serial.to_string(), action }));
            }
        };
        for (at, event) in &self.events {
            if at.is_negative() {
                return Err(ScenarioError::NegativeOffset);
            }
            let scope = |meters: Vec<&'_ str>, name: &str| -> Result<Vec<String>, ScenarioError> {
                if meters.is_empty() {
                    return Err(ScenarioError::EmptyScope(name.to_string()));
                }
                Ok(meters.into_iter().map(str::to_string).collect())
            };
            let one = |serial: &str| -> Result<Vec<String>, ScenarioError> {
                topology.placement(serial).ok_or_else(|| ScenarioError::UnknownMeter(serial.to_string()))?;
                Ok(vec![serial.to_string()])
            };
            let (meters, outage, raise) = match event {
                GridEvent::TransformerOutage { transformer, duration } => {
                    (scope(topology.meters_of_transformer(transformer), transformer)?, Some(*duration), 0)
                }
                GridEvent::FeederOutage { feeder, duration } => {
                    (scope(topology.meters_of_feeder(feeder), feeder)?, Some(*duration), 0)
                }
                GridEvent::MeterOutage { serial, duration } => (one(serial)?, Some(*duration), 0),
                GridEvent::CoverOpened { serial } => (one(serial)?, None, tamper_cover_opened()),
                GridEvent::MagneticField { serial } => (one(serial)?, None, tamper_magnetic_field()),
                GridEvent::FeederSag { feeder } => {
                    (scope(topology.meters_of_feeder(feeder), feeder)?, None, VOLTAGE_SAG)
                }
                GridEvent::FeederSwell { feeder } => {
                    (scope(topology.meters_of_feeder(feeder), feeder)?, None, VOLTAGE_SWELL)
                }
            };
            let serials: Vec<&str> = meters.iter().map(String::as_str).collect();
            match outage {
                Some(duration) => {
                    if duration.is_negative() {
                        return Err(ScenarioError::NegativeOffset);
                    }
                    push(*at, serials.clone(), MeterAction::PowerDown);
                    push(at.saturating_add(duration), serials, MeterAction::PowerUp);
                }
                None => push(*at, serials, MeterAction::Raise(raise)),
            }
        }
        out.sort_by_key(|a| (a.0, a.1));
        Ok(out.into_iter().map(|(_, _, a)| a).collect())
    }

    /// Whether the last gasp of `serial` at the scenario's `index`-th action is lost: a
    /// uniform draw from (seed, serial, index) below [`Scenario::last_gasp_loss`].
    pub fn last_gasp_lost(&self, serial: &str, index: usize) -> bool {
        self.last_gasp_loss > 0.0 && unit_draw(self.seed, serial, index as u64) < self.last_gasp_loss
    }
}

/// A uniform number in [0, 1) from the seed, the serial (FNV-1a) and `n` (splitmix64).
fn unit_draw(seed: u64, serial: &str, n: u64) -> f64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in serial.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    let mut z = seed ^ h ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> GridTopology {
        let serials: Vec<String> = (1..=8).map(|i| format!("M{i}")).collect();
        GridTopology::evenly(&serials, 2, 1)
    }

    #[test]
    fn outages_expand_to_power_down_then_up_per_meter_in_time_order() {
        let s = Scenario::new("x")
            .feeder_sag(SignedDuration::from_mins(30), "FDR02")
            .transformer_outage(SignedDuration::from_mins(1), "TX01", SignedDuration::from_mins(20))
            .cover_opened(SignedDuration::ZERO, "M5");
        let a = s.actions(&grid()).unwrap();
        let summary: Vec<(i64, &str, MeterAction)> =
            a.iter().map(|t| (t.at.as_secs() / 60, t.serial.as_str(), t.action)).collect();
        assert_eq!(summary[0], (0, "M5", MeterAction::Raise(0x6000)));
        assert_eq!(
            &summary[1..5],
            &[
                (1, "M1", MeterAction::PowerDown),
                (1, "M2", MeterAction::PowerDown),
                (1, "M3", MeterAction::PowerDown),
                (1, "M4", MeterAction::PowerDown)
            ]
        );
        assert!(summary[5..9].iter().all(|(m, _, act)| *m == 21 && *act == MeterAction::PowerUp));
        assert_eq!(summary[9..].iter().map(|x| x.1).collect::<Vec<_>>(), vec!["M5", "M6", "M7", "M8"]);
        assert!(summary[9..].iter().all(|x| x.2 == MeterAction::Raise(0x40)));
    }

    #[test]
    fn invalid_scenarios_are_refused() {
        let g = grid();
        let bad = Scenario::new("p").with_last_gasp_loss(1.5, 1);
        assert!(matches!(bad.actions(&g), Err(ScenarioError::InvalidProbability(_))));
        let bad = Scenario::new("t").transformer_outage(SignedDuration::ZERO, "TX09", SignedDuration::from_mins(1));
        assert!(matches!(bad.actions(&g), Err(ScenarioError::EmptyScope(_))));
        let bad = Scenario::new("m").cover_opened(SignedDuration::ZERO, "nope");
        assert!(matches!(bad.actions(&g), Err(ScenarioError::UnknownMeter(_))));
        let bad = Scenario::new("n").cover_opened(SignedDuration::from_secs(-1), "M1");
        assert!(matches!(bad.actions(&g), Err(ScenarioError::NegativeOffset)));
    }

    #[test]
    fn loss_draws_are_seeded_and_near_the_probability() {
        let s = Scenario::new("loss").with_last_gasp_loss(0.3, 7);
        let lost = (0..10_000).filter(|i| s.last_gasp_lost(&format!("GE{i:08}"), 3)).count();
        assert!((2_700..=3_300).contains(&lost), "{lost} of 10000 lost");
        assert_eq!(s.last_gasp_lost("GE00000001", 3), s.clone().last_gasp_lost("GE00000001", 3));
        assert!(!Scenario::new("none").last_gasp_lost("GE00000001", 3));
        let all = Scenario::new("all").with_last_gasp_loss(1.0, 1);
        assert!(all.last_gasp_lost("GE00000001", 0));
    }
}
