//! With the `serde` feature: plain data types serialize and deserialize, and deserializing
//! validates like the constructors (run with `cargo test -p sts --features serde`).
#![cfg(feature = "serde")]

use sts::{CreditKind, KeyRevisionNumber, MeterPan, Tid, Token, TransferAmount};

#[test]
fn token_round_trips_through_json() {
    let token = Token::TransferCredit {
        kind: CreditKind::Gas,
        rnd: 11,
        tid: Tid::from_minutes(1_698_595).unwrap(),
        amount: TransferAmount::from_field(0x0100),
    };
    let json = serde_json::to_string(&token).unwrap();
    assert_eq!(serde_json::from_str::<Token>(&json).unwrap(), token);
}

#[test]
fn deserializing_validates() {
    assert_eq!(serde_json::from_str::<KeyRevisionNumber>("3").unwrap(), KeyRevisionNumber::new(3).unwrap());
    assert!(serde_json::from_str::<KeyRevisionNumber>("0").is_err());
    assert!(serde_json::from_str::<Tid>("16777216").is_err());
    assert_eq!(
        serde_json::to_string(&MeterPan::parse("600727000000000009").unwrap()).unwrap(),
        "\"600727000000000009\""
    );
    assert!(serde_json::from_str::<MeterPan>("\"600727000000000008\"").is_err());
}
