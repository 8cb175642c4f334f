//! The component vectors (CRC, Luhn, control block, PAN block, amount bits, TID time zone) and
//! the negative vectors (expired key at issue time, 22-digit PAN) of
//! `testdata/sts/vectors.json`.

mod common;

use common::*;
use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use serde_json::Value;
use sts::crc::token_crc;
use sts::pan::{control_block, luhn_check_digit, pan_block};
use sts::{
    BaseDate, CreditKind, EncryptionAlgorithm, IssueError, KeyExpiryNumber, KeyRevisionNumber, KeyType, MeterDecoder,
    MeterDecoderConfig, MeterPan, PanError, StaTables, SupplyGroupCode, TariffIndex, Tid, Token, TokenCipher,
    TokenIssuer, TokenRejection, TransferAmount, VendingKey, dkga02, dkga04, encode_token,
};

fn component(id: &str) -> Value {
    let all = vectors();
    all["component_vectors"].as_array().expect("component_vectors").iter().find(|v| v["id"] == id).cloned().expect(id)
}

fn negative(id: &str) -> Value {
    let all = vectors();
    all["negative_vectors"].as_array().expect("negative_vectors").iter().find(|v| v["id"] == id).cloned().expect(id)
}

fn hex8(bytes: [u8; 8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn crc16_from_standard() {
    let v = component("crc16-from-standard");
    let value = hex_u64(str_of(&v["inputs"], "value_hex"));
    assert_eq!(value, u64_of(&v["inputs"], "value_decimal"));
    let crc = token_crc((value >> 48) as u8, ((value >> 44) & 0xF) as u8, value & ((1 << 44) - 1));
    assert_eq!(format!("{crc:04X}"), str_of(&v["expected"], "crc_hex"));
    assert_eq!(u64::from(crc), u64_of(&v["expected"], "crc_decimal"));
}

#[test]
fn luhn_check_digits() {
    let v = component("luhn");
    let values = v["inputs"]["values"].as_array().unwrap();
    let expected = v["expected"]["check_digits"].as_array().unwrap();
    assert_eq!(values.len(), 3);
    for (value, digit) in values.iter().zip(expected) {
        assert_eq!(luhn_check_digit(value.as_str().unwrap()).map(u64::from), digit.as_u64(), "{value}");
    }
}

#[test]
fn dkga02_control_block() {
    let v = component("control-block");
    let i = &v["inputs"];
    let block = control_block(
        KeyType::from_bits(u64_of(i, "key_type") as u8),
        SupplyGroupCode::new(str_of(i, "supply_group_code").parse().unwrap()).unwrap(),
        TariffIndex::new(str_of(i, "tariff_index").parse().unwrap()).unwrap(),
        KeyRevisionNumber::new(u64_of(i, "key_revision_number") as u8).unwrap(),
    );
    assert_eq!(hex8(block), str_of(&v["expected"], "control_block"));
}

#[test]
fn dkga02_pan_blocks() {
    let v = component("pan-block");
    let cases = v["inputs"]["cases"].as_array().unwrap();
    let expected = v["expected"]["pan_blocks"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for (case, want) in cases.iter().zip(expected) {
        let kt = KeyType::from_bits(u64_of(case, "kt") as u8);
        let block = pan_block(str_of(case, "iin"), str_of(case, "iain"), kt).unwrap();
        assert_eq!(hex8(block), want.as_str().unwrap(), "{case}");
    }
}

#[test]
fn amount_bits() {
    let v = component("amount-bits");
    // 25.6 kWh = 256 tenths.
    assert_eq!(v["inputs"]["amount"].as_f64(), Some(25.6));
    let amount = TransferAmount::from_value_rounded_up(256).unwrap();
    assert_eq!(format!("{:04X}", amount.field()), str_of(&v["expected"], "hex"));
    assert_eq!(format!("{:016b}", amount.field()), str_of(&v["expected"], "bits"));
}

#[test]
fn tid_is_zone_less_civil_minutes() {
    let v = component("tid-timezone-caution");
    let instant: Timestamp = str_of(&v["inputs"], "issue_time").parse().unwrap();
    assert_eq!(base_date(str_of(&v["inputs"], "base_date")), BaseDate::Bd1993);
    // The same instant read as UTC civil time, and as civil time at UTC+3 (the source's zone).
    let utc = instant.to_zoned(TimeZone::UTC).datetime();
    let nairobi = instant.to_zoned(TimeZone::fixed(Offset::constant(3))).datetime();
    assert_eq!(Tid::from_datetime(BaseDate::Bd1993, utc).unwrap().minutes(), 15_579_802);
    assert_eq!(
        u64::from(Tid::from_datetime(BaseDate::Bd1993, nairobi).unwrap().minutes()),
        u64_of(&v["expected"], "tid_minutes_as_asserted")
    );
}

#[test]
fn negative_dkga02_key_expired_at_issue() {
    let v = negative("STS_531_1_0_02_CTSA16.step1CTSA14Test");
    let i = &v["inputs"];
    assert_eq!(v["expected"]["rejected"], true);
    let attrs = attributes_without_iin_check(i);
    let VendingKey::Des64(vk) = VendingKey::from_hex(str_of(i, "vending_key")).unwrap() else { panic!("64-bit VK") };
    let dk = dkga02(&vk, &attrs);
    // The refusal comes before encryption, so the sample tables stand in for the STA tables.
    let cipher = TokenCipher::sta(&dk, StaTables::iec_sample()).unwrap();
    let ken = KeyExpiryNumber(u64_of(i, "key_expiry_number") as u8);
    let issuer = TokenIssuer::new(cipher, attrs.key_type, ken, BaseDate::Bd1993);
    let issued_at =
        jiff::civil::DateTime::strptime("%d/%m/%Y %H:%M:%S", str_of(i, "tid_datetime_as_in_source")).unwrap();
    assert_eq!(issuer.tid(issued_at).unwrap().minutes(), 5_916_090);
    let refused = issuer.credit(CreditKind::Electricity, issued_at, 1, u64_of(i, "random_number") as u8);
    assert_eq!(refused, Err(IssueError::KeyExpired { expiry_index: 90, key_expiry: 85 }));
}

#[test]
fn negative_dkga04_key_expired_at_issue_and_at_the_meter() {
    let v = negative("STS_531_1_0_04_CTSA16");
    let i = &v["inputs"];
    let attrs = attributes_without_iin_check(i);
    let VendingKey::Bits160(vk) = VendingKey::from_hex(str_of(i, "vending_key")).unwrap() else { panic!("160-bit VK") };
    let dk = dkga04(&vk, &attrs, BaseDate::Bd1993, EncryptionAlgorithm::Misty1);
    let ken = KeyExpiryNumber(u64_of(i, "key_expiry_number") as u8);
    let cipher = TokenCipher::misty1(&dk).unwrap();
    let issuer = TokenIssuer::new(cipher.clone(), KeyType::Unique, ken, BaseDate::Bd1993);
    let issued_at =
        jiff::civil::DateTime::strptime("%d/%m/%Y %H:%M:%S", str_of(i, "tid_datetime_as_in_source")).unwrap();
    let tid = issuer.tid(issued_at).unwrap();
    assert_eq!(tid.minutes(), 11_130_300);
    let rnd = u64_of(i, "random_number") as u8;
    assert_eq!(
        issuer.credit(CreditKind::Electricity, issued_at, 256, rnd),
        Err(IssueError::KeyExpired { expiry_index: 169, key_expiry: 85 })
    );
    // A meter holding that key with KEN 85 refuses the same token, had it been made.
    let token = Token::TransferCredit {
        kind: CreditKind::Electricity,
        rnd,
        tid,
        amount: TransferAmount::from_value_rounded_up(256).unwrap(),
    };
    let digits = encode_token(&token, Some(&cipher)).unwrap().to_string();
    let mut config = MeterDecoderConfig::new(EncryptionAlgorithm::Misty1, dk, None);
    config.key_expiry = ken;
    let mut meter = MeterDecoder::new(config).unwrap();
    assert_eq!(meter.enter(&digits), Err(TokenRejection::KeyExpired { expiry_index: 169, key_expiry: 85 }));
    assert_eq!(meter.enter(&digits).unwrap_err().result_name(), "KeyExpiredError");
}

#[test]
fn negative_22_digit_pan() {
    let v = negative("STS_531_1_0_02_CTSA17.step1CTSA17Test");
    let pan = str_of(&v["inputs"], "pan_as_in_source");
    assert_eq!(MeterPan::parse(pan), Err(PanError::Length { what: "MeterPAN", expected: "18", found: 22 }));
}

/// Key attributes of a negative vector, whose inputs list the PAN but not IIN/IAIN.
fn attributes_without_iin_check(i: &Value) -> sts::KeyAttributes {
    sts::KeyAttributes {
        key_type: KeyType::from_bits(u64_of(i, "key_type") as u8),
        supply_group_code: SupplyGroupCode::new(str_of(i, "supply_group_code").parse().unwrap()).unwrap(),
        tariff_index: TariffIndex::new(str_of(i, "tariff_index").parse().unwrap()).unwrap(),
        key_revision: KeyRevisionNumber::new(u64_of(i, "key_revision_number") as u8).unwrap(),
        pan: MeterPan::parse(str_of(i, "pan_as_in_source")).expect("valid PAN"),
    }
}
