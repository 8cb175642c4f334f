//! Putting a running [`meter::fleet::Fleet`] behind a field network: what `gridedge demo
//! --field plc|prime|rf|cellular|nb-iot|lorawan|mixed|none` needs.
//!
//! ```no_run
//! # async fn demo(fleet: meter::fleet::Fleet, registry: hes::Registry) -> Result<(), fieldnet::FieldError> {
//! use fieldnet::{FieldProfile, FleetFieldOptions, Framing, start_for_fleet};
//! let field = start_for_fleet(&fleet, Framing::Wrapper, FieldProfile::Plc, &FleetFieldOptions::default()).await?;
//! let registry = field.route_registry(&registry); // meters now reached through their DCU
//! // … run_campaign(&registry, …) with concurrency ≤ FleetFieldOptions::campaign_concurrency(&field) …
//! field.shutdown().await;
//! # Ok(()) }
//! ```

use std::str::FromStr;

use crate::error::FieldError;
use crate::field::Field;
use crate::framing::Framing;
use crate::layout::{FieldBuilder, FieldLayout};
use crate::link::LinkKind;

/// A named field technology, for command lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldProfile {
    /// Ideal links (the field relays but adds nothing).
    None,
    /// G3-PLC DCUs.
    Plc,
    /// PRIME DCUs.
    Prime,
    /// RF mesh DCUs (3 hops).
    Rf,
    /// LTE-M meters.
    Cellular,
    /// NB-IoT meters.
    NbIot,
    /// LoRaWAN gateways (EU868 DR3).
    LoRaWan,
    /// 60 % G3-PLC, 25 % RF mesh, 15 % LTE-M (by DCU count).
    Mixed,
}

impl FieldProfile {
    /// Every profile name [`FieldProfile::from_str`] accepts.
    pub const NAMES: [&'static str; 8] = ["none", "plc", "prime", "rf", "cellular", "nb-iot", "lorawan", "mixed"];

    /// The technology mix.
    pub fn mix(self) -> Vec<(LinkKind, u32)> {
        match self {
            FieldProfile::None => vec![(LinkKind::Ideal, 1)],
            FieldProfile::Plc => vec![(LinkKind::G3Plc, 1)],
            FieldProfile::Prime => vec![(LinkKind::Prime, 1)],
            FieldProfile::Rf => vec![(LinkKind::RfMesh, 1)],
            FieldProfile::Cellular => vec![(LinkKind::LteM, 1)],
            FieldProfile::NbIot => vec![(LinkKind::NbIot, 1)],
            FieldProfile::LoRaWan => vec![(LinkKind::LoRaWan, 1)],
            FieldProfile::Mixed => vec![(LinkKind::G3Plc, 12), (LinkKind::RfMesh, 5), (LinkKind::LteM, 3)],
        }
    }
}

impl FromStr for FieldProfile {
    type Err = FieldError;

    /// `none`, `plc` (or `g3-plc`), `prime`, `rf` (or `rf-mesh`), `cellular` (or
    /// `lte-m`), `nb-iot`, `lorawan`, `mixed`.
    fn from_str(s: &str) -> Result<Self, FieldError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "none" | "ideal" => FieldProfile::None,
            "plc" | "g3-plc" | "g3plc" => FieldProfile::Plc,
            "prime" => FieldProfile::Prime,
            "rf" | "rf-mesh" => FieldProfile::Rf,
            "cellular" | "lte-m" | "ltem" => FieldProfile::Cellular,
            "nb-iot" | "nbiot" => FieldProfile::NbIot,
            "lorawan" | "lora" => FieldProfile::LoRaWan,
            "mixed" => FieldProfile::Mixed,
            other => {
                return Err(FieldError::InvalidSpec(format!(
                    "unknown field profile {other:?} (one of {})",
                    FieldProfile::NAMES.join(", ")
                )));
            }
        })
    }
}

/// Options of [`start_for_fleet`].
#[derive(Debug, Clone, PartialEq)]
pub struct FleetFieldOptions {
    /// Seed of the field's random draws.
    pub seed: u64,
    /// Real seconds per simulated second (1.0 = real time; 0.05 runs a PLC field twenty
    /// times faster).
    pub time_scale: f64,
    /// Meters per DCU.
    pub meters_per_dcu: usize,
    /// Overrides the neighbourhood networks' per-hop loss.
    pub hop_loss: Option<f64>,
}

impl Default for FleetFieldOptions {
    /// Seed 1, real time, 100 meters per DCU, preset losses.
    fn default() -> Self {
        FleetFieldOptions { seed: 1, time_scale: 1.0, meters_per_dcu: 100, hop_loss: None }
    }
}

impl FleetFieldOptions {
    /// The HES campaign concurrency that keeps every DCU busy without queueing sessions
    /// at them: the sum of the DCUs' session limits.
    pub fn campaign_concurrency(field: &Field) -> usize {
        field.dcus().iter().map(|d| d.max_sessions).sum::<usize>().max(1)
    }
}

/// Starts a field in front of `fleet`: its meters are registered with DCUs of
/// `profile`'s technologies, `options.meters_per_dcu` each, and each gets an HES-facing
/// port ([`Field::hes_address`], [`Field::route_registry`]).
///
/// # Errors
/// [`FieldError`] from [`FieldBuilder::start`].
pub async fn start_for_fleet(
    fleet: &meter::fleet::Fleet,
    framing: Framing,
    profile: FieldProfile,
    options: &FleetFieldOptions,
) -> Result<Field, FieldError> {
    let mut layout = FieldLayout::uniform(LinkKind::Ideal, options.meters_per_dcu);
    layout.mix = profile.mix();
    layout.hop_loss = options.hop_loss;
    FieldBuilder::new(options.seed)
        .time_scale(options.time_scale)
        .layout(layout)
        .attach_fleet(fleet, framing)
        .start()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_parse() {
        for name in FieldProfile::NAMES {
            assert!(name.parse::<FieldProfile>().is_ok(), "{name}");
        }
        assert_eq!("G3-PLC".parse::<FieldProfile>().unwrap(), FieldProfile::Plc);
        assert!("wifi".parse::<FieldProfile>().is_err());
    }
}
