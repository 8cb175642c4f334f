//! Shared by the commands_*.rs end-to-end tests: a simulated meter served over real TCP on
//! 127.0.0.1 (IEC 62056-47 wrapper, management client 1 with LLS), the HES endpoint to it,
//! direct reads of the shared meter at an exact meter time, and a TCP proxy that cuts the
//! first connection after a number of bytes.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dlms::association::Authentication;
use dlms::obis::codes;
use dlms::xdlms::CosemAttributeDescriptor;
use dlms::{Data, Obis};
use hes::commands::{CommandService, CommandStore};
use hes::session::SessionTimeouts;
use hes::{MeterEndpoint, transport::LinkLayer};
use jiff::{SignedDuration, Timestamp};
use meter::tcp_server::{MeterServerConfig, serve};
use meter::{MeterConfig, SimulatedMeter};
use model::MeterId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub const PASSWORD: &[u8] = b"12345678";

/// A meter serving on a free loopback port; the server task stops when dropped.
pub struct RunningMeter {
    pub meter: Arc<Mutex<SimulatedMeter>>,
    pub address: SocketAddr,
    pub serial: String,
    task: JoinHandle<()>,
}

impl Drop for RunningMeter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RunningMeter {
    /// Starts `serial` with `config` (management client 1 with LLS [`PASSWORD`]).
    pub async fn start(serial: &str, seed: u64, config: MeterConfig) -> RunningMeter {
        let meter = Arc::new(Mutex::new(SimulatedMeter::new(serial, seed, config).expect("meter config")));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let task = tokio::spawn(serve(listener, meter.clone(), Arc::new(MeterServerConfig::with_password(PASSWORD))));
        RunningMeter { meter, address, serial: serial.to_string(), task }
    }

    /// The management client's endpoint to this meter (or to `via`, e.g. a proxy).
    pub fn endpoint(&self) -> MeterEndpoint {
        self.endpoint_via(self.address)
    }

    /// The endpoint through another address.
    pub fn endpoint_via(&self, address: SocketAddr) -> MeterEndpoint {
        MeterEndpoint {
            serial: MeterId(self.serial.clone()),
            address,
            client_sap: 1,
            server_sap: 1,
            authentication: Authentication::Low { password: PASSWORD.to_vec() },
            link: LinkLayer::Wrapper,
            security: None,
        }
    }

    /// Locks the shared meter.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, SimulatedMeter> {
        self.meter.lock().expect("meter lock")
    }

    /// Sets the meter's clock to `meter_time` now (as a field tool would).
    pub fn set_clock(&self, meter_time: Timestamp) {
        let mut m = self.lock();
        let value = Data::OctetString(m.config().time_zone.to_cosem(meter_time).to_octets());
        let result = m.set(Timestamp::now(), &CosemAttributeDescriptor::new(8, codes::CLOCK, 2), None, &value);
        assert_eq!(result, dlms::xdlms::DataAccessResult::Success);
    }

    /// GET of attribute 2 of `(class, ln)` at the meter's own time `meter_time` (the true
    /// time at which its clock shows that).
    pub fn read_at(&self, meter_time: Timestamp, class: u16, ln: Obis) -> Data {
        let mut m = self.lock();
        let now = Timestamp::now();
        let offset = m.clock().offset_at(now);
        let true_time = meter_time - SignedDuration::from_millis(offset);
        m.get(true_time, &CosemAttributeDescriptor::new(class, ln, 2), None).expect("GET")
    }
}

/// A command service on a fresh in-memory store.
pub fn service() -> CommandService {
    CommandService::new(CommandStore::in_memory().expect("store"), timeouts())
}

/// Short timeouts for loopback.
pub fn timeouts() -> SessionTimeouts {
    SessionTimeouts { connect: Duration::from_secs(3), response: Duration::from_secs(3) }
}

/// u32 of a double-long-unsigned.
pub fn u32_of(d: &Data) -> u32 {
    match d {
        Data::DoubleLongUnsigned(v) => *v,
        other => panic!("double-long-unsigned expected: {other:?}"),
    }
}

/// A TCP proxy to `target` that cuts its first connection once `cut_after` bytes went from
/// the client to the meter; later connections pass through. Counts connections.
pub struct CuttingProxy {
    pub address: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CuttingProxy {
    pub async fn start(target: SocketAddr, cut_after: usize) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                let n = count.fetch_add(1, Ordering::SeqCst);
                let budget = if n == 0 { Some(cut_after) } else { None };
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(target).await {
                        pipe(client, server, budget).await;
                    }
                });
            }
        });
        CuttingProxy { address, connections, task }
    }
}

/// Forwards both ways; with a budget, drops both sockets once the client sent that much.
async fn pipe(client: TcpStream, server: TcpStream, budget: Option<usize>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let down = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = sr.read(&mut buf).await {
            if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let mut sent = 0usize;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match cr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if budget.is_some_and(|b| sent + n > b) {
            break; // cut: neither this chunk nor anything after reaches the meter
        }
        sent += n;
        if sw.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    down.abort();
}
