//! Metrology of the simulated meter: the household load model, the cumulative energy
//! registers and the 15-minute load-profile captures, all derived on demand from the meter's
//! seed, its commissioning epoch and its relay history.
//!
//! # Registers and profile agree exactly
//! Let `G(t)` be the *gross* registers at meter time `t`: the sum of the load model's interval
//! energies from the commissioning epoch up to `t`, the interval containing `t` pro-rated as
//! `floor(e × elapsed / 900 s)`. The relay withholds `G(min(end, t)) − G(start)` for each open
//! period; the registers are `R(t) = G(t) − withheld(t)`. A load-profile capture at interval
//! end `T` holds `R(T)`, so consecutive captures differ by exactly the interval's metered
//! energy, and the profile's deltas over any span sum to the register advance.
//!
//! # Tariffs
//! Which of T1/T2 an interval's import counts into is the load model's split until an
//! Activity calendar is activated; from then on the [`tariff_schedule::TariffSchedule`]
//! decides, to the millisecond (see [`Metrology::set_tariff_program`]). `G(t)` applies the
//! schedule, so registers, captures and withheld energy all agree with it.

pub(crate) mod calendar;
pub mod load_model;
pub mod load_shape;
pub(crate) mod noise;
pub mod registers;
pub(crate) mod supply;
pub mod tariff_schedule;

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use load_model::{INTERVAL_MS, INTERVALS_PER_DAY, IntervalEnergy, LoadModel, Tariff};
use registers::EnergyRegisters;
use supply::SupplyHistory;
use tariff_schedule::{TariffSchedule, TouProgram};

/// One load-profile capture: the registers at the end of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalCapture {
    /// Capture time = interval end, meter time (UTC ms since the Unix epoch).
    pub end_ms: i64,
    /// The registers at `end_ms`.
    pub registers: EnergyRegisters,
    /// Whether the relay was open at any moment of the interval.
    pub supply_interrupted: bool,
    /// Whether the grid supply had failed (power down) at any moment of the interval.
    pub power_down: bool,
}

/// Instantaneous values at one instant (the average over the current interval).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstantaneousValues {
    /// L1 voltage, 0.1 V (1.0.32.7.0, scaler −1).
    pub voltage_dv: u16,
    /// L1 current, 0.01 A (1.0.31.7.0, scaler −2).
    pub current_ca: u16,
    /// Active power import +P, W (1.0.1.7.0): 4 × the interval's import Wh (its mean power).
    pub active_power_import_w: u32,
}

/// A model day and its 96 intervals (the memo of [`Metrology`]).
type DayIntervals = (i64, [IntervalEnergy; INTERVALS_PER_DAY]);

/// The meter's energy accounting: load model + commissioning epoch + relay history.
#[derive(Debug, Clone)]
pub struct Metrology {
    model: LoadModel,
    epoch_ms: i64,
    /// `C(epoch)`: energy of the epoch's model day before the epoch.
    epoch_offset: EnergyRegisters,
    supply: SupplyHistory,
    /// Memo of the furthest day-prefix computed so far: (model day `d`, sum of the day totals
    /// from the epoch's day up to but excluding `d`). Only moves forward, so reads at an
    /// advancing "now" cost O(1) days; exact, so it never changes a result.
    prefix_memo: Cell<Option<(i64, EnergyRegisters)>>,
    /// Memo of the last model day whose intervals were computed: the registers and
    /// instantaneous values of one request, and the captures of one profile read, fall in
    /// one or two days. The load model is pure, so it is never stale.
    day_memo: RefCell<Option<Box<DayIntervals>>>,
    /// Tariff programmes activated by the Activity calendar (empty: the load model's split).
    tariffs: TariffSchedule,
}

impl Metrology {
    /// Metrology of `model` commissioned at `epoch_ms` (UTC ms; rounded down to a 15-minute
    /// boundary), relay closed.
    pub fn new(model: LoadModel, epoch_ms: i64) -> Metrology {
        let epoch_ms = epoch_ms.div_euclid(INTERVAL_MS) * INTERVAL_MS;
        let mut m = Metrology {
            model,
            epoch_ms,
            epoch_offset: EnergyRegisters::default(),
            supply: SupplyHistory::default(),
            prefix_memo: Cell::new(None),
            day_memo: RefCell::new(None),
            tariffs: TariffSchedule::default(),
        };
        let (day, within) = m.model.model_day_of(epoch_ms);
        m.epoch_offset = m.within_day(day, within);
        m
    }

    /// The load model.
    pub fn model(&self) -> &LoadModel {
        &self.model
    }

    /// Commissioning epoch, UTC ms (a 15-minute boundary).
    pub fn epoch_ms(&self) -> i64 {
        self.epoch_ms
    }

    /// The load model's intervals of model day `day`, from the memo when it holds that day.
    fn day_intervals(&self, day: i64) -> [IntervalEnergy; INTERVALS_PER_DAY] {
        if let Ok(memo) = self.day_memo.try_borrow() {
            if let Some((d, intervals)) = memo.as_deref() {
                if *d == day {
                    return *intervals;
                }
            }
        }
        let intervals = self.model.day_intervals(day);
        if let Ok(mut memo) = self.day_memo.try_borrow_mut() {
            match memo.as_deref_mut() {
                Some(slot) => *slot = (day, intervals),
                None => *memo = Some(Box::new((day, intervals))),
            }
        }
        intervals
    }

    /// Registers accumulated in model day `day` from its start to `within_ms` into it.
    fn within_day(&self, day: i64, within_ms: i64) -> EnergyRegisters {
        if within_ms <= 0 {
            return EnergyRegisters::default();
        }
        let intervals = self.day_intervals(day);
        let start = self.model.model_day_start_ms(day);
        let k = ((within_ms / INTERVAL_MS) as usize).min(INTERVALS_PER_DAY);
        let mut sum = EnergyRegisters::default();
        for (i, e) in intervals[..k].iter().enumerate() {
            sum += self.interval_part(start + i as i64 * INTERVAL_MS, e, 0, INTERVAL_MS);
        }
        if let Some(e) = intervals.get(k) {
            sum += self.interval_part(start + k as i64 * INTERVAL_MS, e, 0, within_ms - k as i64 * INTERVAL_MS);
        }
        sum
    }

    /// Registers accumulated in `[a + from_ms, a + to_ms)` of the interval starting at `a_ms`
    /// whose energy is `e` (offsets clamped to 0..=900 s), T1/T2 as the tariff schedule says.
    fn interval_part(&self, a_ms: i64, e: &IntervalEnergy, from_ms: i64, to_ms: i64) -> EnergyRegisters {
        let mut r = EnergyRegisters::prorated(e, to_ms) - EnergyRegisters::prorated(e, from_ms);
        if self.tariffs.affects(a_ms, a_ms + INTERVAL_MS) {
            let t1 = self.tariffs.t1_import(a_ms, e, from_ms, to_ms, self.model.zone()).min(r.active_import_wh);
            r.active_import_t1_wh = t1;
            r.active_import_t2_wh = r.active_import_wh - t1;
        }
        r
    }

    /// Registers of a whole model day (96 intervals), T1/T2 as the tariff schedule says.
    fn day_registers(&self, day: i64) -> EnergyRegisters {
        let start = self.model.model_day_start_ms(day);
        if !self.tariffs.affects(start, start + INTERVALS_PER_DAY as i64 * INTERVAL_MS) {
            return EnergyRegisters::from_day(&self.model.day_totals(day));
        }
        let mut sum = EnergyRegisters::default();
        for (i, e) in self.day_intervals(day).iter().enumerate() {
            sum += self.interval_part(start + i as i64 * INTERVAL_MS, e, 0, INTERVAL_MS);
        }
        sum
    }

    /// From meter time `from_ms` on, the import counts into T1/T2 by `program` (the
    /// Activity calendar's activation, IEC 62056-6-2 §4.5.5); programmes scheduled at or
    /// after `from_ms` are replaced. Register values before `from_ms` do not change.
    pub fn set_tariff_program(&mut self, from_ms: i64, program: Arc<TouProgram>) {
        self.tariffs.set_from(from_ms, program);
        self.prefix_memo.set(None);
    }

    /// Cancels the tariff programmes scheduled at or after meter time `from_ms`.
    pub fn cancel_tariff_programs(&mut self, from_ms: i64) {
        self.tariffs.cancel_from(from_ms);
        self.prefix_memo.set(None);
    }

    /// The tariff programmes activated so far.
    pub fn tariff_schedule(&self) -> &TariffSchedule {
        &self.tariffs
    }

    /// The tariff register the import counts into at meter time `t_ms`.
    pub fn tariff_at(&self, t_ms: i64) -> Tariff {
        let (e, _, _) = self.interval_at(t_ms);
        self.tariffs.tariff_at(t_ms, self.model.zone(), e.tariff)
    }

    /// Gross registers `G(t)`: the load model's energy from commissioning to `t_ms`, ignoring
    /// the relay; zero before commissioning. O(days since commissioning) + one day's intervals.
    pub fn gross_registers(&self, t_ms: i64) -> EnergyRegisters {
        let t = t_ms.max(self.epoch_ms);
        let (day, within) = self.model.model_day_of(t);
        self.day_prefix(day) + self.within_day(day, within) - self.epoch_offset
    }

    /// Sum of the day totals from the epoch's model day up to but excluding `day`.
    fn day_prefix(&self, day: i64) -> EnergyRegisters {
        let (epoch_day, _) = self.model.model_day_of(self.epoch_ms);
        // A day shortly before the memo (yesterday's load profile after today's registers):
        // step back from the memo, which is exact, the sums being of integers.
        if let Some((memo_day, memo)) = self.prefix_memo.get() {
            if day < memo_day && day >= epoch_day && memo_day - day < day - epoch_day {
                return (day..memo_day).fold(memo, |sum, d| sum - self.day_registers(d));
            }
        }
        let (mut d, mut sum) = match self.prefix_memo.get() {
            Some((memo_day, memo)) if memo_day <= day => (memo_day, memo),
            _ => (epoch_day, EnergyRegisters::default()),
        };
        let advances = self.prefix_memo.get().is_none_or(|(memo_day, _)| memo_day < day);
        while d < day {
            sum += self.day_registers(d);
            d += 1;
        }
        if advances {
            self.prefix_memo.set(Some((day, sum)));
        }
        sum
    }

    /// The registers `R(t)` at meter time `t_ms`: gross minus what the open relay withheld.
    pub fn registers(&self, t_ms: i64) -> EnergyRegisters {
        let gross = self.gross_registers(t_ms);
        gross - self.supply.withheld(t_ms, gross)
    }

    /// The model's energy of the interval containing `t_ms`, its global interval number and
    /// its model day.
    fn interval_at(&self, t_ms: i64) -> (IntervalEnergy, i64, i64) {
        let (day, within) = self.model.model_day_of(t_ms);
        let k = ((within / INTERVAL_MS) as usize).min(INTERVALS_PER_DAY - 1);
        (self.day_intervals(day)[k], t_ms.div_euclid(INTERVAL_MS), day)
    }

    /// Instantaneous voltage, current and power at meter time `t_ms`: the means of the
    /// interval containing it. With the relay open (or before commissioning) current and power
    /// are 0; the voltage is measured on the supply side and stays. During a power outage
    /// ([`Metrology::interrupt_supply`]) all three are 0.
    pub fn instantaneous(&self, t_ms: i64) -> InstantaneousValues {
        let (e, n, day) = self.interval_at(t_ms);
        if self.supply.outage_at(t_ms) {
            // No grid voltage during a power outage.
            return InstantaneousValues { voltage_dv: 0, current_ca: 0, active_power_import_w: 0 };
        }
        let voltage_dv = self.model.voltage_dv(n, &e);
        if !self.supply.connected_at(t_ms) || t_ms < self.epoch_ms {
            return InstantaneousValues { voltage_dv, current_ca: 0, active_power_import_w: 0 };
        }
        let import_w = u64::from(e.active_import_wh) * 4;
        let apparent_w = (import_w + u64::from(e.active_export_wh) * 4) as f64 / self.model.day_power_factor(day);
        let current_ca = (apparent_w / (f64::from(voltage_dv) / 10.0) * 100.0).round();
        InstantaneousValues {
            voltage_dv,
            current_ca: current_ca.clamp(0.0, f64::from(u16::MAX)) as u16,
            active_power_import_w: u32::try_from(import_w).unwrap_or(u32::MAX),
        }
    }

    /// Whether the relay was closed (supply available) at `t_ms`.
    pub fn supply_connected_at(&self, t_ms: i64) -> bool {
        self.supply.connected_at(t_ms)
    }

    /// Opens the relay at meter time `t_ms` (clamped to not precede the previous relay
    /// operation). No-op when already open.
    pub fn open_relay(&mut self, t_ms: i64) {
        let t = self.supply.last_event_ms().map_or(t_ms, |last| t_ms.max(last));
        let gross = self.gross_registers(t);
        self.supply.open(t, gross);
    }

    /// Closes the relay at meter time `t_ms` (clamped like [`Metrology::open_relay`]).
    pub fn close_relay(&mut self, t_ms: i64) {
        let t = self.supply.last_event_ms().map_or(t_ms, |last| t_ms.max(last));
        let gross = self.gross_registers(t);
        self.supply.close(t, gross);
    }

    /// The grid supply fails at meter time `t_ms` (clamped like [`Metrology::open_relay`]): a
    /// power outage; the registers stop until [`Metrology::resume_supply`]. No-op during an
    /// outage.
    pub fn interrupt_supply(&mut self, t_ms: i64) {
        let t = self.supply.last_event_ms().map_or(t_ms, |last| t_ms.max(last));
        let gross = self.gross_registers(t);
        self.supply.interrupt(supply::Cause::GridOutage, t, gross);
    }

    /// The grid supply comes back at meter time `t_ms` (clamped like
    /// [`Metrology::open_relay`]). No-op outside an outage.
    pub fn resume_supply(&mut self, t_ms: i64) {
        let t = self.supply.last_event_ms().map_or(t_ms, |last| t_ms.max(last));
        let gross = self.gross_registers(t);
        self.supply.resume(supply::Cause::GridOutage, t, gross);
    }

    /// Whether a power outage is going on (between [`Metrology::interrupt_supply`] and
    /// [`Metrology::resume_supply`]).
    pub fn supply_failed(&self) -> bool {
        self.supply.is_outage()
    }

    /// Index of the newest capture at or before meter time `t_ms`: capture `j` is taken at
    /// `epoch + j × 15 min`, `j ≥ 1`; 0 = none yet.
    pub fn last_capture_index(&self, t_ms: i64) -> u64 {
        if t_ms < self.epoch_ms { 0 } else { ((t_ms - self.epoch_ms) / INTERVAL_MS) as u64 }
    }

    /// Capture time of capture `j`, UTC ms.
    pub fn capture_time_ms(&self, j: u64) -> i64 {
        self.epoch_ms.saturating_add((j as i64).saturating_mul(INTERVAL_MS))
    }

    /// Captures `first..=last` (indices as in [`Metrology::last_capture_index`], `first ≥ 1`),
    /// oldest first, computed by streaming: one register evaluation plus one step per
    /// interval. Empty when `first > last`.
    pub fn captures(&self, first: u64, last: u64) -> Vec<IntervalCapture> {
        let first = first.max(1);
        if first > last {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(usize::try_from(last - first + 1).unwrap_or(0).min(1 << 20));
        let mut regs = self.registers(self.capture_time_ms(first - 1));
        let mut cached: Option<(i64, [IntervalEnergy; INTERVALS_PER_DAY])> = None;
        for j in first..=last {
            let a = self.capture_time_ms(j - 1);
            let (day, within) = self.model.model_day_of(a);
            let intervals = match &cached {
                Some((d, iv)) if *d == day => iv,
                _ => &cached.insert((day, self.day_intervals(day))).1,
            };
            let k = ((within / INTERVAL_MS) as usize).min(INTERVALS_PER_DAY - 1);
            let e = intervals[k];
            let (withheld, interrupted) = self.supply.withheld_in_interval(a, |s, en| self.interval_part(a, &e, s, en));
            regs += self.interval_part(a, &e, 0, INTERVAL_MS) - withheld;
            out.push(IntervalCapture {
                end_ms: a + INTERVAL_MS,
                registers: regs,
                supply_interrupted: interrupted,
                power_down: self.supply.power_down_in_interval(a),
            });
        }
        out
    }
}
