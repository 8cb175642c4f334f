//! Which shard of the fleet a meter belongs to (several HES processes split the fleet by
//! shard; see the `nats` feature's shard leases).

/// The shard of a meter: FNV-1a 64 of the serial, modulo `shards` (at least 1). Stable
/// across processes, versions and platforms.
pub fn shard_of(serial: &str, shards: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in serial.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(shards.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::shard_of;

    #[test]
    fn fnv1a_known_answers_and_spread() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (FNV reference test suite).
        assert_eq!(shard_of("a", u32::MAX), (0xaf63_dc4c_8601_ec8c_u64 % u64::from(u32::MAX)) as u32);
        assert_eq!(shard_of("anything", 0), 0);
        let mut counts = [0u32; 8];
        for i in 0..8000 {
            counts[shard_of(&format!("GE{i:08}"), 8) as usize] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
    }
}
