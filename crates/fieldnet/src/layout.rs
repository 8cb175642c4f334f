//! Composing a field from a list of meters: N DCUs of M meters each, with a mix of link
//! technologies ([`FieldLayout`]), and the builder that starts it ([`FieldBuilder`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::error::FieldError;
use crate::field::{DcuSpec, Field, FieldSpec, MeterAttachment, MeterTarget, default_max_sessions};
use crate::framing::Framing;
use crate::link::{LinkKind, LinkModel};
use crate::push::PushForwarder;
use crate::scenario::{DcuId, Scenario};
use crate::transmission::TcpRetransmission;

/// How meters are spread over DCUs and technologies.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldLayout {
    /// Meters per DCU (≥ 1); the last DCU may have fewer.
    pub meters_per_dcu: usize,
    /// Technologies with integer weights: DCU counts per technology are proportional
    /// to the weights (largest remainder), interleaved in DCU order.
    pub mix: Vec<(LinkKind, u32)>,
    /// Backhaul of every DCU.
    pub backhaul: LinkModel,
    /// Session limit per DCU; `None`: [`default_max_sessions`] of its technology.
    pub max_sessions: Option<usize>,
    /// Overrides the neighbourhood networks' per-hop loss (e.g. 0.05 for a fault test).
    pub hop_loss: Option<f64>,
    /// Queue time of every DCU (simulated).
    pub queue_timeout: Duration,
}

impl FieldLayout {
    /// Every DCU on `kind`, `meters_per_dcu` meters each, fibre backhaul.
    pub fn uniform(kind: LinkKind, meters_per_dcu: usize) -> FieldLayout {
        FieldLayout {
            meters_per_dcu,
            mix: vec![(kind, 1)],
            backhaul: LinkModel::fibre_backhaul(),
            max_sessions: None,
            hop_loss: None,
            queue_timeout: Duration::from_secs(60),
        }
    }

    /// The technology of each of `dcus` DCUs.
    pub fn kinds(&self, dcus: usize) -> Vec<LinkKind> {
        let total: u64 = self.mix.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 || dcus == 0 {
            return vec![LinkKind::Ideal; dcus];
        }
        // Largest remainder: floor shares, then the biggest remainders get one more
        // (a stable sort keeps the mix order among equal remainders).
        let mut shares: Vec<(LinkKind, usize, u64)> = self
            .mix
            .iter()
            .map(|(k, w)| {
                let exact = dcus as u64 * u64::from(*w);
                (*k, (exact / total) as usize, exact % total)
            })
            .collect();
        let assigned: usize = shares.iter().map(|s| s.1).sum();
        let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
        by_remainder.sort_by_key(|i| std::cmp::Reverse(shares.get(*i).map_or(0, |s| s.2)));
        for i in by_remainder.into_iter().take(dcus.saturating_sub(assigned)) {
            if let Some(s) = shares.get_mut(i) {
                s.1 += 1;
            }
        }
        // Interleave: each DCU takes the technology furthest behind its share (the
        // first one on a tie).
        let mut used = vec![0usize; shares.len()];
        let mut out = Vec::with_capacity(dcus);
        for _ in 0..dcus {
            let pick = shares
                .iter()
                .zip(&used)
                .enumerate()
                .filter(|(_, (share, used))| **used < share.1)
                .min_by(|(_, (a, ua)), (_, (b, ub))| (**ua as f64 / a.1 as f64).total_cmp(&(**ub as f64 / b.1 as f64)))
                .map(|(j, (share, _))| (j, share.0));
            match pick {
                Some((j, kind)) => {
                    if let Some(u) = used.get_mut(j) {
                        *u += 1;
                    }
                    out.push(kind);
                }
                None => out.push(LinkKind::Ideal),
            }
        }
        out
    }

    /// The DCUs for `meters`: `DCU-0001`, `DCU-0002`, … with consecutive meters.
    ///
    /// # Errors
    /// [`FieldError::InvalidSpec`] when `meters_per_dcu` is 0.
    pub fn compose(&self, meters: Vec<MeterAttachment>) -> Result<Vec<DcuSpec>, FieldError> {
        if self.meters_per_dcu == 0 {
            return Err(FieldError::InvalidSpec("meters_per_dcu must be at least 1".into()));
        }
        let n = meters.len().div_ceil(self.meters_per_dcu);
        let kinds = self.kinds(n);
        let mut dcus: Vec<DcuSpec> = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                let mut neighbourhood = kind.preset();
                if let Some(p) = self.hop_loss {
                    neighbourhood.hop_loss = p;
                }
                DcuSpec {
                    id: DcuId(format!("DCU-{:04}", i + 1)),
                    backhaul: self.backhaul.clone(),
                    neighbourhood,
                    max_sessions: self.max_sessions.unwrap_or_else(|| default_max_sessions(*kind)),
                    queue_timeout: self.queue_timeout,
                    meters: Vec::new(),
                }
            })
            .collect();
        for (i, m) in meters.into_iter().enumerate() {
            if let Some(d) = dcus.get_mut(i / self.meters_per_dcu) {
                d.meters.push(m);
            }
        }
        Ok(dcus)
    }
}

/// Builds and starts a field (see the crate docs for an example).
#[derive(Debug)]
pub struct FieldBuilder {
    spec: FieldSpec,
    layout: FieldLayout,
    dcus: Option<usize>,
    meters: Vec<MeterAttachment>,
}

impl FieldBuilder {
    /// A field with seed `seed`, G3-PLC DCUs of 50 meters, real time.
    pub fn new(seed: u64) -> Self {
        FieldBuilder {
            spec: FieldSpec::new(seed),
            layout: FieldLayout::uniform(LinkKind::G3Plc, 50),
            dcus: None,
            meters: Vec::new(),
        }
    }

    /// Real seconds per simulated second.
    pub fn time_scale(mut self, time_scale: f64) -> Self {
        self.spec.time_scale = time_scale;
        self
    }

    /// Address the DCU ports are bound on.
    pub fn bind_ip(mut self, ip: IpAddr) -> Self {
        self.spec.bind_ip = ip;
        self
    }

    /// Bind HES-facing TCP ports (default) or serve in-process sessions only.
    pub fn listen(mut self, listen: bool) -> Self {
        self.spec.listen = listen;
        self
    }

    /// Keep the newest `capacity` frames in the trace.
    pub fn trace(mut self, capacity: usize) -> Self {
        self.spec.trace_capacity = capacity;
        self
    }

    /// TCP retransmission behaviour.
    pub fn tcp(mut self, tcp: TcpRetransmission) -> Self {
        self.spec.tcp = tcp;
        self
    }

    /// Effects scheduled from the start.
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.spec.scenario = scenario;
        self
    }

    /// Forward meter pushes with `forwarder` (binds a push intake per DCU).
    pub fn push(mut self, forwarder: Arc<dyn PushForwarder>) -> Self {
        self.spec.push = Some(forwarder);
        self
    }

    /// The whole layout.
    pub fn layout(mut self, layout: FieldLayout) -> Self {
        self.layout = layout;
        self
    }

    /// M meters per DCU.
    pub fn meters_per_dcu(mut self, m: usize) -> Self {
        self.layout.meters_per_dcu = m;
        self.dcus = None;
        self
    }

    /// N DCUs, the meters spread evenly (overrides `meters_per_dcu`).
    pub fn dcus(mut self, n: usize) -> Self {
        self.dcus = Some(n);
        self
    }

    /// Technology mix (weights).
    pub fn mix(mut self, mix: Vec<(LinkKind, u32)>) -> Self {
        self.layout.mix = mix;
        self
    }

    /// Backhaul of every DCU.
    pub fn backhaul(mut self, backhaul: LinkModel) -> Self {
        self.layout.backhaul = backhaul;
        self
    }

    /// Session limit of every DCU.
    pub fn max_sessions(mut self, n: usize) -> Self {
        self.layout.max_sessions = Some(n);
        self
    }

    /// Per-hop loss of every neighbourhood network.
    pub fn hop_loss(mut self, p: f64) -> Self {
        self.layout.hop_loss = Some(p);
        self
    }

    /// Registers meters.
    pub fn attach(mut self, meters: impl IntoIterator<Item = MeterAttachment>) -> Self {
        self.meters.extend(meters);
        self
    }

    /// Registers every meter of a running fleet (reached over TCP), speaking `framing`.
    pub fn attach_fleet(self, fleet: &meter::fleet::Fleet, framing: Framing) -> Self {
        let meters = fleet.meters().iter().map(|m| MeterAttachment {
            serial: m.serial.clone(),
            system_title: None,
            framing,
            target: MeterTarget::Tcp(m.address),
        });
        self.attach(meters)
    }

    /// The field specification.
    ///
    /// # Errors
    /// [`FieldError::InvalidSpec`] for zero DCUs or meters per DCU.
    pub fn spec(mut self) -> Result<FieldSpec, FieldError> {
        if let Some(n) = self.dcus {
            if n == 0 {
                return Err(FieldError::InvalidSpec("dcus must be at least 1".into()));
            }
            self.layout.meters_per_dcu = self.meters.len().div_ceil(n).max(1);
        }
        self.spec.dcus = self.layout.compose(self.meters)?;
        Ok(self.spec)
    }

    /// Starts the field.
    ///
    /// # Errors
    /// As [`FieldBuilder::spec`] and [`Field::start`].
    pub async fn start(self) -> Result<Field, FieldError> {
        Field::start(self.spec()?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_proportional_and_interleaved() {
        let mut l = FieldLayout::uniform(LinkKind::G3Plc, 10);
        l.mix = vec![(LinkKind::G3Plc, 3), (LinkKind::RfMesh, 1)];
        let k = l.kinds(8);
        assert_eq!(k.iter().filter(|k| **k == LinkKind::G3Plc).count(), 6);
        assert_eq!(k.iter().filter(|k| **k == LinkKind::RfMesh).count(), 2);
        assert_eq!(k[0], LinkKind::G3Plc);
        assert_ne!(k[..4].iter().filter(|k| **k == LinkKind::RfMesh).count(), 0, "{k:?}");
        l.mix = vec![(LinkKind::G3Plc, 1), (LinkKind::RfMesh, 1), (LinkKind::LteM, 1)];
        let k = l.kinds(4);
        assert_eq!(k.len(), 4);
        for kind in [LinkKind::G3Plc, LinkKind::RfMesh, LinkKind::LteM] {
            assert!(k.contains(&kind), "{k:?}");
        }
    }
}
