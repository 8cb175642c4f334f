//! How UTC instants are encoded in SQLite columns: integer seconds (interval ends, register
//! read times) and integer milliseconds (collection and ingest times) since the Unix epoch,
//! as every backend keys them (`crate::epoch`).

pub(crate) use crate::epoch::{ceil_second, floor_millisecond, floor_second, from_millisecond, from_second};
