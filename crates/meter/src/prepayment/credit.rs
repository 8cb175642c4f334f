//! The credit balances of a prepaid meter and their arithmetic, in Wh (pure, no time).
//!
//! Two credits, consumed in priority order (IEC 62056-6-2 §4.6 payment metering: Credit
//! objects, class_id 112, with `priority` and `credit_status`):
//!
//! 1. **Token credit** (priority 1): what tokens bought. It can go negative only through
//!    friendly credit: consumption during friendly hours when nothing else is left is owed
//!    as debt, which the next token repays first.
//! 2. **Emergency credit** (priority 2): a fixed amount the customer may borrow once the
//!    token credit is at or below the emergency threshold, by invoking it. What was borrowed
//!    is repaid from the next token (after any friendly debt); once fully repaid the emergency
//!    credit is no longer invoked and can be borrowed again next time.
//!
//! Invariant: `net_wh()` = token credit − borrowed emergency credit changes only by
//! `+ token amount` and `− consumption`.

/// `credit_status` of a Credit object (class 112 attribute 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CreditStatus {
    /// (0) enabled: present, but may not be invoked yet.
    Enabled = 0,
    /// (1) selectable: may be invoked now.
    Selectable = 1,
    /// (2) selected/invoked: invoked, waiting for the credits before it to run out.
    Selected = 2,
    /// (3) in use: consumption is charged to it.
    InUse = 3,
    /// (4) exhausted: nothing left.
    Exhausted = 4,
}

/// Why the emergency credit cannot be invoked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum EmergencyRefusal {
    /// The token credit is above the emergency threshold.
    #[error("token credit is above the emergency credit threshold")]
    AboveThreshold,
    /// Already invoked.
    #[error("emergency credit is already invoked")]
    AlreadyInvoked,
    /// The meter has no emergency credit, or it is used up and not yet repaid.
    #[error("no emergency credit available")]
    NoneAvailable,
}

/// The balances (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CreditBalances {
    /// Token credit, Wh; negative = friendly-credit debt.
    pub token_wh: i64,
    /// Emergency credit left to borrow, Wh (≤ `emergency_limit_wh`).
    pub emergency_wh: u64,
    /// The full emergency credit, Wh (0 = the meter offers none).
    pub emergency_limit_wh: u64,
    /// Whether the customer invoked the emergency credit and has not fully repaid it.
    pub emergency_invoked: bool,
}

/// Saturating u64 → i64.
fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl CreditBalances {
    /// Balances with `token_wh` of token credit and a full, uninvoked emergency credit.
    pub fn new(token_wh: u64, emergency_limit_wh: u64) -> CreditBalances {
        CreditBalances {
            token_wh: signed(token_wh),
            emergency_wh: emergency_limit_wh,
            emergency_limit_wh,
            emergency_invoked: false,
        }
    }

    /// Credit that consumption may still use before the supply must be interrupted: positive
    /// token credit plus, when invoked, the emergency credit left. Wh.
    pub fn available_wh(&self) -> u64 {
        let token = u64::try_from(self.token_wh.max(0)).unwrap_or(0);
        token.saturating_add(if self.emergency_invoked { self.emergency_wh } else { 0 })
    }

    /// Emergency credit borrowed and not yet repaid, Wh.
    pub fn borrowed_wh(&self) -> u64 {
        self.emergency_limit_wh.saturating_sub(self.emergency_wh)
    }

    /// Token credit minus borrowed emergency credit, Wh (negative = the customer owes).
    pub fn net_wh(&self) -> i64 {
        self.token_wh.saturating_sub(signed(self.borrowed_wh()))
    }

    /// Charges `wh` of consumption: token credit first, then invoked emergency credit, and
    /// whatever is left becomes friendly-credit debt on the token credit.
    pub fn consume(&mut self, wh: u64) {
        let from_token = wh.min(u64::try_from(self.token_wh.max(0)).unwrap_or(0));
        self.token_wh -= signed(from_token);
        let mut rest = wh - from_token;
        if self.emergency_invoked {
            let from_emergency = rest.min(self.emergency_wh);
            self.emergency_wh -= from_emergency;
            rest -= from_emergency;
        }
        self.token_wh = self.token_wh.saturating_sub(signed(rest));
    }

    /// Adds a token's `wh`: repays friendly debt first, then borrowed emergency credit; the
    /// rest is token credit. Returns the emergency credit repaid, Wh.
    pub fn add_token(&mut self, wh: u64) -> u64 {
        self.token_wh = self.token_wh.saturating_add(signed(wh));
        let repaid = if self.token_wh > 0 {
            let r = self.borrowed_wh().min(u64::try_from(self.token_wh).unwrap_or(0));
            self.emergency_wh += r;
            self.token_wh -= signed(r);
            r
        } else {
            0
        };
        if self.borrowed_wh() == 0 {
            self.emergency_invoked = false;
        }
        repaid
    }

    /// Clears the token credit (a ClearCredit token): token credit and friendly debt go to 0;
    /// borrowed emergency credit stays owed.
    pub fn clear_token_credit(&mut self) {
        self.token_wh = 0;
    }

    /// Invokes the emergency credit: allowed when it is not invoked, has credit left and the
    /// token credit is at or below `threshold_wh`.
    ///
    /// # Errors
    /// [`EmergencyRefusal`].
    pub fn invoke_emergency(&mut self, threshold_wh: u64) -> Result<(), EmergencyRefusal> {
        if self.emergency_invoked {
            return Err(EmergencyRefusal::AlreadyInvoked);
        }
        if self.emergency_wh == 0 {
            return Err(EmergencyRefusal::NoneAvailable);
        }
        if self.token_wh > signed(threshold_wh) {
            return Err(EmergencyRefusal::AboveThreshold);
        }
        self.emergency_invoked = true;
        Ok(())
    }

    /// `credit_status` of the token credit: in use while positive, else exhausted.
    pub fn token_status(&self) -> CreditStatus {
        if self.token_wh > 0 { CreditStatus::InUse } else { CreditStatus::Exhausted }
    }

    /// `credit_status` of the emergency credit, given the threshold at or below which it
    /// becomes selectable.
    pub fn emergency_status(&self, threshold_wh: u64) -> CreditStatus {
        match (self.emergency_invoked, self.emergency_wh) {
            (_, 0) => CreditStatus::Exhausted,
            (true, _) if self.token_wh > 0 => CreditStatus::Selected,
            (true, _) => CreditStatus::InUse,
            (false, _) if self.token_wh <= signed(threshold_wh) => CreditStatus::Selectable,
            (false, _) => CreditStatus::Enabled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emergency_credit_is_borrowed_then_repaid_from_the_next_token() {
        let mut c = CreditBalances::new(3_000, 5_000);
        assert_eq!(c.emergency_status(4_000), CreditStatus::Selectable);
        assert_eq!(CreditBalances::new(9_000, 5_000).emergency_status(4_000), CreditStatus::Enabled);
        c.invoke_emergency(4_000).unwrap();
        assert_eq!(c.emergency_status(4_000), CreditStatus::Selected);
        assert_eq!(c.invoke_emergency(4_000), Err(EmergencyRefusal::AlreadyInvoked));
        assert_eq!(c.available_wh(), 8_000);
        c.consume(4_500);
        assert_eq!((c.token_wh, c.emergency_wh, c.emergency_status(4_000)), (0, 3_500, CreditStatus::InUse));
        c.consume(3_500);
        assert_eq!((c.available_wh(), c.emergency_status(4_000)), (0, CreditStatus::Exhausted));
        assert_eq!(c.net_wh(), -5_000);
        // A 2 kWh token repays 2 kWh of the 5 kWh borrowed: still invoked, 2 kWh usable.
        assert_eq!(c.add_token(2_000), 2_000);
        assert_eq!((c.token_wh, c.emergency_wh, c.emergency_invoked), (0, 2_000, true));
        // A 10 kWh token repays the remaining 3 kWh; 7 kWh are token credit.
        assert_eq!(c.add_token(10_000), 3_000);
        assert_eq!((c.token_wh, c.emergency_wh, c.emergency_invoked), (7_000, 5_000, false));
        assert_eq!(c.net_wh(), 7_000);
    }

    #[test]
    fn friendly_debt_is_repaid_before_emergency_credit() {
        let mut c = CreditBalances::new(1_000, 2_000);
        c.invoke_emergency(5_000).unwrap();
        c.consume(4_500); // 1 kWh token, 2 kWh emergency, 1.5 kWh friendly debt
        assert_eq!((c.token_wh, c.emergency_wh), (-1_500, 0));
        assert_eq!(c.net_wh(), -3_500);
        assert_eq!(c.add_token(2_500), 1_000);
        assert_eq!((c.token_wh, c.emergency_wh, c.emergency_invoked), (0, 1_000, true));
        assert_eq!(c.net_wh(), -1_000);
    }

    #[test]
    fn refusals_and_statuses() {
        assert_eq!(CreditBalances::new(10, 0).invoke_emergency(100), Err(EmergencyRefusal::NoneAvailable));
        assert_eq!(CreditBalances::new(10_000, 5).invoke_emergency(100), Err(EmergencyRefusal::AboveThreshold));
        let mut c = CreditBalances::new(0, 0);
        assert_eq!((c.token_status(), c.emergency_status(0)), (CreditStatus::Exhausted, CreditStatus::Exhausted));
        c.add_token(1);
        assert_eq!(c.token_status(), CreditStatus::InUse);
        c.clear_token_credit();
        assert_eq!(c.token_wh, 0);
    }
}
