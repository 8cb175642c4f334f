//! Selective access to Profile generic buffers (IEC 62056-6-2 §4.3.6, attribute 2
//! `buffer`, access selectors 1 `range_descriptor` and 2 `entry_descriptor`), carried in
//! the `Selective-Access-Descriptor` of a GET (IEC 62056-5-3 §9.5).

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};
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

/// Access selector of [`RangeDescriptor`] (IEC 62056-6-2 §4.3.6).
pub const RANGE_DESCRIPTOR_SELECTOR: u8 = 1;
/// Access selector of [`EntryDescriptor`] (IEC 62056-6-2 §4.3.6).
pub const ENTRY_DESCRIPTOR_SELECTOR: u8 = 2;

fn members<'d>(d: &'d Data, what: &'static str, n: usize) -> Result<&'d [Data], DecodeError> {
    match d {
        Data::Structure(m) if m.len() == n => Ok(m),
        Data::Structure(m) => {
            Err(DecodeError::invalid(what, format!("structure has {} elements, expected {n}", m.len())))
        }
        other => Err(DecodeError::invalid(what, format!("expected a structure, got A-XDR type {}", other.tag()))),
    }
}

fn wrong_type(what: &'static str, expected: &str, got: &Data) -> DecodeError {
    DecodeError::invalid(what, format!("expected {expected}, got A-XDR type {}", got.tag()))
}

impl CaptureObjectDefinition {
    /// The A-XDR form: structure { long-unsigned class_id, octet-string(6) logical_name,
    /// integer attribute_index, long-unsigned data_index }.
    pub fn to_data(&self) -> Data {
        Data::Structure(vec![
            Data::LongUnsigned(self.class_id),
            Data::OctetString(self.logical_name.as_bytes().to_vec()),
            Data::Integer(self.attribute_index),
            Data::LongUnsigned(self.data_index),
        ])
    }

    /// Reads the A-XDR form given in [`CaptureObjectDefinition::to_data`].
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] when `d` is not a 4-element structure of exactly those
    /// types or the logical name is not 6 bytes.
    pub fn from_data(d: &Data) -> Result<Self, DecodeError> {
        const WHAT: &str = "capture object definition";
        let [c, ln, a, di] = members(d, WHAT, 4)? else {
            return Err(DecodeError::invalid(WHAT, "structure has the wrong element count"));
        };
        let Data::LongUnsigned(class_id) = c else { return Err(wrong_type(WHAT, "long-unsigned class_id", c)) };
        let logical_name = match ln {
            Data::OctetString(b) => Obis::from_slice(b)
                .ok_or_else(|| DecodeError::invalid(WHAT, format!("logical_name is {} bytes, not 6", b.len())))?,
            other => return Err(wrong_type(WHAT, "octet-string logical_name", other)),
        };
        let Data::Integer(attribute_index) = a else { return Err(wrong_type(WHAT, "integer attribute_index", a)) };
        let Data::LongUnsigned(data_index) = di else { return Err(wrong_type(WHAT, "long-unsigned data_index", di)) };
        Ok(CaptureObjectDefinition {
            class_id: *class_id,
            logical_name,
            attribute_index: *attribute_index,
            data_index: *data_index,
        })
    }
}

impl RangeDescriptor {
    /// The access-parameters of selector 1: structure { restricting_object, from_value,
    /// to_value, selected_values array of capture object definitions }.
    pub fn to_data(&self) -> Data {
        Data::Structure(vec![
            self.restricting_object.to_data(),
            self.from_value.clone(),
            self.to_value.clone(),
            Data::Array(self.selected_values.iter().map(CaptureObjectDefinition::to_data).collect()),
        ])
    }

    /// Reads the access-parameters of selector 1.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] when the shape or the element types differ from
    /// [`RangeDescriptor::to_data`].
    pub fn from_data(d: &Data) -> Result<Self, DecodeError> {
        const WHAT: &str = "range_descriptor";
        let [ro, from, to, sel] = members(d, WHAT, 4)? else {
            return Err(DecodeError::invalid(WHAT, "structure has the wrong element count"));
        };
        let selected_values = match sel {
            Data::Array(v) => v.iter().map(CaptureObjectDefinition::from_data).collect::<Result<Vec<_>, _>>()?,
            other => return Err(wrong_type(WHAT, "array selected_values", other)),
        };
        Ok(RangeDescriptor {
            restricting_object: CaptureObjectDefinition::from_data(ro)?,
            from_value: from.clone(),
            to_value: to.clone(),
            selected_values,
        })
    }
}

impl EntryDescriptor {
    /// The access-parameters of selector 2: structure { double-long-unsigned from_entry,
    /// double-long-unsigned to_entry, long-unsigned from_selected_value, long-unsigned
    /// to_selected_value }.
    pub fn to_data(&self) -> Data {
        Data::Structure(vec![
            Data::DoubleLongUnsigned(self.from_entry),
            Data::DoubleLongUnsigned(self.to_entry),
            Data::LongUnsigned(self.from_selected_value),
            Data::LongUnsigned(self.to_selected_value),
        ])
    }

    /// Reads the access-parameters of selector 2.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] when the shape or the element types differ from
    /// [`EntryDescriptor::to_data`].
    pub fn from_data(d: &Data) -> Result<Self, DecodeError> {
        const WHAT: &str = "entry_descriptor";
        let [fe, te, fs, ts] = members(d, WHAT, 4)? else {
            return Err(DecodeError::invalid(WHAT, "structure has the wrong element count"));
        };
        let Data::DoubleLongUnsigned(from_entry) = fe else { return Err(wrong_type(WHAT, "double-long-unsigned", fe)) };
        let Data::DoubleLongUnsigned(to_entry) = te else { return Err(wrong_type(WHAT, "double-long-unsigned", te)) };
        let Data::LongUnsigned(from_selected_value) = fs else { return Err(wrong_type(WHAT, "long-unsigned", fs)) };
        let Data::LongUnsigned(to_selected_value) = ts else { return Err(wrong_type(WHAT, "long-unsigned", ts)) };
        Ok(EntryDescriptor {
            from_entry: *from_entry,
            to_entry: *to_entry,
            from_selected_value: *from_selected_value,
            to_selected_value: *to_selected_value,
        })
    }
}

impl SelectiveAccess {
    /// The access-parameters as an A-XDR `Data` value (see [`RangeDescriptor::to_data`],
    /// [`EntryDescriptor::to_data`]; `Other` gives its parameters unchanged).
    pub fn to_data(&self) -> Data {
        match self {
            SelectiveAccess::Range(r) => r.to_data(),
            SelectiveAccess::Entry(e) => e.to_data(),
            SelectiveAccess::Other { parameters, .. } => parameters.clone(),
        }
    }

    /// Interprets `parameters` for `selector`: 1 → [`SelectiveAccess::Range`], 2 →
    /// [`SelectiveAccess::Entry`], any other selector → [`SelectiveAccess::Other`].
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] when selector 1 or 2 comes with parameters of another
    /// shape.
    pub fn from_data(selector: u8, parameters: &Data) -> Result<Self, DecodeError> {
        match selector {
            RANGE_DESCRIPTOR_SELECTOR => Ok(SelectiveAccess::Range(RangeDescriptor::from_data(parameters)?)),
            ENTRY_DESCRIPTOR_SELECTOR => Ok(SelectiveAccess::Entry(EntryDescriptor::from_data(parameters)?)),
            _ => Ok(SelectiveAccess::Other { selector, parameters: parameters.clone() }),
        }
    }
}

impl Codec for SelectiveAccess {
    /// `Selective-Access-Descriptor ::= SEQUENCE { access-selector Unsigned8,
    /// access-parameters Data }` (IEC 62056-5-3 §9.5): the selector byte, then the
    /// A-XDR parameters.
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.selector());
        self.to_data().encode(out);
    }

    /// Decodes the wire form. Selector 1 or 2 whose parameters do not have the standard
    /// shape decodes as [`SelectiveAccess::Other`] (so a server can answer such a request
    /// with a data-access-result rather than rejecting the whole APDU); re-encoding gives
    /// the same bytes.
    ///
    /// # Errors
    /// Truncated input or malformed A-XDR parameters.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let selector = r.u8("access-selector")?;
        let parameters = Data::decode(r)?;
        Ok(SelectiveAccess::from_data(selector, &parameters).unwrap_or(SelectiveAccess::Other { selector, parameters }))
    }
}

/// proptest strategies for selective access (test builds only).
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    use super::*;
    use crate::proptest_strategies::{data, obis};

    /// Any capture object definition.
    pub fn capture_object_definition() -> impl Strategy<Value = CaptureObjectDefinition> {
        (any::<u16>(), obis(), any::<i8>(), any::<u16>()).prop_map(
            |(class_id, logical_name, attribute_index, data_index)| CaptureObjectDefinition {
                class_id,
                logical_name,
                attribute_index,
                data_index,
            },
        )
    }

    /// Any selective access descriptor in canonical form (`Other` only with selectors
    /// other than 1 and 2).
    pub fn selective_access() -> impl Strategy<Value = SelectiveAccess> {
        prop_oneof![
            (capture_object_definition(), data(), data(), prop::collection::vec(capture_object_definition(), 0..4))
                .prop_map(|(restricting_object, from_value, to_value, selected_values)| {
                    SelectiveAccess::Range(RangeDescriptor {
                        restricting_object,
                        from_value,
                        to_value,
                        selected_values,
                    })
                }),
            (any::<u32>(), any::<u32>(), any::<u16>(), any::<u16>()).prop_map(|(a, b, c, d)| SelectiveAccess::Entry(
                EntryDescriptor { from_entry: a, to_entry: b, from_selected_value: c, to_selected_value: d }
            )),
            (any::<u8>().prop_filter("not 1 or 2", |s| *s != 1 && *s != 2), data())
                .prop_map(|(selector, parameters)| SelectiveAccess::Other { selector, parameters }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use crate::datetime::{CosemDate, CosemDateTime, CosemTime};
    use proptest::prelude::*;

    fn clock_column() -> CaptureObjectDefinition {
        CaptureObjectDefinition {
            class_id: 8,
            logical_name: Obis::new(0, 0, 1, 0, 0, 255),
            attribute_index: 2,
            data_index: 0,
        }
    }

    #[test]
    fn entry_descriptor_known_answer() {
        // selector 02, structure(4) { 06 00000001, 06 0000000A, 12 0001, 12 0000 }
        let e = SelectiveAccess::Entry(EntryDescriptor {
            from_entry: 1,
            to_entry: 10,
            from_selected_value: 1,
            to_selected_value: 0,
        });
        let want = [0x02, 0x02, 0x04, 0x06, 0, 0, 0, 1, 0x06, 0, 0, 0, 10, 0x12, 0, 1, 0x12, 0, 0];
        assert_eq!(e.to_bytes(), want);
        assert_eq!(SelectiveAccess::from_bytes(&want), Ok(e));
    }

    #[test]
    fn range_descriptor_known_answer() {
        // Load profile by clock range 2024-01-01 00:00 .. 01:00, all columns.
        let dt = |hour| CosemDateTime {
            date: CosemDate { year: 2024, month: 1, day_of_month: 1, day_of_week: 1 },
            time: CosemTime { hour, minute: 0, second: 0, hundredths: 0 },
            deviation: 0,
            clock_status: 0,
        };
        let r = SelectiveAccess::Range(RangeDescriptor {
            restricting_object: clock_column(),
            from_value: Data::OctetString(dt(0).to_octets()),
            to_value: Data::OctetString(dt(1).to_octets()),
            selected_values: vec![],
        });
        let mut want = vec![0x01, 0x02, 0x04];
        want.extend_from_slice(&[
            0x02, 0x04, 0x12, 0x00, 0x08, 0x09, 0x06, 0, 0, 1, 0, 0, 0xFF, 0x0F, 0x02, 0x12, 0, 0,
        ]);
        want.extend_from_slice(&[0x09, 0x0C, 0x07, 0xE8, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
        want.extend_from_slice(&[0x09, 0x0C, 0x07, 0xE8, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
        want.extend_from_slice(&[0x01, 0x00]);
        assert_eq!(r.to_bytes(), want);
        assert_eq!(SelectiveAccess::from_bytes(&want), Ok(r));
    }

    #[test]
    fn from_data_is_strict_and_wire_decode_falls_back_to_other() {
        // entry descriptor with a long-unsigned where a double-long-unsigned belongs
        let bad = Data::Structure(vec![
            Data::LongUnsigned(1),
            Data::DoubleLongUnsigned(2),
            Data::LongUnsigned(1),
            Data::LongUnsigned(0),
        ]);
        assert!(matches!(SelectiveAccess::from_data(2, &bad), Err(DecodeError::Invalid { .. })));
        assert!(matches!(SelectiveAccess::from_data(1, &Data::NullData), Err(DecodeError::Invalid { .. })));
        let short_ln = Data::Structure(vec![
            Data::LongUnsigned(8),
            Data::OctetString(vec![0, 0, 1, 0, 0]),
            Data::Integer(2),
            Data::LongUnsigned(0),
        ]);
        assert!(CaptureObjectDefinition::from_data(&short_ln).is_err());
        let mut wire = vec![0x02];
        bad.encode(&mut wire);
        let got = SelectiveAccess::from_bytes(&wire).unwrap();
        assert_eq!(got, SelectiveAccess::Other { selector: 2, parameters: bad });
        assert_eq!(got.to_bytes(), wire);
        assert_eq!(SelectiveAccess::from_data(7, &Data::Unsigned(3)).unwrap().selector(), 7);
    }

    proptest! {
        #[test]
        fn selective_access_round_trips(s in selective_access()) {
            prop_assert_eq!(SelectiveAccess::from_data(s.selector(), &s.to_data()).unwrap(), s.clone());
            let bytes = s.to_bytes();
            prop_assert_eq!(SelectiveAccess::from_bytes(&bytes).unwrap(), s);
            for n in 0..bytes.len() {
                prop_assert!(SelectiveAccess::from_bytes(&bytes[..n]).is_err());
            }
        }
    }
}
