//! Roles and the caller of a request.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a token may do. Roles are ordered: each includes the rights of the ones before it.
///
/// | role | may |
/// |---|---|
/// | `reader` | read data: meters, readings, registers, events, outages, commands, VEE exceptions, billing, exports, vends |
/// | `operator` | also act: commands (disconnect/reconnect), interval edits and estimates, accepting VEE exceptions, vends, recording events |
/// | `admin` | also administer: meter provisioning (with credentials), API tokens, the audit log |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read data.
    Reader,
    /// Read data, send commands, edit values, vend.
    Operator,
    /// Everything, including provisioning, keys and tokens.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Reader, Role::Operator, Role::Admin];

    /// The stable name: `reader`, `operator` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// True when this role includes the rights of `required`.
    pub fn allows(self, required: Role) -> bool {
        self >= required
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not `reader`, `operator` or `admin`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (reader, operator or admin)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// Who made a request: the API token that authenticated it. Handlers take it from the
/// request extensions (`Extension<Caller>`); the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Caller {
    /// The token's id.
    pub token_id: i64,
    /// The token's name (a person or a system, e.g. `alice` or `billing-export`); recorded as
    /// the user of edits, commands and vends.
    pub name: String,
    /// The token's role.
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_named() {
        assert!(Role::Admin.allows(Role::Operator) && Role::Admin.allows(Role::Reader));
        assert!(Role::Operator.allows(Role::Reader) && !Role::Operator.allows(Role::Admin));
        assert!(!Role::Reader.allows(Role::Operator));
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
