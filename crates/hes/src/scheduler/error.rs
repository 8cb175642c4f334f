//! Errors of the scheduler.

use thiserror::Error;

/// Why the scheduler or its store failed (an individual job's failure is not an error
/// of the scheduler: it is recorded in the job's history).
#[derive(Debug, Error)]
pub enum SchedulerError {
    /// The database failed.
    #[error("scheduler database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored job does not decode.
    #[error("job {id}: {detail}")]
    CorruptRow {
        /// The job id.
        id: i64,
        /// What is wrong.
        detail: String,
    },
    /// No such job.
    #[error("no job {0}")]
    UnknownJob(i64),
    /// The scheduler schema is newer than this build.
    #[error("scheduler schema version {found} is newer than this build's {supported}")]
    SchemaTooNew {
        /// The file's version.
        found: i64,
        /// This build's.
        supported: i64,
    },
    /// The registry failed while planning.
    #[error(transparent)]
    Registry(#[from] crate::registry_store::RegistryError),
}
