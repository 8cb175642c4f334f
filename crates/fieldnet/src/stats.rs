//! Counters of what the field did, per DCU, per meter and in total, and an optional
//! per-frame trace. Delays are simulated time (see [`crate::clock`]).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::framing::FrameKind;
use crate::scenario::DcuId;
use crate::transmission::{Direction, DropReason, FrameFate};

/// Live counters (atomics), turned into [`LinkStats`] snapshots.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    frames_delivered: AtomicU64,
    frames_dropped_loss: AtomicU64,
    frames_dropped_down: AtomicU64,
    retransmissions: AtomicU64,
    bytes_delivered: AtomicU64,
    modelled_delay_ns: AtomicU64,
    wake_ups: AtomicU64,
    sessions_opened: AtomicU64,
    sessions_refused_unreachable: AtomicU64,
    sessions_refused_busy: AtomicU64,
    sessions_meter_unreachable: AtomicU64,
    sessions_reset: AtomicU64,
    pushes_forwarded: AtomicU64,
    pushes_lost: AtomicU64,
}

/// A counter of [`Counters`] to bump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    SessionOpened,
    RefusedUnreachable,
    RefusedBusy,
    MeterUnreachable,
    SessionReset,
    PushForwarded,
    PushLost,
}

impl Counters {
    pub(crate) fn frame(&self, len: usize, entered: Duration, fate: &FrameFate) {
        match fate {
            FrameFate::Delivered { at, retransmissions, wake_up } => {
                self.frames_delivered.fetch_add(1, Ordering::Relaxed);
                self.bytes_delivered.fetch_add(len as u64, Ordering::Relaxed);
                self.retransmissions.fetch_add(u64::from(*retransmissions), Ordering::Relaxed);
                let delay = at.saturating_sub(entered).as_nanos().min(u128::from(u64::MAX)) as u64;
                self.modelled_delay_ns.fetch_add(delay, Ordering::Relaxed);
                if !wake_up.is_zero() {
                    self.wake_ups.fetch_add(1, Ordering::Relaxed);
                }
            }
            FrameFate::Dropped { reason: DropReason::Loss } => {
                self.frames_dropped_loss.fetch_add(1, Ordering::Relaxed);
            }
            FrameFate::Dropped { reason: DropReason::LinkDown } => {
                self.frames_dropped_down.fetch_add(1, Ordering::Relaxed);
            }
            FrameFate::Reset { retransmissions, .. } => {
                self.retransmissions.fetch_add(u64::from(*retransmissions), Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn event(&self, event: Event) {
        let c = match event {
            Event::SessionOpened => &self.sessions_opened,
            Event::RefusedUnreachable => &self.sessions_refused_unreachable,
            Event::RefusedBusy => &self.sessions_refused_busy,
            Event::MeterUnreachable => &self.sessions_meter_unreachable,
            Event::SessionReset => &self.sessions_reset,
            Event::PushForwarded => &self.pushes_forwarded,
            Event::PushLost => &self.pushes_lost,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> LinkStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        LinkStats {
            frames_delivered: g(&self.frames_delivered),
            frames_dropped_loss: g(&self.frames_dropped_loss),
            frames_dropped_down: g(&self.frames_dropped_down),
            retransmissions: g(&self.retransmissions),
            bytes_delivered: g(&self.bytes_delivered),
            modelled_delay: Duration::from_nanos(g(&self.modelled_delay_ns)),
            wake_ups: g(&self.wake_ups),
            sessions_opened: g(&self.sessions_opened),
            sessions_refused_unreachable: g(&self.sessions_refused_unreachable),
            sessions_refused_busy: g(&self.sessions_refused_busy),
            sessions_meter_unreachable: g(&self.sessions_meter_unreachable),
            sessions_reset: g(&self.sessions_reset),
            pushes_forwarded: g(&self.pushes_forwarded),
            pushes_lost: g(&self.pushes_lost),
        }
    }
}

/// What the field did on some links (a snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LinkStats {
    /// DLMS frames delivered (both directions).
    pub frames_delivered: u64,
    /// Frames lost to random loss (HDLC only: wrapper losses are retransmitted).
    pub frames_dropped_loss: u64,
    /// Frames lost because a link was down (HDLC only).
    pub frames_dropped_down: u64,
    /// TCP retransmissions modelled (wrapper frames on the neighbourhood network, every
    /// frame on the backhaul).
    pub retransmissions: u64,
    /// Bytes of the delivered frames.
    pub bytes_delivered: u64,
    /// Sum over delivered frames of (delivery − entry), simulated time.
    pub modelled_delay: Duration,
    /// Frames that had to wake a cellular radio (paging, RRC set-up).
    pub wake_ups: u64,
    /// Sessions relayed.
    pub sessions_opened: u64,
    /// Sessions refused because the DCU was unreachable (outage, partition, backhaul
    /// down).
    pub sessions_refused_unreachable: u64,
    /// Sessions refused because the DCU's session limit stayed full.
    pub sessions_refused_busy: u64,
    /// Sessions the DCU could not connect to the meter's server.
    pub sessions_meter_unreachable: u64,
    /// Sessions reset (TCP gave up, DCU died).
    pub sessions_reset: u64,
    /// Pushes forwarded by the DCU.
    pub pushes_forwarded: u64,
    /// Pushes lost (DCU dead, forwarding failed).
    pub pushes_lost: u64,
}

/// Counters of the whole field and of each DCU.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FieldStats {
    /// All DCUs together.
    pub total: LinkStats,
    /// Per DCU, in the field's DCU order.
    pub dcus: Vec<(DcuId, LinkStats)>,
}

/// One frame the relay handled (when tracing is on, [`crate::FieldSpec::trace_capacity`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRecord {
    /// The meter of the session.
    pub serial: String,
    /// Its DCU.
    pub dcu: DcuId,
    /// Session number of this meter (1 = its first session).
    pub session: u64,
    /// Which way.
    pub direction: Direction,
    /// What the frame was.
    pub kind: FrameKind,
    /// Its length, bytes.
    pub len: usize,
    /// When the relay received it (simulated time).
    pub entered: Duration,
    /// What happened to it.
    pub fate: FrameFate,
}

/// A bounded trace of the newest frames.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    capacity: usize,
    records: Mutex<VecDeque<FrameRecord>>,
}

impl Trace {
    pub(crate) fn new(capacity: usize) -> Self {
        Trace { capacity, records: Mutex::new(VecDeque::new()) }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    pub(crate) fn push(&self, record: FrameRecord) {
        if self.capacity == 0 {
            return;
        }
        let mut r = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if r.len() >= self.capacity {
            r.pop_front();
        }
        r.push_back(record);
    }

    pub(crate) fn snapshot(&self) -> Vec<FrameRecord> {
        self.records.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}
