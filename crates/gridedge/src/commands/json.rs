//! JSON renderings of DLMS values for the CLI: the derived serde form of the APDU types,
//! made readable (octet-strings as hex, 12-byte date-times and date-time values as text,
//! visible strings as text).

use dlms::apdu::Apdu;
use dlms::data::Data;
use dlms::datetime::CosemDateTime;
use serde_json::{Value, json};

/// Hex of bytes, uppercase, no separators.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A date-time as JSON: its text form and, when it converts, UTC.
pub fn date_time(dt: &CosemDateTime) -> Value {
    let mut v = json!({ "text": dt.to_string() });
    if let Ok(utc) = dt.to_utc() {
        v["utc"] = json!(utc.to_string());
    }
    v
}

/// One COSEM value as readable JSON.
pub fn data(d: &Data) -> Value {
    match d {
        Data::NullData => Value::Null,
        Data::Array(v) | Data::Structure(v) | Data::CompactArray(_, v) => Value::Array(v.iter().map(data).collect()),
        Data::Boolean(b) => json!(b),
        Data::BitString(b) => json!({ "bits": b.bits, "hex": hex(&b.bytes) }),
        Data::OctetString(b) => match CosemDateTime::from_octets(b) {
            Ok(dt) if b.len() == 12 && dt.validate().is_ok() => date_time(&dt),
            _ => json!(hex(b)),
        },
        Data::VisibleString(b) | Data::Utf8String(b) => json!(String::from_utf8_lossy(b)),
        Data::DateTime(dt) => date_time(dt),
        Data::Date(x) => json!(x.to_string()),
        Data::Time(x) => json!(x.to_string()),
        Data::Float32(f) => json!(f),
        Data::Float64(f) => json!(f),
        Data::DontCare => json!("dont-care"),
        other => other.as_integer().map(|i| json!(i as f64)).unwrap_or(Value::Null),
    }
}

/// Rewrites the derived serde form of `Data` values (`{"type": .., "value": ..}`)
/// inside an APDU tree with [`data`].
fn readable(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            if let (Some(Value::String(_)), Some(_)) = (map.get("type"), map.get("value")) {
                if let Ok(d) = serde_json::from_value::<DataShadow>(Value::Object(map.clone())) {
                    return json!({ "type": d.type_name, "value": readable_data_value(&d.type_name, map["value"].clone()) });
                }
            }
            Value::Object(map.into_iter().map(|(k, v)| (k, readable(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(readable).collect()),
        other => other,
    }
}

#[derive(serde::Deserialize)]
struct DataShadow {
    #[serde(rename = "type")]
    type_name: String,
}

fn readable_data_value(type_name: &str, value: Value) -> Value {
    match (type_name, &value) {
        ("octet-string", Value::Array(bytes)) => {
            let b: Vec<u8> = bytes.iter().filter_map(|x| x.as_u64().map(|n| n as u8)).collect();
            data(&Data::OctetString(b))
        }
        ("visible-string" | "utf8-string", Value::Array(bytes)) => {
            let b: Vec<u8> = bytes.iter().filter_map(|x| x.as_u64().map(|n| n as u8)).collect();
            json!(String::from_utf8_lossy(&b))
        }
        _ => readable(value),
    }
}

/// An APDU as readable JSON: `{"apdu": kind, "fields": ...}`, where `kind` is e.g.
/// "AARQ" or "get-response" and `fields` the APDU's content.
pub fn apdu(a: &Apdu) -> Value {
    let inner = match a {
        Apdu::Aarq(x) => serde_json::to_value(x),
        Apdu::Aare(x) => serde_json::to_value(x),
        Apdu::Rlrq(x) => serde_json::to_value(x),
        Apdu::Rlre(x) => serde_json::to_value(x),
        Apdu::ConfirmedServiceError(x) => serde_json::to_value(x),
        // Drop the outer variant name (it repeats the kind).
        Apdu::Xdlms(x) => serde_json::to_value(x).map(|v| match v {
            Value::Object(m) if m.len() == 1 => m.into_iter().next().map(|(_, v)| v).unwrap_or(Value::Null),
            other => other,
        }),
    };
    json!({ "apdu": a.kind(), "fields": readable(inner.unwrap_or(Value::Null)) })
}
