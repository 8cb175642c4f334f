//! New alarms from a latched Alarm register 1 when a push carries no Alarm descriptor 1.
//!
//! The register latches every alarm until the head-end resets it (IDIS), so the same bits
//! come again in later pushes. [`AlarmTracker`] remembers, per meter, the register value of
//! its previous push and reports only bits that went from 0 to 1. Power down and power up
//! latched together cannot be ordered: power down is then not reported (its time is
//! unknown; the outage engine counts the meter from its neighbours' last gasps).
//!
//! Limits (why meters should push the descriptor): the memory is per process, so the first
//! push after a head-end start reports every latched bit; and without a reset an alarm that
//! repeats (a second sag) stays latched and is not seen again.

use std::collections::HashMap;

use model::MeterId;

use crate::push_intake::alarm_map::{BIT_POWER_DOWN, BIT_POWER_UP};

/// Per-meter memory of the latest pushed Alarm register 1 value.
#[derive(Debug, Clone, Default)]
pub struct AlarmTracker {
    seen: HashMap<MeterId, u32>,
}

impl AlarmTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        AlarmTracker::default()
    }

    /// The bits of `register` that are new for `meter` since its previous push (see the
    /// module docs), remembering `register`.
    pub fn new_bits(&mut self, meter: &MeterId, register: u32) -> u32 {
        let seen = self.seen.insert(meter.clone(), register).unwrap_or(0);
        let mut new = register & !seen;
        if register & BIT_POWER_UP != 0 && register & BIT_POWER_DOWN != 0 {
            new &= !BIT_POWER_DOWN;
        }
        new
    }

    /// Forgets `meter` (e.g. after the head-end reset its alarm register).
    pub fn forget(&mut self, meter: &MeterId) {
        self.seen.remove(meter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rising_bits_are_new() {
        let mut t = AlarmTracker::new();
        let m = MeterId::from("M1");
        assert_eq!(t.new_bits(&m, 0x40), 0x40);
        assert_eq!(t.new_bits(&m, 0x40), 0, "still latched");
        assert_eq!(t.new_bits(&m, 0x6040), 0x6000);
        assert_eq!(t.new_bits(&m, 0), 0, "reset");
        assert_eq!(t.new_bits(&m, 0x40), 0x40, "raised again after the reset");
        assert_eq!(t.new_bits(&MeterId::from("M2"), 0x40), 0x40, "per meter");
        // Power down and up latched together: only the power up.
        assert_eq!(t.new_bits(&m, 0x40 | BIT_POWER_DOWN | BIT_POWER_UP), BIT_POWER_UP);
        t.forget(&m);
        assert_eq!(t.new_bits(&m, 0x40), 0x40);
    }
}
