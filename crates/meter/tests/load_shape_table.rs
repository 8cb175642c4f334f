//! Keeps the embedded load-shape table honest: re-derives it from the UK household series in
//! the shared test data (`testdata/loads/uk-electricity-hdd-only-hourly-sample-0.csv.gz`)
//! with an implementation independent of the crate (UK civil time from jiff's calendar, the
//! same method as `tools/derive_load_shape.py`) and compares it with the constants in
//! `meter::metrology::load_shape`, within their rounding.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use jiff::civil::{Date, Weekday};
use jiff::{SignedDuration, Timestamp};
use meter::metrology::load_shape::{MONTH_FACTOR, WEEKDAY_KWH, WEEKEND_KWH};

fn series_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/loads/uk-electricity-hdd-only-hourly-sample-0.csv.gz")
}

/// UK civil time: GMT, and BST (+1 h) from 01:00 UTC on the last Sunday of March to 01:00 UTC
/// on the last Sunday of October.
fn uk_civil(t: Timestamp) -> jiff::civil::DateTime {
    let utc = t.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    let year = utc.year();
    let switch = |month: i8| {
        let last_sunday = Date::new(year, month, 1).unwrap().nth_weekday_of_month(-1, Weekday::Sunday).unwrap();
        last_sunday.at(1, 0, 0, 0)
    };
    if utc >= switch(3) && utc < switch(10) { utc + SignedDuration::from_hours(1) } else { utc }
}

#[test]
fn embedded_table_matches_the_series() {
    let file = std::fs::File::open(series_path()).expect("load series present");
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let mut sums = [[0i64; 24]; 2];
    let mut counts = [[0i64; 24]; 2];
    let mut month_sum = [0i64; 12];
    let mut month_count = [0i64; 12];
    let mut rows = 0;
    for (i, line) in reader.lines().enumerate() {
        let line = line.expect("readable gzip text");
        if i == 0 {
            assert_eq!(line.trim(), "start,value");
            continue;
        }
        let (start, value) = line.split_once(',').expect("two columns");
        let t: Timestamp = start.replacen(' ', "T", 1).parse().expect("ISO 8601 start");
        let wh = (value.trim().parse::<f64>().expect("kWh value") * 1000.0).round() as i64;
        let local = uk_civil(t);
        let weekend = usize::from(matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday));
        let hour = local.hour() as usize;
        sums[weekend][hour] += wh;
        counts[weekend][hour] += 1;
        let m = local.month() as usize - 1;
        month_sum[m] += wh;
        month_count[m] += 1;
        rows += 1;
    }
    assert_eq!(rows, 23_508, "the README's row count");

    for (weekend, table) in [(0, &WEEKDAY_KWH), (1, &WEEKEND_KWH)] {
        for h in 0..24 {
            let mean_kwh = sums[weekend][h] as f64 / counts[weekend][h] as f64 / 1000.0;
            assert!(
                (mean_kwh - table[h]).abs() <= 0.00005 + 1e-9,
                "{} hour {h}: derived {mean_kwh:.5}, embedded {}",
                if weekend == 1 { "weekend" } else { "weekday" },
                table[h]
            );
        }
    }
    let means: Vec<f64> = (0..12).map(|m| month_sum[m] as f64 / month_count[m] as f64).collect();
    let overall = means.iter().sum::<f64>() / 12.0;
    for m in 0..12 {
        let factor = means[m] / overall;
        assert!(
            (factor - MONTH_FACTOR[m]).abs() <= 0.0005 + 1e-9,
            "month {}: derived {factor:.4}, embedded {}",
            m + 1,
            MONTH_FACTOR[m]
        );
    }
}

#[test]
fn derivation_sees_the_documented_shape() {
    // The README describes night ≈ 0.07 kWh/h with morning and evening peaks; the table must
    // show the same (independent of the exact numbers above).
    let night = WEEKDAY_KWH[2..6].iter().sum::<f64>() / 4.0;
    assert!((0.06..0.08).contains(&night), "{night}");
    let (morning, evening) = (WEEKDAY_KWH[8], WEEKDAY_KWH[20]);
    assert!(morning > 3.0 * night, "morning peak {morning}");
    assert!(evening > 3.0 * night, "evening peak {evening}");
}
