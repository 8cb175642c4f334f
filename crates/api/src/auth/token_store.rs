//! API tokens, stored hashed.
//!
//! A token is `ge_` followed by 64 hex digits (256 random bits from the operating system's
//! generator). The database keeps only its SHA-256 (FIPS 180-4) as hex, so a copy of the
//! database does not give access; the plain token is shown once, when it is created.
//! A bearer token is checked by hashing what the client sent and looking the hash up;
//! revoked tokens fail like unknown ones.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::role::{Caller, Role};
use crate::db::{ApiDb, from_ms, to_ms};

/// Prefix of every token (makes leaked tokens easy to find with secret scanners).
pub const TOKEN_PREFIX: &str = "ge_";

/// A token as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TokenInfo {
    /// Id (used in the audit log and to revoke).
    pub id: i64,
    /// Name of the person or system holding it.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// When it was created, UTC.
    pub created_at: jiff::Timestamp,
    /// Who created it: `cli` or `token:<id>`.
    pub created_by: String,
    /// When it was revoked, UTC; `null` while valid.
    pub revoked_at: Option<jiff::Timestamp>,
}

/// A newly created token: the only time the secret is available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NewToken {
    /// The stored token.
    pub info: TokenInfo,
    /// The bearer token itself (`ge_` + 64 hex digits). Shown once; keep it safe.
    pub token: String,
}

/// Why a token operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The name is empty or longer than 100 characters.
    #[error("a token name must be 1 to 100 characters")]
    BadName,
    /// The operating system's random generator failed.
    #[error("no randomness for a token: {0}")]
    Random(String),
    /// SQLite failed.
    #[error("token store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row is invalid (hand-edited).
    #[error("token store holds an invalid {0}")]
    Corrupt(&'static str),
}

/// The SHA-256 of a token, lower-case hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The API tokens in the API database.
#[derive(Debug, Clone)]
pub struct TokenStore {
    db: ApiDb,
}

impl TokenStore {
    /// The token store of `db`.
    pub fn new(db: ApiDb) -> TokenStore {
        TokenStore { db }
    }

    /// Creates a token with `name` and `role`; `created_by` is recorded (`cli` or
    /// `token:<id>`). Returns the secret once.
    ///
    /// Errors: [`TokenError::BadName`], [`TokenError::Random`], [`TokenError::Sqlite`].
    pub fn create(&self, name: &str, role: Role, created_by: &str) -> Result<NewToken, TokenError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(TokenError::BadName);
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| TokenError::Random(e.to_string()))?;
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
        let now = Timestamp::now();
        let conn = self.db.lock();
        conn.execute(
            "INSERT INTO api_token (name, role, token_sha256, created_at_ms, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, role.as_str(), token_hash(&token), to_ms(now), created_by],
        )?;
        let id = conn.last_insert_rowid();
        let info = TokenInfo {
            id,
            name: name.to_string(),
            role,
            created_at: from_ms(to_ms(now)),
            created_by: created_by.to_string(),
            revoked_at: None,
        };
        Ok(NewToken { info, token })
    }

    /// The caller a bearer token belongs to; `None` for an unknown or revoked token.
    ///
    /// Errors: [`TokenError::Sqlite`], [`TokenError::Corrupt`].
    pub fn authenticate(&self, token: &str) -> Result<Option<Caller>, TokenError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let conn = self.db.lock();
        let row = conn
            .query_row(
                "SELECT id, name, role FROM api_token WHERE token_sha256 = ?1 AND revoked_at_ms IS NULL",
                [token_hash(token)],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((token_id, name, role)) => {
                let role = role.parse().map_err(|_| TokenError::Corrupt("role"))?;
                Ok(Some(Caller { token_id, name, role }))
            }
        }
    }

    /// Every token, oldest first.
    ///
    /// Errors: [`TokenError::Sqlite`], [`TokenError::Corrupt`].
    pub fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        let conn = self.db.lock();
        let mut stmt =
            conn.prepare("SELECT id, name, role, created_at_ms, created_by, revoked_at_ms FROM api_token ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, role, created, created_by, revoked) = row?;
            out.push(TokenInfo {
                id,
                name,
                role: role.parse().map_err(|_| TokenError::Corrupt("role"))?,
                created_at: from_ms(created),
                created_by,
                revoked_at: revoked.map(from_ms),
            });
        }
        Ok(out)
    }

    /// Revokes token `id`. Returns false when no valid token has this id (unknown or
    /// already revoked).
    ///
    /// Errors: [`TokenError::Sqlite`].
    pub fn revoke(&self, id: i64) -> Result<bool, TokenError> {
        let changed = self.db.lock().execute(
            "UPDATE api_token SET revoked_at_ms = ?2 WHERE id = ?1 AND revoked_at_ms IS NULL",
            params![id, to_ms(Timestamp::now())],
        )?;
        Ok(changed == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hashed_and_revocable() {
        let store = TokenStore::new(ApiDb::open_in_memory().unwrap());
        let a = store.create("alice", Role::Operator, "cli").unwrap();
        let b = store.create("bob", Role::Reader, "token:1").unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 3 + 64);
        assert!(a.token.starts_with("ge_"));
        let caller = store.authenticate(&a.token).unwrap().unwrap();
        assert_eq!((caller.name.as_str(), caller.role), ("alice", Role::Operator));
        // The secret is not stored: only its SHA-256.
        let stored: String = store
            .db
            .lock()
            .query_row("SELECT token_sha256 FROM api_token WHERE id = ?1", [a.info.id], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, a.token);
        assert!(!stored.contains(&a.token[3..]));
        assert_eq!(stored, hex::encode(Sha256::digest(a.token.as_bytes())));
        assert!(store.authenticate("ge_0000").unwrap().is_none());
        assert!(store.authenticate("").unwrap().is_none());
        assert!(store.revoke(a.info.id).unwrap());
        assert!(!store.revoke(a.info.id).unwrap(), "already revoked");
        assert!(store.authenticate(&a.token).unwrap().is_none());
        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed[0].revoked_at.is_some() && listed[1].revoked_at.is_none());
        assert!(matches!(store.create("  ", Role::Admin, "cli"), Err(TokenError::BadName)));
    }
}
