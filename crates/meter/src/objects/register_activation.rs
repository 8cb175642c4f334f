//! Register activation (interface class 6 version 0, IEC 62056-6-2 §4.3.5), logical name
//! 0.0.14.0.1.255: which tariff register of active energy import is accumulating.
//!
//! * attribute 2 `register_assignment` = array of object_definition { class_id long-unsigned,
//!   logical_name octet-string }: Register 1.0.1.8.1 (T1) and 1.0.1.8.2 (T2);
//! * attribute 3 `mask_list` = array of register_act_mask { mask_name octet-string,
//!   index_list array of unsigned }: "T1" → `[1]`, "T2" → `[2]` (1-based positions in the
//!   assignment);
//! * attribute 4 `active_mask` octet-string: the mask in force now, as the active Activity
//!   calendar's tariffication scripts select it ([`super::script_table`]).
//!
//! All three are read-only (the assignment is the meter's wiring; the calendar drives the
//! mask); methods 1 add_register, 2 add_mask and 3 delete_mask are not offered.

use dlms::Data;
use dlms::Obis;
use dlms::obis::codes;

use crate::metrology::load_model::Tariff;

/// Interface class id of Register activation.
pub const CLASS_REGISTER_ACTIVATION: u16 = 6;
/// Logical name of the meter's Register activation, 0.0.14.0.1.255.
pub const REGISTER_ACTIVATION: Obis = Obis::new(0, 0, 14, 0, 1, 255);

/// The register mask name of `tariff` ("T1" or "T2").
pub fn mask_name(tariff: Tariff) -> &'static [u8] {
    match tariff {
        Tariff::T1 => b"T1",
        Tariff::T2 => b"T2",
    }
}

/// Attribute value 2..=4 when `active` is the tariff in force (`None` for other indices).
pub fn attribute(id: i8, active: Tariff) -> Option<Data> {
    let object = |ln: Obis| Data::Structure(vec![Data::LongUnsigned(3), Data::OctetString(ln.0.to_vec())]);
    let mask = |t: Tariff, index: u8| {
        Data::Structure(vec![Data::OctetString(mask_name(t).to_vec()), Data::Array(vec![Data::Unsigned(index)])])
    };
    Some(match id {
        2 => Data::Array(vec![object(codes::ACTIVE_ENERGY_IMPORT_T1), object(codes::ACTIVE_ENERGY_IMPORT_T2)]),
        3 => Data::Array(vec![mask(Tariff::T1, 1), mask(Tariff::T2, 2)]),
        4 => Data::OctetString(mask_name(active).to_vec()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes() {
        assert_eq!(attribute(4, Tariff::T2), Some(Data::OctetString(b"T2".to_vec())));
        let Some(Data::Array(masks)) = attribute(3, Tariff::T1) else { panic!("array") };
        assert_eq!(masks.len(), 2);
        let Some(Data::Array(assignment)) = attribute(2, Tariff::T1) else { panic!("array") };
        assert_eq!(
            assignment[1],
            Data::Structure(vec![Data::LongUnsigned(3), Data::OctetString(vec![1, 0, 1, 8, 2, 255])])
        );
        assert_eq!(attribute(5, Tariff::T1), None);
    }
}
