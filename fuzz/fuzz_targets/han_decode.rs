//! HAN / P1 consumer-port decoding: `han::decode(bytes, &DecodeOptions::default())`
//! (framing detection, HDLC/M-Bus/LLC/DSMR, General-Block-Transfer reassembly, the
//! Data-Notification body, meter time). Never panics; the same input also runs with HDLC
//! octet stuffing removal switched on. Decoding twice gives the same result.
#![no_main]

use dlms::han::{DecodeOptions, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let options = DecodeOptions::default();
    let first = decode(input, &options);
    if let Ok(reading) = &first {
        // Accessors on a decoded reading must not panic either.
        for value in &reading.values {
            if let Some(obis) = value.obis {
                let _ = reading.value(obis);
            }
        }
        let _ = reading.quantity(1, 7, 0);
    }
    let second = decode(input, &options);
    assert_eq!(format!("{first:?}"), format!("{second:?}"), "decode is not deterministic");
    let stuffed = DecodeOptions { octet_stuffing: true, ..DecodeOptions::default() };
    let _ = decode(input, &stuffed);
});
