#!/usr/bin/env python3
"""Derive the household load-shape table embedded in crates/meter/src/load_shape.rs.

Input: the OpenEEmeter UK hourly sample (Apache-2.0), one household, hourly kWh, UTC hour starts:
    /work/shared/testdata/loads/uk-electricity-hdd-only-hourly-sample-0.csv.gz
Output (stdout): Rust constants.

Method (re-derived independently by crates/meter/tests/load_shape_table.rs):
  * each hour's start is converted to UK civil time (Europe/London: GMT, BST from the last Sunday
    of March 01:00 UTC to the last Sunday of October 01:00 UTC); values are rounded to whole Wh;
  * WEEKDAY_KWH[h] / WEEKEND_KWH[h]: mean kWh of the hours whose local start hour is h, on local
    Monday-Friday / Saturday-Sunday dates, rounded to 0.0001 kWh;
  * MONTH_FACTOR[m]: mean kWh per hour of local calendar month m divided by the mean of the twelve
    monthly means, rounded to 0.001.
"""
import csv
import gzip
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

path = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/testdata/loads/uk-electricity-hdd-only-hourly-sample-0.csv.gz"
london = ZoneInfo("Europe/London")
sums = {False: [0] * 24, True: [0] * 24}
counts = {False: [0] * 24, True: [0] * 24}
msum = [0] * 12
mcount = [0] * 12
with gzip.open(path, "rt") as f:
    for row in csv.DictReader(f):
        t = datetime.fromisoformat(row["start"]).astimezone(london)
        wh = round(float(row["value"]) * 1000)
        weekend = t.weekday() >= 5
        sums[weekend][t.hour] += wh
        counts[weekend][t.hour] += 1
        msum[t.month - 1] += wh
        mcount[t.month - 1] += 1

def kwh(s, n):
    return round(s / n / 1000, 4)

weekday = [kwh(sums[False][h], counts[False][h]) for h in range(24)]
weekend = [kwh(sums[True][h], counts[True][h]) for h in range(24)]
mmeans = [msum[m] / mcount[m] for m in range(12)]
overall = sum(mmeans) / 12
factors = [round(x / overall, 3) for x in mmeans]

def fmt(xs, nd):
    return ", ".join(f"{x:.{nd}f}" for x in xs)

print(f"pub const WEEKDAY_KWH: [f64; 24] = [{fmt(weekday, 4)}];")
print(f"pub const WEEKEND_KWH: [f64; 24] = [{fmt(weekend, 4)}];")
print(f"pub const MONTH_FACTOR: [f64; 12] = [{fmt(factors, 3)}];")
print(f"# hours: weekday {sum(counts[False])}, weekend {sum(counts[True])}; months {mcount}", file=sys.stderr)
print(f"# daily kWh weekday {sum(weekday):.3f} weekend {sum(weekend):.3f}", file=sys.stderr)
