//! The JetStream bus against the NATS server on 127.0.0.1:4222 (started by
//! scripts/start-services.sh): durable storage, de-duplication by message id,
//! redelivery of what was not acknowledged, shared durable consumers.
//!
//! Each test uses its own stream and subject prefix and deletes its streams at the end.
#![cfg(feature = "nats")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bus::{BusMessage, Delivery, JetStreamBus, JetStreamConfig, MessageKind, Publisher, Subscriber};

fn nats_url() -> String {
    std::env::var("GRIDEDGE_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string())
}

static NEXT: AtomicU32 = AtomicU32::new(0);

async fn fresh_bus(ack_wait: Duration) -> JetStreamBus {
    let unique = format!("T{}X{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut config = JetStreamConfig::new(&nats_url());
    config.stream_prefix = format!("GRIDEDGE_TEST_{unique}");
    config.subject_prefix = format!("gridedgetest{unique}");
    config.ack_wait = ack_wait;
    JetStreamBus::connect(config)
        .await
        .unwrap_or_else(|e| panic!("NATS JetStream must run on {} (scripts/start-services.sh): {e}", nats_url()))
}

fn message(i: u32) -> BusMessage {
    BusMessage::json(MessageKind::Readings, &format!("GE{i:08}"), format!("reading-{i}"), &i).expect("encodes")
}

async fn drain<S: Subscriber>(subscriber: &mut S, want: usize) -> Vec<S::Delivery> {
    let mut got = Vec::new();
    for _ in 0..50 {
        if got.len() >= want {
            break;
        }
        got.extend(subscriber.fetch(want - got.len(), Duration::from_millis(200)).await.expect("fetch"));
    }
    got
}

#[tokio::test]
async fn published_messages_arrive_once_even_when_republished() {
    let bus = fresh_bus(Duration::from_secs(30)).await;
    let publisher = bus.publisher();
    publisher.publish_all((0..20).map(message).collect()).await.expect("published");
    // A restarted HES publishes the same sessions again: same ids, dropped by the server.
    publisher.publish_all((10..20).map(message).collect()).await.expect("republished");
    assert_eq!(bus.stream_messages(MessageKind::Readings).await.expect("info"), 20);

    let mut subscriber = bus.subscriber(MessageKind::Readings, "mdms").await.expect("consumer");
    let got = drain(&mut subscriber, 20).await;
    let mut values: Vec<u32> = got.iter().map(|d| d.message().decode().expect("decodes")).collect();
    values.sort_unstable();
    assert_eq!(values, (0..20).collect::<Vec<_>>());
    assert!(got.iter().all(|d| d.message().id.starts_with("reading-")), "ids travel in Nats-Msg-Id");
    assert_eq!(got[0].message().key, format!("GE{:08}", got[0].message().decode::<u32>().expect("decodes")));
    for d in got {
        d.ack().await.expect("ack");
    }
    let more = subscriber.fetch(10, Duration::from_millis(300)).await.expect("fetch");
    assert!(more.is_empty(), "acknowledged messages are not delivered again");
    bus.delete_streams().await.expect("cleanup");
}

#[tokio::test]
async fn unacknowledged_messages_come_back_to_a_new_consumer_process() {
    let bus = fresh_bus(Duration::from_secs(1)).await;
    bus.publisher().publish_all((0..5).map(message).collect()).await.expect("published");
    {
        // A consumer takes the messages and dies before committing (no ack).
        let mut doomed = bus.subscriber(MessageKind::Readings, "mdms").await.expect("consumer");
        let taken = drain(&mut doomed, 5).await;
        assert_eq!(taken.len(), 5);
        drop(taken);
    }
    // The restarted MDMS binds to the same durable consumer and gets them after ack_wait.
    let mut restarted = bus.subscriber(MessageKind::Readings, "mdms").await.expect("consumer");
    let again = drain(&mut restarted, 5).await;
    assert_eq!(again.len(), 5);
    assert!(again.iter().all(|d| d.delivery_count() >= 2), "they are redeliveries");
    for d in again {
        d.ack().await.expect("ack");
    }
    bus.delete_streams().await.expect("cleanup");
}

#[tokio::test]
async fn a_nak_redelivers_and_term_does_not() {
    let bus = fresh_bus(Duration::from_secs(30)).await;
    bus.publisher().publish_all(vec![message(1), message(2)]).await.expect("published");
    let mut subscriber = bus.subscriber(MessageKind::Readings, "mdms").await.expect("consumer");
    let mut got = drain(&mut subscriber, 2).await;
    got.sort_by_key(|d| d.message().id.clone());
    let mut it = got.into_iter();
    it.next().expect("first").nak(Duration::from_millis(100)).await.expect("nak");
    it.next().expect("second").term().await.expect("term");
    let again = drain(&mut subscriber, 1).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message().id, "reading-1");
    assert_eq!(again[0].delivery_count(), 2);
    for d in again {
        d.ack().await.expect("ack");
    }
    assert!(subscriber.fetch(5, Duration::from_millis(300)).await.expect("fetch").is_empty());
    bus.delete_streams().await.expect("cleanup");
}
