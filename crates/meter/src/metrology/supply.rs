//! Supply interruptions: the periods during which no energy reached the load, because the
//! disconnector relay was open or the grid supply had failed (a power outage), so that the
//! registers stop while either lasts.
//!
//! Each period keeps the gross (relay-ignoring) registers at its start and end, so the real
//! registers at any instant are gross − what the interrupted periods withheld, in O(periods).
//! The periods are the union of the two causes (a relay opened during an outage does not
//! withhold the same energy twice); each cause also keeps its own spans, for the profile
//! status bits (relay open: bit 6, power down: bit 7).

use crate::metrology::registers::EnergyRegisters;

/// Why the load had no supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The disconnector relay was open.
    Relay,
    /// The grid supply had failed (the meter itself was without power).
    GridOutage,
}

/// One span of one cause: `[start_ms, end_ms)`, `end_ms == i64::MAX` while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start_ms: i64,
    end_ms: i64,
}

fn overlaps(spans: &[Span], a_ms: i64, b_ms: i64) -> bool {
    spans.iter().any(|s| s.start_ms < b_ms && s.end_ms > a_ms)
}

/// One period without supply (relay open or grid outage): `[start_ms, end_ms)`, meter time
/// (UTC ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpenPeriod {
    pub(crate) start_ms: i64,
    pub(crate) start_gross: EnergyRegisters,
    /// `None` while still open.
    pub(crate) end: Option<(i64, EnergyRegisters)>,
}

impl OpenPeriod {
    fn end_ms(&self) -> i64 {
        self.end.map_or(i64::MAX, |(e, _)| e)
    }
}

/// The history of periods without supply, in time order, non-overlapping, with the spans of
/// each cause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SupplyHistory {
    periods: Vec<OpenPeriod>,
    relay: Vec<Span>,
    outages: Vec<Span>,
    last_event_ms: Option<i64>,
}

impl SupplyHistory {
    /// The time of the latest relay operation or supply change, if any.
    pub(crate) fn last_event_ms(&self) -> Option<i64> {
        self.last_event_ms
    }

    /// Whether the relay is open now.
    pub(crate) fn is_open(&self) -> bool {
        self.relay.last().is_some_and(|s| s.end_ms == i64::MAX)
    }

    /// Whether the grid supply is failed now (a power outage is going on).
    pub(crate) fn is_outage(&self) -> bool {
        self.outages.last().is_some_and(|s| s.end_ms == i64::MAX)
    }

    /// Whether supply was available at instant `t_ms` (relay closed and grid energised).
    pub(crate) fn connected_at(&self, t_ms: i64) -> bool {
        !self.periods.iter().any(|p| p.start_ms <= t_ms && t_ms < p.end_ms())
    }

    /// Opens the relay at `t_ms` (with the gross registers at that instant). No-op when open.
    pub(crate) fn open(&mut self, t_ms: i64, gross: EnergyRegisters) {
        self.interrupt(Cause::Relay, t_ms, gross);
    }

    /// Closes the relay at `t_ms`. No-op when closed.
    pub(crate) fn close(&mut self, t_ms: i64, gross: EnergyRegisters) {
        self.resume(Cause::Relay, t_ms, gross);
    }

    /// `cause` starts interrupting supply at `t_ms` (gross registers `gross` at that
    /// instant). No-op when that cause is already active.
    pub(crate) fn interrupt(&mut self, cause: Cause, t_ms: i64, gross: EnergyRegisters) {
        let union_open = self.is_open() || self.is_outage();
        let (active, spans) = match cause {
            Cause::Relay => (self.is_open(), &mut self.relay),
            Cause::GridOutage => (self.is_outage(), &mut self.outages),
        };
        if active {
            return;
        }
        spans.push(Span { start_ms: t_ms, end_ms: i64::MAX });
        if !union_open {
            self.periods.push(OpenPeriod { start_ms: t_ms, start_gross: gross, end: None });
        }
        self.last_event_ms = Some(self.last_event_ms.map_or(t_ms, |l| l.max(t_ms)));
    }

    /// `cause` stops interrupting supply at `t_ms`; supply is back when no other cause is
    /// active. No-op when that cause is not active.
    pub(crate) fn resume(&mut self, cause: Cause, t_ms: i64, gross: EnergyRegisters) {
        let spans = match cause {
            Cause::Relay => &mut self.relay,
            Cause::GridOutage => &mut self.outages,
        };
        let Some(span) = spans.last_mut().filter(|s| s.end_ms == i64::MAX) else { return };
        span.end_ms = t_ms.max(span.start_ms);
        if !self.is_open() && !self.is_outage() {
            if let Some(p) = self.periods.last_mut().filter(|p| p.end.is_none()) {
                p.end = Some((t_ms.max(p.start_ms), gross));
            }
        }
        self.last_event_ms = Some(self.last_event_ms.map_or(t_ms, |l| l.max(t_ms)));
    }

    /// Energy the interrupted periods withheld up to instant `t_ms`, given the gross
    /// registers `gross_t` at `t_ms`.
    pub(crate) fn withheld(&self, t_ms: i64, gross_t: EnergyRegisters) -> EnergyRegisters {
        let mut sum = EnergyRegisters::default();
        for p in self.periods.iter().take_while(|p| p.start_ms < t_ms) {
            let until = match p.end {
                Some((e, g)) if e <= t_ms => g,
                _ => gross_t,
            };
            sum += until - p.start_gross;
        }
        sum
    }

    /// Energy withheld within the interval `[a_ms, a_ms + 900 s)` (by the relay or an
    /// outage), and whether the relay was open at any moment of it; `part(s, e)` gives the
    /// registers accumulated in the interval between offsets `s` and `e` ms. Consistent with
    /// [`SupplyHistory::withheld`]: both pro-rate the interval's energy linearly.
    pub(crate) fn withheld_in_interval(
        &self,
        a_ms: i64,
        part: impl Fn(i64, i64) -> EnergyRegisters,
    ) -> (EnergyRegisters, bool) {
        let b_ms = a_ms + crate::metrology::load_model::INTERVAL_MS;
        let mut sum = EnergyRegisters::default();
        for p in &self.periods {
            if p.start_ms < b_ms && p.end_ms() > a_ms {
                let s = p.start_ms.clamp(a_ms, b_ms) - a_ms;
                let en = p.end_ms().clamp(a_ms, b_ms) - a_ms;
                sum += part(s, en);
            }
        }
        (sum, overlaps(&self.relay, a_ms, b_ms))
    }

    /// Whether the grid supply had failed at instant `t_ms`.
    pub(crate) fn outage_at(&self, t_ms: i64) -> bool {
        self.outages.iter().any(|s| s.start_ms <= t_ms && t_ms < s.end_ms)
    }

    /// Whether a grid outage (power down) touched the interval `[a_ms, a_ms + 900 s)`.
    pub(crate) fn power_down_in_interval(&self, a_ms: i64) -> bool {
        overlaps(&self.outages, a_ms, a_ms + crate::metrology::load_model::INTERVAL_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(wh: u64) -> EnergyRegisters {
        EnergyRegisters { active_import_wh: wh, active_import_t1_wh: wh, ..EnergyRegisters::default() }
    }

    #[test]
    fn overlapping_causes_withhold_their_union_once() {
        let mut h = SupplyHistory::default();
        // Outage 100..400; the relay opens at 200 (during it) and closes at 600.
        h.interrupt(Cause::GridOutage, 100, g(10));
        h.open(200, g(20));
        h.resume(Cause::GridOutage, 400, g(40));
        assert!(!h.connected_at(500), "the relay still holds supply off");
        h.close(600, g(60));
        assert!(h.connected_at(600) && h.connected_at(99) && !h.connected_at(100));
        // One union period 100..600: 60 - 10 withheld at any later time, 30 - 10 at 300.
        assert_eq!(h.withheld(1_000, g(100)).active_import_wh, 50);
        assert_eq!(h.withheld(300, g(30)).active_import_wh, 20);
        assert_eq!(h.last_event_ms(), Some(600));
        // Repeats are no-ops.
        h.resume(Cause::GridOutage, 700, g(70));
        h.close(700, g(70));
        assert_eq!(h.withheld(1_000, g(100)).active_import_wh, 50);
    }

    #[test]
    fn status_flags_follow_each_cause() {
        let mut h = SupplyHistory::default();
        h.interrupt(Cause::GridOutage, 1_000_000, g(1));
        h.resume(Cause::GridOutage, 1_500_000, g(1));
        assert!(h.power_down_in_interval(900_000));
        assert!(h.power_down_in_interval(1_350_000));
        assert!(!h.power_down_in_interval(1_500_000));
        assert!(!h.power_down_in_interval(0));
        let (_, relay) = h.withheld_in_interval(900_000, |_, _| EnergyRegisters::default());
        assert!(!relay, "an outage is not a relay operation");
    }
}
