//! Helpers shared by the meter's integration tests: descriptors, selective-access builders
//! and decoders for buffer rows.
#![allow(dead_code)]

use dlms::datetime::CosemDateTime;
use dlms::obis::codes;
use dlms::xdlms::{
    CaptureObjectDefinition, CosemAttributeDescriptor, EntryDescriptor, RangeDescriptor, SelectiveAccess,
};
use dlms::{Data, Obis};
use jiff::{SignedDuration, Timestamp};
use meter::{MeterConfig, SimulatedMeter};

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp literal")
}

pub fn meter(seed: u64) -> SimulatedMeter {
    SimulatedMeter::new(&format!("S{:012X}", seed & 0xFFFF_FFFF_FFFF), seed, MeterConfig::default())
        .expect("valid meter")
}

pub fn attr(class_id: u16, ln: Obis, attribute_id: i8) -> CosemAttributeDescriptor {
    CosemAttributeDescriptor::new(class_id, ln, attribute_id)
}

pub const BUFFER: CosemAttributeDescriptor = CosemAttributeDescriptor::new(7, codes::LOAD_PROFILE_1, 2);

pub fn column(class_id: u16, logical_name: Obis) -> CaptureObjectDefinition {
    CaptureObjectDefinition { class_id, logical_name, attribute_index: 2, data_index: 0 }
}

pub fn clock_column() -> CaptureObjectDefinition {
    column(8, codes::CLOCK)
}

/// A range descriptor over the clock column with octet-string(12) bounds.
pub fn range(from: CosemDateTime, to: CosemDateTime, selected: Vec<CaptureObjectDefinition>) -> SelectiveAccess {
    SelectiveAccess::Range(RangeDescriptor {
        restricting_object: clock_column(),
        from_value: Data::OctetString(from.to_octets()),
        to_value: Data::OctetString(to.to_octets()),
        selected_values: selected,
    })
}

pub fn entries(from_entry: u32, to_entry: u32, from_col: u16, to_col: u16) -> SelectiveAccess {
    SelectiveAccess::Entry(EntryDescriptor {
        from_entry,
        to_entry,
        from_selected_value: from_col,
        to_selected_value: to_col,
    })
}

/// A buffer row with all six columns, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub time: CosemDateTime,
    pub status: u8,
    pub import_wh: u32,
    pub export_wh: u32,
    pub q_import: u32,
    pub q_export: u32,
}

pub fn rows(buffer: &Data) -> Vec<Row> {
    let Data::Array(entries) = buffer else { panic!("buffer is an array: {buffer:?}") };
    entries
        .iter()
        .map(|e| {
            let Data::Structure(c) = e else { panic!("entry is a structure") };
            assert_eq!(c.len(), 6, "all columns");
            let u = |d: &Data| match d {
                Data::DoubleLongUnsigned(v) => *v,
                other => panic!("double-long-unsigned expected, got {other:?}"),
            };
            let Data::OctetString(t) = &c[0] else { panic!("clock column is octet-string") };
            let Data::Unsigned(status) = c[1] else { panic!("status column is unsigned") };
            Row {
                time: CosemDateTime::from_octets(t).expect("12-byte date-time"),
                status,
                import_wh: u(&c[2]),
                export_wh: u(&c[3]),
                q_import: u(&c[4]),
                q_export: u(&c[5]),
            }
        })
        .collect()
}

/// Reads a double-long-unsigned register value through GET.
pub fn read_register(m: &mut SimulatedMeter, now: Timestamp, ln: Obis) -> u32 {
    match m.get(now, &attr(3, ln, 2), None) {
        Ok(Data::DoubleLongUnsigned(v)) => v,
        other => panic!("register {ln}: {other:?}"),
    }
}

/// The true time at which the meter's clock shows `meter_time`.
pub fn true_time_for(m: &SimulatedMeter, meter_time: Timestamp) -> Timestamp {
    meter_time - SignedDuration::from_millis(m.clock().offset_ms())
}
