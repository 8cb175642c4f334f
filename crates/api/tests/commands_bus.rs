//! Scale-out commands over a private NATS JetStream server (`nats-server -js` on a free
//! loopback port, its store in a temporary directory): `POST /api/v1/commands` publishes a
//! `bus::CommandEnvelope` on the Commands stream, keyed by the meter's shard; the test
//! plays the HES (consumes the command, publishes `CommandResultEnvelope`s) and the API
//! follows the command queued → sent → confirmed or failed from its own durable
//! consumer, ignoring repeats, late results and other API instances' commands, and picks
//! up results published while its follower was down.
//!
//! Skipped (with a message) when `/usr/sbin/nats-server` is not installed.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use api::{BusCommands, CommandLog, CommandOutcomes, InMemoryRegistry, MemoryEventLog, Metrics};
use bus::{
    CommandEnvelope, CommandResultEnvelope, CommandResultState, Delivery, JetStreamBus, JetStreamConfig, MessageKind,
    Publisher, Subscriber,
};
use reqwest::Method;
use serde_json::json;

const NATS_SERVER: &str = "/usr/sbin/nats-server";
const SHARDS: u32 = 8;

struct Nats {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_nats() -> Option<Nats> {
    if !std::path::Path::new(NATS_SERVER).exists() {
        eprintln!("skipped: {NATS_SERVER} is not installed");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(NATS_SERVER)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed and reaped on drop, whatever happens next.
    let nats = Nats { child, url: format!("nats://127.0.0.1:{port}"), _dir: dir };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Some(nats);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nats-server did not start on port {port}");
}

fn registry() -> InMemoryRegistry {
    let registry = InMemoryRegistry::new();
    for serial in ["GE00000007", "GE00000008"] {
        let endpoint = hes::MeterEndpoint {
            serial: model::MeterId::from(serial),
            address: "127.0.0.1:9".parse().unwrap(),
            client_sap: 1,
            server_sap: 1,
            authentication: dlms::association::Authentication::None,
            link: hes::transport::LinkLayer::Wrapper,
            security: None,
        };
        registry.insert(endpoint, None, None, "active");
    }
    registry
}

/// The HES's side: takes the next command (waits up to 10 s) and acknowledges it.
async fn next_command<S: Subscriber>(hes: &mut S) -> (CommandEnvelope, String) {
    for _ in 0..10 {
        let mut batch = hes.fetch(1, Duration::from_secs(1)).await.unwrap();
        if let Some(delivery) = batch.pop() {
            let key = delivery.message().key.clone();
            let envelope: CommandEnvelope = delivery.message().decode().unwrap();
            delivery.ack().await.unwrap();
            return (envelope, key);
        }
    }
    panic!("no command reached the HES");
}

async fn report<P: Publisher>(
    publisher: &P,
    command_id: &str,
    meter: &str,
    state: CommandResultState,
    reason: Option<&str>,
    detail: serde_json::Value,
) {
    let result = CommandResultEnvelope {
        command_id: command_id.to_string(),
        meter: meter.to_string(),
        state,
        at: jiff::Timestamp::now(),
        reason: reason.map(str::to_string),
        detail,
    };
    publisher.publish(result.to_message(SHARDS).unwrap()).await.unwrap();
}

async fn wait_final(server: &common::TestServer, id: i64) -> serde_json::Value {
    let (status, body) = server.get(&format!("/api/v1/commands/{id}?wait_s=15"), &server.reader).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn events(detail: &serde_json::Value) -> Vec<String> {
    detail["history"].as_array().unwrap().iter().map(|h| h["event"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_go_over_the_bus_and_are_followed_from_their_results() {
    let Some(nats) = start_nats().await else { return };
    let config = JetStreamConfig { stream_prefix: "APITEST".into(), ..JetStreamConfig::new(&nats.url) };
    let bus = JetStreamBus::connect(config).await.unwrap();
    let log = Arc::new(CommandLog::in_memory(hes::SessionTimeouts::default()).unwrap());
    let metrics = Arc::new(Metrics::new());
    let outcomes = CommandOutcomes { events: Arc::new(MemoryEventLog::default()), metrics: metrics.clone() };
    let known: Arc<dyn api::MeterRegistry> = Arc::new(registry());
    let service = Arc::new(
        BusCommands::new(log.clone(), bus.publisher(), SHARDS, "api1", Some(known.clone()), outcomes.clone()).unwrap(),
    );
    assert_eq!(service.results_consumer(), "api1-command-results");
    let follower = tokio::spawn(
        service
            .clone()
            .follow_results(bus.subscriber(MessageKind::CommandResults, "api1-command-results").await.unwrap()),
    );
    let commands: Arc<dyn api::CommandService> = service.clone();
    let server = common::start(&[], registry(), |b, _| b.commands(commands).metrics(metrics.clone())).await;
    let mut hes = bus.subscriber(MessageKind::Commands, "hes-under-test").await.unwrap();
    let hes_out = bus.publisher();

    // A disconnect: published with the meter's shard key, the API's id and the HES request.
    let (status, created) = server
        .send(
            Method::POST,
            "/api/v1/commands",
            &server.operator,
            Some(json!({"meter": "GE00000007", "kind": "disconnect"})),
        )
        .await;
    assert_eq!((status, created["state"].as_str()), (202, Some("queued")), "{created}");
    let id = created["id"].as_i64().unwrap();
    let (envelope, key) = next_command(&mut hes).await;
    assert_eq!(envelope.command_id, format!("api1-{id}"));
    assert_eq!((envelope.meter.as_str(), envelope.issued_by.as_str()), ("GE00000007", "otto"));
    assert_eq!(envelope.request, json!({"command": "disconnect"}));
    assert_eq!(key, format!("s{:04}", bus::shard_of("GE00000007", SHARDS)));
    let request: hes::commands::CommandRequest = serde_json::from_value(envelope.request.clone()).unwrap();
    assert_eq!(request, hes::commands::CommandRequest::Disconnect);

    // The HES reports queued, sent, confirmed (with the read-back); then a repeat of sent
    // and a late failure, which change nothing.
    let cid = envelope.command_id.as_str();
    report(&hes_out, cid, "GE00000007", CommandResultState::Queued, None, json!(null)).await;
    report(&hes_out, cid, "GE00000007", CommandResultState::Sent, None, json!(null)).await;
    let readback = json!({"control_state": "disconnected", "output_state": false, "control_mode": 4,
                          "manual_reconnect_required": false});
    report(&hes_out, cid, "GE00000007", CommandResultState::Confirmed, None, readback.clone()).await;
    let done = wait_final(&server, id).await;
    assert_eq!(
        (done["state"].as_str(), done["relay_state"].as_str()),
        (Some("confirmed"), Some("disconnected")),
        "{done}"
    );
    assert_eq!(done["result"], readback);
    assert_eq!(events(&done), ["queued", "progress", "sent", "confirmed"]);
    assert_eq!(done["history"][1]["detail"]["hes_state"], "queued");
    report(&hes_out, cid, "GE00000007", CommandResultState::Failed, Some("late"), json!(null)).await;
    // Another instance's command shares the stream: ignored.
    report(&hes_out, "api2-1", "GE00000007", CommandResultState::Failed, Some("not ours"), json!(null)).await;

    // A load limit that the HES fails, with the reason.
    let (status, created) = server
        .send(
            Method::POST,
            "/api/v1/commands",
            &server.operator,
            Some(json!({"meter": "GE00000008", "kind": "load_limit", "parameters": {"threshold_normal_w": 4000}})),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    let limit_id = created["id"].as_i64().unwrap();
    let (envelope, _) = next_command(&mut hes).await;
    assert_eq!(
        envelope.request,
        json!({"command": "load-limit", "threshold_normal_w": 4000,
        "threshold_emergency_w": null, "min_over_threshold_s": null, "min_under_threshold_s": null, "event": null})
    );
    report(&hes_out, &envelope.command_id, "GE00000008", CommandResultState::Sent, None, json!(null)).await;
    report(
        &hes_out,
        &envelope.command_id,
        "GE00000008",
        CommandResultState::Failed,
        Some("read-write-denied"),
        json!(null),
    )
    .await;
    let failed = wait_final(&server, limit_id).await;
    assert_eq!((failed["state"].as_str(), failed["reason"].as_str()), (Some("failed"), Some("read-write-denied")));
    assert_eq!(events(&failed), ["queued", "sent", "failed"]);

    // The late failure did not touch the confirmed disconnect.
    let (_, again) = server.get(&format!("/api/v1/commands/{id}"), &server.reader).await;
    assert_eq!((again["state"].as_str(), events(&again).len()), (Some("confirmed"), 4), "{again}");

    // The follower stops (an API restart); the HES reports meanwhile; a new follower on
    // the same durable consumer catches up.
    follower.abort();
    let _ = follower.await;
    // Let the dead follower's last pull request expire (1 s), so it takes nothing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, created) = server
        .send(
            Method::POST,
            "/api/v1/commands",
            &server.operator,
            Some(json!({"meter": "GE00000007", "kind": "reconnect"})),
        )
        .await;
    let reconnect_id = created["id"].as_i64().unwrap();
    let (envelope, _) = next_command(&mut hes).await;
    let readback = json!({"control_state": "connected", "output_state": true, "control_mode": 4,
                          "manual_reconnect_required": false});
    report(&hes_out, &envelope.command_id, "GE00000007", CommandResultState::Confirmed, None, readback).await;
    let (_, pending) = server.get(&format!("/api/v1/commands/{reconnect_id}"), &server.reader).await;
    assert_eq!(pending["state"], "queued", "nothing follows the results while the follower is down");
    let restarted =
        Arc::new(BusCommands::new(log.clone(), bus.publisher(), SHARDS, "api1", Some(known), outcomes).unwrap());
    let follower = tokio::spawn(
        restarted.follow_results(bus.subscriber(MessageKind::CommandResults, "api1-command-results").await.unwrap()),
    );
    let done = wait_final(&server, reconnect_id).await;
    assert_eq!(
        (done["state"].as_str(), done["relay_state"].as_str()),
        (Some("confirmed"), Some("connected")),
        "{done}"
    );

    // An unknown meter is refused before anything is published.
    let (status, body) = server
        .send(Method::POST, "/api/v1/commands", &server.operator, Some(json!({"meter": "NOPE", "kind": "disconnect"})))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    assert!(hes.fetch(1, Duration::from_millis(500)).await.unwrap().is_empty(), "nothing was published");

    let text = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("gridedge_commands_total{kind=\"disconnect\",outcome=\"confirmed\"} 1"), "{text}");
    assert!(text.contains("gridedge_commands_total{kind=\"load_limit\",outcome=\"failed\"} 1"), "{text}");
    follower.abort();
}
