//! The key store: keys sealed at rest (the database file never holds the key bytes), a
//! wrong storage KEK refused, the HKDF-SHA-256 derivation checked against RFC 5869's
//! test vectors, and derived keys bound to the meter's system title.

use dlms::security::SystemTitle;
use hes::key_store::{
    Key128, KeyOrigin, KeyState, KeyStore, KeyStoreError, MeterKeys, StorageKek, derive_meter_keys, hkdf_sha256,
};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn distinctive_keys() -> MeterKeys {
    MeterKeys {
        encryption: Key128::new(*b"GUEK-0123456789A"),
        authentication: Key128::new(*b"GAK--0123456789B"),
        master: Key128::new(*b"KEK--0123456789C"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn keys_are_encrypted_at_rest_and_need_the_right_storage_kek() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hes.db");
    let kek = StorageKek::new([0x5A; 32]);
    let keys = distinctive_keys();
    {
        let store = KeyStore::open(&db, kek.clone()).unwrap();
        assert_eq!(store.install("GE00000001", &keys, KeyOrigin::Imported).unwrap(), 1);
        store.set_lls_password("GE00000001", &hes::key_store::LlsPassword::new(b"PASSWORD-XYZ".to_vec())).unwrap();
    }
    // Every byte SQLite wrote (database, WAL, shared memory).
    let mut written = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        written.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(written.len() > 1000);
    for secret in
        [&keys.encryption.as_bytes()[..], keys.authentication.as_bytes(), keys.master.as_bytes(), b"PASSWORD-XYZ"]
    {
        assert!(!contains(&written, secret), "a secret is stored in clear");
    }
    assert!(contains(&written, b"GE00000001"), "the serial is there (the scan itself works)");

    // Reopened with the same KEK: the keys come back; with another KEK: refused.
    let store = KeyStore::open(&db, kek).unwrap();
    let active = store.active("GE00000001").unwrap().unwrap();
    assert_eq!(active.keys, keys);
    assert_eq!(
        (active.info.generation, active.info.state, active.info.origin),
        (1, KeyState::Active, KeyOrigin::Imported)
    );
    assert!(!format!("{active:?}").contains("GUEK"), "Debug of a key set is redacted");
    drop(store);
    assert!(matches!(KeyStore::open(&db, StorageKek::new([0x5B; 32])), Err(KeyStoreError::WrongStorageKek)));
}

#[test]
fn hkdf_sha256_matches_the_rfc_5869_test_vectors() {
    // RFC 5869 Appendix A.1, test case 1.
    let mut okm = [0u8; 42];
    hkdf_sha256(Some(&hex("000102030405060708090a0b0c")), &[0x0b; 22], &hex("f0f1f2f3f4f5f6f7f8f9"), &mut okm).unwrap();
    assert_eq!(
        okm.to_vec(),
        hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    );
    // Test case 3: no salt, no info.
    hkdf_sha256(None, &[0x0b; 22], &[], &mut okm).unwrap();
    assert_eq!(
        okm.to_vec(),
        hex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    );
    let mut too_long = vec![0u8; 255 * 32 + 1];
    assert!(hkdf_sha256(None, &[1; 16], &[], &mut too_long).is_err());
}

#[test]
fn derived_keys_are_the_hkdf_output_split_and_differ_per_system_title() {
    let secret = [0x42u8; 32];
    let title = SystemTitle(*b"GRD\x00\x00\x00\x00\x07");
    let keys = derive_meter_keys(&secret, None, &title).unwrap();
    let mut okm = [0u8; 48];
    hkdf_sha256(None, &secret, title.as_bytes(), &mut okm).unwrap();
    assert_eq!(keys.encryption.as_bytes()[..], okm[..16]);
    assert_eq!(keys.authentication.as_bytes()[..], okm[16..32]);
    assert_eq!(keys.master.as_bytes()[..], okm[32..]);
    let other = derive_meter_keys(&secret, None, &SystemTitle(*b"GRD\x00\x00\x00\x00\x08")).unwrap();
    assert_ne!(other.encryption, keys.encryption);
    let salted = derive_meter_keys(&secret, Some(b"utility-salt"), &title).unwrap();
    assert_ne!(salted.encryption, keys.encryption);
    assert!(matches!(derive_meter_keys(&[1; 15], None, &title), Err(KeyStoreError::InvalidKey(_))));
}
