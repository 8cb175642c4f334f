//! Money and prices as exact integers: amounts in minor units of a currency (cents, pence),
//! prices in micro-units of the currency per kWh, and the decimal text a cashier types.
//!
//! No floating point touches money: `"20.00"` GBP is 2000 minor units, `"0.2450"` GBP/kWh is
//! 245 000 micro-units per kWh.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Decimal places of a price: prices are held in micro-units (10^-6) of the currency per kWh.
pub const PRICE_DECIMALS: u8 = 6;

/// Largest number of decimal places a currency's minor unit may have (ISO 4217 uses 0..=4).
pub const MAX_CURRENCY_EXPONENT: u8 = 4;

/// Why a decimal text or currency code was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    /// Not a plain non-negative decimal number (`12`, `12.5`, `12.50`).
    #[error("not a non-negative decimal number: {0:?}")]
    NotDecimal(String),
    /// More decimal places than the unit allows (e.g. `20.005` for a 2-decimal currency).
    #[error("{text:?} has more than {max} decimal places")]
    TooPrecise {
        /// The text given.
        text: String,
        /// Decimal places allowed.
        max: u8,
    },
    /// The value does not fit in 63 bits of the unit.
    #[error("{0:?} is too large")]
    TooLarge(String),
    /// A currency code is three upper-case ASCII letters (ISO 4217 alphabetic code).
    #[error("not an ISO 4217 currency code (three letters A-Z): {0:?}")]
    BadCurrency(String),
}

/// Parses a non-negative decimal text into an integer count of 10^-`decimals` units:
/// `parse_decimal("20.5", 2) == Ok(2050)`. Fewer decimal places are padded with zeros; more
/// are refused ([`MoneyError::TooPrecise`]), so no amount is ever rounded silently.
///
/// # Errors
/// [`MoneyError::NotDecimal`], [`MoneyError::TooPrecise`], [`MoneyError::TooLarge`] (above
/// `i64::MAX` units, so the value can be stored as an SQLite integer).
pub fn parse_decimal(text: &str, decimals: u8) -> Result<u64, MoneyError> {
    let not_decimal = || MoneyError::NotDecimal(text.to_string());
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty() && fraction.is_empty() {
        return Err(not_decimal());
    }
    if !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(not_decimal());
    }
    if text.ends_with('.') {
        return Err(not_decimal());
    }
    if fraction.len() > usize::from(decimals) {
        return Err(MoneyError::TooPrecise { text: text.to_string(), max: decimals });
    }
    let too_large = || MoneyError::TooLarge(text.to_string());
    let mut value: u64 = 0;
    let padded = fraction.bytes().chain(std::iter::repeat_n(b'0', usize::from(decimals) - fraction.len()));
    for digit in whole.bytes().chain(padded) {
        value = value.checked_mul(10).and_then(|v| v.checked_add(u64::from(digit - b'0'))).ok_or_else(too_large)?;
    }
    if value > i64::MAX as u64 {
        return Err(too_large());
    }
    Ok(value)
}

/// Formats an integer count of 10^-`decimals` units as decimal text (`format_decimal(2050, 2)
/// == "20.50"`); the inverse of [`parse_decimal`] for its canonical output.
pub fn format_decimal(value: u64, decimals: u8) -> String {
    let scale = 10u64.pow(u32::from(decimals));
    if decimals == 0 {
        return value.to_string();
    }
    format!("{}.{:0width$}", value / scale, value % scale, width = usize::from(decimals))
}

/// An ISO 4217 alphabetic currency code, e.g. `GBP`, `KES`, `ZAR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CurrencyCode([u8; 3]);

impl CurrencyCode {
    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Constructed from three ASCII upper-case letters only.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl FromStr for CurrencyCode {
    type Err = MoneyError;

    /// Three letters A-Z (lower case is accepted and upper-cased).
    fn from_str(s: &str) -> Result<Self, MoneyError> {
        let upper = s.to_ascii_uppercase();
        match <[u8; 3]>::try_from(upper.as_bytes()) {
            Ok(code) if code.iter().all(u8::is_ascii_uppercase) => Ok(CurrencyCode(code)),
            _ => Err(MoneyError::BadCurrency(s.to_string())),
        }
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("20.00", 2), Ok(2000));
        assert_eq!(parse_decimal("20", 2), Ok(2000));
        assert_eq!(parse_decimal("0.5", 2), Ok(50));
        assert_eq!(parse_decimal(".5", 2), Ok(50));
        assert_eq!(parse_decimal("0.245", 6), Ok(245_000));
        assert_eq!(parse_decimal("7", 0), Ok(7));
        assert_eq!(parse_decimal("20.005", 2), Err(MoneyError::TooPrecise { text: "20.005".into(), max: 2 }));
        for bad in ["", ".", "20.", "-1", "1e3", "2,00", " 1", "1.2.3", "+1"] {
            assert!(matches!(parse_decimal(bad, 2), Err(MoneyError::NotDecimal(_))), "{bad:?}");
        }
        assert!(matches!(parse_decimal("92233720368547758.08", 2), Err(MoneyError::TooLarge(_))));
        assert!(matches!(parse_decimal("99999999999999999999999", 0), Err(MoneyError::TooLarge(_))));
        assert_eq!(format_decimal(2050, 2), "20.50");
        assert_eq!(format_decimal(5, 2), "0.05");
        assert_eq!(format_decimal(245_000, 6), "0.245000");
        assert_eq!(format_decimal(7, 0), "7");
    }

    #[test]
    fn currency_codes() {
        assert_eq!("gbp".parse::<CurrencyCode>().map(|c| c.to_string()), Ok("GBP".to_string()));
        for bad in ["GB", "GBPX", "G1P", "", "ÄBC"] {
            assert!(bad.parse::<CurrencyCode>().is_err(), "{bad:?}");
        }
    }
}
