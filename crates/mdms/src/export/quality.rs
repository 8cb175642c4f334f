//! Quality flags in the vocabularies of the exports: IEC 61968-9 `ReadingQualityType` codes
//! and NAESB ESPI `QualityOfReading` values.
//!
//! A CIM `ReadingQualityType` code has three parts, `<system>.<category>.<index>` (IEC
//! 61968-9, Annex D): system 1 is the end device (the meter), 3 the MDMS; categories are
//! 0 valid, 1 diagnostics, 2 power quality, 3 tamper / revenue protection, 4 data
//! collection, 5 reasonability, 6 failed validation, 7 edited, 8 estimated, 10
//! questionable. gridedge's flags ([`QualityFlags`]) map as follows:
//!
//! | flag | CIM code | meaning of the code |
//! |---|---|---|
//! | critical error (bit 0) | 1.1.0 | diagnostics flag |
//! | clock invalid (bit 1) | 1.1.9 | clock error |
//! | data not valid (bit 2) | 1.10.0 | questionable, indeterminate |
//! | daylight saving (bit 3) | 1.4.16 | DST in effect |
//! | clock adjusted (bit 5) | 1.4.9 | clock changed |
//! | supply disconnected (bit 6) | 1.2.3 | service disconnect switching |
//! | power down (bit 7) | 1.2.32 | power fail |
//! | tamper (bit 8) | 1.3.0 | revenue protection |
//! | overflow (bit 9) | 1.4.1 | overflow condition detected |
//! | watchdog (bit 10) | 1.1.4 | watchdog flag |
//! | other meter bits (4, 11–15) | 1.10.0 | questionable |
//! | suspect (bit 16, rule in 24–31) | 3.6.0 | failed validation |
//! | estimated (bit 17, method in 20–23) | 3.8.0 | estimated |
//! | edited (bit 18) | 3.7.0 | manually edited |
//! | other MDMS bits | none | (estimate scaled, method and rule codes qualify the above) |
//!
//! ESPI carries one `QualityOfReading` per interval (NAESB REQ.21: 0 valid, 7 manually
//! edited, 8 estimated using reference day, 9 estimated using linear interpolation, 10
//! questionable, 14 raw, 17 validated, ...). The most telling flag wins: edited (7), then
//! estimated (9 for linear interpolation, else 8), then suspect or any other flag that
//! makes [`QualityFlags::is_valid`] false (10). A valid value gets no `ReadingQuality`
//! element.

use model::QualityFlags;

use crate::estimation::EstimationMethod;

/// ESPI `QualityOfReading` 7: replaced or approved by a human.
pub const ESPI_MANUALLY_EDITED: u8 = 7;
/// ESPI `QualityOfReading` 8: estimated from historical data of the same measurement.
pub const ESPI_ESTIMATED_REFERENCE_DAY: u8 = 8;
/// ESPI `QualityOfReading` 9: estimated by linear interpolation.
pub const ESPI_ESTIMATED_LINEAR_INTERPOLATION: u8 = 9;
/// ESPI `QualityOfReading` 10: "data that has failed one or more checks".
pub const ESPI_QUESTIONABLE: u8 = 10;

/// The IEC 61968-9 `ReadingQualityType` codes of `quality`, one per distinct code in the
/// order of the table in the module docs. Empty for a value with no flags.
pub fn cim_quality_codes(quality: QualityFlags) -> Vec<&'static str> {
    const CODES: [(u32, &str); 15] = [
        (QualityFlags::CRITICAL_ERROR, "1.1.0"),
        (QualityFlags::CLOCK_INVALID, "1.1.9"),
        (QualityFlags::DATA_NOT_VALID, "1.10.0"),
        (QualityFlags::DAYLIGHT_SAVING, "1.4.16"),
        (1 << 4, "1.10.0"),
        (QualityFlags::CLOCK_ADJUSTED, "1.4.9"),
        (QualityFlags::SUPPLY_DISCONNECTED, "1.2.3"),
        (QualityFlags::POWER_DOWN, "1.2.32"),
        (QualityFlags::TAMPER, "1.3.0"),
        (QualityFlags::OVERFLOW, "1.4.1"),
        (QualityFlags::WATCHDOG, "1.1.4"),
        // Meter condition bits 11-15, not yet named.
        (0xF800, "1.10.0"),
        (QualityFlags::SUSPECT, "3.6.0"),
        (QualityFlags::ESTIMATED, "3.8.0"),
        (QualityFlags::EDITED, "3.7.0"),
    ];
    let mut codes: Vec<&'static str> = Vec::new();
    for (bits, code) in CODES {
        if quality.intersects(bits) && !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// The ESPI `QualityOfReading` of an interval whose values carry `quality` (see the module
/// docs); `None` for a valid value (no `ReadingQuality` element is written).
pub fn espi_quality_of_reading(quality: QualityFlags) -> Option<u8> {
    if quality.contains(QualityFlags::EDITED) {
        Some(ESPI_MANUALLY_EDITED)
    } else if let Some(method) = quality.estimation_method() {
        if method == EstimationMethod::LinearInterpolation.code() {
            Some(ESPI_ESTIMATED_LINEAR_INTERPOLATION)
        } else {
            Some(ESPI_ESTIMATED_REFERENCE_DAY)
        }
    } else if quality.is_valid() {
        None
    } else {
        Some(ESPI_QUESTIONABLE)
    }
}

/// The flags an imported ESPI `QualityOfReading` maps to (NAESB REQ.21 values):
///
/// - 0 (valid), 14 (raw), 17 (validated), 18 (verified), 19 (revenue quality): no flag;
/// - 7 (manually edited): [`QualityFlags::EDITED`];
/// - 8 (estimated using reference day): estimated, like-day average method;
/// - 9 (estimated using linear interpolation): estimated, linear interpolation method;
/// - anything else (10 questionable, 11 derived, 12 projected, 13 mixed, ...):
///   [`QualityFlags::DATA_NOT_VALID`]: not usable as read. (Not `SUSPECT`, which gridedge
///   reserves for its own validation rules, identified by rule id.)
pub fn quality_from_espi(quality_of_reading: u32) -> QualityFlags {
    match quality_of_reading {
        0 | 14 | 17 | 18 | 19 => QualityFlags::default(),
        7 => QualityFlags(QualityFlags::EDITED),
        8 => QualityFlags::estimated(EstimationMethod::LikeDayAverage.code(), false),
        9 => QualityFlags::estimated(EstimationMethod::LinearInterpolation.code(), false),
        _ => QualityFlags(QualityFlags::DATA_NOT_VALID),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_end_device_and_mdms_codes() {
        assert!(cim_quality_codes(QualityFlags(0)).is_empty());
        let q = QualityFlags(QualityFlags::POWER_DOWN | QualityFlags::CLOCK_ADJUSTED);
        assert_eq!(cim_quality_codes(q), vec!["1.4.9", "1.2.32"]);
        assert_eq!(cim_quality_codes(QualityFlags(QualityFlags::DAYLIGHT_SAVING)), vec!["1.4.16"]);
        // Unnamed meter bits give one questionable code, together with data-not-valid.
        assert_eq!(
            cim_quality_codes(QualityFlags((1 << 4) | (1 << 12) | QualityFlags::DATA_NOT_VALID)),
            vec!["1.10.0"]
        );
        assert_eq!(
            cim_quality_codes(QualityFlags(QualityFlags::TAMPER | QualityFlags::WATCHDOG)),
            vec!["1.3.0", "1.1.4"]
        );
        assert_eq!(cim_quality_codes(QualityFlags(0).with_suspect_rule(5)), vec!["3.6.0"]);
        assert_eq!(cim_quality_codes(QualityFlags::estimated(2, true)), vec!["3.8.0"]);
        let edited_estimate = QualityFlags(QualityFlags::estimated(1, false).0 | QualityFlags::EDITED);
        assert_eq!(cim_quality_codes(edited_estimate), vec!["3.8.0", "3.7.0"]);
    }

    #[test]
    fn espi_quality_takes_the_most_telling_flag() {
        assert_eq!(espi_quality_of_reading(QualityFlags(0)), None);
        assert_eq!(espi_quality_of_reading(QualityFlags(QualityFlags::DAYLIGHT_SAVING)), None);
        assert_eq!(espi_quality_of_reading(QualityFlags(QualityFlags::POWER_DOWN)), Some(10));
        assert_eq!(espi_quality_of_reading(QualityFlags(0).with_suspect_rule(3)), Some(10));
        assert_eq!(espi_quality_of_reading(QualityFlags::estimated(1, false)), Some(9));
        assert_eq!(espi_quality_of_reading(QualityFlags::estimated(2, true)), Some(8));
        let edited = QualityFlags(QualityFlags::EDITED | QualityFlags::POWER_DOWN);
        assert_eq!(espi_quality_of_reading(edited), Some(7));
    }

    #[test]
    fn espi_quality_round_trips_for_edits_and_estimates() {
        for code in [7u8, 8, 9, 10] {
            assert_eq!(espi_quality_of_reading(quality_from_espi(u32::from(code))), Some(code));
        }
        for valid in [0, 14, 17, 18, 19] {
            assert_eq!(quality_from_espi(valid), QualityFlags(0));
        }
        assert!(!quality_from_espi(12).is_valid());
    }
}
