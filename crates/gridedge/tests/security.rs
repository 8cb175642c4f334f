//! Suite 0 and HLS mechanism 5 (GMAC) end to end over TCP: `gridedge read` against
//! `gridedge meter --management-auth high-gmac`, with the negative cases (wrong key,
//! missing authentication) refused with a clear error, and invocation counters that a
//! meter remembers across associations.

mod common;

use common::*;

const EK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

fn spawn_secure_meter() -> (Guard, u16) {
    let mut cmd = gridedge();
    cmd.args(["meter", "--port", "0", "--serial", "GE00000077", "--management-auth", "high-gmac"]).args([
        "--key-encryption",
        EK,
        "--key-authentication",
        AK,
    ]);
    let (guard, line) = spawn_until(cmd, "listening on");
    assert!(line.contains("HLS-GMAC"), "{line}");
    let port =
        line.split_whitespace().find_map(|w| w.strip_prefix("127.0.0.1:")).and_then(|p| p.parse().ok()).expect("port");
    (guard, port)
}

fn read(port: u16, extra: &[&str]) -> std::process::Output {
    let mut cmd = gridedge();
    cmd.args(["read", "--host", "127.0.0.1", "--port", &port.to_string(), "--no-profile", "--timeout", "5"])
        .args(["--obis", "1.0.1.8.0.255"])
        .args(extra);
    run(cmd)
}

#[test]
fn hls_gmac_read_with_suite0_and_counter_persistence() {
    let (_meter, port) = spawn_secure_meter();
    let dir = tempfile::tempdir().unwrap();
    let counters = dir.path().join("ic.txt");
    let counters = counters.to_str().unwrap();
    let secure = ["--client-address", "1", "--auth", "high-gmac", "--key-encryption", EK, "--key-authentication", AK];

    // First association, counters kept in a file.
    let out = read(port, &[&secure[..], &["--counter-file", counters]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["serial"], "GE00000077");
    assert_eq!(v["registers"][0]["unit_symbol"], "Wh");
    assert!(v["registers"][0]["value"].as_f64().unwrap() > 0.0);
    // The counter file now holds our outgoing counter: a second association continues
    // above it without any refusal.
    assert!(std::fs::read_to_string(counters).unwrap().lines().any(|l| !l.trim().is_empty()));
    let out = read(port, &[&secure[..], &["--counter-file", counters]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("refused our invocation counter"));

    // Without the file our counter restarts low: the meter refuses it as a replay and
    // tells us the lowest it accepts; the HES raises its counter once and succeeds.
    let out = read(port, &secure);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused our invocation counter"));
}

#[test]
fn wrong_key_and_missing_authentication_are_refused() {
    let (_meter, port) = spawn_secure_meter();
    let wrong = ["--client-address", "1", "--auth", "high-gmac"];
    let out = read(
        port,
        &[&wrong[..], &["--key-encryption", "00000000000000000000000000000000", "--key-authentication", AK]].concat(),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot associate"), "{stderr}");
    assert!(stderr.contains("Deciphering") || stderr.contains("deciphering") || stderr.contains("tag"), "{stderr}");

    let out = read(
        port,
        &[&wrong[..], &["--key-encryption", EK, "--key-authentication", "00000000000000000000000000000000"]].concat(),
    );
    assert!(!out.status.success(), "a wrong authentication key must fail");

    // The management client without HLS is refused; the public client still reads.
    let out = read(port, &["--client-address", "1", "--auth", "low", "--password", "00000000"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejected"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = read(port, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The meter keeps the last accepted invocation counter of its clients across a restart
/// (`--counter-file`): after a restart, a client whose counter restarts low is refused as
/// a replay, and the HES recovers by raising its counter to what the meter says.
#[test]
fn meter_persists_invocation_counters_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let meter_counters = dir.path().join("meter-ic.txt");
    let start = || {
        let mut cmd = gridedge();
        cmd.args(["meter", "--port", "0", "--serial", "GE00000078", "--management-auth", "high-gmac"])
            .args(["--key-encryption", EK, "--key-authentication", AK, "--counter-file"])
            .arg(&meter_counters);
        let (guard, line) = spawn_until(cmd, "listening on");
        let port: u16 = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("127.0.0.1:"))
            .and_then(|p| p.parse().ok())
            .expect("port");
        (guard, port)
    };
    let secure = ["--client-address", "1", "--auth", "high-gmac", "--key-encryption", EK, "--key-authentication", AK];

    let (meter, port) = start();
    let out = read(port, &secure);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("refused our invocation counter"));
    drop(meter); // the meter process is killed

    let (_meter, port) = start();
    let out = read(port, &secure);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused our invocation counter"),
        "the restarted meter must remember the client's counter: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
