//! The price of electricity for a tariff index: the conversion of money into the energy an
//! STS electricity credit token carries (IEC 62055-41:2018 §6.3: class 0 subclass 0
//! TransferAmount in 0.1 kWh; §6.5 TariffIndex, the TI a meter's decoder key carries).
//!
//! A meter's tariff is found through the TI of its key: every meter whose key has TI 01 buys
//! at the price of tariff 01. Amount → energy is rounded **down** to the 0.1 kWh the token can
//! carry, so the customer pays for no more than the token holds; the TransferAmount encoding
//! may then round the energy *up* to the next representable value (above 1 638.3 kWh), in the
//! customer's favour (see [`sts::TransferAmount::from_value_rounded_up`]).

use sts::TariffIndex;
use thiserror::Error;

use crate::money::{CurrencyCode, MAX_CURRENCY_EXPONENT, MoneyError, PRICE_DECIMALS, format_decimal, parse_decimal};

/// Why a tariff was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TariffError {
    /// A price of zero would sell unlimited energy.
    #[error("the price per kWh must be greater than zero")]
    ZeroPrice,
    /// The currency's minor unit has more than [`MAX_CURRENCY_EXPONENT`] decimals.
    #[error("currency exponent {0} is above {MAX_CURRENCY_EXPONENT}")]
    Exponent(u8),
    /// The price text is not a decimal with at most 6 places.
    #[error(transparent)]
    Price(#[from] MoneyError),
}

/// The price of one tariff index: currency, the decimals of its minor unit, and the price of
/// one kWh in micro-units (10^-6) of the currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tariff {
    /// The TI of the meters this price applies to.
    pub tariff_index: TariffIndex,
    /// ISO 4217 code of the currency the customer pays in.
    pub currency: CurrencyCode,
    /// Decimal places of the currency's minor unit (2 for GBP, EUR, KES, ZAR; 0 for JPY).
    pub currency_exponent: u8,
    /// Price of 1 kWh, micro-units of the currency (0.245 GBP/kWh = 245 000).
    pub price_micro_per_kwh: u64,
}

impl Tariff {
    /// A tariff; `price_per_kwh` is decimal text in the currency (e.g. `"0.245"`, at most 6
    /// decimal places).
    ///
    /// # Errors
    /// [`TariffError`] for a zero or malformed price or an exponent above 4.
    pub fn new(
        tariff_index: TariffIndex,
        currency: CurrencyCode,
        currency_exponent: u8,
        price_per_kwh: &str,
    ) -> Result<Tariff, TariffError> {
        if currency_exponent > MAX_CURRENCY_EXPONENT {
            return Err(TariffError::Exponent(currency_exponent));
        }
        let price_micro_per_kwh = parse_decimal(price_per_kwh, PRICE_DECIMALS)?;
        if price_micro_per_kwh == 0 {
            return Err(TariffError::ZeroPrice);
        }
        Ok(Tariff { tariff_index, currency, currency_exponent, price_micro_per_kwh })
    }

    /// Parses a payment in this tariff's currency (`"20.00"`) into minor units.
    ///
    /// # Errors
    /// [`MoneyError`] for malformed text or more decimals than the currency has.
    pub fn parse_amount(&self, text: &str) -> Result<u64, MoneyError> {
        parse_decimal(text, self.currency_exponent)
    }

    /// Formats minor units of this currency as decimal text (`2000` → `"20.00"`).
    pub fn format_amount(&self, amount_minor: u64) -> String {
        format_decimal(amount_minor, self.currency_exponent)
    }

    /// The price per kWh as decimal text with 6 places.
    pub fn format_price(&self) -> String {
        format_decimal(self.price_micro_per_kwh, PRICE_DECIMALS)
    }

    /// The energy `amount_minor` buys, in 0.1 kWh, rounded down:
    /// `floor(amount × 10^(6 − exponent) × 10 / price_micro_per_kwh)`.
    pub fn energy_tenths_kwh(&self, amount_minor: u64) -> u64 {
        let micro = u128::from(amount_minor) * 10u128.pow(u32::from(PRICE_DECIMALS - self.currency_exponent));
        let tenths = micro * 10 / u128::from(self.price_micro_per_kwh.max(1));
        u64::try_from(tenths).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbp(price: &str) -> Tariff {
        Tariff::new(TariffIndex::ONE, "GBP".parse().unwrap(), 2, price).unwrap()
    }

    #[test]
    fn money_to_energy_rounds_down() {
        // 20.00 at 0.25/kWh = 80 kWh exactly.
        assert_eq!(gbp("0.25").energy_tenths_kwh(2000), 800);
        // 20.00 at 0.245/kWh = 81.632... kWh -> 81.6 kWh.
        assert_eq!(gbp("0.245").energy_tenths_kwh(2000), 816);
        // 0.01 at 0.30/kWh = 0.0333 kWh -> nothing.
        assert_eq!(gbp("0.30").energy_tenths_kwh(1), 0);
        let yen = Tariff::new(TariffIndex::ONE, "JPY".parse().unwrap(), 0, "31").unwrap();
        assert_eq!(yen.energy_tenths_kwh(1000), 322); // 1000 JPY / 31 = 32.25 kWh
        assert_eq!(gbp("0.25").format_amount(2005), "20.05");
        assert_eq!(gbp("0.25").format_price(), "0.250000");
    }

    #[test]
    fn refuses_bad_tariffs() {
        let gbp_code = "GBP".parse().unwrap();
        assert_eq!(Tariff::new(TariffIndex::ONE, gbp_code, 2, "0"), Err(TariffError::ZeroPrice));
        assert_eq!(Tariff::new(TariffIndex::ONE, gbp_code, 5, "1"), Err(TariffError::Exponent(5)));
        assert!(matches!(Tariff::new(TariffIndex::ONE, gbp_code, 2, "0.0000001"), Err(TariffError::Price(_))));
    }
}
