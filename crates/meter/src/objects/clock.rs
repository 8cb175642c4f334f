//! The meter clock and its Clock object (interface class 8 version 0, IEC 62056-6-2 §4.5.1).
//!
//! The meter's time is the caller's true UTC `now` plus an offset: initially the meter's
//! drift (a few seconds, drawn from its seed), later whatever time synchronisation sets.
//! A clock with a rate error ([`MeterClock::with_rate_ppm`], the crystal's tolerance) also
//! runs fast or slow from each time setting on: `offset(now) = offset + (now − last
//! setting) × ppm / 10^6`, so a synchronised meter drifts away again (a meter never set
//! keeps its factory offset).
//! All metrology runs on meter time, so setting the clock moves the meter along its own
//! timeline (forward: the registers jump ahead; backward: they step back by the energy of
//! the repeated span) — a simplification of a real meter, documented rather than hidden.
//! Every adjustment is recorded, and the profile status of the interval it falls in gets
//! the "clock adjusted" bit.
//!
//! Attributes: 2 `time` octet-string(12) date-time (local wall clock, deviation, status);
//! 3 `time_zone` long, minutes, UTC − local standard time (the `dlms::datetime` deviation
//! convention: −60 for UTC+01:00); 4 `status` unsigned (bit 7 daylight saving active);
//! 5/6 `daylight_savings_begin/end` octet-string(12) recurring date-times; 7
//! `daylight_savings_deviation` integer minutes; 8 `daylight_savings_enabled` boolean; 9
//! `clock_base` enum (1 = internal crystal).

use dlms::Data;
use dlms::xdlms::{ActionResult, DataAccessResult};
use jiff::Timestamp;

use crate::time_zone::{CLOCK_STATUS_DAYLIGHT_SAVING, MeterTimeZone};

/// Largest shift accepted by method 6 `shift_time`, seconds (the standard's range).
pub const MAX_SHIFT_SECONDS: i16 = 900;
/// Earliest meter time the clock accepts: 2000-01-01T00:00:00Z, UTC ms.
pub const MIN_METER_MS: i64 = 946_684_800_000;
/// Latest meter time the clock accepts (exclusive): 2100-01-01T00:00:00Z, UTC ms. Bounding
/// the clock keeps register evaluation, which walks the days since commissioning, fast.
pub const MAX_METER_MS: i64 = 4_102_444_800_000;
/// Largest clock rate error accepted by [`MeterClock::with_rate_ppm`], parts per million
/// (a crystal meter is within ±50 ppm; 1000 ppm = 86 s a day).
pub const MAX_RATE_PPM: i32 = 1000;

/// The meter clock: zone, offset from true UTC and the history of adjustments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterClock {
    zone: MeterTimeZone,
    offset_ms: i64,
    /// Rate error, ppm (positive: fast).
    rate_ppm: i32,
    /// True time of the last setting, UTC ms: the rate error accumulates from there.
    set_at_ms: Option<i64>,
    /// Meter times (just after the jump) of every adjustment, in order of occurrence.
    adjustments: Vec<i64>,
}

impl MeterClock {
    /// A clock in `zone` running `drift_ms` ahead of true UTC (negative = behind).
    pub fn new(zone: MeterTimeZone, drift_ms: i64) -> MeterClock {
        MeterClock { zone, offset_ms: drift_ms, rate_ppm: 0, set_at_ms: None, adjustments: Vec::new() }
    }

    /// The same clock running `ppm` parts per million fast (negative: slow) after each time
    /// setting; clamped to ±[`MAX_RATE_PPM`].
    pub fn with_rate_ppm(mut self, ppm: i32) -> MeterClock {
        self.rate_ppm = ppm.clamp(-MAX_RATE_PPM, MAX_RATE_PPM);
        self
    }

    /// The rate error, ppm (positive: the clock runs fast).
    pub fn rate_ppm(&self) -> i32 {
        self.rate_ppm
    }

    /// The zone.
    pub fn zone(&self) -> MeterTimeZone {
        self.zone
    }

    /// Meter time minus true time at the last setting (or the factory offset), ms; see
    /// [`MeterClock::offset_at`] for the offset including the rate error.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    /// Meter time minus true time at true time `now`, ms (offset + accumulated rate error).
    pub fn offset_at(&self, now: Timestamp) -> i64 {
        let now_ms = now.as_millisecond();
        let gained = match self.set_at_ms {
            Some(set) if self.rate_ppm != 0 => {
                (i128::from(now_ms - set) * i128::from(self.rate_ppm)).div_euclid(1_000_000) as i64
            }
            _ => 0,
        };
        self.offset_ms.saturating_add(gained)
    }

    /// Meter time at true time `now`, UTC ms since the Unix epoch.
    pub fn meter_ms(&self, now: Timestamp) -> i64 {
        now.as_millisecond().saturating_add(self.offset_at(now))
    }

    /// Sets the meter time to `meter_ms` at true time `now` and records the adjustment.
    pub fn set_meter_ms(&mut self, now: Timestamp, meter_ms: i64) {
        self.offset_ms = meter_ms.saturating_sub(now.as_millisecond());
        self.set_at_ms = Some(now.as_millisecond());
        self.adjustments.push(meter_ms);
    }

    /// Whether an adjustment landed in the meter-time span `(after_ms, until_ms]`.
    pub fn adjusted_within(&self, after_ms: i64, until_ms: i64) -> bool {
        self.adjustments.iter().any(|&t| after_ms < t && t <= until_ms)
    }

    /// Clock status byte at meter time `t_ms` (bit 7 = summer time).
    pub fn status_at(&self, t_ms: i64) -> u8 {
        if self.zone.summer_time_at_ms(t_ms) { CLOCK_STATUS_DAYLIGHT_SAVING } else { 0 }
    }

    /// Attribute 2..=9 at meter time `t_ms` (`None` for other indices).
    pub fn attribute(&self, id: i8, t_ms: i64) -> Option<Data> {
        let zone = &self.zone;
        Some(match id {
            2 => Data::OctetString(zone.cosem_from_ms(t_ms).to_octets()),
            3 => Data::Long(-zone.standard_offset_minutes),
            4 => Data::Unsigned(self.status_at(t_ms)),
            5 => Data::OctetString(zone.summer_time_begin().to_octets()),
            6 => Data::OctetString(zone.summer_time_end().to_octets()),
            7 => Data::Integer(MeterTimeZone::SUMMER_TIME_DEVIATION_MINUTES),
            8 => Data::Boolean(zone.eu_summer_time),
            9 => Data::Enum(1),
            _ => return None,
        })
    }

    /// SET of attribute 2 `time`: `value` is a date-time (octet-string(12) or the date-time
    /// type) naming one instant in 2000..2100. Errors: type-unmatched for other types,
    /// other-reason for a date-time that is not a concrete instant or out of that range.
    pub fn set_time(&mut self, now: Timestamp, value: &Data) -> DataAccessResult {
        let Some(dt) = value.as_date_time() else { return DataAccessResult::TypeUnmatched };
        match self.zone.ms_from_cosem(&dt) {
            Some(ms) if (MIN_METER_MS..MAX_METER_MS).contains(&ms) => {
                self.set_meter_ms(now, ms);
                DataAccessResult::Success
            }
            _ => DataAccessResult::OtherReason,
        }
    }

    /// Methods 1 `adjust_to_quarter` (to the nearest quarter hour), 3 `adjust_to_minute`
    /// (nearest minute), both with data integer (0), and 6 `shift_time` (data long,
    /// −900..=900 s). Other methods: object-unavailable (the dispatcher has already refused
    /// those without access).
    pub fn action(
        &mut self,
        now: Timestamp,
        method_id: i8,
        param: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        let t = self.meter_ms(now);
        let round_to = |unit: i64| (t + unit / 2).div_euclid(unit) * unit;
        let new_ms = match method_id {
            1 | 3 => {
                if !matches!(param, None | Some(Data::Integer(_))) {
                    return Err(ActionResult::TypeUnmatched);
                }
                round_to(if method_id == 1 { 900_000 } else { 60_000 })
            }
            6 => {
                let Some(Data::Long(s)) = param else { return Err(ActionResult::TypeUnmatched) };
                if !(-MAX_SHIFT_SECONDS..=MAX_SHIFT_SECONDS).contains(s) {
                    return Err(ActionResult::OtherReason);
                }
                t + i64::from(*s) * 1000
            }
            _ => return Err(ActionResult::ObjectUnavailable),
        };
        if !(MIN_METER_MS..MAX_METER_MS).contains(&new_ms) {
            return Err(ActionResult::OtherReason);
        }
        self.set_meter_ms(now, new_ms);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dlms::datetime::CosemDateTime;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn drift_and_time_attribute() {
        let c = MeterClock::new(MeterTimeZone::CET, 3_000);
        let now = ts("2024-01-10T11:59:58Z");
        let t = c.meter_ms(now);
        let Some(Data::OctetString(b)) = c.attribute(2, t) else { panic!("octet-string") };
        let dt = CosemDateTime::from_octets(&b).unwrap();
        assert_eq!((dt.time.hour, dt.time.minute, dt.time.second, dt.deviation), (13, 0, 1, -60));
        assert_eq!(c.attribute(3, t), Some(Data::Long(-60)));
        assert_eq!(c.attribute(4, t), Some(Data::Unsigned(0)));
        assert_eq!(c.attribute(7, t), Some(Data::Integer(60)));
        assert_eq!(c.attribute(10, t), None);
    }

    #[test]
    fn set_and_adjust() {
        let mut c = MeterClock::new(MeterTimeZone::UK, -4_000);
        let now = ts("2024-07-01T10:07:40Z");
        let target = MeterTimeZone::UK.to_cosem(ts("2024-07-01T10:08:00Z"));
        assert_eq!(c.set_time(now, &Data::OctetString(target.to_octets())), DataAccessResult::Success);
        assert_eq!(c.offset_ms(), 20_000);
        assert!(c.adjusted_within(c.meter_ms(now) - 1, c.meter_ms(now)));
        assert_eq!(c.set_time(now, &Data::Unsigned(1)), DataAccessResult::TypeUnmatched);
        let far = MeterTimeZone::UK.to_cosem(ts("2100-01-01T00:00:00Z"));
        assert_eq!(c.set_time(now, &Data::OctetString(far.to_octets())), DataAccessResult::OtherReason);
        assert_eq!(c.offset_ms(), 20_000, "unchanged");
        assert_eq!(c.action(now, 1, Some(&Data::Integer(0))), Ok(None));
        assert_eq!(c.meter_ms(now), ts("2024-07-01T10:15:00Z").as_millisecond());
        assert_eq!(c.action(now, 6, Some(&Data::Long(-30))), Ok(None));
        assert_eq!(c.meter_ms(now), ts("2024-07-01T10:14:30Z").as_millisecond());
        assert_eq!(c.action(now, 6, Some(&Data::Long(901))), Err(ActionResult::OtherReason));
        assert_eq!(c.action(now, 6, None), Err(ActionResult::TypeUnmatched));
        assert_eq!(c.action(now, 3, None), Ok(None));
        assert_eq!(c.meter_ms(now), ts("2024-07-01T10:15:00Z").as_millisecond());
    }

    #[test]
    fn a_fast_clock_drifts_from_its_last_setting() {
        let mut c = MeterClock::new(MeterTimeZone::UTC, 2_000).with_rate_ppm(100);
        let t0 = ts("2024-07-01T00:00:00Z");
        // Never set: the factory offset only.
        assert_eq!(c.offset_at(t0 + jiff::SignedDuration::from_hours(240)), 2_000);
        c.set_meter_ms(t0, t0.as_millisecond());
        assert_eq!(c.offset_at(t0), 0);
        // 100 ppm over one day = 8.64 s fast.
        let day = t0 + jiff::SignedDuration::from_hours(24);
        assert_eq!(c.meter_ms(day), day.as_millisecond() + 8_640);
        assert_eq!(MeterClock::new(MeterTimeZone::UTC, 0).with_rate_ppm(5_000).rate_ppm(), MAX_RATE_PPM);
    }
}
