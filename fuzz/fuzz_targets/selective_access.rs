//! `dlms::xdlms::SelectiveAccess::from_data` and its wire `Codec` (IEC 62056-5-3 §9.5
//! Selective-Access-Descriptor; IEC 62056-6-2 §4.3.6 range/entry descriptors): the input
//! is the access-selector byte followed by the A-XDR access-parameters. Never panics; an
//! accepted descriptor gives back its parameters with `to_data`; the `Codec` form decodes
//! whenever the parameters are valid A-XDR (selector 1/2 with another shape becomes
//! `Other`) and round-trips.
#![no_main]

use dlms::Codec;
use dlms::Data;
use dlms::xdlms::SelectiveAccess;
use dlms_fuzz::roundtrip::{assert_same_value, codec_round_trip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&selector, params)) = input.split_first() else { return };
    let Ok(parameters) = Data::from_bytes(params) else {
        assert!(SelectiveAccess::from_bytes(input).is_err(), "Codec accepted parameters Data refuses");
        return;
    };
    let interpreted = SelectiveAccess::from_data(selector, &parameters);
    if let Ok(sa) = &interpreted {
        assert_eq!(sa.selector(), selector);
        assert_same_value(&sa.to_data(), &parameters, params);
    }
    let decoded = SelectiveAccess::from_bytes(input).expect("Codec refused valid access-parameters");
    assert_eq!(decoded.selector(), selector);
    match &interpreted {
        Ok(sa) => assert_same_value(sa, &decoded, input),
        Err(_) => assert_same_value(&decoded, &SelectiveAccess::Other { selector, parameters }, input),
    }
    codec_round_trip(&decoded);
});
