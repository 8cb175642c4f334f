//! Parsers of the values `gridedge mdms` takes on its command line: reading types (name,
//! OBIS or CIM code), UTC instants, local dates, months, time zones, meter lists.

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use model::{MeterId, ReadingType};

/// A reading type from its gridedge name (`active_energy_import`), its OBIS code
/// (IEC 62056-6-1: `1.0.1.8.0.255`, `1-0:1.8.0.255`, or `1-0:1.8.0` with F = 255) or its
/// IEC 61968-9 CIM ReadingType code (18 dot-separated fields).
///
/// # Errors
/// A text that is none of these, or a code gridedge does not store.
pub fn parse_reading_type(text: &str) -> anyhow::Result<ReadingType> {
    mdms::import::csv::parse_reading_type(text.trim()).map_err(|e| {
        let names: Vec<&str> = ReadingType::ALL.iter().map(|rt| rt.as_str()).collect();
        anyhow!("{e}: give a name ({}), an OBIS code (e.g. 1.0.1.8.0.255) or a CIM ReadingType code", names.join(", "))
    })
}

/// An instant in RFC 3339 with an offset, e.g. `2025-06-02T10:00:00Z` or
/// `2025-06-02T11:00:00+01:00`.
///
/// # Errors
/// Text without an offset or otherwise not RFC 3339.
pub fn parse_timestamp(text: &str) -> anyhow::Result<Timestamp> {
    text.trim()
        .parse::<Timestamp>()
        .map_err(|e| anyhow!("{text:?} is not an RFC 3339 instant with an offset (e.g. 2025-06-02T10:00:00Z): {e}"))
}

/// A local calendar date, `YYYY-MM-DD`.
///
/// # Errors
/// Anything else.
pub fn parse_date(text: &str) -> anyhow::Result<Date> {
    text.trim().parse::<Date>().map_err(|e| anyhow!("{text:?} is not a date YYYY-MM-DD: {e}"))
}

/// A calendar month, `YYYY-MM`, as (year, month).
///
/// # Errors
/// Anything else.
pub fn parse_month(text: &str) -> anyhow::Result<(i16, i8)> {
    let bad = || anyhow!("{text:?} is not a month YYYY-MM");
    let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
    let year: i16 = y.parse().map_err(|_| bad())?;
    let month: i8 = m.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&month) || y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    Ok((year, month))
}

/// An IANA time zone by name, e.g. `Europe/London`.
///
/// # Errors
/// A name the time zone database on this machine does not hold.
pub fn parse_time_zone(name: &str) -> anyhow::Result<TimeZone> {
    TimeZone::get(name.trim()).map_err(|e| anyhow!("unknown time zone {name:?}: {e}"))
}

/// Meter ids from repeated/comma-separated options and, when given, a file with one id per
/// line (blank lines and lines starting with `#` are skipped). Order kept, repeats refused.
///
/// # Errors
/// An unreadable file, an empty id, an id given twice.
pub fn meter_list(ids: &[String], file: Option<&Path>) -> anyhow::Result<Vec<MeterId>> {
    let mut all: Vec<String> = ids.iter().map(|s| s.trim().to_string()).collect();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        all.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string));
    }
    let mut out: Vec<MeterId> = Vec::with_capacity(all.len());
    for id in all {
        if id.is_empty() {
            bail!("an empty meter id was given");
        }
        let meter = MeterId(id);
        if out.contains(&meter) {
            bail!("meter {meter} is given twice");
        }
        out.push(meter);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_types_parse_from_name_obis_and_cim() {
        for rt in ReadingType::ALL {
            assert_eq!(parse_reading_type(rt.as_str()).unwrap(), rt);
            assert_eq!(parse_reading_type(rt.cim_code()).unwrap(), rt);
            let [a, b, c, d, e, f] = rt.obis();
            assert_eq!(parse_reading_type(&format!("{a}.{b}.{c}.{d}.{e}.{f}")).unwrap(), rt);
            assert_eq!(parse_reading_type(&format!("{a}-{b}:{c}.{d}.{e}.{f}")).unwrap(), rt);
        }
        assert_eq!(parse_reading_type("1-0:1.8.0").unwrap(), ReadingType::ActiveEnergyImport);
        assert!(parse_reading_type("1.0.99.8.0.255").is_err());
        assert!(parse_reading_type("1.0.1.8.0.256").is_err());
        assert!(parse_reading_type("kwh").is_err());
    }

    #[test]
    fn months_and_instants_are_checked() {
        assert_eq!(parse_month("2025-06").unwrap(), (2025, 6));
        for bad in ["2025-13", "2025-6", "25-06", "2025"] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
        assert!(parse_timestamp("2025-06-02T10:00:00").is_err(), "an offset is required");
        assert_eq!(parse_timestamp("2025-06-02T11:00:00+01:00").unwrap(), "2025-06-02T10:00:00Z".parse().unwrap());
    }

    #[test]
    fn meter_lists_refuse_repeats() {
        let ids = vec!["A".to_string(), "B".to_string()];
        assert_eq!(meter_list(&ids, None).unwrap(), [MeterId::from("A"), MeterId::from("B")]);
        assert!(meter_list(&["A".to_string(), "A".to_string()], None).is_err());
        assert!(meter_list(&[" ".to_string()], None).is_err());
    }
}
