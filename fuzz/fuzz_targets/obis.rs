//! `dlms::Obis` `FromStr` (IEC 62056-6-1 §4, the textual OBIS forms). The input is
//! taken as UTF-8 (lossily). Never panics; a parsed code prints in the dotted and the
//! reduced form, and both forms parse back to the same code.
#![no_main]

use dlms::Obis;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    match text.parse::<Obis>() {
        Ok(obis) => {
            let dotted = obis.to_string();
            let reduced = obis.to_reduced();
            assert_eq!(dotted.parse::<Obis>(), Ok(obis), "dotted form {dotted:?} of {text:?}");
            assert_eq!(reduced.parse::<Obis>(), Ok(obis), "reduced form {reduced:?} of {text:?}");
            assert_eq!(Obis::from_slice(obis.as_bytes()), Some(obis));
        }
        Err(e) => {
            assert_eq!(e.input, text, "the error does not carry the input");
            let _ = e.to_string();
        }
    }
});
