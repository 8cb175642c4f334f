//! Like-day averaging for long runs.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::runs::{Brackets, Run};
use crate::StoreError;
use crate::vee::CompiledClass;
use crate::vee::local_days::{LocalDay, day_of_interval_end, day_type};

/// Quality bits that exclude a day from being a like day: a power failure or disconnection.
const OUTAGE: u32 = model::QualityFlags::POWER_DOWN | model::QualityFlags::SUPPLY_DISCONNECTED;

/// Consumption by local time of day of the interval end (seconds after local midnight;
/// intervals repeated by a DST fall-back are averaged).
type Profile = HashMap<i64, f64>;

/// The shape of the run's k + 1 intervals from like days: for each interval, the average
/// consumption of the like days' intervals ending at the same local time. `None` when a
/// day of the run has no like day (the caller interpolates instead).
///
/// Errors: [`StoreError::Time`].
pub(super) fn shape(brackets: &Brackets<'_>, run: &Run, class: &CompiledClass) -> Result<Option<Vec<f64>>, StoreError> {
    let l = class.interval_length_s;
    let tz = &class.tz;
    let ends: Vec<i64> = (0..=run.count).map(|j| run.start + j * l).collect();
    let mut like: HashMap<Date, Vec<Profile>> = HashMap::new();
    let mut out = Vec::with_capacity(ends.len());
    for &end in &ends {
        let date = day_of_interval_end(end, tz)?;
        let profiles = match like.entry(date) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let found = like_days(brackets, date, class)?;
                if found.is_empty() {
                    return Ok(None);
                }
                e.insert(found)
            }
        };
        let slot = local_seconds(end, tz)?;
        let at_slot: Vec<f64> = profiles.iter().filter_map(|p| p.get(&slot).copied()).collect();
        let value = if at_slot.is_empty() {
            // A slot none of the like days has (their DST day lacks the hour): their mean.
            let all: Vec<f64> = profiles.iter().flat_map(|p| p.values().copied()).collect();
            mean(&all)
        } else {
            mean(&at_slot)
        };
        out.push(value.max(0.0));
    }
    Ok(Some(out))
}

/// The profiles of the nearest like days of `date` (closest first; before wins a tie).
fn like_days(brackets: &Brackets<'_>, date: Date, class: &CompiledClass) -> Result<Vec<Profile>, StoreError> {
    let cfg = &class.estimation;
    let kind = day_type(date, &cfg.holidays);
    let mut found = Vec::new();
    for distance in 1..=i64::from(cfg.like_day_search_days) {
        for sign in [-1, 1] {
            let Ok(candidate) = date.checked_add(jiff::Span::new().days(sign * distance)) else { continue };
            if day_type(candidate, &cfg.holidays) != kind {
                continue;
            }
            if let Some(profile) = actual_day_profile(brackets, candidate, class)? {
                found.push(profile);
                if found.len() >= cfg.like_days as usize {
                    return Ok(found);
                }
            }
        }
    }
    Ok(found)
}

/// The consumption profile of `date` when every interval of it (and the value at its
/// starting midnight) is an actual read without an outage flag; `None` otherwise.
fn actual_day_profile(
    brackets: &Brackets<'_>,
    date: Date,
    class: &CompiledClass,
) -> Result<Option<Profile>, StoreError> {
    let l = class.interval_length_s;
    let day = LocalDay::of(date, &class.tz)?;
    let usable = |t: i64| brackets.point(t).filter(|p| p.quality.is_actual() && !p.quality.intersects(OUTAGE));
    let Some(mut previous) = usable(day.start) else { return Ok(None) };
    let mut sums: HashMap<i64, (f64, u32)> = HashMap::new();
    let mut t = day.start + l;
    while t <= day.end {
        let Some(p) = usable(t) else { return Ok(None) };
        let entry = sums.entry(local_seconds(t, &class.tz)?).or_insert((0.0, 0));
        entry.0 += p.value - previous.value;
        entry.1 += 1;
        previous = p;
        t += l;
    }
    Ok(Some(sums.into_iter().map(|(k, (s, n))| (k, s / f64::from(n))).collect()))
}

/// Seconds after local midnight of the instant `t` (UTC seconds).
fn local_seconds(t: i64, tz: &TimeZone) -> Result<i64, StoreError> {
    let ts = Timestamp::from_second(t).map_err(|source| StoreError::Time { context: "local time of day", source })?;
    let time = ts.to_zoned(tz.clone()).time();
    Ok(i64::from(time.hour()) * 3600 + i64::from(time.minute()) * 60 + i64::from(time.second()))
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 }
}
