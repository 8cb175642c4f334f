//! A real API server on 127.0.0.1 over a temporary SQLite database, with tokens of each
//! role, and helpers to build synthetic meter readings with values known by hand.
#![allow(dead_code)]

use std::sync::Arc;

use api::{ApiBuilder, ApiDb, AppState, InMemoryRegistry, Role, TokenStore};
use jiff::Timestamp;
use mdms::{MeterDataStore, SqliteStore};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType, RegisterRead};

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Tokens by role.
    pub reader: String,
    /// Operator token.
    pub operator: String,
    /// Admin token.
    pub admin: String,
    /// The state (to reach the registry, events ...).
    pub state: AppState,
    /// The registry.
    pub registry: Arc<InMemoryRegistry>,
    /// The database file.
    pub db_path: std::path::PathBuf,
    /// HTTP client.
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// 2025-01-06T00:00:00Z, a Monday (GMT, no DST in January).
pub fn day0() -> Timestamp {
    "2025-01-06T00:00:00Z".parse().unwrap()
}

/// One meter's collection: `days` of 15-minute A+ bulk values starting at `day0()`,
/// advancing `wh_per_interval` Wh each interval (the first value, at `day0()`, is 1000 Wh),
/// and one register read of A+ at the end.
pub fn reading(meter: &str, days: i64, wh_per_interval: f64) -> MeterReading {
    let n = days * 96;
    let mut intervals = Vec::new();
    for k in 0..=n {
        intervals.push(IntervalReading {
            reading_type: ReadingType::ActiveEnergyImport,
            interval_end: day0() + jiff::SignedDuration::from_secs(900 * k),
            value: 1000.0 + wh_per_interval * k as f64,
            quality: QualityFlags(0),
        });
    }
    let end = day0() + jiff::SignedDuration::from_secs(900 * n);
    MeterReading {
        meter: MeterId::from(meter),
        collected_at: end + jiff::SignedDuration::from_secs(60),
        clock_drift_ms: Some(120),
        interval_length_s: 900,
        registers: vec![RegisterRead {
            reading_type: ReadingType::ActiveEnergyImport,
            read_at: end,
            value: 1000.0 + wh_per_interval * n as f64,
        }],
        intervals,
    }
}

/// Starts a server whose MDMS database holds `readings`, with `registry` and optional
/// builder changes.
pub async fn start(
    readings: &[MeterReading],
    registry: InMemoryRegistry,
    customize: impl FnOnce(ApiBuilder, &std::path::Path) -> ApiBuilder,
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("mdms.db");
    let mut store = SqliteStore::open(&db_path).unwrap();
    for r in readings {
        store.ingest(r).unwrap();
    }
    let db = ApiDb::open(&db_path).unwrap();
    let tokens = TokenStore::new(db.clone());
    let reader = tokens.create("rita", Role::Reader, "test").unwrap().token;
    let operator = tokens.create("otto", Role::Operator, "test").unwrap().token;
    let admin = tokens.create("ada", Role::Admin, "test").unwrap().token;
    let registry = Arc::new(registry);
    let state = customize(ApiBuilder::new(Box::new(store), db).registry(registry.clone()), &db_path).build().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(api::serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    TestServer {
        base,
        reader,
        operator,
        admin,
        state,
        registry,
        db_path,
        client: reqwest::Client::new(),
        stop: Some(stop),
        _dir: dir,
    }
}

impl TestServer {
    /// GET with a token; returns (status, JSON body or Null).
    pub async fn get(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A request with a JSON body; returns (status, JSON body or Null).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }
}
