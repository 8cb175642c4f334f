//! A fresh PostgreSQL database for one test, dropped at the end.
//!
//! The server is the one on loopback (`host=127.0.0.1 user=postgres`, or
//! `$GRIDEDGE_TEST_POSTGRES`). A server that is down fails the test with a clear message,
//! unless `GRIDEDGE_SKIP_POSTGRES=1` (then the test is skipped with a note on stderr).

use std::sync::atomic::{AtomicU64, Ordering};

/// The server's connection string, without a database.
pub fn postgres_server() -> String {
    std::env::var("GRIDEDGE_TEST_POSTGRES").unwrap_or_else(|_| "host=127.0.0.1 user=postgres".to_string())
}

/// A database created for the test; dropped (connections terminated) on drop.
pub struct PostgresDb {
    /// Its name.
    pub name: String,
    server: String,
}

impl PostgresDb {
    /// Creates `gridedge_it_<pid>_<n>`; `None` when PostgreSQL is down and
    /// `GRIDEDGE_SKIP_POSTGRES=1`.
    ///
    /// Panics: PostgreSQL is down (and skipping was not asked for).
    pub fn create() -> Option<PostgresDb> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let server = postgres_server();
        let mut client = match postgres::Client::connect(&server, postgres::NoTls) {
            Ok(c) => c,
            Err(e) if std::env::var("GRIDEDGE_SKIP_POSTGRES").as_deref() == Ok("1") => {
                eprintln!("skipped: PostgreSQL unreachable at `{server}` ({e}) and GRIDEDGE_SKIP_POSTGRES=1");
                return None;
            }
            Err(e) => panic!(
                "PostgreSQL is unreachable at `{server}`: {e}. Start it (loopback, trust auth, user postgres), \
                 point GRIDEDGE_TEST_POSTGRES at one, or set GRIDEDGE_SKIP_POSTGRES=1 to skip"
            ),
        };
        // Not `gridedge_test_`: the mdms tests drop stale databases of that prefix by the
        // creation time in their names, which these names do not carry.
        let name = format!("gridedge_it_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        // A crashed earlier run of a process with the same id may have left it behind.
        client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).expect("DROP DATABASE");
        client.batch_execute(&format!("CREATE DATABASE {name}")).expect("CREATE DATABASE");
        Some(PostgresDb { name, server })
    }

    /// The connection string of the database.
    pub fn conninfo(&self) -> String {
        format!("{} dbname={}", self.server, self.name)
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}
