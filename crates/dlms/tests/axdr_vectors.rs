//! Known-answer tests: every `axdr/data` vector of the shared DLMS test data
//! (`/work/shared/testdata/dlms/vectors.json`) is decoded, checked field by field against
//! the vector's `expected` block, and re-encoded byte-identically.
//!
//! Sources of the vectors: u9n/dlms-cosem test suite and toreamun/amshan (Kaifa and Aidon
//! HAN frames); see the vector file's `source` entries.

use std::path::PathBuf;

use dlms::datetime::{CosemDate, CosemDateTime, CosemTime, DateTimeError, DateTimeField};
use dlms::unit::ScalerUnit;
use dlms::{Data, DecodeError, Obis, Reader};
use jiff::Timestamp;
use jiff::civil;
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/dlms/vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text).expect("vectors.json is JSON");
    json["vectors"]
        .as_array()
        .expect("vectors array")
        .iter()
        .filter(|v| v["category"] == "axdr/data")
        .cloned()
        .collect()
}

fn hex_of(v: &Value, key: &str) -> Vec<u8> {
    let s = v["inputs"][key].as_str().unwrap_or_else(|| panic!("{}: inputs.{key} missing", v["id"]));
    // Some inputs carry a comment after the hex ("0C07E4... (length 0C + value, ...)").
    let hex_part = s.split_whitespace().next().unwrap_or_default();
    hex::decode(hex_part).unwrap_or_else(|e| panic!("{}: inputs.{key}: {e}", v["id"]))
}

fn expected<'a>(v: &'a Value, key: &str) -> &'a Value {
    let e = &v["expected"][key];
    assert!(
        !e.is_null() || v["expected"].as_object().is_some_and(|o| o.contains_key(key)),
        "{}: expected.{key}",
        v["id"]
    );
    e
}

fn expected_str<'a>(v: &'a Value, key: &str) -> &'a str {
    expected(v, key).as_str().unwrap_or_else(|| panic!("{}: expected.{key} is not a string", v["id"]))
}

/// The leading number of an annotated value such as `"6 = Saturday (1 = Monday)"` or `"35 = V"`.
fn leading_int(s: &str) -> i64 {
    let end =
        s.char_indices().find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && *c == '-'))).map_or(s.len(), |(i, _)| i);
    s[..end].parse().unwrap_or_else(|e| panic!("no leading integer in {s:?}: {e}"))
}

/// `"FF ..."` / `"0x8000 ..."` annotations mean "not specified".
fn says_not_specified(s: &str) -> bool {
    s.starts_with("FF") || s.starts_with("0x8000")
}

/// Decodes exactly one `Data` value and checks the re-encoding is byte-identical.
fn decode_one(v: &Value) -> (Vec<u8>, Data) {
    let bytes = hex_of(v, "encoded");
    let data = Data::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", v["id"]));
    assert_eq!(data.to_bytes(), bytes, "{}: re-encoding differs", v["id"]);
    (bytes, data)
}

fn check_octet_string_date_time(v: &Value) {
    let (_, data) = decode_one(v);
    let Data::OctetString(octets) = &data else { panic!("{}: not an octet-string: {data:?}", v["id"]) };
    assert_eq!(*octets, hex_of(v, "date_time_value_12_bytes"));
    let dt = data.as_date_time().expect("12-byte octet-string is a date-time");

    assert_eq!(dt.date.year(), Some(expected(v, "year").as_u64().unwrap() as u16));
    assert_eq!(dt.date.month(), Some(expected(v, "month").as_u64().unwrap() as u8));
    assert_eq!(dt.date.day_of_month(), Some(expected(v, "day_of_month").as_u64().unwrap() as u8));
    assert_eq!(dt.date.day_of_week(), Some(leading_int(expected_str(v, "day_of_week")) as u8));
    assert_eq!(dt.date.weekday(), Some(jiff::civil::Weekday::Saturday));
    assert_eq!(dt.time.hour(), Some(expected(v, "hour").as_u64().unwrap() as u8));
    assert_eq!(dt.time.minute(), Some(expected(v, "minute").as_u64().unwrap() as u8));
    assert_eq!(dt.time.second(), Some(expected(v, "second").as_u64().unwrap() as u8));
    assert!(says_not_specified(expected_str(v, "hundredths")));
    assert_eq!(dt.time.hundredths(), None);
    assert!(says_not_specified(expected_str(v, "deviation")));
    assert_eq!(dt.deviation_minutes(), None);
    let status = u8::from_str_radix(expected_str(v, "clock_status"), 16).unwrap();
    assert_eq!(dt.clock_status().map(|s| s.0), Some(status));
    assert_eq!(dt.validate(), Ok(()));

    let iso: civil::DateTime = expected_str(v, "iso_local").parse().unwrap();
    assert_eq!(dt.to_local_naive(), Ok(iso));
    assert_eq!(dt.to_utc(), Err(DateTimeError::NotSpecified { field: DateTimeField::Deviation }));

    // The same 12 bytes after a bare length byte (OPTIONAL octet-string in a
    // data-notification header).
    let prefixed = hex_of(v, "length_prefixed_form");
    let mut r = Reader::new(&prefixed);
    let len = r.length("date-time length", 1).unwrap();
    let body = r.take(len, "date-time").unwrap();
    r.expect_end("date-time").unwrap();
    assert_eq!(CosemDateTime::from_octets(body), Ok(dt));

    assert_eq!(Data::OctetString(dt.to_octets()).to_bytes(), hex_of(v, "encoded"));
}

fn check_raw_date_time_with_deviation(v: &Value) {
    let raw = hex_of(v, "encoded");
    let dt = CosemDateTime::from_octets(&raw).unwrap();
    assert_eq!(dt.to_octets(), raw, "{}: re-encoding differs", v["id"]);

    let deviation = expected(v, "deviation_minutes").as_i64().unwrap() as i16;
    assert_eq!(dt.deviation_minutes(), Some(deviation));
    if let Some(dow) = v["expected"]["day_of_week"].as_str() {
        assert!(says_not_specified(dow));
        assert_eq!(dt.date.day_of_week(), None);
    }
    let iso = expected_str(v, "iso");
    let instant: Timestamp = iso.parse().unwrap();
    assert_eq!(dt.to_utc(), Ok(instant), "{}", v["id"]);
    // The local fields are the wall-clock part of the ISO text.
    let local: civil::DateTime = iso[..19].parse().unwrap();
    assert_eq!(dt.to_local_naive(), Ok(local));
    // The ISO offset is the negated deviation.
    let offset = &iso[19..];
    assert_eq!(dt.to_string()[dt.to_string().len() - 6..], *offset);

    // Other direction: the instant and deviation give back the same bytes, except the
    // day of week, which from_utc fills in.
    let status = dt.clock_status().unwrap();
    let mut back = CosemDateTime::from_utc(instant, Some(deviation), status).unwrap();
    assert_eq!(back.date.weekday(), Some(local.weekday()));
    back.date.day_of_week = dt.date.day_of_week;
    assert_eq!(back.to_octets(), raw);
}

fn check_raw_date_time_without_deviation(v: &Value) {
    let raw = hex_of(v, "encoded");
    let dt = CosemDateTime::from_octets(&raw).unwrap();
    assert_eq!(dt.to_octets(), raw);
    let naive: civil::DateTime = expected_str(v, "iso_naive").parse().unwrap();
    assert_eq!(dt.to_local_naive(), Ok(naive));
    assert_eq!(dt.time.hundredths(), Some(u8::from_str_radix(expected_str(v, "hundredths"), 16).unwrap()));
    assert!(says_not_specified(expected_str(v, "deviation")));
    assert_eq!(dt.deviation_minutes(), None);
    assert_eq!(dt.to_utc(), Err(DateTimeError::NotSpecified { field: DateTimeField::Deviation }));
}

fn check_date(v: &Value) {
    let (_, data) = decode_one(v);
    let Data::Date(d) = data else { panic!("{}: not a date: {data:?}", v["id"]) };
    let expect: civil::Date = expected_str(v, "date").parse().unwrap();
    assert_eq!(d.to_civil(), Ok(expect));
    assert_eq!((d.year(), d.month(), d.day_of_month()), (Some(2024), Some(11), Some(21)));
    assert!(says_not_specified(expected_str(v, "day_of_week")));
    assert_eq!(d.day_of_week(), None);
    assert_eq!(d.validate(), Ok(()));
    let mut from_civil = CosemDate::from_civil(expect).unwrap();
    assert_eq!(from_civil.weekday(), Some(expect.weekday()));
    from_civil.day_of_week = d.day_of_week;
    assert_eq!(Data::Date(from_civil).to_bytes(), hex_of(v, "encoded"));
}

fn check_time(v: &Value) {
    let (_, data) = decode_one(v);
    let Data::Time(t) = data else { panic!("{}: not a time: {data:?}", v["id"]) };
    let text = expected_str(v, "time");
    let expect: civil::Time = text.parse().unwrap();
    assert_eq!(t.to_civil(), Ok(expect));
    assert_eq!(t.hundredths(), Some((expect.subsec_nanosecond() / 10_000_000) as u8));
    assert_eq!(t.to_string(), text);
    assert_eq!(Data::Time(CosemTime::from_civil(expect)).to_bytes(), hex_of(v, "encoded"));
}

fn check_unspecified_date_then_time(v: &Value) {
    // Two A-XDR values back to back: a date, then a time.
    let bytes = hex_of(v, "encoded");
    let mut r = Reader::new(&bytes);
    let date = Data::decode(&mut r).unwrap();
    let time = Data::decode(&mut r).unwrap();
    r.expect_end("date + time").unwrap();
    assert!(expected(v, "date").is_null() && expected(v, "time").is_null());
    let Data::Date(d) = date else { panic!("not a date: {date:?}") };
    let Data::Time(t) = time else { panic!("not a time: {time:?}") };
    assert_eq!((d.year(), d.month(), d.day_of_month(), d.day_of_week()), (None, None, None, None));
    assert_eq!((t.hour(), t.minute(), t.second(), t.hundredths()), (None, None, None, None));
    assert_eq!(d.to_civil(), Err(DateTimeError::NotSpecified { field: DateTimeField::Year }));
    assert_eq!(t.to_civil(), Err(DateTimeError::NotSpecified { field: DateTimeField::Hour }));
    assert_eq!((d, t), (CosemDate::NOT_SPECIFIED, CosemTime::NOT_SPECIFIED));
    assert_eq!(format!("{d} {t}"), "*-*-* *:*:*");
    let mut out = date.to_bytes();
    out.extend(time.to_bytes());
    assert_eq!(out, bytes);
}

fn check_visible_string(v: &Value) {
    let (_, data) = decode_one(v);
    assert_eq!(data, Data::VisibleString(expected_str(v, "value").as_bytes().to_vec()));
}

/// `"long-unsigned 0x0903 = 2307"`: the A-XDR type name and the integer.
fn check_raw(v: &Value, raw: &Data) {
    let text = expected_str(v, "raw");
    let (type_name, rest) = text.split_once(' ').unwrap();
    let tag = match type_name {
        "long-unsigned" => 18,
        "long" => 16,
        "double-long-unsigned" => 6,
        other => panic!("{}: unhandled type {other}", v["id"]),
    };
    assert_eq!(raw.tag(), tag, "{}", v["id"]);
    let value: i128 = rest.rsplit_once("= ").unwrap().1.parse().unwrap();
    assert_eq!(raw.as_integer(), Some(value));
}

fn check_register_with_scaler_unit(v: &Value) {
    let (_, data) = decode_one(v);
    let [Data::OctetString(ln), raw, su_data] = data.as_sequence().expect("structure") else {
        panic!("{}: unexpected shape {data:?}", v["id"])
    };
    let obis = Obis::from_slice(ln).expect("6-byte logical name");
    assert_eq!(obis.to_string(), expected_str(v, "obis"));
    check_raw(v, raw);

    let su = ScalerUnit::from_data(su_data).unwrap();
    assert_eq!(i64::from(su.scaler), expected(v, "scaler").as_i64().unwrap());
    let unit_text = expected_str(v, "unit"); // "35 = V"
    assert_eq!(i64::from(su.unit.0), leading_int(unit_text));
    assert_eq!(Some(unit_text.rsplit_once("= ").unwrap().1), su.unit.symbol());
    assert_eq!(su.to_data(), *su_data);

    let value_text = expected_str(v, "value"); // "230.7 V"
    let (number, symbol) = value_text.split_once(' ').unwrap();
    assert_eq!(Some(symbol), su.unit.symbol());
    assert_eq!(su.apply(raw), Some(number.parse::<f64>().unwrap()), "{}", v["id"]);
    assert_eq!(su.format_value(raw).as_deref(), Some(value_text));

    let rebuilt = Data::Structure(vec![Data::OctetString(obis.0.to_vec()), raw.clone(), su.to_data()]);
    assert_eq!(rebuilt.to_bytes(), hex_of(v, "encoded"));
}

fn check_clock_with_status_ff(v: &Value) {
    let (_, data) = decode_one(v);
    let [Data::OctetString(ln), dt_data] = data.as_sequence().expect("structure") else {
        panic!("{}: unexpected shape {data:?}", v["id"])
    };
    assert_eq!(Obis::from_slice(ln).unwrap().to_string(), expected_str(v, "obis"));
    let dt = dt_data.as_date_time().expect("date-time octet-string");
    let local: civil::DateTime = expected_str(v, "datetime").replace(' ', "T").parse().unwrap();
    assert_eq!(dt.to_local_naive(), Ok(local));
    assert_eq!(dt.date.day_of_week(), Some(leading_int(expected_str(v, "day_of_week")) as u8));
    assert_eq!(dt.date.weekday(), Some(local.weekday()));
    assert!(says_not_specified(expected_str(v, "hundredths")));
    assert_eq!(dt.time.hundredths(), None);
    assert!(says_not_specified(expected_str(v, "deviation")));
    assert_eq!(dt.deviation_minutes(), None);
    assert!(says_not_specified(expected_str(v, "clock_status")));
    assert_eq!(dt.clock_status(), None);
    assert_eq!(dt.validate(), Ok(()));
    assert_eq!(dt.to_string(), "2019-12-16 07:59:40 *");
    let rebuilt = Data::Structure(vec![Data::OctetString(ln.clone()), Data::OctetString(dt.to_octets())]);
    assert_eq!(rebuilt.to_bytes(), hex_of(v, "encoded"));
}

#[test]
fn every_axdr_data_vector_decodes_checks_and_re_encodes() {
    let vectors = vectors();
    assert!(!vectors.is_empty(), "no axdr/data vectors found");
    for v in &vectors {
        let id = v["id"].as_str().expect("vector id");
        match id {
            "axdr-datetime-octet-string" => check_octet_string_date_time(v),
            "axdr-datetime-deviation-minus-120" | "axdr-datetime-deviation-minus-60" => {
                check_raw_date_time_with_deviation(v)
            }
            "axdr-datetime-no-deviation" => check_raw_date_time_without_deviation(v),
            "axdr-date" => check_date(v),
            "axdr-time" => check_time(v),
            "axdr-date-time-unspecified" => check_unspecified_date_then_time(v),
            "axdr-visible-string" => check_visible_string(v),
            "axdr-aidon-register-with-scaler-unit" | "axdr-aidon-current-signed" | "axdr-aidon-energy" => {
                check_register_with_scaler_unit(v)
            }
            "axdr-datetime-status-ff" => check_clock_with_status_ff(v),
            other => panic!("axdr/data vector {other} has no check: add one"),
        }
    }
    assert_eq!(vectors.len(), 12, "vector count changed: review the checks");
}

#[test]
fn every_strict_prefix_of_every_vector_is_rejected() {
    for v in vectors() {
        let bytes = hex_of(&v, "encoded");
        let whole_is_data = Data::from_bytes(&bytes).is_ok();
        for n in 0..bytes.len() {
            let prefix = &bytes[..n];
            if whole_is_data {
                assert!(
                    matches!(
                        Data::from_bytes(prefix),
                        Err(DecodeError::Truncated { .. } | DecodeError::Oversized { .. })
                    ),
                    "{}: prefix of {n} bytes",
                    v["id"]
                );
            } else if bytes.len() == 12 {
                assert!(CosemDateTime::from_octets(prefix).is_err(), "{}: prefix of {n} bytes", v["id"]);
            }
        }
    }
}

#[test]
fn date_time_octet_string_of_wrong_length_is_not_a_date_time() {
    // 09 0B + 11 bytes: a valid octet-string but not a date-time.
    let bytes = hex::decode("090B07E4020F06011922FF8000").unwrap();
    let data = Data::from_bytes(&bytes).unwrap();
    assert_eq!(data.as_date_time(), None);
    assert!(matches!(CosemDateTime::from_octets(data.as_bytes().unwrap()), Err(DecodeError::Invalid { .. })));
}
