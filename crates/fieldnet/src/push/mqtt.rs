//! MQTT push forwarding (feature `mqtt`): DCUs publish each push's JSON envelope
//! ([`crate::push::envelope`]) to `{prefix}/{dcu}/push` with QoS 1 (MQTT 3.1.1 §4.3.2,
//! at least once), and the HES subscribes to `{prefix}/+/push`. Client: rumqttc 0.25
//! without TLS, behind [`PushForwarder`] / [`PushSubscriber`].

use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::push::{BoxFuture, ForwardError, ForwardedPush, PushForwarder, PushSubscriber, envelope};

/// Where the broker is and how to use it.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    /// Broker host (e.g. `127.0.0.1`).
    pub host: String,
    /// Broker port (1883 for plain MQTT).
    pub port: u16,
    /// Client identifier (unique per connection on the broker).
    pub client_id: String,
    /// Topic prefix, e.g. `gridedge/field`.
    pub topic_prefix: String,
    /// MQTT keep-alive.
    pub keep_alive: Duration,
    /// Time allowed to connect (and subscribe) before giving up.
    pub connect_timeout: Duration,
}

impl MqttConfig {
    /// Broker `host:port`, client `client_id`, prefix `gridedge/field`, 30 s keep-alive,
    /// 5 s to connect.
    pub fn new(host: impl Into<String>, port: u16, client_id: impl Into<String>) -> Self {
        MqttConfig {
            host: host.into(),
            port,
            client_id: client_id.into(),
            topic_prefix: "gridedge/field".into(),
            keep_alive: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }

    fn options(&self) -> MqttOptions {
        let mut o = MqttOptions::new(self.client_id.clone(), self.host.clone(), self.port);
        o.set_keep_alive(self.keep_alive);
        o
    }
}

fn bus(e: impl std::fmt::Display) -> ForwardError {
    ForwardError::Bus(e.to_string())
}

/// Polls the event loop until `done` says the wanted packet arrived, within `timeout`.
async fn poll_until(
    eventloop: &mut EventLoop,
    timeout: Duration,
    mut done: impl FnMut(&Packet) -> bool,
) -> Result<(), ForwardError> {
    tokio::time::timeout(timeout, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(p)) if done(&p) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(bus(e)),
            }
        }
    })
    .await
    .map_err(|_| ForwardError::Bus("timed out connecting to the MQTT broker".into()))?
}

/// Keeps the connection alive (rumqttc reconnects on the next poll after an error).
fn drive(mut eventloop: EventLoop) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "MQTT connection lost; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    })
}

/// Publishes the DCUs' pushes to the broker.
#[derive(Debug)]
pub struct MqttForwarder {
    client: AsyncClient,
    prefix: String,
    task: JoinHandle<()>,
}

impl MqttForwarder {
    /// Connects (waits for the broker's CONNACK).
    ///
    /// # Errors
    /// [`ForwardError::Bus`] when the broker cannot be reached or refuses.
    pub async fn connect(config: &MqttConfig) -> Result<Self, ForwardError> {
        let (client, mut eventloop) = AsyncClient::new(config.options(), 64);
        poll_until(&mut eventloop, config.connect_timeout, |p| matches!(p, Packet::ConnAck(_))).await?;
        let task = drive(eventloop);
        Ok(MqttForwarder { client, prefix: config.topic_prefix.clone(), task })
    }
}

impl Drop for MqttForwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PushForwarder for MqttForwarder {
    fn forward<'a>(&'a self, push: &'a ForwardedPush) -> BoxFuture<'a, Result<(), ForwardError>> {
        Box::pin(async move {
            let topic = envelope::topic(&self.prefix, &push.dcu);
            self.client.publish(topic, QoS::AtLeastOnce, false, envelope::encode(push)).await.map_err(bus)
        })
    }
}

/// The HES's subscription to every DCU's pushes.
#[derive(Debug)]
pub struct MqttSubscriber {
    rx: mpsc::Receiver<Result<ForwardedPush, ForwardError>>,
    task: JoinHandle<()>,
    _client: AsyncClient,
}

impl MqttSubscriber {
    /// Connects and subscribes to `{prefix}/+/push` with QoS 1 (waits for the SUBACK, so
    /// pushes published afterwards are received); resubscribes after a reconnection.
    ///
    /// # Errors
    /// [`ForwardError::Bus`] when the broker cannot be reached or refuses.
    pub async fn connect(config: &MqttConfig) -> Result<Self, ForwardError> {
        let (client, mut eventloop) = AsyncClient::new(config.options(), 256);
        poll_until(&mut eventloop, config.connect_timeout, |p| matches!(p, Packet::ConnAck(_))).await?;
        let filter = envelope::topic_filter(&config.topic_prefix);
        client.subscribe(filter.clone(), QoS::AtLeastOnce).await.map_err(bus)?;
        poll_until(&mut eventloop, config.connect_timeout, |p| matches!(p, Packet::SubAck(_))).await?;
        let (tx, rx) = mpsc::channel(1024);
        let resubscribe = client.clone();
        // The HES's pace sets the pace: while the channel is full the event loop is not
        // polled, so the broker holds the QoS 1 messages instead of them being dropped.
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send(envelope::decode(&p.payload)).await.is_err() {
                            return;
                        }
                    }
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        if let Err(e) = resubscribe.try_subscribe(filter.clone(), QoS::AtLeastOnce) {
                            tracing::warn!(error = %e, "MQTT resubscribe failed");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "MQTT connection lost; reconnecting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(MqttSubscriber { rx, task, _client: client })
    }
}

impl Drop for MqttSubscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PushSubscriber for MqttSubscriber {
    fn next_push(&mut self) -> BoxFuture<'_, Result<Option<ForwardedPush>, ForwardError>> {
        Box::pin(async move {
            loop {
                match self.rx.recv().await {
                    None => return Ok(None),
                    Some(Ok(push)) => return Ok(Some(push)),
                    // A foreign message on our topic: skip it.
                    Some(Err(e)) => tracing::warn!(error = %e, "MQTT message is not a push envelope"),
                }
            }
        })
    }
}
