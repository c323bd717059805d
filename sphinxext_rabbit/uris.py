"""AMQP URIs in parameters: strip credentials, and tell a local broker from another one."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs the command line's start-up; only checkers need it
    from typing import Any

# patterns compiled by `re` when first used: most runs meet no URI with user info
_URI_WITH_USERINFO = r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s]*)@"
_SECRET_KEY = r"(?i)pass|secret|token|credential"
_LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = frozenset({None, 5672, 5671})
REDACTED = "(redacted)"


def redact(text: str) -> str:
    """Remove the user-info part (user name and password) of every URI in ``text``."""
    if "@" not in text:  # no user info: most values, told without a substitution's cost
        return text
    return re.sub(_URI_WITH_USERINFO, r"\g<scheme>", text)


def redact_value(value: Any) -> Any:
    """A copy of a parameter value with URIs stripped and password-like keys dropped."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if isinstance(value, dict):
        return {key: (REDACTED if isinstance(key, str) and re.search(_SECRET_KEY, key)
                      else redact_value(item))
                for key, item in value.items()}
    return value


#: How k8s.py writes a URI kept in a Kubernetes Secret: ``secret://NAME/KEY``.
SECRET_SCHEME = "secret://"


class Endpoint:
    """Where a (redacted) URI points: this broker's vhost, or another broker."""

    __slots__ = ("host", "vhost", "local")

    def __init__(self, uri: str) -> None:
        if uri.startswith(SECRET_SCHEME):
            # a Kubernetes Secret holds the URI (k8s.py): another broker, known by that name
            secret, _, key = uri[len(SECRET_SCHEME):].partition("/")
            self.host, self.vhost, self.local = f"secret {secret} ({key})", "/", False
            return
        try:
            parts = urlsplit(uri)
            host, port, path = parts.hostname or "", parts.port, parts.path
        except ValueError:
            host, port, path = uri, None, ""
        # the path names the vhost; none (or an empty one) means the default vhost "/"
        self.vhost = unquote(path[1:]) or "/"
        self.host = host if port is None else f"{host}:{port}"
        self.local = host in _LOCAL_HOSTS and port in _DEFAULT_PORTS

    def label(self) -> str:
        """A display name with no credentials: ``host:port/vhost``, or ``vhost V`` here."""
        if self.local:
            return f"vhost {self.vhost}"
        return self.host if self.vhost == "/" else f"{self.host}/{self.vhost}"


def first_uri(value: Any) -> str | None:
    """Shovel URIs may be one string or a list of alternatives; the first one names it."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return None
