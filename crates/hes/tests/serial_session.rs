//! A full DLMS/COSEM session (HDLC, IEC 62056-46) over a byte stream that is not TCP:
//! `DlmsSession::open_over` on an in-memory duplex whose other end is the simulated
//! meter's server (`meter::tcp_server::serve_stream`), and, with feature `serial`, on a
//! pseudo-terminal opened by `hes::serial::open_serial` (no serial hardware needed).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dlms::association::Authentication;
use dlms::data::Data;
use dlms::obis::codes;
use dlms::xdlms::CosemAttributeDescriptor;
use hes::transport::{ByteStream, LinkLayer};
use hes::{DlmsSession, MeterEndpoint, SessionError, SessionTimeouts};
use meter::tcp_server::{MeterLink, MeterServerConfig, serve_stream};
use meter::{MeterConfig, SimulatedMeter};
use model::MeterId;
use tokio::io::{AsyncRead, AsyncWrite};

const SERIAL: &str = "GE00000077";
const PHYSICAL: u16 = 17;

/// The public client (16, no authentication) to logical device 1 / physical 17 over HDLC.
fn hdlc_endpoint(server_physical: u16) -> MeterEndpoint {
    MeterEndpoint {
        serial: MeterId(SERIAL.to_string()),
        // Unused by `open_over`: the stream is already connected.
        address: SocketAddr::from((Ipv4Addr::LOCALHOST, 9)),
        client_sap: 16,
        server_sap: 1,
        authentication: Authentication::None,
        link: LinkLayer::Hdlc { server_physical: Some(server_physical) },
        security: None,
    }
}

fn timeouts() -> SessionTimeouts {
    SessionTimeouts { connect: Duration::from_secs(5), response: Duration::from_secs(5) }
}

/// Serves a simulated meter speaking HDLC at physical address 17 on `stream` until the
/// stream closes.
fn spawn_meter<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(stream: S) -> tokio::task::JoinHandle<()> {
    let meter = Arc::new(Mutex::new(SimulatedMeter::new(SERIAL, 77, MeterConfig::default()).unwrap()));
    let config =
        MeterServerConfig { link: MeterLink::Hdlc { physical_address: PHYSICAL }, ..MeterServerConfig::default() };
    tokio::spawn(async move {
        let _ = serve_stream(stream, &meter, &config).await;
    })
}

/// Associates, reads the serial number and the clock, and releases.
async fn read_serial_and_clock(stream: Box<dyn ByteStream>) -> Result<(), SessionError> {
    let mut session = DlmsSession::open_over(stream, &hdlc_endpoint(PHYSICAL), timeouts()).await?;
    assert!(session.negotiated().is_some(), "an accepted AARE carries the InitiateResponse");
    let serial = session.get(CosemAttributeDescriptor::new(1, codes::SERIAL_NUMBER, 2), None).await?;
    match serial {
        Data::OctetString(b) | Data::VisibleString(b) => assert_eq!(b, SERIAL.as_bytes()),
        other => panic!("serial number should be a string, got {other:?}"),
    }
    let clock = session.get(CosemAttributeDescriptor::new(8, codes::CLOCK, 2), None).await?;
    assert!(clock.as_date_time().is_some(), "clock time should be a date-time, got {clock:?}");
    session.release().await
}

#[tokio::test]
async fn hdlc_session_over_an_in_memory_duplex() {
    let (hes_end, meter_end) = tokio::io::duplex(4096);
    let server = spawn_meter(meter_end);
    read_serial_and_clock(Box::new(hes_end)).await.unwrap();
    // The HES disconnected the HDLC link (DISC/UA) and dropped its end: the meter's loop ends.
    tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
}

#[tokio::test]
async fn hdlc_session_to_a_wrong_physical_address_is_not_answered() {
    let (hes_end, meter_end) = tokio::io::duplex(4096);
    let _server = spawn_meter(meter_end);
    let timeouts = SessionTimeouts { connect: Duration::from_secs(1), response: Duration::from_secs(1) };
    // A meter answers only frames to its own HDLC address (IEC 62056-46 §6.4.2): the SNRM
    // to physical 18 stays unanswered and the link is never established.
    let result = DlmsSession::open_over(Box::new(hes_end), &hdlc_endpoint(PHYSICAL + 1), timeouts).await;
    assert!(
        matches!(result, Err(SessionError::Timeout(..)) | Err(SessionError::Transport(_))),
        "expected no link, got {:?}",
        result.err()
    );
}

/// `open_serial` on the slave side of a pseudo-terminal (the same termios calls as a real
/// port); the master side carries the meter.
#[cfg(all(feature = "serial", unix))]
#[tokio::test]
async fn hdlc_session_over_open_serial_on_a_pseudo_terminal() {
    use hes::serial::{SerialParity, SerialSettings, open_serial};
    use tokio_serial::{SerialPort, SerialStream};

    let (master, slave) = SerialStream::pair().unwrap();
    let path = slave.name().expect("a pseudo-terminal slave has a path");
    let port = open_serial(&path, SerialSettings::direct_hdlc(9600)).unwrap();
    // Keep the pair's own slave handle open so the pty stays up while `port` is used.
    let server = spawn_meter(master);
    read_serial_and_clock(port).await.unwrap();
    drop(slave);
    server.abort();

    let missing = open_serial("/dev/gridedge-no-such-port", SerialSettings::default().with_parity(SerialParity::Even));
    assert!(missing.is_err(), "a missing device cannot be opened");
}
