//! EA07: the Standard Transfer Algorithm (STA) (IEC 62055-41:2018 §6.5, encryption algorithm
//! 07).
//!
//! A 16-round substitution–permutation cipher on a 64-bit block with a 64-bit decoder key. It is
//! defined over three tables: two 4-bit substitution tables S1 and S2 and a 64-bit permutation
//! table P. Bits are numbered from the least significant (bit 0) to the most significant (bit 63);
//! nibble n holds bits 4n..4n+3.
//!
//! Encryption:
//!
//! ```text
//! K = rotate_right(NOT DK, 12)
//! repeat 16 times:
//!     for each nibble n: D.nibble[n] = (K.bit[4n+3] == 0 ? S1 : S2)[D.nibble[n]]
//!     D = P(D)                 (bit i of the input goes to bit P[i] of the output)
//!     K = rotate_left(K, 1)
//! ```
//!
//! Decryption undoes the rounds in reverse order with the original key:
//!
//! ```text
//! K = DK
//! repeat 16 times:
//!     D = P^-1(D)
//!     for each nibble n: D.nibble[n] = (K.bit[4n] == 0 ? S2^-1 : S1^-1)[D.nibble[n]]
//!     K = rotate_right(K, 1)
//! ```
//!
//! (In decryption round t the selection bit `K.bit[4n]` of `rotate_right(DK, t)` is the complement
//! of the bit that selected the table in encryption round 15 - t.)
//!
//! **Tables.** The standard prints *sample* tables, available here as [`StaTables::iec_sample`].
//! Tokens accepted by real meters use the *production* tables, which the STS Association
//! licenses to its members; they are not part of this crate. Load them at run time with
//! [`StaTables::parse`] or [`StaTables::new`] if you hold a licence.

use thiserror::Error;

/// Why a set of STA tables was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StaTablesError {
    /// A table is not a permutation of its index range.
    #[error("STA table {table} is not a permutation of 0..{size}")]
    NotAPermutation {
        /// "S1", "S2" or "P".
        table: &'static str,
        /// Index range size (16 or 64).
        size: usize,
    },
    /// The table text does not hold 16 + 16 + 64 numbers.
    #[error("STA table text holds {found} numbers, expected 96 (S1: 16, S2: 16, P: 64)")]
    Count {
        /// Numbers found.
        found: usize,
    },
    /// A word in the table text is not a decimal number below 64.
    #[error("STA table text has {word:?}, not a number 0..=63")]
    NotANumber {
        /// The offending word.
        word: String,
    },
}

/// The substitution and permutation tables of the STA, with their inverses.
#[derive(Clone, PartialEq, Eq)]
pub struct StaTables {
    s1: [u8; 16],
    s2: [u8; 16],
    p: [u8; 64],
    s1_inv: [u8; 16],
    s2_inv: [u8; 16],
    p_inv: [u8; 64],
}

impl std::fmt::Debug for StaTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tables may be licensed material: do not print them.
        f.write_str("StaTables(..)")
    }
}

/// Sample substitution table 1 printed in IEC 62055-41.
const SAMPLE_S1: [u8; 16] = [12, 10, 8, 4, 3, 15, 0, 2, 14, 1, 5, 13, 6, 9, 7, 11];
/// Sample substitution table 2 printed in IEC 62055-41 (the inverse of the sample S1).
const SAMPLE_S2: [u8; 16] = [6, 9, 7, 4, 3, 10, 12, 14, 2, 13, 1, 15, 0, 11, 8, 5];
/// Sample permutation table printed in IEC 62055-41.
const SAMPLE_P: [u8; 64] = [
    29, 27, 34, 9, 16, 62, 55, 2, 40, 49, 38, 25, 33, 61, 30, 23, 1, 41, 21, 57, 42, 15, 5, 58, 19, 53, 22, 17, 48, 28,
    24, 39, 3, 60, 36, 14, 11, 52, 54, 12, 31, 51, 10, 26, 0, 45, 37, 43, 44, 6, 59, 4, 7, 35, 56, 50, 13, 18, 32, 47,
    46, 63, 20, 8,
];

/// The inverse of a permutation of 0..N, or `None` if `table` is not one.
fn invert<const N: usize>(table: &[u8; N]) -> Option<[u8; N]> {
    let mut inverse = [0u8; N];
    let mut seen = [false; N];
    for (i, &v) in table.iter().enumerate() {
        let slot = seen.get_mut(usize::from(v))?;
        if *slot {
            return None;
        }
        *slot = true;
        // i < N <= 64: fits in a u8.
        *inverse.get_mut(usize::from(v))? = i as u8;
    }
    Some(inverse)
}

impl StaTables {
    /// Tables from S1, S2 and P; each must be a permutation of its index range.
    pub fn new(s1: [u8; 16], s2: [u8; 16], p: [u8; 64]) -> Result<StaTables, StaTablesError> {
        let s1_inv = invert(&s1).ok_or(StaTablesError::NotAPermutation { table: "S1", size: 16 })?;
        let s2_inv = invert(&s2).ok_or(StaTablesError::NotAPermutation { table: "S2", size: 16 })?;
        let p_inv = invert(&p).ok_or(StaTablesError::NotAPermutation { table: "P", size: 64 })?;
        Ok(StaTables { s1, s2, p, s1_inv, s2_inv, p_inv })
    }

    /// The sample tables printed in IEC 62055-41. They make a working cipher (round trips, a
    /// self-consistent vending/meter pair) but **not** the tokens of production STS meters.
    pub fn iec_sample() -> StaTables {
        StaTables {
            s1: SAMPLE_S1,
            s2: SAMPLE_S2,
            p: SAMPLE_P,
            s1_inv: invert(&SAMPLE_S1).unwrap_or(SAMPLE_S2),
            s2_inv: invert(&SAMPLE_S2).unwrap_or(SAMPLE_S1),
            p_inv: invert(&SAMPLE_P).unwrap_or([0; 64]),
        }
    }

    /// Tables from text: 96 decimal numbers, S1 (16), then S2 (16), then P (64), separated by
    /// commas and/or white space; `#` starts a comment to the end of the line.
    pub fn parse(text: &str) -> Result<StaTables, StaTablesError> {
        let mut numbers = Vec::with_capacity(96);
        for line in text.lines() {
            let content = line.split('#').next().unwrap_or("");
            for word in content.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty()) {
                match word.parse::<u8>() {
                    Ok(n) if n < 64 => numbers.push(n),
                    _ => return Err(StaTablesError::NotANumber { word: word.to_string() }),
                }
            }
        }
        let (Ok(s1), Ok(s2), Ok(p)) = (
            <[u8; 16]>::try_from(numbers.get(0..16).unwrap_or(&[])),
            <[u8; 16]>::try_from(numbers.get(16..32).unwrap_or(&[])),
            <[u8; 64]>::try_from(numbers.get(32..).unwrap_or(&[])),
        ) else {
            return Err(StaTablesError::Count { found: numbers.len() });
        };
        StaTables::new(s1, s2, p)
    }

    /// Encrypts one 64-bit block with a 64-bit decoder key (natural order, bit 63 = MSB of the
    /// first key byte).
    pub fn encrypt(&self, key: u64, block: u64) -> u64 {
        let mut k = (!key).rotate_right(12);
        let mut d = block;
        for _ in 0..16 {
            d = substitute(d, |n| if (k >> (4 * n + 3)) & 1 == 0 { &self.s1 } else { &self.s2 });
            d = permute(d, &self.p);
            k = k.rotate_left(1);
        }
        d
    }

    /// Decrypts one 64-bit block with a 64-bit decoder key.
    pub fn decrypt(&self, key: u64, block: u64) -> u64 {
        let mut k = key;
        let mut d = block;
        for _ in 0..16 {
            d = permute(d, &self.p_inv);
            d = substitute(d, |n| if (k >> (4 * n)) & 1 == 0 { &self.s2_inv } else { &self.s1_inv });
            k = k.rotate_right(1);
        }
        d
    }
}

/// Replaces each nibble n of `d` through the table chosen for it.
fn substitute<'t>(d: u64, table_for: impl Fn(u32) -> &'t [u8; 16]) -> u64 {
    (0..16u32).fold(0u64, |out, n| {
        let nibble = ((d >> (4 * n)) & 0xF) as usize;
        let replaced = table_for(n).get(nibble).copied().unwrap_or(0);
        out | (u64::from(replaced & 0xF) << (4 * n))
    })
}

/// Moves bit i of `d` to bit `table[i]`.
fn permute(d: u64, table: &[u8; 64]) -> u64 {
    table.iter().enumerate().fold(0u64, |out, (i, &to)| out | (((d >> i) & 1) << (to & 63)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_tables_round_trip() {
        let t = StaTables::iec_sample();
        for (key, block) in [(0x0ABC12DEF3456789u64, 0x0B19EB230100C207u64), (0, 0), (u64::MAX, 1)] {
            assert_eq!(t.decrypt(key, t.encrypt(key, block)), block);
        }
        assert_ne!(t.encrypt(0x0ABC12DEF3456789, 0x0B19EB230100C207), 0x0B19EB230100C207);
    }

    #[test]
    fn parse_and_validation() {
        let text: String = SAMPLE_S1
            .iter()
            .chain(SAMPLE_S2.iter())
            .chain(SAMPLE_P.iter())
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(StaTables::parse(&format!("# sample\n{text}\n")).unwrap(), StaTables::iec_sample());
        assert_eq!(StaTables::parse("1, 2"), Err(StaTablesError::Count { found: 2 }));
        assert!(matches!(StaTables::parse("x"), Err(StaTablesError::NotANumber { .. })));
        let mut bad = SAMPLE_S1;
        bad[0] = bad[1];
        assert_eq!(
            StaTables::new(bad, SAMPLE_S2, SAMPLE_P),
            Err(StaTablesError::NotAPermutation { table: "S1", size: 16 })
        );
    }
}
