//! `gridedge hes registry`: CSV provisioning through the CLI (good rows stored, bad rows
//! reported with their line, exit code 2, re-import idempotent), single adds, listing
//! with filters, showing and status changes.

mod common;

use common::*;

fn hes(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut cmd = gridedge();
    cmd.arg("hes").args(args).arg("--db").arg(db);
    run(cmd)
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {} / {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

#[test]
fn registry_import_add_list_show_and_status_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hes.db");
    let csv = dir.path().join("meters.csv");
    std::fs::write(
        &csv,
        "serial,host,port,meter_type,dcu,feeder,time_zone\n\
         GE00000101,10.1.0.1,4059,electricity,DCU-7,F-1,Europe/London\n\
         GE00000102,10.1.0.2,4059,water,DCU-7,F-1,Europe/London\n\
         GE00000103,10.1.0.3,70000,electricity,DCU-8,F-2,UTC\n\
         GE00000104,10.1.0.4,4059,gas,DCU-8,F-2,UTC\n",
    )
    .unwrap();
    let csv_arg = csv.to_str().unwrap();
    let out = hes(&db, &["registry", "import", "--csv", csv_arg]);
    assert_eq!(out.status.code(), Some(2), "some rows failed: {}", String::from_utf8_lossy(&out.stderr));
    let report = json_of(&out);
    assert_eq!(report["inserted"], 3);
    assert_eq!(report["errors"].as_array().unwrap().len(), 1);
    assert_eq!(report["errors"][0]["line"], 4);
    assert_eq!(report["errors"][0]["serial"], "GE00000103");
    assert!(report["errors"][0]["reason"].as_str().unwrap().contains("port"));

    let again = json_of(&hes(&db, &["registry", "import", "--csv", csv_arg]));
    assert_eq!((again["inserted"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(3)));

    let listed = json_of(&hes(&db, &["registry", "list", "--dcu", "DCU-7"]));
    let serials: Vec<&str> =
        listed.as_array().unwrap().iter().map(|m| m["record"]["serial"].as_str().unwrap()).collect();
    assert_eq!(serials, ["GE00000101", "GE00000102"]);
    let water = json_of(&hes(&db, &["registry", "list", "--meter-type", "water"]));
    assert_eq!(water.as_array().unwrap().len(), 1);

    let out = hes(
        &db,
        &[
            "registry",
            "add",
            "--serial",
            "GE00000105",
            "--host",
            "10.1.0.5",
            "--transport",
            "hdlc",
            "--authentication",
            "high-gmac",
            "--system-title",
            "4752440000000069",
            "--dcu",
            "DCU-8",
            "--transformer",
            "TX-9",
            "--time-zone",
            "Africa/Johannesburg",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["outcome"], "inserted");
    let shown = json_of(&hes(&db, &["registry", "show", "--serial", "GE00000105"]));
    let r = &shown["record"];
    assert_eq!((r["transport"]["kind"].as_str(), r["transport"]["server_physical"].as_u64()), (Some("hdlc"), Some(17)));
    assert_eq!((r["authentication"].as_str(), r["transport"]["client_sap"].as_u64()), (Some("high_gmac"), Some(1)));
    assert_eq!(r["security"]["policy"], 0x6C);
    assert_eq!(r["system_title"], "4752440000000069");
    assert_eq!(r["status"], "provisioned");

    let out = hes(&db, &["registry", "add", "--serial", "bad serial", "--host", "10.1.0.6"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("serial"));

    let suspended = json_of(&hes(&db, &["registry", "set-status", "--serial", "GE00000101", "--status", "suspended"]));
    assert_eq!(suspended["record"]["status"], "suspended");
    let active = json_of(&hes(&db, &["registry", "list", "--status", "suspended"]));
    assert_eq!(active.as_array().unwrap().len(), 1);
    let out = hes(&db, &["registry", "show", "--serial", "NOPE"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no meter NOPE"));
}
