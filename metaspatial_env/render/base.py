"""The renderer interface every backend implements (rasteriser now, Blender next).

A renderer draws a :class:`RenderScene`: the room at its real size and the objects as
oriented boxes, in two views composed into one ``(height, width, 3)`` uint8 image: a
perspective view framed to the room (left half) and a top-down plan (right half), each
``height x width/2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..geometry import Box


@dataclass(frozen=True)
class RenderObject:
    """One object to draw."""

    id: str
    category: str
    box: Box
    style: str = ""
    material: str = ""
    mesh: str | None = None
    """Path of a GLB file to draw fitted to ``box`` instead of the procedural furniture (the
    Blender renderer; it falls back to the furniture when the file cannot be drawn). The
    rasteriser draws boxes either way."""


@dataclass(frozen=True)
class RenderScene:
    """Everything a renderer needs for one frame."""

    room_size: tuple[float, float, float]
    objects: tuple[RenderObject, ...]
    room_type: str = ""
    mesh_forward: str = "-y"
    """Which way the objects' meshes face in their own Z-up frame (see :mod:`metaspatial_env.assets`)."""
    openings: tuple = ()
    """The room's doors and windows (:class:`~metaspatial_env.schema.Opening`), drawn by
    :mod:`.openings`."""


class Renderer(Protocol):
    """A backend that turns scenes into RGB images. Owned by one env; ``close`` frees it."""

    image_size: tuple[int, int]
    """(height, width) of the composed image."""

    def render(self, scene: RenderScene) -> np.ndarray:
        """Return the composed views as a ``(height, width, 3)`` uint8 array."""
        ...

    def close(self) -> None:
        """Release GPU contexts, processes and files; safe to call twice."""
        ...
