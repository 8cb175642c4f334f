//! Provisioning the persistent registry from CSV: good rows written, bad rows reported
//! with their line and reason, re-import idempotent, updates detected, unknown columns
//! refused, and the file's values survive a reopen of the database.

use hes::registry_store::{
    AuthenticationKind, MeterFilter, MeterStatus, MeterType, RegistryError, RegistryStore, TransportKind,
};

const CSV: &str = "\
serial,host,port,meter_type,transport,authentication,system_title,transformer,feeder,dcu,link,time_zone,status
GE00000001,10.0.0.1,4059,electricity,wrapper,none,,TX-1,F-1,DCU-1,PLC-1,Europe/London,active
GE00000002,10.0.0.2,,water,hdlc,high-gmac,4752440000000002,TX-1,F-1,DCU-1,,UTC,
GE00000003,10.0.0.3,4059,steam,wrapper,none,,,,,,UTC,
GE00000004,10.0.0.4,99999,electricity,,,,,,,,UTC,
,10.0.0.5,4059,electricity,,,,,,,,UTC,
GE00000006,10.0.0.6,4059,gas,,,,TX-2,F-2,DCU-2,,Mars/Olympus,
GE00000001,10.0.0.7,4059,electricity,,,,,,,,UTC,
GE00000008,10.0.0.8,4059,gas,,low,,TX-2,F-2,DCU-2,,America/New_York,provisioned
";

#[test]
fn csv_import_keeps_good_rows_reports_bad_ones_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hes.db");
    let mut store = RegistryStore::open(&db).unwrap();
    let report = store.import_csv(CSV.as_bytes()).unwrap();
    assert_eq!(report.rows, 8);
    assert_eq!((report.inserted, report.updated, report.unchanged), (3, 0, 0));
    let bad: Vec<(u64, &str)> = report.errors.iter().map(|e| (e.line, e.reason.as_str())).collect();
    assert_eq!(bad.len(), 5, "{bad:?}");
    assert_eq!(bad[0].0, 4);
    assert!(bad[0].1.contains("meter_type"), "{bad:?}");
    assert_eq!(bad[1].0, 5);
    assert!(bad[1].1.contains("port"), "{bad:?}");
    assert_eq!(bad[2].0, 6);
    assert!(bad[2].1.contains("serial is required"), "{bad:?}");
    assert_eq!(bad[3].0, 7);
    assert!(bad[3].1.contains("time_zone"), "{bad:?}");
    assert_eq!(bad[4].0, 8);
    assert!(bad[4].1.contains("line 2"), "a serial repeated in the file: {bad:?}");
    assert_eq!(report.errors[3].serial.as_deref(), Some("GE00000006"));

    // Reopen: the good rows are there with every column.
    drop(store);
    let mut store = RegistryStore::open(&db).unwrap();
    assert_eq!(store.len().unwrap(), 3);
    let m1 = store.require("GE00000001").unwrap().record;
    assert_eq!(m1.status, MeterStatus::Active);
    assert_eq!(
        (m1.dcu.as_deref(), m1.link.as_deref(), m1.time_zone.as_str()),
        (Some("DCU-1"), Some("PLC-1"), "Europe/London")
    );
    assert_eq!(m1.transport.client_sap, 16, "no authentication: the public client");
    let m2 = store.require("GE00000002").unwrap().record;
    assert_eq!(m2.meter_type, MeterType::Water);
    assert_eq!(m2.transport.kind, TransportKind::Hdlc);
    assert_eq!(m2.transport.server_physical, Some(17), "HDLC default lower address");
    assert_eq!(m2.transport.port, 4059, "empty port takes the default");
    assert_eq!(m2.authentication, AuthenticationKind::HighGmac);
    assert_eq!(m2.transport.client_sap, 1, "authenticated: the management client");
    assert_eq!(m2.security.map(|s| (s.suite, s.policy)), Some((0, 0x6C)));
    assert_eq!(m2.system_title.map(|t| t.to_string()).as_deref(), Some("4752440000000002"));
    assert_eq!(m2.status, MeterStatus::Provisioned);
    assert_eq!(store.require("GE00000008").unwrap().record.authentication, AuthenticationKind::Low);

    // The same file again: nothing changes, the same rows fail.
    let again = store.import_csv(CSV.as_bytes()).unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged, again.errors.len()), (0, 0, 3, 5));

    // A corrected file updates one meter and adds the fixed ones.
    let fixed = "serial,host,meter_type,time_zone\nGE00000003,10.0.0.3,gas,UTC\nGE00000006,10.0.0.6,gas,Europe/Paris\n\
                 GE00000001,10.0.0.1,electricity,Europe/Dublin\n";
    let r = store.import_csv(fixed.as_bytes()).unwrap();
    assert_eq!((r.inserted, r.updated, r.unchanged, r.errors.len()), (2, 1, 0, 0), "{r:?}");
    let m1 = store.require("GE00000001").unwrap().record;
    assert_eq!(m1.time_zone, "Europe/Dublin");
    assert_eq!(m1.status, MeterStatus::Provisioned, "columns absent from a file take their defaults");
    let gas = store.list(&MeterFilter { meter_type: Some(MeterType::Gas), ..MeterFilter::default() }).unwrap();
    assert_eq!(gas.len(), 3);
}

#[test]
fn a_file_with_an_unknown_column_or_no_serial_column_is_refused_whole() {
    let mut store = RegistryStore::open_in_memory().unwrap();
    let typo = "serial,host,feedr\nGE1,10.0.0.1,F-1\n";
    assert!(matches!(store.import_csv(typo.as_bytes()), Err(RegistryError::Csv(m)) if m.contains("feedr")));
    let no_serial = "host,port\n10.0.0.1,4059\n";
    assert!(matches!(store.import_csv(no_serial.as_bytes()), Err(RegistryError::Csv(m)) if m.contains("serial")));
    assert!(store.is_empty().unwrap(), "nothing written");
}
