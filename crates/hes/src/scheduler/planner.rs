//! Turning the registry into jobs: the daily billing read of every scheduled meter at
//! its local midnight (IANA time zone from the registry, so 23- and 25-hour days are
//! right), spread over a jitter window so a fleet does not call in at once, and
//! optionally periodic instantaneous and load-profile reads. Each job has a cycle key
//! (the local date, or the period's start), so planning twice creates nothing twice; a
//! new daily job supersedes an older one still queued (the new one catches the profile
//! up from the last stored interval anyway).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::error::SchedulerError;
use super::job::{JobKind, JobSpec, Priority};
use super::job_store::JobStore;
use super::retry_policy::spread;
use crate::registry_store::MeterRecord;

/// What to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanConfig {
    /// Window after each meter's midnight (or period start) over which jobs are spread.
    pub jitter: Duration,
    /// Plan an instantaneous-values read every this long (`None`: never).
    pub instantaneous_every: Option<Duration>,
    /// Plan a load-profile catch-up every this long besides the daily read (`None`:
    /// never).
    pub load_profile_every: Option<Duration>,
}

impl Default for PlanConfig {
    /// A 2-hour jitter window, daily billing reads only.
    fn default() -> Self {
        PlanConfig { jitter: Duration::from_secs(7200), instantaneous_every: None, load_profile_every: None }
    }
}

/// What planning did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanReport {
    /// Meters considered (scheduled status only).
    pub meters: usize,
    /// Jobs created.
    pub created: usize,
    /// Jobs that existed already for their cycle.
    pub existing: usize,
    /// Older queued jobs superseded.
    pub superseded: usize,
    /// Meters skipped, with the reason (e.g. an unknown time zone).
    pub skipped: Vec<(String, String)>,
}

/// The billing instant of `now` for a meter in `zone`: the start (local midnight, as a
/// UTC instant) of the meter's current local day, and that local date as the cycle key.
///
/// # Errors
/// The zone's conversion error text (at the edges of the representable range).
pub fn billing_instant(now: Timestamp, zone: &jiff::tz::TimeZone) -> Result<(Timestamp, String), String> {
    let local = now.to_zoned(zone.clone());
    let start = local.start_of_day().map_err(|e| e.to_string())?;
    Ok((start.timestamp(), local.date().to_string()))
}

fn period_start(now: Timestamp, every: Duration) -> Option<Timestamp> {
    let p = i64::try_from(every.as_secs()).ok().filter(|p| *p > 0)?;
    Timestamp::from_second(now.as_second().div_euclid(p) * p).ok()
}

fn plus(t: Timestamp, d: Duration) -> Timestamp {
    SignedDuration::try_from(d).ok().and_then(|d| t.checked_add(d).ok()).unwrap_or(t)
}

/// Plans the jobs due for `meters` at `now` (see the module docs). Meters whose status is
/// not scheduled (suspended, decommissioned) are skipped silently.
///
/// # Errors
/// [`SchedulerError::Sqlite`].
pub fn plan_jobs(
    store: &mut JobStore,
    meters: &[MeterRecord],
    now: Timestamp,
    config: &PlanConfig,
) -> Result<PlanReport, SchedulerError> {
    let mut report = PlanReport::default();
    let mut daily = Vec::new();
    let mut periodic = Vec::new();
    for m in meters.iter().filter(|m| m.status.is_scheduled()) {
        report.meters += 1;
        let serial = m.serial.0.clone();
        let zone = match m.zone() {
            Ok(z) => z,
            Err(e) => {
                report.skipped.push((serial, e.to_string()));
                continue;
            }
        };
        let (midnight, date) = match billing_instant(now, &zone) {
            Ok(v) => v,
            Err(e) => {
                report.skipped.push((serial, e));
                continue;
            }
        };
        daily.push(JobSpec {
            serial: serial.clone(),
            kind: JobKind::DailyBilling,
            priority: Priority::Scheduled,
            due_at: plus(midnight, spread(config.jitter, &format!("{serial}/{date}"))),
            cycle: Some(date),
            billing_instant: Some(midnight),
        });
        for (kind, every, tag) in [
            (JobKind::Instantaneous, config.instantaneous_every, 'i'),
            (JobKind::LoadProfile, config.load_profile_every, 'p'),
        ] {
            let Some(every) = every else { continue };
            let Some(start) = period_start(now, every) else { continue };
            let window = config.jitter.min(every);
            periodic.push(JobSpec {
                serial: serial.clone(),
                kind,
                priority: Priority::Scheduled,
                due_at: plus(start, spread(window, &format!("{serial}/{tag}{}", start.as_second()))),
                cycle: Some(format!("{tag}{}", start.as_second())),
                billing_instant: None,
            });
        }
    }
    for (specs, supersede) in [(daily, true), (periodic, true)] {
        let (outcomes, superseded) = store.enqueue_many(&specs, supersede, now)?;
        report.created += outcomes.iter().filter(|e| e.created).count();
        report.existing += outcomes.iter().filter(|e| !e.created).count();
        report.superseded += superseded;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_instant_is_local_midnight_across_dst() {
        let london = jiff::tz::TimeZone::get("Europe/London").unwrap();
        // 2026-07-15 10:00 UTC is 11:00 BST: midnight was 2026-07-14T23:00Z.
        let (m, date) = billing_instant("2026-07-15T10:00:00Z".parse().unwrap(), &london).unwrap();
        assert_eq!((m.to_string().as_str(), date.as_str()), ("2026-07-14T23:00:00Z", "2026-07-15"));
        // In winter (GMT) local midnight is 00:00Z.
        let (m, _) = billing_instant("2026-01-15T10:00:00Z".parse().unwrap(), &london).unwrap();
        assert_eq!(m.to_string(), "2026-01-15T00:00:00Z");
        // Just after UTC midnight, but still the previous local day in New York.
        let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let (m, date) = billing_instant("2026-01-15T02:00:00Z".parse().unwrap(), &ny).unwrap();
        assert_eq!((m.to_string().as_str(), date.as_str()), ("2026-01-14T05:00:00Z", "2026-01-14"));
    }

    #[test]
    fn planning_is_idempotent_and_spreads_due_times() {
        let mut store = JobStore::open_in_memory().unwrap();
        let meters: Vec<MeterRecord> =
            (0..50).map(|i| MeterRecord::new(format!("GE{i:08}"), "127.0.0.1", 4059)).collect();
        let now: Timestamp = "2026-03-10T06:00:00Z".parse().unwrap();
        let cfg = PlanConfig { jitter: Duration::from_secs(3600), ..PlanConfig::default() };
        let r = plan_jobs(&mut store, &meters, now, &cfg).unwrap();
        assert_eq!((r.meters, r.created, r.existing), (50, 50, 0));
        let again = plan_jobs(&mut store, &meters, now, &cfg).unwrap();
        assert_eq!((again.created, again.existing), (0, 50));
        let jobs = store.list(&Default::default()).unwrap();
        let midnight: Timestamp = "2026-03-10T00:00:00Z".parse().unwrap();
        let hour = midnight + SignedDuration::from_hours(1);
        assert!(jobs.iter().all(|j| j.due_at >= midnight && j.due_at < hour && j.billing_instant == Some(midnight)));
        let distinct: std::collections::HashSet<_> = jobs.iter().map(|j| j.due_at).collect();
        assert!(distinct.len() > 40, "spread: {} distinct due times", distinct.len());
        // The next day's plan supersedes the still-queued jobs of this day.
        let next = plan_jobs(&mut store, &meters, now + SignedDuration::from_hours(24), &cfg).unwrap();
        assert_eq!((next.created, next.superseded), (50, 50));
    }
}
