//! `gridedge firmware` and `gridedge command` end to end: a vendor key and signed images
//! made with the CLI, `gridedge meter --fota-public-key`, and tracked commands over TCP —
//! disconnect, reconnect, time sync, TOU, load limit, firmware update (and a refused
//! image) — listed and shown from the command database.

mod common;

use common::*;
use jiff::{SignedDuration, Timestamp};

fn command(action: &str, port: u16, db: &std::path::Path) -> std::process::Command {
    let mut cmd = gridedge();
    cmd.args(["command", action, "--host", "127.0.0.1", "--port", &port.to_string(), "--user", "alice", "--db"]);
    cmd.arg(db);
    cmd
}

#[test]
fn firmware_and_commands_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("vendor.key");
    let keygen = run_json({
        let mut c = gridedge();
        c.args(["firmware", "keygen", "--out"]).arg(&key);
        c
    });
    let public_key = keygen["public_key"].as_str().unwrap().to_string();
    assert_eq!(public_key.len(), 128);
    assert!(!std::fs::read_to_string(&key).unwrap().contains(&public_key), "the key file holds the private key");
    let payload = dir.path().join("payload.bin");
    std::fs::write(&payload, (0..20_000u32).map(|i| (i % 253) as u8).collect::<Vec<u8>>()).unwrap();
    let image = dir.path().join("fw.gefw");
    let signed = run_json({
        let mut c = gridedge();
        c.args(["firmware", "sign", "--key"]).arg(&key).args(["--version", "GRD-9.9.9", "--payload"]).arg(&payload);
        c.arg("--out").arg(&image);
        c
    });
    assert_eq!(signed["image_size"], 77 + 9 + 20_000);
    let inspected = run_json({
        let mut c = gridedge();
        c.args(["firmware", "inspect"]).arg(&image).args(["--public-key", &public_key]);
        c
    });
    assert_eq!(
        (inspected["version"].as_str(), inspected["signature_valid"].as_bool()),
        (Some("GRD-9.9.9"), Some(true))
    );

    let mut meter = gridedge();
    meter.args(["meter", "--port", "0", "--serial", "GE50000001", "--seed", "5", "--fota-public-key", &public_key]);
    let (_meter, line) = spawn_until(meter, "listening on");
    let port: u16 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .expect("port in the ready line");
    let db = dir.path().join("commands.db");

    let off = run_json(command("disconnect", port, &db));
    assert_eq!((off["state"].as_str(), off["meter"].as_str()), (Some("confirmed"), Some("GE50000001")));
    assert_eq!(off["result"]["control_state"], "disconnected");
    let on = run_json(command("reconnect", port, &db));
    assert_eq!(on["result"]["control_state"], "connected");
    let sync = run_json(command("time-sync", port, &db));
    assert_eq!(sync["state"], "confirmed");
    assert!(sync["result"]["drift_after_s"].as_f64().unwrap().abs() <= 1.0);
    let activation = (Timestamp::now() + SignedDuration::from_hours(2)).round(jiff::Unit::Second).unwrap();
    let mut tou = command("tou", port, &db);
    tou.args(["--name", "NIGHT", "--switch", "00:00=T2", "--switch", "07:00=T1", "--switch", "21:00=T2"]);
    tou.args(["--activate-at", &activation.to_string()]);
    let tou = run_json(tou);
    assert_eq!(tou["result"]["pending_activation"], activation.to_string());
    let mut limit = command("limit", port, &db);
    limit.args(["--threshold-w", "7000", "--min-over-s", "30"]);
    assert_eq!(run_json(limit)["result"]["threshold_normal_w"], 7000);
    let mut fota = command("fota", port, &db);
    fota.arg("--image").arg(&image);
    let fota = run_json(fota);
    assert_eq!(fota["result"]["version_after"], "GRD-9.9.9");
    assert_eq!(fota["result"]["blocks"], (77 + 9 + 20_000u32).div_ceil(512));

    // An image signed with another key: refused by the meter, exit code 2, state failed.
    let other_key = dir.path().join("other.key");
    run_json({
        let mut c = gridedge();
        c.args(["firmware", "keygen", "--out"]).arg(&other_key);
        c
    });
    let rogue = dir.path().join("rogue.gefw");
    run_json({
        let mut c = gridedge();
        c.args(["firmware", "sign", "--key"]).arg(&other_key).args(["--version", "GRD-6.6.6", "--payload"]);
        c.arg(&payload).arg("--out").arg(&rogue);
        c
    });
    let mut bad = command("fota", port, &db);
    bad.arg("--image").arg(&rogue);
    let out = run(bad);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let failed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(failed["state"], "failed");
    assert!(failed["reason"].as_str().unwrap().contains("verification failed"), "{failed}");

    let list = run_json({
        let mut c = gridedge();
        c.args(["command", "list", "--db"]).arg(&db);
        c
    });
    let kinds: Vec<&str> = list.as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["firmware", "firmware", "load-limit", "tou-change", "time-sync", "reconnect", "disconnect"]);
    let show = run_json({
        let mut c = gridedge();
        c.args(["command", "show", &fota["id"].to_string(), "--db"]).arg(&db);
        c
    });
    let events: Vec<&str> = show["audit"].as_array().unwrap().iter().map(|a| a["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["queued", "sent", "progress", "confirmed"]);
    assert!(show["audit"].as_array().unwrap().iter().all(|a| a["user"] == "alice"));
}
