//! The hash chain of the audit log.
//!
//! Entry n's hash is `SHA-256(prev_hash ‖ canonical(entry n))`, where `prev_hash` is the
//! 32-byte hash of entry n−1 (32 zero bytes for entry 1) and `canonical` is the entry's
//! fields as one compact JSON object with keys in this order: `actor`, `at_ms`, `method`,
//! `outcome`, `route`, `seq`, `status`, `target`, `token_id` (strings JSON-escaped as
//! serde_json writes them; integers in decimal; a missing token id as `null`). Changing any
//! field of any entry, removing an entry or reordering entries changes every later hash, so
//! [`verify`](super::verify) finds the first entry that no longer matches.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// `prev_hash` of the first entry: 32 zero bytes, as hex.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry as stored (and as hashed, without `prev_hash` and `hash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    /// When the call finished, ms since the Unix epoch (UTC).
    pub at_ms: i64,
    /// The API token that made the call; `null` when no valid token was presented.
    pub token_id: Option<i64>,
    /// The token's name, or `anonymous`.
    pub actor: String,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// The route template, e.g. `/api/v1/commands`.
    pub route: String,
    /// What the call acted on, e.g. `meter GE00000001` or the request path.
    pub target: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// `success` (2xx), `refused` (401/403), `rejected` (other 4xx) or `error` (5xx).
    pub outcome: String,
}

/// The canonical form hashed for `entry` (see the module docs).
#[derive(Serialize)]
struct Canonical<'a> {
    actor: &'a str,
    at_ms: i64,
    method: &'a str,
    outcome: &'a str,
    route: &'a str,
    seq: i64,
    status: u16,
    target: &'a str,
    token_id: Option<i64>,
}

/// The canonical JSON bytes of `entry`.
pub fn canonical(entry: &AuditEntry) -> Vec<u8> {
    let c = Canonical {
        actor: &entry.actor,
        at_ms: entry.at_ms,
        method: &entry.method,
        outcome: &entry.outcome,
        route: &entry.route,
        seq: entry.seq,
        status: entry.status,
        target: &entry.target,
        token_id: entry.token_id,
    };
    // Serializing a struct of strings and integers cannot fail.
    serde_json::to_vec(&c).unwrap_or_default()
}

/// The hash of `entry` chained to `prev_hash` (hex), as hex. A `prev_hash` that is not 64
/// hex digits is hashed as its text bytes, so a damaged link still yields a (mismatching)
/// hash instead of an error.
pub fn entry_hash(prev_hash: &str, entry: &AuditEntry) -> String {
    let mut h = Sha256::new();
    match hex::decode(prev_hash) {
        Ok(bytes) if bytes.len() == 32 => h.update(&bytes),
        _ => h.update(prev_hash.as_bytes()),
    }
    h.update(canonical(entry));
    hex::encode(h.finalize())
}

/// The outcome name of an HTTP status.
pub fn outcome_of(status: u16) -> &'static str {
    match status {
        200..=299 => "success",
        401 | 403 => "refused",
        400..=499 => "rejected",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            seq: 1,
            at_ms: 1_735_689_600_000,
            token_id: Some(3),
            actor: "alice \"ops\"".into(),
            method: "POST".into(),
            route: "/api/v1/commands".into(),
            target: "meter GE00000001".into(),
            status: 202,
            outcome: "success".into(),
        }
    }

    #[test]
    fn canonical_form_is_fixed() {
        let text = String::from_utf8(canonical(&entry())).unwrap();
        assert_eq!(
            text,
            r#"{"actor":"alice \"ops\"","at_ms":1735689600000,"method":"POST","outcome":"success","route":"/api/v1/commands","seq":1,"status":202,"target":"meter GE00000001","token_id":3}"#
        );
    }

    #[test]
    fn hash_is_sha256_of_prev_and_canonical() {
        let e = entry();
        let mut expected = Sha256::new();
        expected.update([0u8; 32]);
        expected.update(canonical(&e));
        assert_eq!(entry_hash(GENESIS_HASH, &e), hex::encode(expected.finalize()));
        let mut changed = e.clone();
        changed.status = 200;
        assert_ne!(entry_hash(GENESIS_HASH, &e), entry_hash(GENESIS_HASH, &changed));
        assert_ne!(entry_hash(GENESIS_HASH, &e), entry_hash(&"1".repeat(64), &e));
    }

    #[test]
    fn outcomes() {
        assert_eq!(
            [200, 202, 401, 403, 404, 422, 500, 503].map(outcome_of),
            ["success", "success", "refused", "refused", "rejected", "rejected", "error", "error"]
        );
    }
}
