//! The unconfirmed push APDUs (IEC 62056-5-3 §9.3.10 DataNotification, §9.3.11
//! EventNotification, §9.5 ASN.1): `Data-Notification` (tag 0x0F), sent by Push setup
//! objects and by HAN/P1 consumer ports, and `EVENT-NOTIFICATION-Request` (tag 0xC2).

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};
use crate::data::Data;
use crate::datetime::CosemDateTime;
use crate::xdlms::apdu::{expect_apdu_tag, put_optional, read_octet_string, read_presence, tag};
use crate::xdlms::descriptor::CosemAttributeDescriptor;
use crate::xdlms::invoke_id::LongInvokeIdAndPriority;

/// Length of a COSEM date-time carried as an OCTET STRING.
const DATE_TIME_LEN: u8 = 12;

/// `Data-Notification ::= SEQUENCE { long-invoke-id-and-priority, date-time OCTET STRING,
/// notification-body SEQUENCE { data-value Data } }` (IEC 62056-5-3 §9.5), tag 0x0F.
///
/// Wire form: `0F`, the 4-byte long-invoke-id-and-priority, the date-time as an A-XDR
/// octet-string (`00` when absent, `0C` + 12 date-time bytes when present), then one
/// A-XDR `Data` value (usually a structure of the pushed attribute values).
///
/// Decoding also accepts the date-time written as a tagged `Data` octet-string
/// (`09 0C` + 12 bytes), as Kaifa HAN meters send it; such input re-encodes in the
/// standard form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataNotification {
    /// Long invoke id, self-descriptive/processing-option/service-class/priority bits.
    pub long_invoke_id_and_priority: LongInvokeIdAndPriority,
    /// The time the notification was generated, in the meter's local time with its
    /// deviation as sent; `None` when the meter sends an empty octet-string.
    pub date_time: Option<CosemDateTime>,
    /// The pushed data (`notification-body.data-value`).
    pub notification_body: Data,
}

/// Reads a date-time OCTET STRING that must be 12 bytes long.
fn date_time_octets(bytes: &[u8], what: &'static str) -> Result<CosemDateTime, DecodeError> {
    if bytes.len() != DATE_TIME_LEN as usize {
        return Err(DecodeError::invalid(
            what,
            format!("octet-string of {} bytes is not a 12-byte date-time", bytes.len()),
        ));
    }
    CosemDateTime::decode_raw(&mut Reader::new(bytes))
}

fn put_date_time_octets(out: &mut Vec<u8>, dt: &CosemDateTime) {
    out.push(DATE_TIME_LEN);
    dt.encode_raw(out);
}

impl Codec for DataNotification {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::DATA_NOTIFICATION);
        self.long_invoke_id_and_priority.encode(out);
        match &self.date_time {
            None => out.push(0x00),
            Some(dt) => put_date_time_octets(out, dt),
        }
        self.notification_body.encode(out);
    }

    /// # Errors
    /// Truncated input; [`DecodeError::UnknownTag`] for a tag other than 0x0F;
    /// [`DecodeError::Invalid`] for a date-time octet-string that is neither empty nor
    /// 12 bytes; any `Data` error in the body.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "Data-Notification date-time";
        expect_apdu_tag(r, tag::DATA_NOTIFICATION, "Data-Notification APDU")?;
        let long_invoke_id_and_priority = LongInvokeIdAndPriority::decode(r)?;
        let date_time = match r.peek() {
            Some(0x00) => {
                r.u8(WHAT)?;
                None
            }
            // Data-tagged form (0x09 = octet-string tag, then the 0x0C length): a 9-byte
            // date-time does not exist, so this cannot be mistaken for a length.
            Some(crate::data::tag::OCTET_STRING) if r.rest().get(1) == Some(&DATE_TIME_LEN) => {
                r.u8(WHAT)?;
                Some(date_time_octets(&read_octet_string(r, WHAT)?, WHAT)?)
            }
            _ => Some(date_time_octets(&read_octet_string(r, WHAT)?, WHAT)?),
        };
        let notification_body = Data::decode(r)?;
        Ok(DataNotification { long_invoke_id_and_priority, date_time, notification_body })
    }
}

/// `EVENT-NOTIFICATION-Request ::= SEQUENCE { time OCTET STRING OPTIONAL,
/// cosem-attribute-descriptor, attribute-value Data }` (IEC 62056-5-3 §9.5), tag 0xC2:
/// the server reports one attribute value (typically an event code) without being asked.
///
/// Wire form: `C2`, `00` or `01 0C` + 12 date-time bytes, the 9-byte attribute
/// descriptor, the A-XDR value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventNotificationRequest {
    /// When the event occurred; `None` when not sent.
    pub time: Option<CosemDateTime>,
    /// The attribute reported.
    pub attribute_descriptor: CosemAttributeDescriptor,
    /// Its value.
    pub attribute_value: Data,
}

impl Codec for EventNotificationRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::EVENT_NOTIFICATION_REQUEST);
        put_optional(out, self.time.as_ref(), |dt, out| put_date_time_octets(out, dt));
        self.attribute_descriptor.encode(out);
        self.attribute_value.encode(out);
    }

    /// # Errors
    /// Truncated input; [`DecodeError::UnknownTag`] for a tag other than 0xC2;
    /// [`DecodeError::Invalid`] for a bad presence flag or a time that is not 12 bytes;
    /// any `Data` error.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "EVENT-NOTIFICATION-Request time";
        expect_apdu_tag(r, tag::EVENT_NOTIFICATION_REQUEST, "EVENT-NOTIFICATION-Request APDU")?;
        let time =
            if read_presence(r, WHAT)? { Some(date_time_octets(&read_octet_string(r, WHAT)?, WHAT)?) } else { None };
        Ok(EventNotificationRequest {
            time,
            attribute_descriptor: CosemAttributeDescriptor::decode(r)?,
            attribute_value: Data::decode(r)?,
        })
    }
}

/// proptest strategies (test builds only).
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    use super::*;
    use crate::proptest_strategies::{data, date_time};
    use crate::xdlms::descriptor::strategies::attribute_descriptor;

    /// Any Data-Notification.
    pub fn data_notification() -> impl Strategy<Value = DataNotification> {
        (any::<u32>(), proptest::option::of(date_time()), data()).prop_map(|(l, date_time, notification_body)| {
            DataNotification { long_invoke_id_and_priority: LongInvokeIdAndPriority(l), date_time, notification_body }
        })
    }

    /// Any EVENT-NOTIFICATION-Request.
    pub fn event_notification_request() -> impl Strategy<Value = EventNotificationRequest> {
        (proptest::option::of(date_time()), attribute_descriptor(), data()).prop_map(
            |(time, attribute_descriptor, attribute_value)| EventNotificationRequest {
                time,
                attribute_descriptor,
                attribute_value,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use crate::datetime::{CosemDate, CosemTime};
    use crate::obis::Obis;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn standard_forms_known_answer() {
        // 0F 00000001 00 | 06 0000002A: no date-time, body double-long-unsigned 42
        let none = hex("0F0000000100060000002A");
        let want = DataNotification {
            long_invoke_id_and_priority: LongInvokeIdAndPriority(1),
            date_time: None,
            notification_body: Data::DoubleLongUnsigned(42),
        };
        assert_eq!(DataNotification::from_bytes(&none), Ok(want.clone()));
        assert_eq!(want.to_bytes(), none);

        // 0F C0000002 0C 07E8030F05 0C1E0000 FF88 00 | 12 00E6
        let with_time = hex("0FC00000020C07E8030F050C1E0000FF88001200E6");
        let want = DataNotification {
            long_invoke_id_and_priority: LongInvokeIdAndPriority(0xC000_0002),
            date_time: Some(CosemDateTime {
                date: CosemDate { year: 2024, month: 3, day_of_month: 15, day_of_week: 5 },
                time: CosemTime { hour: 12, minute: 30, second: 0, hundredths: 0 },
                deviation: -120,
                clock_status: 0,
            }),
            notification_body: Data::LongUnsigned(230),
        };
        assert_eq!(DataNotification::from_bytes(&with_time), Ok(want.clone()));
        assert_eq!(want.to_bytes(), with_time);
    }

    #[test]
    fn kaifa_tagged_date_time_is_accepted_and_reencoded_in_standard_form() {
        // Kaifa HAN list 1: 0F 40000000 09 0C 07E3 02 04 01 17 34 16 FF 8000 00 | 02 01 06 000016DC
        let kaifa = hex("0F40000000090C07E3020401173416FF800000020106000016DC");
        let n = DataNotification::from_bytes(&kaifa).unwrap();
        let dt = n.date_time.unwrap();
        assert_eq!((dt.date.year, dt.date.month, dt.date.day_of_month), (2019, 2, 4));
        assert_eq!((dt.time.hour, dt.time.minute, dt.time.second), (23, 52, 22));
        assert_eq!(n.notification_body, Data::Structure(vec![Data::DoubleLongUnsigned(5852)]));
        let mut standard = kaifa.clone();
        standard.remove(5); // drop the 0x09 Data tag
        assert_eq!(n.to_bytes(), standard);
    }

    #[test]
    fn bad_date_time_lengths_are_rejected() {
        // length 5 octet-string
        assert!(matches!(
            DataNotification::from_bytes(&hex("0F00000001050102030405060000002A")),
            Err(DecodeError::Invalid { .. })
        ));
        // 0x09 followed by a length other than 12: a 9-byte octet-string, not a date-time
        assert!(matches!(
            DataNotification::from_bytes(&hex("0F0000000109010203040506070809060000002A")),
            Err(DecodeError::Invalid { .. })
        ));
    }

    #[test]
    fn event_notification_known_answer() {
        // C2 00 | 0001 0000616200FF 02 | 11 05: event code 5 of the standard event log filter
        // object 0.0.97.98.0.255 (class 1), no time
        let bytes = hex("C20000010000616200FF021105");
        let want = EventNotificationRequest {
            time: None,
            attribute_descriptor: CosemAttributeDescriptor::new(1, Obis::new(0, 0, 97, 98, 0, 255), 2),
            attribute_value: Data::Unsigned(5),
        };
        assert_eq!(EventNotificationRequest::from_bytes(&bytes), Ok(want.clone()));
        assert_eq!(want.to_bytes(), bytes);
    }

    proptest! {
        #[test]
        fn data_notification_round_trips(n in data_notification()) {
            let bytes = n.to_bytes();
            prop_assert_eq!(DataNotification::from_bytes(&bytes).unwrap(), n);
            for k in 0..bytes.len() {
                prop_assert!(DataNotification::from_bytes(&bytes[..k]).is_err());
            }
        }

        #[test]
        fn event_notification_round_trips(n in event_notification_request()) {
            let bytes = n.to_bytes();
            prop_assert_eq!(EventNotificationRequest::from_bytes(&bytes).unwrap(), n);
            for k in 0..bytes.len() {
                prop_assert!(EventNotificationRequest::from_bytes(&bytes[..k]).is_err());
            }
        }
    }
}
