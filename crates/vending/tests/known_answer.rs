//! The vending path (account → DKGA04 decoder key → TID → class 0 token) against the public
//! IEC 62055-41 MISTY1/DKGA04 compliance vectors in `testdata/sts/vectors.json`: every
//! TransferElectricityCredit vector is reproduced digit for digit from its inputs.

use std::path::PathBuf;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::Value;
use sts::{
    BaseDate, EncryptionAlgorithm, KeyExpiryNumber, KeyRevisionNumber, KeyType, MeterPan, SupplyGroupCode, TariffIndex,
    VendingKey,
};
use vending::issue::{issue_credit, next_tid};
use vending::{MeterAccount, parse_decimal};

fn vectors() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sts/vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("string {key} in {v}"))
}

fn base_date(s: &str) -> BaseDate {
    match s {
        "1993-01-01" => BaseDate::Bd1993,
        "2014-01-01" => BaseDate::Bd2014,
        "2035-01-01" => BaseDate::Bd2035,
        other => panic!("base date {other}"),
    }
}

#[test]
fn every_dkga04_electricity_credit_vector_is_reproduced() {
    let all = vectors();
    let mut checked = 0;
    for v in all["vectors"].as_array().expect("vectors") {
        let i = &v["inputs"];
        let misty1 = i["encryption_algorithm"] == "EA11 MISTY1";
        if v["token_class"] != 0 || v["token_subclass"] != 0 || i["dkga"] != "DKGA04" || !misty1 {
            continue;
        }
        let account = MeterAccount {
            serial: "KAT".into(),
            pan: MeterPan::parse(text(i, "pan_as_in_source")).expect("PAN"),
            key_type: KeyType::from_bits(i["key_type"].as_u64().expect("KT") as u8),
            supply_group_code: SupplyGroupCode::new(text(i, "supply_group_code").parse().unwrap()).unwrap(),
            tariff_index: TariffIndex::new(text(i, "tariff_index").parse().unwrap()).unwrap(),
            key_revision: KeyRevisionNumber::new(i["key_revision_number"].as_u64().unwrap() as u8).unwrap(),
            key_expiry: KeyExpiryNumber::NEVER,
            base_date: base_date(text(i, "base_date")),
            algorithm: EncryptionAlgorithm::Misty1,
        };
        let vk = VendingKey::from_hex(text(i, "vending_key")).unwrap();
        let dk = account.decoder_key(&vk).unwrap();
        assert_eq!(dk.to_hex(), text(&v["expected"], "decoder_key"), "{}", v["id"]);
        // The source's issue time is civil time; the vending point's civil time is UTC.
        let civil = DateTime::strptime("%d/%m/%Y %H:%M:%S", text(i, "tid_datetime_as_in_source")).unwrap();
        let at: Timestamp = civil.to_zoned(TimeZone::UTC).unwrap().timestamp();
        let tid = next_tid(base_date(text(i, "tid_base_date")), at, None).unwrap();
        let tenths = parse_decimal(text(i, "amount_as_in_source"), 1).unwrap();
        let rnd = i["random_number"].as_u64().unwrap() as u8;
        let issued = issue_credit(&account, &dk, tenths, tid, rnd).unwrap();
        assert_eq!(issued.number.to_string(), text(&v["expected"], "token"), "{}", v["id"]);
        assert!(issued.transfer_tenths_kwh >= tenths);
        checked += 1;
    }
    assert_eq!(checked, 17, "all EA11/DKGA04 electricity credit vectors");
}
