//! The validation window of one channel, as the SQLite ingest uses it. The window, the
//! channel and the slice loaded for them are engine-independent (`crate::vee_run`); the
//! statements that load them are in `vee_tx.rs`.

use std::collections::HashMap;

use crate::vee::Delivery;
pub(crate) use crate::vee_run::{Channel, Slice, Window};

/// Collection sessions' delivery facts, cached per operation.
pub(crate) type Deliveries = HashMap<i64, Delivery>;
