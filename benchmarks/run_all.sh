#!/usr/bin/env bash
set -euo pipefail
PY=${1:-python3}
mkdir -p benchmarks/out
$PY -m benchmarks.territories --osm sample_data/heidelberg.osm.pbf --accounts 300 --reps 4 --seed 1 --csv benchmarks/out/territories_300.csv
$PY -m benchmarks.territories --osm sample_data/heidelberg.osm.pbf --accounts 2000 --reps 10 --seed 1 --csv benchmarks/out/territories_2000.csv
