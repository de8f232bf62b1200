#!/usr/bin/env bash
# Every benchmark, writing CSVs to benchmarks/out/. Usage: bash benchmarks/run_all.sh [python]
set -euo pipefail
PY=${1:-python3}
cd "$(dirname "$0")/.."
mkdir -p benchmarks/out
OSM=sample_data/heidelberg.osm.pbf

# Roads: cold vs cached load; travel-time matrices ours vs a networkx Dijkstra loop.
"$PY" -m benchmarks.roads_load --osm "$OSM" --csv benchmarks/out/roads_load.csv
for n in 100 500 2000; do
  "$PY" -m benchmarks.matrix --osm "$OSM" --points "$n" --csv "benchmarks/out/matrix_$n.csv"
done

# Travel times against OSRM's car profile (OSRM fetched into var/osrm for this benchmark only),
# tuned on Heidelberg, Andorra held out; and learning from 8 simulated weeks of recorded visits.
bash benchmarks/osrm_setup.sh "$PY"
for region in sample_data/heidelberg.osm.pbf tests/data/osm/andorra.osm.pbf; do
  "$PY" -m benchmarks.travel_model --osm "$region" --pairs 50000 \
      --csv "benchmarks/out/travel_model_$(basename "$region" .osm.pbf).csv"
done
"$PY" -m benchmarks.field_learning --csv benchmarks/out/field_learning.csv

# Routing: Solomon VRPTW, ours vs stock OR-Tools, 10 s each (29 x 2 x 10 s, about 10 min).
"$PY" -m benchmarks.vrptw --instances benchmarks/data/vrptw --bks benchmarks/data/vrptw/bks.csv \
    --time-limit 10 --csv benchmarks/out/vrptw.csv
# Routing: a 25-stop rep-day, and Held-Karp optimality on 10 of its stops.
"$PY" -m benchmarks.route_day --time-limit 10 --csv benchmarks/out/route_day.csv
# Routing: 300 visits over 20 rep-days at once (the scheduler's use), 2 and 5 allowed days each.
"$PY" -m benchmarks.route_horizon --visits 300 --time-limit 30 --days-per-visit 2 \
    --csv benchmarks/out/route_horizon_2.csv
"$PY" -m benchmarks.route_horizon --visits 300 --time-limit 30 --days-per-visit 5 \
    --csv benchmarks/out/route_horizon_5.csv

# Territories: balanced design vs plain k-means on generated accounts; realignment moves.
"$PY" -m benchmarks.territories --osm "$OSM" --accounts 300 --reps 4 --seed 1 \
    --csv benchmarks/out/territories_300.csv
"$PY" -m benchmarks.territories --osm "$OSM" --accounts 2000 --reps 10 --seed 1 \
    --csv benchmarks/out/territories_2000.csv

# Scheduling: PVRP (Christofides-Beasley / Cordeau sets), the hybrid genetic search beside the
# previous engine and naive, 60 s each with the best plan after 5/15/30/60 s (about 35 min);
# the sample region over 4 weeks at the default 25 s, new vs previous engine vs naive, and
# repair after 10 % of week 1 is missed.
"$PY" -m benchmarks.pvrp --instances benchmarks/data/pvrp/instances --bks benchmarks/data/pvrp/bks.csv \
    --time-limit 60 --checkpoints 5,15,30,60 --csv benchmarks/out/pvrp.csv
"$PY" -m benchmarks.schedule_sample --time-limit 25 --csv benchmarks/out/schedule_sample.csv
"$PY" -m benchmarks.schedule_sample --roads --time-limit 30 \
    --csv benchmarks/out/schedule_sample_roads.csv
# Repair churn: changed visits per report (1, 5, 20 random reports) vs the previous repair.
"$PY" -m benchmarks.repair_churn --reports 1,5,20 --trials 10 --csv benchmarks/out/repair_churn.csv

# Calendar feeds: one rep over 13 weeks (~600 events) and a team of 10; cold vs cached.
"$PY" -m benchmarks.calendar_feed --weeks 13 --team 10 --csv benchmarks/out/calendar_feed.csv

# Assignment: 10,000 new accounts, 50 territories, 20 rules vs nearest rep (+ LP bound).
"$PY" -m benchmarks.assignment --osm "$OSM" --accounts 10000 --reps 50 --seed 1 --bound \
    --csv benchmarks/out/assignment.csv
"$PY" -m benchmarks.assignment --osm "$OSM" --accounts 2000 --reps 10 --seed 1 --import-batch 500
"$PY" -m benchmarks.assignment --osm "$OSM" --accounts 10000 --reps 50 --seed 1 --import-batch 500

# Web: the rep's day page and the API day endpoint, 50 clients x 30 s per phase against a real
# uvicorn on 127.0.0.1 (closed loop and paced), cache on vs off (about 6 min).
"$PY" -m benchmarks.web_latency --clients 50 --duration 30 --csv benchmarks/out/web_latency.csv
# Web with writes: 50 clients mixing reads, visit reports and account edits for 60 s per load,
# on SQLite and PostgreSQL (a throwaway cluster unless RP_BENCH_POSTGRES_URL), lost writes
# checked afterwards (about 8 min).
"$PY" -m benchmarks.web_writes --clients 50 --duration 60 --csv benchmarks/out/web_writes.csv
# Performance dashboard: 10,000 accounts, 50 reps, 24 months of history (generated, about
# 3 min), the manager's and each rep's page and API under wrk (about 4 min).
"$PY" -m benchmarks.dashboard --duration 10 --csv benchmarks/out/dashboard.csv

# A whole force through the service layer, 1 and 2 workers (Ray): about 20 min on 2 cores.
"$PY" -m benchmarks.scale --osm "$OSM" --accounts 2000 --reps 20 --weeks 4 --workers 1,2 \
    --time-limit 10 --csv benchmarks/out/scale_2000x20.csv

# Rebuild RESULTS.md from the per-area result files.
"$PY" -m benchmarks.assemble_results
