//! The 309 token vectors of `testdata/sts/vectors.json`, in both directions.
//!
//! * Every vector: the decoder key derived from the inputs (DKGA02 or DKGA04) equals the
//!   recorded key, and the plain data block built from the inputs (layout + CRC) equals the
//!   recorded plaintext.
//! * Class 1 (unencrypted) and EA11 (MISTY1) vectors: the token generated from the inputs equals
//!   the expected 20 digits, and decoding the expected digits gives back the token.
//! * EA07 (STA) vectors: generation and decoding need the licensed production STA tables; that
//!   test is ignored unless run with `STS_STA_TABLES=<file>` (see `StaTables::parse`).

mod common;

use common::*;
use serde_json::Value;
use sts::{EncryptionAlgorithm, TokenClass, decode_token_str, encode_token};

fn token_vectors() -> Vec<Value> {
    vectors()["vectors"].as_array().expect("vectors").clone()
}

fn is_class1(v: &Value) -> bool {
    u64_of(v, "token_class") == 1
}

#[test]
fn every_vector_has_the_recorded_decoder_key_and_plaintext() {
    let all = token_vectors();
    assert_eq!(all.len(), 309);
    let (mut keys, mut plaintexts) = (0, 0);
    for v in &all {
        let id = str_of(v, "id");
        if !is_class1(v) {
            let dk = derive_decoder_key(&v["inputs"]);
            assert_eq!(dk.to_hex(), str_of(&v["expected"], "decoder_key"), "{id}: decoder key");
            keys += 1;
        }
        let token = token_from_inputs(v);
        let block = token.to_data_block().unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(format!("{block:016X}"), str_of(&v["decoded_by_us"], "data_block"), "{id}: plain data block");
        plaintexts += 1;
    }
    println!("decoder keys derived: {keys}/275, plain data blocks: {plaintexts}/309");
    assert_eq!((keys, plaintexts), (275, 309));
}

#[test]
fn class1_and_misty1_vectors_generate_and_decode() {
    let (mut class1, mut misty1) = (0, 0);
    for v in token_vectors() {
        let id = str_of(&v, "id");
        let expected = str_of(&v["expected"], "token");
        let token = token_from_inputs(&v);
        let cipher = if is_class1(&v) {
            None
        } else if algorithm(&v["inputs"]) == EncryptionAlgorithm::Misty1 {
            Some(cipher_for(EncryptionAlgorithm::Misty1, &derive_decoder_key(&v["inputs"]), None).unwrap())
        } else {
            continue;
        };
        let generated = encode_token(&token, cipher.as_ref()).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(generated.to_string(), expected, "{id}: generated token");
        assert_eq!(generated.class(), TokenClass::from_bits(u64_of(&v, "token_class") as u8));
        let decoded = decode_token_str(expected, cipher.as_ref()).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(decoded, token, "{id}: decoded token");
        if cipher.is_some() { misty1 += 1 } else { class1 += 1 }
    }
    println!("both directions: class 1 {class1}/34, EA11 MISTY1 {misty1}/101");
    assert_eq!((class1, misty1), (34, 101));
}

#[test]
#[ignore = "needs the licensed production STA tables: STS_STA_TABLES=<file> cargo test -p sts -- --ignored"]
fn sta_vectors_generate_and_decode_with_production_tables() {
    let tables = production_sta_tables()
        .unwrap_or_else(|| panic!("set {STA_TABLES_ENV} to a file with the production STA tables"));
    let mut sta = 0;
    for v in token_vectors() {
        if is_class1(&v) || algorithm(&v["inputs"]) != EncryptionAlgorithm::Sta {
            continue;
        }
        let id = str_of(&v, "id");
        let expected = str_of(&v["expected"], "token");
        let cipher = cipher_for(EncryptionAlgorithm::Sta, &derive_decoder_key(&v["inputs"]), Some(&tables));
        let token = token_from_inputs(&v);
        let generated = encode_token(&token, cipher.as_ref()).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(generated.to_string(), expected, "{id}: generated token");
        assert_eq!(decode_token_str(expected, cipher.as_ref()), Ok(token), "{id}: decoded token");
        sta += 1;
    }
    println!("both directions: EA07 STA {sta}/174");
    assert_eq!(sta, 174);
}
