"""The one place that decides what is a secret.

Every value read from a source (arguments, policy definitions, parameter values) passes
through `redact_value` once, at load; messages pass URLs through `redact`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from ..topology.endpoints import HOST_PORT, authority_of

#: Shown instead of a secret.
REDACTED = "(redacted)"
#: Keys whose value is a secret, matched anywhere in the key, in any case (so ``x-`` and
#: other prefixes too): "x-api-key", "oauth_token", "Private_Key", "db-password".
_SECRET_KEY = r"(?i)pass|pwd|secret|token|credential|api[-_]?key|auth|private[-_]?key"
# patterns compiled by `re` when first used, as the command line's start-up counts
#: A URI scheme (RFC 3986), with the colon that ends it.
_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]*:"



# the same few argument keys come over and over: cached, redacting the arguments of the
# 20,000-entity bench export takes 4 ms instead of 19
@functools.lru_cache(maxsize=1024)
def is_secret_key(key: str) -> bool:
    """Whether a key names a secret (a password, token, API key...): its value is one."""
    return re.search(_SECRET_KEY, key) is not None


def redact(text: str) -> str:
    """``text`` without the user info (user name and password) of a URI, and with the
    values of secret query fields (``?password=...``) replaced by `REDACTED`.

    Read as the broker reads a URI: a scheme, ``//``, then everything up to the last ``@``
    is user info, whatever characters it holds (spaces, ``/``, ``#``, ``@``...), and a host
    follows. Text with an ``@`` after a scheme that is not such a URI (no ``//``, prose, no
    host after the ``@``) is replaced whole by `REDACTED`: where its user info ends cannot
    be told.
    """
    if "@" not in text and "?" not in text:  # no user info and no query: most values
        return text
    at = text.rfind("@")
    scheme = re.match(_SCHEME, text)
    if scheme is None or not text.startswith("//", scheme.end()):
        holds_user_info = at >= 0 and re.search(_SCHEME, text[:at]) is not None
        return REDACTED if holds_user_info else text
    authority = scheme.end() + 2
    if at < 0:
        return text[:authority] + _without_query_secrets(text[authority:])
    rest = text[at + 1:]
    # a "?" in the user info: a password holding one, or a query value holding an "@";
    # which part is the query cannot be told, so neither is shown
    if "?" in text[authority:at] or not re.fullmatch(HOST_PORT, authority_of(rest)):
        return REDACTED
    return text[:authority] + _without_query_secrets(rest)


def _without_query_secrets(rest: str) -> str:
    """``host/path?query#fragment`` with the values of secret query fields redacted."""
    path, question, query = rest.partition("?")
    if not question:
        return rest
    query, hash_, fragment = query.partition("#")
    fields = [f"{key}={REDACTED}" if is_secret_key(unquote(key)) else field
              for field in query.split("&") for key in (field.partition("=")[0],)]
    return f"{path}?{'&'.join(fields)}{hash_}{fragment}"


class TooDeep(ValueError):
    """A value nests containers deeper than the ``max_depth`` it was redacted within."""


def redact_value(value: Any, *, max_depth: int | None = None) -> Any:
    """A JSON value with every secret redacted: URIs stripped of user info in any string
    (keys, list items and nested objects too), and the value of any key that names a secret
    replaced by `REDACTED`.

    The value itself when nothing in it is a secret (most arguments and definitions: no
    copy is made), else a copy; nothing read is ever changed, so sharing it is safe.
    ``max_depth``: containers nested deeper raise `TooDeep` (whether or not they hold a
    secret), checked in the same walk; without it, nesting is bounded by the caller."""
    if isinstance(value, (dict, list)):
        if _holds_secret(value, max_depth):
            return _redacted_copy(value)
        return value
    return redact(value) if isinstance(value, str) else value


def _holds_secret(value: dict[Any, Any] | list[Any], depth: int | None) -> bool:
    """Whether `_redacted_copy` would change anything in a container, ``depth`` levels of
    containers allowed (None: any); the whole value is walked, so that its depth is
    checked all through."""
    if depth is not None:
        if depth <= 0:
            raise TooDeep(value)
        depth -= 1
    found = False
    items: Iterable[Any] = value
    if isinstance(value, dict):
        # ("@" and "?": the test that redact begins with; most keys and values have neither)
        for key in value:
            if isinstance(key, str) and (is_secret_key(key) or (
                    ("@" in key or "?" in key) and redact(key) != key)):
                found = True
        items = value.values()
    for item in items:
        if isinstance(item, str):
            if ("@" in item or "?" in item) and redact(item) != item:
                found = True
        elif isinstance(item, (dict, list)) and _holds_secret(item, depth):
            found = True
    return found


def _redacted_copy(value: Any) -> Any:
    """A copy of a JSON value with every secret redacted (see `redact_value`)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted_copy(item) for item in value]
    if isinstance(value, dict):
        redacted = {}
        for key, item in value.items():
            if isinstance(key, str):
                key = redact(key)
                if is_secret_key(key):
                    redacted[key] = REDACTED
                    continue
            redacted[key] = _redacted_copy(item)
        return redacted
    return value
