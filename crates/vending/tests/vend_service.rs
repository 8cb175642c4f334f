//! The vending service end to end against an STS meter decoder: money becomes a token the
//! meter accepts for the right energy; vends survive reopening the database; request ids are
//! idempotent; every refusal is typed.

use std::sync::{Arc, Barrier};

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use sts::{Accepted, CreditKind, EncryptionAlgorithm, MeterDecoder, MeterDecoderConfig, TokenRejection, VendingKey};
use vending::{
    CurrencyCode, DeliveryMethod, MeterAccount, NewTokenEvent, TEST_VENDING_KEY_HEX, Tariff, VendError, VendOutcome,
    VendRequest, VendStore, VendingService,
};

fn gbp() -> CurrencyCode {
    "GBP".parse().unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn service(store: VendStore) -> VendingService {
    let mut s = VendingService::new(store, VendingKey::from_hex(TEST_VENDING_KEY_HEX).unwrap()).unwrap();
    let account = MeterAccount::simulated("GE00000001").unwrap();
    s.store_mut().upsert_account(&account).unwrap();
    let tariff = Tariff::new(account.tariff_index, gbp(), 2, "0.25").unwrap();
    s.store_mut().set_tariff(&tariff, at("2026-01-01T00:00:00Z")).unwrap();
    s
}

fn request(id: &str, amount_minor: u64, when: &str) -> VendRequest {
    VendRequest {
        request_id: id.into(),
        serial: "GE00000001".into(),
        amount_minor,
        currency: gbp(),
        operator: "cashier-7".into(),
        requested_at: at(when),
    }
}

/// The decoder of the meter the simulated account describes (the meter side holds only its
/// decoder key, derived here independently of the service from the account's attributes).
fn meter_decoder(account: &MeterAccount) -> MeterDecoder {
    let vk = VendingKey::from_hex(TEST_VENDING_KEY_HEX).unwrap();
    let VendingKey::Bits160(k) = vk else { panic!("160-bit") };
    let dk = sts::dkga04(&k, &account.key_attributes(), account.base_date, EncryptionAlgorithm::Misty1);
    let mut config = MeterDecoderConfig::new(EncryptionAlgorithm::Misty1, dk, None);
    config.base_date = account.base_date;
    config.supply_group_code = account.supply_group_code;
    MeterDecoder::new(config).unwrap()
}

#[test]
fn twenty_pounds_at_25p_is_80_kwh_on_a_token_the_meter_accepts() {
    let mut s = service(VendStore::open_in_memory().unwrap());
    let outcome = s.vend(&request("pos-1/0001", 2000, "2026-03-01T10:00:30Z")).unwrap();
    let VendOutcome::Issued(v) = outcome else { panic!("new vend") };
    assert_eq!((v.energy_tenths_kwh, v.transfer_tenths_kwh), (800, 800));
    assert_eq!((v.amount_minor, v.currency, v.operator.as_str()), (2000, gbp(), "cashier-7"));
    assert_eq!(v.price_micro_per_kwh, 250_000);
    assert_eq!(v.token.to_string().len(), 20);
    // TID: 2026-03-01 10:00 UTC under base date 2014 (4442 days + 600 minutes, hand count).
    assert_eq!(v.tid.minutes(), 4442 * 1440 + 600);

    let account = s.store().account("GE00000001").unwrap().unwrap();
    let mut meter = meter_decoder(&account);
    match meter.enter(&v.token.to_string()) {
        Ok(Accepted::Credit { kind, amount, tid }) => {
            assert_eq!((kind, amount.value(), tid), (CreditKind::Electricity, 800, v.tid));
        }
        other => panic!("meter refused the vended token: {other:?}"),
    }
    assert!(matches!(meter.enter(&v.token.to_string()), Err(TokenRejection::Used { .. })));
}

#[test]
fn large_amounts_round_energy_down_and_the_token_up() {
    let mut s = service(VendStore::open_in_memory().unwrap());
    // 500.10 GBP at 0.25 = 2000.4 kWh: representable exactly (16 384 + 10 × 362).
    let v = s.vend(&request("big-1", 50_010, "2026-03-01T10:00:00Z")).unwrap().record().clone();
    assert_eq!((v.energy_tenths_kwh, v.transfer_tenths_kwh), (20_004, 20_004));
    // 500.00 GBP = 2000.0 kWh: not representable, the token carries 2000.4 kWh.
    let v = s.vend(&request("big-2", 50_000, "2026-03-01T10:00:00Z")).unwrap().record().clone();
    assert_eq!((v.energy_tenths_kwh, v.transfer_tenths_kwh), (20_000, 20_004));
}

#[test]
fn a_repeated_request_id_returns_the_original_token_and_a_conflicting_one_is_refused() {
    let mut s = service(VendStore::open_in_memory().unwrap());
    let first = s.vend(&request("pos-1/0002", 1000, "2026-03-01T10:00:00Z")).unwrap();
    assert!(!first.is_duplicate());
    // The point of sale retries ten minutes later (e.g. after a timeout).
    let again = s.vend(&request("pos-1/0002", 1000, "2026-03-01T10:10:00Z")).unwrap();
    assert!(again.is_duplicate());
    assert_eq!(again.record(), first.record(), "the original vend, not a new one");
    assert_eq!(s.store().vends("GE00000001").unwrap().len(), 1);
    match s.vend(&request("pos-1/0002", 1500, "2026-03-01T10:11:00Z")) {
        Err(VendError::RequestIdConflict { request_id, amount_minor, .. }) => {
            assert_eq!((request_id.as_str(), amount_minor), ("pos-1/0002", 1000));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(s.store().vends("GE00000001").unwrap().len(), 1);
}

#[test]
fn vends_survive_reopening_and_tids_stay_distinct_within_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vend.db");
    let first = {
        let mut s = service(VendStore::open(&path).unwrap());
        s.vend(&request("a", 500, "2026-03-01T10:00:05Z")).unwrap().record().clone()
    };
    let mut s =
        VendingService::new(VendStore::open(&path).unwrap(), VendingKey::from_hex(TEST_VENDING_KEY_HEX).unwrap())
            .unwrap();
    assert_eq!(s.store().vend_by_request_id("a").unwrap().as_ref(), Some(&first));
    assert_eq!(s.store().vend_by_token(&first.token).unwrap().as_ref(), Some(&first));
    assert_eq!(s.store().last_tid("GE00000001").unwrap(), Some(first.tid));
    // Same minute, after a restart: the TID moves on by one and the meter accepts both tokens.
    let second = s.vend(&request("b", 500, "2026-03-01T10:00:40Z")).unwrap().record().clone();
    assert_eq!(second.tid.minutes(), first.tid.minutes() + 1);
    let account = s.store().account("GE00000001").unwrap().unwrap();
    let mut meter = meter_decoder(&account);
    assert!(meter.enter(&first.token.to_string()).is_ok());
    assert!(meter.enter(&second.token.to_string()).is_ok());
    let all = s.store().vends("GE00000001").unwrap();
    assert_eq!(all.iter().map(|v| v.request_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn refusals() {
    let mut s = service(VendStore::open_in_memory().unwrap());
    let mut r = request("x", 1000, "2026-03-01T10:00:00Z");
    r.currency = "EUR".parse().unwrap();
    assert!(matches!(s.vend(&r), Err(VendError::CurrencyMismatch { .. })));
    let mut r = request("y", 1000, "2026-03-01T10:00:00Z");
    r.serial = "NOPE".into();
    assert!(matches!(s.vend(&r), Err(VendError::UnknownMeter(m)) if m == "NOPE"));
    assert!(matches!(s.vend(&request("z", 2, "2026-03-01T10:00:00Z")), Err(VendError::AmountTooSmall)));
    assert!(matches!(s.vend(&request("", 100, "2026-03-01T10:00:00Z")), Err(VendError::EmptyRequestId)));
    let mut r = request("w", 100, "2026-03-01T10:00:00Z");
    r.operator = " ".into();
    assert!(matches!(s.vend(&r), Err(VendError::EmptyOperator)));
    // 1 000 000.00 GBP at 0.25 = 4 GWh: more than one token carries.
    assert!(matches!(
        s.vend(&request("v", 100_000_000, "2026-03-01T10:00:00Z")),
        Err(VendError::AmountTooLarge { tenths_kwh: 40_000_000 })
    ));
    // A meter on a TI without a price.
    let mut other = MeterAccount::simulated("GE00000002").unwrap();
    other.tariff_index = sts::TariffIndex::new(7).unwrap();
    s.store_mut().upsert_account(&other).unwrap();
    let mut r = request("u", 100, "2026-03-01T10:00:00Z");
    r.serial = "GE00000002".into();
    assert!(matches!(s.vend(&r), Err(VendError::NoTariff(ti)) if ti.value() == 7));
    // Nothing was recorded for any refusal.
    assert!(s.store().vends("GE00000001").unwrap().is_empty());
    assert!(
        VendingService::new(VendStore::open_in_memory().unwrap(), VendingKey::from_hex("ABABABABABABABAB").unwrap())
            .is_err()
    );
}

#[test]
fn token_events_link_back_to_their_vend() {
    let mut s = service(VendStore::open_in_memory().unwrap());
    let v = s.vend(&request("pos-9", 400, "2026-03-01T10:00:00Z")).unwrap().record().clone();
    let event = NewTokenEvent {
        serial: "GE00000001".into(),
        token: v.token.to_grouped_string(),
        recorded_at: at("2026-03-01T10:01:00Z"),
        method: DeliveryMethod::Remote,
        status_code: 3,
        accepted: true,
        display: "ACCEPT".into(),
        description: vec!["ACCEPT".into(), "credit 16.0 kWh".into()],
    };
    let recorded = s.store_mut().record_token_event(&event).unwrap();
    assert_eq!(recorded.request_id.as_deref(), Some("pos-9"));
    let foreign =
        NewTokenEvent { token: "12345678901234567890".into(), accepted: false, status_code: 5, ..event.clone() };
    s.store_mut().record_token_event(&foreign).unwrap();
    let events = s.store().token_events("GE00000001").unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event, event);
    assert_eq!(events[0].request_id.as_deref(), Some("pos-9"));
    assert_eq!((events[1].request_id.as_ref(), events[1].event.status_code), (None, 5));
}

#[test]
fn concurrent_retries_of_one_request_issue_one_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vend.db");
    drop(service(VendStore::open(&path).unwrap()));
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|k| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let vk = VendingKey::from_hex(TEST_VENDING_KEY_HEX).unwrap();
                let mut s = VendingService::new(VendStore::open(&path).unwrap(), vk).unwrap();
                barrier.wait();
                let when = at("2026-03-01T10:00:00Z") + SignedDuration::from_millis(k);
                s.vend(&request("same-id", 700, &when.to_string())).unwrap()
            })
        })
        .collect();
    let outcomes: Vec<VendOutcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| !o.is_duplicate()).count(), 1);
    assert!(outcomes.iter().all(|o| o.record().token == outcomes[0].record().token));
    assert_eq!(VendStore::open(&path).unwrap().vends("GE00000001").unwrap().len(), 1);
}

proptest! {
    /// The customer pays for no more than the token carries and the rounding never keeps back
    /// a whole 0.1 kWh: energy × price ≤ payment < (energy + 0.1 kWh) × price.
    #[test]
    fn money_buys_the_energy_it_pays_for(amount_minor in 1u64..10_000_000, price_micro in 1u64..5_000_000) {
        let tariff = Tariff {
            tariff_index: sts::TariffIndex::ONE,
            currency: gbp(),
            currency_exponent: 2,
            price_micro_per_kwh: price_micro,
        };
        let tenths = u128::from(tariff.energy_tenths_kwh(amount_minor));
        let paid_micro_tenths = u128::from(amount_minor) * 10_000 * 10;
        prop_assert!(tenths * u128::from(price_micro) <= paid_micro_tenths);
        prop_assert!(paid_micro_tenths < (tenths + 1) * u128::from(price_micro));
    }
}
