"""Physics for a layout: exact static checks on the answered boxes, then a PyBullet settle.

:func:`static_checks` measures overlaps and room containment of the poses as answered (the
``collision`` and ``bounds`` reward terms); :class:`PhysicsWorld` settles them under gravity and
reports how each object moved (the ``stability`` term).
"""

from metaspatial_env.physics.settle import PhysicsWorld, SettleBody, SettledObject, SettleResult
from metaspatial_env.physics.static import OutOfRoom, PairOverlap, StaticReport, static_checks

__all__ = [
    "OutOfRoom",
    "PairOverlap",
    "PhysicsWorld",
    "SettleBody",
    "SettleResult",
    "SettledObject",
    "StaticReport",
    "static_checks",
]
