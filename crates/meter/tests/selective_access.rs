//! Selective access to the load profile buffer (IEC 62056-6-2 §4.3.6): range_descriptor
//! (clock-restricted, inclusive bounds, selected_values columns) and entry_descriptor
//! (1-based entries oldest first, to_entry 0 = newest, column ranges), plus robustness of both
//! against arbitrary parameters.

mod common;

use common::*;
use dlms::Data;
use dlms::datetime::{CosemDateTime, DEVIATION_NOT_SPECIFIED};
use dlms::obis::codes;
use dlms::xdlms::{DataAccessResult, EntryDescriptor, RangeDescriptor, SelectiveAccess};
use jiff::{SignedDuration, Timestamp};
use meter::{MeterConfig, MeterTimeZone, SimulatedMeter};
use proptest::prelude::*;

const UK: MeterTimeZone = MeterTimeZone::UK;

fn times(rows: &[Row]) -> Vec<Timestamp> {
    rows.iter().map(|r| UK.from_cosem(&r.time).unwrap()).collect()
}

fn structures(d: &Data) -> Vec<Vec<Data>> {
    let Data::Array(v) = d else { panic!("array") };
    v.iter()
        .map(|e| match e {
            Data::Structure(c) => c.clone(),
            other => panic!("structure expected: {other:?}"),
        })
        .collect()
}

/// The meter at true time such that its clock shows `meter_now`, with a full buffer.
fn setup(seed: u64, meter_now: &str) -> (SimulatedMeter, Timestamp) {
    let m = meter(seed);
    let now = true_time_for(&m, ts(meter_now));
    (m, now)
}

#[test]
fn range_bounds_are_inclusive() {
    let (mut m, now) = setup(1, "2024-06-10T12:00:00Z");
    let a = ts("2024-06-09T10:00:00Z");
    let b = ts("2024-06-09T12:00:00Z");
    let got = times(&rows(&m.get(now, &BUFFER, Some(&range(UK.to_cosem(a), UK.to_cosem(b), vec![]))).unwrap()));
    let want: Vec<Timestamp> = (0..=8).map(|i| a + SignedDuration::from_mins(15 * i)).collect();
    assert_eq!(got, want);
    // One second inside on both ends drops both end captures.
    let a1 = a + SignedDuration::from_secs(1);
    let b1 = b - SignedDuration::from_secs(1);
    let got = times(&rows(&m.get(now, &BUFFER, Some(&range(UK.to_cosem(a1), UK.to_cosem(b1), vec![]))).unwrap()));
    assert_eq!(got, want[1..8].to_vec());
    // from == to on a capture: exactly one entry; between captures: none; reversed: none.
    let one = rows(&m.get(now, &BUFFER, Some(&range(UK.to_cosem(a), UK.to_cosem(a), vec![]))).unwrap());
    assert_eq!(times(&one), vec![a]);
    let none = m.get(now, &BUFFER, Some(&range(UK.to_cosem(a1), UK.to_cosem(a1), vec![]))).unwrap();
    assert_eq!(none, Data::Array(vec![]));
    let reversed = m.get(now, &BUFFER, Some(&range(UK.to_cosem(b), UK.to_cosem(a), vec![]))).unwrap();
    assert_eq!(reversed, Data::Array(vec![]));
}

#[test]
fn range_is_clipped_to_the_buffer_and_to_now() {
    let (mut m, now) = setup(2, "2024-06-10T12:07:00Z");
    let from = ts("2023-01-01T00:00:00Z");
    let to = ts("2030-01-01T00:00:00Z");
    let got = times(&rows(&m.get(now, &BUFFER, Some(&range(UK.to_cosem(from), UK.to_cosem(to), vec![]))).unwrap()));
    assert_eq!(got.len(), 96 * 60);
    assert_eq!(got[got.len() - 1], ts("2024-06-10T12:00:00Z"), "no capture from the future");
    // Entirely before the buffer: empty.
    let old = ts("2024-01-02T00:00:00Z");
    assert_eq!(m.get(now, &BUFFER, Some(&range(UK.to_cosem(old), UK.to_cosem(old), vec![]))), Ok(Data::Array(vec![])));
}

#[test]
fn range_bounds_in_other_forms() {
    let (mut m, now) = setup(3, "2024-01-20T00:00:00Z");
    let a = ts("2024-01-19T06:00:00Z");
    let b = ts("2024-01-19T07:00:00Z");
    let want: Vec<Timestamp> = (0..=4).map(|i| a + SignedDuration::from_mins(15 * i)).collect();
    // The date-time type instead of octet-string(12).
    let sa = SelectiveAccess::Range(RangeDescriptor {
        restricting_object: clock_column(),
        from_value: Data::DateTime(UK.to_cosem(a)),
        to_value: Data::DateTime(UK.to_cosem(b)),
        selected_values: vec![],
    });
    assert_eq!(times(&rows(&m.get(now, &BUFFER, Some(&sa)).unwrap())), want);
    // Bounds in another zone's local time (CET, deviation −60) name the same instants.
    let cet = MeterTimeZone::CET;
    assert_eq!(
        times(&rows(&m.get(now, &BUFFER, Some(&range(cet.to_cosem(a), cet.to_cosem(b), vec![]))).unwrap())),
        want
    );
    // Deviation and hundredths/seconds unspecified: read as the meter's local time.
    let loose = |t: Timestamp| {
        let mut dt = UK.to_cosem(t);
        dt.deviation = DEVIATION_NOT_SPECIFIED;
        dt.time.second = 0xFF;
        dt.time.hundredths = 0xFF;
        dt.clock_status = 0xFF;
        dt
    };
    assert_eq!(times(&rows(&m.get(now, &BUFFER, Some(&range(loose(a), loose(b), vec![]))).unwrap())), want);
}

#[test]
fn selected_values_pick_and_order_columns() {
    let (mut m, now) = setup(4, "2024-03-01T00:00:00Z");
    let a = ts("2024-02-28T20:00:00Z");
    let b = ts("2024-02-28T21:00:00Z");
    let full = rows(&m.get(now, &BUFFER, Some(&range(UK.to_cosem(a), UK.to_cosem(b), vec![]))).unwrap());
    let picked = vec![column(3, codes::REACTIVE_ENERGY_IMPORT), clock_column(), column(3, codes::ACTIVE_ENERGY_IMPORT)];
    let got = structures(&m.get(now, &BUFFER, Some(&range(UK.to_cosem(a), UK.to_cosem(b), picked))).unwrap());
    assert_eq!(got.len(), full.len());
    for (row, cols) in full.iter().zip(&got) {
        assert_eq!(
            cols,
            &vec![
                Data::DoubleLongUnsigned(row.q_import),
                Data::OctetString(row.time.to_octets()),
                Data::DoubleLongUnsigned(row.import_wh),
            ]
        );
    }
    // A column the profile does not capture is refused.
    let unknown = vec![column(3, codes::VOLTAGE_L1)];
    assert_eq!(
        m.get(now, &BUFFER, Some(&range(UK.to_cosem(a), UK.to_cosem(b), unknown))),
        Err(DataAccessResult::OtherReason)
    );
}

#[test]
fn range_parameter_errors() {
    let (mut m, now) = setup(5, "2024-03-01T00:00:00Z");
    let a = UK.to_cosem(ts("2024-02-28T20:00:00Z"));
    let base = RangeDescriptor {
        restricting_object: clock_column(),
        from_value: Data::OctetString(a.to_octets()),
        to_value: Data::OctetString(a.to_octets()),
        selected_values: vec![],
    };
    let get = |m: &mut SimulatedMeter, r: RangeDescriptor| m.get(now, &BUFFER, Some(&SelectiveAccess::Range(r)));
    let not_clock = RangeDescriptor { restricting_object: column(3, codes::ACTIVE_ENERGY_IMPORT), ..base.clone() };
    assert_eq!(get(&mut m, not_clock), Err(DataAccessResult::OtherReason));
    let not_date = RangeDescriptor { from_value: Data::DoubleLongUnsigned(5), ..base.clone() };
    assert_eq!(get(&mut m, not_date), Err(DataAccessResult::TypeUnmatched));
    let short = RangeDescriptor { to_value: Data::OctetString(vec![0x07, 0xE8]), ..base.clone() };
    assert_eq!(get(&mut m, short), Err(DataAccessResult::TypeUnmatched));
    let mut wildcard = a;
    wildcard.date.year = 0xFFFF;
    let wild = RangeDescriptor { from_value: Data::OctetString(wildcard.to_octets()), ..base.clone() };
    assert_eq!(get(&mut m, wild), Err(DataAccessResult::OtherReason));
    let other = SelectiveAccess::Other { selector: 3, parameters: Data::NullData };
    assert_eq!(m.get(now, &BUFFER, Some(&other)), Err(DataAccessResult::OtherReason));
}

#[test]
fn entry_descriptor_semantics() {
    let (mut m, now) = setup(6, "2024-07-01T00:00:00Z");
    let all = rows(&m.get(now, &BUFFER, None).unwrap());
    let n = all.len() as u32;
    assert_eq!(n, 96 * 60);
    let get = |m: &mut SimulatedMeter, sa: SelectiveAccess| m.get(now, &BUFFER, Some(&sa)).unwrap();
    // 1..0 = everything, oldest first.
    assert_eq!(rows(&get(&mut m, entries(1, 0, 1, 0))), all);
    // The first three.
    assert_eq!(rows(&get(&mut m, entries(1, 3, 1, 0))), all[..3].to_vec());
    // The newest four: n-3..=n, also via to_entry 0 and via a to_entry past the end.
    assert_eq!(rows(&get(&mut m, entries(n - 3, n, 1, 0))), all[all.len() - 4..].to_vec());
    assert_eq!(rows(&get(&mut m, entries(n - 3, 0, 1, 0))), all[all.len() - 4..].to_vec());
    assert_eq!(rows(&get(&mut m, entries(n - 3, n + 1000, 1, 0))), all[all.len() - 4..].to_vec());
    // from_entry 0 counts as 1; from beyond the end or after to: nothing.
    assert_eq!(rows(&get(&mut m, entries(0, 2, 1, 0))), all[..2].to_vec());
    assert_eq!(get(&mut m, entries(n + 1, 0, 1, 0)), Data::Array(vec![]));
    assert_eq!(get(&mut m, entries(10, 9, 1, 0)), Data::Array(vec![]));
    // Columns 3..=4 = +A and −A; 2..=2 = status; 5..0 = +R, −R.
    let cols = structures(&get(&mut m, entries(5, 6, 3, 4)));
    assert_eq!(
        cols,
        all[4..6]
            .iter()
            .map(|r| vec![Data::DoubleLongUnsigned(r.import_wh), Data::DoubleLongUnsigned(r.export_wh)])
            .collect::<Vec<_>>()
    );
    assert_eq!(structures(&get(&mut m, entries(1, 1, 2, 2))), vec![vec![Data::Unsigned(all[0].status)]]);
    assert_eq!(
        structures(&get(&mut m, entries(n, 0, 5, 0))),
        vec![vec![
            Data::DoubleLongUnsigned(all[all.len() - 1].q_import),
            Data::DoubleLongUnsigned(all[all.len() - 1].q_export)
        ]]
    );
    // An empty column range is refused.
    assert_eq!(m.get(now, &BUFFER, Some(&entries(1, 1, 7, 0))), Err(DataAccessResult::OtherReason));
    assert_eq!(m.get(now, &BUFFER, Some(&entries(1, 1, 4, 3))), Err(DataAccessResult::OtherReason));
}

#[test]
fn entries_shift_as_time_passes() {
    let (mut m, now) = setup(7, "2024-07-01T00:00:00Z");
    let newest = rows(&m.get(now, &BUFFER, Some(&entries(5760, 0, 1, 0))).unwrap());
    let later = now + SignedDuration::from_mins(15);
    let second_newest = rows(&m.get(later, &BUFFER, Some(&entries(5759, 5759, 1, 0))).unwrap());
    assert_eq!(newest, second_newest, "entry numbers count from the oldest entry held");
}

/// A range bound: a concrete instant `offset` seconds from the meter's time (written in an
/// assorted zone), or something that is not one instant.
#[derive(Debug, Clone)]
enum Bound {
    Relative(i64, i16),
    Junk(Data),
}

fn arb_bound() -> impl Strategy<Value = Bound> {
    prop_oneof![
        20 => (-5 * 86_400i64..86_400, prop::sample::select(vec![-120i16, -60, 0, 60, 300, DEVIATION_NOT_SPECIFIED]))
            .prop_map(|(offset, dev)| Bound::Relative(offset, dev)),
        // Arbitrary 12 bytes (wildcards, invalid months, days, times, deviations).
        1 => prop::array::uniform12(any::<u8>()).prop_map(|b| Bound::Junk(Data::OctetString(b.to_vec()))),
        1 => prop::array::uniform12(any::<u8>())
            .prop_map(|b| Bound::Junk(Data::DateTime(CosemDateTime::from_octets(&b).expect("12 bytes")))),
        // Not a date-time at all.
        1 => prop::collection::vec(any::<u8>(), 0..16).prop_map(|b| Bound::Junk(Data::OctetString(b))),
        1 => any::<u32>().prop_map(|v| Bound::Junk(Data::DoubleLongUnsigned(v))),
        1 => Just(Bound::Junk(Data::NullData)),
    ]
}

impl Bound {
    fn to_data(&self, meter_now: Timestamp) -> Data {
        match self {
            Bound::Relative(offset, dev) => {
                let t = meter_now + SignedDuration::from_secs(*offset);
                let mut dt = UK.to_cosem(t);
                if *dev != DEVIATION_NOT_SPECIFIED {
                    // Re-express the same instant in a zone with this fixed deviation.
                    dt = MeterTimeZone { standard_offset_minutes: -dev, eu_summer_time: false }.to_cosem(t);
                }
                Data::OctetString(dt.to_octets())
            }
            Bound::Junk(d) => d.clone(),
        }
    }
}

fn arb_column() -> impl Strategy<Value = dlms::xdlms::CaptureObjectDefinition> {
    (
        prop::sample::select(vec![1u16, 3, 7, 8, 0xFFFF]),
        prop::sample::select(vec![
            codes::CLOCK,
            codes::LOAD_PROFILE_STATUS,
            codes::ACTIVE_ENERGY_IMPORT,
            codes::REACTIVE_ENERGY_EXPORT,
            codes::VOLTAGE_L1,
            dlms::Obis([0xFF; 6]),
        ]),
        any::<i8>(),
        any::<u16>(),
    )
        .prop_map(|(class_id, logical_name, attribute_index, data_index)| dlms::xdlms::CaptureObjectDefinition {
            class_id,
            logical_name,
            attribute_index,
            data_index,
        })
}

/// The profile's columns as the brief lists them (class, logical name, attribute 2).
const CAPTURE_COLUMNS: [(u16, dlms::Obis); 6] = [
    (8, codes::CLOCK),
    (1, codes::LOAD_PROFILE_STATUS),
    (3, codes::ACTIVE_ENERGY_IMPORT),
    (3, codes::ACTIVE_ENERGY_EXPORT),
    (3, codes::REACTIVE_ENERGY_IMPORT),
    (3, codes::REACTIVE_ENERGY_EXPORT),
];

fn small_meter() -> SimulatedMeter {
    let config = MeterConfig { profile_entries: 96 * 3, ..MeterConfig::default() };
    SimulatedMeter::new("PROP1", 99, config).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn entry_access_never_panics_and_selects_exactly(
        from_entry in prop_oneof![0u32..400, any::<u32>()],
        to_entry in prop_oneof![0u32..400, any::<u32>()],
        from_col in prop_oneof![0u16..8, any::<u16>()],
        to_col in prop_oneof![0u16..8, any::<u16>()],
        secs in 1_703_990_000i64..1_800_000_000,
    ) {
        let mut m = small_meter();
        let now = Timestamp::from_second(secs).unwrap();
        let in_use = match m.get(now, &attr(7, codes::LOAD_PROFILE_1, 7), None) {
            Ok(Data::DoubleLongUnsigned(n)) => u64::from(n),
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        prop_assert!(in_use <= 96 * 3);
        let sa = SelectiveAccess::Entry(EntryDescriptor {
            from_entry, to_entry, from_selected_value: from_col, to_selected_value: to_col,
        });
        let result = m.get(now, &BUFFER, Some(&sa));
        let first_col = usize::from(from_col.max(1));
        let last_col = if to_col == 0 { 6 } else { usize::from(to_col).min(6) };
        if first_col > last_col {
            prop_assert_eq!(result, Err(DataAccessResult::OtherReason));
            return Ok(());
        }
        let Ok(Data::Array(v)) = result else { return Err(TestCaseError::fail(format!("{result:?}"))) };
        let first = u64::from(from_entry.max(1));
        let last = if to_entry == 0 { in_use } else { u64::from(to_entry).min(in_use) };
        let want = if first > last { 0 } else { last - first + 1 };
        prop_assert_eq!(v.len() as u64, want);
        for e in &v {
            let Data::Structure(c) = e else { return Err(TestCaseError::fail("structure")) };
            prop_assert_eq!(c.len(), last_col - first_col + 1);
        }
    }

    #[test]
    fn range_access_never_panics_and_respects_bounds(
        from_bound in arb_bound(),
        to_bound in arb_bound(),
        restricting in prop_oneof![4 => Just(clock_column()), 1 => arb_column()],
        selected in prop_oneof![
            2 => Just(vec![]),
            2 => prop::collection::vec(
                prop::sample::select(CAPTURE_COLUMNS.to_vec()).prop_map(|(c, ln)| column(c, ln)),
                1..8,
            ),
            1 => prop::collection::vec(arb_column(), 1..4),
        ],
        secs in 1_704_000_000i64..1_740_000_000,
    ) {
        let mut m = small_meter();
        let now = Timestamp::from_second(secs).unwrap();
        let (from, to) = (from_bound.to_data(m.meter_time(now)), to_bound.to_data(m.meter_time(now)));
        let sa = SelectiveAccess::Range(RangeDescriptor {
            restricting_object: restricting,
            from_value: from.clone(),
            to_value: to.clone(),
            selected_values: selected.clone(),
        });
        let result = m.get(now, &BUFFER, Some(&sa));
        let valid_bounds = from.as_date_time().and_then(|d| UK.from_cosem(&d)).zip(to.as_date_time().and_then(|d| UK.from_cosem(&d)));
        let valid_columns = selected.iter().all(|c| {
            c.attribute_index == 2 && CAPTURE_COLUMNS.contains(&(c.class_id, c.logical_name))
        });
        let restricted_by_clock = restricting.class_id == 8 && restricting.logical_name == codes::CLOCK
            && restricting.attribute_index == 2;
        match (result, valid_bounds) {
            (Ok(Data::Array(v)), Some((lo, hi))) => {
                prop_assert!(restricted_by_clock && valid_columns);
                // Independently: captures every 15 min after 2024-01-01T00:00Z, the newest at or
                // before the meter's time, at most 288 held; those within [lo, hi] are returned.
                let epoch = ts("2024-01-01T00:00:00Z").as_second();
                let newest = (m.meter_time(now).as_second() - epoch).div_euclid(900);
                let oldest = (newest - 287).max(1);
                let want = (oldest..=newest).filter(|j| {
                    let t_ms = (epoch + j * 900) * 1000;
                    lo.as_millisecond() <= t_ms && t_ms <= hi.as_millisecond()
                }).count();
                prop_assert_eq!(v.len(), want);
                let ncols = if selected.is_empty() { 6 } else { selected.len() };
                for e in &v {
                    prop_assert_eq!(e.as_sequence().map(<[Data]>::len), Some(ncols));
                }
                if selected.is_empty() {
                    for r in rows(&Data::Array(v)) {
                        let t = UK.from_cosem(&r.time).unwrap();
                        prop_assert!(lo <= t && t <= hi);
                    }
                }
            }
            (Ok(other), bounds) => return Err(TestCaseError::fail(format!("{other:?} for bounds {bounds:?}"))),
            (Err(e), Some(_)) => {
                prop_assert!(!restricted_by_clock || !valid_columns, "{e:?}");
                prop_assert_eq!(e, DataAccessResult::OtherReason);
            }
            (Err(e), None) => {
                prop_assert!(matches!(e, DataAccessResult::OtherReason | DataAccessResult::TypeUnmatched));
            }
        }
    }
}
