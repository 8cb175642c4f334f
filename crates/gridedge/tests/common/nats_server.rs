//! A private NATS server with JetStream for one test (`/usr/sbin/nats-server -js`), on a
//! free loopback port with its own store directory, so tests never touch the shared server
//! on 4222 and can stop and restart theirs.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server binary: `$GRIDEDGE_NATS_SERVER`, else `/usr/sbin/nats-server`.
pub fn nats_server_binary() -> PathBuf {
    let path = std::env::var_os("GRIDEDGE_NATS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"));
    assert!(path.exists(), "nats-server not found at {} (install it or set GRIDEDGE_NATS_SERVER)", path.display());
    path
}

/// A running private nats-server; killed on drop (its store directory is removed).
pub struct NatsServer {
    child: Option<Child>,
    /// The loopback port it listens on.
    pub port: u16,
    store: tempfile::TempDir,
}

impl NatsServer {
    /// Starts a server with JetStream on a free port and a fresh store directory, and waits
    /// (up to 30 s) until it accepts connections.
    pub fn start() -> NatsServer {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let store = tempfile::tempdir().expect("store directory");
        let mut server = NatsServer { child: None, port, store };
        server.restart();
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server with SIGTERM (JetStream flushes its store) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts the server on the same port and store directory; waits until it accepts
    /// connections.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let child = Command::new(nats_server_binary())
                .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
                .arg(self.store.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting nats-server");
            self.child = Some(child);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    return;
                }
                if let Some(child) = self.child.as_mut()
                    && child.try_wait().ok().flatten().is_some()
                {
                    // Exited (the port not yet released): try again.
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(Instant::now() < deadline, "nats-server did not start on port {}", self.port);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
