//! [`CommandError`]: why a command failed. Its text is the `reason` of a failed command in
//! the command store.

use dlms::xdlms::{ActionResult, DataAccessResult};
use thiserror::Error;

use crate::session::SessionError;

/// Why a command could not be carried out or confirmed.
#[derive(Debug, Error)]
pub enum CommandError {
    /// Connecting, associating, a timeout, a lost connection or a refused GET.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The meter refused a SET (IEC 62056-5-3 Data-Access-Result).
    #[error("meter refused writing {what}: {result:?}")]
    SetRefused {
        /// The attribute written.
        what: &'static str,
        /// The meter's Data-Access-Result.
        result: DataAccessResult,
    },
    /// The meter refused an ACTION (IEC 62056-5-3 Action-Result).
    #[error("meter refused {what}: {result:?}")]
    ActionRefused {
        /// The method invoked.
        what: &'static str,
        /// The meter's Action-Result.
        result: ActionResult,
    },
    /// An attribute had an unexpected type or value.
    #[error("unexpected {what}: {detail}")]
    Value {
        /// Which attribute.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The command was carried out but the read-back does not show the expected result.
    #[error("not confirmed: {0}")]
    NotConfirmed(String),
    /// The command's parameters are invalid (nothing was sent to the meter).
    #[error("invalid command: {0}")]
    Invalid(String),
    /// The command store failed.
    #[error("command store: {0}")]
    Store(#[from] rusqlite::Error),
    /// A stored value could not be (de)serialised.
    #[error("command store JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl CommandError {
    /// Whether a new association may succeed where this one failed: the connection was
    /// lost, refused or timed out (the firmware update resumes after these).
    pub fn is_link_failure(&self) -> bool {
        matches!(
            self,
            CommandError::Session(
                SessionError::Connect { .. } | SessionError::Timeout(..) | SessionError::Transport(_)
            )
        )
    }
}
