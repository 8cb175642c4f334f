//! `gridedge bench codec` runs every codec case and the Python comparison and reports
//! them as JSON. Only the shape and the work counts are checked: never a duration.

mod common;

use common::*;
use serde_json::Value;

fn case<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("case {id} missing: {report}"))
}

#[test]
fn bench_codec_reports_every_case_and_the_python_ratios() {
    let python = python();
    let mut cmd = gridedge();
    cmd.args(["bench", "codec", "--rows", "96", "--seconds", "0.05", "--json", "--python"]).arg(python.get_program());
    let report = run_json(cmd);
    assert_eq!(report["benchmark"], "codec");

    let ids: Vec<&str> = report["cases"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "plain-normal/96/encode",
            "plain-normal/96/decode",
            "datablocks/96/encode",
            "datablocks/96/decode",
            "glo-normal/96/protect",
            "glo-normal/96/unprotect+decode",
            "general-glo/96/protect",
            "general-glo/96/unprotect+decode",
            "glo-datablocks/96/protect",
            "glo-datablocks/96/unprotect+decode",
            "hdlc/96/encode",
            "hdlc/96/parse+reassemble",
            "hdlc/96/parse+decode",
            "aes-gcm/512/encrypt",
            "aes-gcm/512/decrypt",
        ]
    );
    for c in report["cases"].as_array().unwrap() {
        assert!(c["runs"].as_u64().unwrap() >= 1, "{c}");
        assert!(c["seconds_per_run"].as_f64().unwrap() > 0.0, "{c}");
        assert!(c["mb_per_s"].as_f64().unwrap() > 0.0, "{c}");
    }
    // 96 rows of 38 bytes behind C4 01 C1 00 01 60
    assert_eq!(case(&report, "plain-normal/96/decode")["apdu_bytes"], 6 + 96 * 38);
    assert_eq!(case(&report, "plain-normal/96/decode")["apdus"], 1);
    // 3,654 bytes of value in blocks of at most 1024 − 13 bytes: 4 blocks
    assert_eq!(case(&report, "datablocks/96/decode")["apdus"], 4);
    assert_eq!(case(&report, "aes-gcm/512/decrypt")["apdu_bytes"], 512);
    assert!(report["peak_rss_bytes"].as_u64().unwrap() > 0);

    let comparisons = report["python"]["comparisons"].as_array().unwrap_or_else(|| panic!("no comparison: {report}"));
    let find = |id: &str, lib: &str| {
        comparisons
            .iter()
            .find(|c| c["id"] == id && c["library"] == lib)
            .unwrap_or_else(|| panic!("{id} / {lib} missing: {}", report["python"]))
    };
    for id in [
        "plain-normal/96/decode",
        "datablocks/96/decode",
        "glo-normal/96/unprotect+decode",
        "general-glo/96/unprotect+decode",
        "glo-datablocks/96/unprotect+decode",
        "hdlc/96/parse+decode",
    ] {
        let gurux = find(id, "gurux-dlms");
        assert_eq!(gurux["error"], Value::Null, "{gurux}");
        assert_eq!(gurux["rows"], 96, "gurux decoded the whole profile: {gurux}");
        assert!(gurux["ratio"].as_f64().unwrap() > 0.0, "{gurux}");
        let dlms_cosem = find(id, "dlms-cosem");
        if id.starts_with("glo-") {
            // dlms-cosem 25.1 parses general-glo-ciphering only, not glo-get-response (0xCC)
            assert!(dlms_cosem["error"].as_str().unwrap().contains("204"), "{dlms_cosem}");
        } else {
            assert_eq!(dlms_cosem["error"], Value::Null, "{dlms_cosem}");
            assert_eq!(dlms_cosem["rows"], 96, "{dlms_cosem}");
            assert!(dlms_cosem["ratio"].as_f64().unwrap() > 0.0, "{dlms_cosem}");
        }
    }
}

#[test]
fn bench_codec_filters_cases_and_skips_python_on_request() {
    let mut cmd = gridedge();
    cmd.args(["bench", "codec", "--rows", "10", "--seconds", "0.01", "--json", "--no-python", "--filter", "decode"]);
    let report = run_json(cmd);
    let ids: Vec<&str> = report["cases"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "plain-normal/10/decode",
            "datablocks/10/decode",
            "glo-normal/10/unprotect+decode",
            "general-glo/10/unprotect+decode",
            "glo-datablocks/10/unprotect+decode",
            "hdlc/10/parse+decode",
        ]
    );
    assert_eq!(report["python"]["skipped"], "--no-python");
    let mut bad = gridedge();
    bad.args(["bench", "codec", "--seconds", "0", "--no-python"]);
    let out = run(bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seconds"));
}
