//! Quality flags and stored values as readable JSON for operators.

use mdms::StoredInterval;
use mdms::estimation::EstimationMethod;
use mdms::vee::RuleId;
use model::QualityFlags;
use serde_json::{Value, json};

/// `{"bits": n, "flags": [...], "suspect_rule": name|null, "estimation_method": name|null}`.
pub fn quality_json(q: QualityFlags) -> Value {
    json!({
        "bits": q.0,
        "flags": q.names(),
        "suspect_rule": q.suspect_rule().map(|code| RuleId::from_code(code).map_or_else(|| code.to_string(), |r| r.as_str().to_string())),
        "estimation_method": q.estimation_method().map(|code| EstimationMethod::from_code(code).map_or_else(|| code.to_string(), |m| m.as_str().to_string())),
    })
}

/// One stored interval version with its quality spelled out.
pub fn interval_json(v: &StoredInterval) -> Value {
    json!({
        "interval_end": v.interval_end.to_string(),
        "version": v.version,
        "value": v.value,
        "quality": quality_json(v.quality),
        "source": v.source,
        "collected_at": v.collected_at.to_string(),
        "ingested_at": v.ingested_at.to_string(),
    })
}

/// Short text of the quality flags for a table cell, e.g. `estimated(linear_interpolation)`.
pub fn quality_text(q: QualityFlags) -> String {
    let v = quality_json(q);
    let mut parts: Vec<String> = v["flags"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if let Some(rule) = v["suspect_rule"].as_str() {
        parts.push(format!("rule={rule}"));
    }
    if let Some(method) = v["estimation_method"].as_str() {
        parts.push(format!("method={method}"));
    }
    if parts.is_empty() { "valid".to_string() } else { parts.join(",") }
}
