//! Image transfer (class 18) 0.0.44.0.0.255 with signed firmware images: blocks in any
//! order, the transferred-blocks bit-string and first-not-transferred number for resuming,
//! verification of the ECDSA P-256 signature against the vendor key the meter holds, and the
//! active firmware identifier 1.0.0.2.0.255 after activation.

mod common;

use common::*;
use dlms::data::BitString;
use dlms::security::suite1::SigningKey;
use dlms::xdlms::{ActionResult, CosemMethodDescriptor, DataAccessResult};
use dlms::{Data, Obis};
use jiff::Timestamp;
use meter::firmware::{FirmwareConfig, build_image};
use meter::{MeterConfig, SimulatedMeter};

const IMAGE_TRANSFER: Obis = Obis::new(0, 0, 44, 0, 0, 255);
const FIRMWARE_ID: Obis = Obis::new(1, 0, 0, 2, 0, 255);
const BLOCK: usize = 64;

fn vendor() -> SigningKey {
    SigningKey::from_bytes(&[0x5A; 32]).unwrap()
}

fn meter_with_key(key: Option<&SigningKey>) -> SimulatedMeter {
    let firmware = FirmwareConfig {
        vendor_public_key: key.map(SigningKey::public_key),
        image_block_size: BLOCK as u32,
        ..FirmwareConfig::default()
    };
    SimulatedMeter::new("FW0001", 1, MeterConfig { firmware, ..MeterConfig::default() }).unwrap()
}

fn now() -> Timestamp {
    ts("2025-01-20T09:00:00Z")
}

fn method(m: &mut SimulatedMeter, id: i8, param: Data) -> Result<Option<Data>, ActionResult> {
    m.action(now(), &CosemMethodDescriptor::new(18, IMAGE_TRANSFER, id), Some(&param))
}

fn get(m: &mut SimulatedMeter, id: i8) -> Data {
    m.get(now(), &attr(18, IMAGE_TRANSFER, id), None).unwrap()
}

fn initiate(m: &mut SimulatedMeter, identifier: &str, size: usize) -> Result<Option<Data>, ActionResult> {
    let p =
        Data::Structure(vec![Data::OctetString(identifier.as_bytes().to_vec()), Data::DoubleLongUnsigned(size as u32)]);
    method(m, 1, p)
}

fn block(m: &mut SimulatedMeter, image: &[u8], n: usize) -> Result<Option<Data>, ActionResult> {
    let chunk = image[n * BLOCK..((n + 1) * BLOCK).min(image.len())].to_vec();
    method(m, 2, Data::Structure(vec![Data::DoubleLongUnsigned(n as u32), Data::OctetString(chunk)]))
}

fn firmware_version(m: &mut SimulatedMeter) -> Data {
    m.get(now(), &attr(1, FIRMWARE_ID, 2), None).unwrap()
}

/// A signed image of 1000 payload bytes: 77 + 9 + 1000 = 1086 bytes = 17 blocks of 64.
fn image(key: &SigningKey) -> Vec<u8> {
    let payload: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
    build_image(*b"GRD", "GRD-2.0.0", &payload, key).unwrap()
}

#[test]
fn a_signed_image_is_transferred_in_any_order_verified_and_activated() {
    let key = vendor();
    let img = image(&key);
    let blocks = img.len().div_ceil(BLOCK);
    assert_eq!(blocks, 17);
    let mut m = meter_with_key(Some(&key));
    assert_eq!(firmware_version(&mut m), Data::OctetString(b"GRD-1.0.0".to_vec()));
    assert_eq!(get(&mut m, 2), Data::DoubleLongUnsigned(BLOCK as u32));
    assert_eq!(get(&mut m, 6), Data::Enum(0), "not initiated");
    assert_eq!(initiate(&mut m, "GRD-2.0.0", img.len()), Ok(None));
    assert_eq!(get(&mut m, 6), Data::Enum(1));
    assert_eq!(get(&mut m, 3), Data::BitString(BitString::from_bools(&[false; 17])));
    // Blocks 0..=5, then 8, then a repeat of 3.
    for n in (0..6).chain([8, 3]) {
        assert_eq!(block(&mut m, &img, n), Ok(None), "block {n}");
    }
    assert_eq!(get(&mut m, 4), Data::DoubleLongUnsigned(6), "first not transferred");
    let mut expected = [false; 17];
    for n in [0, 1, 2, 3, 4, 5, 8] {
        expected[n] = true;
    }
    assert_eq!(get(&mut m, 3), Data::BitString(BitString::from_bools(&expected)));
    // Verification with blocks missing is refused and the transfer stays open.
    assert_eq!(method(&mut m, 3, Data::Integer(0)), Err(ActionResult::OtherReason));
    assert_eq!(get(&mut m, 6), Data::Enum(1));
    // Resume from the first block not transferred.
    for n in 6..blocks {
        assert_eq!(block(&mut m, &img, n), Ok(None), "block {n}");
    }
    assert_eq!(get(&mut m, 4), Data::DoubleLongUnsigned(17));
    assert_eq!(m.image_transfer().statistics().blocks_repeated, 2, "block 3 once, block 8 once more");
    assert_eq!(method(&mut m, 3, Data::Integer(0)), Ok(None));
    assert_eq!(get(&mut m, 6), Data::Enum(3), "verification successful");
    let Data::Array(info) = get(&mut m, 7) else { panic!("image_to_activate_info") };
    assert_eq!(
        info,
        vec![Data::Structure(vec![
            Data::DoubleLongUnsigned(img.len() as u32),
            Data::OctetString(b"GRD-2.0.0".to_vec()),
            Data::OctetString(img[13 + 9..13 + 9 + 64].to_vec()),
        ])]
    );
    assert_eq!(firmware_version(&mut m), Data::OctetString(b"GRD-1.0.0".to_vec()), "not active before activation");
    assert_eq!(method(&mut m, 4, Data::Integer(0)), Ok(None));
    assert_eq!(get(&mut m, 6), Data::Enum(6), "activation successful");
    assert_eq!(firmware_version(&mut m), Data::OctetString(b"GRD-2.0.0".to_vec()));
}

#[test]
fn an_image_signed_by_another_key_is_refused() {
    let vendor_key = vendor();
    let rogue = SigningKey::from_bytes(&[0x33; 32]).unwrap();
    for (meter_key, signer, what) in
        [(Some(&vendor_key), &rogue, "another key"), (None, &vendor_key, "a meter without a vendor key")]
    {
        let img = image(signer);
        let mut m = meter_with_key(meter_key);
        assert_eq!(initiate(&mut m, "GRD-2.0.0", img.len()), Ok(None));
        for n in 0..img.len().div_ceil(BLOCK) {
            block(&mut m, &img, n).unwrap();
        }
        assert_eq!(method(&mut m, 3, Data::Integer(0)), Err(ActionResult::OtherReason), "{what}");
        assert_eq!(get(&mut m, 6), Data::Enum(4), "{what}: verification failed");
        assert_eq!(get(&mut m, 7), Data::Array(vec![]));
        assert_eq!(method(&mut m, 4, Data::Integer(0)), Err(ActionResult::OtherReason));
        assert_eq!(firmware_version(&mut m), Data::OctetString(b"GRD-1.0.0".to_vec()), "{what}");
    }
    // A correctly signed image with one payload byte changed in transit.
    let mut img = image(&vendor_key);
    let last = img.len() - 1;
    img[last] ^= 0x80;
    let mut m = meter_with_key(Some(&vendor_key));
    initiate(&mut m, "GRD-2.0.0", img.len()).unwrap();
    for n in 0..img.len().div_ceil(BLOCK) {
        block(&mut m, &img, n).unwrap();
    }
    // image_activate verifies first: activation fails.
    assert_eq!(method(&mut m, 4, Data::Integer(0)), Err(ActionResult::OtherReason));
    assert_eq!(get(&mut m, 6), Data::Enum(7), "activation failed");
    assert_eq!(firmware_version(&mut m), Data::OctetString(b"GRD-1.0.0".to_vec()));
}

#[test]
fn malformed_requests_are_refused() {
    let key = vendor();
    let img = image(&key);
    let mut m = meter_with_key(Some(&key));
    // No transfer yet.
    assert_eq!(block(&mut m, &img, 0), Err(ActionResult::OtherReason));
    assert_eq!(method(&mut m, 1, Data::OctetString(vec![1])), Err(ActionResult::TypeUnmatched));
    assert_eq!(initiate(&mut m, "X", 0), Err(ActionResult::OtherReason));
    assert_eq!(initiate(&mut m, "X", 5 * 1024 * 1024), Err(ActionResult::OtherReason));
    initiate(&mut m, "GRD-2.0.0", img.len()).unwrap();
    // Beyond the image, short block, wrong types.
    let beyond = Data::Structure(vec![Data::DoubleLongUnsigned(17), Data::OctetString(vec![0; BLOCK])]);
    assert_eq!(method(&mut m, 2, beyond), Err(ActionResult::OtherReason));
    let short = Data::Structure(vec![Data::DoubleLongUnsigned(0), Data::OctetString(vec![0; 10])]);
    assert_eq!(method(&mut m, 2, short), Err(ActionResult::OtherReason));
    assert_eq!(method(&mut m, 2, Data::Integer(0)), Err(ActionResult::TypeUnmatched));
    assert_eq!(get(&mut m, 4), Data::DoubleLongUnsigned(0), "nothing stored");
    // The last block is the rest of the image (1086 - 16 × 64 = 62 bytes).
    assert_eq!(block(&mut m, &img, 16), Ok(None));
    // Disabled: no new transfer.
    let enabled = attr(18, IMAGE_TRANSFER, 5);
    assert_eq!(m.set(now(), &enabled, None, &Data::Boolean(false)), DataAccessResult::Success);
    assert_eq!(initiate(&mut m, "GRD-2.0.0", img.len()), Err(ActionResult::OtherReason));
    assert_eq!(m.set(now(), &enabled, None, &Data::Unsigned(1)), DataAccessResult::TypeUnmatched);
    assert_eq!(
        m.set(now(), &attr(18, IMAGE_TRANSFER, 2), None, &Data::DoubleLongUnsigned(9)),
        DataAccessResult::ReadWriteDenied
    );
    // A meter configuration with an unusable block size is refused.
    let firmware = FirmwareConfig { image_block_size: 4, ..FirmwareConfig::default() };
    assert!(SimulatedMeter::new("FW0002", 2, MeterConfig { firmware, ..MeterConfig::default() }).is_err());
}
