//! The envelope of a forwarded push on a message bus: UTF-8 JSON, binary fields in
//! lower-case hex, so an operator can read the topic with `mosquitto_sub`:
//!
//! ```json
//! {"version":1,"dcu":"DCU-0001","dcu_address":"127.0.0.1:40123","serial":"GE00000001",
//!  "system_title":"4752443030303031","source_wport":1,"destination_wport":102,
//!  "apdu":"0f00000001...","forwarded_at":"2026-11-02T10:15:00Z"}
//! ```
//!
//! Topic: `{prefix}/{dcu}/push` (one topic per DCU; the HES subscribes to `{prefix}/+/push`).

use serde::{Deserialize, Serialize};

use crate::push::{ForwardError, ForwardedPush};
use crate::scenario::DcuId;

/// Envelope format version.
pub const ENVELOPE_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope {
    version: u32,
    dcu: String,
    dcu_address: std::net::SocketAddr,
    serial: Option<String>,
    system_title: Option<String>,
    source_wport: u16,
    destination_wport: u16,
    apdu: String,
    forwarded_at: jiff::Timestamp,
}

/// The topic a DCU publishes its pushes on.
pub fn topic(prefix: &str, dcu: &DcuId) -> String {
    format!("{prefix}/{dcu}/push")
}

/// The topic filter matching every DCU's pushes.
pub fn topic_filter(prefix: &str) -> String {
    format!("{prefix}/+/push")
}

/// Encodes a push as its JSON envelope.
pub fn encode(push: &ForwardedPush) -> Vec<u8> {
    let e = Envelope {
        version: ENVELOPE_VERSION,
        dcu: push.dcu.0.clone(),
        dcu_address: push.dcu_address,
        serial: push.serial.clone(),
        system_title: push.system_title.map(|t| to_hex(&t)),
        source_wport: push.source_wport,
        destination_wport: push.destination_wport,
        apdu: to_hex(&push.apdu),
        forwarded_at: push.forwarded_at,
    };
    serde_json::to_vec(&e).unwrap_or_default()
}

/// Decodes a JSON envelope.
///
/// # Errors
/// [`ForwardError::Envelope`] for invalid JSON, another version, bad hex, a system title
/// that is not 8 bytes.
pub fn decode(bytes: &[u8]) -> Result<ForwardedPush, ForwardError> {
    let bad = |m: String| ForwardError::Envelope(m);
    let e: Envelope = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if e.version != ENVELOPE_VERSION {
        return Err(bad(format!("version {} (expected {ENVELOPE_VERSION})", e.version)));
    }
    let system_title = match e.system_title {
        Some(hex) => {
            let v = from_hex(&hex).ok_or_else(|| bad("system_title is not hex".into()))?;
            Some(<[u8; 8]>::try_from(v.as_slice()).map_err(|_| bad(format!("system_title has {} bytes", v.len())))?)
        }
        None => None,
    };
    Ok(ForwardedPush {
        dcu: DcuId(e.dcu),
        dcu_address: e.dcu_address,
        serial: e.serial,
        system_title,
        source_wport: e.source_wport,
        destination_wport: e.destination_wport,
        apdu: from_hex(&e.apdu).ok_or_else(|| bad("apdu is not hex".into()))?,
        forwarded_at: e.forwarded_at,
    })
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    s
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes().chunks(2).map(|p| Some(nibble(*p.first()?)? << 4 | nibble(*p.get(1)?)?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_and_rejects_bad_input() {
        let p = ForwardedPush {
            dcu: DcuId::from("DCU-0001"),
            dcu_address: "127.0.0.1:4059".parse().unwrap(),
            serial: Some("GE00000001".into()),
            system_title: Some(*b"GRD00001"),
            source_wport: 1,
            destination_wport: 102,
            apdu: vec![0x0F, 0, 0, 0, 1, 0xAB],
            forwarded_at: "2026-11-02T10:15:00Z".parse().unwrap(),
        };
        let bytes = encode(&p);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\"apdu\":\"0f00000001ab\""), "{text}");
        assert!(text.contains("\"system_title\":\"4752443030303031\""), "{text}");
        assert_eq!(decode(&bytes).unwrap(), p);
        assert!(decode(b"{}").is_err());
        assert!(decode(text.replace("0f00000001ab", "0g").as_bytes()).is_err());
        assert!(decode(text.replace("\"version\":1", "\"version\":2").as_bytes()).is_err());
        assert_eq!(topic("gridedge/field", &p.dcu), "gridedge/field/DCU-0001/push");
    }
}
