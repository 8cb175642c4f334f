//! Supply interruptions by the disconnector relay: the periods during which the meter's
//! load-side output was open, so that the registers stop while the relay is open.
//!
//! Each period keeps the gross (relay-ignoring) registers at its start and end, so the real
//! registers at any instant are gross − what the open periods withheld, in O(periods).

use crate::metrology::load_model::IntervalEnergy;
use crate::metrology::registers::EnergyRegisters;

/// One period with the relay open: `[start_ms, end_ms)`, meter time (UTC ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpenPeriod {
    pub(crate) start_ms: i64,
    pub(crate) start_gross: EnergyRegisters,
    /// `None` while still open.
    pub(crate) end: Option<(i64, EnergyRegisters)>,
}

impl OpenPeriod {
    fn end_ms(&self) -> i64 {
        self.end.map_or(i64::MAX, |(e, _)| e)
    }
}

/// The relay's history of open periods, in time order, non-overlapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SupplyHistory {
    periods: Vec<OpenPeriod>,
}

impl SupplyHistory {
    /// The time of the latest relay operation, if any.
    pub(crate) fn last_event_ms(&self) -> Option<i64> {
        self.periods.last().map(|p| p.end.map_or(p.start_ms, |(e, _)| e))
    }

    /// Whether the relay is open now (the last period has not ended).
    pub(crate) fn is_open(&self) -> bool {
        self.periods.last().is_some_and(|p| p.end.is_none())
    }

    /// Whether supply was available at instant `t_ms`.
    pub(crate) fn connected_at(&self, t_ms: i64) -> bool {
        !self.periods.iter().any(|p| p.start_ms <= t_ms && t_ms < p.end_ms())
    }

    /// Opens the relay at `t_ms` (with the gross registers at that instant). No-op when open.
    pub(crate) fn open(&mut self, t_ms: i64, gross: EnergyRegisters) {
        if !self.is_open() {
            self.periods.push(OpenPeriod { start_ms: t_ms, start_gross: gross, end: None });
        }
    }

    /// Closes the relay at `t_ms`. No-op when closed.
    pub(crate) fn close(&mut self, t_ms: i64, gross: EnergyRegisters) {
        if let Some(p) = self.periods.last_mut().filter(|p| p.end.is_none()) {
            p.end = Some((t_ms.max(p.start_ms), gross));
        }
    }

    /// Energy the open periods withheld up to instant `t_ms`, given the gross registers
    /// `gross_t` at `t_ms`.
    pub(crate) fn withheld(&self, t_ms: i64, gross_t: EnergyRegisters) -> EnergyRegisters {
        let mut sum = EnergyRegisters::default();
        for p in self.periods.iter().take_while(|p| p.start_ms < t_ms) {
            let until = match p.end {
                Some((e, g)) if e <= t_ms => g,
                _ => gross_t,
            };
            sum += until - p.start_gross;
        }
        sum
    }

    /// Energy withheld within the interval `[a_ms, a_ms + 900 s)` whose energy is `e`, and
    /// whether supply was interrupted at any moment of it. Consistent with
    /// [`SupplyHistory::withheld`]: both pro-rate `e` linearly inside the interval.
    pub(crate) fn withheld_in_interval(&self, a_ms: i64, e: &IntervalEnergy) -> (EnergyRegisters, bool) {
        let b_ms = a_ms + crate::metrology::load_model::INTERVAL_MS;
        let mut sum = EnergyRegisters::default();
        let mut interrupted = false;
        for p in &self.periods {
            if p.start_ms < b_ms && p.end_ms() > a_ms {
                interrupted = true;
                let s = p.start_ms.clamp(a_ms, b_ms) - a_ms;
                let en = p.end_ms().clamp(a_ms, b_ms) - a_ms;
                sum += EnergyRegisters::prorated(e, en) - EnergyRegisters::prorated(e, s);
            }
        }
        (sum, interrupted)
    }
}
