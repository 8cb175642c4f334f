//! `dlms::unit::ScalerUnit::from_data` (IEC 62056-6-2 §4.3.2, `scaler_unit`): the input
//! is one A-XDR `Data` for the scaler_unit followed by one A-XDR `Data` raw value. Never
//! panics; an accepted scaler_unit round-trips through `to_data`; `apply` and
//! `format_value` are total and agree on which values are numeric.
#![no_main]

use dlms::unit::ScalerUnit;
use dlms::{Data, Reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let mut r = Reader::new(input);
    let Ok(su_data) = Data::decode(&mut r) else { return };
    let raw = Data::decode(&mut r).ok();
    let Ok(su) = ScalerUnit::from_data(&su_data) else { return };
    assert_eq!(su.to_data(), su_data, "to_data does not give back the accepted value");
    assert_eq!(ScalerUnit::from_data(&su.to_data()), Ok(su));
    let _ = (su.unit.to_string(), su.unit.name(), su.unit.symbol(), su.unit.is_known());
    let raw = raw.unwrap_or(Data::Long64(i64::from(su.scaler)));
    let applied = su.apply(&raw);
    let text = su.format_value(&raw);
    assert_eq!(applied.is_some(), text.is_some(), "apply and format_value disagree on {raw:?}");
    if let (Some(v), Some(t), Some(_)) = (applied, &text, raw.as_integer()) {
        // The decimal text of an integer parses back to the f64 apply computed when that
        // f64 is exact enough (|raw| < 2^53, |scaler| <= 22, per the apply docs).
        let number = t.split(' ').next().unwrap_or_default();
        let small =
            raw.as_integer().is_some_and(|i| i.unsigned_abs() < (1u128 << 53)) && su.scaler.unsigned_abs() <= 22;
        if small {
            let parsed: f64 = number.parse().unwrap_or_else(|e| panic!("format_value gave {t:?}: {e}"));
            assert_eq!(parsed, v, "format_value {t:?} and apply {v} disagree for {raw:?} with {su:?}");
        }
    }
});
