"""Satellites that several groups share: an item on top of a host, wall art or a wall-mounted
unit above it. Each returns how many objects it placed (0 or 1)."""

from __future__ import annotations

from ..constants import OPPOSITE_WALL
from ..records import Placed
from ..room import Room


def art_above(room: Room, host: Placed, max_length: float, cat: str = "wall_art") -> int:
    """Wall art (or a mirror) on the host's wall above it. Returns 1 when placed."""
    if host.wall is None or room.left() < 1:
        return 0
    spec = room.spec(cat)
    spec = room.clamp_spec(spec, max(0.3, max_length - 0.1))
    if spec.size[0] < spec.cat.length[0] * 0.6:
        return 0
    H = spec.size[2]
    t0 = room.wall_t(host.wall, host.x, host.y)
    for _ in range(3):
        bottom = host.top + room.u(0.15, 0.35)
        if bottom + H > room.Z - 0.1:
            spec = room.clamp_spec(spec, max_height=room.Z - 0.1 - bottom)
            H = spec.size[2]
            if H < 0.25:
                return 0
        art = room.mounted(spec, host.wall, t0 + room.u(-0.05, 0.05), bottom)
        if room.fits(art):
            room.add(art)
            room.layout(art, host.wall)
            room.rule(art, "above", host, bottom - host.top < 0.5)
            room.face_out(art)
            return 1
    return 0


def put_on(room: Room, host: Placed, cat: str, where: str = "any") -> int:
    """An item of ``cat`` resting on ``host`` (at ``where`` on its top), declared ``on`` it."""
    spec = room.spec(cat)
    item = room.place(room.on_top_candidates(host, spec, where))
    if item is None:
        return 0
    room.rule(item, "on", host, True)
    if item.cat.has_front and room.p(0.5):
        room.face(item, OPPOSITE_WALL[host.wall] if host.wall else host)
    return 1


def mount_above(room: Room, host: Placed, cat: str, clearance: float) -> int:
    """A wall-mounted ``cat`` on the host's wall, ``clearance`` above its top (range hood, wall cabinet)."""
    spec = room.clamp_spec(room.spec(cat), host.size[0])
    bottom = host.top + clearance
    if bottom + spec.size[2] > room.Z - 0.01:
        spec = room.clamp_spec(spec, max_height=room.Z - 0.01 - bottom)
    if spec.size[2] < 0.2:
        return 0
    obj = room.mounted(spec, host.wall, room.wall_t(host.wall, host.x, host.y), bottom)
    if not room.fits(obj):
        return 0
    room.add(obj)
    room.layout(obj, host.wall)
    room.rule(obj, "above", host, clearance < 0.6)
    if room.p(0.5):
        room.face_out(obj)
    return 1
