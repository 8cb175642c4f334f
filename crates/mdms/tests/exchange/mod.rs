//! Shared fixtures of the export and import tests: a small store with known values, a tiny
//! namespace-aware XML tree for checking exported documents, and the interop Python.
#![allow(dead_code)]

use std::path::PathBuf;

use jiff::{SignedDuration, Timestamp};
use mdms::{MeterDataStore, SqliteStore};
use model::{IntervalReading, MeterId, MeterReading, QualityFlags, ReadingType, RegisterRead};
use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// Parses an RFC 3339 instant written in a test.
pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad timestamp {s:?} in a test: {e}"))
}

/// `t` plus `seconds`.
pub fn plus(t: Timestamp, seconds: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs(seconds)).expect("timestamp in range")
}

/// Start of the fixture data: 2025-01-01T00:00:00Z (Unix 1735689600).
pub fn t0() -> Timestamp {
    ts("2025-01-01T00:00:00Z")
}

/// Intervals of the fixture's +A channel (two days of 15-minute intervals).
pub const IMPORT_INTERVALS: usize = 192;

/// Register value of the +A channel at `t0()`, Wh.
pub const IMPORT_START_WH: f64 = 10_000.0;

/// The +A interval index (1-based interval end k = t0 + 900 k) whose end value is not
/// stored: the intervals ending at k and k + 1 cannot be derived.
pub const MISSING_END: usize = 150;

/// The +A end index carrying the meter's power-down flag.
pub const POWER_DOWN_END: usize = 50;

/// The +A end index carrying "data not valid".
pub const NOT_VALID_END: usize = 100;

/// Energy used in +A interval i (ending at t0 + 900 (i + 1)), whole Wh: 100..200.
pub fn import_steps() -> Vec<f64> {
    (0..IMPORT_INTERVALS).map(|i| 100.0 + ((i * 37) % 11) as f64 * 10.0).collect()
}

/// Register values of +A at t0 + 900 k, k = 0..=192.
pub fn import_bulk() -> Vec<f64> {
    let mut values = vec![IMPORT_START_WH];
    for step in import_steps() {
        let last = *values.last().unwrap();
        values.push(last + step);
    }
    values
}

/// The −A channel: register values 500, 505, ..., 540 at t0 + 900 k, k = 0..=8.
pub fn export_bulk() -> Vec<f64> {
    (0..=8).map(|k| 500.0 + 5.0 * k as f64).collect()
}

/// The fixture meter.
pub fn m1() -> MeterId {
    MeterId::from("M1")
}

/// One collection of M1: +A (with a missing value, a power-down and a not-valid flag), −A,
/// voltage at two ends, and one register read.
pub fn fixture_reading() -> MeterReading {
    let t0 = t0();
    let mut intervals = Vec::new();
    for (k, value) in import_bulk().into_iter().enumerate() {
        if k == MISSING_END {
            continue;
        }
        let quality = match k {
            POWER_DOWN_END => QualityFlags::POWER_DOWN,
            NOT_VALID_END => QualityFlags::DATA_NOT_VALID,
            _ => 0,
        };
        intervals.push(IntervalReading {
            reading_type: ReadingType::ActiveEnergyImport,
            interval_end: plus(t0, 900 * k as i64),
            value,
            quality: QualityFlags(quality),
        });
    }
    for (k, value) in export_bulk().into_iter().enumerate() {
        intervals.push(IntervalReading {
            reading_type: ReadingType::ActiveEnergyExport,
            interval_end: plus(t0, 900 * k as i64),
            value,
            quality: QualityFlags(0),
        });
    }
    for (k, value) in [(1, 230.5), (2, 229.75)] {
        intervals.push(IntervalReading {
            reading_type: ReadingType::VoltageL1,
            interval_end: plus(t0, 900 * k),
            value,
            quality: QualityFlags(0),
        });
    }
    MeterReading {
        meter: m1(),
        collected_at: plus(t0, 2 * 86_400 + 60),
        clock_drift_ms: Some(0),
        interval_length_s: 900,
        registers: vec![RegisterRead {
            reading_type: ReadingType::ActiveEnergyImport,
            read_at: plus(t0, 2 * 86_400),
            value: *import_bulk().last().unwrap(),
        }],
        intervals,
    }
}

/// An in-memory store holding [`fixture_reading`].
pub fn fixture_store() -> SqliteStore {
    let mut store = SqliteStore::open_in_memory().unwrap();
    store.ingest(&fixture_reading()).unwrap();
    store
}

/// (interval end, value, quality) of the latest versions of one channel.
pub fn channel(store: &SqliteStore, meter: &MeterId, reading_type: ReadingType) -> Vec<(Timestamp, f64, u32)> {
    store
        .interval_readings(meter, reading_type, ts("1970-01-01T00:00:00Z"), ts("2100-01-01T00:00:00Z"))
        .unwrap()
        .into_iter()
        .map(|i| (i.interval_end, i.value, i.quality.0))
        .collect()
}

/// One element of a parsed XML document: (namespace, local name), attributes, text,
/// children.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub ns: Option<String>,
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn child(&self, name: &str) -> &Node {
        self.children.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("<{}> has no <{name}>", self.name))
    }

    pub fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn child_names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }

    /// Every element of the subtree, depth first.
    pub fn walk(&self) -> Vec<&Node> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        out
    }
}

/// Parses an exported document with quick-xml's namespace-aware reader.
pub fn parse_xml(text: &str) -> Node {
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        let (ns, event) = reader.read_resolved_event().expect("well-formed XML");
        let ns = match ns {
            ResolveResult::Bound(ns) => Some(ns.as_ref().to_string()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => panic!("unknown prefix {p}"),
        };
        let node = |e: &quick_xml::events::BytesStart<'_>| Node {
            ns: ns.clone(),
            name: e.local_name().as_ref().to_string(),
            attributes: e
                .attributes()
                .map(|a| {
                    let a = a.unwrap();
                    (
                        a.key.as_ref().to_string(),
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap().into_owned(),
                    )
                })
                .collect(),
            ..Node::default()
        };
        match event {
            Event::Start(e) => stack.push(node(&e)),
            Event::Empty(e) => {
                let n = node(&e);
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => root = Some(n),
                }
            }
            Event::End(_) => {
                let n = stack.pop().unwrap();
                match stack.last_mut() {
                    Some(p) => p.children.push(n),
                    None => root = Some(n),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let s = quick_xml::escape::resolve_predefined_entity(&r).expect("predefined entity");
                stack.last_mut().unwrap().text.push_str(s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.expect("a root element")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python of the interop venv: `$GRIDEDGE_PYTHON`, else `.venv/bin/python`. A missing
/// venv is a failure with instructions, not a skip.
pub fn python() -> std::process::Command {
    let path = std::env::var_os("GRIDEDGE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "interop Python not found at {}: run `bash scripts/setup-python-venv.sh` (or set GRIDEDGE_PYTHON)",
        path.display()
    );
    std::process::Command::new(path)
}
