#!/usr/bin/env bash
# Learning to refine (issue 16), on this CPU: pre-train the small policy on repair traces and clean
# demonstrations of 1-2 object rooms (digit tokens), gate the warm start on its measured format-valid rate
# and pass@8, RL (GRPO, 8 samples per room, KL anchor, success bonus, 1 -> 2 object curriculum) with each
# seed in SEEDS at once, then evaluate the warm start and every final checkpoint greedily on 256 held-out
# rooms of 1-2 objects, 2 turns, and the last one again with its feedback cut to the score line (the
# causal value of the feedback). Extra arguments are config overrides for every RL run. Results and wall
# times: benchmarks/README.md, "Learning from repair traces".
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
SEEDS=${SEEDS:-"0 1"}
WARM=${WARM:-out/pretrain/repair12}
HELDOUT=(--split generated:7000000:256 --min-objects 1 --max-objects 2 --turns 2 --env MetaSpatial-Text-v0 --no-images)
mkdir -p out/logs
[ -f "$WARM/pretrain.json" ] || $PY -m training.pretrain --out "$WARM" --rooms 2000 --steps 1000 --batch-size 16 \
  --lr 2e-3 --min-objects 1 --max-objects 2 --data repair,clean --threads 1 > out/logs/pretrain_repair12.log 2>&1
OMP_NUM_THREADS=1 $PY -m training.warm_start "$WARM" --rooms-source generated:7100000:64 --rooms 64 --min-objects 1 \
  --max-objects 2 --samples 8 --max-new-tokens 96 --min-format-valid 0.5 --min-pass-at-k 0.2 \
  > out/logs/warm_start_repair12.log   # exits 1 (and stops this script) below the bars
for seed in $SEEDS; do
  $PY -m metaspatial_env.cli train --config configs/cpu_tiny_grpo_repair.yaml progress=false seed="$seed" \
    model.path="$WARM" output_dir=out/train/repair_seed"$seed" "$@" > out/logs/train_repair_seed"$seed".log 2>&1 &
done
wait
heldout() {  # name, checkpoint, extra eval arguments
  local name=$1 path=$2
  shift 2
  [ -f out/eval/repair_"$name"/results.json ] && grep -q '"complete": true' out/eval/repair_"$name"/results.json && return
  OMP_NUM_THREADS=1 $PY -m metaspatial_env.cli eval --policy "hf:$path" \
    --policy-kwargs '{"system_prompt": "", "max_new_tokens": 96}' "${HELDOUT[@]}" --out out/eval/repair_"$name" \
    --resume "$@" > out/logs/eval_repair_"$name".log 2>&1
}
heldout warm "$WARM"
results=(out/eval/repair_warm) runs=()
for seed in $SEEDS; do
  last=$(ls -d out/train/repair_seed"$seed"/checkpoints/step_* | tail -n 1)
  heldout "rl_seed$seed" "$last/model"
  results+=(out/eval/repair_rl_seed"$seed") runs+=(out/train/repair_seed"$seed")
done
heldout "rl_seed${SEEDS%% *}_score_only" "$(ls -d out/train/repair_seed"${SEEDS%% *}"/checkpoints/step_* | tail -n 1)/model" \
  --env-kwargs '{"feedback": "score"}'
results+=(out/eval/repair_rl_seed"${SEEDS%% *}"_score_only)
$PY -m benchmarks.learning.plot "${runs[@]}" --out benchmarks/results/repair_learning_curves.png
$PY -m metaspatial_env.cli compare "${results[@]}" --plot benchmarks/results/repair_heldout_per_turn.png
