//! Key rotation end to end against a simulated meter with a Security setup object
//! (class 64) over loopback TCP, HLS-GMAC with suite 0: the new keys are transferred with
//! key_transfer (wrapped under the meter's master key), committed only after the meter
//! confirms and an association with them works; afterwards the old keys are refused. An
//! interrupted rotation is recovered by the next association; a refused transfer
//! changes nothing.

use std::sync::{Arc, Mutex};

use dlms::obis::codes;
use dlms::security::{CounterDirection, CounterId, KeyId, SecuritySettings, SystemTitle};
use dlms::xdlms::CosemAttributeDescriptor;
use hes::key_store::{
    DEFAULT_HES_SYSTEM_TITLE, Key128, KeyOrigin, KeyState, KeyStore, MeterKeys, RotationError, RotationOptions,
    RotationOutcome, StorageKek, endpoint_candidates, open_with_recovery, rotate_keys,
};
use hes::registry_store::{AuthenticationKind, MeterRecord, SecurityProfile};
use hes::session::{DlmsSession, SessionTimeouts};
use meter::objects::security_setup::SecuritySetup;
use meter::tcp_server::{MeterServerConfig, SharedSecurity, serve};
use meter::{MeterConfig, SimulatedMeter};

const METER_TITLE: SystemTitle = SystemTitle(*b"GRD\x00\x00\x00\x00\x5B");
const SERIAL: &str = "GE00000091";

fn keys(seed: u8) -> MeterKeys {
    MeterKeys {
        encryption: Key128::new([seed; 16]),
        authentication: Key128::new([seed.wrapping_add(1); 16]),
        master: Key128::new([seed.wrapping_add(2); 16]),
    }
}

/// A meter whose management client (1) uses HLS-GMAC with `current` and whose Security
/// setup unwraps key_transfer with `master`.
async fn secure_meter(current: &MeterKeys, master: &Key128) -> (MeterRecord, SharedSecurity) {
    let config = MeterServerConfig::with_hls_gmac(SecuritySettings::new(current.global_keys(), METER_TITLE));
    let shared = config.shared_security(1).unwrap();
    let mut meter = SimulatedMeter::new(SERIAL, 9, MeterConfig::default()).unwrap();
    meter.attach_security_setup(SecuritySetup::new(shared.clone(), Some(master.to_aes())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve(listener, Arc::new(Mutex::new(meter)), Arc::new(config)));
    let mut record = MeterRecord::new(SERIAL, "127.0.0.1", port);
    record.authentication = AuthenticationKind::HighGmac;
    record.transport.client_sap = 1;
    record.security = Some(SecurityProfile::SUITE0_DEFAULT);
    record.system_title = Some(METER_TITLE);
    (record, shared)
}

fn timeouts() -> SessionTimeouts {
    SessionTimeouts { connect: std::time::Duration::from_secs(5), response: std::time::Duration::from_secs(5) }
}

/// Associates with `keys` (not from the store) and reads the serial number.
async fn read_serial_with(record: &MeterRecord, keys: &MeterKeys) -> Result<String, String> {
    let store = KeyStore::open_in_memory(StorageKek::new([9; 32])).unwrap();
    store.install(SERIAL, keys, KeyOrigin::Imported).unwrap();
    let endpoint = endpoint_candidates(record, Some(&store), DEFAULT_HES_SYSTEM_TITLE).unwrap().active;
    let mut s = DlmsSession::open(&endpoint, timeouts()).await.map_err(|e| e.to_string())?;
    let serial =
        s.get(CosemAttributeDescriptor::new(1, codes::SERIAL_NUMBER, 2), None).await.map_err(|e| e.to_string())?;
    s.release().await.map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(serial.as_bytes().unwrap_or_default()).into_owned())
}

fn options(include_master_key: bool) -> RotationOptions {
    RotationOptions { include_master_key, timeouts: timeouts(), ..RotationOptions::default() }
}

#[tokio::test]
async fn rotation_commits_after_confirmation_and_the_old_keys_are_refused() {
    let old = keys(0x10);
    let (record, shared) = secure_meter(&old, &old.master).await;
    let store = KeyStore::open_in_memory(StorageKek::new([1; 32])).unwrap();
    store.install(SERIAL, &old, KeyOrigin::Imported).unwrap();
    assert_eq!(read_serial_with(&record, &old).await.as_deref(), Ok(SERIAL), "the old keys work before");

    let report = rotate_keys(&record, &store, options(true)).await.unwrap();
    assert_eq!(report.outcome, RotationOutcome::Rotated);
    assert_eq!((report.previous_generation, report.generation), (1, 2));
    assert_eq!(report.keys_changed, ["global_unicast_encryption", "authentication", "master"]);

    let new = store.active(SERIAL).unwrap().unwrap();
    assert_eq!(new.info.generation, 2);
    assert!(store.pending(SERIAL).unwrap().is_none());
    assert_ne!(new.keys.encryption, old.encryption);
    assert_ne!(new.keys.authentication, old.authentication);
    assert_ne!(new.keys.master, old.master);
    // The meter holds exactly the committed keys.
    let on_meter = shared.snapshot().keys;
    assert_eq!(on_meter.global_unicast_encryption_key.as_bytes(), new.keys.encryption.as_bytes());
    assert_eq!(on_meter.authentication_key.as_bytes(), new.keys.authentication.as_bytes());

    let refused = read_serial_with(&record, &old).await;
    assert!(refused.is_err(), "the old keys must be refused after rotation: {refused:?}");
    assert_eq!(read_serial_with(&record, &new.keys).await.as_deref(), Ok(SERIAL));
    let states: Vec<_> = store.list(Some(SERIAL)).unwrap().into_iter().map(|k| k.state).collect();
    assert_eq!(states, [KeyState::Retired, KeyState::Active]);

    // Counters stay per key, and the new key's outgoing counter continued above the old one's.
    let out = CounterId::new(KeyId::GlobalUnicastEncryption, CounterDirection::Outgoing);
    let (c1, c2) = (store.counter_value(SERIAL, 1, out).unwrap(), store.counter_value(SERIAL, 2, out).unwrap());
    assert!(c1.is_some() && c2 >= c1, "generation 1: {c1:?}, generation 2: {c2:?}");

    // The new master key wraps the next rotation.
    let again = rotate_keys(&record, &store, options(false)).await.unwrap();
    assert_eq!((again.generation, again.keys_changed.len()), (3, 2));
    let third = store.active(SERIAL).unwrap().unwrap().keys;
    assert_eq!(third.master, new.keys.master, "the master key is kept without --include-master");
    assert_eq!(read_serial_with(&record, &third).await.as_deref(), Ok(SERIAL));
}

#[tokio::test]
async fn an_interrupted_rotation_is_recovered_by_the_next_association() {
    let old = keys(0x30);
    let (record, shared) = secure_meter(&old, &old.master).await;
    let store = KeyStore::open_in_memory(StorageKek::new([2; 32])).unwrap();
    store.install(SERIAL, &old, KeyOrigin::Imported).unwrap();
    // The rotation stored its pending keys and the meter applied them, but the HES
    // stopped before it saw the confirmation.
    let pending = keys(0x40);
    assert_eq!(store.create_pending(SERIAL, &pending).unwrap(), 2);
    shared.update(|s| s.keys = pending.global_keys());

    let candidates = endpoint_candidates(&record, Some(&store), DEFAULT_HES_SYSTEM_TITLE).unwrap();
    assert_eq!((candidates.active_generation, candidates.pending.as_ref().map(|p| p.0)), (Some(1), Some(2)));
    let opened = open_with_recovery(&candidates, Some(&store), timeouts()).await.unwrap();
    assert!(opened.recovered_rotation);
    assert_eq!(opened.generation, Some(2));
    opened.session.release().await.unwrap();
    let active = store.active(SERIAL).unwrap().unwrap();
    assert_eq!((active.info.generation, active.keys == pending), (2, true));
    assert!(store.pending(SERIAL).unwrap().is_none());
}

#[tokio::test]
async fn a_rotation_whose_keys_the_meter_never_got_resends_the_pending_keys() {
    let old = keys(0x50);
    let (record, shared) = secure_meter(&old, &old.master).await;
    let store = KeyStore::open_in_memory(StorageKek::new([3; 32])).unwrap();
    store.install(SERIAL, &old, KeyOrigin::Imported).unwrap();
    let pending = keys(0x60);
    store.create_pending(SERIAL, &pending).unwrap();
    // The meter never received them: the rotation finds the pending keys refused, sends
    // them (the same generation) and commits after verification.
    let report = rotate_keys(&record, &store, options(false)).await.unwrap();
    assert_eq!((report.outcome, report.generation), (RotationOutcome::Rotated, 2));
    let active = store.active(SERIAL).unwrap().unwrap().keys;
    assert_eq!(active.encryption, pending.encryption);
    assert_eq!(shared.snapshot().keys.global_unicast_encryption_key.as_bytes(), pending.encryption.as_bytes());
}

#[tokio::test]
async fn a_refused_key_transfer_changes_nothing() {
    let old = keys(0x70);
    // The meter's master key is not the one the store holds: it cannot unwrap.
    let (record, shared) = secure_meter(&old, &Key128::new([0xEE; 16])).await;
    let store = KeyStore::open_in_memory(StorageKek::new([4; 32])).unwrap();
    store.install(SERIAL, &old, KeyOrigin::Imported).unwrap();
    let err = rotate_keys(&record, &store, options(false)).await.unwrap_err();
    assert!(matches!(err, RotationError::Refused(_)), "{err}");
    assert!(store.pending(SERIAL).unwrap().is_none(), "the refused keys are discarded");
    assert_eq!(store.active(SERIAL).unwrap().unwrap().info.generation, 1);
    assert_eq!(shared.snapshot().keys.global_unicast_encryption_key.as_bytes(), old.encryption.as_bytes());
    assert_eq!(read_serial_with(&record, &old).await.as_deref(), Ok(SERIAL));

    // A meter without HLS cannot be rotated.
    let mut plain = record.clone();
    plain.authentication = AuthenticationKind::None;
    assert!(matches!(rotate_keys(&plain, &store, options(false)).await, Err(RotationError::NotAuthenticated(_))));
}
