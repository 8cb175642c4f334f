//! Registers and the load profile agree exactly: every capture holds the registers at its
//! capture time, consecutive captures differ by the interval energy, the profile's deltas over
//! a week sum to the registers' advance, and T1 + T2 = total.

mod common;

use common::*;
use dlms::obis::codes;
use jiff::{SignedDuration, Timestamp};
use meter::MeterTimeZone;

const QUARTER: SignedDuration = SignedDuration::from_mins(15);

#[test]
fn week_of_profile_deltas_equals_register_advance_for_many_seeds() {
    for seed in 0..60u64 {
        let mut m = meter(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // The week 2024-06-01 00:00 .. 2024-06-08 00:00 local (BST) = 23:00 UTC the day before.
        let from = ts("2024-05-31T23:00:00Z");
        let to = from + SignedDuration::from_hours(24 * 7);
        let now = true_time_for(&m, ts("2024-06-10T12:34:56Z"));
        let zone = MeterTimeZone::UK;
        let buffer = m.get(now, &BUFFER, Some(&range(zone.to_cosem(from), zone.to_cosem(to), vec![]))).unwrap();
        let rows = rows(&buffer);
        assert_eq!(rows.len(), 7 * 96 + 1, "inclusive range of a week");
        assert_eq!(zone.from_cosem(&rows[0].time), Some(from));
        assert_eq!(zone.from_cosem(&rows[rows.len() - 1].time), Some(to));

        // Register advance read through GET at the meter times of the first and last capture.
        let (t_from, t_to) = (true_time_for(&m, from), true_time_for(&m, to));
        let mut advance = |ln| {
            let a = read_register(&mut m, t_from, ln);
            let b = read_register(&mut m, t_to, ln);
            b - a
        };
        let sum = |f: fn(&Row) -> u32| rows.windows(2).map(|w| f(&w[1]) - f(&w[0])).sum::<u32>();
        assert_eq!(sum(|r| r.import_wh), advance(codes::ACTIVE_ENERGY_IMPORT), "seed {seed}");
        assert_eq!(sum(|r| r.export_wh), advance(codes::ACTIVE_ENERGY_EXPORT), "seed {seed}");
        assert_eq!(sum(|r| r.q_import), advance(codes::REACTIVE_ENERGY_IMPORT), "seed {seed}");
        assert_eq!(sum(|r| r.q_export), advance(codes::REACTIVE_ENERGY_EXPORT), "seed {seed}");
        // A household uses something every week.
        assert!(sum(|r| r.import_wh) > 5_000, "seed {seed}: {}", sum(|r| r.import_wh));
    }
}

#[test]
fn every_capture_equals_the_registers_at_its_capture_time() {
    let mut m = meter(11);
    let now = ts("2024-03-31T12:00:00Z");
    let buffer = m.get(now, &BUFFER, Some(&entries(1, 0, 1, 0))).unwrap();
    let rows = rows(&buffer);
    assert!(rows.len() > 200);
    // Spot-check captures across the spring DST change with a direct register evaluation.
    for r in rows.iter().rev().take(200) {
        let t = MeterTimeZone::UK.from_cosem(&r.time).unwrap();
        let regs = m.metrology().registers(t.as_millisecond());
        assert_eq!(u64::from(r.import_wh), regs.active_import_wh, "at {t}");
        assert_eq!(u64::from(r.export_wh), regs.active_export_wh);
        assert_eq!(u64::from(r.q_import), regs.reactive_import_varh);
        assert_eq!(u64::from(r.q_export), regs.reactive_export_varh);
    }
    // Captures are 15 minutes apart in UTC even where the local clock jumps.
    for w in rows.windows(2) {
        let a = MeterTimeZone::UK.from_cosem(&w[0].time).unwrap();
        let b = MeterTimeZone::UK.from_cosem(&w[1].time).unwrap();
        assert_eq!(b.duration_since(a), QUARTER);
        assert!(w[1].import_wh >= w[0].import_wh);
    }
}

#[test]
fn tariff_registers_sum_to_total_and_follow_local_hours() {
    for seed in [1u64, 2, 3, 99, 12345, u64::MAX] {
        let mut m = meter(seed);
        let mut t = ts("2024-10-25T00:00:07Z");
        let mut previous: Option<(u32, u32)> = None;
        while t < ts("2024-10-29T00:00:00Z") {
            let total = read_register(&mut m, t, codes::ACTIVE_ENERGY_IMPORT);
            let t1 = read_register(&mut m, t, codes::ACTIVE_ENERGY_IMPORT_T1);
            let t2 = read_register(&mut m, t, codes::ACTIVE_ENERGY_IMPORT_T2);
            assert_eq!(t1 + t2, total, "seed {seed} at {t}");
            // Local hour of the meter time just before `t` decides which register moved.
            let local = MeterTimeZone::UK.to_cosem(m.meter_time(t) - SignedDuration::from_mins(1));
            if let Some((p1, p2)) = previous {
                if (7..23).contains(&local.time.hour) && local.time.minute >= 15 {
                    assert_eq!(t2, p2, "T2 frozen at local {:02}:{:02}", local.time.hour, local.time.minute);
                }
                if !(7..23).contains(&local.time.hour) && local.time.minute >= 15 {
                    assert_eq!(t1, p1, "T1 frozen at local {:02}:{:02}", local.time.hour, local.time.minute);
                }
            }
            previous = Some((t1, t2));
            t += SignedDuration::from_mins(13);
        }
    }
}

#[test]
fn registers_start_at_zero_and_never_decrease() {
    let mut m = meter(5);
    let commissioning = ts("2024-01-01T00:00:00Z");
    let before = true_time_for(&m, commissioning - SignedDuration::from_hours(3));
    assert_eq!(read_register(&mut m, before, codes::ACTIVE_ENERGY_IMPORT), 0);
    let at_commissioning = true_time_for(&m, commissioning);
    assert_eq!(read_register(&mut m, at_commissioning, codes::ACTIVE_ENERGY_IMPORT), 0);
    let mut last = 0;
    let mut t = commissioning;
    // Irregular steps over two months, crossing many interval and day boundaries.
    for i in 0..2000i64 {
        t += SignedDuration::from_secs(1 + (i * 7919) % 4000);
        let v = read_register(&mut m, t, codes::ACTIVE_ENERGY_IMPORT);
        assert!(v >= last, "decreased at {t}");
        last = v;
    }
    assert!(last > 100_000, "two months of a household: {last} Wh");
}

#[test]
fn partial_interval_is_prorated_between_captures() {
    let m = meter(8);
    let start = ts("2024-02-14T18:00:00Z").as_millisecond();
    let a = m.metrology().registers(start).active_import_wh;
    let b = m.metrology().registers(start + 900_000).active_import_wh;
    let e = b - a;
    assert!(e > 0);
    for (elapsed, want) in [(0, 0), (300_000, e / 3), (450_000, e / 2), (899_999, (e * 899_999) / 900_000)] {
        assert_eq!(m.metrology().registers(start + elapsed).active_import_wh - a, want, "elapsed {elapsed} ms");
    }
}

#[test]
fn profile_has_the_configured_depth_and_ends_now() {
    let mut m = meter(21);
    let meter_now = ts("2024-05-05T05:05:05Z");
    let now = true_time_for(&m, meter_now);
    let in_use = match m.get(now, &attr(7, codes::LOAD_PROFILE_1, 7), None) {
        Ok(dlms::Data::DoubleLongUnsigned(v)) => v,
        other => panic!("{other:?}"),
    };
    assert_eq!(in_use, 96 * 60);
    let all = rows(&m.get(now, &BUFFER, None).unwrap());
    assert_eq!(all.len(), 96 * 60);
    let newest = MeterTimeZone::UK.from_cosem(&all[all.len() - 1].time).unwrap();
    assert_eq!(newest, ts("2024-05-05T05:00:00Z"));
    let oldest = MeterTimeZone::UK.from_cosem(&all[0].time).unwrap();
    assert_eq!(oldest, newest - SignedDuration::from_hours(24 * 60) + QUARTER);
    // Status bit 3: BST at the capture time.
    assert!(all.iter().all(|r| (r.status & 0x08 != 0) == (r.time.clock_status & 0x80 != 0)));
    assert!(all.iter().any(|r| r.status & 0x08 != 0) && all.iter().any(|r| r.status & 0x08 == 0));
}

#[test]
fn young_meter_has_a_short_profile() {
    let mut m = meter(4);
    let now = true_time_for(&m, ts("2024-01-01T01:10:00Z"));
    let all = rows(&m.get(now, &BUFFER, None).unwrap());
    assert_eq!(all.len(), 4); // 00:15, 00:30, 00:45, 01:00
    assert_eq!(all[0].time.time.minute, 15);
    let before = true_time_for(&m, ts("2023-12-31T23:00:00Z"));
    assert_eq!(m.get(before, &BUFFER, None), Ok(dlms::Data::Array(vec![])));
}

#[test]
fn seven_day_read_is_one_pass() {
    // 672 entries come from one register evaluation plus 672 streaming steps; this checks the
    // result against 672 independent register evaluations (slow path) for one meter.
    let mut m = meter(77);
    let from = ts("2024-09-01T00:00:00Z");
    let to = from + SignedDuration::from_hours(24 * 7) - QUARTER;
    let now = true_time_for(&m, ts("2024-09-09T00:00:00Z"));
    let zone = MeterTimeZone::UK;
    let rows = rows(&m.get(now, &BUFFER, Some(&range(zone.to_cosem(from), zone.to_cosem(to), vec![]))).unwrap());
    assert_eq!(rows.len(), 672);
    let mut t: Timestamp = from;
    for r in &rows {
        assert_eq!(u64::from(r.import_wh), m.metrology().registers(t.as_millisecond()).active_import_wh);
        t += QUARTER;
    }
}

#[test]
fn reading_order_does_not_change_values() {
    // The metrology memoises day prefixes; reading forwards, backwards or jumping around must
    // give the same numbers as a fresh meter for each instant.
    let instants: Vec<Timestamp> = (0..40i64)
        .map(|i| ts("2024-01-03T05:00:00Z") + SignedDuration::from_secs(i * 7 * 86_400 + i * 3_331))
        .collect();
    let fresh: Vec<_> = instants.iter().map(|&t| meter(31).registers(t)).collect();
    let m = meter(31);
    let backwards: Vec<_> = instants.iter().rev().map(|&t| m.registers(t)).collect();
    assert_eq!(backwards.into_iter().rev().collect::<Vec<_>>(), fresh);
    let jumping: Vec<_> = (0..40).map(|i| (i * 17) % 40).map(|i| (i, m.registers(instants[i]))).collect();
    for (i, r) in jumping {
        assert_eq!(r, fresh[i]);
    }
}
