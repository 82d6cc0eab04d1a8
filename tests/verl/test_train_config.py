"""scripts/train_verl.sh cannot run here (vLLM on GPUs), so its overrides are checked against
verl's own config schema: hydra composes them onto ``ppo_trainer`` as ``main_ppo`` does, verl's
config dataclasses accept them, and its config validation passes."""

from __future__ import annotations

from omegaconf import OmegaConf

from .harness import compose, script_overrides


def test_the_scripts_overrides_compose_into_a_valid_grpo_agent_loop_config():
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import omega_conf_to_dataclass, validate_config

    config = compose(script_overrides())
    rollout = config.actor_rollout_ref.rollout
    assert config.algorithm.adv_estimator == "grpo" and not need_critic(config)
    assert (rollout.name, rollout.mode, rollout.agent.default_agent_loop) == ("vllm", "async", "metaspatial_agent")
    assert config.actor_rollout_ref.model.path == "Qwen/Qwen2.5-VL-3B-Instruct"
    assert rollout.prompt_length == 4096 and rollout.response_length == 8192
    assert rollout.max_model_len >= rollout.prompt_length + rollout.response_length
    assert omega_conf_to_dataclass(rollout).limit_images == 4
    validate_config(config=config, use_reference_policy=need_reference_policy(config), use_critic=False)


def test_the_agent_loop_file_names_the_loop_and_reads_the_env_server_variable(monkeypatch):
    config = compose(script_overrides())
    entries = OmegaConf.load(config.actor_rollout_ref.rollout.agent.agent_loop_config_path)
    assert [e.name for e in entries] == ["metaspatial_agent"]
    assert entries[0]["_target_"] == "training.verl_agent_loop.MetaSpatialAgentLoop"
    monkeypatch.delenv("METASPATIAL_ENV_SERVER", raising=False)
    assert entries[0].env_server_url is None
    monkeypatch.setenv("METASPATIAL_ENV_SERVER", "http://cpu1:8000,http://cpu2:8000")
    assert entries[0].env_server_url == "http://cpu1:8000,http://cpu2:8000"


def test_env_servers_are_forwarded_to_every_ray_worker():
    urls = "http://cpu1:8000,http://cpu2:8000"
    config = compose(script_overrides({"METASPATIAL_ENV_SERVER": urls}))
    assert config.ray_kwargs.ray_init.runtime_env.env_vars.METASPATIAL_ENV_SERVER == urls

