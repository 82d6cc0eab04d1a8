#!/usr/bin/env bash
# The leaderboard of the baselines on the `test` split and on its repair split (every room starting from
# its reference layout with each object moved by N(0, 0.3 m)), 3 turns, text env (the same rewards as the
# rendering envs without a judge), seeds 0..199. Writes out/leaderboard/<split>_<policy>; prints both
# leaderboards (benchmarks/README.md, "Refinement"). POLICIES picks the policies; WORKERS the processes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
POLICIES=${POLICIES:-"heuristic heuristic_repair heuristic_resample random"}
WORKERS=${WORKERS:-1}
run() {  # split name, env kwargs, policy
  local out=out/leaderboard/$1_$3
  [ -f "$out/results.json" ] && grep -q '"complete": true' "$out/results.json" && return
  $PY -m metaspatial_env.cli eval --policy "$3" --split test --turns 3 --env MetaSpatial-Text-v0 --no-images \
    --workers "$WORKERS" --env-kwargs "$2" --out "$out" --resume > /dev/null
}
for policy in $POLICIES; do
  run test '{}' "$policy"
  run repair '{"start": {"kind": "perturbed", "scale": 0.3}}' "$policy"
done
for split in test repair; do
  echo "## $split"
  $PY -m metaspatial_env.cli compare $(for p in $POLICIES; do echo out/leaderboard/${split}_$p; done) \
    --plot out/leaderboard/${split}_per_turn.png
done
