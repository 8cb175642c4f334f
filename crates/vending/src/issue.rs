//! Issuing the credit token of one vend: the TID and the class 0 TransferElectricityCredit
//! token (IEC 62055-41:2018 §6.2 class 0 subclass 0, §6.3 TokenIdentifier and
//! TransferAmount), pure functions of the account, key, energy and time.
//!
//! **TID.** The TID counts minutes of the supply authority's civil time since the key's base
//! date. gridedge's vending runs on UTC civil time (the vend time is a UTC instant, and UTC
//! has no daylight-saving jumps that would repeat TIDs). A meter refuses a TID it has accepted
//! before (UsedError), so two vends for one meter in the same minute cannot share it:
//! [`next_tid`] takes the later of the vend minute and the meter's last issued TID + 1.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use sts::{BaseDate, CreditKind, DecoderKey, IssueError, Tid, TidError, Token, TokenCipher, TokenIssuer, TokenNumber};
use sts::{TransferAmount, transfer_amount::MAX_TRANSFER_AMOUNT};

use crate::account::MeterAccount;
use crate::error::VendError;

/// A token made for a vend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedToken {
    /// The plain token.
    pub token: Token,
    /// The 20-digit token number.
    pub number: TokenNumber,
    /// Its TID.
    pub tid: Tid,
    /// Energy on the token, 0.1 kWh (the TransferAmount value, ≥ what was bought).
    pub transfer_tenths_kwh: u64,
}

/// The TID for a vend at `at` under `base_date`: the UTC civil minute of `at`, or the meter's
/// `last` issued TID + 1 when that is later (so every token of a meter has a distinct,
/// increasing TID).
///
/// # Errors
/// [`VendError::Tid`] when `at` is before the base date or past its roll-over, or when
/// `last + 1` no longer fits in 24 bits (a roll-over key change is due).
pub fn next_tid(base_date: BaseDate, at: Timestamp, last: Option<Tid>) -> Result<Tid, VendError> {
    let civil = at.to_zoned(TimeZone::UTC).datetime();
    let now = Tid::from_datetime(base_date, civil)?;
    match last {
        Some(last) if last >= now => Ok(Tid::from_minutes(last.minutes().saturating_add(1))
            .map_err(|_| TidError::PastRollover { base: base_date, time: civil })?),
        _ => Ok(now),
    }
}

/// Issues the TransferElectricityCredit token for `energy_tenths_kwh` (0.1 kWh, rounded up to
/// a representable TransferAmount) with TID `tid` and random number `rnd` (low 4 bits used),
/// encrypted under `decoder_key` (EA11), checked against the account's key type and expiry.
///
/// # Errors
/// [`VendError::AmountTooSmall`] for 0, [`VendError::AmountTooLarge`] above the largest
/// TransferAmount (18 201 624 tenths), [`VendError::Issue`] for a default key (DDTK), an
/// expired key or a key that does not fit EA11.
pub fn issue_credit(
    account: &MeterAccount,
    decoder_key: &DecoderKey,
    energy_tenths_kwh: u64,
    tid: Tid,
    rnd: u8,
) -> Result<IssuedToken, VendError> {
    if energy_tenths_kwh == 0 {
        return Err(VendError::AmountTooSmall);
    }
    if energy_tenths_kwh > MAX_TRANSFER_AMOUNT {
        return Err(VendError::AmountTooLarge { tenths_kwh: energy_tenths_kwh });
    }
    let amount = TransferAmount::from_value_rounded_up(energy_tenths_kwh).map_err(IssueError::from)?;
    let cipher =
        TokenCipher::misty1(decoder_key).map_err(|_| VendError::Account(crate::AccountError::UnsupportedAlgorithm))?;
    let issuer = TokenIssuer::new(cipher, account.key_type, account.key_expiry, account.base_date);
    let token = Token::TransferCredit { kind: CreditKind::Electricity, rnd: rnd & 0x0F, tid, amount };
    let number = issuer.issue(&token)?;
    Ok(IssuedToken { token, number, tid, transfer_tenths_kwh: amount.value() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tids_increase_per_meter() {
        let at: Timestamp = "2026-03-01T10:00:30Z".parse().unwrap();
        let t = next_tid(BaseDate::Bd2014, at, None).unwrap();
        // 2014-01-01 .. 2026-03-01 = 4442 days (hand count: 12 years with 3 leap days = 4383,
        // + Jan 31 + Feb 28 = 59) -> 4442 * 1440 + 600 minutes.
        assert_eq!(t.minutes(), 4442 * 1440 + 600);
        assert_eq!(next_tid(BaseDate::Bd2014, at, Some(t)).unwrap().minutes(), t.minutes() + 1);
        let earlier = Tid::from_minutes(t.minutes() - 5).unwrap();
        assert_eq!(next_tid(BaseDate::Bd2014, at, Some(earlier)).unwrap(), t);
        assert!(matches!(next_tid(BaseDate::Bd1993, at, None), Err(VendError::Tid(TidError::PastRollover { .. }))));
        let last = Tid::from_minutes(sts::token_identifier::TID_MAX).unwrap();
        assert!(matches!(next_tid(BaseDate::Bd2014, at, Some(last)), Err(VendError::Tid(_))));
    }
}
