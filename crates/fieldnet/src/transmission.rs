//! What happens to one frame on its way between the HES and a meter: the pure model the
//! relay consults for every frame (no I/O; time is simulated, randomness is the
//! session's seeded RNG).
//!
//! A frame's path is two links: the DCU's **backhaul** (HES ↔ DCU) and the DCU's
//! **neighbourhood network** (DCU ↔ meter); a downlink frame crosses them in that order,
//! an uplink frame the other way. On each link it pays, per link frame (fragment): the
//! wait for the medium (another session's frame, the other direction on a half-duplex
//! medium) and for the transmitter's duty cycle, serialization once per hop, latency per
//! hop, and the risk of loss per hop (see [`crate::link`]). A cellular link first wakes
//! the radio (paging, RRC set-up).
//!
//! ## How loss applies (a decision; the issue leaves it open)
//!
//! * **HDLC** (IEC 62056-46) has its own recovery (N(S)/N(R), poll/final, the client's
//!   response timer), so on the neighbourhood network a lost HDLC frame is really
//!   dropped: the relay does not forward it and the HES's and the meter's HDLC links
//!   recover by retransmitting.
//! * **The wrapper** (IEC 62056-47) runs over TCP, which never loses a segment: a loss
//!   becomes a retransmission. The sender retransmits after the retransmission timeout,
//!   starting at 1 s and doubling on each further loss of the same frame (RFC 6298 §2
//!   and §5.5) up to 60 s; after [`TcpRetransmission::max_retransmissions`] the
//!   connection is reset (RFC 1122 §4.2.3.5: give up after R2, at least 100 s). Later
//!   frames wait behind the lost one (in-order delivery, head-of-line blocking).
//! * **The backhaul** always carries TCP (HES ↔ DCU), so its losses are retransmissions
//!   whatever the meter's link layer, and a backhaul cut longer than the give-up time
//!   resets the session.
//! * **Down** (availability schedule, outage, partition, meter offline) is a loss of
//!   every transmission attempt while it lasts, with the consequences above; a dead DCU
//!   resets every session through it at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::framing::Framing;
use crate::link::{LinkModel, Medium};
use crate::scenario::{Conditions, DcuId, Degradation, PathConditions};

/// Which way a frame travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// HES → DCU → meter (requests).
    Downlink,
    /// Meter → DCU → HES (responses, pushes).
    Uplink,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::Downlink => 0,
            Direction::Uplink => 1,
        }
    }
}

/// TCP's retransmission behaviour, for frames carried by TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpRetransmission {
    /// First retransmission timeout (RFC 6298 §2.1 and §2.4: 1 s).
    pub rto_initial: Duration,
    /// Largest timeout after doubling (RFC 6298 §2.5 allows a cap of at least 60 s).
    pub rto_max: Duration,
    /// Retransmissions of one frame; when the last one is lost too, the connection is
    /// reset one timeout after it.
    pub max_retransmissions: u32,
}

impl Default for TcpRetransmission {
    /// 1 s doubling to 60 s, 7 retransmissions (the last one 1+2+4+8+16+32+60 = 123 s
    /// after the first attempt, ≥ the 100 s of RFC 1122 §4.2.3.5), reset one timeout later
    /// (183 s).
    fn default() -> Self {
        TcpRetransmission {
            rto_initial: Duration::from_secs(1),
            rto_max: Duration::from_secs(60),
            max_retransmissions: 7,
        }
    }
}

impl TcpRetransmission {
    /// The timeout before retransmission number `k + 1` (k = 0 for the first).
    pub fn rto(&self, k: u32) -> Duration {
        self.rto_initial.saturating_mul(1u32 << k.min(20)).min(self.rto_max)
    }
}

/// Why a frame was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DropReason {
    /// Random loss on a hop.
    Loss,
    /// The link was down (schedule, outage, meter offline).
    LinkDown,
}

/// Why a session was reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResetReason {
    /// TCP gave up retransmitting a frame.
    RetransmissionsExhausted,
    /// The DCU died.
    DcuOutage,
}

/// What happens to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FrameFate {
    /// Delivered at `at` (simulated time).
    Delivered {
        /// When the last byte arrives.
        at: Duration,
        /// Retransmissions (TCP) it needed on the way.
        retransmissions: u32,
        /// Radio wake-up it paid (paging and RRC set-up).
        wake_up: Duration,
    },
    /// Lost for good (an HDLC frame on the neighbourhood network).
    Dropped {
        /// Why.
        reason: DropReason,
    },
    /// The session is reset at `at`.
    Reset {
        /// When.
        at: Duration,
        /// Why.
        reason: ResetReason,
        /// Retransmissions (TCP) tried before giving up.
        retransmissions: u32,
    },
}

/// Busy time of a medium: one channel (half duplex) or one per direction.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MediumState {
    busy_until: [Duration; 2],
}

/// The link state a DCU keeps for all its meters.
#[derive(Debug, Default)]
pub(crate) struct DcuLinkState {
    pub(crate) backhaul: MediumState,
    /// The shared neighbourhood medium (PLC segment, mesh or LoRa channel).
    pub(crate) neighbourhood: MediumState,
    /// When the DCU's (gateway's) transmitter may send again (duty cycle).
    pub(crate) gateway_duty_ready: Duration,
}

/// The link state of one meter.
#[derive(Debug, Default)]
pub(crate) struct MeterLinkState {
    /// A dedicated neighbourhood medium (cellular).
    pub(crate) medium: MediumState,
    /// When the meter's transmitter may send again (duty cycle).
    pub(crate) device_duty_ready: Duration,
    /// Until when the radio stays connected (RRC), if it is.
    pub(crate) radio_connected_until: Option<Duration>,
}

/// Everything needed to decide the fate of a frame between the HES and one meter.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    pub(crate) dcu: DcuId,
    pub(crate) serial: String,
    pub(crate) backhaul: Arc<LinkModel>,
    pub(crate) neighbourhood: Arc<LinkModel>,
    pub(crate) framing: Framing,
    pub(crate) tcp: TcpRetransmission,
    pub(crate) conditions: Arc<Conditions>,
    pub(crate) dcu_state: Arc<Mutex<DcuLinkState>>,
    pub(crate) meter_state: Arc<Mutex<MeterLinkState>>,
}

/// How a hop treats a lost transmission.
#[derive(Debug, Clone, Copy)]
enum LossHandling {
    Drop,
    Retransmit(TcpRetransmission),
}

enum HopResult {
    Delivered { at: Duration, retransmissions: u32, wake_up: Duration },
    Lost(DropReason),
    GaveUp { at: Duration, retransmissions: u32 },
}

/// The transmitter-side state a hop works on.
struct HopState<'a> {
    medium: &'a mut MediumState,
    duty_ready: &'a mut Duration,
    radio: Option<&'a mut Option<Duration>>,
}

impl Path {
    /// The conditions of this path at `t`.
    pub(crate) fn conditions_at(&self, t: Duration) -> PathConditions {
        self.conditions.at(&self.dcu, Some(&self.serial), t)
    }

    /// Decides the fate of a frame of `len` bytes entering the path at `t_in`.
    pub(crate) fn transmit<R: Rng + ?Sized>(
        &self,
        direction: Direction,
        len: usize,
        t_in: Duration,
        rng: &mut R,
    ) -> FrameFate {
        let now = self.conditions_at(t_in);
        if now.dcu_down {
            return FrameFate::Reset { at: t_in, reason: ResetReason::DcuOutage, retransmissions: 0 };
        }
        let neighbourhood_handling = match self.framing {
            Framing::Hdlc => LossHandling::Drop,
            Framing::Wrapper => LossHandling::Retransmit(self.tcp),
        };
        let backhaul_handling = LossHandling::Retransmit(self.tcp);
        let degradation = now.degradation;
        let mut dcu = self.dcu_state.lock().unwrap_or_else(|p| p.into_inner());
        let mut meter = self.meter_state.lock().unwrap_or_else(|p| p.into_inner());
        let DcuLinkState { backhaul, neighbourhood, gateway_duty_ready } = &mut *dcu;
        let MeterLinkState { medium: meter_medium, device_duty_ready, radio_connected_until } = &mut *meter;
        let shared = self.neighbourhood.medium == Medium::SharedHalfDuplex;
        let nb_medium = if shared { neighbourhood } else { meter_medium };
        // The DCU transmits downlink on the neighbourhood network, the meter uplink.
        let nb_duty = match direction {
            Direction::Downlink => gateway_duty_ready,
            Direction::Uplink => device_duty_ready,
        };
        let mut backhaul_duty = Duration::ZERO;
        let backhaul_up = |t: Duration| {
            let c = self.conditions_at(t);
            self.backhaul.availability.is_up(t) && !c.dcu_unreachable()
        };
        let neighbourhood_up = |t: Duration| {
            let c = self.conditions_at(t);
            self.neighbourhood.availability.is_up(t) && !c.dcu_down && !c.meter_down
        };
        let mut retransmissions = 0;
        let mut wake_up = Duration::ZERO;
        let mut t = t_in;
        let hops: [(&LinkModel, LossHandling, Option<Degradation>, bool); 2] = match direction {
            Direction::Downlink => [
                (&self.backhaul, backhaul_handling, None, true),
                (&self.neighbourhood, neighbourhood_handling, degradation, false),
            ],
            Direction::Uplink => [
                (&self.neighbourhood, neighbourhood_handling, degradation, false),
                (&self.backhaul, backhaul_handling, None, true),
            ],
        };
        for (model, handling, degradation, is_backhaul) in hops {
            let state = if is_backhaul {
                HopState { medium: &mut *backhaul, duty_ready: &mut backhaul_duty, radio: None }
            } else {
                HopState {
                    medium: &mut *nb_medium,
                    duty_ready: &mut *nb_duty,
                    radio: Some(&mut *radio_connected_until),
                }
            };
            let up: &dyn Fn(Duration) -> bool = if is_backhaul { &backhaul_up } else { &neighbourhood_up };
            match cross_hop(model, degradation, direction, len, t, handling, state, up, rng) {
                HopResult::Delivered { at, retransmissions: r, wake_up: w } => {
                    t = at;
                    retransmissions += r;
                    wake_up += w;
                }
                HopResult::Lost(reason) => return FrameFate::Dropped { reason },
                HopResult::GaveUp { at, retransmissions: r } => {
                    return FrameFate::Reset {
                        at,
                        reason: ResetReason::RetransmissionsExhausted,
                        retransmissions: retransmissions + r,
                    };
                }
            }
        }
        FrameFate::Delivered { at: t, retransmissions, wake_up }
    }
}

/// One hop (one link model, all its repeater hops) for one DLMS frame.
#[allow(clippy::too_many_arguments)]
fn cross_hop<R: Rng + ?Sized>(
    model: &LinkModel,
    degradation: Option<Degradation>,
    direction: Direction,
    len: usize,
    t_in: Duration,
    handling: LossHandling,
    state: HopState<'_>,
    up: &dyn Fn(Duration) -> bool,
    rng: &mut R,
) -> HopResult {
    let HopState { medium, duty_ready, mut radio } = state;
    let degradation = degradation.unwrap_or_default();
    let mut t = t_in;
    let mut wake_up = Duration::ZERO;
    if let (Some(wake), Some(connected_until)) = (&model.radio, radio.as_deref_mut()) {
        let connected = connected_until.is_some_and(|until| t < until);
        if !connected {
            if direction == Direction::Downlink {
                if let Some(cycle) = wake.paging_cycle {
                    wake_up += Duration::from_secs_f64(cycle.as_secs_f64() * rng.random::<f64>());
                }
            }
            wake_up += wake.connection_setup.scaled(degradation.latency_factor).sample(rng);
            t += wake_up;
        }
    }
    let mut attempt: u32 = 0;
    loop {
        let send_at = t;
        let (arrive, lost) = send_once(model, degradation, direction, len, send_at, medium, duty_ready, up, rng);
        if let (Some(wake), Some(connected_until)) = (&model.radio, radio.as_deref_mut()) {
            let until = arrive + wake.inactivity_release;
            *connected_until = Some(connected_until.map_or(until, |u| u.max(until)));
        }
        match (lost, handling) {
            (None, _) => return HopResult::Delivered { at: arrive, retransmissions: attempt, wake_up },
            (Some(reason), LossHandling::Drop) => return HopResult::Lost(reason),
            (Some(_), LossHandling::Retransmit(tcp)) => {
                if attempt >= tcp.max_retransmissions {
                    return HopResult::GaveUp { at: send_at + tcp.rto(attempt), retransmissions: attempt };
                }
                t = send_at + tcp.rto(attempt);
                attempt += 1;
            }
        }
    }
}

/// One transmission attempt of every fragment; returns when the last one arrives and
/// whether (and why) the frame was lost.
#[allow(clippy::too_many_arguments)]
fn send_once<R: Rng + ?Sized>(
    model: &LinkModel,
    degradation: Degradation,
    direction: Direction,
    len: usize,
    send_at: Duration,
    medium: &mut MediumState,
    duty_ready: &mut Duration,
    up: &dyn Fn(Duration) -> bool,
    rng: &mut R,
) -> (Duration, Option<DropReason>) {
    let channel = match model.medium {
        Medium::SharedHalfDuplex => 0,
        Medium::DedicatedFullDuplex => direction.index(),
    };
    let airtime = model.airtime.with_rate_factor(degradation.rate_factor);
    let latency = model.hop_latency.scaled(degradation.latency_factor);
    let loss = 1.0 - (1.0 - model.hop_loss) * (1.0 - degradation.extra_loss.clamp(0.0, 1.0));
    let hops = u32::from(model.hops.max(1));
    let mut t = send_at;
    let mut arrive = send_at;
    let mut lost = None;
    for fragment in model.fragments(len) {
        let air = airtime.of(fragment);
        let start = t.max(medium.busy_until[channel]).max(*duty_ready);
        let occupied = air.saturating_mul(hops);
        medium.busy_until[channel] = start + occupied;
        if let Some(dc) = model.duty_cycle {
            *duty_ready = start + Duration::from_secs_f64(air.as_secs_f64() / dc);
        }
        let mut delay = Duration::ZERO;
        for _ in 0..hops {
            delay += latency.sample(rng);
            if rng.random::<f64>() < loss && lost.is_none() {
                lost = Some(DropReason::Loss);
            }
        }
        if !up(start) {
            lost = Some(DropReason::LinkDown);
        }
        arrive = arrive.max(start + occupied + delay);
        t = start + air;
    }
    (arrive, lost)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::latency::Latency;
    use crate::link::Airtime;

    fn path(neighbourhood: LinkModel, framing: Framing) -> Path {
        Path {
            dcu: DcuId::from("D"),
            serial: "M".into(),
            backhaul: Arc::new(LinkModel::ideal()),
            neighbourhood: Arc::new(neighbourhood),
            framing,
            tcp: TcpRetransmission::default(),
            conditions: Arc::new(Conditions::default()),
            dcu_state: Arc::default(),
            meter_state: Arc::default(),
        }
    }

    fn plc_like(loss: f64) -> LinkModel {
        let mut l = LinkModel::ideal();
        l.airtime = Airtime::Bitrate { bits_per_second: 8_000 };
        l.hops = 2;
        l.hop_latency = Latency::fixed_ms(50);
        l.hop_loss = loss;
        l.medium = Medium::SharedHalfDuplex;
        l
    }

    #[test]
    fn serialization_per_hop_plus_latency_per_hop() {
        let p = path(plc_like(0.0), Framing::Hdlc);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // 100 bytes at 8 kbit/s = 100 ms per hop, twice, plus 2 × 50 ms.
        let fate = p.transmit(Direction::Downlink, 100, Duration::from_secs(1), &mut rng);
        assert_eq!(
            fate,
            FrameFate::Delivered { at: Duration::from_millis(1300), retransmissions: 0, wake_up: Duration::ZERO }
        );
        // The shared medium is busy until 1.2 s: a frame the other way at 1.0 s waits.
        let fate = p.transmit(Direction::Uplink, 100, Duration::from_secs(1), &mut rng);
        assert_eq!(
            fate,
            FrameFate::Delivered { at: Duration::from_millis(1500), retransmissions: 0, wake_up: Duration::ZERO }
        );
    }

    #[test]
    fn wrapper_losses_become_retransmissions_and_hdlc_losses_drops() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let hdlc = path(plc_like(0.2), Framing::Hdlc);
        let wrapper = path(plc_like(0.2), Framing::Wrapper);
        let (mut dropped, mut retransmitted) = (0, 0);
        for i in 0..200u64 {
            let t = Duration::from_secs(1000 * i);
            match hdlc.transmit(Direction::Downlink, 10, t, &mut rng) {
                FrameFate::Dropped { reason: DropReason::Loss } => dropped += 1,
                FrameFate::Delivered { retransmissions: 0, .. } => {}
                other => panic!("{other:?}"),
            }
            match wrapper.transmit(Direction::Downlink, 10, t, &mut rng) {
                FrameFate::Delivered { retransmissions, at, .. } => {
                    retransmitted += u64::from(retransmissions > 0);
                    // Each retransmission waits its RTO: 1 s, then 2 s, ...
                    let rto: u64 = (0..retransmissions).map(|k| 1u64 << k).sum();
                    assert!(at >= t + Duration::from_secs(rto), "{at:?} {retransmissions}");
                }
                other => panic!("{other:?}"),
            }
        }
        // Two hops at 20 % each: a frame is lost with 1 − 0.8² = 0.36 (72 of 200 expected).
        assert!((50..=95).contains(&dropped), "{dropped} of 200 dropped");
        assert!((50..=95).contains(&retransmitted), "{retransmitted} of 200 retransmitted");
    }

    #[test]
    fn a_down_link_resets_tcp_after_its_retransmissions_and_drops_hdlc() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let l = plc_like(0.0).with_availability(crate::availability::Availability::DownDuring(vec![(
            Duration::ZERO,
            Duration::from_secs(10_000),
        )]));
        let fate = path(l.clone(), Framing::Wrapper).transmit(Direction::Downlink, 10, Duration::ZERO, &mut rng);
        // Attempts at 0, 1, 3, 7, 15, 31, 63 and 123 s; reset one 60 s timeout later.
        assert_eq!(
            fate,
            FrameFate::Reset {
                at: Duration::from_secs(183),
                reason: ResetReason::RetransmissionsExhausted,
                retransmissions: 7
            }
        );
        let fate = path(l, Framing::Hdlc).transmit(Direction::Downlink, 10, Duration::ZERO, &mut rng);
        assert_eq!(fate, FrameFate::Dropped { reason: DropReason::LinkDown });
    }

    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) < Duration::from_micros(1)
    }

    #[test]
    fn the_lorawan_duty_cycle_makes_the_gateway_wait_99_times_its_time_on_air() {
        let mut l = LinkModel::lorawan(crate::link::LoRaModulation::eu868(5));
        l.hop_loss = 0.0;
        let p = path(l, Framing::Wrapper);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        // 100 bytes + 13 of LoRaWAN MAC = 113 at SF7/125 kHz: 12.25 + 8 + ⌈(904 − 28 + 28 + 16)/28⌉·5
        // = 12.25 + 173 symbols of 1.024 ms = 189.696 ms on air; + 50 ms latency.
        let FrameFate::Delivered { at, .. } = p.transmit(Direction::Downlink, 100, Duration::ZERO, &mut rng) else {
            panic!()
        };
        assert!(close(at, Duration::from_micros(239_696)), "{at:?}");
        // The meter's own transmitter is free: its uplink at 0.5 s goes at once.
        let FrameFate::Delivered { at, .. } = p.transmit(Direction::Uplink, 100, Duration::from_millis(500), &mut rng)
        else {
            panic!()
        };
        assert!(close(at, Duration::from_micros(739_696)), "{at:?}");
        // The gateway may send again only 189.696 ms / 1 % = 18.9696 s after it started.
        let FrameFate::Delivered { at, .. } = p.transmit(Direction::Downlink, 100, Duration::from_secs(1), &mut rng)
        else {
            panic!()
        };
        assert!(close(at, Duration::from_micros(18_969_600 + 239_696)), "{at:?}");
    }

    #[test]
    fn a_cellular_session_pages_and_sets_up_the_radio_once() {
        let mut l = LinkModel::nb_iot();
        l.hop_loss = 0.0;
        l.hop_latency = Latency::fixed_ms(300);
        l.radio = Some(crate::link::RadioWakeUp {
            connection_setup: Latency::fixed_ms(1500),
            paging_cycle: Some(Duration::from_millis(20_480)),
            inactivity_release: Duration::from_secs(20),
        });
        let p = path(l, Framing::Wrapper);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // (100 + 40) bytes at 25 kbit/s = 44.8 ms, + 300 ms.
        let frame = Duration::from_micros(344_800);
        let FrameFate::Delivered { at, wake_up, .. } = p.transmit(Direction::Downlink, 100, Duration::ZERO, &mut rng)
        else {
            panic!()
        };
        assert!(wake_up >= Duration::from_millis(1500) && wake_up < Duration::from_millis(21_980), "{wake_up:?}");
        assert_eq!(at, wake_up + frame);
        let t = at + Duration::from_secs(1);
        let FrameFate::Delivered { at, wake_up, .. } = p.transmit(Direction::Uplink, 100, t, &mut rng) else {
            panic!()
        };
        assert_eq!((at, wake_up), (t + frame, Duration::ZERO), "the radio is still connected");
        // After the RRC inactivity release, a meter-originated frame sets up again, unpaged.
        let t = at + Duration::from_secs(30);
        let FrameFate::Delivered { at, wake_up, .. } = p.transmit(Direction::Uplink, 100, t, &mut rng) else {
            panic!()
        };
        assert_eq!((at, wake_up), (t + Duration::from_millis(1500) + frame, Duration::from_millis(1500)));
    }

    #[test]
    fn a_short_outage_is_bridged_by_tcp() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        // Down for the first 2.5 s: attempts at 0, 1, 3 s: the third gets through.
        let l = plc_like(0.0).with_availability(crate::availability::Availability::DownDuring(vec![(
            Duration::ZERO,
            Duration::from_millis(2500),
        )]));
        let fate = path(l, Framing::Wrapper).transmit(Direction::Downlink, 100, Duration::ZERO, &mut rng);
        assert_eq!(
            fate,
            FrameFate::Delivered { at: Duration::from_millis(3300), retransmissions: 2, wake_up: Duration::ZERO }
        );
    }
}
