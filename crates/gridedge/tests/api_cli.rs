//! `gridedge api` and `gridedge audit verify` as a user runs them: a token from the CLI,
//! the API serving a simulated fleet it collected, a disconnect through the API reaching a
//! simulated meter, metrics, and the audit chain verified (then broken by editing a row).

mod common;

use common::http::http_text as http;
use common::*;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn api_serves_a_collected_fleet_and_commands_reach_its_meters() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");

    // The first admin token, from the CLI.
    let out = gridedge()
        .args(["api", "token", "create", "--name", "boss", "--role", "admin", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created = json(&String::from_utf8_lossy(&out.stdout));
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ge_") && token.len() == 67);
    assert_eq!(created["info"]["role"], "admin");

    let mut cmd = gridedge();
    cmd.args(["api", "--listen", "127.0.0.1:0", "--simulate-fleet", "3", "--days", "1", "--db"]).arg(&db);
    let (server, line) = spawn_until(cmd, "dashboard: ");
    let url = line.trim_start_matches("dashboard: ");
    assert!(!url.contains("token="), "no --demo-token, no token in the link: {url}");
    let addr = url.trim_start_matches("http://").split('/').next().unwrap().to_string();

    let (status, body) = http(&addr, "GET", "/api/v1/fleet", Some(&token), None);
    assert_eq!(status, 200, "{body}");
    let fleet = json(&body);
    assert_eq!((fleet["meters"].as_u64(), fleet["comm_ok"].as_u64()), (Some(3), Some(3)));
    assert_eq!(fleet["read_success_rate_24h"], 1.0);
    let (status, body) = http(&addr, "GET", "/api/v1/fleet", None, None);
    assert_eq!((status, json(&body)["error"]["code"].as_str()), (401, Some("unauthorized")));

    // One day of 15-minute A+ values per meter, as collected.
    let (_, body) = http(&addr, "GET", "/api/v1/meters/GE00000002", Some(&token), None);
    let detail = json(&body);
    assert_eq!(detail["registry"]["transformer"], "TX0001");
    assert_eq!(detail["collections"][0]["interval_length_s"], 900);

    let (status, body) =
        http(&addr, "POST", "/api/v1/commands", Some(&token), Some(r#"{"meter": "GE00000002", "kind": "disconnect"}"#));
    assert_eq!(status, 202, "{body}");
    let id = json(&body)["id"].as_i64().unwrap();
    let (_, body) = http(&addr, "GET", &format!("/api/v1/commands/{id}?wait_s=20"), Some(&token), None);
    let done = json(&body);
    assert_eq!(
        (done["state"].as_str(), done["relay_state"].as_str()),
        (Some("confirmed"), Some("disconnected")),
        "{done}"
    );

    let (status, metrics) = http(&addr, "GET", "/metrics", None, None);
    assert_eq!(status, 200);
    // Three collection sessions and one command session.
    assert!(metrics.contains("gridedge_hes_sessions_total{outcome=\"ok\"} 4"), "{metrics}");
    assert!(metrics.contains("gridedge_commands_total{kind=\"disconnect\",outcome=\"confirmed\"} 1"), "{metrics}");
    assert!(metrics.contains("gridedge_mdms_ingest_batches_total 3"), "{metrics}");
    assert!(
        metrics.contains("gridedge_http_requests_total{method=\"GET\",route=\"/api/v1/fleet\",status=\"200\"} 1"),
        "{metrics}"
    );
    drop(server);

    // The audit log: the command (1 entry), intact.
    let out = gridedge().args(["audit", "verify", "--db"]).arg(&db).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("audit log intact: 1 entry, head hash "), "{text}");
}

#[test]
fn audit_verify_reports_the_first_broken_link() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let db = api::ApiDb::open(&path).unwrap();
    let log = api::AuditLog::new(db.clone());
    for n in 1..=4 {
        let record = api::audit::AuditRecord {
            token_id: Some(1),
            actor: "alice".into(),
            method: "POST".into(),
            route: "/api/v1/commands".into(),
            target: format!("meter GE0000000{n} disconnect"),
            status: 202,
        };
        log.append(record, jiff::Timestamp::now()).unwrap();
    }
    let verify = || {
        let out = gridedge().args(["audit", "verify", "--db"]).arg(&path).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (ok, text) = verify();
    assert!(ok && text.starts_with("audit log intact: 4 entries"), "{text}");

    // Edit entry 3 with SQLite directly: verify fails there.
    db.lock().execute("UPDATE api_audit SET target = 'meter GE00000009 disconnect' WHERE seq = 3", []).unwrap();
    let (ok, text) = verify();
    assert!(!ok);
    assert!(text.starts_with("audit log BROKEN at entry 3: hash does not match"), "{text}");

    // JSON output names the same link.
    let out = gridedge().args(["audit", "verify", "--json", "--db"]).arg(&path).output().unwrap();
    let report = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!((report["first_broken"]["seq"].as_i64(), report["entries"].as_u64()), (Some(3), Some(2)));

    // A file without an audit log is an error, not "intact".
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let out = gridedge().args(["audit", "verify", "--db"]).arg(&empty).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no audit log"), "{}", String::from_utf8_lossy(&out.stderr));
}
