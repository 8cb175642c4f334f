//! The in-process bus: order, batching, acknowledgement after commit, redelivery on nak.

use std::time::Duration;

use bus::{
    BatchVerdict, BusMessage, ConsumeOptions, Delivery, InProcessBus, MessageKind, Publisher, Subscriber, consume,
};

fn message(i: u32) -> BusMessage {
    BusMessage::json(MessageKind::Readings, "GE00000001", format!("m{i}"), &i).expect("encodes")
}

#[tokio::test]
async fn fetch_returns_what_was_published_in_order_and_in_batches() {
    let mut bus = InProcessBus::new(16);
    let publisher = bus.publisher();
    let mut subscriber = bus.subscriber(MessageKind::Readings).expect("first subscriber");
    assert!(bus.subscriber(MessageKind::Readings).is_none(), "one consumer per kind in-process");
    for i in 0..5 {
        publisher.publish(message(i)).await.expect("published");
    }
    let first = subscriber.fetch(3, Duration::from_millis(50)).await.expect("fetched");
    let second = subscriber.fetch(3, Duration::from_millis(50)).await.expect("fetched");
    let ids: Vec<&str> = first.iter().chain(second.iter()).map(|d| d.message().id.as_str()).collect();
    assert_eq!(ids, ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(first.len(), 3);
    let values: Vec<u32> = second.iter().map(|d| d.message().decode::<u32>().expect("decodes")).collect();
    assert_eq!(values, [3, 4]);
}

#[tokio::test]
async fn kinds_do_not_mix() {
    let mut bus = InProcessBus::new(4);
    let publisher = bus.publisher();
    let mut events = bus.subscriber(MessageKind::Events).expect("events");
    publisher.publish(message(1)).await.expect("published");
    let got = events.fetch(10, Duration::from_millis(20)).await.expect("fetched");
    assert!(got.is_empty(), "a readings message must not reach the events consumer");
}

#[tokio::test(start_paused = true)]
async fn a_failed_batch_is_delivered_again_and_committed_once() {
    let mut bus = InProcessBus::new(16);
    let publisher = bus.publisher();
    let mut subscriber = bus.subscriber(MessageKind::Readings).expect("subscriber");
    for i in 0..4 {
        publisher.publish(message(i)).await.expect("published");
    }
    let mut committed: Vec<String> = Vec::new();
    let mut attempts = 0;
    let options =
        ConsumeOptions { batch: 10, wait: Duration::from_millis(10), retry_delay: Duration::from_millis(100) };
    let stats = consume(
        &mut subscriber,
        options,
        |batch: &[BusMessage]| {
            attempts += 1;
            if attempts == 1 {
                return Err("store busy");
            }
            committed.extend(batch.iter().map(|m| m.id.clone()));
            Ok(BatchVerdict::default())
        },
        tokio::time::sleep(Duration::from_secs(2)),
    )
    .await
    .expect("consumer ran");
    committed.sort();
    assert_eq!(committed, ["m0", "m1", "m2", "m3"]);
    assert_eq!(stats.retried, 4);
    assert_eq!(stats.acknowledged, 4);
    assert_eq!(stats.redelivered, 4, "the second delivery of each message is a redelivery");
}

#[tokio::test(start_paused = true)]
async fn poison_messages_are_terminated_not_retried() {
    let mut bus = InProcessBus::new(16);
    let publisher = bus.publisher();
    let mut subscriber = bus.subscriber(MessageKind::Readings).expect("subscriber");
    publisher.publish(message(7)).await.expect("published");
    let garbage = BusMessage { kind: MessageKind::Readings, key: "x".into(), id: "bad".into(), payload: b"{".to_vec() };
    publisher.publish(garbage).await.expect("published");
    let mut seen = 0;
    let stats = consume(
        &mut subscriber,
        ConsumeOptions::default(),
        |batch: &[BusMessage]| {
            seen += batch.len();
            let poison = batch.iter().enumerate().filter(|(_, m)| m.decode::<u32>().is_err()).map(|(i, _)| i).collect();
            Ok::<_, String>(BatchVerdict { poison })
        },
        tokio::time::sleep(Duration::from_secs(5)),
    )
    .await
    .expect("consumer ran");
    assert_eq!(seen, 2, "each message handed over once");
    assert_eq!((stats.acknowledged, stats.poison, stats.retried), (1, 1, 0));
}

#[test]
fn subjects_are_safe_and_ids_stable() {
    let m = BusMessage { kind: MessageKind::CommandResults, key: "a.b *>c".into(), id: "i".into(), payload: vec![] };
    assert_eq!(m.subject(), "gridedge.command_results.a_b___c");
    let empty = BusMessage { key: String::new(), ..m };
    assert_eq!(empty.subject(), "gridedge.command_results._");
    let reading = model::MeterReading {
        meter: model::MeterId::from("GE00000042"),
        collected_at: "2026-11-21T10:00:00.123Z".parse().expect("timestamp"),
        clock_drift_ms: None,
        interval_length_s: 900,
        registers: vec![],
        intervals: vec![],
    };
    assert_eq!(BusMessage::reading_id(&reading), "GE00000042/1795255200123/r", "registers only");
    // Two chunks of one catch-up session: same collected_at, told apart by their first
    // interval end (otherwise JetStream's duplicate window would drop the second).
    let chunk = |first_end: &str| {
        let end: jiff::Timestamp = first_end.parse().expect("timestamp");
        let interval = model::IntervalReading {
            reading_type: model::ReadingType::ActiveEnergyImport,
            interval_end: end,
            value: 1.0,
            quality: model::QualityFlags::default(),
        };
        model::MeterReading { intervals: vec![interval], ..reading.clone() }
    };
    let (first, second) = (chunk("2026-11-19T00:15:00Z"), chunk("2026-11-20T00:15:00Z"));
    assert_eq!(BusMessage::reading_id(&first), "GE00000042/1795255200123/1795047300000");
    assert_ne!(BusMessage::reading_id(&first), BusMessage::reading_id(&second));
    let encoded = BusMessage::reading(&reading).expect("encodes");
    assert_eq!(encoded.decode::<model::MeterReading>().expect("decodes"), reading);
}
