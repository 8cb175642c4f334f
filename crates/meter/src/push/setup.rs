//! The Push setup object (interface class 40 version 0, IEC 62056-6-2:2017 §4.4.8; DLMS UA
//! 1000-1 Blue Book "Push setup"), logical name 0.0.25.9.0.255: what the meter pushes
//! (`push_object_list`), where and how (`send_destination_and_method`), when
//! (`communication_window`, `randomisation_start_interval`) and how persistently
//! (`number_of_retries`, `repetition_delay`). Method 1 `push` asks for one push; the
//! object only records the request, the sender ([`crate::push::sender`]) does the I/O.
//!
//! | attribute | type | access |
//! |---|---|---|
//! | 1 logical_name | octet-string(6) | read |
//! | 2 push_object_list | array of structure { class_id long-unsigned, logical_name octet-string, attribute_index integer, data_index long-unsigned } | read-write |
//! | 3 send_destination_and_method | structure { transport_service enum, destination octet-string, message enum } | read-write |
//! | 4 communication_window | array of structure { start octet-string(12) date-time, end octet-string(12) date-time } | read-write |
//! | 5 randomisation_start_interval | long-unsigned, s | read-write |
//! | 6 number_of_retries | unsigned | read-write |
//! | 7 repetition_delay | long-unsigned, s | read-write |

use dlms::datetime::CosemDateTime;
use dlms::obis::codes;
use dlms::xdlms::{ActionResult, DataAccessResult};
use dlms::{Data, Obis};

use crate::objects::access::AttributeAccessMode::{Read, ReadWrite};
use crate::objects::access::MethodAccessMode::Access;
use crate::objects::access::{AttributeAccess, MethodAccess, attr, method};
use crate::objects::register::RegisterQuantity;
use crate::time_zone::MeterTimeZone;

/// Interface class Push setup.
pub const CLASS_PUSH_SETUP: u16 = 40;
/// Logical name of the (first) Push setup object, 0.0.25.9.0.255.
pub const PUSH_SETUP: Obis = Obis::new(0, 0, 25, 9, 0, 255);
/// `transport_service` (0): TCP.
pub const TRANSPORT_TCP: u8 = 0;
/// `transport_service` (1): UDP (the IEC 62056-47 wrapper in one datagram).
pub const TRANSPORT_UDP: u8 = 1;
/// `message` (0): A-XDR encoded xDLMS APDU.
pub const MESSAGE_AXDR_APDU: u8 = 0;
/// Longest destination accepted, bytes.
pub const MAX_DESTINATION_LEN: usize = 255;
/// Most push objects accepted in `push_object_list`.
pub const MAX_PUSH_OBJECTS: usize = 64;
/// Most windows accepted in `communication_window`.
pub const MAX_WINDOWS: usize = 16;

/// Access rights of class 40 version 0 as this meter grants them (attribute 1 read-only,
/// the others read-write).
pub const PUSH_SETUP_ATTRIBUTES: &[AttributeAccess] = &[
    attr(1, Read),
    attr(2, ReadWrite),
    attr(3, ReadWrite),
    attr(4, ReadWrite),
    attr(5, ReadWrite),
    attr(6, ReadWrite),
    attr(7, ReadWrite),
];
/// Method 1 `push`.
pub const PUSH_SETUP_METHODS: &[MethodAccess] = &[method(1, Access)];

/// One `push_object_list` element: a capture object definition (the same shape as a
/// Profile generic's capture_objects).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PushObject {
    /// Interface class of the object.
    pub class_id: u16,
    /// Its logical name.
    pub logical_name: Obis,
    /// The attribute pushed.
    pub attribute_index: i8,
    /// 0: the whole attribute; n > 0: element n (1-based) of an array or structure value.
    pub data_index: u16,
}

impl PushObject {
    /// A whole attribute.
    pub const fn new(class_id: u16, logical_name: Obis, attribute_index: i8) -> Self {
        PushObject { class_id, logical_name, attribute_index, data_index: 0 }
    }

    fn to_data(self) -> Data {
        Data::Structure(vec![
            Data::LongUnsigned(self.class_id),
            Data::OctetString(self.logical_name.as_bytes().to_vec()),
            Data::Integer(self.attribute_index),
            Data::LongUnsigned(self.data_index),
        ])
    }

    fn from_data(d: &Data) -> Option<Self> {
        match d.as_sequence()? {
            [
                Data::LongUnsigned(class_id),
                Data::OctetString(ln),
                Data::Integer(attribute_index),
                Data::LongUnsigned(data_index),
            ] => Some(PushObject {
                class_id: *class_id,
                logical_name: Obis::from_slice(ln)?,
                attribute_index: *attribute_index,
                data_index: *data_index,
            }),
            _ => None,
        }
    }
}

/// `send_destination_and_method` (attribute 3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SendDestinationAndMethod {
    /// `transport_service` enum: (0) TCP, (1) UDP, (2) FTP, (3) SMTP, (4) SMS, (5) HDLC,
    /// (6) M-Bus, (7) ZigBee, (8) DLMS gateway, (200..=255) manufacturer specific. The
    /// sender implements [`TRANSPORT_TCP`] and [`TRANSPORT_UDP`].
    pub transport_service: u8,
    /// Where to: for TCP and UDP `host:port` (ASCII), e.g. `192.0.2.10:4059`.
    pub destination: Vec<u8>,
    /// `message` enum: (0) A-XDR encoded xDLMS APDU, (1) XML encoded xDLMS APDU,
    /// (128..=255) manufacturer specific. The sender implements [`MESSAGE_AXDR_APDU`] only.
    pub message: u8,
}

impl SendDestinationAndMethod {
    /// TCP to `host:port`, A-XDR APDUs.
    pub fn tcp(destination: &str) -> Self {
        SendDestinationAndMethod {
            transport_service: TRANSPORT_TCP,
            destination: destination.as_bytes().to_vec(),
            message: MESSAGE_AXDR_APDU,
        }
    }

    /// UDP to `host:port` (IEC 62056-47 wrapper, one frame per datagram; the DLMS port is
    /// 4059), A-XDR APDUs.
    pub fn udp(destination: &str) -> Self {
        SendDestinationAndMethod {
            transport_service: TRANSPORT_UDP,
            destination: destination.as_bytes().to_vec(),
            message: MESSAGE_AXDR_APDU,
        }
    }
}

/// One `communication_window` element: pushes may start from `start` until `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommunicationWindow {
    /// Start, local date-time; may be a daily window (date not specified).
    pub start: CosemDateTime,
    /// End, same form.
    pub end: CosemDateTime,
}

/// The state of one Push setup object (class 40 version 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSetup {
    /// Attribute 1.
    pub logical_name: Obis,
    /// Attribute 2: the values pushed, in order (the data-notification body is a structure
    /// of them).
    pub push_object_list: Vec<PushObject>,
    /// Attribute 3.
    pub send_destination_and_method: SendDestinationAndMethod,
    /// Attribute 4: when pushes may start; empty = at any time.
    pub communication_window: Vec<CommunicationWindow>,
    /// Attribute 5: a push starts after a random delay of 0..=this many seconds.
    pub randomisation_start_interval_s: u16,
    /// Attribute 6: further attempts after a failed one.
    pub number_of_retries: u8,
    /// Attribute 7: seconds between attempts.
    pub repetition_delay_s: u16,
    /// Pushes asked for by method 1 and not yet taken by the sender.
    requested: u32,
    /// Number of pushes built so far (the long-invoke-id of the next one).
    sequence: u32,
}

impl PushSetup {
    /// The usual content of a gridedge meter push (IDIS-style identification first): the
    /// Push setup's own logical name, the COSEM logical device name (0.0.42.0.0.255),
    /// the clock time, active energy import and export (Wh). Destination `destination`
    /// over TCP, no window, no randomisation, 3 retries 10 s apart.
    pub fn new(destination: &str) -> Self {
        PushSetup {
            logical_name: PUSH_SETUP,
            push_object_list: vec![
                PushObject::new(CLASS_PUSH_SETUP, PUSH_SETUP, 1),
                PushObject::new(crate::objects::CLASS_DATA, codes::LOGICAL_DEVICE_NAME, 2),
                PushObject::new(crate::objects::CLASS_CLOCK, codes::CLOCK, 2),
                PushObject::new(crate::objects::CLASS_REGISTER, RegisterQuantity::ActiveEnergyImport.logical_name(), 2),
                PushObject::new(crate::objects::CLASS_REGISTER, RegisterQuantity::ActiveEnergyExport.logical_name(), 2),
            ],
            send_destination_and_method: SendDestinationAndMethod::tcp(destination),
            communication_window: Vec::new(),
            randomisation_start_interval_s: 0,
            number_of_retries: 3,
            repetition_delay_s: 10,
            requested: 0,
            sequence: 0,
        }
    }

    /// GET of attribute `id`; `None` for an attribute the class does not have.
    pub fn attribute(&self, id: i8) -> Option<Data> {
        Some(match id {
            1 => Data::OctetString(self.logical_name.as_bytes().to_vec()),
            2 => Data::Array(self.push_object_list.iter().map(|o| o.to_data()).collect()),
            3 => {
                let s = &self.send_destination_and_method;
                Data::Structure(vec![
                    Data::Enum(s.transport_service),
                    Data::OctetString(s.destination.clone()),
                    Data::Enum(s.message),
                ])
            }
            4 => Data::Array(
                self.communication_window
                    .iter()
                    .map(|w| {
                        Data::Structure(vec![
                            Data::OctetString(w.start.to_octets()),
                            Data::OctetString(w.end.to_octets()),
                        ])
                    })
                    .collect(),
            ),
            5 => Data::LongUnsigned(self.randomisation_start_interval_s),
            6 => Data::Unsigned(self.number_of_retries),
            7 => Data::LongUnsigned(self.repetition_delay_s),
            _ => return None,
        })
    }

    /// SET of attribute `id` (2..=7): `Success`, `TypeUnmatched` for a value of the wrong
    /// shape, `OtherReason` for too many elements or a destination longer than
    /// [`MAX_DESTINATION_LEN`], `ReadWriteDenied` for attribute 1, `ObjectUnavailable`
    /// for an attribute the class does not have.
    pub fn set_attribute(&mut self, id: i8, value: &Data) -> DataAccessResult {
        match self.apply(id, value) {
            Ok(()) => DataAccessResult::Success,
            Err(e) => e,
        }
    }

    fn apply(&mut self, id: i8, value: &Data) -> Result<(), DataAccessResult> {
        use DataAccessResult::{ObjectUnavailable, OtherReason, ReadWriteDenied, TypeUnmatched};
        match (id, value) {
            (1, _) => return Err(ReadWriteDenied),
            (2, Data::Array(items)) => {
                if items.len() > MAX_PUSH_OBJECTS {
                    return Err(OtherReason);
                }
                self.push_object_list =
                    items.iter().map(PushObject::from_data).collect::<Option<_>>().ok_or(TypeUnmatched)?;
            }
            (3, Data::Structure(f)) => match f.as_slice() {
                [Data::Enum(transport_service), Data::OctetString(destination), Data::Enum(message)] => {
                    if destination.len() > MAX_DESTINATION_LEN {
                        return Err(OtherReason);
                    }
                    self.send_destination_and_method = SendDestinationAndMethod {
                        transport_service: *transport_service,
                        destination: destination.clone(),
                        message: *message,
                    };
                }
                _ => return Err(TypeUnmatched),
            },
            (4, Data::Array(items)) => {
                if items.len() > MAX_WINDOWS {
                    return Err(OtherReason);
                }
                let windows = items
                    .iter()
                    .map(|w| match w.as_sequence()? {
                        [Data::OctetString(s), Data::OctetString(e)] => Some(CommunicationWindow {
                            start: CosemDateTime::from_octets(s).ok()?,
                            end: CosemDateTime::from_octets(e).ok()?,
                        }),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or(TypeUnmatched)?;
                self.communication_window = windows;
            }
            (5, Data::LongUnsigned(v)) => self.randomisation_start_interval_s = *v,
            (6, Data::Unsigned(v)) => self.number_of_retries = *v,
            (7, Data::LongUnsigned(v)) => self.repetition_delay_s = *v,
            (2..=7, _) => return Err(TypeUnmatched),
            _ => return Err(ObjectUnavailable),
        }
        Ok(())
    }

    /// ACTION method 1 `push` (data: integer(0), or absent): records one push request for
    /// the sender. Other methods: `ObjectUnavailable`; other parameters: `TypeUnmatched`.
    ///
    /// # Errors
    /// The Action-Result to return.
    pub fn invoke(&mut self, method_id: i8, parameters: Option<&Data>) -> Result<Option<Data>, ActionResult> {
        if method_id != 1 {
            return Err(ActionResult::ObjectUnavailable);
        }
        if !matches!(parameters, None | Some(Data::Integer(0))) {
            return Err(ActionResult::TypeUnmatched);
        }
        self.requested = self.requested.saturating_add(1);
        Ok(None)
    }

    /// Takes the push requests recorded by method 1 since the last call (the sender
    /// performs one push per request).
    pub fn take_push_requests(&mut self) -> u32 {
        std::mem::take(&mut self.requested)
    }

    /// The long-invoke-id for the next push (0, 1, 2, … modulo 2^24).
    pub fn next_invoke_id(&mut self) -> u32 {
        let id = self.sequence & 0x00FF_FFFF;
        self.sequence = self.sequence.wrapping_add(1);
        id
    }

    /// Whether a push may start at `local` (the meter's local date-time, as its clock
    /// shows it), per `communication_window`: true when the list is empty or a window
    /// contains it. A window with both ends fully specified covers that span; a window
    /// whose ends leave the date unspecified (year, month and day 0xFF…) is a daily
    /// window of wall-clock times (it may wrap past midnight); other wildcard forms match
    /// nothing.
    pub fn in_communication_window(&self, zone: MeterTimeZone, local: &CosemDateTime) -> bool {
        self.communication_window.is_empty()
            || self.communication_window.iter().any(|w| window_contains(zone, w, local))
    }
}

fn window_contains(zone: MeterTimeZone, w: &CommunicationWindow, now: &CosemDateTime) -> bool {
    let date_unspecified = |d: &CosemDateTime| {
        d.date.year == dlms::datetime::YEAR_NOT_SPECIFIED && d.date.month == 0xFF && d.date.day_of_month == 0xFF
    };
    if date_unspecified(&w.start) && date_unspecified(&w.end) {
        let tod = |d: &CosemDateTime| {
            let f = |v: u8| if v == 0xFF { 0 } else { u32::from(v) };
            f(d.time.hour) * 3600 + f(d.time.minute) * 60 + f(d.time.second)
        };
        let (s, e, t) = (tod(&w.start), tod(&w.end), tod(now));
        return if s <= e { s <= t && t < e } else { t >= s || t < e };
    }
    match (zone.from_cosem(&w.start), zone.from_cosem(&w.end), zone.from_cosem(now)) {
        (Some(s), Some(e), Some(t)) => s <= t && t < e,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dlms::datetime::{CosemDate, CosemTime};

    fn local(h: u8, m: u8) -> CosemDateTime {
        CosemDateTime {
            date: CosemDate { year: 2024, month: 3, day_of_month: 5, day_of_week: 2 },
            time: CosemTime { hour: h, minute: m, second: 0, hundredths: 0 },
            deviation: 0,
            clock_status: 0,
        }
    }

    fn daily(h: u8) -> CosemDateTime {
        CosemDateTime {
            date: CosemDate { year: 0xFFFF, month: 0xFF, day_of_month: 0xFF, day_of_week: 0xFF },
            time: CosemTime { hour: h, minute: 0, second: 0, hundredths: 0xFF },
            deviation: dlms::datetime::DEVIATION_NOT_SPECIFIED,
            clock_status: 0xFF,
        }
    }

    #[test]
    fn attributes_round_trip_through_set_and_get() {
        let mut p = PushSetup::new("127.0.0.1:4059");
        let mut q = PushSetup::new("x");
        for id in 2..=7 {
            assert_eq!(q.set_attribute(id, &p.attribute(id).unwrap()), DataAccessResult::Success, "attribute {id}");
        }
        assert_eq!(q, p);
        // Attribute 2 wire shape: array of structure { 12 0028, 09 06 0000190900FF, 0F 01, 12 0000 }.
        let Data::Array(list) = p.attribute(2).unwrap() else { panic!() };
        assert_eq!(
            list[0].to_bytes(),
            [0x02, 0x04, 0x12, 0x00, 0x28, 0x09, 0x06, 0, 0, 25, 9, 0, 255, 0x0F, 0x01, 0x12, 0, 0]
        );
        p.communication_window.push(CommunicationWindow { start: daily(22), end: daily(6) });
        assert_eq!(q.set_attribute(4, &p.attribute(4).unwrap()), DataAccessResult::Success);
        assert_eq!(q.communication_window, p.communication_window);
    }

    #[test]
    fn refused_values() {
        let mut p = PushSetup::new("h:1");
        assert_eq!(p.set_attribute(1, &Data::OctetString(vec![0; 6])), DataAccessResult::ReadWriteDenied);
        assert_eq!(p.set_attribute(2, &Data::Array(vec![Data::Unsigned(1)])), DataAccessResult::TypeUnmatched);
        assert_eq!(p.set_attribute(3, &Data::Structure(vec![])), DataAccessResult::TypeUnmatched);
        let long = Data::Structure(vec![Data::Enum(0), Data::OctetString(vec![b'a'; 256]), Data::Enum(0)]);
        assert_eq!(p.set_attribute(3, &long), DataAccessResult::OtherReason);
        assert_eq!(p.set_attribute(5, &Data::Unsigned(1)), DataAccessResult::TypeUnmatched);
        assert_eq!(p.set_attribute(8, &Data::Unsigned(1)), DataAccessResult::ObjectUnavailable);
        let bad_window =
            Data::Array(vec![Data::Structure(vec![Data::OctetString(vec![1, 2]), Data::OctetString(vec![])])]);
        assert_eq!(p.set_attribute(4, &bad_window), DataAccessResult::TypeUnmatched);
        assert_eq!(p, PushSetup::new("h:1"), "nothing changed");
        assert_eq!(p.attribute(8), None);
    }

    #[test]
    fn push_method_records_requests() {
        let mut p = PushSetup::new("h:1");
        assert_eq!(p.invoke(1, Some(&Data::Integer(0))), Ok(None));
        assert_eq!(p.invoke(1, None), Ok(None));
        assert_eq!(p.invoke(1, Some(&Data::Integer(1))), Err(ActionResult::TypeUnmatched));
        assert_eq!(p.invoke(2, None), Err(ActionResult::ObjectUnavailable));
        assert_eq!(p.take_push_requests(), 2);
        assert_eq!(p.take_push_requests(), 0);
        assert_eq!((p.next_invoke_id(), p.next_invoke_id()), (0, 1));
    }

    #[test]
    fn communication_windows() {
        let zone = MeterTimeZone::UK;
        let mut p = PushSetup::new("h:1");
        assert!(p.in_communication_window(zone, &local(12, 0)), "no window: always");
        // Daily 22:00-06:00 (wraps midnight).
        p.communication_window = vec![CommunicationWindow { start: daily(22), end: daily(6) }];
        assert!(p.in_communication_window(zone, &local(23, 30)));
        assert!(p.in_communication_window(zone, &local(5, 59)));
        assert!(!p.in_communication_window(zone, &local(6, 0)));
        assert!(!p.in_communication_window(zone, &local(12, 0)));
        // A concrete span.
        p.communication_window = vec![CommunicationWindow { start: local(10, 0), end: local(11, 0) }];
        assert!(p.in_communication_window(zone, &local(10, 30)));
        assert!(!p.in_communication_window(zone, &local(11, 0)));
        // Other wildcard forms match nothing.
        let mut monthly = local(10, 0);
        monthly.date.year = 0xFFFF;
        p.communication_window = vec![CommunicationWindow { start: monthly, end: local(11, 0) }];
        assert!(!p.in_communication_window(zone, &local(10, 30)));
    }
}
