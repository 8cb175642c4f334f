//! Prepayment end to end, through the real binaries and real DLMS/COSEM over TCP:
//! `gridedge vend` sells a token, `gridedge token enter` delivers it through the HES to a
//! running `gridedge meter --prepaid`, the meter's credit and relay change (read back over
//! DLMS with the public client), and the delivery is recorded against the vend. Replayed and
//! other-meter tokens are refused with the standard's codes; the keypad (the meter's stdin)
//! takes tokens too.
//!
//! Each delivery is recorded twice: against the vend in the vending database
//! (`token_event`), and in the MDMS as an IEC 61968-9 EndDeviceEvent (token accepted /
//! rejected) beside the meter's readings.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use common::{Guard, gridedge};
use dlms::Obis;
use dlms::association::Authentication;
use dlms::data::Data;
use dlms::obis::codes;
use dlms::xdlms::CosemAttributeDescriptor;
use hes::MeterEndpoint;
use hes::session::{DlmsSession, SessionTimeouts};
use model::MeterId;
use serde_json::Value;
use vending::VendStore;

/// A DKGA04 vending key for this test (passed through the environment, as in production).
const VENDING_KEY: &str = "00112233445566778899AABBCCDDEEFF01234567";
const TOKEN_GATEWAY: Obis = Obis::new(0, 0, 19, 40, 0, 255);
const TOKEN_CREDIT: Obis = Obis::new(0, 0, 19, 10, 0, 255);

/// A prepaid meter process with its keypad (stdin) and display (stdout lines).
struct PrepaidMeter {
    _guard: Guard,
    keypad: ChildStdin,
    display: Receiver<String>,
    port: u16,
}

fn spawn_prepaid_meter(serial: &str) -> PrepaidMeter {
    let mut cmd = gridedge();
    cmd.args(["meter", "--prepaid", "--port", "0", "--serial", serial, "--seed", "7", "--initial-credit-kwh", "0"])
        .env("GRIDEDGE_VENDING_KEY", VENDING_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("spawn gridedge meter --prepaid");
    let keypad = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, display) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let ready = display.recv_timeout(Duration::from_secs(30)).expect("ready line");
    assert!(ready.contains("prepaid"), "{ready}");
    let port = ready
        .split_whitespace()
        .find_map(|w| w.strip_prefix("127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .expect("port in the ready line");
    PrepaidMeter { _guard: Guard(child), keypad, display, port }
}

fn run(mut cmd: Command) -> Output {
    cmd.env("GRIDEDGE_VENDING_KEY", VENDING_KEY).output().expect("run gridedge")
}

fn vend(db: &Path, serial: &str, amount: &str, request_id: &str) -> Output {
    let mut cmd = gridedge();
    cmd.args(["vend", "--meter", serial, "--amount", amount, "--currency", "GBP", "--request-id", request_id])
        .args(["--price-per-kwh", "0.25", "--operator", "e2e-cashier", "--db"])
        .arg(db);
    run(cmd)
}

fn vended_token(db: &Path, serial: &str, amount: &str, request_id: &str) -> String {
    let out = vend(db, serial, amount, request_id);
    assert!(out.status.success(), "vend failed: {}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.len() == 20 && token.bytes().all(|b| b.is_ascii_digit()), "{token:?}");
    token
}

/// `gridedge token enter --json`: (exit code, JSON answer).
fn deliver(db: &Path, port: u16, token: &str) -> (i32, Value) {
    let mut cmd = gridedge();
    cmd.args(["token", "enter", "--host", "127.0.0.1", "--port", &port.to_string(), "--json", "--db"])
        .arg(db)
        .arg("--mdms-db")
        .arg(db.with_file_name("mdms.db"))
        .arg(token);
    let out = run(cmd);
    let json =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().expect("exit code"), json)
}

/// What the meter shows over DLMS (public client, no authentication).
#[derive(Debug)]
struct MeterView {
    credit_wh: i32,
    relay_closed: bool,
    control_state: u8,
    gateway_token: Vec<u8>,
    delivery_method: u8,
}

fn read_meter(port: u16) -> MeterView {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let endpoint = MeterEndpoint {
            serial: MeterId("GE00000001".into()),
            address: ([127, 0, 0, 1], port).into(),
            client_sap: 16,
            server_sap: 1,
            authentication: Authentication::None,
            security: None,
            link: hes::transport::LinkLayer::Wrapper,
        };
        let mut s = DlmsSession::open(&endpoint, SessionTimeouts::default()).await.expect("association");
        let mut get =
            async |class_id, ln, id| s.get(CosemAttributeDescriptor::new(class_id, ln, id), None).await.expect("GET");
        let credit_wh = match get(112, TOKEN_CREDIT, 2).await {
            Data::DoubleLong(v) => v,
            other => panic!("credit: {other:?}"),
        };
        let relay_closed = matches!(get(70, codes::DISCONNECT_CONTROL, 2).await, Data::Boolean(true));
        let Data::Enum(control_state) = get(70, codes::DISCONNECT_CONTROL, 3).await else { panic!("state") };
        let Data::OctetString(gateway_token) = get(115, TOKEN_GATEWAY, 2).await else { panic!("token") };
        let Data::Enum(delivery_method) = get(115, TOKEN_GATEWAY, 5).await else { panic!("method") };
        s.release().await.ok();
        MeterView { credit_wh, relay_closed, control_state, gateway_token, delivery_method }
    })
}

#[test]
fn vend_deliver_through_the_hes_and_the_meter_credit_relay_and_records_follow() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vend.db");
    let mut meter = spawn_prepaid_meter("GE00000001");

    // No credit: the prepayment has opened the relay (local_disconnect -> ready_for_reconnection).
    let before = read_meter(meter.port);
    assert_eq!((before.credit_wh, before.relay_closed, before.control_state), (0, false, 2), "{before:?}");

    // Vend 20.00 GBP at 0.25 GBP/kWh = 80.0 kWh; a retry returns the same token, a reuse of
    // the request id for another amount is refused.
    let token = vended_token(&db, "GE00000001", "20.00", "e2e-0001");
    assert_eq!(vended_token(&db, "GE00000001", "20.00", "e2e-0001"), token);
    let conflict = vend(&db, "GE00000001", "25.00", "e2e-0001");
    assert!(!conflict.status.success());
    assert!(String::from_utf8_lossy(&conflict.stderr).contains("already used"));

    // Deliver through the HES (management client, LLS, Token gateway enter).
    let (code, answer) = deliver(&db, meter.port, &token);
    assert_eq!(code, 0, "{answer}");
    assert_eq!(answer["accepted"], true);
    assert_eq!(answer["status_code"], 3);
    assert_eq!(answer["display"], "ACCEPT");
    assert_eq!(answer["description"][2], "credit 80.0 kWh");
    assert_eq!(answer["meter"], "GE00000001");
    assert_eq!(answer["request_id"], "e2e-0001");
    assert_eq!(answer["mdms_event"]["event_type"], "3.20.81.44");

    // The meter: 80 kWh of credit (less the few seconds of consumption since), relay closed
    // again by itself (control mode 6, local_reconnect), the token in the gateway.
    let after = read_meter(meter.port);
    assert!(after.credit_wh <= 80_000 && after.credit_wh > 79_000, "{after:?}");
    assert_eq!((after.relay_closed, after.control_state), (true, 1), "{after:?}");
    assert_eq!(after.gateway_token, token.as_bytes());
    assert_eq!(after.delivery_method, 0, "remote communications");

    // The records: one vend, one accepted token event linked to it.
    let store = VendStore::open(&db).unwrap();
    let vends = store.vends("GE00000001").unwrap();
    assert_eq!(vends.len(), 1);
    assert_eq!((vends[0].token.to_string(), vends[0].operator.as_str()), (token.clone(), "e2e-cashier"));
    assert_eq!((vends[0].amount_minor, vends[0].energy_tenths_kwh), (2000, 800));
    let events = store.token_events("GE00000001").unwrap();
    assert_eq!(events.len(), 1);
    assert!(events[0].event.accepted);
    assert_eq!((events[0].event.status_code, events[0].request_id.as_deref()), (3, Some("e2e-0001")));
    drop(store);

    // Replayed: refused as used (validation failure), recorded, credit unchanged.
    let (code, answer) = deliver(&db, meter.port, &token);
    assert_eq!((code, answer["status_code"].as_u64(), answer["display"].as_str()), (2, Some(6), Some("USED")));
    // Another meter's token: authentication (CRC) failure.
    let foreign = vended_token(&db, "GE00000002", "1.00", "e2e-0002");
    let (code, answer) = deliver(&db, meter.port, &foreign);
    assert_eq!((code, answer["status_code"].as_u64(), answer["display"].as_str()), (2, Some(5), Some("REJECT")));
    let view = read_meter(meter.port);
    assert!(view.credit_wh > 79_000 && view.credit_wh <= 80_000, "{view:?}");
    let events = VendStore::open(&db).unwrap().token_events("GE00000001").unwrap();
    assert_eq!(
        events.iter().map(|e| (e.event.status_code, e.event.accepted)).collect::<Vec<_>>(),
        [(3, true), (6, false), (5, false)]
    );
    // The MDMS has the same three deliveries as end-device events of the meter.
    let mdms = mdms::SqliteStore::open(dir.path().join("mdms.db")).unwrap();
    let query = mdms::events::EventQuery::range(jiff::Timestamp::MIN, jiff::Timestamp::MAX)
        .for_meters(vec![MeterId("GE00000001".into())]);
    let stored = mdms::events::EventStore::events(&mdms, &query).unwrap();
    let summary: Vec<(String, String, String, Option<String>)> = stored
        .iter()
        .map(|s| {
            (
                s.event.event_type.to_string(),
                s.event.source.clone(),
                s.event.details.get("token_status").cloned().unwrap_or_default(),
                s.event.details.get("vend_request_id").cloned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("3.20.81.44".to_string(), "prepayment".to_string(), "3".to_string(), Some("e2e-0001".to_string())),
            ("3.20.81.85".to_string(), "prepayment".to_string(), "6".to_string(), Some("e2e-0001".to_string())),
            ("3.20.81.85".to_string(), "prepayment".to_string(), "5".to_string(), Some("e2e-0002".to_string())),
        ]
    );

    // The keypad: a second token typed on the meter (with the receipt's dashes).
    let keyed = vended_token(&db, "GE00000001", "5.00", "e2e-0003");
    let grouped: String =
        keyed.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("-");
    writeln!(meter.keypad, "{grouped}").unwrap();
    meter.keypad.flush().unwrap();
    let shown = meter.display.recv_timeout(Duration::from_secs(30)).expect("keypad answer");
    assert!(shown.starts_with("keypad: ACCEPT Accepted (credit 20.0 kWh)"), "{shown}");
    let view = read_meter(meter.port);
    assert!(view.credit_wh > 99_000 && view.credit_wh <= 100_000, "{view:?}");
    assert_eq!(view.delivery_method, 2, "manual entry");
}
