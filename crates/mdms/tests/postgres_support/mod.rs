//! Connecting the PostgreSQL tests: every run of a test binary creates a database of its
//! own, `gridedge_test_<pid>_<unix nanoseconds>`, through the server's maintenance
//! database, and drops it when the process exits (also after failed tests); every store is
//! a fresh scratch schema inside that database, dropped with the store.
//!
//! The server is `GRIDEDGE_TEST_POSTGRES` (a libpq connection string, key/value or URL),
//! by default `host=127.0.0.1 port=5432 user=postgres dbname=postgres` (CI starts it); its
//! database is only used to create and drop the run's database. A run killed before it
//! could drop its database leaves it behind: the next run drops `gridedge_test_*`
//! databases created more than an hour ago. When the server is unreachable the tests fail
//! with a message saying so, unless `GRIDEDGE_SKIP_POSTGRES=1`, which ends the test binary
//! successfully at the first test that needs the server.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mdms::PgStore;

/// The default test server.
pub const DEFAULT_CONNINFO: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";

/// Prefix of the per-run test databases.
const DB_PREFIX: &str = "gridedge_test_";

/// Age after which a left-over test database is dropped by the next run.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The maintenance connection string (`GRIDEDGE_TEST_POSTGRES` or the default).
pub fn server_conninfo() -> String {
    std::env::var("GRIDEDGE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_CONNINFO.to_string())
}

/// Fails (or, with `GRIDEDGE_SKIP_POSTGRES=1`, skips the binary) when the server cannot be
/// used.
pub fn unreachable(error: &dyn std::fmt::Display) -> ! {
    let info = server_conninfo();
    if std::env::var("GRIDEDGE_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        eprintln!("GRIDEDGE_SKIP_POSTGRES=1 and PostgreSQL at \"{info}\" is unusable ({error}): skipping these tests");
        std::process::exit(0);
    }
    panic!(
        "PostgreSQL at \"{info}\" is unusable: {error}. Start it (`.ci/run` does), point GRIDEDGE_TEST_POSTGRES \
         at a server, or set GRIDEDGE_SKIP_POSTGRES=1 to skip the PostgreSQL tests"
    );
}

/// `conninfo` with its database replaced by `dbname` (key/value or URL form).
fn with_dbname(conninfo: &str, dbname: &str) -> String {
    let trimmed = conninfo.trim();
    if let Some(rest) = trimmed.strip_prefix("postgresql://").or_else(|| trimmed.strip_prefix("postgres://")) {
        let scheme = &trimmed[..trimmed.len() - rest.len()];
        let (before_query, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let authority = before_query.split_once('/').map_or(before_query, |(a, _)| a);
        let mut out = format!("{scheme}{authority}/{dbname}");
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        out
    } else {
        // libpq key/value strings: a later keyword overrides an earlier one.
        format!("{trimmed} dbname={dbname}")
    }
}

/// Nanoseconds since the Unix epoch.
fn now_nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// The creation time (Unix nanoseconds) encoded in a test database's name.
fn created_nanos(name: &str) -> Option<u128> {
    name.strip_prefix(DB_PREFIX)?.rsplit_once('_')?.1.parse().ok()
}

/// The run's database: its name and its connection string.
struct TestDatabase {
    name: String,
    conninfo: String,
}

static DATABASE: OnceLock<TestDatabase> = OnceLock::new();

/// Drops the run's database when the process exits.
extern "C" fn drop_test_database() {
    let Some(db) = DATABASE.get() else { return };
    match postgres::Client::connect(&server_conninfo(), postgres::NoTls) {
        Ok(mut c) => {
            if let Err(e) = c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", db.name)) {
                eprintln!("could not drop the test database {}: {e}", db.name);
            }
        }
        Err(e) => eprintln!("could not connect to drop the test database {}: {e}", db.name),
    }
}

unsafe extern "C" {
    /// C's `atexit` (ISO C 7.22.4.2): runs `f` when the process exits normally, which the
    /// test harness does after the last test (with status 101 when a test failed).
    fn atexit(f: extern "C" fn()) -> std::ffi::c_int;
}

/// Drops `gridedge_test_*` databases older than [`STALE_AFTER`] (runs that were killed).
fn drop_stale(admin: &mut postgres::Client) {
    let Ok(rows) = admin.query("SELECT datname::text FROM pg_database WHERE datname LIKE 'gridedge\\_test\\_%'", &[])
    else {
        return;
    };
    let now = now_nanos();
    for row in rows {
        let name: String = row.get(0);
        let stale = created_nanos(&name).is_some_and(|t| now.saturating_sub(t) > STALE_AFTER.as_nanos());
        if stale {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

fn database() -> &'static TestDatabase {
    DATABASE.get_or_init(|| {
        let server = server_conninfo();
        let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap_or_else(|e| unreachable(&e));
        drop_stale(&mut admin);
        let name = format!("{DB_PREFIX}{}_{}", std::process::id(), now_nanos());
        admin.batch_execute(&format!("CREATE DATABASE \"{name}\"")).unwrap_or_else(|e| unreachable(&e));
        // SAFETY: `drop_test_database` is a plain function that touches only a static and
        // the network; registering it has no other precondition.
        if unsafe { atexit(drop_test_database) } != 0 {
            eprintln!("could not register the drop of the test database {name}; the next run drops it");
        }
        TestDatabase { conninfo: with_dbname(&server, &name), name }
    })
}

/// The connection string of this run's test database (created on first use).
pub fn conninfo() -> String {
    database().conninfo.clone()
}

/// The name of this run's test database.
pub fn database_name() -> String {
    database().name.clone()
}

/// A fresh, empty store in its own scratch schema (dropped with the store).
pub fn fresh_store() -> PgStore {
    PgStore::connect_scratch(&conninfo()).unwrap_or_else(|e| unreachable(&e))
}

/// A plain client on the test database, for inspecting and breaking what a store wrote.
pub fn client() -> postgres::Client {
    postgres::Client::connect(&conninfo(), postgres::NoTls).unwrap_or_else(|e| unreachable(&e))
}

/// A schema name unique to this process and call, for stores reopened by name.
pub fn unique_schema(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("gridedge_test_{tag}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Drops a named schema when it goes out of scope (also when the test panics).
pub struct SchemaGuard(pub String);

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&conninfo(), postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.0));
        }
    }
}

#[test]
fn connection_strings_name_the_run_database() {
    assert_eq!(with_dbname("host=h user=u dbname=postgres", "x"), "host=h user=u dbname=postgres dbname=x");
    assert_eq!(
        with_dbname("postgresql://u@h:5432/postgres?sslmode=disable", "x"),
        "postgresql://u@h:5432/x?sslmode=disable"
    );
    assert_eq!(with_dbname("postgres://u@h", "x"), "postgres://u@h/x");
    assert_eq!(created_nanos("gridedge_test_12_1700000000000000000"), Some(1_700_000_000_000_000_000));
    assert_eq!(created_nanos("gridedge_test_bench"), None);
}
