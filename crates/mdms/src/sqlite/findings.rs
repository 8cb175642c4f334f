//! Validation findings: persisting them (per interval and version, with open/closed status)
//! is engine-independent, in `crate::vee_run`; the statements are in `vee_tx.rs`.

pub(crate) use crate::vee_run::Cause;
