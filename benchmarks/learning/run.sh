#!/usr/bin/env bash
# The measured learning experiment (CPU): pre-train the small policy (3-4 object rooms), then RL with each
# algorithm (two runs at a time, one torch thread each, 80 steps), then the curves and a paired before/after
# evaluation of every final checkpoint on 256 held-out rooms. Writes out/pretrain/tiny, out/train/cpu_tiny_<algo>,
# out/eval/heldout_<name>, benchmarks/results/learning_curves.png. ALGOS picks the algorithms; extra arguments
# are config overrides for every run (e.g. steps=40 seed=1). Numbers and wall times: benchmarks/README.md, "Training".
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
ALGOS=${ALGOS:-"grpo reinforce_pp_baseline ppo rloo reinforce_pp"}
mkdir -p out/logs
[ -d out/pretrain/tiny ] || $PY -m training.pretrain --out out/pretrain/tiny --rooms 2000 --steps 1200 --batch-size 16 \
  --lr 2e-3 --min-objects 3 --max-objects 4 --threads 1 > out/logs/pretrain.log 2>&1

train() {  # REINFORCE++-baseline is REINFORCE++'s config with the group baseline
  local algo=$1 config=$1 extra=()
  shift
  [ "$algo" = reinforce_pp_baseline ] && config=reinforce_pp && extra=(algorithm.name=reinforce_pp_baseline)
  $PY -m metaspatial_env.cli train --config configs/cpu_tiny_${config}.yaml progress=false \
    output_dir=out/train/cpu_tiny_${algo} "${extra[@]}" "$@" > out/logs/train_${algo}.log 2>&1
}
running=0
for algo in $ALGOS; do
  train "$algo" "$@" &
  running=$((running + 1))
  if [ $running -eq 2 ]; then wait -n; running=$((running - 1)); fi
done
wait

heldout() {  # greedy, 2 turns, rooms no run trained on
  OMP_NUM_THREADS=1 $PY -m metaspatial_env.cli eval --policy "hf:$2" \
    --policy-kwargs '{"system_prompt": "", "max_new_tokens": 64}' --split generated:7000000:256 \
    --min-objects 3 --max-objects 4 --turns 2 --env MetaSpatial-Text-v0 --no-images --out "out/eval/heldout_$1" \
    > "out/logs/eval_$1.log" 2>&1
}
heldout pretrained out/pretrain/tiny
runs=() results=(out/eval/heldout_pretrained)
for algo in $ALGOS; do
  last=$(ls -d out/train/cpu_tiny_${algo}/checkpoints/step_* | tail -n 1)
  heldout "$algo" "$last/model"
  runs+=(out/train/cpu_tiny_${algo}) results+=(out/eval/heldout_${algo})
done
$PY -m benchmarks.learning.plot "${runs[@]}" --out benchmarks/results/learning_curves.png
$PY -m metaspatial_env.cli compare "${results[@]}" --plot benchmarks/results/learning_heldout_per_turn.png
