//! Commands end to end: `POST /api/v1/commands` reaches a simulated DLMS/COSEM meter on
//! 127.0.0.1 (Disconnect control, class 70, ACTION over a management association with
//! LLS), the meter's relay changes, the command is confirmed by the readback, an end
//! device event is recorded, the metric counts it; a wrong password fails with a reason.

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
    let meter = Arc::new(Mutex::new(SimulatedMeter::new(serial, 7, MeterConfig::default()).unwrap()));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_and_reconnect_reach_the_meter_and_are_confirmed() {
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
    assert_eq!(created["issued_by"], "otto");
    let id = created["id"].as_i64().unwrap();
    let (status, done) = server.get(&format!("/api/v1/commands/{id}?wait_s=20"), &server.reader).await;
    assert_eq!(status, 200);
    assert_eq!(done["state"], "confirmed", "{done}");
    assert_eq!(done["relay_state"], "disconnected");
    assert!(done["sent_at"].is_string() && done["finished_at"].is_string());
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
    let (_, created) = server
        .send(
            Method::POST,
            "/api/v1/commands",
            &server.operator,
            Some(json!({"meter": "GE00000042", "kind": "reconnect"})),
        )
        .await;
    let (_, done) = server.get(&format!("/api/v1/commands/{}?wait_s=20", created["id"]), &server.reader).await;
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

    // Wrong LLS password: the association is refused, the command fails with a reason and
    // the meter's relay is untouched.
    let (_, created) = server
        .send(
            Method::POST,
            "/api/v1/commands",
            &server.operator,
            Some(json!({"meter": "GE00000043", "kind": "disconnect"})),
        )
        .await;
    let (_, failed) = server.get(&format!("/api/v1/commands/{}?wait_s=20", created["id"]), &server.reader).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(failed["reason"].as_str().unwrap().contains("association"), "{failed}");
    assert!(!failed["reason"].as_str().unwrap().contains("wrong"), "the password must not leak: {failed}");
    assert_eq!(relay(&bad_meter), ControlState::Connected);

    // An unknown meter is refused before anything is queued.
    let (status, body) = server
        .send(Method::POST, "/api/v1/commands", &server.operator, Some(json!({"meter": "NOPE", "kind": "disconnect"})))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    // A malformed kind is a 400 in the JSON error shape.
    let (status, body) = server
        .send(
            Method::POST,
            "/api/v1/commands",
            &server.operator,
            Some(json!({"meter": "GE00000042", "kind": "explode"})),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_request")));

    // The list, newest first, and the metrics.
    let (_, list) = server.get("/api/v1/commands?limit=2", &server.reader).await;
    let states: Vec<&str> = list["items"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(states, ["disconnect", "reconnect"]);
    assert!(list["next_cursor"].is_string());
    let text = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("gridedge_commands_total{kind=\"disconnect\",outcome=\"confirmed\"} 1"), "{text}");
    assert!(text.contains("gridedge_commands_total{kind=\"disconnect\",outcome=\"failed\"} 1"), "{text}");
    assert!(text.contains("gridedge_hes_sessions_total{outcome=\"ok\"} 2"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_left_unfinished_by_a_restart_are_failed_not_resent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.db");
    {
        let db = api::ApiDb::open(&path).unwrap();
        db.lock()
            .execute(
                "INSERT INTO api_command (meter, kind, state, issued_by, created_at_ms) VALUES ('M1', 'disconnect', 'sent', 'x', 0)",
                [],
            )
            .unwrap();
    }
    let db = api::ApiDb::open(&path).unwrap();
    let store = mdms::SqliteStore::open_in_memory().unwrap();
    let state = api::ApiBuilder::new(Box::new(store), db).build().unwrap();
    let record = state.commands.get(1).unwrap().unwrap();
    assert_eq!(record.state, api::CommandState::Failed);
    assert_eq!(record.reason.as_deref(), Some(api::services::command_queue::INTERRUPTED));
}
