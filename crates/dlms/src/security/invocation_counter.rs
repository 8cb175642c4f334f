//! Invocation counters (IEC 62056-5-3 §9.2.7.2.4.5 and Green Book §9.2.3.8): the last 4
//! bytes of every AES-GCM IV. A sender must never use a counter value twice with the same
//! key (GCM's security collapses on IV reuse); a receiver accepts only counters strictly
//! above the last one it accepted for that key and direction, which defeats replay.
//! (gurux-dlms accepts equal counters; gridedge does not.)
//!
//! Counters must survive restarts, so the [`super::context::SecurityContext`] keeps
//! them in an [`InvocationCounterStore`] the caller provides, one store per key set
//! (i.e. per client–server pair): [`MemoryCounterStore`] for tests and simulations,
//! [`super::file_counter_store::FileCounterStore`] for durable state.
//!
//! What is stored per [`CounterId`]:
//! - `Outgoing`: the lowest counter value not yet reserved. The context reserves values
//!   in blocks (it saves `next + block` before using `next`), so after a crash the
//!   sender resumes above every value it may have used: a crash wastes at most one block,
//!   it never reuses a counter.
//! - `Incoming`: the last counter value accepted from the peer.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::security::error::SecurityError;
use crate::security::keys::KeyId;

/// Counter values reserved at once for outgoing APDUs (one store write per block).
pub const DEFAULT_RESERVATION_BLOCK: u32 = 1000;

/// Sending or receiving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CounterDirection {
    /// APDUs this entity protects.
    Outgoing,
    /// APDUs this entity receives from its peer.
    Incoming,
}

/// Which counter: per key and direction. Only the two global encryption keys have
/// persistent counters (the authentication key ciphers nothing, the dedicated key lives
/// for one association).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterId {
    /// The key whose IV sequence this is.
    pub key: KeyId,
    /// Sending or receiving.
    pub direction: CounterDirection,
}

impl CounterId {
    /// Shorthand constructor.
    pub const fn new(key: KeyId, direction: CounterDirection) -> Self {
        CounterId { key, direction }
    }
}

/// Durable storage of invocation counters (see the module docs for what each value
/// means). Implementations must make a successful `save` durable before returning.
pub trait InvocationCounterStore: fmt::Debug + Send {
    /// The stored value, `None` when nothing was stored yet.
    ///
    /// # Errors
    /// [`SecurityError::CounterStore`] when the value cannot be read.
    fn load(&self, id: CounterId) -> Result<Option<u32>, SecurityError>;

    /// Stores `value`.
    ///
    /// # Errors
    /// [`SecurityError::CounterStore`] when the value could not be made durable; the
    /// caller then refuses to protect or accept the APDU.
    fn save(&mut self, id: CounterId, value: u32) -> Result<(), SecurityError>;
}

/// A store shared by the associations of one client–server pair (sequential or
/// concurrent), so that counters are never reused or replayed across associations.
pub type SharedCounterStore = Arc<Mutex<dyn InvocationCounterStore>>;

/// Wraps a store for sharing.
pub fn shared_store(store: impl InvocationCounterStore + 'static) -> SharedCounterStore {
    Arc::new(Mutex::new(store))
}

/// Locks a shared store; a store poisoned by a panic elsewhere is still used (its data
/// is a map of integers, always consistent).
pub(crate) fn lock(store: &SharedCounterStore) -> MutexGuard<'_, dyn InvocationCounterStore + 'static> {
    store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Counters kept in memory only: lost on restart. For tests, simulations and peers
/// whose counters are persisted elsewhere.
#[derive(Debug, Clone, Default)]
pub struct MemoryCounterStore {
    values: HashMap<CounterId, u32>,
}

impl MemoryCounterStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryCounterStore::default()
    }
}

impl InvocationCounterStore for MemoryCounterStore {
    fn load(&self, id: CounterId) -> Result<Option<u32>, SecurityError> {
        Ok(self.values.get(&id).copied())
    }

    fn save(&mut self, id: CounterId, value: u32) -> Result<(), SecurityError> {
        self.values.insert(id, value);
        Ok(())
    }
}

/// The replay rule: `received` is acceptable only when strictly above `last`.
///
/// # Errors
/// [`SecurityError::Replay`] otherwise.
pub fn check_incoming(received: u32, last: Option<u32>) -> Result<(), SecurityError> {
    match last {
        Some(last) if received <= last => Err(SecurityError::Replay { received, last }),
        _ => Ok(()),
    }
}

/// An in-memory replay window for one key and direction (used for the dedicated key,
/// and usable by callers that track a counter themselves): accepts exactly the strictly
/// increasing values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    last: Option<u32>,
}

impl ReplayWindow {
    /// A window that has accepted nothing yet.
    pub fn new() -> Self {
        ReplayWindow::default()
    }

    /// The last value accepted.
    pub fn last(&self) -> Option<u32> {
        self.last
    }

    /// Checks without accepting.
    ///
    /// # Errors
    /// [`SecurityError::Replay`].
    pub fn check(&self, received: u32) -> Result<(), SecurityError> {
        check_incoming(received, self.last)
    }

    /// Checks and accepts.
    ///
    /// # Errors
    /// [`SecurityError::Replay`]; the window is unchanged then.
    pub fn accept(&mut self, received: u32) -> Result<(), SecurityError> {
        self.check(received)?;
        self.last = Some(received);
        Ok(())
    }
}

/// The outgoing counter of one key: the next value and the end of the block reserved
/// in the store. Values `< u32::MAX` are usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutgoingCounter {
    pub(crate) next: u32,
    pub(crate) reserved_until: u32,
}

impl OutgoingCounter {
    /// Loads the counter: resumes at the stored value (or `initial`) with nothing
    /// reserved yet.
    pub(crate) fn load(store: &SharedCounterStore, key: KeyId, initial: u32) -> Result<Self, SecurityError> {
        let id = CounterId::new(key, CounterDirection::Outgoing);
        let next = lock(store).load(id)?.unwrap_or(initial);
        Ok(OutgoingCounter { next, reserved_until: next })
    }

    /// Takes the next value, reserving a new block first when the current one is used
    /// up. Reservation is atomic under the store lock and never lowers the stored value,
    /// so two contexts sharing a store never hand out the same value.
    pub(crate) fn take(&mut self, store: &SharedCounterStore, key: KeyId, block: u32) -> Result<u32, SecurityError> {
        if self.next == u32::MAX {
            return Err(SecurityError::CounterExhausted(key));
        }
        if self.next >= self.reserved_until {
            let id = CounterId::new(key, CounterDirection::Outgoing);
            let mut s = lock(store);
            let stored = s.load(id)?.unwrap_or(0);
            // Another context may have reserved past us meanwhile: continue above it.
            let start = self.next.max(stored);
            if start == u32::MAX {
                return Err(SecurityError::CounterExhausted(key));
            }
            let until = start.saturating_add(block.max(1));
            s.save(id, until)?;
            self.next = start;
            self.reserved_until = until;
        }
        let v = self.next;
        self.next += 1;
        Ok(v)
    }

    /// Gives back the unused rest of the reserved block, if the stored value is still
    /// this context's reservation (no other context reserved after it).
    pub(crate) fn release(&self, store: &SharedCounterStore, key: KeyId) {
        if self.next >= self.reserved_until {
            return;
        }
        let id = CounterId::new(key, CounterDirection::Outgoing);
        let mut s = lock(store);
        if s.load(id) == Ok(Some(self.reserved_until)) {
            let _ = s.save(id, self.next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_window_accepts_strictly_increasing_only() {
        let mut w = ReplayWindow::new();
        assert_eq!(w.accept(0), Ok(()));
        assert_eq!(w.accept(0), Err(SecurityError::Replay { received: 0, last: 0 }));
        assert_eq!(w.accept(5), Ok(()));
        assert_eq!(w.accept(3), Err(SecurityError::Replay { received: 3, last: 5 }));
        assert_eq!(w.last(), Some(5));
    }

    #[test]
    fn outgoing_counters_reserve_blocks_and_resume_above_them() {
        let store = shared_store(MemoryCounterStore::new());
        let k = KeyId::GlobalUnicastEncryption;
        let id = CounterId::new(k, CounterDirection::Outgoing);
        let mut c = OutgoingCounter::load(&store, k, 1).unwrap();
        assert_eq!(c.take(&store, k, 10).unwrap(), 1);
        assert_eq!(lock(&store).load(id).unwrap(), Some(11));
        for want in 2..=10 {
            assert_eq!(c.take(&store, k, 10).unwrap(), want);
        }
        assert_eq!(c.take(&store, k, 10).unwrap(), 11);
        assert_eq!(lock(&store).load(id).unwrap(), Some(21));
        // A "crash": a new counter resumes at the reservation, above everything used.
        let mut after_crash = OutgoingCounter::load(&store, k, 1).unwrap();
        assert_eq!(after_crash.take(&store, k, 10).unwrap(), 21);
        // Concurrent contexts never overlap, and release does not lower another's block.
        c.release(&store, k);
        assert_eq!(lock(&store).load(id).unwrap(), Some(31));
        after_crash.release(&store, k);
        assert_eq!(lock(&store).load(id).unwrap(), Some(22));
    }

    #[test]
    fn counters_run_out_at_the_top() {
        let store = shared_store(MemoryCounterStore::new());
        let k = KeyId::GlobalBroadcastEncryption;
        let mut c = OutgoingCounter::load(&store, k, u32::MAX - 2).unwrap();
        assert_eq!(c.take(&store, k, 1000).unwrap(), u32::MAX - 2);
        assert_eq!(c.take(&store, k, 1000).unwrap(), u32::MAX - 1);
        assert_eq!(c.take(&store, k, 1000), Err(SecurityError::CounterExhausted(k)));
    }
}
