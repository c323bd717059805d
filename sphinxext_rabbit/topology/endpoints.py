"""What an AMQP URI names: this broker's vhost or another broker (shovels, federation).

The URIs reach the topology redacted (sources/uris.py); these functions only read them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

#: What may stand between the user info and the path: a host (a name, or an IPv6 address
#: in brackets) and a port. No space or control character: text after an "@" that has
#: them is prose, or a URI too broken to tell where its user info ends.
HOST_PORT = r"(?:\[[0-9A-Fa-f:.]*\]|[^\x00-\x20\x7f-\xa0\s\[\]/?#@:]*)(?::[0-9]*)?"
_LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = frozenset({None, 5672, 5671})
_AMQP_SCHEMES = frozenset({"amqp", "amqps"})

#: How k8s.py writes a URI kept in a Kubernetes Secret: ``secret://NAME/KEY``.
SECRET_SCHEME = "secret://"


def authority_of(rest: str) -> str:
    """The host and port at the start of what follows ``scheme://`` (and the user info)."""
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


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
    authority = authority_of(rest)
    if not re.fullmatch(HOST_PORT, authority):
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
