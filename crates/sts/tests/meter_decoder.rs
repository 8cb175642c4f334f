//! Meter-side token acceptance, driven by the MISTY1 (EA11) vectors of
//! `testdata/sts/vectors.json`: key change with all four sections, roll-over key change, the
//! TID memory (used/old), DDTK, key expiry, function and manufacturer-code refusals, and
//! refusal of every single-digit change of the vector tokens.

mod common;

use common::*;
use serde_json::Value;
use sts::key_change::KeyChange;
use sts::{
    Accepted, BaseDate, CreditKind, DecoderKey, EncryptionAlgorithm, KeyExpiryNumber, KeyRevisionNumber, KeyType,
    MeterDecoder, MeterDecoderConfig, StaTables, SupplyGroupCode, TariffIndex, Tid, Token, TokenCipher, TokenIssuer,
    TokenRejection, TransferAmount, decode_token_str, encode_token,
};

fn vector(id: &str, nth: usize) -> Value {
    let all = vectors();
    all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["id"] == id)
        .nth(nth)
        .cloned()
        .unwrap_or_else(|| panic!("{id}"))
}

fn expected_token(v: &Value) -> String {
    str_of(&v["expected"], "token").to_string()
}

/// The MISTY1 meter of the 531-1-0-04 suite: DKGA04 key of SGC 123457, TI 01, KRN 1, base 1993.
fn misty1_meter() -> MeterDecoder {
    let key = DecoderKey::from_hex("F94B6ED353C3BFDB113E2D3A7EA3C41D").unwrap();
    let mut config = MeterDecoderConfig::new(EncryptionAlgorithm::Misty1, key, None);
    config.supply_group_code = SupplyGroupCode::new(123_457).unwrap();
    config.credit_kinds = vec![CreditKind::Electricity, CreditKind::Water, CreditKind::Gas];
    MeterDecoder::new(config).unwrap()
}

const SECTIONS: [&str; 4] = [
    "STS_531_1_0_04_CTSA05.step1CTSA05TestGeneratingFirstSection",
    "STS_531_1_0_04_CTSA05.step1CTSA05TestGeneratingSecondSection",
    "STS_531_1_0_04_CTSA05.step1CTSA05TestGeneratingThirdSection",
    "STS_531_1_0_04_CTSA05.step1CTSA05TestGeneratingFourthSection",
];

#[test]
fn four_section_key_change_loads_the_new_misty1_key() {
    for order in [[0, 1, 2, 3], [3, 2, 1, 0]] {
        let mut meter = misty1_meter();
        let old_key_credit = expected_token(&vector("STS_531_1_0_04_CTSA01.step1Test", 0));
        for (n, &i) in order.iter().enumerate() {
            let result = meter.enter(&expected_token(&vector(SECTIONS[i], 0)));
            if n < 3 {
                let section = u8::try_from(i + 1).unwrap();
                assert_eq!(result, Ok(Accepted::KeyChangeSection { section }));
                assert_eq!(result.unwrap().display_indication(), "KEY PART");
            } else {
                assert_eq!(
                    result,
                    Ok(Accepted::KeyChanged {
                        key_type: KeyType::Unique,
                        key_revision: KeyRevisionNumber::new(1).unwrap(),
                        tariff_index: TariffIndex::new(2).unwrap(),
                        key_expiry: KeyExpiryNumber::NEVER,
                        rollover: false,
                        base_date: BaseDate::Bd1993,
                    })
                );
            }
        }
        assert_eq!(meter.config().key.to_hex(), "B208834372EF892EF6E04C28593090D4");
        assert_eq!(meter.config().supply_group_code.value(), 123_457);
        // Tokens under the old key no longer authenticate.
        assert_eq!(meter.enter(&old_key_credit), Err(TokenRejection::Crc));
        // Tokens under the new key do.
        let issuer = TokenIssuer::new(
            TokenCipher::misty1(&meter.config().key).unwrap(),
            KeyType::Unique,
            KeyExpiryNumber::NEVER,
            BaseDate::Bd1993,
        );
        let at = jiff::civil::date(2004, 3, 2).at(8, 0, 0, 0);
        let (_, digits) = issuer.credit(CreditKind::Electricity, at, 1, 5).unwrap();
        assert!(matches!(meter.enter(&digits.to_string()), Ok(Accepted::Credit { .. })));
    }
}

#[test]
fn rollover_key_change_moves_to_the_next_base_date_and_clears_the_tid_memory() {
    let mut meter = misty1_meter();
    // A credit accepted under the 1993 key fills the TID memory.
    assert!(meter.enter(&expected_token(&vector("STS_531_1_0_04_CTSA01.step1Test", 0))).is_ok());
    assert_eq!(meter.remembered_tids().len(), 1);
    let first = vector("STS_531_1_0_04_CTSA05.step2CTSA05TestGeneratingFirstSectionFlippedRollOverBit", 0);
    let second = vector("STS_531_1_0_04_CTSA05.step2CTSA05TestGeneratingSecondSectionFlippedRollOverBit", 0);
    let mut change: KeyChange = key_change_from_inputs(&first);
    // Each section vector records its own KEN nibble.
    change.key_expiry = KeyExpiryNumber::from_nibbles(
        u64_of(&first["decoded_by_us"], "kenho") as u8,
        u64_of(&second["decoded_by_us"], "kenlo") as u8,
    );
    assert!(change.rollover, "the new key is of base date 2014");
    // The suite lists sections 1 and 2; sections 3 and 4 of the same change are generated here.
    let old_key = DecoderKey::from_hex("F94B6ED353C3BFDB113E2D3A7EA3C41D").unwrap();
    let issuer = TokenIssuer::new(
        TokenCipher::misty1(&old_key).unwrap(),
        KeyType::Unique,
        KeyExpiryNumber::NEVER,
        BaseDate::Bd1993,
    );
    let sections = issuer.key_change(&change).unwrap();
    assert_eq!(sections[0].1.to_string(), expected_token(&first));
    assert_eq!(sections[1].1.to_string(), expected_token(&second));
    for (_, digits) in &sections[..3] {
        assert!(matches!(meter.enter(&digits.to_string()), Ok(Accepted::KeyChangeSection { .. })));
    }
    let changed = meter.enter(&sections[3].1.to_string()).unwrap();
    assert!(matches!(changed, Accepted::KeyChanged { rollover: true, base_date: BaseDate::Bd2014, .. }));
    assert_eq!(meter.config().base_date, BaseDate::Bd2014);
    assert_eq!(meter.config().key.to_hex(), "1D7B719AE4730402C3B45E18E23FF59D");
    assert!(meter.remembered_tids().is_empty());
}

#[test]
fn tid_memory_refuses_used_and_old_tokens() {
    let mut meter = {
        let key = DecoderKey::from_hex("F94B6ED353C3BFDB113E2D3A7EA3C41D").unwrap();
        let mut config = MeterDecoderConfig::new(EncryptionAlgorithm::Misty1, key, None);
        config.credit_kinds = vec![CreditKind::Electricity, CreditKind::Water, CreditKind::Gas];
        config.tid_memory = 2;
        MeterDecoder::new(config).unwrap()
    };
    // 13:00 electricity, 13:05 water, 13:10 gas (2004-03-01).
    let at_1300 = expected_token(&vector("STS_531_1_0_04_CTSA01.step1Test", 0));
    let at_1305 = expected_token(&vector("STS_531_1_0_04_CTSA01.step2Test", 0));
    let at_1310 = expected_token(&vector("STS_531_1_0_04_CTSA01.step3Test", 0));
    let tid = |m| Tid::from_minutes(m).unwrap();
    assert_eq!(
        meter.enter(&at_1305),
        Ok(Accepted::Credit {
            kind: CreditKind::Water,
            amount: TransferAmount::from_value_exact(1).unwrap(),
            tid: tid(5_871_665)
        })
    );
    assert!(meter.enter(&at_1310).is_ok());
    let used = meter.enter(&at_1305).unwrap_err();
    assert_eq!(used, TokenRejection::Used { tid: tid(5_871_665) });
    assert_eq!((used.result_name(), used.display_indication()), ("UsedError", "USED"));
    let old = meter.enter(&at_1300).unwrap_err();
    assert_eq!(old, TokenRejection::Old { tid: tid(5_871_660), oldest: tid(5_871_665) });
    assert_eq!((old.result_name(), old.display_indication()), ("OldError", "OLD"));
    assert_eq!(meter.remembered_tids(), &[tid(5_871_665), tid(5_871_670)]);
}

#[test]
fn an_older_token_is_accepted_while_the_memory_has_room() {
    let mut meter = misty1_meter();
    assert!(meter.enter(&expected_token(&vector("STS_531_1_0_04_CTSA01.step2Test", 0))).is_ok());
    assert!(meter.enter(&expected_token(&vector("STS_531_1_0_04_CTSA01.step1Test", 0))).is_ok());
}

#[test]
fn management_tokens_share_the_tid_memory() {
    let mut meter = misty1_meter();
    let limit = expected_token(&vector("STS_531_1_0_04_CTSA03_CTSA04.step1CTSA03Test", 0));
    let accepted = meter.enter(&limit).unwrap();
    let Accepted::Management(Token::SetMaximumPowerLimit { limit: watts, .. }) = accepted else {
        panic!("{accepted:?}")
    };
    assert_eq!(watts.value(), 1000);
    assert!(matches!(meter.enter(&limit), Err(TokenRejection::Used { .. })));
}

#[test]
fn default_key_meter_refuses_credit_but_takes_management_tokens() {
    let key = DecoderKey::from_hex("F94B6ED353C3BFDB113E2D3A7EA3C41D").unwrap();
    let mut config = MeterDecoderConfig::new(EncryptionAlgorithm::Misty1, key, None);
    config.key_type = KeyType::Default;
    let mut meter = MeterDecoder::new(config).unwrap();
    let credit = meter.enter(&expected_token(&vector("STS_531_1_0_04_CTSA01.step1Test", 0))).unwrap_err();
    assert_eq!((credit.clone(), credit.result_name()), (TokenRejection::Ddtk, "DDTKError"));
    assert!(meter.enter(&expected_token(&vector("STS_531_1_0_04_CTSA03_CTSA04.step1CTSA04Test", 0))).is_ok());
}

#[test]
fn unsupported_credit_kind_and_foreign_test_tokens_are_function_errors() {
    let key = DecoderKey::from_hex("F94B6ED353C3BFDB113E2D3A7EA3C41D").unwrap();
    let mut config = MeterDecoderConfig::new(EncryptionAlgorithm::Misty1, key, None);
    config.manufacturer_code = 7;
    let mut meter = MeterDecoder::new(config).unwrap();
    let water = meter.enter(&expected_token(&vector("STS_531_1_0_04_CTSA01.step2Test", 0))).unwrap_err();
    assert_eq!(water, TokenRejection::Function { class: 0, subclass: 1 });
    let foreign = Token::InitiateMeterTestOrDisplay2 { control: 1, manufacturer_code: 5 };
    let digits = encode_token(&foreign, None).unwrap().to_string();
    let refused = meter.enter(&digits).unwrap_err();
    assert_eq!(
        (refused.clone(), refused.result_name()),
        (TokenRejection::ManufacturerCode { token: 5, meter: 7 }, "FunctionError")
    );
    // Manufacturer code 0 addresses every meter: the class 1 vector token is accepted.
    let all_meters = expected_token(&vector("STS_531_1_0_02_CTSA02.step1Test", 0));
    assert!(matches!(meter.enter(&all_meters), Ok(Accepted::MeterTest(Token::InitiateMeterTestOrDisplay1 { .. }))));
}

#[test]
fn key_change_to_an_initialisation_key_is_refused() {
    let key = DecoderKey::from_hex("F94B6ED353C3BFDB113E2D3A7EA3C41D").unwrap();
    let issuer =
        TokenIssuer::new(TokenCipher::misty1(&key).unwrap(), KeyType::Unique, KeyExpiryNumber::NEVER, BaseDate::Bd1993);
    let change = KeyChange {
        new_key: DecoderKey::from_hex("00112233445566778899AABBCCDDEEFF").unwrap(),
        key_type: KeyType::Initialisation,
        key_revision: KeyRevisionNumber::new(2).unwrap(),
        tariff_index: TariffIndex::new(1).unwrap(),
        key_expiry: KeyExpiryNumber::NEVER,
        rollover: false,
        supply_group_code: SupplyGroupCode::new(123_457).unwrap(),
    };
    let mut meter = misty1_meter();
    let sections = issuer.key_change(&change).unwrap();
    let results: Vec<_> = sections.iter().map(|(_, d)| meter.enter(&d.to_string())).collect();
    assert_eq!(results[3], Err(TokenRejection::KeyType(KeyType::Initialisation)));
    assert_eq!(meter.config().key, key, "key unchanged");
}

#[test]
fn format_errors_are_refused_before_decryption() {
    let mut meter = misty1_meter();
    assert!(matches!(meter.enter("1234"), Err(TokenRejection::Format(_))));
    assert!(matches!(meter.enter("99999999999999999999"), Err(TokenRejection::Format(_))));
    assert_eq!(meter.enter("1234").unwrap_err().display_indication(), "REJECT");
}

/// Every token of the MISTY1 and class 1 vectors with any one digit replaced by any other digit
/// is refused by a meter holding the vector's key (format, CRC, or function error).
#[test]
fn every_single_digit_change_of_a_vector_token_is_refused() {
    let mut checked = 0usize;
    for v in vectors()["vectors"].as_array().unwrap() {
        let class1 = u64_of(v, "token_class") == 1;
        if !class1 && algorithm(&v["inputs"]) != EncryptionAlgorithm::Misty1 {
            continue;
        }
        let key = if class1 {
            DecoderKey::from_hex("F94B6ED353C3BFDB113E2D3A7EA3C41D").unwrap()
        } else {
            derive_decoder_key(&v["inputs"])
        };
        let mut config = MeterDecoderConfig::new(EncryptionAlgorithm::Misty1, key, None);
        config.credit_kinds = (0..8).filter_map(CreditKind::from_subclass).collect();
        let token = expected_token(v);
        for position in 0..20 {
            for digit in b'0'..=b'9' {
                let mut changed = token.clone().into_bytes();
                if changed[position] == digit {
                    continue;
                }
                changed[position] = digit;
                let changed = String::from_utf8(changed).unwrap();
                let mut meter = MeterDecoder::new(config.clone()).unwrap();
                let result = meter.enter(&changed);
                assert!(result.is_err(), "{}: {changed} accepted as {result:?}", str_of(v, "id"));
                checked += 1;
            }
        }
    }
    assert_eq!(checked, (101 + 34) * 20 * 9);
}

#[test]
fn sta_meter_with_sample_tables_round_trips_a_64_bit_key_change() {
    // Self-consistency of the STA path (no production tables): vend a key change and a credit
    // under the sample tables and have the meter take them.
    let tables = StaTables::iec_sample();
    let old_key = DecoderKey::from_hex("0ABC12DEF3456789").unwrap();
    let new_key = DecoderKey::from_hex("E653341F9D5BF36F").unwrap();
    let issuer = TokenIssuer::new(
        TokenCipher::sta(&old_key, tables.clone()).unwrap(),
        KeyType::Unique,
        KeyExpiryNumber::NEVER,
        BaseDate::Bd1993,
    );
    let change = KeyChange {
        new_key: new_key.clone(),
        key_type: KeyType::Unique,
        key_revision: KeyRevisionNumber::new(2).unwrap(),
        tariff_index: TariffIndex::new(3).unwrap(),
        key_expiry: KeyExpiryNumber(200),
        rollover: false,
        supply_group_code: SupplyGroupCode::new(123_456).unwrap(),
    };
    let mut meter =
        MeterDecoder::new(MeterDecoderConfig::new(EncryptionAlgorithm::Sta, old_key, Some(tables.clone()))).unwrap();
    let sections = issuer.key_change(&change).unwrap();
    assert_eq!(sections.len(), 2);
    assert_eq!(meter.enter(&sections[0].1.to_string()), Ok(Accepted::KeyChangeSection { section: 1 }));
    assert!(matches!(meter.enter(&sections[1].1.to_string()), Ok(Accepted::KeyChanged { .. })));
    assert_eq!(meter.config().key, new_key);
    assert_eq!(meter.config().key_expiry, KeyExpiryNumber(200));
    // Section 3 is a 128-bit-key section: a 64-bit meter does not implement it.
    let third = Token::Set3rdSectionDecoderKey { sgc_low: 1, key_part: 2 };
    let cipher = TokenCipher::sta(&new_key, tables).unwrap();
    let digits = encode_token(&third, Some(&cipher)).unwrap().to_string();
    assert_eq!(meter.enter(&digits), Err(TokenRejection::Function { class: 2, subclass: 8 }));
    assert_eq!(decode_token_str(&digits, Some(&cipher)), Ok(third));
}
