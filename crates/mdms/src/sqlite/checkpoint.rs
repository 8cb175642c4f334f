//! WAL checkpoints off the ingest thread.
//!
//! In WAL mode a commit appends the changed pages to the log; a *checkpoint* copies them
//! back into the database file (and syncs both). SQLite runs it by default inside the
//! commit that crosses 1,000 log pages, on the writer's thread: about a tenth of the ingest
//! thread's CPU at fleet volume, plus the syncs' wait. Once a store ingests into a file, it
//! switches the writer's automatic checkpoints off and a background thread with its own
//! connection checkpoints after each ingest commit (and at least every second):
//!
//! - `PASSIVE` checkpoints copy what is committed without ever blocking the writer or
//!   readers;
//! - SQLite writes the log from its start again only when a writer begins while everything
//!   is copied back, which a busy writer rarely sees. So once the log file has grown
//!   [`WAL_GROWTH_LIMIT_BYTES`] since the last restart, the thread runs a `RESTART`
//!   checkpoint: it waits for the writer's transaction to end, copies the few pages the
//!   passive rounds had not, and makes the next transaction write the log from its start.
//!   The writer waits (its busy timeout) only for that short copy.
//!
//! Durability is unchanged: with `synchronous=NORMAL` a commit is durable against a crash
//! of the process as soon as it returns, and the log is synced at each checkpoint.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::StoreError;
use crate::error::SqliteContext;

/// How long a RESTART checkpoint waits for readers (it holds writers off meanwhile): short,
/// a checkpoint that cannot finish now is tried again later.
const CHECKPOINT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Growth of the log file since its last restart after which the background thread
/// restarts it, bytes.
pub(crate) const WAL_GROWTH_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// SQLite's default `wal_autocheckpoint` (pages), restored when the thread stops.
const DEFAULT_AUTOCHECKPOINT_PAGES: i64 = 1000;

/// How often the background thread checkpoints without being asked.
const IDLE_PERIOD: Duration = Duration::from_secs(1);

/// The background checkpointer of one database file; stops (and joins) on drop.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    /// Wakes the thread; dropping it stops the thread.
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a second connection to `db`, starts the thread, and switches `writer`'s
    /// automatic checkpoints off.
    ///
    /// Errors: the connection cannot be opened or configured; the thread cannot be started.
    pub fn start(db: &Path, writer: &Connection) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(db).context("opening the checkpoint connection")?;
        conn.busy_timeout(CHECKPOINT_BUSY_TIMEOUT).context("setting the checkpoint connection's busy timeout")?;
        conn.pragma_update(None, "synchronous", "NORMAL").context("setting synchronous=NORMAL")?;
        let mut wal_path = db.as_os_str().to_owned();
        wal_path.push("-wal");
        let wal_path = PathBuf::from(wal_path);
        let (wake, rx) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("mdms-checkpoint".into())
            .spawn(move || run(&conn, &wal_path, &rx))
            .map_err(|e| StoreError::Corrupt(format!("cannot start the checkpoint thread: {e}")))?;
        let checkpointer = Checkpointer { wake: Some(wake), thread: Some(thread) };
        writer.pragma_update(None, "wal_autocheckpoint", 0).context("switching automatic checkpoints off")?;
        Ok(checkpointer)
    }

    /// Asks for a checkpoint soon (never blocks; one pending request is enough).
    pub fn nudge(&self) {
        if let Some(wake) = &self.wake {
            // Full: a request is pending already; disconnected: the thread is gone (it only
            // ends when this handle drops).
            let _: Result<(), TrySendError<()>> = wake.try_send(());
        }
    }

    /// Stops the thread (after its current checkpoint) and gives `writer` its automatic
    /// checkpoints back.
    ///
    /// Errors: the pragma failed (the thread is stopped anyway).
    pub fn stop(mut self, writer: &Connection) -> Result<(), StoreError> {
        self.join();
        writer
            .pragma_update(None, "wal_autocheckpoint", DEFAULT_AUTOCHECKPOINT_PAGES)
            .context("switching automatic checkpoints back on")
    }

    fn join(&mut self) {
        self.wake = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.join();
    }
}

/// The thread: a checkpoint per request or per idle period, until the store goes.
fn run(conn: &Connection, wal_path: &Path, wake: &Receiver<()>) {
    let mut restarted_at_bytes = 0u64;
    loop {
        match wake.recv_timeout(IDLE_PERIOD) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let size = std::fs::metadata(wal_path).map_or(0, |m| m.len());
        let restart = size > restarted_at_bytes.saturating_add(WAL_GROWTH_LIMIT_BYTES);
        let sql = if restart { "PRAGMA wal_checkpoint(RESTART)" } else { "PRAGMA wal_checkpoint(PASSIVE)" };
        // (busy, log pages, pages copied); busy = 1 when the writer or a reader kept the
        // checkpoint from finishing: the next round copies the rest.
        match conn.query_row(sql, [], |r| r.get::<_, i64>(0)) {
            Ok(0) if restart => restarted_at_bytes = size,
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "background WAL checkpoint skipped"),
        }
    }
}
