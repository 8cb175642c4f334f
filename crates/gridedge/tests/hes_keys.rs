//! `gridedge hes keys` end to end: keys imported through the CLI are sealed at rest (no
//! database file holds their bytes) and never printed; the storage KEK is refused beside
//! the data, or when wrong; and a rotation against `gridedge meter --key-master ...`
//! (Security setup key_transfer over HLS-GMAC) leaves the old keys refused by the meter
//! and the new ones working through `hes read --force`.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const EK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
const KM: &str = "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF";
const SERIAL: &str = "GE00000077";
/// `gridedge meter`'s default system title for GE00000077: "GRD" + 77 in 5 bytes.
const METER_TITLE: &str = "475244000000004D";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// A storage KEK file (mode 0600) in its own directory.
fn kek_file(dir: &Path, byte: u8) -> PathBuf {
    let path = dir.join("kek.hex");
    std::fs::write(&path, format!("{byte:02x}").repeat(32)).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

fn hes(db: &Path, kek: Option<&Path>, args: &[&str]) -> std::process::Output {
    let mut cmd = gridedge();
    cmd.arg("hes").args(args).arg("--db").arg(db).env_remove("GRIDEDGE_HES_KEK");
    for var in ["GRIDEDGE_KEY_ENCRYPTION", "GRIDEDGE_KEY_AUTHENTICATION", "GRIDEDGE_KEY_MASTER"] {
        cmd.env_remove(var);
    }
    if let Some(k) = kek {
        cmd.arg("--kek-file").arg(k);
    }
    run(cmd)
}

fn ok_json(out: std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn files_contain(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

#[test]
fn imported_keys_are_sealed_never_printed_and_need_the_right_kek() {
    let data = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let db = data.path().join("hes.db");
    let kek = kek_file(secrets.path(), 0x42);
    let out = ok_json(hes(
        &db,
        Some(&kek),
        &["keys", "import", "--serial", SERIAL, "--guek", EK, "--gak", AK, "--kek-master", KM],
    ));
    assert_eq!(out["generation"], 1);
    for key in [EK, AK, KM] {
        assert!(!files_contain(data.path(), &hex(key)), "a key is stored in clear");
    }
    let listed = hes(&db, Some(&kek), &["keys", "list"]);
    let text = String::from_utf8_lossy(&listed.stdout).to_uppercase();
    assert!(listed.status.success() && text.contains("ACTIVE") && text.contains(SERIAL), "{text}");
    for key in [EK, AK, KM] {
        assert!(!text.contains(key), "a key is printed");
    }

    // Wrong KEK, KEK beside the data, no KEK: refused with a reason.
    let other = tempfile::tempdir().unwrap();
    let wrong = hes(&db, Some(&kek_file(other.path(), 0x43)), &["keys", "list"]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("does not match"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let beside = hes(&db, Some(&kek_file(data.path(), 0x42)), &["keys", "list"]);
    assert!(!beside.status.success());
    assert!(String::from_utf8_lossy(&beside.stderr).contains("database's directory"));
    let none = hes(&db, None, &["keys", "list"]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("GRIDEDGE_HES_KEK"));
}

#[test]
fn rotation_against_a_simulated_meter_refuses_the_old_keys_afterwards() {
    let mut cmd = gridedge();
    cmd.args(["meter", "--port", "0", "--serial", SERIAL, "--management-auth", "high-gmac"]).args([
        "--key-encryption",
        EK,
        "--key-authentication",
        AK,
        "--key-master",
        KM,
    ]);
    let (_meter, line) = spawn_until(cmd, "listening on");
    let port =
        line.split_whitespace().find_map(|w| w.strip_prefix("127.0.0.1:")).and_then(|p| p.parse::<u16>().ok()).unwrap();
    let port = port.to_string();

    let data = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let db = data.path().join("hes.db");
    let mdms = data.path().join("mdms.db");
    let mdms = mdms.to_str().unwrap();
    let kek = kek_file(secrets.path(), 0x24);
    ok_json(hes(
        &db,
        None,
        &[
            "registry",
            "add",
            "--serial",
            SERIAL,
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--authentication",
            "high-gmac",
            "--system-title",
            METER_TITLE,
        ],
    ));
    ok_json(hes(
        &db,
        Some(&kek),
        &["keys", "import", "--serial", SERIAL, "--guek", EK, "--gak", AK, "--kek-master", KM],
    ));
    let before = ok_json(hes(&db, Some(&kek), &["read", "--serial", SERIAL, "--force", "--mdms-db", mdms]));
    assert_eq!(before["outcome"]["key_generation"], 1);
    assert!(before["registers"].as_array().unwrap().len() >= 6);

    let rotated = ok_json(hes(&db, Some(&kek), &["keys", "rotate", "--serial", SERIAL, "--include-master"]));
    assert_eq!(rotated["outcome"], "rotated");
    assert_eq!((rotated["previous_generation"].as_u64(), rotated["generation"].as_u64()), (Some(1), Some(2)));

    // The old keys no longer open an association with the meter.
    let mut old = gridedge();
    old.args(["read", "--host", "127.0.0.1", "--port", &port, "--no-profile", "--timeout", "5"])
        .args(["--client-address", "1", "--auth", "high-gmac", "--key-encryption", EK, "--key-authentication", AK])
        .args(["--obis", "1.0.1.8.0.255"]);
    let old = run(old);
    assert!(!old.status.success(), "the old keys must be refused");
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("cannot associate"),
        "{}",
        String::from_utf8_lossy(&old.stderr)
    );

    // The new keys, from the key store, work.
    let after = ok_json(hes(&db, Some(&kek), &["read", "--serial", SERIAL, "--force", "--mdms-db", mdms]));
    assert_eq!(after["outcome"]["key_generation"], 2);
    let history = ok_json(hes(&db, None, &["jobs", "history", "--serial", SERIAL]));
    assert!(history.as_array().unwrap().iter().all(|a| a["outcome"] == "succeeded"));
    for key in [EK, AK, KM] {
        assert!(!files_contain(data.path(), &hex(key)));
    }
}
