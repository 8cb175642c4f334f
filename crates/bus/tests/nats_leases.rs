//! Shard leases in a JetStream key-value bucket: fair split between live HES members and
//! takeover of a dead member's shards after the TTL. Runs against 127.0.0.1:4222.
#![cfg(feature = "nats")]

use std::collections::BTreeSet;
use std::time::Duration;

use bus::{LeaseConfig, ShardLeases};

fn config(bucket: &str, member: &str) -> LeaseConfig {
    LeaseConfig {
        url: std::env::var("GRIDEDGE_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string()),
        bucket: bucket.to_string(),
        shards: 8,
        ttl: Duration::from_secs(2),
        member: member.to_string(),
    }
}

async fn connect(bucket: &str, member: &str) -> ShardLeases {
    ShardLeases::connect(config(bucket, member))
        .await
        .unwrap_or_else(|e| panic!("NATS JetStream must run on 127.0.0.1:4222 (scripts/start-services.sh): {e}"))
}

#[tokio::test]
async fn two_members_split_the_shards_and_a_survivor_takes_over() {
    let bucket = format!("gridedge_test_leases_{}", std::process::id());
    let mut a = connect(&bucket, "hes-a").await;
    let mut b = connect(&bucket, "hes-b").await;

    // Alone, a takes everything.
    assert_eq!(a.tick().await.expect("tick").len(), 8);
    // b joins: it finds nothing free until a sees two members and releases its extras.
    b.tick().await.expect("tick");
    for _ in 0..3 {
        a.tick().await.expect("tick");
        b.tick().await.expect("tick");
    }
    let owned_a: BTreeSet<u32> = a.owned().into_iter().collect();
    let owned_b: BTreeSet<u32> = b.owned().into_iter().collect();
    assert_eq!(owned_a.len(), 4, "fair share: {owned_a:?} / {owned_b:?}");
    assert_eq!(owned_b.len(), 4, "fair share: {owned_a:?} / {owned_b:?}");
    assert!(owned_a.is_disjoint(&owned_b), "a shard has one owner");
    let meter = (0..100).map(|i| format!("GE{i:08}")).find(|s| b.owns_meter(s)).expect("b owns some meter");
    assert!(!a.owns_meter(&meter));

    // b dies (no more renewals). Within TTL + a renewal period a holds every shard.
    drop(b);
    let mut rounds = 0;
    while a.owned().len() < 8 && rounds < 20 {
        tokio::time::sleep(a.renew_interval()).await;
        a.tick().await.expect("tick");
        rounds += 1;
    }
    assert_eq!(a.owned().len(), 8, "survivor took over after {rounds} rounds");
    assert!(a.owns_meter(&meter));
    a.release_all().await.expect("release");
    a.delete_bucket().await.expect("cleanup");
}
