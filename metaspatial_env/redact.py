"""One redaction rule for secrets, applied to everything the project writes or returns.

A key is redacted when it is one the process was configured with (:func:`register_secret`, the
values of the ``*_API_KEY`` / ``*_TOKEN`` / ``*_SECRET`` environment variables, and any
``api_key`` / ``token`` argument handed to a policy or judge), or when it has the shape of one
(``sk-...``, ``Bearer ...``, ``hf_...``): an upstream error that quotes a key its caller never
told us about is still cleaned. Results, CSV and HTML reports, logs and server responses go
through :func:`redact` (strings) or :func:`redact_data` (JSON-able data).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

#: What replaces a secret.
REDACTED = "[redacted]"
#: Secret-shaped substrings, redacted whoever configured them.
KEY_SHAPES = re.compile(r"(?:\bsk-[A-Za-z0-9_\-]{8,}|\bhf_[A-Za-z0-9]{16,}|(?<=Bearer )[A-Za-z0-9._~+/\-]{8,}=*)")
#: Environment variables whose values are secrets.
SECRET_ENV = re.compile(r"(API_KEY|_TOKEN|_SECRET|PASSWORD)$")
#: Keyword arguments whose values are secrets (policy, judge and server options).
SECRET_ARGUMENTS = ("api_key", "token", "auth_token", "password", "secret")
#: Shorter values are not treated as secrets (``EMPTY``, placeholders), or every "k" would vanish.
MIN_SECRET_LENGTH = 6

_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Redact ``value`` from now on (a key passed as an argument rather than by environment)."""
    if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
        _registered.add(value)


def known_secrets() -> list[str]:
    """The configured secrets, longest first (so a key containing another is cut whole)."""
    from_env = {v for k, v in os.environ.items() if SECRET_ENV.search(k) and len(v) >= MIN_SECRET_LENGTH}
    return sorted(_registered | from_env, key=len, reverse=True)


def _secrets(extra: Iterable[str]) -> list[str]:
    """``extra`` and the configured secrets, longest first (read once per :func:`redact` /
    :func:`redact_data` call, not once per string: a results file holds thousands)."""
    given = {s for s in extra if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
    return sorted(given | set(known_secrets()), key=len, reverse=True)


def _redact(text: str, secrets: list[str]) -> str:
    if not isinstance(text, str) or not text:
        return text
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return KEY_SHAPES.sub(REDACTED, text)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every configured or key-shaped secret replaced by :data:`REDACTED`."""
    return _redact(text, _secrets(extra))


def redact_data(value: Any, extra: Iterable[str] = ()) -> Any:
    """JSON-able ``value`` with secrets redacted in every string, and the values of secret-named
    keys (``api_key``, ``token``, ...) replaced whatever they hold."""
    return _redact_data(value, _secrets(extra))


def _redact_data(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return _redact(value, secrets)
    if isinstance(value, dict):
        return {k: (REDACTED if isinstance(k, str) and k.lower() in SECRET_ARGUMENTS and v not in (None, "")
                    else _redact_data(v, secrets)) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple takes its fields one by one
        return type(value)(*(_redact_data(v, secrets) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_data(v, secrets) for v in value)
    return value
