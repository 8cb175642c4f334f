//! Prometheus metrics: a small registry the API, the HES and the MDMS update, rendered in
//! the Prometheus text exposition format (version 0.0.4) at `GET /metrics`.
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `gridedge_http_requests_total` | counter | method, route, status | API requests answered |
//! | `gridedge_http_request_duration_seconds` | histogram | method, route | API latency, s |
//! | `gridedge_hes_sessions_total` | counter | outcome (`ok`, `failed`) | DLMS sessions (collections, commands) |
//! | `gridedge_hes_sessions_active` | gauge | | DLMS sessions open now |
//! | `gridedge_hes_session_duration_seconds` | histogram | | DLMS session length, s |
//! | `gridedge_hes_readings_total` | counter | | values read from meters (intervals × channels + registers) |
//! | `gridedge_hes_read_failures_total` | counter | | meter reads that failed after retries |
//! | `gridedge_commands_total` | counter | kind, outcome (`confirmed`, `failed`) | commands finished |
//! | `gridedge_mdms_ingested_values_total` | counter | | values the MDMS stored (ingest rate: `rate()` of it) |
//! | `gridedge_mdms_ingest_batches_total` | counter | | `MeterReading`s ingested |
//! | `gridedge_audit_write_failures_total` | counter | | audit entries that could not be written |
//!
//! Route labels are route templates (`/api/v1/meters/{meter}`), never concrete paths, so
//! the number of series stays bounded. The HES and the MDMS do not depend on this crate:
//! the code that runs them (the `gridedge` binary) calls [`Metrics::session_finished`],
//! [`Metrics::readings_collected`], [`Metrics::ingested`] and friends.

pub mod http;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histograms' buckets, seconds.
pub const LATENCY_BUCKETS_S: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A cumulative histogram over [`LATENCY_BUCKETS_S`].
#[derive(Debug, Clone, Default, PartialEq)]
struct Histogram {
    /// Observations at or below each bound (not cumulative; summed when rendered).
    counts: [u64; LATENCY_BUCKETS_S.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = LATENCY_BUCKETS_S.iter().position(|&b| seconds <= b)
            && let Some(c) = self.counts.get_mut(i)
        {
            *c += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, count) in LATENCY_BUCKETS_S.iter().zip(self.counts) {
            cumulative += count;
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The metrics registry. Share it as `Arc<Metrics>`; every method takes `&self`.
#[derive(Debug, Default)]
pub struct Metrics {
    http_requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    http_latency: Mutex<BTreeMap<(String, String), Histogram>>,
    sessions_ok: AtomicU64,
    sessions_failed: AtomicU64,
    sessions_active: AtomicI64,
    session_latency: Mutex<Histogram>,
    readings: AtomicU64,
    read_failures: AtomicU64,
    commands: Mutex<BTreeMap<(String, String), u64>>,
    ingested_values: AtomicU64,
    ingest_batches: AtomicU64,
    audit_failures: AtomicU64,
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Records one answered API request: `route` is the route template (or `unmatched`).
    pub fn observe_http(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        if let Ok(mut m) = self.http_requests.lock() {
            *m.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        }
        if let Ok(mut m) = self.http_latency.lock() {
            m.entry((method.to_string(), route.to_string())).or_default().observe(elapsed.as_secs_f64());
        }
    }

    /// A DLMS session was opened (increments `gridedge_hes_sessions_active`; pair it with
    /// [`Metrics::session_finished`]).
    pub fn session_started(&self) {
        self.sessions_active.fetch_add(1, Ordering::Relaxed);
    }

    /// A DLMS session opened with [`Metrics::session_started`] ended after `elapsed`,
    /// successfully or not.
    pub fn session_finished(&self, ok: bool, elapsed: Duration) {
        self.sessions_active.fetch_sub(1, Ordering::Relaxed);
        self.session_completed(ok, Some(elapsed));
    }

    /// Counts a DLMS session that ended, without [`Metrics::session_started`] having been
    /// called (e.g. from a campaign's completion callback); `elapsed`, when known, goes to
    /// the session latency histogram.
    pub fn session_completed(&self, ok: bool, elapsed: Option<Duration>) {
        let counter = if ok { &self.sessions_ok } else { &self.sessions_failed };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(elapsed) = elapsed
            && let Ok(mut h) = self.session_latency.lock()
        {
            h.observe(elapsed.as_secs_f64());
        }
    }

    /// `values` readings (interval values and register values) were read from meters.
    pub fn readings_collected(&self, values: u64) {
        self.readings.fetch_add(values, Ordering::Relaxed);
    }

    /// A meter read failed after its retries.
    pub fn read_failed(&self) {
        self.read_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A command of `kind` (e.g. `disconnect`) finished with `outcome` (`confirmed` or
    /// `failed`).
    pub fn command_finished(&self, kind: &str, outcome: &str) {
        if let Ok(mut m) = self.commands.lock() {
            *m.entry((kind.to_string(), outcome.to_string())).or_default() += 1;
        }
    }

    /// The MDMS stored one `MeterReading` with `values` new or revised values.
    pub fn ingested(&self, values: u64) {
        self.ingest_batches.fetch_add(1, Ordering::Relaxed);
        self.ingested_values.fetch_add(values, Ordering::Relaxed);
    }

    /// An audit entry could not be written.
    pub fn audit_write_failed(&self) {
        self.audit_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Sessions counted so far: (ok, failed).
    pub fn sessions(&self) -> (u64, u64) {
        (self.sessions_ok.load(Ordering::Relaxed), self.sessions_failed.load(Ordering::Relaxed))
    }

    /// The registry in the Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP gridedge_http_requests_total API requests answered.\n");
        out.push_str("# TYPE gridedge_http_requests_total counter\n");
        if let Ok(m) = self.http_requests.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "gridedge_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
        }
        out.push_str("# HELP gridedge_http_request_duration_seconds API request latency in seconds.\n");
        out.push_str("# TYPE gridedge_http_request_duration_seconds histogram\n");
        if let Ok(m) = self.http_latency.lock() {
            for ((method, route), h) in m.iter() {
                let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
                h.render(&mut out, "gridedge_http_request_duration_seconds", &labels);
            }
        }
        out.push_str("# HELP gridedge_hes_sessions_total DLMS sessions by outcome.\n");
        out.push_str("# TYPE gridedge_hes_sessions_total counter\n");
        let (ok, failed) = self.sessions();
        let _ = writeln!(out, "gridedge_hes_sessions_total{{outcome=\"ok\"}} {ok}");
        let _ = writeln!(out, "gridedge_hes_sessions_total{{outcome=\"failed\"}} {failed}");
        out.push_str("# HELP gridedge_hes_sessions_active DLMS sessions open now.\n");
        out.push_str("# TYPE gridedge_hes_sessions_active gauge\n");
        let _ = writeln!(out, "gridedge_hes_sessions_active {}", self.sessions_active.load(Ordering::Relaxed));
        out.push_str("# HELP gridedge_hes_session_duration_seconds DLMS session length in seconds.\n");
        out.push_str("# TYPE gridedge_hes_session_duration_seconds histogram\n");
        if let Ok(h) = self.session_latency.lock() {
            h.render(&mut out, "gridedge_hes_session_duration_seconds", "");
        }
        let counters = [
            ("gridedge_hes_readings_total", "Values read from meters.", &self.readings),
            ("gridedge_hes_read_failures_total", "Meter reads that failed after retries.", &self.read_failures),
            ("gridedge_mdms_ingested_values_total", "Values stored by the MDMS.", &self.ingested_values),
            ("gridedge_mdms_ingest_batches_total", "MeterReadings ingested by the MDMS.", &self.ingest_batches),
            ("gridedge_audit_write_failures_total", "Audit entries that could not be written.", &self.audit_failures),
        ];
        for (name, help, value) in counters {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Ordering::Relaxed));
        }
        out.push_str("# HELP gridedge_commands_total Commands finished, by kind and outcome.\n");
        out.push_str("# TYPE gridedge_commands_total counter\n");
        if let Ok(m) = self.commands.lock() {
            for ((kind, outcome), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "gridedge_commands_total{{kind=\"{}\",outcome=\"{}\"}} {n}",
                    escape(kind),
                    escape(outcome)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_format() {
        let m = Metrics::new();
        m.observe_http("GET", "/api/v1/meters", 200, Duration::from_millis(3));
        m.observe_http("GET", "/api/v1/meters", 200, Duration::from_millis(30));
        m.observe_http("GET", "/api/v1/meters", 401, Duration::from_millis(1));
        m.session_started();
        m.session_finished(true, Duration::from_millis(200));
        m.session_completed(false, Some(Duration::from_secs(20)));
        m.session_completed(true, None);
        m.readings_collected(97);
        m.ingested(96);
        m.command_finished("disconnect", "confirmed");
        let text = m.render();
        for line in [
            "gridedge_http_requests_total{method=\"GET\",route=\"/api/v1/meters\",status=\"200\"} 2",
            "gridedge_http_requests_total{method=\"GET\",route=\"/api/v1/meters\",status=\"401\"} 1",
            // 1 ms and 3 ms are <= 5 ms; 30 ms is in the 50 ms bucket.
            "gridedge_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/meters\",le=\"0.005\"} 2",
            "gridedge_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/meters\",le=\"0.025\"} 2",
            "gridedge_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/meters\",le=\"0.05\"} 3",
            "gridedge_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/meters\"} 3",
            "gridedge_hes_sessions_total{outcome=\"ok\"} 2",
            "gridedge_hes_sessions_total{outcome=\"failed\"} 1",
            "gridedge_hes_sessions_active 0",
            // 20 s is above the largest bound: only in +Inf.
            "gridedge_hes_session_duration_seconds_bucket{le=\"10\"} 1",
            "gridedge_hes_session_duration_seconds_bucket{le=\"+Inf\"} 2",
            "gridedge_hes_readings_total 97",
            "gridedge_mdms_ingested_values_total 96",
            "gridedge_mdms_ingest_batches_total 1",
            "gridedge_commands_total{kind=\"disconnect\",outcome=\"confirmed\"} 1",
            "# TYPE gridedge_http_request_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
