//! The relay: one DCU session between the HES's stream and the meter's stream, applying
//! the path's model to every frame of the real DLMS traffic.
//!
//! Per direction, a reader cuts the incoming bytes into frames ([`crate::framing`]),
//! asks the path what happens to each ([`crate::transmission`]) and queues the survivors
//! with their delivery time; a writer waits (tokio time = simulated × time scale) and
//! writes them in order. Delivery times never go backwards within a direction (a link
//! delivers in order). The session ends when both directions have closed (each EOF is
//! passed on after the frames before it), or at once when the model resets it (TCP gave
//! up, the DCU died) or a write fails: both streams are then dropped, which closes them.

use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::clock::FieldClock;
use crate::framing::FrameSplitter;
use crate::stats::{Counters, Event, FrameRecord, Trace};
use crate::transmission::{Direction, FrameFate, Path};

/// Everything a session needs.
#[derive(Clone)]
pub(crate) struct SessionContext {
    pub(crate) clock: FieldClock,
    pub(crate) path: Path,
    /// Total, DCU and meter counters.
    pub(crate) counters: [Arc<Counters>; 3],
    pub(crate) trace: Arc<Trace>,
    /// Seed of this session's RNG streams (one per direction).
    pub(crate) seed: u64,
    /// Session number of this meter.
    pub(crate) session: u64,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionEnd {
    /// Both sides closed.
    Closed,
    /// The model reset it, or a write failed.
    Reset,
}

enum Item {
    Frame { at: Duration, bytes: Vec<u8> },
    Eof { at: Duration },
    Reset { at: Duration },
}

enum TaskEnd {
    ReaderDone,
    WriterDone,
    Reset,
}

/// A 64-bit mix (splitmix64 finaliser) to derive independent seeds.
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Relays between `hes` and `meter` until the session ends.
pub(crate) async fn relay<A, B>(hes: A, meter: B, ctx: SessionContext) -> SessionEnd
where
    A: AsyncRead + AsyncWrite + Send + 'static,
    B: AsyncRead + AsyncWrite + Send + 'static,
{
    let (hes_read, hes_write) = tokio::io::split(hes);
    let (meter_read, meter_write) = tokio::io::split(meter);
    let (down_tx, down_rx) = mpsc::unbounded_channel();
    let (up_tx, up_rx) = mpsc::unbounded_channel();
    let ctx = Arc::new(ctx);
    let mut tasks = JoinSet::new();
    tasks.spawn(read_frames(hes_read, Direction::Downlink, ctx.clone(), down_tx));
    tasks.spawn(write_frames(meter_write, down_rx, ctx.clock));
    tasks.spawn(read_frames(meter_read, Direction::Uplink, ctx.clone(), up_tx));
    tasks.spawn(write_frames(hes_write, up_rx, ctx.clock));
    let mut writers_done = 0;
    let mut end = SessionEnd::Closed;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(TaskEnd::ReaderDone) => {}
            Ok(TaskEnd::WriterDone) => {
                writers_done += 1;
                if writers_done == 2 {
                    break;
                }
            }
            Ok(TaskEnd::Reset) | Err(_) => {
                end = SessionEnd::Reset;
                break;
            }
        }
    }
    tasks.shutdown().await;
    if end == SessionEnd::Reset {
        for c in &ctx.counters {
            c.event(Event::SessionReset);
        }
    }
    end
}

async fn read_frames<R: AsyncRead>(
    mut read: ReadHalf<R>,
    direction: Direction,
    ctx: Arc<SessionContext>,
    tx: mpsc::UnboundedSender<Item>,
) -> TaskEnd {
    let salt = match direction {
        Direction::Downlink => 0xD0,
        Direction::Uplink => 0x0B,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(mix(ctx.seed, salt));
    let mut splitter = FrameSplitter::new(ctx.path.framing);
    let mut last_at = Duration::ZERO;
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match read.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(Item::Eof { at: last_at.max(ctx.clock.now()) });
                return TaskEnd::ReaderDone;
            }
            Ok(n) => n,
        };
        splitter.push(buf.get(..n).unwrap_or_default());
        while let Some(frame) = splitter.next_frame() {
            let entered = ctx.clock.now();
            let len = frame.bytes.len();
            let fate = ctx.path.transmit(direction, len, entered, &mut rng);
            for c in &ctx.counters {
                c.frame(len, entered, &fate);
            }
            if ctx.trace.enabled() {
                ctx.trace.push(FrameRecord {
                    serial: ctx.path.serial.clone(),
                    dcu: ctx.path.dcu.clone(),
                    session: ctx.session,
                    direction,
                    kind: frame.kind,
                    len,
                    entered,
                    fate,
                });
            }
            match fate {
                FrameFate::Delivered { at, .. } => {
                    last_at = last_at.max(at);
                    if tx.send(Item::Frame { at: last_at, bytes: frame.bytes }).is_err() {
                        return TaskEnd::ReaderDone;
                    }
                }
                FrameFate::Dropped { reason } => {
                    tracing::trace!(serial = %ctx.path.serial, ?direction, ?reason, len, "frame dropped");
                }
                FrameFate::Reset { at, reason, .. } => {
                    tracing::debug!(serial = %ctx.path.serial, ?direction, ?reason, "session reset by the field");
                    let _ = tx.send(Item::Reset { at: last_at.max(at) });
                    return TaskEnd::ReaderDone;
                }
            }
        }
    }
}

async fn write_frames<W: AsyncWrite>(
    mut write: WriteHalf<W>,
    mut rx: mpsc::UnboundedReceiver<Item>,
    clock: FieldClock,
) -> TaskEnd {
    while let Some(item) = rx.recv().await {
        match item {
            Item::Frame { at, bytes } => {
                clock.sleep_until(at).await;
                if write.write_all(&bytes).await.is_err() {
                    return TaskEnd::Reset;
                }
            }
            Item::Eof { at } => {
                clock.sleep_until(at).await;
                let _ = write.shutdown().await;
                return TaskEnd::WriterDone;
            }
            Item::Reset { at } => {
                clock.sleep_until(at).await;
                return TaskEnd::Reset;
            }
        }
    }
    TaskEnd::WriterDone
}
