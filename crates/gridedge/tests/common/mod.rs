//! Shared helpers of the gridedge integration tests: the binary, the Python peers of
//! the interop tests, and child processes that are killed when dropped.

#![allow(dead_code)]

pub mod http;
pub mod nats_server;
pub mod postgres_db;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The gridedge binary built for this test run.
pub fn gridedge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gridedge"))
}

/// The Python of the interop venv: `$GRIDEDGE_PYTHON`, else `.venv/bin/python`. The
/// interop tests are part of the suite: a missing venv is a failure with instructions,
/// not a skip.
pub fn python() -> Command {
    let path =
        std::env::var_os("GRIDEDGE_PYTHON").map(PathBuf::from).unwrap_or_else(|| root().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "interop Python not found at {}: run `bash scripts/setup-python-venv.sh` (or set GRIDEDGE_PYTHON)",
        path.display()
    );
    Command::new(path)
}

/// A script under tests/interop.
pub fn interop_script(name: &str) -> PathBuf {
    root().join("tests/interop").join(name)
}

/// A child process killed on drop.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and waits (up to 30 s) for a stdout line containing `marker`; returns
/// the guard and that line.
pub fn spawn_until(mut cmd: Command, marker: &str) -> (Guard, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let marker = marker.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains(&marker) {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).expect("child printed its ready line");
    (Guard(child), line)
}

/// Starts `gridedge meter` on a free loopback port; returns the guard and the port.
pub fn spawn_our_meter(serial: &str, seed: u64) -> (Guard, u16) {
    let mut cmd = gridedge();
    cmd.args(["meter", "--port", "0", "--serial", serial, "--seed", &seed.to_string()]);
    let (guard, line) = spawn_until(cmd, "listening on");
    let port = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .expect("port in the ready line");
    (guard, port)
}

/// Runs a command to completion with a deadline (the peers' own timeouts are shorter).
pub fn run(mut cmd: Command) -> Output {
    let started = Instant::now();
    let out = cmd.output().expect("run");
    assert!(started.elapsed() < Duration::from_secs(300));
    out
}

/// Runs a command, requires success, parses stdout as JSON.
pub fn run_json(cmd: Command) -> serde_json::Value {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "command failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}
