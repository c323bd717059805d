"""The topology model: plain records shared by every stage and output.

The records are slotted classes, not dataclasses: importing ``dataclasses`` (and
``inspect`` with it) and building the classes cost a command-line run about a fifth
of its whole time on a 20,000-entity export (counted with callgrind).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs the command line's start-up; only checkers need it
    from collections.abc import Callable
    from typing import Any


ERROR = "error"
WARNING = "warning"

DEFAULT_EXCHANGE = ""
#: Exchanges every vhost has without declaring them, with their types.
BUILTIN_EXCHANGES = {
    "": "direct",
    "amq.default": "direct",
    "amq.direct": "direct",
    "amq.fanout": "fanout",
    "amq.topic": "topic",
    "amq.headers": "headers",
    "amq.match": "headers",
    "amq.rabbitmq.trace": "topic",
    "amq.rabbitmq.event": "topic",
    "amq.rabbitmq.log": "topic",
}
KNOWN_EXCHANGE_TYPES = frozenset({
    "direct", "fanout", "topic", "headers",
    "x-local-random", "x-modulus-hash", "x-consistent-hash", "x-random",
    "x-jms-topic", "x-recent-history", "x-delayed-message", "x-federation-upstream",
})


def without_gc(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run *function* with Python's cycle collector paused.

    Reading, resolving and drawing build tens of thousands of objects and no cycles; the
    collector would walk the whole parsed export again and again meanwhile (about a tenth
    of the time on a 20,000-entity export). It runs again afterwards, if it was on.
    """
    import functools
    import gc

    @functools.wraps(function)
    def paused(*args: Any, **kwargs: Any) -> Any:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


class Record:
    """Equality, repr and ``replace`` by the names in ``__slots__``."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # records hold lists and dicts

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes: Any) -> Any:
        """A copy with *changes* applied."""
        copy = object.__new__(self.__class__)
        for name in self.__slots__:
            setattr(copy, name, changes.pop(name) if name in changes else getattr(self, name))
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(changes))!r}")
        return copy


class Problem(Record):
    """Something wrong with the input, located as precisely as the input allows.

    ``code`` is the warning subtype users put in ``suppress_warnings``
    (``rabbitmq.<code>``); ``where`` is a line number when the parser gave one,
    else a path into the document such as ``queues[3]``; ``source`` is the file it is
    in, when that is not the topology's own source (merged inputs).
    """

    __slots__ = ("severity", "code", "message", "line", "where", "source")

    def __init__(self, severity: str, code: str, message: str, line: int | None = None,
                 where: str | None = None, source: str | None = None) -> None:
        self.severity = severity
        self.code = code
        self.message = message
        self.line = line
        self.where = where
        self.source = source

    def __hash__(self) -> int:  # problems hold only strings and numbers
        return hash((self.severity, self.code, self.message, self.line, self.where,
                     self.source))

    def location(self) -> str:
        if self.line is not None:
            return f"line {self.line}"
        return self.where or ""

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class Exchange(Record):
    """``origin``: "declared" (in the input), "builtin" (amq.* / default) or "missing"
    (referenced only)."""

    __slots__ = ("vhost", "name", "type", "durable", "auto_delete", "internal", "arguments",
                 "origin")

    def __init__(self, vhost: str, name: str, type: str = "direct", durable: bool = True,
                 auto_delete: bool = False, internal: bool = False,
                 arguments: dict[str, Any] | None = None, origin: str = "declared") -> None:
        self.vhost = vhost
        self.name = name
        self.type = type
        self.durable = durable
        self.auto_delete = auto_delete
        self.internal = internal
        self.arguments = {} if arguments is None else arguments
        self.origin = origin


def routing_type(exchange: Exchange) -> str:
    """The type that routes: a delayed-message exchange routes as its ``x-delayed-type``."""
    delayed = exchange.arguments.get("x-delayed-type")
    if exchange.type == "x-delayed-message" and isinstance(delayed, str):
        return delayed
    return exchange.type


class Queue(Record):
    """``origin``: "declared", "shovel" (declared by a shovel that uses it) or "missing"
    (referenced only); ``stats``: runtime figures ("messages", "consumers") when the input
    is management-API output."""

    __slots__ = ("vhost", "name", "type", "durable", "auto_delete", "exclusive", "arguments",
                 "origin", "stats")

    def __init__(self, vhost: str, name: str, type: str = "classic", durable: bool = True,
                 auto_delete: bool = False, exclusive: bool = False,
                 arguments: dict[str, Any] | None = None, origin: str = "declared",
                 stats: dict[str, int] | None = None) -> None:
        self.vhost = vhost
        self.name = name
        self.type = type
        self.durable = durable
        self.auto_delete = auto_delete
        self.exclusive = exclusive
        self.arguments = {} if arguments is None else arguments
        self.origin = origin
        self.stats = stats


class Binding(Record):
    __slots__ = ("vhost", "source", "destination", "destination_type", "routing_key",
                 "arguments")

    def __init__(self, vhost: str, source: str, destination: str, destination_type: str,
                 routing_key: str = "", arguments: dict[str, Any] | None = None) -> None:
        self.vhost = vhost
        self.source = source
        self.destination = destination
        self.destination_type = destination_type
        self.routing_key = routing_key
        self.arguments = {} if arguments is None else arguments


class Policy(Record):
    """``operator``: an operator policy (from ``parameters``, component ``operator_policy``)."""

    __slots__ = ("vhost", "name", "pattern", "apply_to", "definition", "priority", "operator")

    def __init__(self, vhost: str, name: str, pattern: str, apply_to: str = "all",
                 definition: dict[str, Any] | None = None, priority: int = 0,
                 operator: bool = False) -> None:
        self.vhost = vhost
        self.name = name
        self.pattern = pattern
        self.apply_to = apply_to
        self.definition = {} if definition is None else definition
        self.priority = priority
        self.operator = operator


class Parameter(Record):
    """A runtime parameter (shovel, federation upstream, ...); URIs carry no credentials."""

    __slots__ = ("vhost", "component", "name", "value")

    def __init__(self, vhost: str, component: str, name: str, value: Any) -> None:
        self.vhost = vhost
        self.component = component
        self.name = name
        self.value = value


class Topology(Record):
    """Everything one input declares, for every vhost it covers.

    ``vhosts``: declared vhosts with their default queue type (None = classic);
    ``taken_at``: when a fetched or saved broker state was taken (ISO 8601, UTC), None
    for exports; ``unread``: lists the source could not read (``"parameters"`` when the
    broker refused them), so nothing is called missing for want of them.
    """

    __slots__ = ("source", "exchanges", "queues", "bindings", "policies", "parameters",
                 "vhosts", "problems", "taken_at", "unread")

    def __init__(self, source: str = "", exchanges: list[Exchange] | None = None,
                 queues: list[Queue] | None = None, bindings: list[Binding] | None = None,
                 policies: list[Policy] | None = None,
                 parameters: list[Parameter] | None = None,
                 vhosts: dict[str, str | None] | None = None,
                 problems: list[Problem] | None = None, taken_at: str | None = None,
                 unread: frozenset[str] = frozenset()) -> None:
        self.source = source
        self.exchanges = [] if exchanges is None else exchanges
        self.queues = [] if queues is None else queues
        self.bindings = [] if bindings is None else bindings
        self.policies = [] if policies is None else policies
        self.parameters = [] if parameters is None else parameters
        self.vhosts = {} if vhosts is None else vhosts
        self.problems = [] if problems is None else problems
        self.taken_at = taken_at
        self.unread = unread

    def vhost_names(self) -> list[str]:
        """Every vhost the input mentions, sorted."""
        names = set(self.vhosts)
        for items in (self.exchanges, self.queues, self.bindings, self.policies, self.parameters):
            names.update(item.vhost for item in items)
        return sorted(names)


class Edge(Record):
    """One route the broker acts on: what ``edges`` prints and the diagram draws.

    ``kind``: binding | dead-letter | alternate | shovel | federation; ``source_type`` and
    ``destination_type``: exchange | queue | external; ``origin``: binding |
    queue-argument | exchange-argument | policy:N | operator-policy:N | parameter:N.
    """

    __slots__ = ("kind", "vhost", "source", "source_type", "destination", "destination_type",
                 "routing_key", "arguments", "origin")

    def __init__(self, kind: str, vhost: str, source: str, source_type: str, destination: str,
                 destination_type: str, routing_key: str | None, arguments: dict[str, Any],
                 origin: str) -> None:
        self.kind = kind
        self.vhost = vhost
        self.source = source
        self.source_type = source_type
        self.destination = destination
        self.destination_type = destination_type
        self.routing_key = routing_key
        self.arguments = arguments
        self.origin = origin

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class VhostTopology(Record):
    """One vhost as the broker would act on it: what every renderer draws from.

    ``resolve`` builds it for all of a vhost; ``select`` narrows it to a subsystem
    and records in ``stubs`` the (node type, name) of entities outside the selection
    that kept edges still reach, so a diagram shows where messages leave it.
    ``externals``: endpoints on other brokers (shovel / federation), by display name;
    ``edges``: sorted by resolve.edge_sort_key, renderers keep that order;
    ``policies``: the policies and operator policies defined in the vhost;
    ``effective_policies``: ("queue" | "exchange", name) -> the one policy that applies.
    """

    __slots__ = ("vhost", "exchanges", "queues", "externals", "edges", "policies",
                 "effective_policies", "effective_operator_policies", "stubs")

    def __init__(self, vhost: str, exchanges: dict[str, Exchange] | None = None,
                 queues: dict[str, Queue] | None = None, externals: set[str] | None = None,
                 edges: list[Edge] | None = None, policies: list[Policy] | None = None,
                 effective_policies: dict[tuple[str, str], Policy] | None = None,
                 effective_operator_policies: dict[tuple[str, str], Policy] | None = None,
                 stubs: set[tuple[str, str]] | None = None) -> None:
        self.vhost = vhost
        self.exchanges = {} if exchanges is None else exchanges
        self.queues = {} if queues is None else queues
        self.externals = set() if externals is None else externals
        self.edges = [] if edges is None else edges
        self.policies = [] if policies is None else policies
        self.effective_policies = {} if effective_policies is None else effective_policies
        self.effective_operator_policies = (
            {} if effective_operator_policies is None else effective_operator_policies)
        self.stubs = set() if stubs is None else stubs
