//! Properties of the on-demand credit: asking the meter more often changes nothing (credit,
//! relay history, registers, load profile and event log are the same whether the meter is
//! settled at the events only or at many extra instants in between), and the credit always
//! equals initial credit + tokens − the import register's advance.

mod prepayment_support;

use jiff::{SignedDuration, Timestamp};
use meter::{FriendlyCredit, SimulatedMeter, TokenDeliveryMethod};
use prepayment_support::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// A credit token of this many 0.1 kWh.
    Token(u64),
    /// The customer asks for emergency credit.
    Emergency,
    /// The customer presses the reconnect button.
    Button,
    /// Someone reads the meter (GET of the token credit).
    Read,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![(1u64..120).prop_map(Op::Token), Just(Op::Emergency), Just(Op::Button), Just(Op::Read),]
}

fn meter(credit_wh: u64) -> SimulatedMeter {
    prepaid("2024-03-04T09:00:00Z", credit_wh, |p| {
        p.low_credit_threshold_wh = 2_000;
        p.emergency_credit_wh = 1_500;
        p.emergency_threshold_wh = 1_000;
        p.friendly = FriendlyCredit { daily_hours: Some((20, 7)), weekdays: vec![7] };
    })
}

fn apply(m: &mut SimulatedMeter, t: Timestamp, op: &Op, token: &str) {
    match op {
        Op::Token(_) => {
            m.enter_token(t, token, TokenDeliveryMethod::Manual);
        }
        Op::Emergency => {
            let _ = m.invoke_emergency_credit(t);
        }
        Op::Button => {
            m.manual_reconnect(t);
        }
        Op::Read => {
            credit_wh(m, t);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn settling_more_often_changes_nothing(
        credit_wh in 0u64..6_000,
        ops in proptest::collection::vec((1i64..900, op()), 1..7),
        extra in proptest::collection::vec(0i64..1_000_000, 0..25),
    ) {
        let start = ts("2024-03-04T09:00:00Z");
        // Event times: strictly increasing whole minutes (so every token has its own TID).
        let mut t = start;
        let mut timeline = Vec::new();
        for (gap_min, op) in &ops {
            t += SignedDuration::from_mins(*gap_min);
            let token = match op {
                Op::Token(tenths) => credit_token(DRN, &t.to_string(), *tenths),
                _ => String::new(),
            };
            timeline.push((t, op.clone(), token));
        }
        let end = t + SignedDuration::from_hours(7);
        let span_ms = end.as_millisecond() - start.as_millisecond();

        let mut sparse = meter(credit_wh);
        for (t, op, token) in &timeline {
            apply(&mut sparse, *t, op, token);
        }
        sparse.settle_prepayment(end);

        let mut dense = meter(credit_wh);
        let mut settles: Vec<Timestamp> = extra
            .iter()
            .map(|x| start + SignedDuration::from_millis(x * span_ms / 1_000_000))
            .collect();
        settles.sort();
        let mut settles = settles.into_iter().peekable();
        for (t, op, token) in &timeline {
            while let Some(s) = settles.next_if(|s| s < t) {
                dense.settle_prepayment(s);
            }
            apply(&mut dense, *t, op, token);
        }
        for s in settles {
            dense.settle_prepayment(s);
        }
        dense.settle_prepayment(end);

        let (a, b) = (sparse.prepayment().unwrap(), dense.prepayment().unwrap());
        prop_assert_eq!(a.credit(), b.credit());
        prop_assert_eq!(a.ledger(), b.ledger());
        prop_assert_eq!(a.events().collect::<Vec<_>>(), b.events().collect::<Vec<_>>());
        prop_assert_eq!(sparse.disconnect_control(), dense.disconnect_control());
        prop_assert_eq!(sparse.registers(end), dense.registers(end));
        let window = sparse.profile_window(end);
        let (first, last) = (sparse.metrology().last_capture_index(start.as_millisecond()) + 1, window.last);
        prop_assert_eq!(sparse.profile_entries(first, last), dense.profile_entries(first, last));

        // The ledger: credit = initial + tokens − consumption, consumption = register advance.
        let charged = import_wh(&sparse, end) - import_wh(&sparse, start);
        prop_assert_eq!(a.ledger().charged_wh, charged);
        prop_assert_eq!(a.credit().net_wh(), credit_wh as i64 + a.ledger().credited_wh - charged as i64);
        let tokens: u64 = timeline
            .iter()
            .map(|(_, op, _)| if let Op::Token(tenths) = op { *tenths * 100 } else { 0 })
            .sum();
        prop_assert_eq!(a.ledger().credited_wh, tokens as i64);
        // Outside friendly hours the supply is off only when no credit is available.
        if !sparse.disconnect_control().output_state() {
            prop_assert_eq!(a.credit().available_wh(), 0);
        }
    }
}
