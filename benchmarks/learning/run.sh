#!/usr/bin/env bash
# The measured learning experiment (CPU): pre-train the small policy (3-4 object rooms), then RL with
# GRPO and RLOO (in parallel, one torch thread each, 80 steps), then plot. Writes out/pretrain/tiny,
# out/train/cpu_tiny_{grpo,rloo} and benchmarks/results/learning_curves.png. Extra arguments are config
# overrides (e.g. steps=40). Numbers and wall times: benchmarks/README.md, "Training".
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
mkdir -p out/logs
[ -d out/pretrain/tiny ] || $PY -m training.pretrain --out out/pretrain/tiny --rooms 2000 --steps 1200 --batch-size 16 \
  --lr 2e-3 --min-objects 3 --max-objects 4 --threads 1 > out/logs/pretrain.log 2>&1
for algo in grpo rloo; do
  $PY -m metaspatial_env.cli train --config configs/cpu_tiny_${algo}.yaml progress=false "$@" \
    > out/logs/train_${algo}.log 2>&1 &
done
wait
$PY -m benchmarks.learning.plot out/train/cpu_tiny_grpo out/train/cpu_tiny_rloo --out benchmarks/results/learning_curves.png
