//! Known-answer tests of security suite 1 (IEC 62056-5-3 §9.2.3.4; Green Book §9.2.3.4):
//! ECDSA P-256 / SHA-256, ECC CDH P-256, the concatenation KDF, HLS-ECDSA and
//! general-signing signatures.
//!
//! Sources of the expected values:
//! - RFC 6979 Appendix A.2.5 (P-256, SHA-256): private key, public key and the
//!   deterministic signatures of "sample" and "test".
//! - RFC 5903 §8.1 (256-bit random ECP group): both private keys, both public keys and
//!   the shared secret x-coordinate.
//! - Everything else was computed outside this repository with Python 3 `hashlib` and
//!   pyca/cryptography 48.0.0 (OpenSSL, `ec.ECDSA(hashes.SHA256(),
//!   deterministic_signing=True)`, i.e. RFC 6979 nonces), from the layouts the Green
//!   Book specifies: KDF = `SHA-256(00000001 ‖ Z ‖ AlgorithmID ‖ PartyUInfo ‖
//!   PartyVInfo)[..16]`; HLS-7 f(StoC) over `ST-C ‖ ST-S ‖ StoC ‖ CtoS`, f(CtoS) over
//!   `ST-S ‖ ST-C ‖ CtoS ‖ StoC`; general-signing over the A-XDR `length ‖ value` of
//!   transaction-id … content. The same script reproduces the RFC 6979 "sample"
//!   signature, which cross-checks its nonce derivation against RustCrypto's.
//!
//! The system titles are the Green Book's example titles (client `4D4D4D0000000001`,
//! server `4D4D4D0000BC614E`).

use dlms::Codec;
use dlms::security::SystemTitle;
use dlms::security::keys::KeyId;
use dlms::security::suite1::ecdsa::verify;
use dlms::security::suite1::general_signing::GeneralSigning;
use dlms::security::suite1::kdf::{AlgorithmId, OtherInfo, concat_kdf_sha256, derive_key};
use dlms::security::suite1::key_agreement::{derive_ephemeral_unified_key, static_unified_key};
use dlms::security::suite1::{AgreementKey, Hls7Exchange, PublicKey, Signature, SigningKey, Suite1Error};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace([' ', '\n'], "")).unwrap()
}

const CLIENT: SystemTitle = SystemTitle([0x4D, 0x4D, 0x4D, 0x00, 0x00, 0x00, 0x00, 0x01]);
const SERVER: SystemTitle = SystemTitle([0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E]);

// RFC 6979 A.2.5
const RFC6979_X: &str = "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721";
const RFC6979_UX: &str = "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6";
const RFC6979_UY: &str = "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299";

// RFC 5903 §8.1
const RFC5903_I: &str = "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433";
const RFC5903_GI: &str = "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180
                          5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3";
const RFC5903_R: &str = "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53";
const RFC5903_GR: &str = "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63
                          56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB";
const RFC5903_Z: &str = "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE";

fn rfc6979_key() -> SigningKey {
    SigningKey::from_bytes(&h(RFC6979_X)).unwrap()
}

#[test]
fn ecdsa_rfc6979_a25_public_key_and_deterministic_signatures() {
    let key = rfc6979_key();
    assert_eq!(key.public_key().to_bytes().to_vec(), h(&format!("{RFC6979_UX}{RFC6979_UY}")));
    assert_eq!(key.to_bytes().to_vec(), h(RFC6979_X));
    let sample = key.sign(b"sample");
    assert_eq!(
        sample.as_bytes().to_vec(),
        h("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716
           F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8")
    );
    let test = key.sign(b"test");
    assert_eq!(
        test.as_bytes().to_vec(),
        h("F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367
           019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083")
    );
    // the published signatures verify under the published public key
    let public = PublicKey::from_bytes(&h(&format!("{RFC6979_UX}{RFC6979_UY}"))).unwrap();
    assert_eq!(verify(&public, b"sample", &sample), Ok(()));
    assert_eq!(verify(&public, b"test", &test), Ok(()));
    assert_eq!(verify(&public, b"sample", &test), Err(Suite1Error::SignatureInvalid));
}

#[test]
fn public_key_encodings() {
    let xy = h(&format!("{RFC6979_UX}{RFC6979_UY}"));
    let k = PublicKey::from_bytes(&xy).unwrap();
    let mut sec1 = vec![0x04];
    sec1.extend_from_slice(&xy);
    assert_eq!(k.to_sec1_uncompressed().to_vec(), sec1);
    assert_eq!(PublicKey::from_sec1(&sec1), Ok(k));
    // compressed form: 02/03 by the parity of y (Uy ends in 0x99, odd)
    let mut compressed = vec![0x03];
    compressed.extend_from_slice(&h(RFC6979_UX));
    assert_eq!(PublicKey::from_sec1(&compressed), Ok(k));
    // a point off the curve (y + 1) and wrong lengths are refused
    let mut off = xy.clone();
    off[63] ^= 0x01;
    assert!(matches!(PublicKey::from_bytes(&off), Err(Suite1Error::InvalidPublicKey(_))));
    assert!(matches!(PublicKey::from_bytes(&xy[..63]), Err(Suite1Error::InvalidPublicKey(_))));
    assert!(matches!(PublicKey::from_bytes(&[0; 64]), Err(Suite1Error::InvalidPublicKey(_))));
}

#[test]
fn ecdh_rfc5903_section_8_1() {
    let i = AgreementKey::from_bytes(&h(RFC5903_I)).unwrap();
    let r = AgreementKey::from_bytes(&h(RFC5903_R)).unwrap();
    assert_eq!(i.public_key().to_bytes().to_vec(), h(RFC5903_GI));
    assert_eq!(r.public_key().to_bytes().to_vec(), h(RFC5903_GR));
    let gr = PublicKey::from_bytes(&h(RFC5903_GR)).unwrap();
    let gi = PublicKey::from_bytes(&h(RFC5903_GI)).unwrap();
    assert_eq!(i.shared_secret(&gr).as_bytes().to_vec(), h(RFC5903_Z));
    assert_eq!(r.shared_secret(&gi).as_bytes().to_vec(), h(RFC5903_Z));
}

/// Python: `hashlib.sha256(b"\0\0\0\1" + Z + bytes.fromhex("60857405080300") + C + S).digest()[:16]`
const KDF_GCM128_C_S: &str = "0CD43811A7093D7312E3F65AA3844D56";
/// Same with AlgorithmID `60857405080302` (AES-WRAP-128).
const KDF_WRAP128_C_S: &str = "76738183127B3557CA5E42B693FE3D1E";
/// Same with U = server, PartyUInfo = S ‖ 08 ‖ 0102030405060708, V = client.
const KDF_GCM128_NONCE: &str = "E36EEADB4581661CD0F69E67679D1C2D";

#[test]
fn concat_kdf_matches_an_independent_computation() {
    let z = h(RFC5903_Z);
    let mut out = [0u8; 16];
    concat_kdf_sha256(&z, &OtherInfo::new(AlgorithmId::AesGcm128, CLIENT, SERVER).to_bytes(), &mut out);
    assert_eq!(out.to_vec(), h(KDF_GCM128_C_S));
    concat_kdf_sha256(&z, &OtherInfo::new(AlgorithmId::AesWrap128, CLIENT, SERVER).to_bytes(), &mut out);
    assert_eq!(out.to_vec(), h(KDF_WRAP128_C_S));
    let info = OtherInfo::with_nonce(AlgorithmId::AesGcm128, SERVER, &h("0102030405060708"), CLIENT).unwrap();
    assert_eq!(info.to_bytes(), h("60857405080300 4D4D4D0000BC614E 08 0102030405060708 4D4D4D0000000001"));
    concat_kdf_sha256(&z, &info.to_bytes(), &mut out);
    assert_eq!(out.to_vec(), h(KDF_GCM128_NONCE));
    // the swapped parties give another key
    concat_kdf_sha256(&z, &OtherInfo::new(AlgorithmId::AesGcm128, SERVER, CLIENT).to_bytes(), &mut out);
    assert_ne!(out.to_vec(), h(KDF_GCM128_C_S));
}

#[test]
fn ecdh_then_kdf_gives_the_agreed_keys() {
    // C(2e,0s) with the RFC 5903 key pairs as the client's and the server's ephemeral keys
    let client_eph = AgreementKey::from_bytes(&h(RFC5903_I)).unwrap();
    let server_eph = AgreementKey::from_bytes(&h(RFC5903_R)).unwrap();
    let guek_c = derive_ephemeral_unified_key(
        &client_eph,
        &server_eph.public_key(),
        KeyId::GlobalUnicastEncryption,
        CLIENT,
        SERVER,
    );
    let guek_s = derive_ephemeral_unified_key(
        &server_eph,
        &client_eph.public_key(),
        KeyId::GlobalUnicastEncryption,
        CLIENT,
        SERVER,
    );
    assert_eq!(guek_c.as_bytes().to_vec(), h(KDF_GCM128_C_S));
    assert_eq!(guek_c, guek_s);
    let kek = derive_ephemeral_unified_key(&client_eph, &server_eph.public_key(), KeyId::Master, CLIENT, SERVER);
    assert_eq!(kek.as_bytes().to_vec(), h(KDF_WRAP128_C_S));
    // derive_key on the raw Z is the same thing
    let z = client_eph.shared_secret(&server_eph.public_key());
    assert_eq!(derive_key(&z, &OtherInfo::new(AlgorithmId::AesGcm128, CLIENT, SERVER)), guek_c);

    // C(0e,2s) with the same pairs as static keys: the server originates with nonce 0102…08
    let tx = h("0102030405060708");
    let k_server = static_unified_key(&server_eph, &client_eph.public_key(), SERVER, &tx, CLIENT).unwrap();
    let k_client = static_unified_key(&client_eph, &server_eph.public_key(), SERVER, &tx, CLIENT).unwrap();
    assert_eq!(k_server.as_bytes().to_vec(), h(KDF_GCM128_NONCE));
    assert_eq!(k_server, k_client);
}

/// CtoS = 00 01 … 1F, StoC = 80 81 … 9F (32 bytes each).
fn challenges() -> (Vec<u8>, Vec<u8>) {
    ((0x00..0x20).collect(), (0x80..0xA0).collect())
}

#[test]
fn hls7_known_answers() {
    let (ctos, stoc) = challenges();
    let x = Hls7Exchange { client_system_title: CLIENT, server_system_title: SERVER, ctos: &ctos, stoc: &stoc };
    assert_eq!(
        x.f_stoc_message(),
        h("4D4D4D0000000001 4D4D4D0000BC614E
           808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9F
           000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
    );
    let client = rfc6979_key();
    let server = SigningKey::from_bytes(&h(RFC5903_I)).unwrap();
    let f_stoc = x.client_response(&client).unwrap();
    assert_eq!(
        f_stoc.as_bytes().to_vec(),
        h("C509CF1C07ADF2A115B8DB126AC89B51F4E6902015FF413FD18847C287393A88
           54B3951A652C8C847AAA7B6F4DF51155DB36E9E33D34CA9F78F4FC2BC5D3077D")
    );
    let f_ctos = x.server_response(&server).unwrap();
    assert_eq!(
        f_ctos.as_bytes().to_vec(),
        h("5EAA2C0107E6A2CF973E29B5FD71E91264E39BB7D839F85F77AD87A7DA5696F0
           FFC9619B50B17F8AC272897C441D3DB61727B7302632176F744D2ECA8436138E")
    );
    assert_eq!(x.verify_client_response(&client.public_key(), f_stoc.as_bytes()), Ok(()));
    assert_eq!(x.verify_server_response(&server.public_key(), f_ctos.as_bytes()), Ok(()));
}

#[test]
fn general_signing_known_answer() {
    // a get-request of the Clock time (the Green Book's example APDU) signed by the
    // server for the client, transaction-id 0102…08, empty date-time and other-information
    let content = h("C001C100080000010000FF0200");
    let apdu = GeneralSigning::new(h("0102030405060708"), &SERVER, &CLIENT, content).signed(&rfc6979_key());
    assert_eq!(
        apdu.signed_data(),
        h("08 0102030405060708 08 4D4D4D0000BC614E 08 4D4D4D0000000001 00 00 0D C001C100080000010000FF0200")
    );
    let sig = "8E8145CCADB13DD0D0BF3D7AC11D8C3F3979418BB252B810F017F9D43441A708
               0E07E931850B8D2BEA678B6799E24958E81BCDDA29838AC5DE727096B5DD72CD";
    assert_eq!(apdu.signature, h(sig));
    let wire = apdu.to_bytes();
    assert_eq!(
        wire,
        h(&format!(
            "DF {} 40 {sig}",
            "08 0102030405060708 08 4D4D4D0000BC614E 08 4D4D4D0000000001 00 00 0D C001C100080000010000FF0200"
        ))
    );
    let decoded = GeneralSigning::from_bytes(&wire).unwrap();
    assert_eq!(decoded.originator(), Ok(SERVER));
    assert_eq!(decoded.recipient(), Ok(CLIENT));
    let public = PublicKey::from_bytes(&h(&format!("{RFC6979_UX}{RFC6979_UY}"))).unwrap();
    assert_eq!(decoded.verify(&public), Ok(()));
    // a signature made elsewhere is a plain 64-byte value
    assert_eq!(Signature::from_slice(&decoded.signature).map(|s| s.0.to_vec()), Ok(h(sig)));
}
