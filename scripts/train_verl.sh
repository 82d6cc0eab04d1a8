#!/usr/bin/env bash
# GRPO-train Qwen2.5-VL-3B-Instruct on the multi-turn room-layout env with verl, on one node of
# GPUs: vLLM rollout in agent-loop mode, each trajectory one env episode played by
# training/verl_agent_loop.py (renders and feedback as user turns, the episode return as reward).
#
# Needs: bash scripts/setup_verl.sh, then vLLM and TransferQueue in .venv-verl (verl's v1 trainer
# imports transfer_queue; pip install vllm TransferQueue on the GPU machine). Not run in CI (no
# GPU there); tests/verl/test_train_config.py composes these overrides against verl's own config
# schema and builds the agent-loop worker from them.
#
# Usage: bash scripts/train_verl.sh [more hydra overrides...]
#        bash scripts/train_verl.sh --print-overrides      (list the overrides, one a line, and exit)
# Environment: MODEL (default Qwen/Qwen2.5-VL-3B-Instruct), N_GPUS (8), DATA_DIR (data/verl),
#   ENV_KWARGS (the env's JSON kwargs written into the rows), METASPATIAL_ENV_SERVER (below).
#
# Many nodes: start Ray on every node first (`ray start --head` here, `ray start --address=HEAD:6379`
# on the others, each with the same checkout and .venv-verl), then run this on the head node with
# NNODES=<nodes>; trainer.nnodes and the rollout's n_gpus_per_node scale the FSDP actor and the
# vLLM replicas, and rollout.agent.num_workers (agent-loop workers, spread round-robin over nodes)
# should grow with them. Raise data.train_batch_size with the GPU count (it must divide by
# ppo_mini_batch_size, which must divide by the data-parallel size).
#
# Env servers on CPU nodes: run `metaspatial serve-env --host 0.0.0.0 --port 8000 --env-id
# MetaSpatial-v0 ...` (from the main .venv, which has Blender) on each CPU node and set
# METASPATIAL_ENV_SERVER=http://cpu1:8000,http://cpu2:8000 here; the agent loop then steps its
# envs there (one server picked per episode) instead of in the agent-loop workers. The variable
# is forwarded to every Ray worker through ray_init.runtime_env.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

py="${PYTHON:-$root/.venv-verl/bin/python}"
model="${MODEL:-Qwen/Qwen2.5-VL-3B-Instruct}"
n_gpus="${N_GPUS:-8}"
nnodes="${NNODES:-1}"
data_dir="${DATA_DIR:-$root/data/verl}"
env_kwargs="${ENV_KWARGS:-{\"max_turns\": 3, \"reward_mode\": \"absolute\"}}"

overrides=(
  # GRPO: 8 episodes per room, advantages normalised within each room's group; KL as a loss.
  algorithm.adv_estimator=grpo
  algorithm.use_kl_in_reward=false
  actor_rollout_ref.rollout.n=8
  actor_rollout_ref.actor.use_kl_loss=true
  actor_rollout_ref.actor.kl_loss_coef=0.01
  actor_rollout_ref.actor.kl_loss_type=low_var_kl
  actor_rollout_ref.actor.entropy_coeff=0
  # Data: rows of training/verl_dataset.py. The prompt is the system prompt and the task prompt
  # (a 20-object room is about 2,000 tokens); the response is the whole episode: 3 answers and 2
  # feedback turns, each with a 512x1024 render (648 visual tokens).
  data.train_files="$data_dir/train.parquet"
  data.val_files="$data_dir/test.parquet"
  data.train_batch_size=32
  data.max_prompt_length=4096
  data.max_response_length=8192
  data.filter_overlong_prompts=true
  data.truncation=error
  data.return_raw_chat=true
  # The model and its FSDP actor.
  actor_rollout_ref.model.path="$model"
  actor_rollout_ref.model.use_remove_padding=true
  actor_rollout_ref.model.enable_gradient_checkpointing=true
  actor_rollout_ref.actor.optim.lr=1e-6
  actor_rollout_ref.actor.ppo_mini_batch_size=16
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1
  actor_rollout_ref.actor.use_dynamic_bsz=true
  actor_rollout_ref.actor.ppo_max_token_len_per_gpu=16384
  actor_rollout_ref.actor.fsdp_config.param_offload=false
  actor_rollout_ref.actor.fsdp_config.optimizer_offload=false
  actor_rollout_ref.ref.fsdp_config.param_offload=true
  actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=2
  # vLLM rollout in agent-loop mode, every row played by the metaspatial agent loop.
  actor_rollout_ref.rollout.name=vllm
  actor_rollout_ref.rollout.mode=async
  actor_rollout_ref.rollout.tensor_model_parallel_size=1
  actor_rollout_ref.rollout.gpu_memory_utilization=0.6
  actor_rollout_ref.rollout.max_model_len=12288
  actor_rollout_ref.rollout.max_num_batched_tokens=12288
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=2
  +actor_rollout_ref.rollout.limit_images=4
  actor_rollout_ref.rollout.agent.agent_loop_config_path="$root/training/configs/verl_grpo_qwen2_5_vl_3b.yaml"
  actor_rollout_ref.rollout.agent.default_agent_loop=metaspatial_agent
  actor_rollout_ref.rollout.agent.num_workers=8
  # The agent loop returns the episode return as reward_score: no reward model.
  reward.reward_model.enable=false
  trainer.nnodes="$nnodes"
  trainer.n_gpus_per_node="$n_gpus"
  trainer.project_name=metaspatial
  trainer.experiment_name=grpo_qwen2_5_vl_3b
  trainer.logger='[console,tensorboard]'
  trainer.total_epochs=1
  trainer.save_freq=50
  trainer.test_freq=25
  trainer.val_before_train=true
)
if [ -n "${METASPATIAL_ENV_SERVER:-}" ]; then
  # Quoted: hydra would read the commas of a URL list as a sweep.
  overrides+=("+ray_kwargs.ray_init.runtime_env.env_vars.METASPATIAL_ENV_SERVER='$METASPATIAL_ENV_SERVER'")
fi

if [ "${1:-}" = "--print-overrides" ]; then
  printf '%s\n' "${overrides[@]}"
  exit 0
fi

[ -x "$py" ] || { echo "train_verl.sh: $py not found; run bash scripts/setup_verl.sh" >&2; exit 1; }
if [ ! -f "$data_dir/train.parquet" ]; then
  "$py" -m training.verl_dataset --split train --out "$data_dir/train.parquet" --env-kwargs "$env_kwargs"
fi
if [ ! -f "$data_dir/test.parquet" ]; then
  "$py" -m training.verl_dataset --split test --out "$data_dir/test.parquet" --env-kwargs "$env_kwargs"
fi
exec "$py" -m verl.trainer.main_ppo "${overrides[@]}" "$@"
