//! Cumulative energy registers (the values of the Register objects 1.0.1.8.0, 1.0.1.8.1,
//! 1.0.1.8.2, 1.0.2.8.0, 1.0.3.8.0 and 1.0.4.8.0) and their pro-rating within an interval.

use std::ops::{Add, AddAssign, Sub, SubAssign};

use crate::metrology::load_model::{DayTotals, INTERVAL_MS, IntervalEnergy, Tariff};

/// The six cumulative energy registers of the meter, exact integers since commissioning.
/// Invariant: `active_import_t1_wh + active_import_t2_wh == active_import_wh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EnergyRegisters {
    /// Active energy import +A, total (1.0.1.8.0), Wh.
    pub active_import_wh: u64,
    /// Active energy import, tariff 1 (1.0.1.8.1), Wh.
    pub active_import_t1_wh: u64,
    /// Active energy import, tariff 2 (1.0.1.8.2), Wh.
    pub active_import_t2_wh: u64,
    /// Active energy export −A, total (1.0.2.8.0), Wh.
    pub active_export_wh: u64,
    /// Reactive energy import +R, Q1+Q2 (1.0.3.8.0), varh.
    pub reactive_import_varh: u64,
    /// Reactive energy export −R, Q3+Q4 (1.0.4.8.0), varh.
    pub reactive_export_varh: u64,
}

impl EnergyRegisters {
    /// The part of interval energy `e` accumulated `elapsed_ms` into the interval:
    /// `floor(e × elapsed / 900 000)` per quantity (elapsed clamped to 0..=900 000 ms), so
    /// the full interval gives exactly `e` and the registers never decrease within it.
    pub fn prorated(e: &IntervalEnergy, elapsed_ms: i64) -> EnergyRegisters {
        let elapsed = elapsed_ms.clamp(0, INTERVAL_MS) as u64;
        let part = |v: u32| u64::from(v) * elapsed / INTERVAL_MS as u64;
        let import = part(e.active_import_wh);
        EnergyRegisters {
            active_import_wh: import,
            active_import_t1_wh: if e.tariff == Tariff::T1 { import } else { 0 },
            active_import_t2_wh: if e.tariff == Tariff::T2 { import } else { 0 },
            active_export_wh: part(e.active_export_wh),
            reactive_import_varh: part(e.reactive_import_varh),
            reactive_export_varh: part(e.reactive_export_varh),
        }
    }

    /// A whole interval's energy as register increments.
    pub fn from_interval(e: &IntervalEnergy) -> EnergyRegisters {
        Self::prorated(e, INTERVAL_MS)
    }

    /// A whole model day's totals as register increments.
    pub fn from_day(t: &DayTotals) -> EnergyRegisters {
        EnergyRegisters {
            active_import_wh: t.active_import_wh,
            active_import_t1_wh: t.active_import_t1_wh,
            active_import_t2_wh: t.active_import_wh.saturating_sub(t.active_import_t1_wh),
            active_export_wh: t.active_export_wh,
            reactive_import_varh: t.reactive_import_varh,
            reactive_export_varh: t.reactive_export_varh,
        }
    }

    fn zip(self, o: EnergyRegisters, f: impl Fn(u64, u64) -> u64) -> EnergyRegisters {
        EnergyRegisters {
            active_import_wh: f(self.active_import_wh, o.active_import_wh),
            active_import_t1_wh: f(self.active_import_t1_wh, o.active_import_t1_wh),
            active_import_t2_wh: f(self.active_import_t2_wh, o.active_import_t2_wh),
            active_export_wh: f(self.active_export_wh, o.active_export_wh),
            reactive_import_varh: f(self.reactive_import_varh, o.reactive_import_varh),
            reactive_export_varh: f(self.reactive_export_varh, o.reactive_export_varh),
        }
    }
}

/// Saturating per-register addition.
impl Add for EnergyRegisters {
    type Output = EnergyRegisters;
    fn add(self, o: EnergyRegisters) -> EnergyRegisters {
        self.zip(o, u64::saturating_add)
    }
}

/// Saturating per-register subtraction (differences of cumulative registers).
impl Sub for EnergyRegisters {
    type Output = EnergyRegisters;
    fn sub(self, o: EnergyRegisters) -> EnergyRegisters {
        self.zip(o, u64::saturating_sub)
    }
}

impl AddAssign for EnergyRegisters {
    fn add_assign(&mut self, o: EnergyRegisters) {
        *self = *self + o;
    }
}

impl SubAssign for EnergyRegisters {
    fn sub_assign(&mut self, o: EnergyRegisters) {
        *self = *self - o;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prorating_floors_and_completes() {
        let e = IntervalEnergy {
            active_import_wh: 101,
            active_export_wh: 3,
            reactive_import_varh: 40,
            reactive_export_varh: 0,
            tariff: Tariff::T2,
        };
        let half = EnergyRegisters::prorated(&e, INTERVAL_MS / 2);
        assert_eq!((half.active_import_wh, half.active_import_t1_wh, half.active_import_t2_wh), (50, 0, 50));
        assert_eq!((half.active_export_wh, half.reactive_import_varh), (1, 20));
        assert_eq!(EnergyRegisters::prorated(&e, -5), EnergyRegisters::default());
        assert_eq!(EnergyRegisters::prorated(&e, INTERVAL_MS * 2), EnergyRegisters::from_interval(&e));
        assert_eq!(EnergyRegisters::from_interval(&e).active_import_wh, 101);
    }
}
