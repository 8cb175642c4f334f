//! Invocation counters of a whole fleet in one dense table: two 8-byte slots per meter
//! (the management client's global unicast key, incoming and outgoing), so a meter whose
//! state is dropped between sessions ([`super::lazy`]) keeps its counters and never
//! accepts a replayed counter or reuses one of its own (IEC 62056-5-3 §9.2.7.2.4.5).
//!
//! Counters of other keys (the broadcast key) are rare and go to a side map.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dlms::security::{CounterDirection, CounterId, InvocationCounterStore, KeyId, SecurityError};

/// The counter table of a fleet: slot `2 × index` holds the meter's last accepted
/// incoming counter, slot `2 × index + 1` the lowest outgoing counter not yet reserved.
/// A slot stores 0 for "nothing stored" and `value + 1` otherwise.
#[derive(Debug)]
pub(crate) struct CounterTable {
    slots: Box<[AtomicU64]>,
    other: Mutex<HashMap<(u32, CounterId), u32>>,
}

impl CounterTable {
    /// A table for `meters` meters, all counters unset.
    pub(crate) fn new(meters: usize) -> Self {
        CounterTable {
            slots: (0..meters.saturating_mul(2)).map(|_| AtomicU64::new(0)).collect(),
            other: Mutex::new(HashMap::new()),
        }
    }

    /// Bytes the table takes per meter (without the side map).
    pub(crate) const BYTES_PER_METER: usize = 2 * std::mem::size_of::<AtomicU64>();

    fn slot(&self, index: u32, id: CounterId) -> Option<&AtomicU64> {
        if id.key != KeyId::GlobalUnicastEncryption {
            return None;
        }
        let offset = match id.direction {
            CounterDirection::Incoming => 0,
            CounterDirection::Outgoing => 1,
        };
        self.slots.get((index as usize).checked_mul(2)?.checked_add(offset)?)
    }
}

/// The [`InvocationCounterStore`] of fleet meter `index` over the fleet's table.
#[derive(Debug, Clone)]
pub(crate) struct SlotCounterStore {
    pub(crate) table: Arc<CounterTable>,
    pub(crate) index: u32,
}

impl InvocationCounterStore for SlotCounterStore {
    fn load(&self, id: CounterId) -> Result<Option<u32>, SecurityError> {
        match self.table.slot(self.index, id) {
            Some(slot) => Ok(match slot.load(Ordering::Acquire) {
                0 => None,
                v => u32::try_from(v - 1).ok(),
            }),
            None => {
                let other = self.table.other.lock().unwrap_or_else(|p| p.into_inner());
                Ok(other.get(&(self.index, id)).copied())
            }
        }
    }

    fn save(&mut self, id: CounterId, value: u32) -> Result<(), SecurityError> {
        match self.table.slot(self.index, id) {
            Some(slot) => slot.store(u64::from(value) + 1, Ordering::Release),
            None => {
                let mut other = self.table.other.lock().unwrap_or_else(|p| p.into_inner());
                other.insert((self.index, id), value);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_meter_keeps_its_own_counters_including_zero_and_the_maximum() {
        let table = Arc::new(CounterTable::new(3));
        let incoming = CounterId::new(KeyId::GlobalUnicastEncryption, CounterDirection::Incoming);
        let outgoing = CounterId::new(KeyId::GlobalUnicastEncryption, CounterDirection::Outgoing);
        let broadcast = CounterId::new(KeyId::GlobalBroadcastEncryption, CounterDirection::Outgoing);
        let mut a = SlotCounterStore { table: table.clone(), index: 1 };
        let b = SlotCounterStore { table: table.clone(), index: 2 };
        assert_eq!(a.load(incoming).unwrap(), None);
        a.save(incoming, 0).unwrap();
        a.save(outgoing, u32::MAX).unwrap();
        a.save(broadcast, 7).unwrap();
        assert_eq!(a.load(incoming).unwrap(), Some(0));
        assert_eq!(a.load(outgoing).unwrap(), Some(u32::MAX));
        assert_eq!(a.load(broadcast).unwrap(), Some(7));
        assert_eq!(
            (b.load(incoming).unwrap(), b.load(outgoing).unwrap(), b.load(broadcast).unwrap()),
            (None, None, None)
        );
        // A second store over the same slot (the meter built again) sees the values.
        let again = SlotCounterStore { table, index: 1 };
        assert_eq!(again.load(outgoing).unwrap(), Some(u32::MAX));
        // An index beyond the table is kept in the side map, not lost.
        let mut far = SlotCounterStore { table: again.table.clone(), index: 9 };
        far.save(incoming, 3).unwrap();
        assert_eq!(far.load(incoming).unwrap(), Some(3));
    }
}
