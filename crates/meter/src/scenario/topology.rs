//! The grid a scenario acts on: which transformer each meter hangs off and which feeder
//! supplies each transformer (meter → distribution transformer → medium-voltage feeder).

use std::collections::BTreeMap;

use thiserror::Error;

/// Why a meter cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TopologyError {
    /// A serial, transformer or feeder name is empty.
    #[error("empty {0} name")]
    EmptyName(&'static str),
    /// The transformer is already on another feeder.
    #[error("transformer {transformer} is on feeder {existing}, not {requested}")]
    FeederConflict {
        /// The transformer.
        transformer: String,
        /// Its feeder.
        existing: String,
        /// The feeder asked for.
        requested: String,
    },
}

/// Where a meter is on the grid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Placement {
    /// Its distribution transformer.
    pub transformer: String,
    /// The feeder supplying that transformer.
    pub feeder: String,
}

/// Meters → transformers → feeders. A meter is on one transformer, a transformer on one
/// feeder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GridTopology {
    meters: BTreeMap<String, Placement>,
    feeder_of_transformer: BTreeMap<String, String>,
}

impl GridTopology {
    /// An empty grid.
    pub fn new() -> Self {
        GridTopology::default()
    }

    /// Places meter `serial` on `transformer`, which is on `feeder` (moving the meter if it
    /// was elsewhere).
    ///
    /// # Errors
    /// [`TopologyError::EmptyName`]; [`TopologyError::FeederConflict`] when the transformer
    /// is known on another feeder.
    pub fn connect(&mut self, serial: &str, transformer: &str, feeder: &str) -> Result<(), TopologyError> {
        for (name, what) in [(serial, "meter"), (transformer, "transformer"), (feeder, "feeder")] {
            if name.trim().is_empty() {
                return Err(TopologyError::EmptyName(what));
            }
        }
        match self.feeder_of_transformer.get(transformer) {
            Some(existing) if existing != feeder => {
                return Err(TopologyError::FeederConflict {
                    transformer: transformer.to_string(),
                    existing: existing.clone(),
                    requested: feeder.to_string(),
                });
            }
            Some(_) => {}
            None => {
                self.feeder_of_transformer.insert(transformer.to_string(), feeder.to_string());
            }
        }
        self.meters
            .insert(serial.to_string(), Placement { transformer: transformer.to_string(), feeder: feeder.to_string() });
        Ok(())
    }

    /// `serials` spread over `transformers` transformers in contiguous blocks (the first
    /// `ceil(n / transformers)` meters on `TX01`, the next on `TX02`, …), `transformers_per_feeder`
    /// transformers per feeder (`FDR01`, `FDR02`, …). Zero counts are taken as 1.
    pub fn evenly(serials: &[String], transformers: usize, transformers_per_feeder: usize) -> Self {
        let transformers = transformers.max(1);
        let per_feeder = transformers_per_feeder.max(1);
        let per_transformer = serials.len().div_ceil(transformers).max(1);
        let mut grid = GridTopology::new();
        for (i, serial) in serials.iter().enumerate() {
            let t = i / per_transformer;
            let transformer = transformer_name(t);
            let feeder = feeder_name(t / per_feeder);
            // Names are non-empty and each transformer gets one feeder: cannot fail.
            if grid.connect(serial, &transformer, &feeder).is_err() {
                continue;
            }
        }
        grid
    }

    /// Where `serial` is, if placed.
    pub fn placement(&self, serial: &str) -> Option<&Placement> {
        self.meters.get(serial)
    }

    /// Every placed meter, in serial order.
    pub fn meters(&self) -> impl Iterator<Item = (&str, &Placement)> {
        self.meters.iter().map(|(s, p)| (s.as_str(), p))
    }

    /// The meters on `transformer`, in serial order (empty for an unknown one).
    pub fn meters_of_transformer(&self, transformer: &str) -> Vec<&str> {
        self.meters.iter().filter(|(_, p)| p.transformer == transformer).map(|(s, _)| s.as_str()).collect()
    }

    /// The meters on every transformer of `feeder`, in serial order.
    pub fn meters_of_feeder(&self, feeder: &str) -> Vec<&str> {
        self.meters.iter().filter(|(_, p)| p.feeder == feeder).map(|(s, _)| s.as_str()).collect()
    }

    /// Every transformer with its feeder, in name order.
    pub fn transformers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.feeder_of_transformer.iter().map(|(t, f)| (t.as_str(), f.as_str()))
    }

    /// The feeder of `transformer`.
    pub fn feeder_of_transformer(&self, transformer: &str) -> Option<&str> {
        self.feeder_of_transformer.get(transformer).map(String::as_str)
    }
}

/// The name [`GridTopology::evenly`] gives transformer `index` (0-based): `TX01`, `TX02`, …
pub fn transformer_name(index: usize) -> String {
    format!("TX{:02}", index + 1)
}

/// The name [`GridTopology::evenly`] gives feeder `index` (0-based): `FDR01`, `FDR02`, …
pub fn feeder_name(index: usize) -> String {
    format!("FDR{:02}", index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evenly_fills_transformers_in_blocks() {
        let serials: Vec<String> = (1..=20).map(|i| format!("M{i:02}")).collect();
        let g = GridTopology::evenly(&serials, 2, 2);
        assert_eq!(g.meters_of_transformer("TX01"), (1..=10).map(|i| format!("M{i:02}")).collect::<Vec<_>>());
        assert_eq!(g.meters_of_transformer("TX02").len(), 10);
        assert_eq!(g.meters_of_feeder("FDR01").len(), 20);
        assert_eq!(g.transformers().collect::<Vec<_>>(), vec![("TX01", "FDR01"), ("TX02", "FDR01")]);
        let g = GridTopology::evenly(&serials, 4, 1);
        assert_eq!(g.meters_of_feeder("FDR04"), vec!["M16", "M17", "M18", "M19", "M20"]);
        assert_eq!(g.placement("M16").map(|p| p.transformer.as_str()), Some("TX04"));
    }

    #[test]
    fn a_transformer_stays_on_its_feeder() {
        let mut g = GridTopology::new();
        g.connect("A", "T1", "F1").unwrap();
        assert!(matches!(g.connect("B", "T1", "F2"), Err(TopologyError::FeederConflict { .. })));
        assert_eq!(g.connect("", "T1", "F1"), Err(TopologyError::EmptyName("meter")));
        g.connect("A", "T2", "F2").unwrap();
        assert_eq!(g.meters_of_transformer("T1"), Vec::<&str>::new());
        assert_eq!(g.feeder_of_transformer("T2"), Some("F2"));
    }
}
