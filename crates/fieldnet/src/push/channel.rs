//! An in-process push bus over a tokio channel: the forwarder the DCUs use and the
//! subscriber the HES reads, for a single-process deployment or tests without a broker.

use tokio::sync::{Mutex, mpsc};

use crate::push::{BoxFuture, ForwardError, ForwardedPush, PushForwarder, PushSubscriber};

/// The DCU side of an in-process bus.
#[derive(Debug)]
pub struct ChannelForwarder {
    tx: mpsc::Sender<ForwardedPush>,
}

/// The HES side of an in-process bus.
#[derive(Debug)]
pub struct ChannelSubscriber {
    rx: Mutex<mpsc::Receiver<ForwardedPush>>,
}

/// A bus holding up to `capacity` pushes (≥ 1) not yet read.
pub fn channel_bus(capacity: usize) -> (ChannelForwarder, ChannelSubscriber) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (ChannelForwarder { tx }, ChannelSubscriber { rx: Mutex::new(rx) })
}

impl PushForwarder for ChannelForwarder {
    fn forward<'a>(&'a self, push: &'a ForwardedPush) -> BoxFuture<'a, Result<(), ForwardError>> {
        Box::pin(async move { self.tx.send(push.clone()).await.map_err(|_| ForwardError::Closed) })
    }
}

impl PushSubscriber for ChannelSubscriber {
    fn next_push(&mut self) -> BoxFuture<'_, Result<Option<ForwardedPush>, ForwardError>> {
        Box::pin(async move { Ok(self.rx.get_mut().recv().await) })
    }
}
