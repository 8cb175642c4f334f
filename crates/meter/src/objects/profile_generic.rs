//! The 15-minute load profile, Profile generic 1.0.99.1.0.255 (interface class 7 version 1,
//! IEC 62056-6-2 §4.3.6), and its selective access (§4.3.6 access selectors 1
//! `range_descriptor` and 2 `entry_descriptor`).
//!
//! The buffer is never stored: it is the last `profile_entries` captures ending at the meter's
//! current time, generated on demand from the metrology. Capture `j ≥ 1` is taken at
//! `commissioning + j × 900 s` and holds the registers at that instant.
//!
//! Attributes: 2 `buffer` = array of structure { clock octet-string(12), status unsigned,
//! +A double-long-unsigned Wh, −A Wh, +R varh, −R varh }, oldest first; 3 `capture_objects`
//! = array of capture_object_definition structure { class_id long-unsigned, logical_name
//! octet-string(6), attribute_index integer, data_index long-unsigned }; 4 `capture_period`
//! double-long-unsigned 900 s; 5 `sort_method` enum 1 (fifo); 6 `sort_object` (all zero:
//! none); 7 `entries_in_use` and 8 `profile_entries` double-long-unsigned.

use dlms::Data;
use dlms::datetime::CosemDateTime;
use dlms::obis::codes;
use dlms::xdlms::{CaptureObjectDefinition, DataAccessResult, SelectiveAccess};

use crate::metrology::load_model::INTERVAL_MS;
use crate::metrology::registers::EnergyRegisters;
use crate::objects::{CLASS_CLOCK, CLASS_DATA, CLASS_REGISTER};
use crate::time_zone::MeterTimeZone;

/// Attribute 4 `capture_period`, seconds.
pub const CAPTURE_PERIOD_S: u32 = 900;
/// Attribute 5 `sort_method`: (1) fifo.
pub const SORT_METHOD_FIFO: u8 = 1;

/// Profile status bit 3: daylight saving active at the capture time (the DSMR / IDIS
/// "AMR profile status" bit assignment).
pub const STATUS_DAYLIGHT_SAVING: u8 = 0x08;
/// Profile status bit 5: the clock was adjusted during the interval (DSMR / IDIS).
pub const STATUS_CLOCK_ADJUSTED: u8 = 0x20;
/// Profile status bit 6: the disconnector relay was open during (part of) the interval.
/// A gridedge assignment of a bit DSMR / IDIS leave reserved.
pub const STATUS_SUPPLY_DISCONNECTED: u8 = 0x40;

const fn capture(class_id: u16, logical_name: dlms::Obis) -> CaptureObjectDefinition {
    CaptureObjectDefinition { class_id, logical_name, attribute_index: 2, data_index: 0 }
}

/// Attribute 3 `capture_objects`, the buffer's columns in order: clock time, profile status,
/// +A, −A, +R, −R (all attribute 2).
pub const CAPTURE_OBJECTS: [CaptureObjectDefinition; 6] = [
    capture(CLASS_CLOCK, codes::CLOCK),
    capture(CLASS_DATA, codes::LOAD_PROFILE_STATUS),
    capture(CLASS_REGISTER, codes::ACTIVE_ENERGY_IMPORT),
    capture(CLASS_REGISTER, codes::ACTIVE_ENERGY_EXPORT),
    capture(CLASS_REGISTER, codes::REACTIVE_ENERGY_IMPORT),
    capture(CLASS_REGISTER, codes::REACTIVE_ENERGY_EXPORT),
];

/// A capture_object_definition as Data.
pub fn capture_object_data(c: &CaptureObjectDefinition) -> Data {
    Data::Structure(vec![
        Data::LongUnsigned(c.class_id),
        Data::OctetString(c.logical_name.0.to_vec()),
        Data::Integer(c.attribute_index),
        Data::LongUnsigned(c.data_index),
    ])
}

/// Attribute 3 as Data.
pub fn capture_objects_data() -> Data {
    Data::Array(CAPTURE_OBJECTS.iter().map(capture_object_data).collect())
}

/// Attribute 6 `sort_object`: none (an all-zero capture object definition), fifo.
pub fn sort_object_data() -> Data {
    capture_object_data(&CaptureObjectDefinition {
        class_id: 0,
        logical_name: dlms::Obis([0; 6]),
        attribute_index: 0,
        data_index: 0,
    })
}

/// One buffer row before column selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileEntry {
    /// Capture time (local date-time of the interval end, with deviation and clock status).
    pub capture_time: CosemDateTime,
    /// Profile status bits (`STATUS_*`).
    pub status: u8,
    /// Registers at the capture time.
    pub registers: EnergyRegisters,
}

impl ProfileEntry {
    /// Column `i` (0-based, in `CAPTURE_OBJECTS` order) as Data. Energies roll over modulo
    /// 2^32 like the registers.
    pub fn column(&self, i: usize) -> Data {
        let r = &self.registers;
        match i {
            0 => Data::OctetString(self.capture_time.to_octets()),
            1 => Data::Unsigned(self.status),
            2 => Data::DoubleLongUnsigned(r.active_import_wh as u32),
            3 => Data::DoubleLongUnsigned(r.active_export_wh as u32),
            4 => Data::DoubleLongUnsigned(r.reactive_import_varh as u32),
            _ => Data::DoubleLongUnsigned(r.reactive_export_varh as u32),
        }
    }

    /// The row as a structure of the selected columns.
    pub fn to_data(&self, columns: &[usize]) -> Data {
        Data::Structure(columns.iter().map(|&c| self.column(c)).collect())
    }
}

/// The captures currently in the buffer: indices `first..=last` (empty when `last == 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileWindow {
    /// Index of the oldest capture held (≥ 1).
    pub first: u64,
    /// Index of the newest capture (0 = none yet).
    pub last: u64,
    /// Commissioning epoch, UTC ms: capture `j` is at `epoch_ms + j × 900 s`.
    pub epoch_ms: i64,
}

impl ProfileWindow {
    /// The window of a profile holding at most `profile_entries` captures, newest `last`.
    pub fn new(last: u64, profile_entries: u32, epoch_ms: i64) -> ProfileWindow {
        let first = last.saturating_sub(u64::from(profile_entries).saturating_sub(1)).max(1);
        ProfileWindow { first, last, epoch_ms }
    }

    /// Attribute 7 `entries_in_use`.
    pub fn entries_in_use(&self) -> u64 {
        if self.last >= self.first { self.last - self.first + 1 } else { 0 }
    }
}

/// The rows (capture indices `first..=last`, empty when `first > last`) and columns
/// (0-based indices into `CAPTURE_OBJECTS`, in output order) a GET of the buffer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferSelection {
    /// First capture index.
    pub first: u64,
    /// Last capture index.
    pub last: u64,
    /// Selected columns.
    pub columns: Vec<usize>,
}

impl BufferSelection {
    /// Number of rows selected.
    pub fn len(&self) -> u64 {
        if self.last >= self.first { self.last - self.first + 1 } else { 0 }
    }

    /// Whether no row is selected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn column_of(def: &CaptureObjectDefinition) -> Option<usize> {
    CAPTURE_OBJECTS.iter().position(|c| {
        c.class_id == def.class_id && c.logical_name == def.logical_name && c.attribute_index == def.attribute_index
    })
}

/// Resolves the selective access of a buffer GET against the current `window`.
///
/// * none: every entry, every column;
/// * `range_descriptor`: the restricting object must be the clock column (class 8,
///   0.0.1.0.0.255, attribute 2); `from_value`/`to_value` are date-times (octet-string(12) or
///   date-time) read in `zone` when their deviation is not specified; the entries whose capture
///   time lies in [from, to] (inclusive); `selected_values` picks columns by (class, logical
///   name, attribute), empty = all;
/// * `entry_descriptor`: entries `from_entry..=to_entry`, 1-based, oldest first (0 as
///   from_entry counts as 1, `to_entry` 0 or beyond the end = the newest), columns
///   `from_selected_value..=to_selected_value` likewise (0 as to = the last column).
///
/// An empty row range is not an error (an empty array is returned).
///
/// # Errors
/// `TypeUnmatched` when from/to are not date-times; `OtherReason` for another restricting
/// object, a bound that is not a concrete instant, an unknown selected column, an empty column
/// range or an unsupported selector.
pub fn select(
    access: Option<&SelectiveAccess>,
    window: &ProfileWindow,
    zone: &MeterTimeZone,
) -> Result<BufferSelection, DataAccessResult> {
    let all_columns = || (0..CAPTURE_OBJECTS.len()).collect::<Vec<_>>();
    match access {
        None => Ok(BufferSelection { first: window.first, last: window.last, columns: all_columns() }),
        Some(SelectiveAccess::Range(r)) => {
            if column_of(&r.restricting_object) != Some(0) {
                return Err(DataAccessResult::OtherReason);
            }
            let from = r.from_value.as_date_time().ok_or(DataAccessResult::TypeUnmatched)?;
            let to = r.to_value.as_date_time().ok_or(DataAccessResult::TypeUnmatched)?;
            let from_ms = zone.ms_from_cosem(&from).ok_or(DataAccessResult::OtherReason)?;
            let to_ms = zone.ms_from_cosem(&to).ok_or(DataAccessResult::OtherReason)?;
            let columns = if r.selected_values.is_empty() {
                all_columns()
            } else {
                r.selected_values
                    .iter()
                    .map(column_of)
                    .collect::<Option<Vec<_>>>()
                    .ok_or(DataAccessResult::OtherReason)?
            };
            // Capture j is at epoch + j·I: smallest j with time ≥ from, largest with ≤ to.
            let lo = -(-(from_ms - window.epoch_ms)).div_euclid(INTERVAL_MS);
            let hi = (to_ms - window.epoch_ms).div_euclid(INTERVAL_MS);
            let first = u64::try_from(lo).unwrap_or(0).max(window.first);
            let last = if hi < 0 { 0 } else { (hi as u64).min(window.last) };
            Ok(BufferSelection { first, last: if first > last { first - 1 } else { last }, columns })
        }
        Some(SelectiveAccess::Entry(e)) => {
            let n = window.entries_in_use();
            let from_entry = u64::from(e.from_entry.max(1));
            let to_entry = if e.to_entry == 0 { n } else { u64::from(e.to_entry).min(n) };
            let ncols = CAPTURE_OBJECTS.len();
            let from_col = usize::from(e.from_selected_value.max(1));
            let to_col = if e.to_selected_value == 0 { ncols } else { usize::from(e.to_selected_value).min(ncols) };
            if from_col > to_col {
                return Err(DataAccessResult::OtherReason);
            }
            let columns = (from_col - 1..to_col).collect();
            if from_entry > to_entry {
                return Ok(BufferSelection { first: window.first, last: window.first - 1, columns });
            }
            Ok(BufferSelection { first: window.first + from_entry - 1, last: window.first + to_entry - 1, columns })
        }
        Some(SelectiveAccess::Other { .. }) => Err(DataAccessResult::OtherReason),
    }
}
