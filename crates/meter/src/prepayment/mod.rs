//! Prepaid meter mode: an STS token decoder (IEC 62055-41), a credit register that the
//! metered energy decrements, low-credit warning, friendly credit, emergency credit, and the
//! supply relay switched by credit (IEC 62056-6-2 §4.6 payment metering: Token gateway, Credit;
//! §4.5.8 Disconnect control).
//!
//! # Credit follows the registers exactly
//! The meter computes its registers on demand, so the credit is computed the same way: the
//! prepayment keeps an *anchor* (meter time `a`, the import register `R(a)` = 1.0.1.8.0 and the
//! balances at `a`). When anything happens at meter time `t` (a GET/SET/ACTION, a token, a
//! clock step), [`Prepayment`] first brings the anchor to `t`, splitting `(a, t]` at every
//! change of friendliness; on each piece it charges `R(end) − R(start)`, Wh. Where the credit
//! would run out inside a piece outside friendly hours, it finds by bisection the first
//! millisecond `s` at which `R(s) − R(a)` reaches the credit left, charges exactly that, and
//! opens the relay at `s` (`local_disconnect`, transition g: connected →
//! ready_for_reconnection). From then on the registers stop (the metrology withholds the
//! energy of open periods) and so does the charging. Because the registers are exact integer
//! functions of meter time, the result does not depend on how often or when the meter is
//! asked: evaluating at `t` once or at a thousand points before `t` gives the same credit,
//! relay history and registers. Invariant (without backward clock steps): token credit −
//! borrowed emergency credit = initial credit + tokens − (R(now) − R(start)).
//!
//! Readers of the `&self` accessors of [`crate::SimulatedMeter`] (`registers`, `instantaneous`,
//! `profile_entries`) see the relay as of the last event; call
//! [`crate::SimulatedMeter::settle_prepayment`] with the current time first (every GET, SET and
//! ACTION does).
//!
//! # Relay
//! The prepayment opens the relay with `local_disconnect` (g) and closes it with
//! `local_reconnect` (h) when credit arrives (a token, or invoking emergency credit) and only if
//! it opened it. Transition h exists in control modes 5 and 6 only: a prepaid meter in mode 6
//! reconnects by itself; in modes 1–4 it stays `ready_for_reconnection` until the customer
//! presses the button (`manual_reconnect`, e) — both are real meter behaviours. A relay the
//! HES opened (`remote_disconnect`, state disconnected) is never closed by credit. In mode 0 the
//! relay cannot open: consumption without credit is owed like friendly credit. A relay closed
//! by someone else while there is no credit is opened again at once (outside friendly hours).
//!
//! # Friendly credit and emergency credit
//! During [`FriendlyCredit`] hours the supply is never interrupted; consumption beyond the
//! credit is owed (negative token credit) and the next token repays it first. Friendly credit
//! does not reconnect a relay that is already open. Emergency credit is a fixed amount the
//! customer may invoke (keypad, or Credit 0.0.19.10.1.255 method 3 over DLMS) once the token
//! credit is at or below the emergency threshold; it is repaid from the next token(s) after any
//! friendly debt ([`credit`]).
//!
//! # Tokens
//! Tokens enter through the Token gateway (class 115, remote delivery over DLMS) or the keypad
//! ([`crate::SimulatedMeter::enter_token`]). The decoder is [`sts::MeterDecoder`] with an EA11
//! (MISTY1) decoder key, normally derived by DKGA04: the STA (EA07) production tables are not in
//! the project. Class 0 electricity credit adds `amount × 100` Wh; class 2 ClearCredit (register
//! 0 or 0xFFFF) clears the token credit; key change tokens change the key; class 1 test tokens
//! are acknowledged; other class 2 functions (power limits, tariff rate, tamper, water factor)
//! are not modelled and answer "execution failure". Refusals carry the standard's TokenResult
//! and the display indication of [`sts::TokenRejection::display_indication`].

pub mod credit;
pub mod friendly;

use std::collections::VecDeque;

use jiff::Timestamp;
use sts::{
    Accepted, BaseDate, CreditKind, DecoderKey, EncryptionAlgorithm, KeyError, KeyExpiryNumber, KeyRevisionNumber,
    KeyType, MeterDecoder, MeterDecoderConfig, SupplyGroupCode, TariffIndex, Token, TokenRejection,
};
use thiserror::Error;

use crate::metrology::Metrology;
use crate::objects::credit::CreditThresholds;
use crate::objects::disconnect_control::{ControlState, DisconnectControl, RelayTrigger};
use crate::objects::token_gateway::{TokenDeliveryMethod, TokenGateway, TokenStatusCode};
use crate::time_zone::MeterTimeZone;
use credit::{CreditBalances, EmergencyRefusal};
pub use friendly::FriendlyCredit;

/// Most events kept in the prepayment event log (oldest dropped first).
pub const MAX_EVENTS: usize = 500;

/// Wh per 0.1 kWh (the resolution of an STS electricity credit token).
pub const WH_PER_TOKEN_UNIT: u64 = 100;

/// The meter's STS decoder key and its attributes (IEC 62055-41:2018 §6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsKey {
    /// The decoder key (128 bits for EA11).
    pub decoder_key: DecoderKey,
    /// Token encryption algorithm; only EA11 (MISTY1) can be used here (no STA tables).
    pub algorithm: EncryptionAlgorithm,
    /// Key type (2 = unique).
    pub key_type: KeyType,
    /// Key revision number.
    pub key_revision: KeyRevisionNumber,
    /// Tariff index.
    pub tariff_index: TariffIndex,
    /// Supply group code.
    pub supply_group_code: SupplyGroupCode,
    /// Key expiry number (255 = never).
    pub key_expiry: KeyExpiryNumber,
    /// TID base date of the key.
    pub base_date: BaseDate,
}

impl StsKey {
    /// An EA11 unique key with KRN 1, TI 01, SGC 000000, KEN 255 and base date 2014 (the 1993
    /// base date rolled over on 2024-11-24).
    pub fn misty1(decoder_key: DecoderKey) -> StsKey {
        StsKey {
            decoder_key,
            algorithm: EncryptionAlgorithm::Misty1,
            key_type: KeyType::Unique,
            key_revision: KeyRevisionNumber::ONE,
            tariff_index: TariffIndex::ONE,
            supply_group_code: SupplyGroupCode::ZERO,
            key_expiry: KeyExpiryNumber::NEVER,
            base_date: BaseDate::Bd2014,
        }
    }
}

/// Configuration of prepaid mode ([`crate::MeterConfig::prepayment`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepaymentConfig {
    /// The STS key.
    pub key: StsKey,
    /// Accepted TIDs the decoder remembers (replay protection), ≥ 1. Default 50.
    pub tid_memory: usize,
    /// Meter time from which consumption is charged; `None` = the commissioning epoch.
    pub start: Option<Timestamp>,
    /// Token credit at `start`, Wh.
    pub initial_credit_wh: u64,
    /// Low-credit warning at or below this available credit, Wh. Default 5 000.
    pub low_credit_threshold_wh: u64,
    /// The emergency credit the customer may borrow, Wh (0 = none). Default 0.
    pub emergency_credit_wh: u64,
    /// Token credit at or below which emergency credit may be invoked, Wh. Default 5 000.
    pub emergency_threshold_wh: u64,
    /// When the supply stays on without credit. Default: never.
    pub friendly: FriendlyCredit,
}

impl PrepaymentConfig {
    /// Prepaid mode with `key` and the defaults above (no initial credit).
    pub fn new(key: StsKey) -> PrepaymentConfig {
        PrepaymentConfig {
            key,
            tid_memory: 50,
            start: None,
            initial_credit_wh: 0,
            low_credit_threshold_wh: 5_000,
            emergency_credit_wh: 0,
            emergency_threshold_wh: 5_000,
            friendly: FriendlyCredit::none(),
        }
    }

    /// The decoder configuration of the key.
    pub fn decoder_config(&self) -> MeterDecoderConfig {
        let k = &self.key;
        let mut c = MeterDecoderConfig::new(k.algorithm, k.decoder_key.clone(), None);
        c.key_type = k.key_type;
        c.key_revision = k.key_revision;
        c.tariff_index = k.tariff_index;
        c.supply_group_code = k.supply_group_code;
        c.key_expiry = k.key_expiry;
        c.base_date = k.base_date;
        c.tid_memory = self.tid_memory;
        c
    }
}

/// Why a prepayment configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrepaymentConfigError {
    /// The key does not fit the algorithm (or EA07 without tables).
    #[error("STS key: {0}")]
    Key(#[from] KeyError),
    /// Friendly hours outside 0..=23 or days outside 1..=7.
    #[error("friendly credit: hours must be 0..=23 and days 1..=7")]
    Friendly,
    /// `tid_memory` is 0.
    #[error("the TID memory must hold at least one TID")]
    TidMemory,
}

/// What happened, for the meter's prepayment event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepaymentEventKind {
    /// A token was applied; `credit_wh` is the energy it added (0 for non-credit tokens).
    TokenAccepted {
        /// Energy added, Wh.
        credit_wh: u64,
    },
    /// A token was refused or could not be applied.
    TokenRefused {
        /// The standard's TokenResult name (or "NotSupported").
        result: &'static str,
        /// The display indication.
        display: &'static str,
    },
    /// The available credit fell to or below the low-credit threshold.
    LowCredit,
    /// The available credit reached zero.
    CreditExhausted,
    /// The customer invoked the emergency credit.
    EmergencyCreditInvoked,
    /// The prepayment opened the relay (no credit outside friendly hours).
    SupplyInterrupted,
    /// The prepayment closed the relay (credit arrived).
    SupplyRestored,
}

/// One event at meter time `meter_ms` (UTC ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepaymentEvent {
    /// Meter time, UTC ms since the Unix epoch.
    pub meter_ms: i64,
    /// What happened.
    pub kind: PrepaymentEventKind,
}

/// The answer to a token: what the meter displays and what the Token gateway reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    /// Token gateway `token_status.status_code`.
    pub status: TokenStatusCode,
    /// Display indication (e.g. `ACCEPT`, `USED`, `REJECT`).
    pub display: &'static str,
    /// The STS TokenResult name (`Accepted`, `UsedError`, `CRCError`, ...).
    pub result: &'static str,
    /// Credit the token added, Wh.
    pub credit_added_wh: u64,
    /// The decoder's verdict.
    pub outcome: Result<Accepted, TokenRejection>,
}

/// Totals since prepaid mode started, Wh: what changed the credit other than consumption
/// (`credited_wh`: tokens, minus cleared credit) and the consumption charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ledger {
    /// Sum of token credit added minus credit cleared by ClearCredit tokens, Wh.
    pub credited_wh: i64,
    /// Consumption charged, Wh.
    pub charged_wh: u64,
}

/// The relay and metrology the prepayment drives, borrowed from the meter for one call.
pub(crate) struct Plant<'a> {
    metrology: &'a mut Metrology,
    relay: &'a mut DisconnectControl,
    zone: MeterTimeZone,
}

impl<'a> Plant<'a> {
    pub(crate) fn new(metrology: &'a mut Metrology, relay: &'a mut DisconnectControl, zone: MeterTimeZone) -> Self {
        Plant { metrology, relay, zone }
    }

    /// The import register 1.0.1.8.0 at meter time `t_ms`, Wh.
    fn import_wh(&self, t_ms: i64) -> u64 {
        self.metrology.registers(t_ms).active_import_wh
    }

    /// Applies a relay trigger at `t_ms` (as [`crate::SimulatedMeter::trigger_relay`] does).
    fn switch(&mut self, t_ms: i64, trigger: RelayTrigger) -> bool {
        let changed = self.relay.apply(trigger);
        if self.relay.output_state() {
            self.metrology.close_relay(t_ms);
        } else {
            self.metrology.open_relay(t_ms);
        }
        changed
    }

    /// The first millisecond `s` in `(lo, hi]` with `R(s) − lo_import ≥ need`, by bisection;
    /// needs `need ≥ 1` and `R(hi) − lo_import ≥ need` (R is non-decreasing while the relay is
    /// closed).
    fn first_reaching(&self, lo: i64, hi: i64, lo_import: u64, need: u64) -> i64 {
        let (mut a, mut b) = (lo, hi);
        while b - a > 1 {
            let m = a + (b - a) / 2;
            if self.import_wh(m).saturating_sub(lo_import) >= need {
                b = m;
            } else {
                a = m;
            }
        }
        b
    }
}

/// The prepayment function of a meter (see the module documentation).
#[derive(Debug, Clone)]
pub struct Prepayment {
    config: PrepaymentConfig,
    decoder: MeterDecoder,
    credit: CreditBalances,
    /// Meter time up to which credit is computed, UTC ms.
    anchor_ms: i64,
    /// Import register at `anchor_ms`, Wh.
    anchor_import_wh: u64,
    /// After a backward clock step: the span up to here was charged already.
    free_until_ms: i64,
    low_credit: bool,
    disconnected_by_prepayment: bool,
    gateway: TokenGateway,
    events: VecDeque<PrepaymentEvent>,
    ledger: Ledger,
}

impl Prepayment {
    /// Prepaid mode for a meter with `metrology`, starting at `config.start` (or the
    /// commissioning epoch).
    ///
    /// # Errors
    /// [`PrepaymentConfigError`].
    pub(crate) fn new(config: &PrepaymentConfig, metrology: &Metrology) -> Result<Prepayment, PrepaymentConfigError> {
        if !config.friendly.is_valid() {
            return Err(PrepaymentConfigError::Friendly);
        }
        if config.tid_memory == 0 {
            return Err(PrepaymentConfigError::TidMemory);
        }
        let decoder = MeterDecoder::new(config.decoder_config())?;
        let anchor_ms = config.start.map_or(metrology.epoch_ms(), |t| t.as_millisecond());
        Ok(Prepayment {
            decoder,
            credit: CreditBalances::new(config.initial_credit_wh, config.emergency_credit_wh),
            anchor_ms,
            anchor_import_wh: metrology.registers(anchor_ms).active_import_wh,
            free_until_ms: anchor_ms,
            low_credit: false,
            disconnected_by_prepayment: false,
            gateway: TokenGateway::default(),
            events: VecDeque::new(),
            ledger: Ledger::default(),
            config: config.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PrepaymentConfig {
        &self.config
    }

    /// The balances as of the last event (see [`crate::SimulatedMeter::settle_prepayment`]).
    pub fn credit(&self) -> &CreditBalances {
        &self.credit
    }

    /// The thresholds the Credit objects show.
    pub fn thresholds(&self) -> CreditThresholds {
        CreditThresholds {
            low_credit_wh: self.config.low_credit_threshold_wh,
            emergency_wh: self.config.emergency_threshold_wh,
        }
    }

    /// Whether the low-credit warning is on (available credit at or below the threshold).
    pub fn is_low_credit(&self) -> bool {
        self.low_credit
    }

    /// Meter time up to which the credit is computed, UTC ms.
    pub fn settled_until_ms(&self) -> i64 {
        self.anchor_ms
    }

    /// The Token gateway's state.
    pub fn gateway(&self) -> &TokenGateway {
        &self.gateway
    }

    /// The STS decoder (key state, remembered TIDs).
    pub fn decoder(&self) -> &MeterDecoder {
        &self.decoder
    }

    /// The event log, oldest first (at most [`MAX_EVENTS`]).
    pub fn events(&self) -> impl Iterator<Item = &PrepaymentEvent> {
        self.events.iter()
    }

    /// Credit and consumption totals.
    pub fn ledger(&self) -> Ledger {
        self.ledger
    }

    fn push(&mut self, meter_ms: i64, kind: PrepaymentEventKind) {
        if self.events.len() == MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(PrepaymentEvent { meter_ms, kind });
    }

    fn move_anchor(&mut self, t_ms: i64, plant: &Plant<'_>) {
        if t_ms > self.anchor_ms {
            self.anchor_ms = t_ms;
            self.anchor_import_wh = plant.import_wh(t_ms);
        }
    }

    fn charge(&mut self, wh: u64) {
        self.credit.consume(wh);
        self.ledger.charged_wh = self.ledger.charged_wh.saturating_add(wh);
    }

    /// Raises the low-credit warning at `t_ms` if the available credit is at or below the
    /// threshold now.
    fn check_low_credit(&mut self, t_ms: i64) {
        if !self.low_credit && self.credit.available_wh() <= self.config.low_credit_threshold_wh {
            self.low_credit = true;
            self.push(t_ms, PrepaymentEventKind::LowCredit);
        }
    }

    /// Raises the warning at the exact moment in `(anchor, until]` where charging `used`
    /// (of `available`) crosses the threshold.
    fn note_low_credit_within(&mut self, plant: &Plant<'_>, until: i64, available: u64, used: u64) {
        let threshold = self.config.low_credit_threshold_wh;
        if self.low_credit || available <= threshold || available.saturating_sub(used) > threshold {
            return;
        }
        let s = plant.first_reaching(self.anchor_ms, until, self.anchor_import_wh, available - threshold);
        self.low_credit = true;
        self.push(s, PrepaymentEventKind::LowCredit);
    }

    /// Brings credit and relay to meter time `t_ms` (see the module documentation). Times
    /// before the last event are ignored.
    pub(crate) fn advance(&mut self, t_ms: i64, plant: &mut Plant<'_>) {
        if t_ms < self.anchor_ms {
            return;
        }
        if plant.relay.output_state() {
            self.disconnected_by_prepayment = false;
        }
        loop {
            if self.anchor_ms < self.free_until_ms {
                self.move_anchor(t_ms.min(self.free_until_ms), plant);
                if self.anchor_ms < self.free_until_ms {
                    return;
                }
            }
            let connected = plant.relay.output_state();
            let friendly = self.config.friendly.is_friendly(plant.zone, self.anchor_ms);
            let available = self.credit.available_wh();
            self.check_low_credit(self.anchor_ms);
            let mut owe = friendly;
            if connected && !friendly && available == 0 {
                if plant.switch(self.anchor_ms, RelayTrigger::LocalDisconnect) {
                    self.disconnected_by_prepayment = true;
                    self.push(self.anchor_ms, PrepaymentEventKind::SupplyInterrupted);
                    continue;
                }
                // Control mode 0: the relay cannot open; consumption is owed.
                owe = true;
            }
            if self.anchor_ms >= t_ms {
                return;
            }
            if !connected {
                // The relay is open: the registers stand still, nothing to charge.
                self.move_anchor(t_ms, plant);
                return;
            }
            let end = self.config.friendly.next_change(plant.zone, self.anchor_ms, t_ms);
            let end_import = plant.import_wh(end);
            let used = end_import.saturating_sub(self.anchor_import_wh);
            if owe || used < available {
                self.note_low_credit_within(plant, end, available, used);
                if available > 0 && used >= available {
                    // Runs out during friendly hours (or in control mode 0): owed from here on.
                    let s = plant.first_reaching(self.anchor_ms, end, self.anchor_import_wh, available);
                    self.push(s, PrepaymentEventKind::CreditExhausted);
                }
                self.charge(used);
                self.anchor_ms = end;
                self.anchor_import_wh = end_import;
                continue;
            }
            // The credit runs out inside this piece, outside friendly hours.
            let s = plant.first_reaching(self.anchor_ms, end, self.anchor_import_wh, available);
            self.note_low_credit_within(plant, s, available, available);
            let s_import = plant.import_wh(s);
            self.charge(s_import.saturating_sub(self.anchor_import_wh));
            self.anchor_ms = s;
            self.anchor_import_wh = s_import;
            self.push(s, PrepaymentEventKind::CreditExhausted);
        }
    }

    /// The meter clock jumped from meter time `old_ms` to `new_ms` (time synchronisation).
    /// Forward: the skipped span is charged like any other (the registers jump too). Backward:
    /// the anchor moves back to `new_ms` and the repeated span, already charged, is not
    /// charged again.
    pub(crate) fn clock_stepped(&mut self, old_ms: i64, new_ms: i64, plant: &mut Plant<'_>) {
        self.advance(old_ms, plant);
        if new_ms < self.anchor_ms {
            self.free_until_ms = self.free_until_ms.max(self.anchor_ms);
            self.anchor_ms = new_ms;
            self.anchor_import_wh = plant.import_wh(new_ms);
        }
        self.advance(new_ms, plant);
    }

    /// After credit arrived: clear the warning if above the threshold and close the relay the
    /// prepayment opened (transition h, modes 5 and 6).
    fn credit_arrived(&mut self, t_ms: i64, plant: &mut Plant<'_>) {
        if self.credit.available_wh() > self.config.low_credit_threshold_wh {
            self.low_credit = false;
        }
        if self.disconnected_by_prepayment
            && plant.relay.state == ControlState::ReadyForReconnection
            && self.credit.available_wh() > 0
            && plant.switch(t_ms, RelayTrigger::LocalReconnect)
        {
            self.disconnected_by_prepayment = false;
            self.push(t_ms, PrepaymentEventKind::SupplyRestored);
        }
    }

    /// Enters a token at meter time `t_ms` (bytes as received: the 20 ASCII digits, spaces and
    /// '-' allowed) and applies it.
    pub(crate) fn enter_token(
        &mut self,
        t_ms: i64,
        token: &[u8],
        method: TokenDeliveryMethod,
        plant: &mut Plant<'_>,
    ) -> TokenEntry {
        self.advance(t_ms, plant);
        let outcome = self.decoder.enter(&String::from_utf8_lossy(token));
        let (status, display, result, credit_added_wh, detail) = match &outcome {
            Ok(Accepted::Credit { kind: CreditKind::Electricity, amount, .. }) => {
                let wh = amount.value().saturating_mul(WH_PER_TOKEN_UNIT);
                self.credit.add_token(wh);
                self.ledger.credited_wh = self.ledger.credited_wh.saturating_add(i64::try_from(wh).unwrap_or(i64::MAX));
                let detail = format!("credit {}.{} kWh", amount.value() / 10, amount.value() % 10);
                (TokenStatusCode::ExecutionOk, "ACCEPT", "Accepted", wh, detail)
            }
            Ok(Accepted::Management(Token::ClearCredit { register: 0 | 0xFFFF, .. })) => {
                let cleared = self.credit.token_wh;
                self.credit.clear_token_credit();
                self.ledger.credited_wh = self.ledger.credited_wh.saturating_sub(cleared);
                (TokenStatusCode::ExecutionOk, "ACCEPT", "Accepted", 0, "credit cleared".to_string())
            }
            Ok(Accepted::Management(t)) => (
                TokenStatusCode::ExecutionFailure,
                "NOT SUPP",
                "NotSupported",
                0,
                format!("class 2 subclass {} is not modelled", t.subclass()),
            ),
            Ok(a @ Accepted::MeterTest(_)) => {
                (TokenStatusCode::ExecutionOk, a.display_indication(), "Accepted", 0, "test".into())
            }
            Ok(a @ (Accepted::KeyChangeSection { .. } | Accepted::KeyChanged { .. })) => {
                (TokenStatusCode::ExecutionOk, a.display_indication(), "Accepted", 0, "key change".into())
            }
            // The decoder accepts only the credit kinds configured (electricity).
            Ok(Accepted::Credit { kind, .. }) => (
                TokenStatusCode::ExecutionFailure,
                "NOT SUPP",
                "NotSupported",
                0,
                format!("credit kind {kind:?} is not metered here"),
            ),
            Err(r) => (TokenStatusCode::for_rejection(r), r.display_indication(), r.result_name(), 0, r.to_string()),
        };
        self.gateway = TokenGateway {
            token: token.to_vec(),
            token_time_ms: Some(t_ms),
            description: vec![display.to_string(), result.to_string(), detail],
            delivery_method: method,
            status,
        };
        if status == TokenStatusCode::ExecutionOk {
            self.push(t_ms, PrepaymentEventKind::TokenAccepted { credit_wh: credit_added_wh });
        } else {
            self.push(t_ms, PrepaymentEventKind::TokenRefused { result, display });
        }
        if credit_added_wh > 0 {
            self.credit_arrived(t_ms, plant);
        }
        // A cleared credit may cut the supply at once.
        self.advance(t_ms, plant);
        TokenEntry { status, display, result, credit_added_wh, outcome }
    }

    /// The customer invokes the emergency credit at meter time `t_ms`.
    ///
    /// # Errors
    /// [`EmergencyRefusal`] when not allowed now.
    pub(crate) fn invoke_emergency(&mut self, t_ms: i64, plant: &mut Plant<'_>) -> Result<(), EmergencyRefusal> {
        self.advance(t_ms, plant);
        self.credit.invoke_emergency(self.config.emergency_threshold_wh)?;
        self.push(t_ms, PrepaymentEventKind::EmergencyCreditInvoked);
        self.credit_arrived(t_ms, plant);
        Ok(())
    }
}
