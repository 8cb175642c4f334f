"""Parse a Green Button (NAESB ESPI) XML file with the independent `greenbutton-objects`
package and print what it understood as JSON, for gridedge's ESPI export test
(crates/mdms/tests/export_espi.rs):

    .venv/bin/python tests/interop/parse_greenbutton.py FILE.xml

    {
      "usage_points": [
        {
          "title": "M1",                       # Atom entry title of the UsagePoint
          "service_kind": "electricity",       # ServiceCategory/kind
          "meter_readings": [                  # sorted by title
            {
              "title": "active_energy_import (1-0:1.8.0.255)",
              "uom": "wattHours",              # ReadingType uom, by enum name
              "flow_direction": 1,             # ReadingType flowDirection
              "accumulation": 4,               # ReadingType accumulationBehaviour
              "interval_length": 900,          # ReadingType intervalLength
              "power_of_ten_multiplier": 0,
              "interval_count": 192,
              "total": 1234.5,                 # sum of values * 10**powerOfTenMultiplier
              "first_start": 1735689600,       # Unix seconds of the first timePeriod start
              "last_end": 1735862400,          # Unix seconds of the last timePeriod end
              "durations": [900],              # distinct timePeriod durations, seconds
              "qualities": {"questionable": 2} # ReadingQuality counts by enum name
            }
          ]
        }
      ]
    }

Exits 1 with the Python traceback on stderr when the package cannot parse the file.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from greenbutton_objects import parse


def describe(path: str) -> dict:
    usage_points = []
    for up in parse.parse_feed(path):
        readings = []
        for mr in sorted(up.meterReadings, key=lambda m: m.title or ""):
            rt = mr.readingType
            intervals = list(mr.intervalReadings)
            qualities = Counter(q.quality.name for ir in intervals for q in ir.readingQualities)
            readings.append(
                {
                    "title": mr.title,
                    "uom": rt.uom.name if rt is not None and rt.uom is not None else None,
                    "flow_direction": rt.flowDirection.value if rt is not None and rt.flowDirection else None,
                    "accumulation": rt.accumulationBehaviour.value
                    if rt is not None and rt.accumulationBehaviour
                    else None,
                    "interval_length": rt.intervalLength if rt is not None else None,
                    "power_of_ten_multiplier": rt.powerOfTenMultiplier if rt is not None else None,
                    "interval_count": len(intervals),
                    "total": sum(ir.value for ir in intervals),
                    "first_start": int(intervals[0].timePeriod.start.timestamp()) if intervals else None,
                    "last_end": int((intervals[-1].timePeriod.start + intervals[-1].timePeriod.duration).timestamp())
                    if intervals
                    else None,
                    "durations": sorted({int(ir.timePeriod.duration.total_seconds()) for ir in intervals}),
                    "qualities": dict(sorted(qualities.items())),
                }
            )
        usage_points.append(
            {
                "title": up.title,
                "service_kind": up.serviceCategory.name if up.serviceCategory is not None else None,
                "meter_readings": readings,
            }
        )
    return {"usage_points": usage_points}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: parse_greenbutton.py FILE.xml", file=sys.stderr)
        return 2
    json.dump(describe(argv[1]), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
