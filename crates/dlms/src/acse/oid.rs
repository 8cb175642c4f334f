//! BER OBJECT IDENTIFIER values (ITU-T X.690 §8.19), as used for the DLMS application
//! context names and authentication mechanism names (IEC 62056-5-3 §9.4.2.2), all
//! under the DLMS UA arc `{joint-iso-ccitt(2) country(16) country-name(756)
//! identified-organization(5) DLMS-UA(8)}`.

use std::fmt;

use serde::Serialize;

/// The content octets of `2.16.756.5.8` (`60 85 74 05 08`), the DLMS UA arc.
pub const DLMS_UA_ARC: [u8; 5] = [0x60, 0x85, 0x74, 0x05, 0x08];

/// An OBJECT IDENTIFIER, kept as its BER content octets (without tag and length) so
/// that any value received decodes and re-encodes unchanged.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ObjectIdentifier(pub Vec<u8>);

impl ObjectIdentifier {
    /// Encodes a dotted arc list (at least two arcs, the first 0..=2, the second below
    /// 40 unless the first is 2); `None` when the arcs are not a valid OID.
    pub fn from_arcs(arcs: &[u64]) -> Option<Self> {
        let (&first, rest) = arcs.split_first()?;
        let (&second, rest) = rest.split_first()?;
        if first > 2 || (first < 2 && second >= 40) {
            return None;
        }
        let mut out = Vec::new();
        put_base128(&mut out, first.checked_mul(40)?.checked_add(second)?);
        for &arc in rest {
            put_base128(&mut out, arc);
        }
        Some(ObjectIdentifier(out))
    }

    /// The DLMS UA OID `2.16.756.5.8.<kind>.<id>`.
    pub fn dlms_ua(kind: u8, id: u8) -> Self {
        let mut v = DLMS_UA_ARC.to_vec();
        v.push(kind);
        v.push(id);
        ObjectIdentifier(v)
    }

    /// When the OID is `2.16.756.5.8.<kind>.<id>` with one-byte arcs, `(kind, id)`.
    pub fn dlms_ua_parts(&self) -> Option<(u8, u8)> {
        match self.0.strip_prefix(&DLMS_UA_ARC[..])? {
            [kind, id] if kind & 0x80 == 0 && id & 0x80 == 0 => Some((*kind, *id)),
            _ => None,
        }
    }

    /// The arcs, or `None` when the content octets are not a well-formed OID (empty,
    /// a sub-identifier cut short, or an arc above `u64::MAX`).
    pub fn arcs(&self) -> Option<Vec<u64>> {
        let mut arcs = Vec::new();
        let mut acc: u64 = 0;
        let mut in_arc = false;
        for &b in &self.0 {
            if acc > (u64::MAX >> 7) {
                return None;
            }
            acc = (acc << 7) | u64::from(b & 0x7F);
            in_arc = b & 0x80 != 0;
            if !in_arc {
                if arcs.is_empty() {
                    let first = (acc / 40).min(2);
                    arcs.push(first);
                    arcs.push(acc - first * 40);
                } else {
                    arcs.push(acc);
                }
                acc = 0;
            }
        }
        if in_arc || arcs.is_empty() { None } else { Some(arcs) }
    }
}

fn put_base128(out: &mut Vec<u8>, v: u64) {
    let mut groups = [0u8; 10];
    let mut n = 0;
    let mut x = v;
    loop {
        groups[n] = (x & 0x7F) as u8;
        n += 1;
        x >>= 7;
        if x == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
    }
}

impl fmt::Display for ObjectIdentifier {
    /// Dotted form (`2.16.756.5.8.1.1`), or the hex content octets when malformed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.arcs() {
            Some(arcs) => {
                for (i, a) in arcs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    write!(f, "{a}")?;
                }
                Ok(())
            }
            None => {
                f.write_str("malformed OID ")?;
                self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
            }
        }
    }
}

impl fmt::Debug for ObjectIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectIdentifier({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dlms_arcs_encode_as_in_the_standard() {
        let oid = ObjectIdentifier::from_arcs(&[2, 16, 756, 5, 8, 1, 1]).unwrap();
        assert_eq!(oid.0, [0x60, 0x85, 0x74, 0x05, 0x08, 0x01, 0x01]);
        assert_eq!(oid, ObjectIdentifier::dlms_ua(1, 1));
        assert_eq!(oid.to_string(), "2.16.756.5.8.1.1");
        assert_eq!(oid.dlms_ua_parts(), Some((1, 1)));
    }

    #[test]
    fn malformed_content_has_no_arcs() {
        assert_eq!(ObjectIdentifier(vec![]).arcs(), None);
        assert_eq!(ObjectIdentifier(vec![0x60, 0x85]).arcs(), None);
        assert_eq!(ObjectIdentifier(vec![0xFF; 20]).arcs(), None);
        assert_eq!(ObjectIdentifier::from_arcs(&[1, 40]), None);
        assert_eq!(ObjectIdentifier::from_arcs(&[3, 1]), None);
    }
}
