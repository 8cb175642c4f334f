//! Collecting a fleet: every meter of a [`Registry`] collected with bounded
//! concurrency, a timeout per exchange, and retries with exponential backoff and jitter
//! for transient failures. Results stream to the MDMS through a channel as each meter
//! completes (backpressure: a slow store slows collection, nothing piles up).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use model::{MeterId, MeterReading};
use tokio::sync::{Semaphore, mpsc};

use crate::collector::{CollectError, CollectionPlan, collect_meter};
use crate::registry::Registry;
use crate::session::SessionTimeouts;

/// Campaign settings.
#[derive(Debug, Clone)]
pub struct CampaignConfig {
    /// Sessions open at once.
    pub concurrency: usize,
    /// Attempts per meter (1 = no retry).
    pub attempts: u32,
    /// First retry delay; doubles each attempt, plus up to 50 % jitter.
    pub backoff_base: Duration,
    /// Largest retry delay.
    pub backoff_max: Duration,
    /// Session timeouts.
    pub timeouts: SessionTimeouts,
    /// How far back to read a meter with no stored interval.
    pub history: SignedDuration,
    /// Read registers.
    pub registers: bool,
    /// Read the load profile.
    pub load_profile: bool,
}

impl Default for CampaignConfig {
    /// 64 sessions, 3 attempts, 500 ms doubling to 10 s, default timeouts, 1 day of
    /// history, registers and load profile.
    fn default() -> Self {
        CampaignConfig {
            concurrency: 64,
            attempts: 3,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            timeouts: SessionTimeouts::default(),
            history: SignedDuration::from_hours(24),
            registers: true,
            load_profile: true,
        }
    }
}

/// A meter that could not be collected.
#[derive(Debug)]
pub struct MeterFailure {
    /// The meter.
    pub meter: MeterId,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub error: CollectError,
}

/// The outcome of a campaign.
#[derive(Debug, Default)]
pub struct CampaignReport {
    /// Meters in the registry.
    pub meters_total: usize,
    /// Meters collected.
    pub meters_ok: usize,
    /// Meters that failed after all attempts.
    pub failures: Vec<MeterFailure>,
    /// Interval values collected (all channels).
    pub interval_values: usize,
    /// Profile entries (intervals) collected, counting each capture time once.
    pub intervals: usize,
    /// Register values collected.
    pub registers: usize,
    /// Retries made (attempts beyond the first).
    pub retries: u64,
    /// Wall time of the campaign.
    pub elapsed: Duration,
    /// Largest absolute clock drift seen, ms.
    pub max_abs_drift_ms: i64,
}

/// A cheap deterministic jitter source (splitmix64 of the meter index and attempt).
fn jitter_fraction(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The delay before attempt `attempt` (2 = first retry).
pub fn backoff_delay(config: &CampaignConfig, attempt: u32, seed: u64) -> Duration {
    let exp = config.backoff_base.saturating_mul(1u32 << (attempt.saturating_sub(2)).min(16));
    let capped = exp.min(config.backoff_max);
    capped.mul_f64(1.0 + 0.5 * jitter_fraction(seed ^ attempt as u64))
}

/// Collects every meter of `registry`. `since` holds the last stored interval end per
/// meter (from the MDMS). Each collected [`MeterReading`] is sent to `sink`;
/// `on_done(meter, ok)` is called as each meter finishes (for progress display).
pub async fn run_campaign(
    registry: &Registry,
    since: &HashMap<MeterId, Timestamp>,
    config: &CampaignConfig,
    sink: mpsc::Sender<MeterReading>,
    on_done: impl Fn(&MeterId, bool) + Send + Sync + 'static,
) -> CampaignReport {
    let started = Instant::now();
    let semaphore = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let on_done = Arc::new(on_done);
    let mut tasks = tokio::task::JoinSet::new();
    let mut report = CampaignReport { meters_total: registry.len(), ..CampaignReport::default() };
    // A meter's task is spawned only once a session slot is free for it (its first
    // attempt runs on that permit), and finished tasks are collected as they end: a
    // campaign of 10⁵ meters holds about `concurrency` tasks, not 10⁵.
    let mut waiting = registry.meters().iter().enumerate();
    let mut next = waiting.next();
    while next.is_some() || !tasks.is_empty() {
        tokio::select! {
            biased;
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => record(&mut report, joined),
            permit = semaphore.clone().acquire_owned(), if next.is_some() => {
                let (Ok(permit), Some((index, endpoint))) = (permit, next.take()) else { break };
                next = waiting.next();
                let endpoint = endpoint.clone();
                let plan = CollectionPlan {
                    since: since.get(&endpoint.serial).copied(),
                    history: config.history,
                    registers: config.registers,
                    load_profile: config.load_profile,
                };
                let config = config.clone();
                let semaphore = semaphore.clone();
                let sink = sink.clone();
                let on_done = on_done.clone();
                tasks.spawn(async move {
                    let mut attempt = 1;
                    let mut first_permit = Some(permit);
                    let outcome = loop {
                        let result = {
                            let _permit = match first_permit.take() {
                                Some(p) => p,
                                None => semaphore.clone().acquire_owned().await.expect("semaphore is never closed"),
                            };
                            collect_meter(&endpoint, &plan, config.timeouts).await
                        };
                        match result {
                            Ok(reading) => break Ok(reading),
                            Err(e) if e.is_transient() && attempt < config.attempts => {
                                tracing::debug!(meter = %endpoint.serial, attempt, error = %e, "retrying");
                                attempt += 1;
                                tokio::time::sleep(backoff_delay(&config, attempt, index as u64)).await;
                            }
                            Err(e) => break Err(e),
                        }
                    };
                    let ok = outcome.is_ok();
                    let result = match outcome {
                        Ok(reading) => {
                            let summary = (
                                reading.intervals.len(),
                                distinct_ends(&reading),
                                reading.registers.len(),
                                reading.clock_drift_ms,
                            );
                            // The MDMS acknowledges by receiving; a closed sink means it stopped.
                            match sink.send(reading).await {
                                Ok(()) => Ok(summary),
                                Err(_) => Err(MeterFailure {
                                    meter: endpoint.serial.clone(),
                                    attempts: attempt,
                                    error: CollectError::Value {
                                        what: "hand-over to MDMS".into(),
                                        detail: "sink closed".into(),
                                    },
                                }),
                            }
                        }
                        Err(error) => {
                            tracing::warn!(meter = %endpoint.serial, attempts = attempt, %error, "collection failed");
                            Err(MeterFailure { meter: endpoint.serial.clone(), attempts: attempt, error })
                        }
                    };
                    on_done(&endpoint.serial, ok && result.is_ok());
                    (attempt, result)
                });
            }
        }
    }
    drop(sink);
    report.elapsed = started.elapsed();
    report
}

/// The outcome of one meter's task, as the task returns it.
type MeterOutcome = (u32, Result<(usize, usize, usize, Option<i64>), MeterFailure>);

/// Adds one finished meter task to the report.
fn record(report: &mut CampaignReport, joined: Result<MeterOutcome, tokio::task::JoinError>) {
    let Ok((attempts, result)) = joined else { return };
    report.retries += u64::from(attempts.saturating_sub(1));
    match result {
        Ok((values, ends, registers, drift)) => {
            report.meters_ok += 1;
            report.interval_values += values;
            report.intervals += ends;
            report.registers += registers;
            report.max_abs_drift_ms = report.max_abs_drift_ms.max(drift.unwrap_or(0).abs());
        }
        Err(f) => report.failures.push(f),
    }
}

fn distinct_ends(r: &MeterReading) -> usize {
    let mut ends: Vec<i64> = r.intervals.iter().map(|i| i.interval_end.as_second()).collect();
    ends.sort_unstable();
    ends.dedup();
    ends.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_within_half() {
        let c = CampaignConfig {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
            ..CampaignConfig::default()
        };
        for seed in 0..50 {
            let d2 = backoff_delay(&c, 2, seed);
            let d3 = backoff_delay(&c, 3, seed);
            let d9 = backoff_delay(&c, 9, seed);
            assert!(d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(150), "{d2:?}");
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(300), "{d3:?}");
            assert!(d9 >= Duration::from_secs(1) && d9 <= Duration::from_millis(1500), "{d9:?}");
        }
        assert_ne!(backoff_delay(&c, 2, 1), backoff_delay(&c, 2, 2));
    }
}
