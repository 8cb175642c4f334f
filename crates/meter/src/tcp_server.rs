//! The meter's DLMS/COSEM server over TCP with the IEC 62056-47 wrapper.
//!
//! One task per TCP connection. Each wrapper frame is routed by wPorts: the destination
//! must be the meter's logical device (server SAP, 1 = management logical device) and
//! the source must be a client SAP the meter is configured for; frames for other wPorts
//! are discarded silently, as a meter does for unknown SAPs. Each client SAP on a
//! connection has its own [`ServerAssociation`]. A connection idle for longer than the
//! inactivity timeout is closed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dlms::Codec;
use dlms::association::{Authentication, CosemServer, RequestContext, ServerAssociation, ServerConfig};
use dlms::data::Data;
use dlms::wrapper::{MAX_WRAPPER_APDU_LEN, WrapperFrame};
use dlms::xdlms::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, SelectiveAccess};
use jiff::Timestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::SimulatedMeter;
use crate::objects::association_ln::{AssociationContext, AssociationStatus};

/// Which clients may associate and how the meter's server behaves.
#[derive(Debug, Clone)]
pub struct MeterServerConfig {
    /// Client SAPs the meter accepts, each with the authentication it requires.
    pub clients: Vec<(u16, Authentication)>,
    /// The logical device's SAP (wrapper destination wPort), 1 = management logical device.
    pub server_sap: u16,
    /// The meter's max receive PDU size, bytes.
    pub max_receive_pdu_size: u16,
    /// Close a connection after this long without a frame.
    pub inactivity_timeout: Duration,
}

impl MeterServerConfig {
    /// The usual pair: public client 16 without authentication (read-only) and the
    /// management client 1 with low level security and `password`.
    pub fn with_password(password: &[u8]) -> Self {
        MeterServerConfig {
            clients: vec![(16, Authentication::None), (1, Authentication::Low { password: password.to_vec() })],
            server_sap: 1,
            max_receive_pdu_size: 1024,
            inactivity_timeout: Duration::from_secs(120),
        }
    }
}

impl Default for MeterServerConfig {
    /// Public client 16 (no authentication) and management client 1 with the LLS
    /// password `00000000`.
    fn default() -> Self {
        Self::with_password(b"00000000")
    }
}

/// Adapts a shared [`SimulatedMeter`] to the association's [`CosemServer`] at true
/// time = the system clock.
struct MeterAdapter<'a> {
    meter: &'a Mutex<SimulatedMeter>,
    server_sap: u16,
    max_receive_pdu_size: u16,
}

impl MeterAdapter<'_> {
    fn with_meter<T>(&self, ctx: &RequestContext, f: impl FnOnce(&mut SimulatedMeter, Timestamp) -> T) -> T {
        // A poisoned lock only means another connection panicked mid-request; the
        // meter's state is plain data and still consistent enough to serve.
        let mut m = self.meter.lock().unwrap_or_else(|p| p.into_inner());
        let context = AssociationContext {
            client_sap: ctx.client_sap as i8,
            server_sap: self.server_sap,
            mechanism_id: ctx.mechanism.id().unwrap_or(0),
            max_receive_pdu_size: self.max_receive_pdu_size,
            status: AssociationStatus::Associated,
            ..m.association_context().clone()
        };
        m.set_association_context(context);
        f(&mut m, Timestamp::now())
    }
}

impl CosemServer for MeterAdapter<'_> {
    fn get(
        &mut self,
        ctx: &RequestContext,
        attribute: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        self.with_meter(ctx, |m, now| m.get(now, attribute, access))
    }

    fn set(
        &mut self,
        ctx: &RequestContext,
        attribute: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
        value: &Data,
    ) -> DataAccessResult {
        // The public client reads only (IEC 62056-6-2 §4.4.3 access rights per
        // association): writes need the management client.
        if ctx.client_sap == dlms::wrapper::WPORT_PUBLIC_CLIENT {
            return DataAccessResult::ReadWriteDenied;
        }
        self.with_meter(ctx, |m, now| m.set(now, attribute, access, value))
    }

    fn action(
        &mut self,
        ctx: &RequestContext,
        method: &CosemMethodDescriptor,
        parameters: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        if ctx.client_sap == dlms::wrapper::WPORT_PUBLIC_CLIENT {
            return Err(ActionResult::ReadWriteDenied);
        }
        self.with_meter(ctx, |m, now| m.action(now, method, parameters))
    }
}

/// Accepts connections forever, serving `meter` on each.
pub async fn serve(listener: TcpListener, meter: Arc<Mutex<SimulatedMeter>>, config: Arc<MeterServerConfig>) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                let meter = meter.clone();
                let config = config.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_connection(stream, &meter, &config).await {
                        tracing::debug!(error = %e, "meter connection ended");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves one connection until the peer closes it, the stream turns invalid or it
/// stays idle past the inactivity timeout.
///
/// # Errors
/// I/O errors and an invalid wrapper stream (the connection is then closed).
pub async fn serve_connection(
    mut stream: TcpStream,
    meter: &Mutex<SimulatedMeter>,
    config: &MeterServerConfig,
) -> std::io::Result<()> {
    stream.set_nodelay(true).ok();
    let mut associations: Vec<(u16, ServerAssociation)> = Vec::new();
    let mut rx: Vec<u8> = Vec::with_capacity(4096);
    let mut buf = vec![0u8; 8192];
    let max_apdu = (config.max_receive_pdu_size as usize).clamp(64, MAX_WRAPPER_APDU_LEN);
    loop {
        // Serve every complete frame in the buffer.
        loop {
            let parsed = WrapperFrame::parse_with_limit(&rx, max_apdu)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            let Some((frame, used)) = parsed else { break };
            rx.drain(..used);
            if frame.destination_wport != config.server_sap {
                continue;
            }
            let Some(auth) = config.clients.iter().find(|(sap, _)| *sap == frame.source_wport).map(|(_, a)| a) else {
                continue;
            };
            let index = match associations.iter().position(|(sap, _)| *sap == frame.source_wport) {
                Some(i) => i,
                None => {
                    let server_config = ServerConfig {
                        authentication: auth.clone(),
                        conformance: ServerConfig::METER_CONFORMANCE,
                        max_receive_pdu_size: config.max_receive_pdu_size,
                    };
                    associations.push((frame.source_wport, ServerAssociation::new(server_config, frame.source_wport)));
                    associations.len() - 1
                }
            };
            let association = &mut associations[index].1;
            let mut adapter = MeterAdapter {
                meter,
                server_sap: config.server_sap,
                max_receive_pdu_size: config.max_receive_pdu_size,
            };
            association.handle_apdu(&frame.apdu, &mut adapter);
            while let Some(apdu) = association.poll_transmit() {
                let reply = frame.reply(apdu);
                stream.write_all(&reply.to_bytes()).await?;
            }
        }
        let n = match tokio::time::timeout(config.inactivity_timeout, stream.read(&mut buf)).await {
            Ok(r) => r?,
            Err(_) => return Ok(()), // inactivity timeout
        };
        if n == 0 {
            return Ok(());
        }
        rx.extend_from_slice(&buf[..n]);
    }
}
