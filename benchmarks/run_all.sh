#!/usr/bin/env bash
set -euo pipefail
PY=${1:-python3}
mkdir -p benchmarks/out
$PY -m benchmarks.pvrp --instances benchmarks/data/pvrp/instances --bks benchmarks/data/pvrp/bks.csv --time-limit 60 --csv benchmarks/out/pvrp.csv
$PY -m benchmarks.schedule_sample --time-limit 30 --csv benchmarks/out/schedule_sample.csv
