//! Green Button import of a feed written the way utilities publish them (relative links,
//! LocalTimeParameters, hourly data in mWh, an estimated reading, a gas meter reading), and
//! refusal of malformed documents.

mod exchange;

use exchange::*;
use mdms::import::greenbutton::{GreenButtonImportOptions, import_green_button, parse_green_button};
use mdms::import::{DeltaAnchor, ImportError};
use mdms::{MeterDataStore, SqliteStore};
use model::{MeterId, ReadingType};

/// Hourly electricity (values in 10^-3 Wh) for 2025-01-01 00:00-04:00 UTC, one value
/// estimated; plus a gas reading the import must skip.
const UTILITY_FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="GreenButtonDataStyleSheet.xslt"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <id>urn:uuid:0A1B2C3D-0000-4000-8000-000000000001</id>
  <title>Green Button Usage Feed</title>
  <updated>2025-01-02T00:00:00Z</updated>
  <link href="/espi/1_1/resource/RetailCustomer/9b6c7063/UsagePoint" rel="self"/>
  <entry>
    <id>urn:uuid:0A1B2C3D-0000-4000-8000-000000000002</id>
    <link href="LocalTimeParameters/01" rel="self"/>
    <link href="LocalTimeParameters" rel="up"/>
    <title>DST For North America</title>
    <content>
      <LocalTimeParameters xmlns="http://naesb.org/espi">
        <dstEndRule>B40E2000</dstEndRule>
        <dstOffset>3600</dstOffset>
        <dstStartRule>360E2000</dstStartRule>
        <tzOffset>-18000</tzOffset>
      </LocalTimeParameters>
    </content>
    <published>2025-01-02T00:00:00Z</published>
    <updated>2025-01-02T00:00:00Z</updated>
  </entry>
  <entry>
    <id>urn:uuid:0A1B2C3D-0000-4000-8000-000000000003</id>
    <link href="RetailCustomer/9b6c7063/UsagePoint/01" rel="self"/>
    <link href="RetailCustomer/9b6c7063/UsagePoint" rel="up"/>
    <link href="RetailCustomer/9b6c7063/UsagePoint/01/MeterReading" rel="related"/>
    <link href="LocalTimeParameters/01" rel="related"/>
    <title>Front Electric &amp; Gas</title>
    <content>
      <UsagePoint xmlns="http://naesb.org/espi">
        <ServiceCategory><kind>0</kind></ServiceCategory>
      </UsagePoint>
    </content>
    <published>2025-01-02T00:00:00Z</published>
    <updated>2025-01-02T00:00:00Z</updated>
  </entry>
  <entry>
    <id>urn:uuid:0A1B2C3D-0000-4000-8000-000000000004</id>
    <link href="RetailCustomer/9b6c7063/UsagePoint/01/MeterReading/01" rel="self"/>
    <link href="RetailCustomer/9b6c7063/UsagePoint/01/MeterReading" rel="up"/>
    <link href="RetailCustomer/9b6c7063/UsagePoint/01/MeterReading/01/IntervalBlock" rel="related"/>
    <link href="ReadingType/07" rel="related"/>
    <title>Hourly Wh Received</title>
    <content><MeterReading xmlns="http://naesb.org/espi"/></content>
    <published>2025-01-02T00:00:00Z</published>
    <updated>2025-01-02T00:00:00Z</updated>
  </entry>
  <entry>
    <id>urn:uuid:0A1B2C3D-0000-4000-8000-000000000005</id>
    <link href="ReadingType/07" rel="self"/>
    <link href="ReadingType" rel="up"/>
    <title>Energy Delivered (kWh)</title>
    <content>
      <ReadingType xmlns="http://naesb.org/espi">
        <accumulationBehaviour>4</accumulationBehaviour>
        <commodity>1</commodity>
        <currency>840</currency>
        <dataQualifier>12</dataQualifier>
        <flowDirection>1</flowDirection>
        <intervalLength>3600</intervalLength>
        <kind>12</kind>
        <phase>769</phase>
        <powerOfTenMultiplier>-3</powerOfTenMultiplier>
        <timeAttribute>0</timeAttribute>
        <uom>72</uom>
      </ReadingType>
    </content>
    <published>2025-01-02T00:00:00Z</published>
    <updated>2025-01-02T00:00:00Z</updated>
  </entry>
  <entry>
    <id>urn:uuid:0A1B2C3D-0000-4000-8000-000000000006</id>
    <link href="RetailCustomer/9b6c7063/UsagePoint/01/MeterReading/01/IntervalBlock/0173" rel="self"/>
    <link href="RetailCustomer/9b6c7063/UsagePoint/01/MeterReading/01/IntervalBlock" rel="up"/>
    <title/>
    <content>
      <IntervalBlock xmlns="http://naesb.org/espi">
        <interval><duration>14400</duration><start>1735689600</start></interval>
        <IntervalReading>
          <cost>190000</cost>
          <timePeriod><duration>3600</duration><start>1735693200</start></timePeriod>
          <value>1250500</value>
        </IntervalReading>
        <IntervalReading>
          <timePeriod><duration>3600</duration><start>1735689600</start></timePeriod>
          <value>980250</value>
        </IntervalReading>
        <IntervalReading>
          <ReadingQuality><quality>8</quality></ReadingQuality>
          <timePeriod><duration>3600</duration><start>1735696800</start></timePeriod>
          <value>1100000</value>
        </IntervalReading>
        <IntervalReading>
          <ReadingQuality><quality>17</quality></ReadingQuality>
          <timePeriod><duration>3600</duration><start>1735700400</start></timePeriod>
          <value>3</value>
        </IntervalReading>
      </IntervalBlock>
    </content>
    <published>2025-01-02T00:00:00Z</published>
    <updated>2025-01-02T00:00:00Z</updated>
  </entry>
  <entry>
    <id>urn:uuid:0A1B2C3D-0000-4000-8000-000000000007</id>
    <link href="RetailCustomer/9b6c7063/UsagePoint/01/MeterReading/02" rel="self"/>
    <link href="RetailCustomer/9b6c7063/UsagePoint/01/MeterReading" rel="up"/>
    <link href="RetailCustomer/9b6c7063/UsagePoint/01/MeterReading/02/IntervalBlock" rel="related"/>
    <link href="ReadingType/08" rel="related"/>
    <title>Daily Gas</title>
    <content><MeterReading xmlns="http://naesb.org/espi"/></content>
    <published>2025-01-02T00:00:00Z</published>
    <updated>2025-01-02T00:00:00Z</updated>
  </entry>
  <entry>
    <id>urn:uuid:0A1B2C3D-0000-4000-8000-000000000008</id>
    <link href="ReadingType/08" rel="self"/>
    <link href="ReadingType" rel="up"/>
    <title>Therms</title>
    <content>
      <ReadingType xmlns="http://naesb.org/espi">
        <accumulationBehaviour>4</accumulationBehaviour>
        <commodity>7</commodity>
        <intervalLength>86400</intervalLength>
        <kind>12</kind>
        <uom>169</uom>
      </ReadingType>
    </content>
    <published>2025-01-02T00:00:00Z</published>
    <updated>2025-01-02T00:00:00Z</updated>
  </entry>
</feed>
"#;

#[test]
fn a_utility_style_feed_parses_into_one_electricity_channel() {
    let feed = parse_green_button(UTILITY_FEED).unwrap();
    assert_eq!(feed.usage_points.len(), 1);
    let up = &feed.usage_points[0];
    assert_eq!(up.title, "Front Electric & Gas");
    assert_eq!(up.channels.len(), 1);
    let channel = &up.channels[0];
    assert_eq!((channel.reading_type, channel.interval_length_s), (ReadingType::ActiveEnergyImport, 3600));
    // Sorted by start, scaled by 10^-3 exactly.
    let got: Vec<(i64, f64)> = channel.intervals.iter().map(|i| (i.start.as_second(), i.value)).collect();
    assert_eq!(got, [(1735689600, 980.25), (1735693200, 1250.5), (1735696800, 1100.0), (1735700400, 0.003)]);
    assert!(channel.intervals[0].quality.is_valid());
    assert!(!channel.intervals[2].quality.is_valid(), "estimated (8) is not valid as read");
    assert!(channel.intervals[3].quality.is_valid(), "validated (17) is valid");
    assert_eq!(feed.skipped.len(), 1);
    assert!(feed.skipped[0].contains("Daily Gas"), "{:?}", feed.skipped);
    assert_eq!(feed.total(ReadingType::ActiveEnergyImport), 980.25 + 1250.5 + 1100.0 + 0.003);
}

#[test]
fn a_utility_feed_imports_under_the_given_meter() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut options = GreenButtonImportOptions::new(DeltaAnchor::Fixed(0.0), ts("2025-01-05T00:00:00Z"));
    options.meter = Some(MeterId::from("GB-0001"));
    let report = import_green_button(&mut store, UTILITY_FEED, &options).unwrap();
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.meters.len(), 1);
    assert_eq!(report.meters[0].intervals, 5);
    assert_eq!(report.totals().intervals_new, 5);
    let stored = channel(&store, &MeterId::from("GB-0001"), ReadingType::ActiveEnergyImport);
    let want = [
        ("2025-01-01T00:00:00Z", 0.0),
        ("2025-01-01T01:00:00Z", 980.25),
        ("2025-01-01T02:00:00Z", 2230.75),
        ("2025-01-01T03:00:00Z", 3330.75),
        ("2025-01-01T04:00:00Z", 3330.75 + 0.003),
    ];
    let got: Vec<(String, f64)> = stored.iter().map(|(t, v, _)| (t.to_string(), *v)).collect();
    let want: Vec<(String, f64)> = want.iter().map(|(t, v)| (t.to_string(), *v)).collect();
    assert_eq!(got, want);
    // The estimated interval's end value carries the not-valid flag.
    assert_ne!(stored[3].2, 0);
    assert_eq!(stored[2].2, 0);
    let collections = store.clock_drift_history(&MeterId::from("GB-0001")).unwrap();
    assert_eq!((collections[0].interval_length_s, collections[0].source.as_str()), (3600, "greenbutton-import"));

    // Without a meter id the usage point title is used.
    let mut store = SqliteStore::open_in_memory().unwrap();
    options.meter = None;
    import_green_button(&mut store, UTILITY_FEED, &options).unwrap();
    assert_eq!(store.meters().unwrap(), [MeterId::from("Front Electric & Gas")]);
}

#[test]
fn malformed_documents_are_refused_and_store_nothing() {
    let replace = |from: &str, to: &str| {
        assert!(UTILITY_FEED.contains(from), "{from}");
        UTILITY_FEED.replacen(from, to, 1)
    };
    let cases = [
        ("not xml", "not XML at all".to_string()),
        ("truncated", UTILITY_FEED[..UTILITY_FEED.len() / 2].to_string()),
        ("wrong root", "<html xmlns=\"http://www.w3.org/1999/xhtml\"/>".to_string()),
        ("atom without namespace", UTILITY_FEED.replace("xmlns=\"http://www.w3.org/2005/Atom\"", "")),
        ("value not a number", replace("<value>980250</value>", "<value>98O250</value>")),
        ("value too big", replace("<value>980250</value>", "<value>99999999999999999999</value>")),
        ("no uom", replace("<uom>72</uom>", "")),
        (
            "duration differs",
            replace("<duration>3600</duration><start>1735700400", "<duration>1800</duration><start>1735700400"),
        ),
        ("no timePeriod", replace("<timePeriod><duration>3600</duration><start>1735689600</start></timePeriod>", "")),
        ("power out of range", replace("<powerOfTenMultiplier>-3<", "<powerOfTenMultiplier>-30<")),
        ("gap", replace("<start>1735696800</start>", "<start>1735707600</start>")),
        ("unknown entity", replace("&amp;", "&nbsp;")),
    ];
    for (what, xml) in cases {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let options = GreenButtonImportOptions::new(DeltaAnchor::Fixed(0.0), ts("2025-01-05T00:00:00Z"));
        let result = import_green_button(&mut store, &xml, &options);
        match (what, &result) {
            ("gap", Err(ImportError::DeltaGap { .. })) => {}
            (_, Err(ImportError::Xml(message))) if what != "gap" => assert!(!message.is_empty()),
            _ => panic!("{what}: unexpected {result:?}"),
        }
        assert_eq!(store.summary().unwrap().interval_rows, 0, "{what}");
    }
}
