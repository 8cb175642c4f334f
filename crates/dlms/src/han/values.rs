//! Interpretation of a HAN/P1 Data-Notification body (IEC 62056-5-3 §9.3.10) into a list
//! of values with OBIS code, raw value, scaler/unit, scaled value and the meter time.
//!
//! Meters lay out the notification body in one of these ways, all handled here:
//!
//! 1. **OBIS structures** (Aidon, Sagemcom-style): an array or structure of
//!    `structure { obis octet-string(6), value [, scaler_unit structure] }`.
//! 2. **Flat OBIS/value** (Kamstrup, OBIS-coded Kaifa, Sagemcom triples): one structure
//!    alternating `obis octet-string(6), value [, scaler_unit]`, possibly with unlabelled
//!    leading or trailing elements (Kamstrup's list version string) and `null-data` pairs
//!    standing for absent values. Forms 1 and 2 may be mixed in one body (Austrian Kaifa).
//! 3. **Capture-object push** (Landis+Gyr E450): a structure whose first element is the
//!    push object list `array of structure { class_id long-unsigned, logical_name
//!    octet-string(6), attribute_index integer, data_index long-unsigned }` (Push setup,
//!    IEC 62056-6-2 §4.4.8, attribute 2); element *i* of the body is the value of capture
//!    object *i*.
//! 4. **Positional lists** without OBIS codes (Norwegian Kaifa lists 1/2/3, Austrian
//!    Landis+Gyr): the meaning of each position comes from the list definitions in
//!    [`super::lists`], chosen by length and shape.
//! 5. Anything else: the values are listed without OBIS codes ([`ListFormat::Unlabelled`]).
//!
//! Scalers come from the frame's `scaler_unit` when present; otherwise from the vendor's
//! published resolutions ([`super::lists::ScalerConvention`]); otherwise the unit follows
//! from the OBIS quantity with scaler 0 ([`ScalerSource::Quantity`]).

use serde::Serialize;

use crate::data::Data;
use crate::datetime::CosemDateTime;
use crate::obis::Obis;
use crate::unit::{CosemUnit, ScalerUnit};
use crate::xdlms::DataNotification;

use super::lists::{self, KAIFA_NVE, KAMSTRUP_NVE, LANDIS_GYR_E450, ScalerConvention};
use super::meter_time::{MeterTime, MeterTimeSource};

/// A value as it appeared on the wire.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum RawValue {
    /// An A-XDR value of a DLMS notification.
    Dlms(Data),
    /// The text inside the parentheses of a DSMR line, without the `*unit` part.
    Dsmr(String),
}

/// Where a value's OBIS code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum ObisSource {
    /// The frame carries it next to the value.
    Frame,
    /// The push object list at the start of the notification.
    CaptureObjects,
    /// A positional list definition (its name, see [`super::lists::POSITIONAL_LISTS`]).
    PositionalList(&'static str),
    /// The DSMR line's identifier.
    Dsmr,
}

/// Where a value's scaler and unit come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum ScalerSource {
    /// A `scaler_unit` structure in the frame (IEC 62056-6-2 §4.3.2).
    Frame,
    /// A positional list definition (its name).
    PositionalList(&'static str),
    /// A vendor's published resolutions for lists without scalers (its name).
    Convention(&'static str),
    /// The `*unit` of a DSMR value; the scaler turns kilo-units and decimals into the base
    /// unit (`1.453*kW` = 1453 W).
    DsmrUnit,
    /// Nothing states it: the unit follows from the OBIS quantity and the scaler is 0.
    Quantity,
}

/// One value of a HAN/P1 reading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HanValue {
    /// Position among the values of the reading (0-based; absent `null-data` pairs are not
    /// counted).
    pub index: usize,
    /// The COSEM object the value belongs to, when known.
    pub obis: Option<Obis>,
    /// Where `obis` comes from.
    pub obis_source: Option<ObisSource>,
    /// The value as sent.
    pub raw: RawValue,
    /// Scaler and unit applied to numeric values.
    pub scaler_unit: Option<ScalerUnit>,
    /// Where `scaler_unit` comes from.
    pub scaler_source: Option<ScalerSource>,
    /// The physical value `raw × 10^scaler` in `unit` (numeric values only).
    pub value: Option<f64>,
    /// The unit symbol of `value` (`"Wh"`, `"V"`), `None` for dimensionless values.
    pub unit: Option<String>,
    /// Readable text: the exact decimal value with its unit for numbers (`"230.7 V"`), the
    /// string for octet-/visible-strings that are printable ASCII, the date-time for
    /// date-times, upper-case hex for other octet-strings.
    pub text: Option<String>,
}

impl HanValue {
    /// A numeric or textual value of a DLMS notification, scaled with `scaler` when given.
    pub fn from_dlms(
        index: usize,
        obis: Option<(Obis, ObisSource)>,
        raw: Data,
        scaler: Option<(ScalerUnit, ScalerSource)>,
    ) -> HanValue {
        let numeric = raw.as_f64().is_some() && !matches!(raw, Data::Enum(_) | Data::Boolean(_));
        let scaler = if numeric { scaler } else { None };
        let (value, text, unit) = match &scaler {
            Some((su, _)) => (su.apply(&raw), su.format_value(&raw), unit_symbol(su.unit)),
            None => (if numeric { raw.as_f64() } else { None }, data_text(&raw), None),
        };
        HanValue {
            index,
            obis: obis.map(|o| o.0),
            obis_source: obis.map(|o| o.1),
            raw: RawValue::Dlms(raw),
            scaler_unit: scaler.map(|s| s.0),
            scaler_source: scaler.map(|s| s.1),
            value,
            unit,
            text,
        }
    }

    /// The value as a COSEM date-time (a `date-time` or a 12-byte octet-string).
    pub fn date_time(&self) -> Option<CosemDateTime> {
        match &self.raw {
            RawValue::Dlms(d) => d.as_date_time(),
            RawValue::Dsmr(_) => None,
        }
    }

    /// The value as text when it is a string (visible-string, utf8-string, printable
    /// octet-string, DSMR text).
    pub fn string(&self) -> Option<String> {
        match &self.raw {
            RawValue::Dlms(d) => d.as_bytes().and_then(printable),
            RawValue::Dsmr(s) if self.scaler_unit.is_none() => Some(s.clone()),
            RawValue::Dsmr(_) => None,
        }
    }
}

/// The symbol of a unit, `None` for count (255) and for codes the unit table lacks.
pub(crate) fn unit_symbol(unit: CosemUnit) -> Option<String> {
    unit.symbol().filter(|s| !s.is_empty()).map(str::to_string)
}

/// The bytes as text when they are non-empty printable ASCII.
fn printable(b: &[u8]) -> Option<String> {
    (!b.is_empty() && b.iter().all(|c| (0x20..=0x7E).contains(c))).then(|| String::from_utf8_lossy(b).into_owned())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn data_text(d: &Data) -> Option<String> {
    match d {
        Data::VisibleString(b) | Data::Utf8String(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Data::OctetString(b) => match CosemDateTime::from_octets(b) {
            Ok(dt) if dt.validate().is_ok() && dt.to_local_naive().is_ok() => Some(dt.to_string()),
            _ => Some(printable(b).unwrap_or_else(|| hex(b))),
        },
        Data::DateTime(dt) => Some(dt.to_string()),
        Data::Date(x) => Some(x.to_string()),
        Data::Time(x) => Some(x.to_string()),
        other => other.as_integer().map(|v| v.to_string()).or_else(|| other.as_f64().map(|v| v.to_string())),
    }
}

/// How the notification body was laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum ListFormat {
    /// Form 1: `structure { obis, value [, scaler_unit] }` entries.
    ObisStructures,
    /// Form 2: one structure alternating OBIS codes and values.
    FlatObis,
    /// Forms 1 and 2 mixed in one body.
    MixedObis,
    /// Form 3: a push with its capture-object list.
    CaptureObjects,
    /// Form 4: a positional list (its name).
    Positional(&'static str),
    /// Form 5: no OBIS codes and no known list definition.
    Unlabelled,
    /// A DSMR/P1 text telegram.
    Dsmr,
}

/// The values of one notification, with the meter identity and time found among them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interpretation {
    /// The body layout.
    pub list_format: ListFormat,
    /// The vendor convention used for scalers the frame does not carry, if any.
    pub scaler_convention: Option<&'static str>,
    /// The values in body order.
    pub values: Vec<HanValue>,
    /// The meter number (0.b.96.1.0.255, or Kamstrup's GS1 meter id a.b.0.0.5.255).
    pub meter_id: Option<String>,
    /// The meter time: the Clock value in the body, else the notification date-time.
    pub meter_time: Option<MeterTime>,
}

/// The OBIS code of a 6-byte octet-string.
fn obis_of(d: &Data) -> Option<Obis> {
    match d {
        Data::OctetString(b) => Obis::from_slice(b),
        _ => None,
    }
}

/// `structure { integer, enum }`.
fn scaler_unit_of(d: &Data) -> Option<ScalerUnit> {
    ScalerUnit::from_data(d).ok()
}

/// The `(class_id, logical name, attribute index)` of every push capture object, when
/// `d` is a push object list.
fn capture_objects(d: &Data) -> Option<Vec<(u16, Obis, i8)>> {
    let Data::Array(items) = d else { return None };
    if items.is_empty() {
        return None;
    }
    items
        .iter()
        .map(|item| match item {
            Data::Structure(m) => match m.as_slice() {
                [Data::LongUnsigned(class_id), ln, Data::Integer(attr), Data::LongUnsigned(_)] => {
                    obis_of(ln).map(|o| (*class_id, o, *attr))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The vendor convention for scalers, from the list version / identification strings.
fn convention_for(body: &[Data]) -> Option<&'static ScalerConvention> {
    let strings =
        || body.iter().flat_map(|d| d.as_sequence().unwrap_or(std::slice::from_ref(d))).filter_map(Data::as_bytes);
    if strings().any(|b| b.starts_with(b"Kamstrup_")) {
        Some(&KAMSTRUP_NVE)
    } else if strings().any(|b| b.starts_with(b"KFM_")) {
        Some(&KAIFA_NVE)
    } else {
        None
    }
}

struct Builder {
    values: Vec<HanValue>,
    convention: Option<&'static ScalerConvention>,
}

impl Builder {
    fn push(&mut self, obis: Option<(Obis, ObisSource)>, raw: &Data, frame_scaler: Option<ScalerUnit>) {
        let scaler = match (frame_scaler, obis) {
            (Some(su), _) => Some((su, ScalerSource::Frame)),
            (None, Some((o, _))) => match self.convention.and_then(|c| c.scaler_unit(&o).map(|su| (su, c.name))) {
                Some((su, name)) => Some((su, ScalerSource::Convention(name))),
                None => lists::quantity_unit(&o).map(|u| (ScalerUnit::new(0, u), ScalerSource::Quantity)),
            },
            (None, None) => None,
        };
        let index = self.values.len();
        self.values.push(HanValue::from_dlms(index, obis, raw.clone(), scaler));
    }
}

/// Interprets the body of a Data-Notification (see the module documentation).
pub fn interpret_notification(n: &DataNotification) -> Interpretation {
    let body: &[Data] = match &n.notification_body {
        Data::Array(v) | Data::Structure(v) => v,
        single => std::slice::from_ref(single),
    };
    let (list_format, convention, values) = interpret_body(body);
    let header_time =
        n.date_time.as_ref().and_then(|dt| MeterTime::from_cosem(dt, MeterTimeSource::NotificationHeader));
    let meter_time = clock_time(&values).or(header_time);
    let meter_id = meter_id(&values);
    Interpretation { list_format, scaler_convention: convention.map(|c| c.name), values, meter_id, meter_time }
}

fn interpret_body(body: &[Data]) -> (ListFormat, Option<&'static ScalerConvention>, Vec<HanValue>) {
    // Form 3: capture-object push.
    if let Some(objects) = body.first().and_then(capture_objects) {
        if objects.len() == body.len() {
            let mut b = Builder { values: Vec::new(), convention: Some(&LANDIS_GYR_E450) };
            for ((class_id, obis, attr), raw) in objects.iter().zip(body) {
                // Push setup (class 40) entries are the list itself and the push object's
                // logical name; attribute 2 of data/register objects is the value.
                if *class_id != 40 && *attr == 2 {
                    b.push(Some((*obis, ObisSource::CaptureObjects)), raw, None);
                }
            }
            return (ListFormat::CaptureObjects, b.convention, b.values);
        }
    }
    // Forms 1 and 2.
    let convention = convention_for(body);
    let mut b = Builder { values: Vec::new(), convention };
    let (mut structured, mut flat) = (0usize, 0usize);
    let mut i = 0;
    while let Some(d) = body.get(i) {
        if let Data::Structure(m) = d {
            if let Some(obis) = m.first().and_then(obis_of) {
                if let Some(raw) = m.get(1) {
                    b.push(Some((obis, ObisSource::Frame)), raw, m.get(2).and_then(scaler_unit_of));
                    structured += 1;
                    i += 1;
                    continue;
                }
            }
        }
        if let (Some(obis), Some(raw)) = (obis_of(d), body.get(i + 1)) {
            if obis_of(raw).is_none() || body.get(i + 2).is_none() {
                let su = body.get(i + 2).and_then(scaler_unit_of);
                b.push(Some((obis, ObisSource::Frame)), raw, su);
                flat += 1;
                i += if su.is_some() { 3 } else { 2 };
                continue;
            }
        }
        if matches!(d, Data::NullData) {
            // Kamstrup single-phase lists send null-data pairs for absent phases.
            i += 1;
            continue;
        }
        b.push(None, d, None);
        i += 1;
    }
    if structured + flat > 0 {
        let format = match (structured, flat) {
            (_, 0) => ListFormat::ObisStructures,
            (0, _) => ListFormat::FlatObis,
            _ => ListFormat::MixedObis,
        };
        return (format, convention, b.values);
    }
    // Form 4: positional list.
    if let Some(list) = lists::positional_list_for(body) {
        let values = list
            .entries
            .iter()
            .zip(body)
            .enumerate()
            .map(|(index, (entry, raw))| {
                HanValue::from_dlms(
                    index,
                    entry.obis.map(|o| (o, ObisSource::PositionalList(list.name))),
                    raw.clone(),
                    entry.scaler_unit.map(|su| (su, ScalerSource::PositionalList(list.name))),
                )
            })
            .collect();
        return (ListFormat::Positional(list.name), None, values);
    }
    // Form 5.
    let values = body.iter().enumerate().map(|(i, d)| HanValue::from_dlms(i, None, d.clone(), None)).collect();
    (ListFormat::Unlabelled, None, values)
}

/// The first Clock object (0.b.1.0.0.255) value that converts to a local time.
fn clock_time(values: &[HanValue]) -> Option<MeterTime> {
    values.iter().find_map(|v| {
        let obis = v.obis?;
        if (obis.a(), obis.c(), obis.d(), obis.e()) != (0, 1, 0, 0) {
            return None;
        }
        MeterTime::from_cosem(&v.date_time()?, MeterTimeSource::ClockObject(obis))
    })
}

/// The meter number: 0.b.96.1.0.255 (device ID 1), else a.b.0.0.5.255 (Kamstrup GS1 id).
fn meter_id(values: &[HanValue]) -> Option<String> {
    let find =
        |pred: &dyn Fn(&Obis) -> bool| values.iter().find_map(|v| v.obis.filter(|o| pred(o)).and_then(|_| v.string()));
    find(&|o| (o.a(), o.c(), o.d(), o.e()) == (0, 96, 1, 0)).or_else(|| find(&|o| (o.c(), o.d(), o.e()) == (0, 0, 5)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Codec;
    use proptest::prelude::*;

    fn interpret(h: &str) -> Interpretation {
        let h: String = h.split_whitespace().collect();
        let bytes: Vec<u8> = (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
        interpret_notification(&DataNotification::from_bytes(&bytes).unwrap())
    }

    #[test]
    fn obis_structure_with_scaler_unit() {
        // array[1] of { 1.0.32.7.0.255, long-unsigned 2307, {-1, V} }
        let i = interpret("0F40000000 00 0101 0203 0906010020 0700FF 120903 02020FFF1623");
        assert_eq!(i.list_format, ListFormat::ObisStructures);
        let v = &i.values[0];
        assert_eq!(v.obis, Some(Obis::new(1, 0, 32, 7, 0, 255)));
        assert_eq!(v.value, Some(230.7));
        assert_eq!((v.text.as_deref(), v.unit.as_deref()), (Some("230.7 V"), Some("V")));
        assert_eq!(v.scaler_source, Some(ScalerSource::Frame));
    }

    #[test]
    fn flat_kamstrup_list_uses_the_nve_convention_and_skips_null_pairs() {
        // structure[7]: "Kamstrup_V0001", 1.1.31.7.0.255, u32 896, null, null,
        // 1.1.1.8.0.255, u32 7745250
        let i = interpret(concat!(
            "0F00000000 00 0207 0A0E4B616D73747275705F5630303031",
            "090601011F0700FF 0600000380 0000 090601010108 00FF 060076 2E E2"
        ));
        assert_eq!(i.list_format, ListFormat::FlatObis);
        assert_eq!(i.scaler_convention, Some("nve-kamstrup"));
        assert_eq!(i.values.len(), 3);
        assert_eq!(i.values[0].obis, None);
        assert_eq!(i.values[0].string().as_deref(), Some("Kamstrup_V0001"));
        assert_eq!((i.values[1].index, i.values[1].value), (1, Some(8.96)));
        assert_eq!(i.values[2].value, Some(77_452_500.0));
        assert_eq!(i.values[2].text.as_deref(), Some("77452500 Wh"));
        assert_eq!(i.values[2].scaler_source, Some(ScalerSource::Convention("nve-kamstrup")));
    }

    #[test]
    fn kaifa_list_1_is_positional_and_takes_the_header_time() {
        // Kaifa HAN list 1: header date-time 2019-02-04 23:52:22, structure { u32 5852 }
        let i = interpret("0F40000000 090C07E3020401173416FF800000 0201 06000016DC");
        assert_eq!(i.list_format, ListFormat::Positional("nve-kaifa-list-1"));
        assert_eq!(i.values[0].obis, Some(Obis::new(1, 0, 1, 7, 0, 255)));
        assert_eq!(i.values[0].text.as_deref(), Some("5852 W"));
        let t = i.meter_time.unwrap();
        assert_eq!(
            (t.local.to_string(), t.source),
            ("2019-02-04T23:52:22".into(), MeterTimeSource::NotificationHeader)
        );
    }

    #[test]
    fn unknown_positional_list_is_unlabelled() {
        let i = interpret("0F00000000 00 0202 1100 060000000A");
        assert_eq!(i.list_format, ListFormat::Unlabelled);
        assert!(i.values.iter().all(|v| v.obis.is_none() && v.scaler_unit.is_none()));
        assert_eq!(i.values[1].value, Some(10.0));
    }

    #[test]
    fn capture_object_push() {
        // structure { array[3] of capture objects (push setup attr 2, 0.0.96.1.0.255
        // attr 2, 1.0.31.7.0.255 attr 2), push list (ignored), "63", long-unsigned 51 }:
        // the first element stands for the push object list itself.
        let i = interpret(concat!(
            "0F00000001 00 0203",
            "0103 0204 120028 0906 0008190900FF 0F02 120000",
            "0204 120001 0906 0000600100FF 0F02 120000",
            "0204 120003 0906 01001F0700FF 0F02 120000",
            "090236 33 120033"
        ));
        assert_eq!(i.list_format, ListFormat::CaptureObjects);
        assert_eq!(i.meter_id.as_deref(), Some("63"));
        assert_eq!(i.values.len(), 2);
        assert_eq!(i.values[1].text.as_deref(), Some("0.51 A"));
    }

    proptest! {
        #[test]
        fn any_notification_body_is_interpreted_without_panicking(
            n in crate::xdlms::notification::strategies::data_notification()
        ) {
            let i = interpret_notification(&n);
            for (k, v) in i.values.iter().enumerate() {
                prop_assert_eq!(v.index, k);
            }
        }
    }
}
