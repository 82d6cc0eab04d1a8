"""Optional dependencies in one idiom: :func:`require` imports a module of an extra or says
which ``pip install`` brings it.

The heavy stacks (Blender, torch, Ray, the ``openai`` client, FastAPI, vLLM) are extras of the
package; code that needs one calls ``require`` where it needs it, so importing the package (and
``metaspatial --help``) never pulls them in. The error is Gymnasium's
:class:`~gymnasium.error.DependencyNotInstalled`, as for Gymnasium's own optional envs.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from gymnasium.error import DependencyNotInstalled

__all__ = ["DependencyNotInstalled", "MissingDependency", "require"]


class MissingDependency(DependencyNotInstalled, ImportError):
    """An extra is not installed. Also an :class:`ImportError`, so code written against a plain
    failed import (``except ImportError``) keeps working."""


def require(module: str, extra: str, purpose: str | None = None) -> ModuleType:
    """Import and return ``module``; raise :class:`MissingDependency` (a
    :class:`DependencyNotInstalled`) naming the extra.

    ``extra`` is the ``metaspatial-env[...]`` extra that installs it; ``purpose`` (for example
    ``"the Blender renderer"``) says what needed it. Only a missing ``module`` itself (or one of
    its parents) is reported this way: an import error raised inside an installed module is a
    real fault and propagates unchanged.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing != module and not module.startswith(missing + "."):
            raise
        need = f"{purpose} needs" if purpose else "this needs"
        raise MissingDependency(
            f"{need} {module!r}, which is not installed: pip install 'metaspatial-env[{extra}]'") from None
