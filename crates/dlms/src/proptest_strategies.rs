//! proptest strategies for the wire types, shared by the round-trip property tests of
//! every module (test builds only).

use proptest::prelude::*;

use crate::data::{BitString, Data, TypeDescription};
use crate::datetime::{CosemDate, CosemDateTime, CosemTime};
use crate::obis::Obis;

/// Any OBIS code.
pub fn obis() -> impl Strategy<Value = Obis> {
    any::<[u8; 6]>().prop_map(Obis)
}

/// Any COSEM date (raw bytes, including not-specified and special values).
pub fn date() -> impl Strategy<Value = CosemDate> {
    (any::<u16>(), any::<u8>(), any::<u8>(), any::<u8>())
        .prop_map(|(year, month, day_of_month, day_of_week)| CosemDate { year, month, day_of_month, day_of_week })
}

/// Any COSEM time (raw bytes).
pub fn time() -> impl Strategy<Value = CosemTime> {
    any::<[u8; 4]>().prop_map(|b| CosemTime { hour: b[0], minute: b[1], second: b[2], hundredths: b[3] })
}

/// Any COSEM date-time (raw bytes).
pub fn date_time() -> impl Strategy<Value = CosemDateTime> {
    (date(), time(), any::<i16>(), any::<u8>()).prop_map(|(date, time, deviation, clock_status)| CosemDateTime {
        date,
        time,
        deviation,
        clock_status,
    })
}

fn bit_string() -> impl Strategy<Value = BitString> {
    prop::collection::vec(any::<bool>(), 0..40).prop_map(|b| BitString::from_bools(&b))
}

/// Any non-container `Data` value. Floats are restricted to non-NaN so that equality
/// holds after a round trip.
pub fn simple_data() -> impl Strategy<Value = Data> {
    prop_oneof![
        Just(Data::NullData),
        Just(Data::DontCare),
        any::<bool>().prop_map(Data::Boolean),
        bit_string().prop_map(Data::BitString),
        any::<i32>().prop_map(Data::DoubleLong),
        any::<u32>().prop_map(Data::DoubleLongUnsigned),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Data::OctetString),
        prop::collection::vec(0x20u8..0x7f, 0..40).prop_map(Data::VisibleString),
        ".{0,20}".prop_map(|s: String| Data::Utf8String(s.into_bytes())),
        any::<i8>().prop_map(Data::Bcd),
        any::<i8>().prop_map(Data::Integer),
        any::<i16>().prop_map(Data::Long),
        any::<u8>().prop_map(Data::Unsigned),
        any::<u16>().prop_map(Data::LongUnsigned),
        any::<i64>().prop_map(Data::Long64),
        any::<u64>().prop_map(Data::Long64Unsigned),
        any::<u8>().prop_map(Data::Enum),
        any::<f32>().prop_filter("not NaN", |f| !f.is_nan()).prop_map(Data::Float32),
        any::<f64>().prop_filter("not NaN", |f| !f.is_nan()).prop_map(Data::Float64),
        date_time().prop_map(Data::DateTime),
        date().prop_map(Data::Date),
        time().prop_map(Data::Time),
    ]
}

/// A compact-array of unsigned/long-unsigned/double-long-unsigned elements or of
/// structures of them.
fn compact_array() -> impl Strategy<Value = Data> {
    prop_oneof![
        prop::collection::vec(any::<u32>(), 1..20).prop_map(|v| Data::CompactArray(
            TypeDescription::Simple(6),
            v.into_iter().map(Data::DoubleLongUnsigned).collect()
        )),
        prop::collection::vec((any::<u16>(), any::<i8>()), 1..10).prop_map(|v| Data::CompactArray(
            TypeDescription::Structure(vec![TypeDescription::Simple(18), TypeDescription::Simple(15)]),
            v.into_iter().map(|(a, b)| Data::Structure(vec![Data::LongUnsigned(a), Data::Integer(b)])).collect()
        )),
    ]
}

/// Any `Data` value, nested up to 4 levels.
pub fn data() -> impl Strategy<Value = Data> {
    prop_oneof![4 => simple_data(), 1 => compact_array()].prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Data::Array),
            prop::collection::vec(inner, 0..8).prop_map(Data::Structure),
        ]
    })
}
