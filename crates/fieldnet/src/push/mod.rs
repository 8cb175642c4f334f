//! Meter pushes through the DCU: meters push data-notifications and
//! event-notifications (IEC 62056-5-3 §9.3.10–11, sent by their Push setup, IEC
//! 62056-6-2 §4.4.8) to their DCU's push intake; the DCU carries each one over the
//! modelled uplink and hands it to a [`PushForwarder`]; on the HES side a
//! [`PushSubscriber`] yields them again and [`deliver_to_hes`] decodes them with the
//! HES's own push decoder ([`hes::push_listener::PushDecoder`]: deciphering, GBT
//! reassembly) into [`hes::PushMessage`]s.
//!
//! | file | holds |
//! |---|---|
//! | `intake.rs` | the DCU's push intake listener (IEC 62056-47 wrapper over TCP, as the meters' push sender speaks it) |
//! | `channel.rs` | an in-process bus (tokio channel): forwarder and subscriber |
//! | `tcp.rs` | forwarding to an HES push listener over TCP (the DCU re-sends the wrapper frame) |
//! | `envelope.rs` | the JSON envelope of a push on a message bus |
//! | `mqtt.rs` (feature `mqtt`) | MQTT forwarder and subscriber (rumqttc) |
//!
//! The traits keep the message bus replaceable (rumqttc has had no release for a year).

pub mod channel;
pub mod envelope;
pub(crate) mod intake;
#[cfg(feature = "mqtt")]
pub mod mqtt;
pub mod tcp;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use hes::PushMessage;
use hes::push_listener::{PushDecoder, PushListenerConfig, PushSource};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::mpsc;

use crate::scenario::DcuId;

/// A boxed future, for the object-safe traits below.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One push as a DCU forwards it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardedPush {
    /// The DCU that received it.
    pub dcu: DcuId,
    /// The DCU's push intake address (where the meter pushed to).
    pub dcu_address: SocketAddr,
    /// The meter's serial when the DCU could tell (a ciphered push's system title of a
    /// meter registered with the DCU); the HES may still identify it from the body.
    pub serial: Option<String>,
    /// The system title a general-glo/ded-ciphered push names (8 bytes), if any.
    pub system_title: Option<[u8; 8]>,
    /// Wrapper source wPort (the meter's logical device).
    pub source_wport: u16,
    /// Wrapper destination wPort.
    pub destination_wport: u16,
    /// The APDU, as the meter sent it (ciphered or not).
    pub apdu: Vec<u8>,
    /// When the DCU forwarded it (UTC).
    pub forwarded_at: Timestamp,
}

/// Why forwarding or subscribing failed.
#[derive(Debug, Error)]
pub enum ForwardError {
    /// Socket or broker I/O error.
    #[error("push forwarding I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The message bus refused or failed.
    #[error("message bus: {0}")]
    Bus(String),
    /// A message on the bus is not a push envelope.
    #[error("malformed push envelope: {0}")]
    Envelope(String),
    /// The other end is gone.
    #[error("the push channel is closed")]
    Closed,
}

/// Where a DCU sends the pushes it received.
pub trait PushForwarder: Send + Sync + 'static {
    /// Forwards one push (returns when the bus has taken it: for MQTT QoS 1, when it is
    /// queued to the broker).
    fn forward<'a>(&'a self, push: &'a ForwardedPush) -> BoxFuture<'a, Result<(), ForwardError>>;
}

/// Where the HES receives forwarded pushes from.
pub trait PushSubscriber: Send + 'static {
    /// The next push; `Ok(None)` when the subscription ended.
    fn next_push(&mut self) -> BoxFuture<'_, Result<Option<ForwardedPush>, ForwardError>>;
}

/// Decodes every push of `subscriber` with the HES's push decoder (one per DCU and wPort,
/// so General-Block-Transfer blocks reassemble per sender) and sends the
/// [`PushMessage`]s to `tx`, until the subscription ends, fails or `tx` closes.
/// Undecodable pushes are logged and skipped, as the HES push listener does. Returns the
/// number of messages delivered.
///
/// # Errors
/// The subscriber's error.
pub async fn deliver_to_hes<S: PushSubscriber>(
    mut subscriber: S,
    config: PushListenerConfig,
    tx: mpsc::Sender<PushMessage>,
) -> Result<u64, ForwardError> {
    let config = Arc::new(config);
    let mut decoders: HashMap<(SocketAddr, u16), PushDecoder> = HashMap::new();
    let mut delivered = 0;
    while let Some(push) = subscriber.next_push().await? {
        let source = PushSource { peer: push.dcu_address, source_wport: push.source_wport };
        let decoder =
            decoders.entry((push.dcu_address, push.source_wport)).or_insert_with(|| PushDecoder::new(config.clone()));
        match decoder.decode(&push.apdu, source) {
            Ok(Some(message)) => {
                if tx.send(message).await.is_err() {
                    return Ok(delivered);
                }
                delivered += 1;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(dcu = %push.dcu, error = %e, "forwarded push dropped"),
        }
    }
    Ok(delivered)
}
