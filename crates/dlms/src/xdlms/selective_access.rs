//! Selective access to Profile generic buffers (IEC 62056-6-2 §4.3.6, attribute 2
//! `buffer`, access selectors 1 `range_descriptor` and 2 `entry_descriptor`), carried in
//! the `Selective-Access-Descriptor` of a GET (IEC 62056-5-3 §9.5).

use serde::Serialize;

use crate::data::Data;
use crate::obis::Obis;

/// A capture object definition as used in `range_descriptor.restricting_object` and
/// `selected_values`: structure { class_id: long-unsigned, logical_name: octet-string(6),
/// attribute_index: integer, data_index: long-unsigned }.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct CaptureObjectDefinition {
    /// Interface class of the captured object.
    pub class_id: u16,
    /// Its logical name.
    pub logical_name: Obis,
    /// Captured attribute (e.g. 2 = value / time).
    pub attribute_index: i8,
    /// Element within the attribute; 0 = the whole attribute.
    pub data_index: u16,
}

/// Selector 1, `range_descriptor`: entries whose `restricting_object` value lies in
/// `[from_value, to_value]` (for a Clock restricting object: date-times, inclusive on
/// both ends), reduced to the `selected_values` columns (empty = all columns).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RangeDescriptor {
    /// The column the range applies to (normally the Clock, 0.0.1.0.0.255 attribute 2).
    pub restricting_object: CaptureObjectDefinition,
    /// Lower bound (inclusive), typically a date-time as octet-string(12).
    pub from_value: Data,
    /// Upper bound (inclusive).
    pub to_value: Data,
    /// Columns to return; empty = all.
    pub selected_values: Vec<CaptureObjectDefinition>,
}

/// Selector 2, `entry_descriptor`: entries `from_entry..=to_entry` (1-based, oldest
/// first; `to_entry` 0 = the newest entry) and columns `from_selected_value..=
/// to_selected_value` (1-based; 0 = the last column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EntryDescriptor {
    /// First entry, 1-based (double-long-unsigned).
    pub from_entry: u32,
    /// Last entry, 1-based; 0 = up to the newest.
    pub to_entry: u32,
    /// First column, 1-based (long-unsigned).
    pub from_selected_value: u16,
    /// Last column, 1-based; 0 = up to the last.
    pub to_selected_value: u16,
}

/// A `Selective-Access-Descriptor`: the access selector and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum SelectiveAccess {
    /// Selector 1.
    Range(RangeDescriptor),
    /// Selector 2.
    Entry(EntryDescriptor),
    /// Any other selector, with its raw parameters (class-specific selectors of other
    /// interface classes).
    Other {
        /// The access selector (Unsigned8).
        selector: u8,
        /// Its parameters.
        parameters: Data,
    },
}

impl SelectiveAccess {
    /// The access selector number (1 range, 2 entry).
    pub fn selector(&self) -> u8 {
        match self {
            SelectiveAccess::Range(_) => 1,
            SelectiveAccess::Entry(_) => 2,
            SelectiveAccess::Other { selector, .. } => *selector,
        }
    }
}
