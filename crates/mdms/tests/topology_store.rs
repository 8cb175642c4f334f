//! Network topology: built from code and CSV, queried for what outage correlation and
//! energy balance need, persisted in SQLite.

use mdms::SqliteStore;
use mdms::topology::csv::{TopologyCsvError, load_dma_csv, load_electric_csv};
use mdms::topology::{DmaId, DmaRole, FeederId, ServiceRole, Topology, TopologyError, TopologyStore, TransformerId};
use model::MeterId;

fn m(s: &str) -> MeterId {
    MeterId::from(s)
}

fn ids(list: &[&str]) -> Vec<MeterId> {
    list.iter().map(|s| m(s)).collect()
}

const ELECTRIC: &str = "\
meter,transformer,feeder,role
# feeder F1
M1,T1,F1
M2,T1,F1,customer
C1,T1,F1,check
M3,T2,F1
M4 , T3 , F2 ,
";

const WATER: &str = "\
meter,dma,role
W-IN-1,DMA-A,inlet
W-IN-2,DMA-A,INLET
W-OUT,DMA-A,outlet
W-OUT,DMA-B,inlet
W1,DMA-A
W2,DMA-A,customer
W3,DMA-B
";

fn sample() -> Topology {
    let mut t = Topology::new();
    load_electric_csv(&mut t, ELECTRIC.as_bytes()).unwrap();
    load_dma_csv(&mut t, WATER.as_bytes()).unwrap();
    t
}

#[test]
fn csv_builds_feeders_transformers_and_dmas() {
    let mut t = Topology::new();
    let report = load_electric_csv(&mut t, ELECTRIC.as_bytes()).unwrap();
    assert_eq!(report.rows, 5);
    let report = load_dma_csv(&mut t, WATER.as_bytes()).unwrap();
    assert_eq!(report.rows, 7);

    let t1 = TransformerId::from("T1");
    assert_eq!(t.meters_of_transformer(&t1), ids(&["M1", "M2"]));
    assert_eq!(t.check_meter(&t1), Some(&m("C1")));
    assert_eq!(t.check_meter(&TransformerId::from("T2")), None);
    assert_eq!(t.feeder_of_transformer(&t1), Some(&FeederId::from("F1")));
    assert_eq!(t.transformer_of(&m("C1")), Some((&t1, ServiceRole::Check)));
    assert_eq!(t.feeder_of(&m("M4")), Some(&FeederId::from("F2")));
    let f1: Vec<&str> = t.transformers_of_feeder(&FeederId::from("F1")).iter().map(|t| t.0.as_str()).collect();
    assert_eq!(f1, ["T1", "T2"]);
    assert_eq!(t.meters_of_feeder(&FeederId::from("F1")), ids(&["M1", "M2", "M3"]));
    // Check meters are not customers.
    assert_eq!(t.customers_of_transformer(&t1), 2);
    assert_eq!(t.customers_of_feeder(&FeederId::from("F1")), 3);
    assert_eq!(t.total_customers(), 4);

    let a = DmaId::from("DMA-A");
    assert_eq!(t.dma_inlet_meters(&a), ids(&["W-IN-1", "W-IN-2"]));
    assert_eq!(t.dma_outlet_meters(&a), ids(&["W-OUT"]));
    assert_eq!(t.dma_customer_meters(&a), ids(&["W1", "W2"]));
    assert_eq!(t.dma_inlet_meters(&DmaId::from("DMA-B")), ids(&["W-OUT"]));
    let roles: Vec<(&str, DmaRole)> = t.dmas_of(&m("W-OUT")).into_iter().map(|(d, r)| (d.0.as_str(), r)).collect();
    assert_eq!(roles, [("DMA-A", DmaRole::Outlet), ("DMA-B", DmaRole::Inlet)]);
    assert!(t.dma_customer_meters(&DmaId::from("nowhere")).is_empty());
}

#[test]
fn csv_errors_name_the_line() {
    let mut t = Topology::new();
    let err = load_electric_csv(&mut t, "M1,T1,F1\nM2,T1,F1,boss\n".as_bytes()).unwrap_err();
    assert!(matches!(err, TopologyCsvError::Row { line: 2, .. }), "{err}");
    let err = load_electric_csv(&mut Topology::new(), "M1,T1\n".as_bytes()).unwrap_err();
    assert!(matches!(err, TopologyCsvError::Row { line: 1, .. }), "{err}");
    let err = load_electric_csv(&mut Topology::new(), "M1,T1,F1\nM2,T1,F2\n".as_bytes()).unwrap_err();
    assert!(
        matches!(err, TopologyCsvError::Topology { line: 2, source: TopologyError::FeederConflict { .. } }),
        "{err}"
    );
    let err = load_electric_csv(&mut Topology::new(), "C1,T1,F1,check\nC2,T1,F1,check\n".as_bytes()).unwrap_err();
    assert!(
        matches!(err, TopologyCsvError::Topology { line: 2, source: TopologyError::CheckMeterConflict { .. } }),
        "{err}"
    );
    let err = load_electric_csv(&mut Topology::new(), ",T1,F1\n".as_bytes()).unwrap_err();
    assert!(matches!(err, TopologyCsvError::Topology { source: TopologyError::EmptyId("meter"), .. }), "{err}");
    let err = load_dma_csv(&mut Topology::new(), "W1,DMA-A,tank\n".as_bytes()).unwrap_err();
    assert!(matches!(err, TopologyCsvError::Row { line: 1, .. }), "{err}");
}

#[test]
fn changes_from_code_keep_the_invariants() {
    let mut t = sample();
    let t1 = TransformerId::from("T1");
    let t2 = TransformerId::from("T2");
    // Moving a meter removes it from its old transformer.
    t.connect_meter(m("M1"), &t2, ServiceRole::Customer).unwrap();
    assert_eq!(t.meters_of_transformer(&t1), ids(&["M2"]));
    assert_eq!(t.meters_of_transformer(&t2), ids(&["M1", "M3"]));
    // A customer meter turned check meter stops being a customer.
    t.connect_meter(m("M3"), &TransformerId::from("T3"), ServiceRole::Check).unwrap();
    assert_eq!(t.meters_of_transformer(&t2), ids(&["M1"]));
    assert_eq!(t.check_meter(&TransformerId::from("T3")), Some(&m("M3")));
    // Unknown transformer.
    assert_eq!(
        t.connect_meter(m("X"), &TransformerId::from("T9"), ServiceRole::Customer),
        Err(TopologyError::UnknownTransformer(TransformerId::from("T9")))
    );
    // Switching a transformer to another feeder carries its meters.
    t.move_transformer(&t2, FeederId::from("F2")).unwrap();
    assert_eq!(t.feeder_of(&m("M1")), Some(&FeederId::from("F2")));
    assert_eq!(t.meters_of_feeder(&FeederId::from("F1")), ids(&["M2"]));
    assert!(t.disconnect_meter(&m("C1")));
    assert_eq!(t.check_meter(&t1), None);
    assert!(!t.disconnect_meter(&m("C1")));
    assert!(t.remove_dma_meter(&DmaId::from("DMA-A"), &m("W1")));
    assert_eq!(t.dma_customer_meters(&DmaId::from("DMA-A")), ids(&["W2"]));
}

#[test]
fn the_topology_survives_a_reopen_and_saving_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mdms.sqlite");
    let topology = sample();
    {
        let mut store = SqliteStore::open(&path).unwrap();
        assert!(store.load_topology().unwrap().is_empty());
        store.save_topology(&topology).unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.load_topology().unwrap(), topology);

    let mut smaller = Topology::new();
    smaller.add_transformer(TransformerId::from("T7"), FeederId::from("F7")).unwrap();
    smaller.connect_meter(m("M70"), &TransformerId::from("T7"), ServiceRole::Customer).unwrap();
    store.save_topology(&smaller).unwrap();
    let loaded = store.load_topology().unwrap();
    assert_eq!(loaded, smaller);
    assert_eq!(loaded.total_customers(), 1);
    assert!(loaded.dma(&DmaId::from("DMA-A")).is_none());
}
