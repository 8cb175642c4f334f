//! The readings `gridedge bench ingest` feeds the MDMS: what a Head-End System collects from
//! a fleet of the simulated household meters once a day.
//!
//! Each meter is one [`LoadModel`] of the `meter` crate (seed = index, serial
//! [`fleet_serial`], UK time zone, default fleet parameters: 1,500–6,000 kWh a year, 10 %
//! with PV). Its registers start at what it accumulated since its commissioning, one to two
//! years before the first day, so stored values have realistic magnitudes (10^6–10^7 Wh).
//! The meter's day `d` is one [`MeterReading`], as a daily collection delivers it:
//!
//! - intervals: the 96 captures of the load profile (15-minute interval ends in
//!   `(midnight, next midnight]` UTC), each with the bulk registers +A (1.0.1.8.0, Wh), −A
//!   (1.0.2.8.0, Wh), +R (1.0.3.8.0, varh) and −R (1.0.4.8.0, varh), the first `channels`
//!   of them, and the profile status byte (bit 3, daylight saving, while UK summer time is
//!   in force), exactly as the simulated meter's profile serves them;
//! - registers: the daily billing read of the same registers at the day's last interval
//!   end (so the sum check has its pair);
//! - collected at 01:00 UTC the next morning plus a per-meter offset within the hour, with
//!   a per-meter clock drift within ±2 s.
//!
//! Readings come day by day, all meters of a day before the next day (how a daily
//! collection schedule delivers them), and the same configuration always yields the same
//! readings, so a replay delivers exact duplicates.

use jiff::{SignedDuration, Timestamp};
use meter::fleet::fleet_serial;
use meter::{EnergyRegisters, LoadModel, LoadModelConfig, MeterTimeZone};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType, RegisterRead};

/// Seconds in a UTC day.
const DAY_S: i64 = 86_400;
/// The load profile's capture period, seconds.
const INTERVAL_S: i64 = 900;
/// Intervals per day (UTC days have no DST change).
const INTERVALS_PER_DAY: usize = 96;

/// The channels in the order a reading carries them: +A, −A, +R, −R.
pub const CHANNELS: [ReadingType; 4] = [
    ReadingType::ActiveEnergyImport,
    ReadingType::ActiveEnergyExport,
    ReadingType::ReactiveEnergyImport,
    ReadingType::ReactiveEnergyExport,
];

/// The shape of the generated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetShape {
    /// Meters in the fleet.
    pub meters: usize,
    /// Days of load profile per meter.
    pub days: usize,
    /// Channels per meter, 1..=4 (the first of [`CHANNELS`]).
    pub channels: usize,
    /// UTC midnight starting the first day, Unix seconds.
    pub first_day_s: i64,
}

impl FleetShape {
    /// MeterReadings (collection sessions) in the data set: meters × days.
    pub fn meter_readings(&self) -> u64 {
        self.meters as u64 * self.days as u64
    }

    /// Interval values in the data set: meters × days × 96 × channels.
    pub fn interval_values(&self) -> u64 {
        self.meter_readings() * INTERVALS_PER_DAY as u64 * self.channels as u64
    }

    /// Register reads in the data set: one per channel per MeterReading.
    pub fn register_values(&self) -> u64 {
        self.meter_readings() * self.channels as u64
    }
}

/// One meter of the fleet: its load model and its registers at the start of the first day.
#[derive(Debug, Clone)]
struct FleetMeter {
    id: MeterId,
    model: LoadModel,
    registers_at_start: EnergyRegisters,
}

/// The fleet: every meter's model and starting registers (computed once, then every pass
/// over the days starts from them).
#[derive(Debug, Clone)]
pub struct Fleet {
    shape: FleetShape,
    meters: Vec<FleetMeter>,
}

impl Fleet {
    /// Builds the models of `shape.meters` meters and their registers at the first day.
    ///
    /// Errors: when a commissioning date falls outside the representable range.
    pub fn new(shape: FleetShape) -> anyhow::Result<Fleet> {
        let config = LoadModelConfig::default();
        let meters = (0..shape.meters)
            .map(|index| {
                let model = LoadModel::new(index as u64, &config, MeterTimeZone::UK);
                // Commissioned 365..=729 days before the first day, at midnight UTC.
                let commissioned_days = 365 + (index as i64 * 7919) % 365;
                let epoch_ms = (shape.first_day_s - commissioned_days * DAY_S) * 1000;
                let metrology = meter::metrology::Metrology::new(model.clone(), epoch_ms);
                let registers_at_start = metrology.registers(shape.first_day_s * 1000);
                FleetMeter { id: MeterId(fleet_serial(index)), model, registers_at_start }
            })
            .collect();
        Ok(Fleet { shape, meters })
    }

    /// A pass over every day of every meter, day by day.
    pub fn readings(&self) -> FleetReadings<'_> {
        FleetReadings {
            fleet: self,
            registers: self.meters.iter().map(|m| m.registers_at_start).collect(),
            day: 0,
            meter: 0,
        }
    }
}

/// The readings of one pass, in delivery order (see the module documentation).
pub struct FleetReadings<'a> {
    fleet: &'a Fleet,
    /// Each meter's registers at the start of `day`.
    registers: Vec<EnergyRegisters>,
    day: usize,
    meter: usize,
}

impl Iterator for FleetReadings<'_> {
    type Item = anyhow::Result<MeterReading>;

    fn next(&mut self) -> Option<Self::Item> {
        let shape = self.fleet.shape;
        if self.meter >= shape.meters {
            self.meter = 0;
            self.day += 1;
        }
        if self.day >= shape.days || shape.meters == 0 {
            return None;
        }
        let index = self.meter;
        self.meter += 1;
        let meter = self.fleet.meters.get(index)?;
        let registers = self.registers.get_mut(index)?;
        Some(day_reading(meter, index, &shape, self.day, registers))
    }
}

/// The values of `registers` on the first `channels` of [`CHANNELS`].
fn channel_values(registers: &EnergyRegisters, channels: usize) -> impl Iterator<Item = (ReadingType, f64)> {
    let values = [
        registers.active_import_wh,
        registers.active_export_wh,
        registers.reactive_import_varh,
        registers.reactive_export_varh,
    ];
    CHANNELS.into_iter().zip(values).take(channels).map(|(t, v)| (t, v as f64))
}

/// Day `day` of meter `index`, advancing `registers` to the end of the day.
fn day_reading(
    meter: &FleetMeter,
    index: usize,
    shape: &FleetShape,
    day: usize,
    registers: &mut EnergyRegisters,
) -> anyhow::Result<MeterReading> {
    let day_start = shape.first_day_s + day as i64 * DAY_S;
    // UK standard time is UTC, so the model day is the UTC day.
    let intervals = meter.model.day_intervals(day_start.div_euclid(DAY_S));
    let mut values = Vec::with_capacity(INTERVALS_PER_DAY * shape.channels);
    let mut end = Timestamp::from_second(day_start)?;
    for energy in &intervals {
        *registers += EnergyRegisters::from_interval(energy);
        end = end.checked_add(SignedDuration::from_secs(INTERVAL_S))?;
        let quality = if MeterTimeZone::UK.summer_time_at(end) {
            QualityFlags(QualityFlags::DAYLIGHT_SAVING)
        } else {
            QualityFlags(0)
        };
        values.extend(channel_values(registers, shape.channels).map(|(reading_type, value)| IntervalReading {
            reading_type,
            interval_end: end,
            value,
            quality,
        }));
    }
    let reads = channel_values(registers, shape.channels)
        .map(|(reading_type, value)| RegisterRead { reading_type, read_at: end, value })
        .collect();
    let offset_s = 3_600 + (index as i64 * 7) % 3_600;
    Ok(MeterReading {
        meter: meter.id.clone(),
        collected_at: Timestamp::from_second(day_start + DAY_S + offset_s)?,
        clock_drift_ms: Some((index as i64 * 37) % 4_001 - 2_000),
        interval_length_s: INTERVAL_S as u32,
        registers: reads,
        intervals: values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> FleetShape {
        // 2025-03-29: the UK changes to summer time at 01:00 UTC on 2025-03-30.
        FleetShape { meters: 3, days: 2, channels: 4, first_day_s: 1_743_206_400 }
    }

    #[test]
    fn readings_come_day_by_day_with_96_captures_per_channel() {
        let fleet = Fleet::new(shape()).unwrap();
        let readings: Vec<MeterReading> = fleet.readings().collect::<Result<_, _>>().unwrap();
        assert_eq!(readings.len(), 6);
        let ids: Vec<&str> = readings.iter().map(|r| r.meter.0.as_str()).collect();
        assert_eq!(ids, ["GE00000001", "GE00000002", "GE00000003", "GE00000001", "GE00000002", "GE00000003"]);
        for r in &readings {
            assert_eq!(r.intervals.len(), 96 * 4);
            assert_eq!(r.registers.len(), 4);
        }
        let first = &readings[0];
        assert_eq!(first.intervals[0].interval_end, "2025-03-29T00:15:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(first.intervals[383].interval_end, "2025-03-30T00:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(first.collected_at, "2025-03-30T01:00:00Z".parse::<Timestamp>().unwrap());
        // The billing read equals the profile's last capture of the channel.
        assert_eq!(first.registers[0].value, first.intervals[380].value);
        assert_eq!(first.registers[0].read_at, first.intervals[380].interval_end);
    }

    #[test]
    fn bulk_registers_never_decrease_and_continue_across_days() {
        let fleet = Fleet::new(shape()).unwrap();
        let readings: Vec<MeterReading> = fleet.readings().collect::<Result<_, _>>().unwrap();
        for meter in 0..3 {
            let mut last = [f64::MIN; 4];
            for r in readings.iter().skip(meter).step_by(3) {
                for (k, iv) in r.intervals.iter().enumerate() {
                    assert!(iv.value >= last[k % 4], "{} {:?}", r.meter, iv);
                    last[k % 4] = iv.value;
                }
            }
        }
        // A household imports something every day, and has been doing so for a year.
        assert!(readings[0].intervals[0].value > 1.0e6);
        assert!(readings[3].registers[0].value > readings[0].registers[0].value);
    }

    #[test]
    fn the_daylight_saving_flag_starts_at_the_uk_change() {
        let fleet = Fleet::new(shape()).unwrap();
        let second_day = fleet.readings().nth(3).unwrap().unwrap();
        let dst_at = |end: &str| {
            let end: Timestamp = end.parse().unwrap();
            second_day.intervals.iter().find(|i| i.interval_end == end).unwrap().quality
        };
        // The capture at 01:00 UTC is taken at 02:00 BST, as the simulated meter flags it.
        assert_eq!(dst_at("2025-03-30T00:45:00Z"), QualityFlags(0));
        assert_eq!(dst_at("2025-03-30T01:00:00Z"), QualityFlags(QualityFlags::DAYLIGHT_SAVING));
    }

    #[test]
    fn a_second_pass_yields_the_same_readings() {
        let fleet = Fleet::new(shape()).unwrap();
        let a: Vec<MeterReading> = fleet.readings().collect::<Result<_, _>>().unwrap();
        let b: Vec<MeterReading> = fleet.readings().collect::<Result<_, _>>().unwrap();
        assert_eq!(a, b);
        assert_eq!(shape().interval_values(), 6 * 384);
    }
}
