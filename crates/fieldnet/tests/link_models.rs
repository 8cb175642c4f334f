//! Link-model figures against their published sources, computed by hand here.

use std::time::Duration;

use fieldnet::{Airtime, LinkKind, LinkModel, LoRaModulation};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[test]
fn lora_time_on_air_follows_semtech_an1200_13() {
    // SF7/125 kHz, CR 4/5, 8-symbol preamble, explicit header, CRC, 13-byte PHY payload
    // (an empty LoRaWAN frame): T_sym = 1.024 ms, preamble 12.25 symbols, payload
    // 8 + ⌈(104 − 28 + 28 + 16)/28⌉·5 = 33 symbols → 45.25 × 1.024 = 46.336 ms.
    let sf7 = LoRaModulation::eu868(5);
    assert!((ms(sf7.time_on_air(13)) - 46.336).abs() < 1e-6);
    // SF12 (low data rate optimisation): T_sym = 32.768 ms, payload
    // 8 + ⌈(104 − 48 + 28 + 16)/40⌉·5 = 23 symbols → 35.25 × 32.768 = 1155.072 ms.
    let sf12 = LoRaModulation::eu868(0);
    assert!((ms(sf12.time_on_air(13)) - 1155.072).abs() < 1e-6);
    // SF12 with 51 bytes: 8 + ⌈(408 − 48 + 28 + 16)/40⌉·5 = 63 symbols → 75.25 × 32.768 = 2465.792 ms.
    assert!((ms(sf12.time_on_air(51)) - 2465.792).abs() < 1e-6);
}

#[test]
fn lorawan_fragments_a_dlms_frame_into_its_maximum_payload() {
    // EU868 DR0 carries at most 51 bytes of FRMPayload: a 120-byte frame is 3 uplinks,
    // each with 13 bytes of LoRaWAN MAC overhead.
    let l = LinkModel::lorawan(LoRaModulation::eu868(0));
    assert_eq!(l.fragments(120), vec![64, 64, 31]);
    assert_eq!(l.duty_cycle, Some(0.01));
}

#[test]
fn presets_carry_their_published_figures() {
    assert_eq!(LinkModel::g3_plc().airtime.of(2500), Duration::from_secs(1), "20 kbit/s");
    assert_eq!(LinkModel::prime().airtime.of(5000), Duration::from_secs(1), "40 kbit/s");
    assert_eq!(LinkModel::rf_mesh(4).hops, 4);
    let nb = LinkModel::nb_iot();
    assert_eq!(nb.radio.unwrap().paging_cycle, Some(Duration::from_millis(20_480)), "shortest NB-IoT eDRX cycle");
    let m = LinkModel::lte_m();
    assert_eq!(m.radio.unwrap().paging_cycle, Some(Duration::from_millis(5_120)), "shortest LTE-M eDRX cycle");
    assert!(LinkKind::NbIot.is_direct() && !LinkKind::G3Plc.is_direct());
    let Airtime::Bitrate { bits_per_second } = LinkModel::fibre_backhaul().airtime else { panic!() };
    assert_eq!(bits_per_second, 100_000_000);
}
