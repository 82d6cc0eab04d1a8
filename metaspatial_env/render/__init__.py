"""Renderers: turn a :class:`RenderScene` into the composed two-view RGB image.

``make_renderer(name, image_size=(H, W), **options)`` builds a backend by name:

- ``"raster"``: :class:`~metaspatial_env.render.raster.RasterRenderer`, a fast headless
  OpenGL rasteriser (moderngl + EGL). Options: ``labels``, ``overlay``, ``samples``,
  ``backend``, ``label_size``.
- ``"blender"``: :class:`~metaspatial_env.render.blender.BlenderRenderer`, Blender (``bpy``) in a
  persistent worker process with procedural furniture. Options: ``engine`` (``workbench``,
  ``eevee``, ``cycles``), ``samples``, ``denoise``, ``aa``, ``shadows``, ``device``, ``labels``,
  ``overlay``, ``label_size``, ``timeout``, ``hang_timeout``, ``start_timeout``.

Backends are imported lazily, so importing this package imports neither moderngl nor bpy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .base import Renderer, RenderObject, RenderScene


def _make_raster(image_size, **options) -> Renderer:
    from .raster import RasterRenderer

    return RasterRenderer(image_size, **options)


def _make_blender(image_size, **options) -> Renderer:
    from .blender import BlenderRenderer

    return BlenderRenderer(image_size, **options)


# name -> factory(image_size, **options)
_BACKENDS: dict[str, Callable[..., Renderer]] = {
    "raster": _make_raster,
    "blender": _make_blender,
}


def renderer_names() -> tuple[str, ...]:
    """Names ``make_renderer`` accepts."""
    return tuple(sorted(_BACKENDS))


def register_renderer(name: str, factory: Callable[..., Renderer]) -> None:
    """Add a backend: ``factory(image_size, **options) -> Renderer``."""
    _BACKENDS[str(name)] = factory


def make_renderer(name: str, image_size: Sequence[int] = (512, 1024), **options) -> Renderer:
    """Build the renderer called ``name`` for composed images of ``image_size = (H, W)``."""
    try:
        factory = _BACKENDS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown renderer {name!r}; known renderers: {', '.join(renderer_names())}") from None
    return factory(tuple(int(v) for v in image_size), **options)


__all__ = ["Renderer", "RenderScene", "RenderObject", "make_renderer", "register_renderer",
           "renderer_names"]
