//! `Invoke-Id-And-Priority` and `Long-Invoke-Id-And-Priority` (IEC 62056-5-3 §9.5 ASN.1,
//! DLMS UA 1000-2 Green Book): the first field of every confirmed xDLMS service APDU and of
//! the data-notification, pairing each response with its request.

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};

/// `Invoke-Id-And-Priority ::= Unsigned8` (IEC 62056-5-3 §9.5): bits 0-3 invoke id
/// (0..=15), bits 4-5 reserved (kept as received), bit 6 service class (1 = confirmed),
/// bit 7 priority (1 = high).
///
/// The server copies the request's value into its response; a client matches responses
/// to requests by [`InvokeIdAndPriority::invoke_id`]. One byte on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct InvokeIdAndPriority(pub u8);

impl InvokeIdAndPriority {
    /// Bits 0-3: the invoke id.
    pub const INVOKE_ID_MASK: u8 = 0x0F;
    /// Bit 6: service class, set = confirmed.
    pub const CONFIRMED: u8 = 0x40;
    /// Bit 7: priority, set = high.
    pub const HIGH_PRIORITY: u8 = 0x80;

    /// Builds the byte from its parts. Only the low 4 bits of `invoke_id` are used
    /// (`invoke_id & 0x0F`); reserved bits 4-5 are zero.
    pub const fn new(invoke_id: u8, confirmed: bool, high_priority: bool) -> Self {
        let mut b = invoke_id & Self::INVOKE_ID_MASK;
        if confirmed {
            b |= Self::CONFIRMED;
        }
        if high_priority {
            b |= Self::HIGH_PRIORITY;
        }
        InvokeIdAndPriority(b)
    }

    /// The invoke id, 0..=15 (bits 0-3).
    pub const fn invoke_id(self) -> u8 {
        self.0 & Self::INVOKE_ID_MASK
    }

    /// True when the service class bit (bit 6) says "confirmed": the server must answer.
    pub const fn is_confirmed(self) -> bool {
        self.0 & Self::CONFIRMED != 0
    }

    /// True when the priority bit (bit 7) says "high".
    pub const fn is_high_priority(self) -> bool {
        self.0 & Self::HIGH_PRIORITY != 0
    }

    /// The same service class and priority with another invoke id (`invoke_id & 0x0F`).
    pub const fn with_invoke_id(self, invoke_id: u8) -> Self {
        InvokeIdAndPriority((self.0 & !Self::INVOKE_ID_MASK) | (invoke_id & Self::INVOKE_ID_MASK))
    }
}

impl Codec for InvokeIdAndPriority {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.0);
    }

    /// # Errors
    /// [`DecodeError::Truncated`] on empty input; every byte value is accepted.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(InvokeIdAndPriority(r.u8("Invoke-Id-And-Priority")?))
    }
}

/// `Long-Invoke-Id-And-Priority ::= Unsigned32` (IEC 62056-5-3 §9.5), used by the
/// data-notification and general-block-transfer: bits 0-23 long invoke id, bits 24-27
/// reserved (kept as received), bit 28 self-descriptive, bit 29 processing option
/// (1 = break on error), bit 30 service class (1 = confirmed), bit 31 priority (1 = high).
/// Four bytes big-endian on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LongInvokeIdAndPriority(pub u32);

impl LongInvokeIdAndPriority {
    /// Bits 0-23: the long invoke id.
    pub const INVOKE_ID_MASK: u32 = 0x00FF_FFFF;
    /// Bit 28: self-descriptive.
    pub const SELF_DESCRIPTIVE: u32 = 1 << 28;
    /// Bit 29: processing option, set = break on error.
    pub const BREAK_ON_ERROR: u32 = 1 << 29;
    /// Bit 30: service class, set = confirmed.
    pub const CONFIRMED: u32 = 1 << 30;
    /// Bit 31: priority, set = high.
    pub const HIGH_PRIORITY: u32 = 1 << 31;

    /// Builds the value from its parts; only the low 24 bits of `invoke_id` are used.
    /// Self-descriptive, break-on-error and the reserved bits are zero.
    pub const fn new(invoke_id: u32, confirmed: bool, high_priority: bool) -> Self {
        let mut v = invoke_id & Self::INVOKE_ID_MASK;
        if confirmed {
            v |= Self::CONFIRMED;
        }
        if high_priority {
            v |= Self::HIGH_PRIORITY;
        }
        LongInvokeIdAndPriority(v)
    }

    /// The long invoke id, 0..=0xFF_FFFF (bits 0-23).
    pub const fn invoke_id(self) -> u32 {
        self.0 & Self::INVOKE_ID_MASK
    }

    /// Bit 28: the notification body is self-descriptive.
    pub const fn is_self_descriptive(self) -> bool {
        self.0 & Self::SELF_DESCRIPTIVE != 0
    }

    /// Bit 29: processing option "break on error" (clear = continue on error).
    pub const fn is_break_on_error(self) -> bool {
        self.0 & Self::BREAK_ON_ERROR != 0
    }

    /// Bit 30: service class confirmed.
    pub const fn is_confirmed(self) -> bool {
        self.0 & Self::CONFIRMED != 0
    }

    /// Bit 31: high priority.
    pub const fn is_high_priority(self) -> bool {
        self.0 & Self::HIGH_PRIORITY != 0
    }
}

impl Codec for LongInvokeIdAndPriority {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
    }

    /// # Errors
    /// [`DecodeError::Truncated`] when fewer than 4 bytes remain.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LongInvokeIdAndPriority(r.u32("Long-Invoke-Id-And-Priority")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_bits() {
        // 0xC1: invoke id 1, confirmed, high priority (the usual client request byte).
        let v = InvokeIdAndPriority(0xC1);
        assert_eq!(v.invoke_id(), 1);
        assert!(v.is_confirmed());
        assert!(v.is_high_priority());
        assert_eq!(InvokeIdAndPriority::new(1, true, true), v);
        // 0x81: invoke id 1, unconfirmed, high priority.
        let u = InvokeIdAndPriority(0x81);
        assert!(!u.is_confirmed());
        assert!(u.is_high_priority());
        // 0x4F: invoke id 15, confirmed, normal priority.
        let n = InvokeIdAndPriority(0x4F);
        assert_eq!(n.invoke_id(), 15);
        assert!(!n.is_high_priority());
        assert_eq!(InvokeIdAndPriority::new(0x1F, true, false), n, "invoke id is masked to 4 bits");
        assert_eq!(v.with_invoke_id(7), InvokeIdAndPriority(0xC7));
        // reserved bits survive
        assert_eq!(InvokeIdAndPriority(0x31).with_invoke_id(2), InvokeIdAndPriority(0x32));
    }

    #[test]
    fn long_form_bits() {
        // 0x40000000: confirmed, normal priority, invoke id 0 (Aidon/Kaifa HAN push header).
        let v = LongInvokeIdAndPriority(0x4000_0000);
        assert!(v.is_confirmed());
        assert!(!v.is_high_priority());
        assert_eq!(v.invoke_id(), 0);
        let w = LongInvokeIdAndPriority(0xB000_01DB);
        assert_eq!(w.invoke_id(), 0x1DB);
        assert!(w.is_high_priority());
        assert!(w.is_self_descriptive());
        assert!(w.is_break_on_error());
        assert!(!w.is_confirmed());
        assert_eq!(LongInvokeIdAndPriority::new(0x0100_0002, true, true), LongInvokeIdAndPriority(0xC000_0002));
    }

    #[test]
    fn wire_forms() {
        assert_eq!(InvokeIdAndPriority(0xC1).to_bytes(), [0xC1]);
        assert_eq!(LongInvokeIdAndPriority(0x0000_01DB).to_bytes(), [0x00, 0x00, 0x01, 0xDB]);
        assert_eq!(LongInvokeIdAndPriority::from_bytes(&[0x40, 0, 0, 0]), Ok(LongInvokeIdAndPriority(0x4000_0000)));
        assert!(matches!(LongInvokeIdAndPriority::from_bytes(&[0x40, 0, 0]), Err(DecodeError::Truncated { .. })));
        assert!(matches!(InvokeIdAndPriority::from_bytes(&[]), Err(DecodeError::Truncated { .. })));
    }
}
