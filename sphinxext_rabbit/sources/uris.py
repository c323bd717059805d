"""The one place that decides what is a secret, and how AMQP URIs name their broker.

Every value read from a source (arguments, policy definitions, parameter values) passes
through `redact_value` once, at load; messages pass URLs through `redact`.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import unquote

#: Shown instead of a secret.
REDACTED = "(redacted)"
#: Keys whose value is a secret, matched anywhere in the key, in any case (so ``x-`` and
#: other prefixes too): "x-api-key", "oauth_token", "Private_Key", "db-password".
_SECRET_KEY = r"(?i)pass|pwd|secret|token|credential|api[-_]?key|auth|private[-_]?key"
# patterns compiled by `re` when first used, as the command line's start-up counts
#: A URI scheme (RFC 3986), with the colon that ends it.
_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]*:"
#: What may stand between the user info and the path: a host (a name, or an IPv6 address
#: in brackets) and a port. No space or control character: text after an "@" that has
#: them is prose, or a URI too broken to tell where its user info ends.
_HOST_PORT = r"(?:\[[0-9A-Fa-f:.]*\]|[^\x00-\x20\x7f-\xa0\s\[\]/?#@:]*)(?::[0-9]*)?"
_LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = frozenset({None, 5672, 5671})
_AMQP_SCHEMES = frozenset({"amqp", "amqps"})

#: How k8s.py writes a URI kept in a Kubernetes Secret: ``secret://NAME/KEY``.
SECRET_SCHEME = "secret://"


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
    at = text.rfind("@")
    if at < 0 and "?" not in text:  # no user info and no query: most values
        return text
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
    if "?" in text[authority:at] or not re.fullmatch(_HOST_PORT, _authority_of(rest)):
        return REDACTED
    return text[:authority] + _without_query_secrets(rest)


def _authority_of(rest: str) -> str:
    """The host and port at the start of what follows ``scheme://`` (and the user info)."""
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def _without_query_secrets(rest: str) -> str:
    """``host/path?query#fragment`` with the values of secret query fields redacted."""
    path, question, query = rest.partition("?")
    if not question:
        return rest
    query, hash_, fragment = query.partition("#")
    fields = [f"{key}={REDACTED}" if is_secret_key(unquote(key)) else field
              for field in query.split("&") for key in (field.partition("=")[0],)]
    return f"{path}?{'&'.join(fields)}{hash_}{fragment}"


def redact_value(value: Any) -> Any:
    """A copy of a JSON value with every secret redacted: URIs stripped of user info in any
    string (keys, list items and nested objects too), and the value of any key that names
    a secret replaced by `REDACTED`. Its nesting is bounded by the loader (load.MAX_DEPTH)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if isinstance(value, dict):
        redacted = {}
        for key, item in value.items():
            if isinstance(key, str):
                key = redact(key)
                if is_secret_key(key):
                    redacted[key] = REDACTED
                    continue
            redacted[key] = redact_value(item)
        return redacted
    return value


class Endpoint:
    """Where a (redacted) URI points: this broker's vhost, another broker, or, for a value
    that is no AMQP URI (a placeholder such as ``CEGA_CONNECTION``), that value as written."""

    def __init__(self, uri: str) -> None:
        if uri.startswith(SECRET_SCHEME):
            # a Kubernetes Secret holds the URI (k8s.py): another broker, known by that name
            secret, _, key = uri[len(SECRET_SCHEME):].partition("/")
            self.host, self.vhost, self.local = f"secret {secret} ({key})", "/", False
            return
        parsed = parse_amqp_uri(uri)
        if parsed is None:
            self.host, self.vhost, self.local = uri, "/", False
            return
        host, port, self.vhost = parsed
        shown = f"[{host}]" if ":" in host else host
        self.host = shown if port is None else f"{shown}:{port}"
        self.local = host.lower() in _LOCAL_HOSTS and port in _DEFAULT_PORTS

    def label(self) -> str:
        """A display name with no credentials: ``host:port/vhost``, or ``vhost V`` here."""
        if self.local:
            return f"vhost {self.vhost}"
        return self.host if self.vhost == "/" else f"{self.host}/{self.vhost}"


def parse_amqp_uri(uri: str) -> tuple[str, int | None, str] | None:
    """(host, port, vhost) of a URI without user info, as the broker reads it:
    ``amqp[s]://HOST[:PORT][/VHOST][?QUERY]`` (an empty host: this broker; no vhost: "/").
    None for anything else: no such scheme, no ``//``, a host or port that is none."""
    scheme, separator, rest = uri.partition("://")
    if not separator or scheme.lower() not in _AMQP_SCHEMES:
        return None
    authority = _authority_of(rest)
    if not re.fullmatch(_HOST_PORT, authority):
        return None
    path = re.split(r"[?#]", rest[len(authority):], maxsplit=1)[0]
    if authority.endswith("]") or ":" not in authority:
        host, port = authority, ""
    else:
        host, _, port = authority.rpartition(":")
    host = host[1:-1] if host.startswith("[") else host
    # the path names the vhost; none (or an empty one) means the default vhost "/"
    return host, int(port) if port else None, unquote(path[1:]) or "/"


def not_amqp_uris(value: Any) -> list[str]:
    """The strings of a shovel's or federation upstream's URI field (one string or a list
    of alternatives) that are no AMQP URI; a Kubernetes Secret's stand-in is one."""
    uris = value if isinstance(value, list) else [value]
    return [uri for uri in uris if isinstance(uri, str) and not uri.startswith(SECRET_SCHEME)
            and parse_amqp_uri(uri) is None]


def first_uri(value: Any) -> str | None:
    """Shovel URIs may be one string or a list of alternatives; the first one names it."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return None
