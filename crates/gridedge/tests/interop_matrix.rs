//! The interop matrix (wrapper and HDLC × no authentication / LLS / HLS-GMAC with suite 0
//! authenticated encryption), in both directions: the Python gurux-dlms and dlms-cosem
//! clients read our meter, and `gridedge read` reads a meter built on gurux-dlms. The
//! negative cases (wrong password, wrong key, tampered tag, replayed invocation counter)
//! must each be refused with an error by our meter and by our client.
//!
//! Keys and system titles are the Green Book examples used by every script (see
//! tests/interop/README.md, "The interop matrix").

mod common;

use common::*;
use jiff::{SignedDuration, Timestamp};
use meter::{MeterConfig, SimulatedMeter};
use serde_json::Value;

const EK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
const METER_TITLE: &str = "4D4D4D0000BC614E";
const CLIENT_TITLE: &str = "4D4D4D0000000001";
const SERIAL: &str = "GE20000042";
const SEED: u64 = 4242;

#[derive(Clone, Copy, Debug)]
enum Transport {
    Wrapper,
    Hdlc,
}

#[derive(Clone, Copy, Debug)]
enum Auth {
    None,
    Low,
    HighGmac,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Wrapper => "wrapper",
            Transport::Hdlc => "hdlc",
        }
    }
}

/// Our meter for one matrix column: HDLC or wrapper, management client with LLS or HLS.
fn our_meter(transport: Transport, auth: Auth) -> (Guard, u16) {
    let mut cmd = gridedge();
    cmd.args(["meter", "--port", "0", "--serial", SERIAL, "--seed", &SEED.to_string()])
        .args(["--transport", transport.name()]);
    if let Auth::HighGmac = auth {
        cmd.args(["--management-auth", "high-gmac", "--key-encryption", EK, "--key-authentication", AK])
            .args(["--system-title", METER_TITLE]);
    }
    let (guard, line) = spawn_until(cmd, "listening on");
    let port =
        line.split_whitespace().find_map(|w| w.strip_prefix("127.0.0.1:")).and_then(|p| p.parse().ok()).expect("port");
    (guard, port)
}

fn client_args(auth: Auth, invocation_counter: u32) -> Vec<String> {
    match auth {
        Auth::None => vec![],
        Auth::Low => ["--client", "1", "--auth", "low", "--password", "00000000"].map(String::from).to_vec(),
        Auth::HighGmac => ["--client", "1", "--auth", "high-gmac", "--invocation-counter"]
            .map(String::from)
            .into_iter()
            .chain([invocation_counter.to_string()])
            .collect(),
    }
}

fn python_client(script: &str, port: u16, transport: Transport, extra: &[String]) -> std::process::Output {
    let mut cmd = python();
    cmd.arg(interop_script(script)).args(["127.0.0.1", &port.to_string(), "--transport", transport.name()]).args(extra);
    run(cmd)
}

/// A past 1-hour window of whole quarter hours.
fn window() -> (Timestamp, Timestamp) {
    let to = (Timestamp::now().as_second() - 1800).div_euclid(900) * 900;
    (Timestamp::from_second(to - 3600).unwrap(), Timestamp::from_second(to).unwrap())
}

fn check_reading(got: &Value, from: Timestamp, to: Timestamp) {
    assert_eq!(got["serial"], SERIAL);
    let m = SimulatedMeter::new(SERIAL, SEED, MeterConfig::default()).unwrap();
    let profile = got["profile"].as_array().expect("profile");
    assert_eq!(profile.len(), 5, "4 quarter hours + both ends in [{from}, {to}]");
    let mut t = from;
    for row in profile {
        let time: Timestamp = row["time"].as_str().unwrap().parse().unwrap();
        assert_eq!(time, t);
        let r = m.metrology().registers(t.as_millisecond());
        let values: Vec<u64> = row["values"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(
            values,
            vec![r.active_import_wh, r.active_export_wh, r.reactive_import_varh, r.reactive_export_varh]
        );
        t += SignedDuration::from_mins(15);
    }
}

fn direction1(transport: Transport, auth: Auth) {
    let (_meter, port) = our_meter(transport, auth);
    let (from, to) = window();
    let range = ["--from".to_string(), from.to_string(), "--to".to_string(), to.to_string()];
    // Each client on the same meter starts above the other's invocation counters.
    for (script, ic) in [("gurux_client_read.py", 1), ("dlms_cosem_client_read.py", 100_000)] {
        let out = python_client(script, port, transport, &[client_args(auth, ic), range.to_vec()].concat());
        assert!(
            out.status.success(),
            "{script} {transport:?}/{auth:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        check_reading(&serde_json::from_slice(&out.stdout).unwrap(), from, to);
    }
}

#[test]
fn their_clients_read_our_meter_over_the_wrapper() {
    for auth in [Auth::None, Auth::Low, Auth::HighGmac] {
        direction1(Transport::Wrapper, auth);
    }
}

#[test]
fn their_clients_read_our_meter_over_hdlc() {
    for auth in [Auth::None, Auth::Low, Auth::HighGmac] {
        direction1(Transport::Hdlc, auth);
    }
}

fn refused(out: &std::process::Output, what: &str) {
    assert!(!out.status.success(), "{what} was accepted: {}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error"), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn our_meter_refuses_wrong_password_key_tampered_tag_and_replayed_counter() {
    for transport in [Transport::Wrapper, Transport::Hdlc] {
        let (_low, port) = our_meter(transport, Auth::Low);
        let wrong_pw = ["--client", "1", "--auth", "low", "--password", "wrong"].map(String::from);
        refused(&python_client("gurux_client_read.py", port, transport, &wrong_pw), "wrong password");

        let (_high, port) = our_meter(transport, Auth::HighGmac);
        let base = client_args(Auth::HighGmac, 1);
        for (case, extra) in [("wrong key", "--wrong-key"), ("tampered tag", "--tamper-tag")] {
            let args = [base.clone(), vec![extra.to_string(), "--skip-profile".into()]].concat();
            refused(&python_client("gurux_client_read.py", port, transport, &args), case);
        }
        // A good association moves the meter's counter on; a replay is then refused.
        let ok = python_client("gurux_client_read.py", port, transport, &client_args(Auth::HighGmac, 10_000));
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        let replay = [client_args(Auth::HighGmac, 10_000), vec!["--skip-profile".into()]].concat();
        refused(&python_client("gurux_client_read.py", port, transport, &replay), "replayed invocation counter");
        let replay = [client_args(Auth::HighGmac, 20_000), vec!["--replay-invocation-counter".into()]].concat();
        refused(&python_client("dlms_cosem_client_read.py", port, transport, &replay), "replayed invocation counter");
    }
}

fn gurux_meter(transport: Transport, extra: &[&str]) -> (Guard, u16, Value) {
    let mut dump = python();
    dump.arg(interop_script("gurux_meter.py"))
        .args(["0", "--transport", transport.name()])
        .args(extra)
        .arg("--dump-expected");
    let expected = run_json(dump);
    let mut cmd = python();
    cmd.arg(interop_script("gurux_meter.py"))
        .args(["0", "--transport", transport.name(), "--lifetime", "240"])
        .args(extra);
    let (guard, line) = spawn_until(cmd, "READY");
    let port = line.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("READY <port>");
    (guard, port, expected)
}

fn gridedge_read(port: u16, transport: Transport, extra: &[&str]) -> std::process::Output {
    let mut cmd = gridedge();
    cmd.args(["read", "--host", "127.0.0.1", "--port", &port.to_string(), "--transport", transport.name()])
        .args(["--obis", "1.0.1.8.0.255", "--from", "2024-01-01T00:00:00Z", "--to", "2025-01-01T00:00:00Z"])
        .args(["--timeout", "30"])
        .args(extra);
    run(cmd)
}

const READ_HIGH: [&str; 10] = [
    "--client-address",
    "1",
    "--auth",
    "high-gmac",
    "--key-encryption",
    EK,
    "--key-authentication",
    AK,
    "--system-title",
    CLIENT_TITLE,
];

fn direction2(transport: Transport) {
    let cells: [(&[&str], &[&str]); 3] = [
        (&[], &[]),
        (&["--password", "Secr3t!!"], &["--client-address", "1", "--auth", "low", "--password", "Secr3t!!"]),
        (&["--management-auth", "high-gmac", "--max-pdu", "256"], &READ_HIGH),
    ];
    for (meter_args, read_args) in cells {
        let (_m, port, expected) = gurux_meter(transport, meter_args);
        let out = gridedge_read(port, transport, read_args);
        assert!(out.status.success(), "{transport:?} {read_args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got["serial"], expected["serial"]);
        assert_eq!(got["registers"][0]["raw"].as_f64(), Some(123456.0));
        let entries = got["load_profile"]["entries"].as_array().unwrap();
        let want = expected["profile"].as_array().unwrap();
        assert_eq!(entries.len(), want.len());
        for (row, w) in entries.iter().zip(want) {
            let values: Vec<f64> = row.as_array().unwrap()[2..].iter().map(|v| v.as_f64().unwrap()).collect();
            let want_values: Vec<f64> = w["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            assert_eq!(values, want_values);
        }
    }
}

#[test]
fn gridedge_read_reads_gurux_meters_over_the_wrapper() {
    direction2(Transport::Wrapper);
}

#[test]
fn gridedge_read_reads_gurux_meters_over_hdlc() {
    direction2(Transport::Hdlc);
}

#[test]
fn our_client_refuses_wrong_key_tampered_tags_and_replayed_counters() {
    for transport in [Transport::Wrapper, Transport::Hdlc] {
        let cases: [(&str, &[&str]); 4] = [
            ("wrong key", &["--management-auth", "high-gmac", "--key-encryption", "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"]),
            ("tampered tag", &["--management-auth", "high-gmac", "--tamper-tag"]),
            ("tampered AARE", &["--management-auth", "high-gmac", "--tamper-tag", "aare"]),
            ("replayed counter", &["--management-auth", "high-gmac", "--replay-invocation-counter"]),
        ];
        for (case, meter_args) in cases {
            let (_m, port, _) = gurux_meter(transport, meter_args);
            let out = gridedge_read(port, transport, &[&READ_HIGH[..], &["--no-profile"]].concat());
            assert!(!out.status.success(), "{transport:?} {case} was accepted");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("error:"), "{case}: {stderr}");
        }
    }
}
