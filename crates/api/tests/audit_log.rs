//! The audit log records every state-changing call (allowed or refused) with who, when,
//! route, target and outcome, never a secret; its hash chain verifies, and an edited or
//! deleted row is found at its position.

mod common;

use api::InMemoryRegistry;
use reqwest::Method;
use rusqlite::Connection;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changing_calls_are_chained_and_tampering_is_found() {
    let server = common::start(&[common::reading("M1", 1, 100.0)], InMemoryRegistry::new(), |b, _| b).await;
    // 1: admin provisions a meter with a password (a secret that must not be recorded).
    let (status, _) = server
        .send(
            Method::POST,
            "/api/v1/meters",
            &server.admin,
            Some(json!({"serial": "M7", "host": "127.0.0.1", "authentication": "low", "password": "hunter2-secret"})),
        )
        .await;
    assert_eq!(status, 201);
    // 2: a reader tries to create a token: refused.
    let (status, _) =
        server.send(Method::POST, "/api/v1/tokens", &server.reader, Some(json!({"name": "x", "role": "admin"}))).await;
    assert_eq!(status, 403);
    // 3: no token at all.
    let (status, _) =
        server.send(Method::POST, "/api/v1/commands", "", Some(json!({"meter": "M7", "kind": "disconnect"}))).await;
    assert_eq!(status, 401);
    // 4: an operator edit that is rejected (no reason).
    let (status, _) = server
        .send(
            Method::PUT,
            "/api/v1/meters/M1/readings/active_energy_import/2025-01-06T01:00:00Z",
            &server.operator,
            Some(json!({"value": 1.0, "reason": ""})),
        )
        .await;
    assert_eq!(status, 422);
    // Reads are not audited.
    let _ = server.get("/api/v1/meters", &server.reader).await;

    let (status, page) = server.get("/api/v1/audit", &server.admin).await;
    assert_eq!(status, 200);
    let entries = page["items"].as_array().unwrap();
    let summary: Vec<(i64, &str, &str, &str, &str, u64, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["actor"].as_str().unwrap(),
                e["method"].as_str().unwrap(),
                e["route"].as_str().unwrap(),
                e["target"].as_str().unwrap(),
                e["status"].as_u64().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "ada", "POST", "/api/v1/meters", "meter M7", 201, "success"),
            (2, "rita", "POST", "/api/v1/tokens", "/api/v1/tokens", 403, "refused"),
            (3, "anonymous", "POST", "/api/v1/commands", "/api/v1/commands", 401, "refused"),
            (
                4,
                "otto",
                "PUT",
                "/api/v1/meters/{meter}/readings/{reading_type}/{interval_end}",
                "meter M1 active_energy_import 2025-01-06T01:00:00Z",
                422,
                "rejected"
            ),
        ]
    );
    assert!(entries[2]["token_id"].is_null());
    assert_eq!(entries[0]["prev_hash"], "0".repeat(64));
    assert_eq!(entries[1]["prev_hash"], entries[0]["hash"]);
    assert!(entries[0]["at_ms"].as_i64().unwrap() > 1_700_000_000_000);

    // Nothing in the database holds the password or a token.
    let conn = Connection::open(&server.db_path).unwrap();
    let dump: Vec<String> = conn
        .prepare("SELECT actor || target || route FROM api_audit")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(dump.iter().all(|row| !row.contains("hunter2") && !row.contains("ge_")), "{dump:?}");

    let (_, verified) = server.get("/api/v1/audit/verify", &server.admin).await;
    // The verify call itself is a GET: not audited. 4 entries.
    assert_eq!((verified["intact"].as_bool(), verified["entries"].as_u64()), (Some(true), Some(4)));
    assert_eq!(verified["head_hash"], entries[3]["hash"]);
    let report = api::verify_file(&server.db_path).unwrap();
    assert!(report.is_intact());

    // Someone edits entry 3 (hides that the call was anonymous): the chain breaks there.
    conn.execute("UPDATE api_audit SET actor = 'ada' WHERE seq = 3", []).unwrap();
    let report = api::verify_file(&server.db_path).unwrap();
    let broken = report.first_broken.clone().unwrap();
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("altered"), "{}", broken.reason);
    assert_eq!(report.entries, 2, "entries 1 and 2 verified");
    let (_, verified) = server.get("/api/v1/audit/verify", &server.admin).await;
    assert_eq!((verified["intact"].as_bool(), verified["first_broken"]["seq"].as_i64()), (Some(false), Some(3)));

    // Restore it, then delete entry 2: the gap is found at 2.
    conn.execute("UPDATE api_audit SET actor = 'anonymous' WHERE seq = 3", []).unwrap();
    assert!(api::verify_file(&server.db_path).unwrap().is_intact());
    conn.execute("DELETE FROM api_audit WHERE seq = 2", []).unwrap();
    let broken = api::verify_file(&server.db_path).unwrap().first_broken.unwrap();
    assert_eq!(broken.seq, 2);
    assert!(broken.reason.contains("missing"), "{}", broken.reason);
}
