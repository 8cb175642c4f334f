//! Forwarding pushes to an HES push listener ([`hes::PushListener`]) over TCP: the DCU
//! re-sends each push in an IEC 62056-47 wrapper frame with the meter's wPorts, one
//! connection per push, as the meter itself would have.

use std::net::SocketAddr;
use std::time::Duration;

use dlms::wrapper::WrapperFrame;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::push::{BoxFuture, ForwardError, ForwardedPush, PushForwarder};

/// Forwards to the HES push listener at `address`.
#[derive(Debug, Clone)]
pub struct TcpForwarder {
    /// The push listener.
    pub address: SocketAddr,
    /// Time allowed for connect and send.
    pub timeout: Duration,
}

impl TcpForwarder {
    /// To `address` with a 10 s timeout.
    pub fn new(address: SocketAddr) -> Self {
        TcpForwarder { address, timeout: Duration::from_secs(10) }
    }
}

impl PushForwarder for TcpForwarder {
    fn forward<'a>(&'a self, push: &'a ForwardedPush) -> BoxFuture<'a, Result<(), ForwardError>> {
        Box::pin(async move {
            let frame = WrapperFrame::new(push.source_wport, push.destination_wport, push.apdu.clone())
                .map_err(|e| ForwardError::Bus(e.to_string()))?;
            let send = async {
                let mut s = TcpStream::connect(self.address).await?;
                s.set_nodelay(true).ok();
                s.write_all(&dlms::Codec::to_bytes(&frame)).await?;
                s.shutdown().await
            };
            tokio::time::timeout(self.timeout, send)
                .await
                .map_err(|_| {
                    ForwardError::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "push forward timed out"))
                })?
                .map_err(ForwardError::Io)
        })
    }
}
