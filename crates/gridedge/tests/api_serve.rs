//! The ways `gridedge` serves the operator API beyond `gridedge api --simulate-fleet`:
//!
//! - `gridedge demo --serve`: collects, keeps the fleet running, serves the dashboard with
//!   an operator token; commands of every kind reach the simulated meters;
//! - `gridedge api --registry-db`: the meters endpoints provision the HES's persistent
//!   registry (secrets into its key store with GRIDEDGE_HES_KEK) and commands reach a
//!   meter registered there;
//! - `gridedge api --config FILE` with `[bus] transport = "nats"`: commands go to a private
//!   nats-server as `bus::CommandEnvelope`s; the test plays the HES and the API follows the
//!   results (skipped when /usr/sbin/nats-server is not installed).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::http::http_json as http;
use common::*;

/// `(address, token)` of a `dashboard: http://ADDR/dashboard/?token=T` line.
fn dashboard(line: &str) -> (String, Option<String>) {
    let url = line.trim_start_matches("dashboard: ").trim();
    let addr = url.trim_start_matches("http://").split('/').next().unwrap().to_string();
    (addr, url.split_once("token=").map(|(_, t)| t.to_string()))
}

fn admin_token(db: &std::path::Path) -> String {
    let out = gridedge()
        .args(["api", "token", "create", "--name", "boss", "--role", "admin", "--json", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    created["token"].as_str().unwrap().to_string()
}

/// Creates a command and waits for its final state.
fn run(addr: &str, token: &str, body: &str) -> serde_json::Value {
    let (status, created) = http(addr, "POST", "/api/v1/commands", Some(token), Some(body));
    assert_eq!(status, 202, "{created}");
    let (status, done) = http(addr, "GET", &format!("/api/v1/commands/{}?wait_s=25", created["id"]), Some(token), None);
    assert_eq!(status, 200, "{done}");
    done
}

#[test]
fn demo_serve_keeps_the_fleet_and_serves_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut cmd = gridedge();
    cmd.args(["demo", "--meters", "3", "--days", "1", "--serve", "--listen", "127.0.0.1:0", "--db"]).arg(&db);
    let (server, line) = spawn_until(cmd, "dashboard: ");
    let (addr, token) = dashboard(&line);
    let token = token.expect("demo --serve prints a link with an operator token");

    let (status, who) = http(&addr, "GET", "/api/v1/whoami", Some(&token), None);
    assert_eq!((status, who["role"].as_str()), (200, Some("operator")), "{who}");
    let (_, fleet) = http(&addr, "GET", "/api/v1/fleet", Some(&token), None);
    assert_eq!((fleet["meters"].as_u64(), fleet["comm_ok"].as_u64()), (Some(3), Some(3)), "{fleet}");

    // The fleet is still running: commands reach the simulated meters.
    let done = run(&addr, &token, r#"{"meter": "GE00000003", "kind": "disconnect"}"#);
    assert_eq!(
        (done["state"].as_str(), done["relay_state"].as_str()),
        (Some("confirmed"), Some("disconnected")),
        "{done}"
    );
    let done = run(&addr, &token, r#"{"meter": "GE00000003", "kind": "time_sync"}"#);
    assert_eq!(done["state"], "confirmed", "{done}");
    let done = run(
        &addr,
        &token,
        r#"{"meter": "GE00000001", "kind": "load_limit", "parameters": {"threshold_normal_w": 123456}}"#,
    );
    assert_eq!(
        (done["state"].as_str(), done["result"]["threshold_normal_w"].as_u64()),
        (Some("confirmed"), Some(123456)),
        "{done}"
    );
    // The dashboard's commands page is served.
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .write_all(
            format!("GET /dashboard/commands.html HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200") && page.contains(r#"data-page="commands""#), "{page:.300}");
    drop(server);
}

#[test]
fn api_provisions_the_hes_registry_and_commands_its_meters() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mdms.db");
    let registry_db = dir.path().join("hes.db");
    let token = admin_token(&db);
    let (_meter, port) = spawn_our_meter("GE00000077", 77);
    let kek = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    let mut cmd = gridedge();
    cmd.env("GRIDEDGE_HES_KEK", kek)
        .args(["api", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--registry-db")
        .arg(&registry_db);
    let (server, line) = spawn_until(cmd, "dashboard: ");
    let (addr, _) = dashboard(&line);

    let body = format!(
        r#"{{"serial": "GE00000077", "host": "127.0.0.1", "port": {port}, "authentication": "low",
            "password": "00000000", "transformer": "TX9", "feeder": "FDR9"}}"#
    );
    let (status, meter) = http(&addr, "POST", "/api/v1/meters", Some(&token), Some(&body));
    assert_eq!(status, 201, "{meter}");
    assert_eq!((meter["status"].as_str(), meter["authentication"].as_str()), (Some("provisioned"), Some("low")));
    let (_, list) = http(&addr, "GET", "/api/v1/meters", Some(&token), None);
    assert_eq!(list["items"][0]["serial"], "GE00000077", "{list}");

    let done = run(&addr, &token, r#"{"meter": "GE00000077", "kind": "disconnect"}"#);
    assert_eq!(
        (done["state"].as_str(), done["relay_state"].as_str()),
        (Some("confirmed"), Some("disconnected")),
        "{done}"
    );
    drop(server);

    // What the API provisioned is the HES's own record, and the password is in its key
    // store (sealed), not in the registry.
    let store = hes::registry_store::RegistryStore::open(&registry_db).unwrap();
    let stored = store.get("GE00000077").unwrap().expect("the meter is in the HES registry");
    assert_eq!((stored.record.transport.port, stored.record.transformer.as_deref()), (port, Some("TX9")));
    let keys =
        hes::key_store::KeyStore::open(&registry_db, hes::key_store::StorageKek::from_hex(kek).unwrap()).unwrap();
    assert_eq!(keys.lls_password("GE00000077").unwrap().unwrap().as_bytes(), b"00000000");
    let raw = std::fs::read(&registry_db).unwrap();
    assert!(!raw.windows(8).any(|w| w == b"00000000"), "the password is sealed at rest");
}

#[test]
fn api_with_a_nats_config_publishes_commands_and_follows_their_results() {
    use bus::{CommandEnvelope, CommandResultEnvelope, CommandResultState, Delivery, Publisher, Subscriber};
    // A private nats-server (started and waited for; killed at the end).
    let nats = common::nats_server::NatsServer::start();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mdms.db");
    let registry_db = dir.path().join("registry.db");
    {
        let mut registry = hes::registry_store::RegistryStore::open(&registry_db).unwrap();
        registry.upsert(&hes::registry_store::MeterRecord::new("GE00000005", "127.0.0.1", 4059)).unwrap();
    }
    let config = dir.path().join("gridedge.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nsqlite_path = {db:?}\n[bus]\ntransport = \"nats\"\nnats_url = \"{url}\"\nstream_prefix = \"APICLI\"\n\
             [hes]\nregistry = {registry_db:?}\nshards = 4\n[api]\nlisten = \"127.0.0.1:0\"\n"
        ),
    )
    .unwrap();
    let token = admin_token(&db);
    let mut cmd = gridedge();
    cmd.args(["api", "--instance", "cli1", "--config"]).arg(&config);
    let (server, line) = spawn_until(cmd, "dashboard: ");
    let (addr, _) = dashboard(&line);

    let (status, created) =
        http(&addr, "POST", "/api/v1/commands", Some(&token), Some(r#"{"meter": "GE00000005", "kind": "time_sync"}"#));
    assert_eq!((status, created["state"].as_str()), (202, Some("queued")), "{created}");
    let (status, unknown) =
        http(&addr, "POST", "/api/v1/commands", Some(&token), Some(r#"{"meter": "GE09999999", "kind": "disconnect"}"#));
    assert_eq!(status, 404, "only meters of the HES registry: {unknown}");

    // The HES's side, over the same streams.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let config = bus::JetStreamConfig { stream_prefix: "APICLI".into(), ..bus::JetStreamConfig::new(&url) };
        let bus = bus::JetStreamBus::connect(config).await.unwrap();
        let mut hes = bus.subscriber(bus::MessageKind::Commands, "hes").await.unwrap();
        let mut envelope = None;
        for _ in 0..10 {
            if let Some(d) = hes.fetch(1, Duration::from_secs(1)).await.unwrap().pop() {
                envelope = Some(d.message().decode::<CommandEnvelope>().unwrap());
                d.ack().await.unwrap();
                break;
            }
        }
        let envelope = envelope.expect("the command reached the bus");
        assert_eq!(envelope.command_id, format!("cli1-{}", created["id"]));
        assert_eq!(envelope.request["command"], "time-sync");
        assert_eq!(envelope.issued_by, "boss");
        let publisher = bus.publisher();
        for (state, detail) in [
            (CommandResultState::Sent, serde_json::Value::Null),
            (
                CommandResultState::Confirmed,
                serde_json::json!({"drift_before_s": 0.2, "set": false, "drift_after_s": 0.2}),
            ),
        ] {
            let result = CommandResultEnvelope {
                command_id: envelope.command_id.clone(),
                meter: envelope.meter.clone(),
                state,
                at: jiff::Timestamp::now(),
                reason: None,
                detail,
            };
            publisher.publish(result.to_message(4).unwrap()).await.unwrap();
        }
    });
    let (status, done) =
        http(&addr, "GET", &format!("/api/v1/commands/{}?wait_s=20", created["id"]), Some(&token), None);
    assert_eq!(status, 200);
    assert_eq!(
        (done["state"].as_str(), done["result"]["drift_after_s"].as_f64()),
        (Some("confirmed"), Some(0.2)),
        "{done}"
    );
    let events: Vec<&str> = done["history"].as_array().unwrap().iter().map(|h| h["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["queued", "sent", "confirmed"]);
    drop(server);
}
