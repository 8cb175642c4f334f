//! Helpers of the prepayment tests: the STS key of the test meter, token issuing, and a
//! prepaid meter with DLMS accessors.
#![allow(dead_code)]

use dlms::Data;
use dlms::obis::codes;
use dlms::xdlms::CosemAttributeDescriptor;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use meter::objects::credit::TOKEN_CREDIT;
use meter::{ControlMode, MeterConfig, PrepaymentConfig, SimulatedMeter, StsKey};
use sts::{
    BaseDate, CreditKind, DecoderKey, EncryptionAlgorithm, KeyAttributes, KeyExpiryNumber, KeyRevisionNumber, KeyType,
    MeterPan, SupplyGroupCode, TariffIndex, Token, TokenCipher, TokenIssuer, dkga04,
};

/// A 160-bit DKGA04 vending key (test only).
pub const VENDING_KEY: [u8; 20] = *b"gridedge-test-vk-160";
pub const DRN: &str = "99000000010";
pub const OTHER_DRN: &str = "99000000028";

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn decoder_key(drn: &str) -> DecoderKey {
    let attrs = KeyAttributes {
        key_type: KeyType::Unique,
        supply_group_code: SupplyGroupCode::new(123_457).unwrap(),
        tariff_index: TariffIndex::ONE,
        key_revision: KeyRevisionNumber::ONE,
        pan: MeterPan::from_drn(drn).unwrap(),
    };
    dkga04(&VENDING_KEY, &attrs, BaseDate::Bd2014, EncryptionAlgorithm::Misty1)
}

pub fn issuer(drn: &str) -> TokenIssuer {
    TokenIssuer::new(
        TokenCipher::misty1(&decoder_key(drn)).unwrap(),
        KeyType::Unique,
        KeyExpiryNumber::NEVER,
        BaseDate::Bd2014,
    )
}

/// A credit token for this meter (or another) for `tenths` of a kWh, issued at `at` (UTC civil).
pub fn credit_token(drn: &str, at: &str, tenths: u64) -> String {
    let civil = ts(at).to_zoned(TimeZone::UTC).datetime();
    issuer(drn).credit(CreditKind::Electricity, civil, tenths, 7).unwrap().1.to_string()
}

pub fn management_token(token: Token) -> String {
    issuer(DRN).issue(&token).unwrap().to_string()
}

/// A prepaid meter, no clock drift, control mode 6, prepaid from `start` with `credit_wh`.
pub fn prepaid(start: &str, credit_wh: u64, tweak: impl FnOnce(&mut PrepaymentConfig)) -> SimulatedMeter {
    prepaid_in_mode(ControlMode::Mode6, start, credit_wh, tweak)
}

pub fn prepaid_in_mode(
    control_mode: ControlMode,
    start: &str,
    credit_wh: u64,
    tweak: impl FnOnce(&mut PrepaymentConfig),
) -> SimulatedMeter {
    let mut key = StsKey::misty1(decoder_key(DRN));
    key.supply_group_code = SupplyGroupCode::new(123_457).unwrap();
    let mut p = PrepaymentConfig::new(key);
    p.start = Some(ts(start));
    p.initial_credit_wh = credit_wh;
    tweak(&mut p);
    let config = MeterConfig { control_mode, max_clock_drift_ms: 0, prepayment: Some(p), ..MeterConfig::default() };
    SimulatedMeter::new("P0001", 42, config).unwrap()
}

pub fn get(m: &mut SimulatedMeter, now: Timestamp, class_id: u16, ln: dlms::Obis, id: i8) -> Data {
    m.get(now, &CosemAttributeDescriptor::new(class_id, ln, id), None).unwrap()
}

pub fn credit_wh(m: &mut SimulatedMeter, now: Timestamp) -> i32 {
    match get(m, now, 112, TOKEN_CREDIT, 2) {
        Data::DoubleLong(v) => v,
        other => panic!("double-long expected, got {other:?}"),
    }
}

pub fn relay(m: &mut SimulatedMeter, now: Timestamp) -> (bool, u8) {
    let Data::Boolean(out) = get(m, now, 70, codes::DISCONNECT_CONTROL, 2) else { panic!("boolean") };
    let Data::Enum(state) = get(m, now, 70, codes::DISCONNECT_CONTROL, 3) else { panic!("enum") };
    (out, state)
}

pub fn import_wh(m: &SimulatedMeter, t: Timestamp) -> u64 {
    m.metrology().registers(t.as_millisecond()).active_import_wh
}
