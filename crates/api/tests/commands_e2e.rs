//! Commands end to end: `POST /api/v1/commands` reaches a simulated DLMS/COSEM meter on
//! 127.0.0.1 through the HES command service (management association with LLS): a
//! disconnect opens the meter's relay and is confirmed by the read-back (with its history
//! and an end device event), a reconnect closes it, time sync, load limit and TOU change
//! are confirmed with the meter's read-back; a wrong password fails with a reason; the
//! list filters and pages; the metrics count the outcomes.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use api::InMemoryRegistry;
use dlms::association::Authentication;
use meter::objects::disconnect_control::ControlState;
use meter::tcp_server::{MeterServerConfig, serve};
use meter::{MeterConfig, SimulatedMeter};
use reqwest::Method;
use serde_json::json;

async fn simulated_meter(serial: &str) -> (SocketAddr, Arc<Mutex<SimulatedMeter>>) {
    let config = MeterConfig { max_clock_drift_ms: 0, ..MeterConfig::default() };
    let meter = Arc::new(Mutex::new(SimulatedMeter::new(serial, 7, config).unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // Public client 16 and management client 1 with LLS password "00000000".
    tokio::spawn(serve(listener, meter.clone(), Arc::new(MeterServerConfig::default())));
    (address, meter)
}

fn endpoint(serial: &str, address: SocketAddr, password: &[u8]) -> hes::MeterEndpoint {
    hes::MeterEndpoint {
        serial: model::MeterId::from(serial),
        address,
        client_sap: 1,
        server_sap: 1,
        authentication: Authentication::Low { password: password.to_vec() },
        link: hes::transport::LinkLayer::Wrapper,
        security: None,
    }
}

fn relay(meter: &Arc<Mutex<SimulatedMeter>>) -> ControlState {
    meter.lock().unwrap().disconnect_control().state
}

/// Creates a command as the operator and waits (up to 20 s) for its final state.
async fn run(server: &common::TestServer, body: serde_json::Value) -> serde_json::Value {
    let (status, created) = server.send(Method::POST, "/api/v1/commands", &server.operator, Some(body)).await;
    assert_eq!(status, 202, "{created}");
    let (status, done) = server.get(&format!("/api/v1/commands/{}?wait_s=20", created["id"]), &server.reader).await;
    assert_eq!(status, 200, "{done}");
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_kind_reaches_the_meter_and_is_followed() {
    let (address, meter) = simulated_meter("GE00000042").await;
    let (bad_address, bad_meter) = simulated_meter("GE00000043").await;
    let registry = InMemoryRegistry::new();
    registry.insert(endpoint("GE00000042", address, b"00000000"), Some("T1".into()), None, "active");
    registry.insert(endpoint("GE00000043", bad_address, b"wrong"), Some("T1".into()), None, "active");
    let server = common::start(&[], registry, |b, _| b).await;
    assert_eq!(relay(&meter), ControlState::Connected);

    let (status, created) = server
        .send(
            Method::POST,
            "/api/v1/commands",
            &server.operator,
            Some(json!({"meter": "GE00000042", "kind": "disconnect"})),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    assert!(["queued", "sent", "confirmed"].contains(&created["state"].as_str().unwrap()), "{created}");
    assert_eq!((created["issued_by"].as_str(), created["kind"].as_str()), (Some("otto"), Some("disconnect")));
    let id = created["id"].as_i64().unwrap();
    let (status, done) = server.get(&format!("/api/v1/commands/{id}?wait_s=20"), &server.reader).await;
    assert_eq!(status, 200);
    assert_eq!(done["state"], "confirmed", "{done}");
    assert_eq!(done["relay_state"], "disconnected");
    assert_eq!(done["result"]["output_state"], false, "{done}");
    assert!(done["finished_at"].is_string());
    let history: Vec<&str> = done["history"].as_array().unwrap().iter().map(|h| h["event"].as_str().unwrap()).collect();
    assert_eq!(history, ["queued", "sent", "confirmed"]);
    // The simulated meter's own relay state, read without the API.
    assert_eq!(relay(&meter), ControlState::Disconnected);
    assert!(!meter.lock().unwrap().disconnect_control().output_state());

    // The confirmed operation is an end device event (relay disconnected, 3.31.0.68).
    let (_, events) = server.get("/api/v1/events?meter=GE00000042", &server.reader).await;
    let codes: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(codes, ["3.31.0.68"]);
    assert_eq!(events["items"][0]["source"], "command");

    // Reconnect (control mode 4: direct remote reconnection).
    let done = run(&server, json!({"meter": "GE00000042", "kind": "reconnect"})).await;
    assert_eq!(
        (done["state"].as_str(), done["relay_state"].as_str()),
        (Some("confirmed"), Some("connected")),
        "{done}"
    );
    assert_eq!(relay(&meter), ControlState::Connected);

    // The meter list shows the relay state the meter reported last.
    let (_, meters) = server.get("/api/v1/meters", &server.reader).await;
    let m = meters["items"].as_array().unwrap().iter().find(|m| m["serial"] == "GE00000042").unwrap().clone();
    assert_eq!(m["relay_state"], "connected");

    // Time synchronisation (Clock, class 8): the meter's clock is right, nothing to set.
    let done =
        run(&server, json!({"meter": "GE00000042", "kind": "time_sync", "parameters": {"threshold_s": 2.0}})).await;
    assert_eq!(done["state"], "confirmed", "{done}");
    assert_eq!(done["parameters"]["threshold_s"], 2.0);
    assert!(done["result"]["drift_after_s"].as_f64().unwrap().abs() <= 1.0, "{done}");

    // Load limit (Limiter, class 71): the thresholds read back.
    let done = run(
        &server,
        json!({"meter": "GE00000042", "kind": "load_limit",
               "parameters": {"threshold_normal_w": 900000, "threshold_emergency_w": 800000}}),
    )
    .await;
    assert_eq!(done["state"], "confirmed", "{done}");
    assert_eq!(
        (done["result"]["threshold_normal_w"].as_u64(), done["result"]["threshold_emergency_w"].as_u64()),
        (Some(900000), Some(800000))
    );
    assert_eq!(meter.lock().unwrap().limiter().threshold_normal, 900000);

    // TOU change (passive Activity calendar, class 20) activating in the future.
    let done = run(
        &server,
        json!({"meter": "GE00000042", "kind": "tou_change", "parameters": {
            "activation": "2099-01-01T00:00:00Z",
            "calendar": {"name": "API-T2",
                "seasons": [{"name": "ALLYEAR", "start_month": 1, "start_day": 1, "week": "WEEK"}],
                "weeks": [{"name": "WEEK", "days": [1, 1, 1, 1, 1, 1, 1]}],
                "days": [{"id": 1, "switches": [{"hour": 0, "minute": 0, "tariff": 2}]}]}}}),
    )
    .await;
    assert_eq!(done["state"], "confirmed", "{done}");
    assert_eq!(
        (done["result"]["calendar_name"].as_str(), done["result"]["active"].as_bool()),
        (Some("API-T2"), Some(false))
    );

    // Wrong LLS password: the association is refused, the command fails with a reason and
    // the meter's relay is untouched.
    let failed = run(&server, json!({"meter": "GE00000043", "kind": "disconnect"})).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let reason = failed["reason"].as_str().unwrap();
    assert!(!reason.is_empty() && !reason.contains("wrong"), "no reason, or the password leaked: {failed}");
    assert_eq!(failed["history"].as_array().unwrap().last().unwrap()["detail"]["reason"], reason);
    assert_eq!(relay(&bad_meter), ControlState::Connected);

    // Refusals: an unknown meter (404), a malformed kind (400), parameters that do not fit
    // (422), a firmware update (422: the request cannot carry the image).
    let refusals = [
        (json!({"meter": "NOPE", "kind": "disconnect"}), 404, "not_found"),
        (json!({"meter": "GE00000042", "kind": "explode"}), 400, "bad_request"),
        (json!({"meter": "GE00000042", "kind": "load_limit"}), 422, "unprocessable"),
        (json!({"meter": "GE00000042", "kind": "load_limit", "parameters": {"watts": 1}}), 422, "unprocessable"),
        (json!({"meter": "GE00000042", "kind": "firmware", "parameters": {}}), 422, "unprocessable"),
    ];
    for (body, status, code) in refusals {
        let (s, b) = server.send(Method::POST, "/api/v1/commands", &server.operator, Some(body.clone())).await;
        assert_eq!((s, b["error"]["code"].as_str()), (status, Some(code)), "{body}: {b}");
    }

    // The list: newest first, paged, filtered by kind, state and meter.
    let kinds = |list: &serde_json::Value| -> Vec<String> {
        list["items"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap().to_string()).collect()
    };
    let (_, page1) = server.get("/api/v1/commands?limit=2", &server.reader).await;
    assert_eq!(kinds(&page1), ["disconnect", "tou_change"]);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = server.get(&format!("/api/v1/commands?limit=2&cursor={cursor}"), &server.reader).await;
    assert_eq!(kinds(&page2), ["load_limit", "time_sync"]);
    let (_, failed_only) = server.get("/api/v1/commands?state=failed", &server.reader).await;
    assert_eq!(failed_only["items"].as_array().unwrap().len(), 1);
    let (_, relay_cmds) = server.get("/api/v1/commands?meter=GE00000042&kind=disconnect", &server.reader).await;
    assert_eq!(relay_cmds["items"].as_array().unwrap().len(), 1);
    let (status, _) = server.get("/api/v1/commands?state=lost", &server.reader).await;
    assert_eq!(status, 400);
    let (_, future) = server.get("/api/v1/commands?from=2099-01-01T00:00:00Z", &server.reader).await;
    assert!(future["items"].as_array().unwrap().is_empty());

    let text = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("gridedge_commands_total{kind=\"disconnect\",outcome=\"confirmed\"} 1"), "{text}");
    assert!(text.contains("gridedge_commands_total{kind=\"disconnect\",outcome=\"failed\"} 1"), "{text}");
    assert!(text.contains("gridedge_commands_total{kind=\"load_limit\",outcome=\"confirmed\"} 1"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_left_unfinished_by_a_restart_are_failed_not_resent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("commands.db");
    {
        let store = hes::commands::CommandStore::open(&path).unwrap();
        let id = store.enqueue("M1", hes::commands::CommandKind::Disconnect, &json!({}), "x").unwrap();
        store.transition(id, &hes::commands::CommandState::Sent, &serde_json::Value::Null).unwrap();
    }
    let db = api::ApiDb::open_in_memory().unwrap();
    let store = mdms::SqliteStore::open_in_memory().unwrap();
    let state = api::ApiBuilder::new(Box::new(store), db).command_store(&path).build().unwrap();
    let record = state.commands.get(1).unwrap().unwrap();
    assert_eq!(record.state, api::CommandState::Failed);
    assert_eq!(record.reason.as_deref(), Some(api::services::commands::INTERRUPTED));
    let events: Vec<String> = state.commands.history(1).unwrap().into_iter().map(|h| h.event).collect();
    assert_eq!(events, ["queued", "sent", "failed"]);
}
