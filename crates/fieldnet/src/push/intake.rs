//! A DCU's push intake: the TCP port the meters of a DCU push to (their Push setup's
//! destination, IEC 62056-6-2 §4.4.8.2 send_destination_and_method), speaking the IEC
//! 62056-47 wrapper as the meter's push sender does.
//!
//! Each push frame crosses the modelled uplink (neighbourhood network, then backhaul;
//! carried by TCP, so losses are retransmissions, see [`crate::transmission`]) and is
//! then handed to the field's [`PushForwarder`]. A push the model cannot deliver (the DCU
//! dies, TCP gives up during a partition) is counted as lost: the DCU keeps no
//! store-and-forward queue. A dead DCU accepts no push connection.
//!
//! The DCU names the meter when a push is general-glo/ded-ciphered (IEC 62056-5-3
//! §9.2.7.2.4.5: the APDU carries the sender's system title) and that system title is
//! registered with the DCU; otherwise `serial` stays empty and the HES identifies the
//! meter from the push body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dlms::Codec;
use dlms::security::CipheredApdu;
use dlms::security::ciphered_apdu::is_ciphered_tag;
use dlms::wrapper::{MAX_WRAPPER_APDU_LEN, WrapperFrame};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::error::FieldError;
use crate::field::{DcuRuntime, FieldShared};
use crate::framing::Framing;
use crate::push::{ForwardedPush, PushForwarder};
use crate::relay::mix;
use crate::stats::Event;
use crate::transmission::{Direction, FrameFate};

/// A bound push intake of one DCU.
pub(crate) struct PushIntake {
    listener: TcpListener,
    address: SocketAddr,
    dcu: Arc<DcuRuntime>,
    shared: Arc<FieldShared>,
    forwarder: Arc<dyn PushForwarder>,
    pushes: Arc<AtomicU64>,
}

impl PushIntake {
    pub(crate) async fn bind(
        address: SocketAddr,
        dcu: Arc<DcuRuntime>,
        shared: Arc<FieldShared>,
        forwarder: Arc<dyn PushForwarder>,
    ) -> Result<PushIntake, FieldError> {
        let listener = TcpListener::bind(address).await.map_err(|source| FieldError::Bind {
            what: "DCU push intake",
            address,
            source,
        })?;
        let address =
            listener.local_addr().map_err(|source| FieldError::Bind { what: "DCU push intake", address, source })?;
        Ok(PushIntake { listener, address, dcu, shared, forwarder, pushes: Arc::default() })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.address
    }
}

/// Accepts meter push connections until the field stops (their tasks stop with it).
pub(crate) async fn run(intake: PushIntake) {
    let intake = Arc::new(intake);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = intake.listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, intake.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "push intake accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// The system title a general-ciphered APDU names.
fn system_title_of(apdu: &[u8]) -> Option<[u8; 8]> {
    if !apdu.first().is_some_and(|t| is_ciphered_tag(*t)) {
        return None;
    }
    match CipheredApdu::from_bytes(apdu).ok()? {
        CipheredApdu::General(g) => <[u8; 8]>::try_from(g.system_title.as_slice()).ok(),
        CipheredApdu::ServiceSpecific(_) => None,
    }
}

async fn serve(mut stream: TcpStream, intake: Arc<PushIntake>) {
    let mut rx = Vec::with_capacity(4096);
    let mut buf = vec![0u8; 8192];
    loop {
        while let Ok(Some((frame, used))) = WrapperFrame::parse_with_limit(&rx, MAX_WRAPPER_APDU_LEN) {
            let len = used;
            rx.drain(..used);
            handle(&intake, frame, len).await;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => rx.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
        if WrapperFrame::parse_with_limit(&rx, MAX_WRAPPER_APDU_LEN).is_err() {
            tracing::warn!(dcu = %intake.dcu.id, "push intake: not a wrapper stream, closing");
            return;
        }
    }
}

async fn handle(intake: &PushIntake, frame: WrapperFrame, len: usize) {
    let shared = &intake.shared;
    let dcu = &intake.dcu;
    let system_title = system_title_of(&frame.apdu);
    let serial = system_title.and_then(|t| dcu.by_title.get(&dlms::security::SystemTitle(t)).cloned());
    let path = shared.path(dcu, serial.as_deref().unwrap_or(""), Framing::Wrapper);
    let n = intake.pushes.fetch_add(1, Ordering::Relaxed);
    let mut rng = ChaCha8Rng::seed_from_u64(mix(mix(shared.seed, 0x5055_5348), mix(n, dcu.meters.len() as u64)));
    let entered = shared.clock.now();
    let fate = path.transmit(Direction::Uplink, len, entered, &mut rng);
    let mut counters = vec![shared.total.clone(), dcu.counters.clone()];
    if let Some(c) = serial.as_deref().and_then(|s| shared.route_counters(s)) {
        counters.push(c);
    }
    for c in &counters {
        c.frame(len, entered, &fate);
    }
    let FrameFate::Delivered { at, .. } = fate else {
        counters.iter().for_each(|c| c.event(Event::PushLost));
        return;
    };
    shared.clock.sleep_until(at).await;
    let push = ForwardedPush {
        dcu: dcu.id.clone(),
        dcu_address: intake.address,
        serial,
        system_title,
        source_wport: frame.source_wport,
        destination_wport: frame.destination_wport,
        apdu: frame.apdu,
        forwarded_at: jiff::Timestamp::now(),
    };
    match intake.forwarder.forward(&push).await {
        Ok(()) => counters.iter().for_each(|c| c.event(Event::PushForwarded)),
        Err(e) => {
            tracing::warn!(dcu = %dcu.id, error = %e, "push forwarding failed");
            counters.iter().for_each(|c| c.event(Event::PushLost));
        }
    }
}
