"""metaspatial-env: a multi-turn Gymnasium environment for 3D room layout with VLMs.

Importing the package registers the environment ids (string entry points, so nothing heavy is
imported until an env is made):

- ``MetaSpatial-v0``: the default env (bundled ``train`` split, 3 turns, image + text), rendered
  by Blender (Workbench engine) in a persistent worker process with procedural furniture.
- ``MetaSpatial-Fast-v0``: the same with the rasteriser, always.
- ``MetaSpatial-Text-v0``: text-only observations (no renderer is started).
- ``MetaSpatialContinuous-v0``: vector observation and ``Box`` action over the same rooms and reward
  (:mod:`metaspatial_env.continuous`, for classic RL such as RLlib).
- ``MetaSpatial-Repair-v0``: repair episodes (:mod:`metaspatial_env.starts`): each starts from the
  room's reference layout with every object moved by N(0, 0.3 m) and turned by N(0, 15 degrees),
  drawn from the reset seed, rendered with the rasteriser; the first observation shows and
  describes that layout and its problems.
"""

from gymnasium.envs.registration import register, registry

__version__ = "0.1.0"
__all__ = ["ENTRY_POINTS", "ENV_IDS", "EnvConfig", "RoomLayoutEnv", "__version__"]

ENV_IDS = {
    "MetaSpatial-v0": {"renderer": "blender"},
    "MetaSpatial-Fast-v0": {"renderer": "raster"},
    "MetaSpatial-Text-v0": {"observation": "text"},
    "MetaSpatialContinuous-v0": {"observation": "vector"},
    "MetaSpatial-Repair-v0": {"renderer": "raster", "start": {"kind": "perturbed", "scale": 0.3, "angle": 15.0}},
}
#: Entry point per id; ids not listed here are ``RoomLayoutEnv``.
ENTRY_POINTS = {"MetaSpatialContinuous-v0": "metaspatial_env.continuous:ContinuousLayoutEnv"}

for _env_id, _kwargs in ENV_IDS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=ENTRY_POINTS.get(_env_id, "metaspatial_env.env:RoomLayoutEnv"),
                 kwargs=dict(_kwargs))


def __getattr__(name: str):
    if name in ("EnvConfig", "RoomLayoutEnv"):
        from . import env

        return getattr(env, name)
    raise AttributeError(f"module 'metaspatial_env' has no attribute {name!r}")
