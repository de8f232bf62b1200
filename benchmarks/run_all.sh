#!/usr/bin/env bash
# Run every benchmark; CSVs go to benchmarks/out/. Usage: bash benchmarks/run_all.sh [python]
set -euo pipefail
PY=${1:-python3}
cd "$(dirname "$0")/.."
mkdir -p benchmarks/out
$PY -m benchmarks.roads_load --osm sample_data/heidelberg.osm.pbf --csv benchmarks/out/roads_load.csv
$PY -m benchmarks.matrix --osm sample_data/heidelberg.osm.pbf --points 100 --csv benchmarks/out/matrix_100.csv
$PY -m benchmarks.matrix --osm sample_data/heidelberg.osm.pbf --points 500 --csv benchmarks/out/matrix_500.csv
$PY -m benchmarks.matrix --osm sample_data/heidelberg.osm.pbf --points 2000 --csv benchmarks/out/matrix_2000.csv
